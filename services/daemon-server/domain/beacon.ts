// Ceph's MgrStandby beacon: every interval this instance tells the standby
// service its addresses, whether it is available (cluster-state answered
// and its module-host has loaded) and what its modules can run and have
// published. The answers (and the MgrMap watch, which brings a failover or
// `mgr fail` at once) feed Activity, and a 100 ms tick re-checks the fence.
//
// The faster paths (services/standby/README.md has why they stay safe):
// - the MgrMap watch names this instance, so the standby service sees this
//   process die the moment the stream ends;
// - just promoted, it beacons the moment its modules have started, not at
//   the next period;
// - its module-host down or not ready while an available standby could take
//   over: it resigns as active, so the standby runs the modules;
// - on shutdown the beacons stop first, then it resigns (the active: a
//   standby takes over now; a standby: it leaves the map).
import type { Logger } from '../../../lib/log';
import type { ModuleInfo } from '../../../lib/gen/ceph/mgr/v1/common';
import { ModuleState, ModuleStatus } from '../../../lib/gen/ceph/mgr/v1/module_host';
import type { BeaconRequest, BeaconResponse, MgrInstance, MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import { Waiter } from '../../../lib/waiter';
import type { Activity } from './activity';
import type { ModuleHostWatch } from './module-host-watch';
import type { ManagerRole } from './role';

/** The standby service as the beacon uses it (through the replicas). */
export interface BeaconApi {
  beacon(req: BeaconRequest, timeoutMs: number): Promise<BeaconResponse>;
  resign(name: string, gid: number, reason: string, timeoutMs: number): Promise<void>;
  /**
   * Streams every new MgrMap until `signal` aborts. `watcher` names this
   * instance: when the stream ends and its address refuses connections, the
   * standby service takes it out of the map at once.
   */
  watch(onMap: (map: MgrMap) => void, signal: AbortSignal, watcher?: MgrInstance): void;
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
  /** Whether our module-host is up, from its health stream (null: no module-host). */
  moduleHostHealth: Pick<ModuleHostWatch, 'state' | 'reason'> | null;
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
  nobodyActive = false,
): Promise<{ loaded: boolean; modules: ModuleInfo[]; services: Record<string, string> }> {
  if (!moduleHost) return { loaded: true, modules: [], services: {} };
  try {
    const r = await moduleHost.status(timeoutMs);
    const starting = r.modules.some((x) => x.enabled && (x.state === ModuleState.MODULE_STATE_STARTING || x.state === ModuleState.MODULE_STATE_STANDBY));
    // A standby is ready for promotion once its modules are loaded with no
    // load under way (module-host's `loaded`), so a promotion never waits
    // behind one; but with nobody active, a standby still loading (Ceph's
    // Python modules after a start) is better than no active at all: it
    // counts as ready once module-host answers (it is up: its first load
    // is done).
    const ready = r.loaded || (nobodyActive && !namedActive);
    return { loaded: ready && (!namedActive || !starting), modules: r.modules.map((x) => x.info!).filter(Boolean), services: r.services };
  } catch {
    return { loaded: false, modules: [], services: {} };
  }
}

export class Beacon {
  private intervalMs: number;
  private lastError = '';
  private readonly abort = new AbortController();
  /** Ends the wait for the next beacon early (a promotion's modules started, module-host changed). */
  private readonly kick = new Waiter();
  /**
   * Named active, this instance says it is available once its modules have
   * started (Ceph's rule: clients wait for `available`, so nobody meets a
   * half-started manager), and then stays available for as long as it is
   * active: a module being enabled, or module-host going away while no
   * standby can take over, does not make it unavailable (native commands
   * and ingest still work; module commands answer UNAVAILABLE naming
   * module-host).
   */
  private availableAsActive = false;
  private resigning = false;
  private watchingStart = false;

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
        await this.kick.wait(Math.max(0, this.intervalMs - (Date.now() - t)));
      }
    })();
    standby.watch(
      (m) => {
        activity.takeMap(m);
        role.update();
        if (activity.namedActive() && !this.availableAsActive) void this.awaitModulesStarted();
        void this.maybeResign();
      },
      signal,
      { name: activity.name, gid: activity.gid },
    );
    const fenceTimer = setInterval(() => role.update(), 100);
    fenceTimer.unref();
    signal.addEventListener('abort', () => {
      clearInterval(fenceTimer);
      this.kick.wake();
    });
  }

  /** Our module-host came up or went away: beacon now, and resign if it is gone while a standby could take over. */
  moduleHostChanged(): void {
    this.kick.wake();
    void this.maybeResign();
  }

  private get moduleHostUp(): boolean {
    return !this.d.moduleHostHealth || this.d.moduleHostHealth.state === 'up';
  }

  /** One beacon: what our module-host can run, then the beacon itself. */
  async once(): Promise<void> {
    const { activity, role, standby, moduleHost, log } = this.d;
    if (!activity.namedActive()) this.availableAsActive = false;
    const {
      loaded: modulesReady,
      modules: availableModules,
      services,
    } = this.moduleHostUp
      ? await moduleHostState(moduleHost, activity.namedActive(), Math.max(this.intervalMs, 1000), !activity.current()?.activeName)
      : { loaded: false, modules: [], services: {} };
    if (activity.namedActive() && modulesReady && role.ready) this.availableAsActive = true;
    const available = role.ready && (modulesReady || (activity.namedActive() && this.availableAsActive));
    const sentAt = Date.now();
    try {
      const r = await standby.beacon(
        {
          name: activity.name,
          gid: activity.gid,
          addrs: this.d.addrs,
          available,
          // A standby's late beacon never makes a just-promoted active available.
          asActive: activity.namedActive(),
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

  /**
   * Just promoted: watch our modules start (a few ms each when module-host
   * keeps them loaded) and beacon the moment they have, instead of at the
   * next beacon period. Asked often at first, then less and less (10 ms
   * doubling to 250 ms), so a slow start is not slowed further by the asking.
   */
  private async awaitModulesStarted(): Promise<void> {
    if (this.watchingStart || !this.d.moduleHost) return;
    this.watchingStart = true;
    try {
      const until = Date.now() + 60000;
      let every = 10;
      while (!this.abort.signal.aborted && this.d.activity.namedActive() && !this.availableAsActive && Date.now() < until) {
        if (this.moduleHostUp && (await moduleHostState(this.d.moduleHost, true, 1000)).loaded) break;
        await new Promise((r) => setTimeout(r, every).unref());
        every = Math.min(every * 2, 250);
      }
    } finally {
      this.watchingStart = false;
    }
    this.kick.wake();
  }

  /**
   * Our module-host gone (or not ready) while we are the active, with an
   * available standby to take over: give up being active, so the standby
   * runs the modules. With no standby that could, stay (ingest and native
   * commands still work here).
   */
  private async maybeResign(): Promise<void> {
    const { activity, standby, moduleHostHealth: health, log } = this.d;
    const m = activity.current();
    if (this.resigning || this.abort.signal.aborted || !health || health.state === 'up' || !activity.namedActive() || !m?.standbys.some((x) => x.available)) {
      return;
    }
    this.resigning = true;
    const reason = `its module-host at ${this.d.addrs.moduleHost} is ${health.state === 'down' ? 'down' : 'not ready'} (${health.reason})`;
    try {
      await standby.resign(activity.name, activity.gid, reason, 2000);
      log.warn('resigned as active manager: module-host is not up', { moduleHost: this.d.addrs.moduleHost, why: health.reason });
    } catch (e) {
      log.warn('could not resign while module-host is not up; will try again', { error: (e as Error).message });
    } finally {
      this.resigning = false;
    }
  }

  /**
   * Graceful hand-over, after stop(): the active resigns (a standby takes
   * over now rather than after the grace period), a standby leaves the map
   * (so it is never the one promoted).
   */
  async resign(): Promise<void> {
    const { activity, standby, log } = this.d;
    const wasActive = activity.namedActive();
    if (!wasActive && !activity.current()?.standbys.some((x) => x.gid === activity.gid)) return;
    try {
      await standby.resign(activity.name, activity.gid, 'shutting down', 2000);
      log.info(wasActive ? 'resigned as active manager' : 'left the MgrMap as a standby');
    } catch (e) {
      log.warn('could not resign; the standby service will fail this manager after its grace period', { error: (e as Error).message });
    }
  }

  /** Stops the beacons and the watch (first, on shutdown: a beacon after resigning would put this instance back in the map). */
  stop(): void {
    this.abort.abort();
  }
}
