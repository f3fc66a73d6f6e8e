// mgr caps, in the mould of Ceph's MgrCap: the one grammar every service
// checks callers against (daemon-server per command, the services' tables
// per RPC, lib/auth/rules.ts).
//
// Cap grammar (comma-separated grants):
//   allow *                         everything
//   allow r | rw | rwx | w | x ...  blanket bits
//   allow command "<prefix>"        that command only (any perm)
//   allow module <name> <rwx>       commands of that module
//   allow service <name> <rwx>      native commands of that group (pg, osd, mgr, service, config),
//                                   or a service's RPCs (cluster-state, standby, module-host)
//   allow profile <name>            read-only (r), read-write (rw), or a daemon
//                                   profile: osd, mds, mon, rgw, daemon (may open Sessions)

export const R = 2;
export const W = 4;
export const X = 8;
export const ALL = 0xff;

export type Grant =
  | { kind: 'all' }
  | { kind: 'bits'; bits: number }
  | { kind: 'command'; prefix: string }
  | { kind: 'module'; module: string; bits: number }
  | { kind: 'service'; service: string; bits: number }
  | { kind: 'profile'; profile: string };

export class CapError extends Error {}

const DAEMON_PROFILES = new Set(['osd', 'mds', 'mon', 'rgw', 'daemon']);

export function parseBits(s: string): number | null {
  if (s === '*') return ALL;
  if (!/^[rwx]+$/.test(s)) return null;
  let bits = 0;
  for (const c of s) bits |= c === 'r' ? R : c === 'w' ? W : X;
  return bits;
}

/** Parses a mgr cap string; throws CapError naming the part it cannot read. */
export function parseCaps(caps: string): Grant[] {
  const grants: Grant[] = [];
  for (const raw of splitGrants(caps)) {
    const part = raw.trim();
    if (!part) continue;
    const all = tokenize(part);
    const toks: string[] = all[0] === 'allow' ? all.slice(1) : all;
    if (all[0] !== 'allow' && all[0] !== 'profile') throw new CapError(`cannot parse cap '${part}': expected 'allow ...' or 'profile ...'`);
    if (toks[0] === 'profile') {
      if (toks.length !== 2) throw new CapError(`cannot parse cap '${part}': profile needs one name`);
      grants.push({ kind: 'profile', profile: toks[1] });
      continue;
    }
    if (toks.length === 1) {
      if (toks[0] === '*' || toks[0] === 'all') {
        grants.push({ kind: 'all' });
        continue;
      }
      const bits = parseBits(toks[0]);
      if (bits === null) throw new CapError(`cannot parse cap '${part}': '${toks[0]}' is not r, w, x or *`);
      grants.push({ kind: 'bits', bits });
      continue;
    }
    if (toks[0] === 'command' && toks.length === 2) {
      grants.push({ kind: 'command', prefix: toks[1] });
      continue;
    }
    if ((toks[0] === 'module' || toks[0] === 'service') && toks.length === 3) {
      const bits = parseBits(toks[2]);
      if (bits === null) throw new CapError(`cannot parse cap '${part}': '${toks[2]}' is not r, w, x or *`);
      grants.push(toks[0] === 'module' ? { kind: 'module', module: toks[1], bits } : { kind: 'service', service: toks[1], bits });
      continue;
    }
    throw new CapError(
      `cannot parse cap '${part}': supported forms are 'allow *', 'allow rwx', 'allow command "<prefix>"', 'allow module <name> <rwx>', 'allow service <name> <rwx>', 'allow profile <name>'`,
    );
  }
  return grants;
}

/** Splits on commas outside quotes. */
function splitGrants(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = false;
  for (const c of s) {
    if (c === '"') quote = !quote;
    if (c === ',' && !quote) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function tokenize(s: string): string[] {
  const toks: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) toks.push(m[1] ?? m[2]);
  return toks;
}

/** What a command needs: its cap group (service), module (module commands), prefix and perm. */
export interface CapRequest {
  /** Native command group ("pg", "osd", "mgr", ...) or "py" for module commands. */
  service: string;
  /** The module's name for module commands ("" for native). */
  module: string;
  prefix: string;
  /** The perm string: a combination of r, w, x. */
  perm: string;
}

export function isCapable(grants: Grant[], req: CapRequest): boolean {
  const need = parseBits(req.perm || 'r') ?? ALL;
  let have = 0;
  for (const g of grants) {
    switch (g.kind) {
      case 'all':
        return true;
      case 'bits':
        have |= g.bits;
        break;
      case 'command':
        if (g.prefix === req.prefix) return true;
        break;
      case 'module':
        if (req.service === 'py' && g.module === req.module) have |= g.bits;
        break;
      case 'service':
        if (req.service !== 'py' && g.service === req.service) have |= g.bits;
        break;
      case 'profile':
        if (g.profile === 'read-only') have |= R;
        else if (g.profile === 'read-write') have |= R | W;
        break;
    }
  }
  return (have & need) === need;
}

/** Whether the entity may open a daemon Session for `daemonName`. */
export function mayOpenSession(grants: Grant[], daemonName: string): boolean {
  const type = daemonName.split('.')[0];
  return grants.some((g) => g.kind === 'all' || (g.kind === 'profile' && DAEMON_PROFILES.has(g.profile) && (g.profile === 'daemon' || g.profile === type)));
}
