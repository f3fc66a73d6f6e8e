#!/bin/sh
# Turns on etcd's own authentication, once (docker-compose's etcd-auth
# service, in the etcd image): a root user, and the standby service's user
# with read-write on its key prefix alone. Passwords and certificates come
# from the TLS folder `mgrctl certs` made. Run again on every `up`: when
# authentication is already on it changes nothing.
#   ETCD_ENDPOINT  e.g. https://etcd:2379
#   TLS_DIR        ca.crt, etcd.crt, etcd.key, etcd-root.password, mgrpc-standby.password
#   ETCD_PREFIX    the standby service's prefix (default /mgrpc/standby/)
set -eu
: "${ETCD_ENDPOINT:?}" "${TLS_DIR:?}"
PREFIX="${ETCD_PREFIX:-/mgrpc/standby/}"
# etcdctl retries an unreachable endpoint for ever: bound each call.
bounded=""
if command -v timeout >/dev/null 2>&1; then bounded="timeout 30"; fi
ctl() {
  # shellcheck disable=SC2086
  ETCDCTL_API=3 $bounded etcdctl --endpoints="$ETCD_ENDPOINT" --cacert="$TLS_DIR/ca.crt" --cert="$TLS_DIR/etcd.crt" --key="$TLS_DIR/etcd.key" --dial-timeout=5s --command-timeout=10s "$@"
}
root_password="$(cat "$TLS_DIR/etcd-root.password")"
standby_password="$(cat "$TLS_DIR/mgrpc-standby.password")"
# With authentication on, only root may list users: etcd takes our
# certificate's name (etcd), which is no user of it.
if ! out="$(ctl user list 2>&1)"; then
  case "$out" in
  *"user name not found"* | *"permission denied"*)
    echo "etcd-auth: authentication is already on"
    exit 0
    ;;
  *)
    echo "etcd-auth: cannot reach etcd at $ETCD_ENDPOINT: $out" >&2
    exit 1
    ;;
  esac
fi
# A run cut short may have made some of these: "already exists" is fine.
add() { out="$(ctl "$@" 2>&1)" || case "$out" in *"already exists"*) ;; *) echo "$out" >&2; exit 1 ;; esac; }
add user add root --new-user-password="$root_password"
add role add mgrpc-standby
ctl role grant-permission mgrpc-standby --prefix=true readwrite "$PREFIX" >/dev/null
add user add mgrpc-standby --new-user-password="$standby_password"
ctl user grant-role mgrpc-standby mgrpc-standby >/dev/null
ctl auth enable
echo "etcd-auth: authentication on; users root and mgrpc-standby (readwrite $PREFIX)"
