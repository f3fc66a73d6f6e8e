// From the flags to a manager of a real cluster: the conf and keyring
// (lib/ceph/target.ts), mgr.<name>'s key (keys.ts), the CephManager
// (manager.ts), ready for startDaemonServer({ ceph }) to attach and start.
import { cephTarget, type CephTargetFiles } from '../../../lib/ceph/target';
import type { MonClientOptions } from '../../../lib/ceph/monclient';
import type { Logger } from '../../../lib/log';
import { managerKey } from './keys';
import { CephManager } from './manager';

export interface OpenCephManagerOptions extends CephTargetFiles {
  /** The manager's name (MGR_NAME): mgr.<name>. */
  name: string;
  /** Where a key got from the monitors is stored (MGR_DATA_DIR). */
  dataDir: string;
  log: Logger;
  /** How long the monitors may take for the key and the first session (default 300 s, Ceph's client_mount_timeout). */
  connectTimeoutMs?: number;
  /** Beacon period (default 2 s, Ceph's mgr_tick_period). */
  tickMs?: number;
  monClient?: Partial<MonClientOptions>;
}

/** Reads the access files, gets mgr.<name>'s key and builds the manager; errors (CephConfigError) say what to give instead. */
export async function openCephManager(o: OpenCephManagerOptions): Promise<CephManager> {
  const access = cephTarget(o);
  const connectTimeoutMs = o.connectTimeoutMs ?? 300_000;
  const k = await managerKey({ access, name: o.name, dataDir: o.dataDir, log: o.log, timeoutMs: connectTimeoutMs, monClient: o.monClient });
  o.log.info('manager of a Ceph cluster', {
    entity: k.entity,
    key: k.source === 'keyring' ? `from ${k.file}` : k.source === 'monitors' ? `from the monitors (stored in ${k.file})` : `stored in ${k.file}`,
    monitors: access.monHost,
    fsid: access.fsid,
  });
  return new CephManager({
    name: o.name,
    monitors: access.monitors,
    fsid: access.fsid,
    key: k.key,
    log: o.log,
    tickMs: o.tickMs,
    connectTimeoutMs,
    monClient: o.monClient,
  });
}
