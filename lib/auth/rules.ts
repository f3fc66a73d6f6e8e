// The building blocks of the services' authorisation tables (each service's
// table sits next to its grpc.ts): what a rule checks is the caller's mgr
// caps (lib/auth/caps.ts) or its identity; what it answers when it refuses
// names the missing cap, for the PERMISSION_DENIED message.
import { CapError, Grant, isCapable, parseBits, parseCaps } from './caps';
import type { Caller, Rule } from './grpc';

const parsed = new Map<string, Grant[] | CapError>();

/** The caller's mgr caps, parsed (cached by cap string). */
export function grantsOf(caller: Caller): Grant[] | CapError {
  const caps = caller.caps.mgr ?? '';
  let g = parsed.get(caps);
  if (!g) {
    try {
      g = caps ? parseCaps(caps) : [];
    } catch (e) {
      g = e instanceof CapError ? e : new CapError(String(e));
    }
    if (parsed.size > 1000) parsed.clear();
    parsed.set(caps, g);
  }
  return g;
}

/** Whether the caller's caps allow `perm` on the service `service` (a blanket `allow r` reads any). */
export function capable(caller: Caller, service: string, perm: string): boolean {
  const g = grantsOf(caller);
  return !(g instanceof CapError) && isCapable(g, { service, module: '', prefix: '', perm });
}

/** A rule: the caller needs `perm` on `service` (`allow service <service> <perm>`, `allow <perm>` or `allow *`). */
export function needs(service: string, perm: 'r' | 'w' | 'rw'): Rule {
  return (caller) => (capable(caller, service, perm) ? null : `needs mgr caps 'allow service ${service} ${perm}' (or 'allow ${perm}')`);
}

/** Whether the caller is a manager (mgr.<name>: a daemon-server or module-host). */
export function isManager(caller: Caller): boolean {
  return /^mgr\.[^.\s]+$/.test(caller.entity);
}

/** A rule: only managers, with `perm` on `service`. */
export function managersOnly(service: string, perm: 'r' | 'w' | 'rw'): Rule {
  return (caller) => (!isManager(caller) ? 'only managers (mgr.<name>) may' : needs(service, perm)(caller, undefined));
}

/**
 * Whether the caller holds `perm` on `service` through an explicit
 * `allow service <service> ...` grant (not `allow *`): the mark of a
 * service identity (a standby replica forwarding a manager's beacon).
 */
export function grantedExplicitly(caller: Caller, service: string, perm: string): boolean {
  const g = grantsOf(caller);
  const need = parseBits(perm) ?? 0;
  return !(g instanceof CapError) && g.some((x) => x.kind === 'service' && x.service === service && (x.bits & need) === need);
}
