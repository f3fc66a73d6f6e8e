// Which Ceph cluster to talk to and as whom, from the files a Ceph user
// already has: ceph.conf (or a mon_host string) and the entity's keyring.
// Shared by every process that connects to a real cluster (the map feed,
// the managers, npm start's checks before anything starts).
import { monitorsForClient, readCephConf, type CephConf, type HostPort } from './conf';
import { KeyringError, readKeyring } from '../keyring';

/** What to connect to and how to authenticate. */
export interface CephTargetFiles {
  /** ceph.conf to read mon_host (and fsid, keyring) from; '' when monHost is given. */
  cephConf: string;
  /** Overrides ceph.conf's mon_host. */
  monHost?: string;
  /** Keyring file; '' for the one ceph.conf names for the entity, else /etc/ceph/ceph.<entity>.keyring. */
  keyring: string;
  /** The Ceph entity to authenticate as; default client.admin. */
  entity?: string;
}

/** A configuration error a person can fix (bad conf, missing key): processes print it and exit 2. */
export class CephConfigError extends Error {}

/** Where to connect and how to authenticate, from the files; every failure is a CephConfigError naming the file. */
export function cephSide(cfg: CephTargetFiles): {
  monitors: HostPort[];
  monHost: string;
  entity: string;
  key: string;
  fsid?: string;
} {
  const entity = cfg.entity || 'client.admin';
  if (!/^(client|mgr|mon|osd|mds)\.[A-Za-z0-9_.-]+$/.test(entity))
    throw new CephConfigError(`--ceph-name '${entity}' is not a Ceph entity name such as client.admin`);
  let conf: CephConf | undefined;
  try {
    if (cfg.cephConf) conf = readCephConf(cfg.cephConf);
    else if (!cfg.monHost) throw new CephConfigError('no Ceph cluster given: set --ceph-conf (MGR_CEPH_CONF) or --ceph-mon-host (MGR_CEPH_MON_HOST)');
    const monHost = cfg.monHost || conf?.get('mon_host', entity);
    const monitors = monitorsForClient(monHost, cfg.monHost ? '--ceph-mon-host' : conf!.source);
    const keyringFile = cfg.keyring || conf?.get('keyring', entity)?.split(',')[0].trim() || `/etc/ceph/ceph.${entity}.keyring`;
    const entry = readKeyring(keyringFile).get(entity);
    if (!entry) throw new CephConfigError(`the keyring ${keyringFile} has no key for ${entity} (--ceph-name)`);
    return { monitors, monHost: monHost!, entity, key: entry.key, fsid: conf?.get('fsid', entity) };
  } catch (e) {
    if (e instanceof CephConfigError) throw e;
    if (e instanceof KeyringError || e instanceof Error) throw new CephConfigError(e.message);
    throw e;
  }
}
