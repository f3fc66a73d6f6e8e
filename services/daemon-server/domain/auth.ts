// Keyrings and mgr caps, in the mould of Ceph's keyring files and MgrCap.
//
// Keyring file (as `ceph auth get` prints it):
//   [client.admin]
//   	key = <base64>
//   	caps mgr = "allow *"
//
// Cap grammar (comma-separated grants):
//   allow *                         everything
//   allow r | rw | rwx | w | x ...  blanket bits
//   allow command "<prefix>"        that command only (any perm)
//   allow module <name> <rwx>       commands of that module
//   allow service <name> <rwx>      native commands of that group (pg, osd, mgr, service, config)
//   allow profile <name>            read-only (r), read-write (rw), or a daemon
//                                   profile: osd, mds, mon, rgw, daemon (may open Sessions)
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from '../../../lib/log';
import { formatKeyring, KeyringEntry, KeyringError, newKey, parseKeyring } from '../../../lib/keyring';
import { Refusal } from './errors';

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

/** A keyring entry with its mgr caps parsed: who a caller is and what it may do. */
export interface Principal {
  entity: string;
  key: string;
  /** The raw `caps mgr` string ("" when none). */
  caps: string;
  grants: Grant[];
}

/**
 * Parses a keyring file's text into principals; mgr caps that do not parse
 * are errors (as Ceph refuses the session). Other caps (mon, osd, mds) are
 * not ours to check.
 */
export function parsePrincipals(text: string, source = 'keyring'): Map<string, Principal> {
  return principalsOf(parseKeyring(text, source), source);
}

function principalsOf(entries: Map<string, KeyringEntry>, source: string): Map<string, Principal> {
  const out = new Map<string, Principal>();
  for (const e of entries.values()) {
    const caps = e.caps.mgr ?? '';
    let grants: Grant[];
    try {
      grants = caps ? parseCaps(caps) : [];
    } catch (err) {
      throw new KeyringError(`${source}: [${e.entity}] ${(err as Error).message}`);
    }
    out.set(e.entity, { entity: e.entity, key: e.key, caps, grants });
  }
  return out;
}

/**
 * Loads the keyring, creating it (client.admin with allow *, client.ro with
 * allow r; mode 0600) when the file does not exist. With `mgrName`, the
 * manager's own entity mgr.<name> (allow *, as Ceph's mgr daemons have
 * `mgr 'allow *'`) is in it too: module-host sends its modules' commands
 * (sendCommand) with it; a keyring that lacks it gets it appended. Returns
 * whether the file was created and which entities were added.
 */
export function loadOrCreateKeyring(file: string, mgrName?: string): { entries: Map<string, Principal>; created: boolean; added: string[] } {
  let created = false;
  const added: string[] = [];
  const mgrEntity = mgrName ? `mgr.${mgrName}` : null;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const text = formatKeyring([
      { entity: 'client.admin', key: newKey(), caps: { mgr: 'allow *' } },
      { entity: 'client.ro', key: newKey(), caps: { mgr: 'allow r' } },
      ...(mgrEntity ? [{ entity: mgrEntity, key: newKey(), caps: { mgr: 'allow *' } }] : []),
    ]);
    try {
      // wx: never overwrite a keyring another process wrote meanwhile
      fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  let entries = parsePrincipals(fs.readFileSync(file, 'utf8'), file);
  if (mgrEntity && !entries.has(mgrEntity)) {
    // One small O_APPEND write: managers sharing a keyring each add their own.
    fs.appendFileSync(file, formatKeyring([{ entity: mgrEntity, key: newKey(), caps: { mgr: 'allow *' } }]));
    added.push(mgrEntity);
    entries = parsePrincipals(fs.readFileSync(file, 'utf8'), file);
  }
  return { entries, created, added };
}

/**
 * The keyring a manager serves with: loaded or created with mgr.<name> in it
 * (module-host sends its modules' commands as that entity). A read-only
 * keyring (a mounted Secret) without mgr.<name> is used as it is, with a
 * warning: this manager's modules then cannot send commands.
 */
export function loadManagerKeyring(file: string, name: string, log: Logger): Map<string, Principal> {
  let k: ReturnType<typeof loadOrCreateKeyring>;
  try {
    k = loadOrCreateKeyring(file, name);
  } catch (e) {
    if (!['EACCES', 'EROFS', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    log.warn(
      `cannot add mgr.${name} to a read-only keyring: this manager's modules cannot send commands unless module-host uses another entity (MGR_COMMAND_ENTITY)`,
      { path: file },
    );
    k = loadOrCreateKeyring(file);
  }
  if (k.created) log.info(`created keyring with client.admin (allow *), client.ro (allow r) and mgr.${name} (allow *)`, { path: file });
  else log.info('keyring loaded', { path: file, entities: [...k.entries.keys()], added: k.added });
  return k.entries;
}

/** Who is calling, as authenticated: the entity and its mgr caps. */
export interface Caller {
  entity: string;
  grants: Grant[];
}

/**
 * Turns a caller whose proof the server bootstrap verified (lib/auth/: its
 * entity and keyring caps) into a Caller with parsed mgr caps; lets anyone in
 * as client.admin when authentication is off (MGR_AUTH=none, loopback only).
 */
export class Authenticator {
  private readonly parsed = new Map<string, Grant[]>();

  constructor(readonly enabled: boolean) {}

  /** `verified`: the entity and caps the proof check found (undefined when authentication is off). */
  authenticate(verified: { entity: string; caps: Record<string, string> } | undefined): Caller {
    if (!this.enabled) return { entity: verified?.entity || 'client.admin', grants: [{ kind: 'all' }] };
    if (!verified) throw new Refusal('unauthenticated', 'no credentials: every call needs a proof made with a keyring key (mgrctl makes it from MGR_KEYRING)');
    const caps = verified.caps.mgr ?? '';
    let grants = this.parsed.get(caps);
    if (!grants) {
      try {
        grants = caps ? parseCaps(caps) : [];
      } catch (e) {
        throw new Refusal('denied', `the mgr caps of '${verified.entity}' do not parse: ${(e as Error).message}`);
      }
      if (this.parsed.size > 1000) this.parsed.clear();
      this.parsed.set(caps, grants);
    }
    return { entity: verified.entity, grants };
  }
}
