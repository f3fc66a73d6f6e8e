// How to reach a real cluster, from what an operator hands mgrpc: a
// ceph.conf (or a mon_host of its own) for the monitors and the fsid, and a
// keyring for the keys. Every process that talks to the monitors (the map
// feed, the managers, the standby service's ceph backend) reads them here,
// so the flags mean the same everywhere: --ceph-conf, --ceph-mon-host,
// --ceph-keyring, --ceph-name.
//
//   const a = cephAccess({ cephConf: '/etc/ceph/ceph.conf', keyring: '', entity: 'client.admin' });
//   a.monitors      // msgr2 addresses from mon_host
//   keyOf(a)        // client.admin's key, or a CephAccessError naming the keyring
//   a.keys.get('mgr.x')  // another entity's entry, when the keyring holds it
import { KeyringError, readKeyring, type KeyringEntry } from '../keyring';
import { monitorsForClient, readCephConf, type CephConf, type HostPort } from './conf';

/** A setting a person must fix (a bad conf, a missing key): the message names the file or flag. */
export class CephAccessError extends Error {}

export interface CephAccessOptions {
  /** ceph.conf to read mon_host (and fsid, keyring) from; '' when monHost is given. */
  cephConf: string;
  /** Overrides ceph.conf's mon_host. */
  monHost?: string;
  /** Keyring file; '' for the one ceph.conf names for the entity, else /etc/ceph/ceph.<entity>.keyring. */
  keyring: string;
  /** The entity to authenticate as; default client.admin. */
  entity?: string;
}

export interface CephAccess {
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

const ENTITY = /^(client|mgr|mon|osd|mds)\.[A-Za-z0-9_.-]+$/;

/** Reads the conf and the keyring; every failure is a CephAccessError naming the file or the flag. */
export function cephAccess(o: CephAccessOptions): CephAccess {
  const entity = o.entity || 'client.admin';
  if (!ENTITY.test(entity)) throw new CephAccessError(`--ceph-name '${entity}' is not a Ceph entity name such as client.admin`);
  let conf: CephConf | undefined;
  try {
    if (o.cephConf) conf = readCephConf(o.cephConf);
    else if (!o.monHost) throw new CephAccessError('no Ceph cluster given: set --ceph-conf (MGR_CEPH_CONF) or --ceph-mon-host (MGR_CEPH_MON_HOST)');
    const monHost = o.monHost || conf?.get('mon_host', entity);
    const monitors = monitorsForClient(monHost, o.monHost ? '--ceph-mon-host' : conf!.source);
    const keyringFile = o.keyring || conf?.get('keyring', entity)?.split(',')[0].trim() || `/etc/ceph/ceph.${entity}.keyring`;
    const keys = readKeyring(keyringFile);
    return { monitors, monHost: monHost!, entity, fsid: conf?.get('fsid', entity), keyringFile, keys };
  } catch (e) {
    if (e instanceof CephAccessError) throw e;
    if (e instanceof KeyringError || e instanceof Error) throw new CephAccessError(e.message);
    throw e;
  }
}

/** The key of `entity` (default: the access's own) from the keyring, or a CephAccessError saying which keyring lacks it. */
export function keyOf(a: CephAccess, entity = a.entity): string {
  const entry = a.keys.get(entity);
  if (!entry) throw new CephAccessError(`the keyring ${a.keyringFile} has no key for ${entity} (--ceph-name)`);
  return entry.key;
}

/**
 * The settings that point a process at a cluster, one table for every
 * process that takes them. `defaultConf` is the ceph.conf read when none is
 * given ('' where following a real cluster is optional); `whenOff` says
 * what happens without one.
 */
export function cephAccessOptions(defaultConf: string, whenOff = '') {
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

/** The access options from a loaded configuration: ceph.conf is not read when only --ceph-mon-host was given. */
export function accessFromConfig(
  cfg: { cephConf: string; cephMonHost: string; cephKeyring: string; cephName: string },
  defaultConf: string,
): CephAccessOptions {
  return {
    cephConf: cfg.cephMonHost && cfg.cephConf === defaultConf ? '' : cfg.cephConf,
    monHost: cfg.cephMonHost || undefined,
    keyring: cfg.cephKeyring,
    entity: cfg.cephName,
  };
}
