// The shared keyring's entities, made on first start and added to a keyring
// of an earlier version that lacks them (each append one small O_APPEND
// write, so processes sharing the file each add their own):
//   client.admin          people: everything (allow *)
//   client.ro             people: reads (allow r)
//   mgr.<name>            a manager's daemon-server and module-host (allow *)
//   client.mgrpc-standby  the standby service: publishes the MgrMap to
//                         cluster-state, forwards calls between its replicas
//   client.mgrpc-feed     the map feed (the simulator, ceph-feed): writes maps,
//                         daemons' state and pg stats; mirrors the modules'
//                         store with the monitors' (ceph-feed); the simulator's daemons
// docs/SECURITY.md has the table of who may call what.
import * as fs from 'fs';
import * as path from 'path';
import { formatKeyring, newKey, readKeyring } from '../keyring';

export const STANDBY_ENTITY = 'client.mgrpc-standby';
export const FEED_ENTITY = 'client.mgrpc-feed';

/** The services' own entities and their mgr caps. */
export const SERVICE_ENTITIES: ReadonlyArray<{ entity: string; caps: Record<string, string> }> = [
  { entity: STANDBY_ENTITY, caps: { mgr: 'allow r, allow service cluster-state rw, allow service standby rw' } },
  { entity: FEED_ENTITY, caps: { mgr: 'allow r, allow service cluster-state rw, allow service store rw, allow profile daemon' } },
];

const PEOPLE = [
  { entity: 'client.admin', caps: { mgr: 'allow *' } },
  { entity: 'client.ro', caps: { mgr: 'allow r' } },
];

/**
 * Makes `file` (mode 0600) with client.admin, client.ro, the service
 * entities and `managers` (mgr.<name>, allow *) when it does not exist, or
 * appends those of them it lacks. Returns whether it was created and which
 * entities were added; a read-only file that lacks some is an error (EACCES,
 * EROFS) for the caller to judge.
 */
export function provisionKeyring(file: string, managers: string[] = []): { created: boolean; added: string[] } {
  const wanted = [...PEOPLE, ...managers.map((n) => ({ entity: `mgr.${n}`, caps: { mgr: 'allow *' } })), ...SERVICE_ENTITIES];
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      // wx: never overwrite a keyring another process wrote meanwhile
      fs.writeFileSync(file, formatKeyring(wanted.map((w) => ({ ...w, key: newKey() }))), { mode: 0o600, flag: 'wx' });
      return { created: true, added: [] };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const have = readKeyring(file);
  const missing = wanted.filter((w) => !have.has(w.entity) && !PEOPLE.some((p) => p.entity === w.entity));
  if (missing.length) fs.appendFileSync(file, formatKeyring(missing.map((w) => ({ ...w, key: newKey() }))));
  return { created: false, added: missing.map((m) => m.entity) };
}

/**
 * provisionKeyring for a service starting up, with a log line saying what it
 * made or added. A read-only keyring (a mounted Secret) is used as it is,
 * with a warning naming what it lacks.
 */
export function ensureKeyring(file: string, log: { info(m: string, f?: object): void; warn(m: string, f?: object): void }, managers: string[] = []): void {
  try {
    const r = provisionKeyring(file, managers);
    if (r.created)
      log.info(`created keyring with client.admin, client.ro, ${[...managers.map((m) => `mgr.${m}`), ...SERVICE_ENTITIES.map((e) => e.entity)].join(', ')}`, {
        path: file,
      });
    else if (r.added.length) log.info(`keyring: added ${r.added.join(', ')} (credentials this version needs)`, { path: file, added: r.added });
  } catch (e) {
    if (!['EACCES', 'EROFS', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    log.warn('the keyring is read-only: it is used as it is (entities it lacks cannot call)', { path: file });
  }
}
