// The key of mgr.<name>, the entity this manager is to the monitors. Where
// it comes from, first found wins:
//   1. the keyring given (--ceph-keyring) holds [mgr.<name>]: used as it is;
//   2. the keyring holds the --ceph-name entity (client.admin): the key is
//      asked of the monitors with it, `auth get-or-create mgr.<name> mon
//      'allow profile mgr' osd 'allow *' mds 'allow *'` (Ceph's caps for a
//      manager; `auth get` when the entity exists with other caps), and
//      stored in <data-dir>/ceph.mgr.<name>.keyring (mode 0600). Asking on
//      every start keeps the stored key the cluster's current one;
//   3. that stored key, from an earlier start (no admin entity this time).
// The monitors drop, without a word, the beacons of an entity whose mon
// caps do not allow `mgr x`, so the caps are checked too (capsProblem) and a
// key that cannot act as a manager is refused with what to run instead.
import * as fs from 'fs';
import * as path from 'path';
import { keyOf, CephConfigError, type CephTarget } from '../../../lib/ceph/target';
import { MonClient, type MonClientOptions } from '../../../lib/ceph/monclient';
import { formatKeyring, readKeyring } from '../../../lib/keyring';
import type { Logger } from '../../../lib/log';
import { EINVAL } from '../../../lib/errno';

/** Ceph's caps for a manager daemon (what `ceph auth get-or-create mgr.<name>` is given by cephadm and the docs). */
export const MANAGER_CAPS: Record<string, string> = { mon: 'allow profile mgr', osd: 'allow *', mds: 'allow *' };

const capsArg = (caps: Record<string, string>) =>
  Object.entries(caps)
    .map(([svc, c]) => `${svc} '${c}'`)
    .join(' ');

/** The command that makes a manager's key, for messages. */
export function createCommand(entity: string): string {
  return `ceph auth get-or-create ${entity} ${capsArg(MANAGER_CAPS)}`;
}

/**
 * Why these mon caps cannot make an entity a manager (the monitors need
 * `mgr` with x to take its beacons), or null when they can: `allow *`,
 * `allow profile mgr`, an `allow` with x, or `allow service mgr` with x.
 */
export function capsProblem(entity: string, monCaps: string | undefined): string | null {
  const grants = (monCaps ?? '')
    .split(/[,;]/)
    .map((g) => g.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
  const ok = grants.some(
    (g) =>
      /^allow (\*|all)$/.test(g) ||
      /^(allow )?profile "?mgr"?( |$)/.test(g) ||
      /^allow [rwx]*x[rwx]*$/.test(g) ||
      /^allow service "?mgr"? (\*|[rwx]*x[rwx]*)$/.test(g),
  );
  if (ok) return null;
  return (
    `${entity} has mon caps '${monCaps ?? ''}', which do not let it act as a manager: the monitors ignore the beacons of an entity ` +
    `without mon 'allow profile mgr'. Fix it with: ceph auth caps ${entity} ${capsArg(MANAGER_CAPS)}`
  );
}

export interface ManagerKey {
  entity: string;
  key: string;
  /** Where it came from: the keyring given, the monitors now (through the admin entity), or stored by an earlier start. */
  source: 'keyring' | 'monitors' | 'stored';
  /** The file that holds it. */
  file: string;
}

export interface ManagerKeyOptions {
  access: CephTarget;
  /** The manager's name: the entity is mgr.<name>. */
  name: string;
  /** Where a key made here is stored. */
  dataDir: string;
  log: Logger;
  /** How long the monitors may take to answer (connect and command). */
  timeoutMs: number;
  /** Passed to the admin's monitor client (counters, backoff). */
  monClient?: Partial<MonClientOptions>;
}

export function storedKeyFile(dataDir: string, name: string): string {
  return path.join(dataDir, `ceph.mgr.${name}.keyring`);
}

/** mgr.<name>'s key: from the keyring, from the monitors through the admin entity, or stored by an earlier start. Errors say what to give instead. */
export async function managerKey(o: ManagerKeyOptions): Promise<ManagerKey> {
  const entity = `mgr.${o.name}`;
  const given = o.access.keys.get(entity);
  if (given) return { entity, key: given.key, source: 'keyring', file: o.access.keyringFile };
  const stored = storedKeyFile(o.dataDir, o.name);
  if (o.access.entity === entity || !o.access.keys.has(o.access.entity)) {
    const e = fs.existsSync(stored) ? readKeyring(stored).get(entity) : undefined;
    if (e) return { entity, key: e.key, source: 'stored', file: stored };
    throw new CephConfigError(
      `manager ${o.name} needs a key for ${entity}: the keyring ${o.access.keyringFile} has none, nor an entity that may make one ` +
        `(--ceph-name ${o.access.entity}${o.access.keys.has(o.access.entity) ? '' : ' is not in it'}), and no earlier start stored one in ${stored}. ` +
        `Give a keyring holding [${entity}] (${createCommand(entity)}), or one holding an entity with mon 'allow *' such as client.admin (--ceph-name)`,
    );
  }
  const admin = o.access.entity;
  const mon = new MonClient({
    ...o.monClient,
    monitors: o.access.monitors,
    entity: admin,
    key: keyOf(o.access),
    fsid: o.access.fsid,
    logger: o.log,
    subscribe: [],
  });
  try {
    await withTimeout(mon.start(), o.timeoutMs, () => `the monitors at ${o.access.monHost} did not answer ${admin} within ${o.timeoutMs} ms`);
    const ask = async (cmd: object) => {
      const r = await mon.command({ ...cmd, format: 'json' }, { timeoutMs: o.timeoutMs });
      return { ...r, out: r.r === 0 ? (JSON.parse(r.data.toString('utf8') || '[]') as Array<{ key: string; caps?: Record<string, string> }>) : [] };
    };
    const caps = Object.entries(MANAGER_CAPS).flat();
    let r = await ask({ prefix: 'auth get-or-create', entity, caps });
    // It exists with other caps: take its key as it is, and check those caps below.
    if (r.r === EINVAL && /exists/.test(r.rs)) r = await ask({ prefix: 'auth get', entity });
    if (r.r !== 0 || !r.out[0]?.key) {
      throw new CephConfigError(
        `${admin} could not make a key for ${entity} (auth get-or-create: ${r.rs || `error ${r.r}`}). ` +
          `Give --ceph-name an entity with mon 'allow *' (such as client.admin), or a keyring holding [${entity}] made with: ${createCommand(entity)}`,
      );
    }
    const problem = capsProblem(entity, r.out[0].caps?.mon);
    if (problem) throw new CephConfigError(problem);
    fs.mkdirSync(o.dataDir, { recursive: true });
    const tmp = `${stored}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, formatKeyring([{ entity, key: r.out[0].key, caps: r.out[0].caps ?? MANAGER_CAPS }]), { mode: 0o600 });
    fs.renameSync(tmp, stored);
    o.log.info(`got the key of ${entity} from the monitors with ${admin} and stored it`, { file: stored, caps: r.out[0].caps });
    return { entity, key: r.out[0].key, source: 'monitors', file: stored };
  } finally {
    mon.stop();
  }
}

/** Resolves as `p`, or rejects with a CephConfigError after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CephConfigError(why())), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
