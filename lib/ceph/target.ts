// Which Ceph cluster to talk to and as whom, from the files a Ceph user
// already has: ceph.conf (or a mon_host string) and the entity's keyring.
// Shared by every process that connects to a real cluster (the map feed,
// the managers, the standby service's ceph backend, npm start's checks
// before anything starts), so the flags mean the same everywhere:
// --ceph-conf, --ceph-mon-host, --ceph-keyring, --ceph-name.
//
//   const t = cephTarget({ cephConf: '/etc/ceph/ceph.conf', keyring: '', entity: 'client.admin' });
//   t.monitors           // msgr2 addresses from mon_host
//   keyOf(t)             // client.admin's key, or a CephConfigError naming the keyring
//   t.keys.get('mgr.x')  // another entity's entry, when the keyring holds it
//   cephSide(files)      // monitors and the entity's key in one step
import { monitorsForClient, readCephConf, type CephConf, type HostPort } from './conf';
import { KeyringError, readKeyring, type KeyringEntry } from '../keyring';

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

/** The files read: the monitors, the fsid and every key of the keyring. */
export interface CephTarget {
  monitors: HostPort[];
  /** mon_host as given, for messages. */
  monHost: string;
  entity: string;
  fsid?: string;
  /** The keyring file read. */
  keyringFile: string;
  /** Every entry of that keyring, by entity. */
  keys: Map<string, KeyringEntry>;
}

/** A configuration error a person can fix (bad conf, missing key): processes print it and exit 2. */
export class CephConfigError extends Error {}

const ENTITY = /^(client|mgr|mon|osd|mds)\.[A-Za-z0-9_.-]+$/;

/** Reads the conf and the keyring; every failure is a CephConfigError naming the file or the flag. */
export function cephTarget(cfg: CephTargetFiles): CephTarget {
  const entity = cfg.entity || 'client.admin';
  if (!ENTITY.test(entity)) throw new CephConfigError(`--ceph-name '${entity}' is not a Ceph entity name such as client.admin`);
  let conf: CephConf | undefined;
  try {
    if (cfg.cephConf) conf = readCephConf(cfg.cephConf);
    else if (!cfg.monHost) throw new CephConfigError('no Ceph cluster given: set --ceph-conf (MGR_CEPH_CONF) or --ceph-mon-host (MGR_CEPH_MON_HOST)');
    const monHost = cfg.monHost || conf?.get('mon_host', entity);
    const monitors = monitorsForClient(monHost, cfg.monHost ? '--ceph-mon-host' : conf!.source);
    const keyringFile = cfg.keyring || conf?.get('keyring', entity)?.split(',')[0].trim() || `/etc/ceph/ceph.${entity}.keyring`;
    const keys = readKeyring(keyringFile);
    return { monitors, monHost: monHost!, entity, fsid: conf?.get('fsid', entity), keyringFile, keys };
  } catch (e) {
    if (e instanceof CephConfigError) throw e;
    if (e instanceof KeyringError || e instanceof Error) throw new CephConfigError(e.message, { cause: e });
    throw e;
  }
}

/** The key of `entity` (default: the target's own) from the keyring, or a CephConfigError saying which keyring lacks it. */
export function keyOf(t: CephTarget, entity = t.entity): string {
  const entry = t.keys.get(entity);
  if (!entry) throw new CephConfigError(`the keyring ${t.keyringFile} has no key for ${entity} (--ceph-name)`);
  return entry.key;
}

/** Where to connect and how to authenticate, from the files; every failure is a CephConfigError naming the file. */
export function cephSide(cfg: CephTargetFiles): {
  monitors: HostPort[];
  monHost: string;
  entity: string;
  key: string;
  fsid?: string;
} {
  const t = cephTarget(cfg);
  return { monitors: t.monitors, monHost: t.monHost, entity: t.entity, key: keyOf(t), fsid: t.fsid };
}

/**
 * The settings that point a process at a cluster, one table for every
 * process that takes them. `defaultConf` is the ceph.conf read when none is
 * given ('' where following a real cluster is optional); `whenOff` says
 * what happens without one.
 */
export function cephTargetOptions(defaultConf: string, whenOff = '') {
  return {
    cephConf: {
      env: 'MGR_CEPH_CONF',
      flag: 'ceph-conf',
      type: 'string' as const,
      default: defaultConf,
      desc: `the Ceph cluster's ceph.conf (mon_host, fsid)${whenOff ? `; ${whenOff}` : ''}`,
    },
    cephMonHost: {
      env: 'MGR_CEPH_MON_HOST',
      flag: 'ceph-mon-host',
      type: 'string' as const,
      default: '',
      desc: "the monitors, as Ceph's mon_host (overrides ceph.conf's; msgr2 addresses are needed)",
    },
    cephKeyring: {
      env: 'MGR_CEPH_KEYRING',
      flag: 'ceph-keyring',
      type: 'string' as const,
      default: '',
      desc: 'keyring holding the key of --ceph-name (default: the keyring ceph.conf names, else /etc/ceph/ceph.<name>.keyring)',
    },
    cephName: { env: 'MGR_CEPH_NAME', flag: 'ceph-name', type: 'string' as const, default: 'client.admin', desc: 'the Ceph entity to authenticate as' },
  };
}

/** The target files from a loaded configuration: ceph.conf is not read when only --ceph-mon-host was given. */
export function targetFromConfig(cfg: { cephConf: string; cephMonHost: string; cephKeyring: string; cephName: string }, defaultConf: string): CephTargetFiles {
  return {
    cephConf: cfg.cephMonHost && cfg.cephConf === defaultConf ? '' : cfg.cephConf,
    monHost: cfg.cephMonHost || undefined,
    keyring: cfg.cephKeyring,
    entity: cfg.cephName,
  };
}
