// Keyrings and the manager's callers, in the mould of Ceph's keyring files
// and MgrCap (the cap grammar is lib/auth/caps.ts, shared with every
// service's authorisation table).
//
// Keyring file (as `ceph auth get` prints it):
//   [client.admin]
//   	key = <base64>
//   	caps mgr = "allow *"
import * as fs from 'fs';
import type { Logger } from '../../../lib/log';
import { KeyringEntry, KeyringError, parseKeyring } from '../../../lib/keyring';
import { provisionKeyring, SERVICE_ENTITIES } from '../../../lib/auth/provision';
import { Grant, parseCaps } from '../../../lib/auth/caps';
import { Refusal } from './errors';

export { ALL, CapError, isCapable, mayOpenSession, parseBits, parseCaps, R, W, X } from '../../../lib/auth/caps';
export type { CapRequest, Grant } from '../../../lib/auth/caps';
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
 * Loads the keyring, creating it when the file does not exist or adding
 * what it lacks (lib/auth/provision.ts: client.admin, client.ro, the
 * services' entities; mode 0600). With `mgrName`, the manager's own entity
 * mgr.<name> (allow *, as Ceph's mgr daemons have `mgr 'allow *'`) is in it
 * too: daemon-server and module-host call the other services with it.
 * Returns whether the file was created and which entities were added.
 */
export function loadOrCreateKeyring(file: string, mgrName?: string): { entries: Map<string, Principal>; created: boolean; added: string[] } {
  const { created, added } = provisionKeyring(file, mgrName ? [mgrName] : []);
  return { entries: parsePrincipals(fs.readFileSync(file, 'utf8'), file), created, added };
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
    k = { entries: parsePrincipals(fs.readFileSync(file, 'utf8'), file), created: false, added: [] };
  }
  if (k.created)
    log.info(
      `created keyring with client.admin (allow *), client.ro (allow r), mgr.${name} (allow *) and the services' ${SERVICE_ENTITIES.map((e) => e.entity).join(', ')}`,
      {
        path: file,
      },
    );
  else if (k.added.length) log.info(`keyring: added ${k.added.join(', ')} (new credentials this version needs)`, { path: file, added: k.added });
  else log.info('keyring loaded', { path: file, entities: [...k.entries.keys()] });
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
