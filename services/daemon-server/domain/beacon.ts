// Ceph's MgrStandby beacon: every interval this instance tells the standby
// service its addresses, whether it is available (cluster-state answered
// and its module-host has loaded) and what its modules can run and have
// published. The answers (and the MgrMap watch, which brings a failover or
// `mgr fail` at once) feed Activity, and a 100 ms tick re-checks the fence.
// On shutdown the active resigns first, so a standby takes over now rather
// than after the grace period.
import type { Logger } from '../../../lib/log';
import type { ModuleInfo } from '../../../lib/gen/ceph/mgr/v1/common';
import { ModuleState, ModuleStatus } from '../../../lib/gen/ceph/mgr/v1/module_host';
import type { BeaconRequest, BeaconResponse, MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { Activity } from './activity';
import type { ManagerRole } from './role';

/** The standby service as the beacon uses it (through the replicas). */
export interface BeaconApi {
  beacon(req: BeaconRequest, timeoutMs: number): Promise<BeaconResponse>;
  resign(name: string, gid: number, timeoutMs: number): Promise<void>;
  /** Streams every new MgrMap until `signal` aborts. */
  watch(onMap: (map: MgrMap) => void, signal: AbortSignal): void;
  /** For log lines: where the replicas are. */
  readonly addresses: string[];
}

/** What module-host tells about its modules. */
export interface ModuleHostStatusApi {
  status(timeoutMs: number): Promise<{ loaded: boolean; modules: ModuleStatus[]; services: Record<string, string> }>;
}

export interface BeaconDeps {
  activity: Activity;
  role: ManagerRole;
  standby: BeaconApi;
  /** null: no module-host (nothing to wait for). */
  moduleHost: ModuleHostStatusApi | null;
  /** Published in the MgrMap. */
  addrs: { daemonServer: string; moduleHost: string };
  /** The period until the standby service says otherwise (ms). */
  intervalMs: number;
  log: Logger;
}

/**
 * What module-host reports for a beacon: its modules, their URIs, and
 * whether they are up. As a standby: loaded. Named active: every enabled
 * module has left its standby part and started (or failed), as Ceph's
 * active only says available once its modules are up. Clients wait for
 * `available`, so nobody meets a half-started manager. Both beacons use it
 * (this one to the standby service, ceph/manager.ts's to the monitors).
 */
export async function moduleHostState(
  moduleHost: ModuleHostStatusApi | null,
  namedActive: boolean,
  timeoutMs: number,
): Promise<{ loaded: boolean; modules: ModuleInfo[]; services: Record<string, string> }> {
  if (!moduleHost) return { loaded: true, modules: [], services: {} };
  try {
    const r = await moduleHost.status(timeoutMs);
    const starting = r.modules.some((x) => x.enabled && (x.state === ModuleState.MODULE_STATE_STARTING || x.state === ModuleState.MODULE_STATE_STANDBY));
    return { loaded: r.loaded && (!namedActive || !starting), modules: r.modules.map((x) => x.info!).filter(Boolean), services: r.services };
  } catch {
    return { loaded: false, modules: [], services: {} };
  }
}

export class Beacon {
  private intervalMs: number;
  private lastError = '';
  private readonly abort = new AbortController();

  constructor(private readonly d: BeaconDeps) {
    this.intervalMs = d.intervalMs;
  }

  start(): void {
    const { activity, role, standby } = this.d;
    const signal = this.abort.signal;
    void (async () => {
      while (!signal.aborted) {
        const t = Date.now();
        await this.once();
        await new Promise((r) => setTimeout(r, Math.max(0, this.intervalMs - (Date.now() - t))).unref());
      }
    })();
    standby.watch((m) => {
      activity.takeMap(m);
      role.update();
    }, signal);
    const fenceTimer = setInterval(() => role.update(), 100);
    fenceTimer.unref();
    signal.addEventListener('abort', () => clearInterval(fenceTimer));
  }

  /** One beacon: what our module-host can run, then the beacon itself. */
  async once(): Promise<void> {
    const { activity, role, standby, moduleHost, log } = this.d;
    const {
      loaded: modulesLoaded,
      modules: availableModules,
      services,
    } = await moduleHostState(moduleHost, activity.namedActive(), Math.max(this.intervalMs, 1000));
    const sentAt = Date.now();
    try {
      const r = await standby.beacon(
        {
          name: activity.name,
          gid: activity.gid,
          addrs: this.d.addrs,
          available: role.ready && modulesLoaded,
          availableModules,
          services,
          metadata: { pid: String(process.pid) },
        },
        // Generous: safety comes from measuring the fence from the send
        // time, so a slow answer only delays, never endangers.
        Math.max(this.intervalMs * 3, 1500),
      );
      activity.beaconAnswered(sentAt, r.mgrMap, r.graceMs);
      if (r.beaconIntervalMs > 0) this.intervalMs = r.beaconIntervalMs;
      if (this.lastError) log.info('standby service reachable again');
      this.lastError = '';
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== this.lastError) log.warn('beacon failed', { error: msg, standby: standby.addresses });
      this.lastError = msg;
    }
    role.update();
  }

  /** The active hands over at once (StandbyService.Resign); a standby has nothing to do. */
  async resign(): Promise<void> {
    const { activity, standby, log } = this.d;
    if (!activity.namedActive()) return;
    try {
      await standby.resign(activity.name, activity.gid, 2000);
      log.info('resigned as active manager');
    } catch (e) {
      log.warn('could not resign; the standby service will fail this manager after its grace period', { error: (e as Error).message });
    }
  }

  stop(): void {
    this.abort.abort();
  }
}
