// This manager as the monitors of a real cluster know it: a monitor session
// as mgr.<name> (holding the mgr service's rotating secrets, which the msgr2
// front door verifies daemons' tickets with), a beacon every
// mgr_tick_period, and the monitors' MgrMap, which decides whether we are
// active (fence.ts). It implements CephManagerSession, the front door's view.
//
// As Ceph's MgrStandby: the beacon says available once the map names us
// active and we can serve (cluster-state answers, our modules have
// started, the front door listens); the beacons that announce it carry the
// command descriptions, until the map says available; a change of map
// that names us active is beaconed at once, not at the next tick. Unlike
// Ceph, a manager that stops being active does not respawn: daemon-server
// stops acting (ends its sessions, answers UNAVAILABLE) and stands by.
import * as os from 'os';
import { CephxClient } from '../../../lib/ceph/cephx/client';
import { RotatingKeys } from '../../../lib/ceph/cephx/rotating';
import { WireCounters } from '../../../lib/ceph/connection';
import type { HostPort } from '../../../lib/ceph/conf';
import type { Message } from '../../../lib/ceph/message';
import { decodeMMgrMap } from '../../../lib/ceph/messages/mgrmap';
import { MonClient, type MonClientOptions } from '../../../lib/ceph/monclient';
import { EntityType, type EntityAddr } from '../../../lib/ceph/types';
import { CephConfigError } from '../../../lib/ceph/target';
import type { CommandDescriptor, ModuleInfo } from '../../../lib/gen/ceph/mgr/v1/common';
import type { Logger } from '../../../lib/log';
import { monitorsBeaconGraceMs } from '../../../lib/mgrmap-ceph';
import type { CephManagerSession } from '../domain/ceph-session';
import { beaconMessage, commandDescs, type NativeDescription } from './beacon';
import { MonitorFence } from './fence';
import { MonReporter, type MonReportSource } from './mon-report';
import { ClusterLogForwarder } from './cluster-log';
import { decodeMLogAck } from '../../../lib/ceph/messages/log';
import { capsProblem, withTimeout } from './keys';
import { EACCES } from '../../../lib/errno';

/** Ceph's mgr_tick_period: how often a manager beacons. */
export const DEFAULT_TICK_MS = 2000;
/** How often the monitors' mon_mgr_beacon_grace is read again. */
const GRACE_REFRESH_MS = 30_000;

/** What a beacon needs from the rest of daemon-server, asked before each one. */
export interface ManagerState {
  /** cluster-state answers and we are not stopping. */
  serving: boolean;
  /** Our module-host has started (or failed) every module it should run. */
  modulesUp: boolean;
  /** Every module our module-host has (ListModules). */
  modules: ModuleInfo[];
  /** The URIs our modules published (module → URI). */
  services: Record<string, string>;
  /** Why our module-host is not up (down or not ready), '' while it is up or there is none. */
  moduleHostDown?: string;
}

export interface CephManagerOptions {
  /** The manager's name: mgr.<name> to the monitors. */
  name: string;
  monitors: HostPort[];
  /** Refuse a cluster with another fsid (from ceph.conf). */
  fsid?: string;
  /** mgr.<name>'s key. */
  key: string;
  log: Logger;
  tickMs?: number;
  /** How long to wait for the first monitor session (Ceph's client_mount_timeout: 300 s). */
  connectTimeoutMs?: number;
  /** Passed to the monitor client (backoff, keepalives; tests: another auth provider). */
  monClient?: Partial<MonClientOptions>;
  now?: () => number;
}

/** What daemon-server gives the manager once it serves (startDaemonServer). */
export interface ManagerDeps {
  /** The beacon's metadata (beacon.ts managerMetadata: versions, host, our gRPC addresses). */
  metadata: Record<string, string>;
  /** Asked before each beacon; `namedActive` says whether the map names us active. */
  state(namedActive: boolean): Promise<ManagerState>;
  /** The native commands this manager advertises (never the monitors'). */
  nativeCommands: NativeDescription[];
  /** The modules' commands (module-host's ListCommands), asked when a beacon announces availability. */
  moduleCommands(): Promise<CommandDescriptor[]>;
  /** Called when whether we are active may have changed (a map, a confirmed beacon, a lapse). */
  onChange(): void;
  /** cluster-state's views, which the report to the monitors is built from (mon-report.ts); without it, no reports. */
  clusterState?: MonReportSource;
}

export class CephManager implements CephManagerSession {
  readonly name: string;
  readonly rotatingKeys = new RotatingKeys(EntityType.MGR);
  readonly monClient: MonClient;
  readonly modes: MonClientOptions['modes'];
  readonly fence: MonitorFence;
  readonly counters = new WireCounters();
  private serverAddrs: EntityAddr[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private lastBeacon = { available: false, confirmed: true, error: '' };
  private resigning = false;
  private lastResignAt = -Infinity;
  readonly stats = { beaconsSent: 0, beaconsConfirmed: 0, commandDescsSent: 0 };
  private readonly log: Logger;
  private deps: ManagerDeps | undefined;
  private reporter: MonReporter | undefined;
  private clusterLog: ClusterLogForwarder | undefined;

  constructor(private readonly o: CephManagerOptions) {
    this.name = o.name;
    this.log = o.log.child({ component: 'ceph-manager', entity: `mgr.${o.name}` });
    this.fence = new MonitorFence(o.name, o.now);
    this.modes = o.monClient?.modes;
    this.monClient = new MonClient({
      monitors: o.monitors,
      auth: new CephxClient({ entity: `mgr.${o.name}`, key: o.key, rotating: this.rotatingKeys }),
      fsid: o.fsid,
      logger: o.log,
      hostname: os.hostname(),
      counters: this.counters,
      // the service map's epoch: ours must be above it (mon-report.ts)
      subscribe: ['mgrmap', 'servicemap'],
      ...o.monClient,
    });
    this.monClient.on('map', (name: string, epoch: number, m: Message) => {
      if (name === 'servicemap') this.reporter?.monitorsServiceMap(epoch);
      if (name !== 'mgrmap') return;
      const map = decodeMMgrMap(m);
      const wasActive = this.fence.namedActive();
      this.fence.takeMap(map);
      const active = this.fence.namedActive();
      if (active !== wasActive)
        this.log.info(active ? 'the monitors name this manager active' : 'the monitors no longer name this manager active', {
          epoch: map.epoch,
          active: map.activeName,
          gid: String(this.globalId),
        });
      // Named active (or no longer): tell the monitors where we stand now, as Ceph does after activating.
      if (active !== wasActive) this.wake?.();
      this.deps?.onChange();
    });
    this.monClient.on('logack', (m: Message) => {
      try {
        this.clusterLog?.acked(decodeMLogAck(m).last);
      } catch (e) {
        this.log.warn('an MLogAck could not be read', { error: (e as Error).message });
      }
    });
    this.monClient.on('connected', () => {
      this.clusterLog?.reconnected();
      this.fence.setGid(this.monClient.globalId);
      void this.refreshGrace();
      this.wake?.();
    });
  }

  get fsid(): string {
    return this.monClient.getMonMap()?.fsid ?? '';
  }

  get globalId(): bigint {
    return this.monClient.globalId;
  }

  /** Something a beacon carries changed (our module-host came up or went away): beacon now. */
  changed(): void {
    this.wake?.();
  }

  setServerAddrs(addrs: EntityAddr[]): void {
    this.serverAddrs = [...addrs];
    this.log.info('msgr2 front door listening', { addrs: addrs.map((a) => `${a.host}:${a.port}`) });
    this.wake?.();
  }

  /** Gives the manager what its beacons carry; before start(). */
  attach(deps: ManagerDeps): void {
    this.deps = deps;
    this.reporter = deps.clusterState ? new MonReporter(deps.clusterState, this.log, this.o.now) : undefined;
    this.clusterLog = deps.clusterState ? new ClusterLogForwarder(deps.clusterState, this.log, this.o.now) : undefined;
  }

  /** What the cluster log sent the monitors (entries sent, acknowledged, dropped). */
  get clusterLogStats(): ClusterLogForwarder['stats'] | undefined {
    return this.clusterLog?.stats;
  }

  /** What the reports to the monitors were (counts, the last one's size). */
  get reportStats(): MonReporter['stats'] | undefined {
    return this.reporter?.stats;
  }

  /**
   * Opens the monitor session, checks that mgr.<name>'s caps let it act as
   * a manager, and starts beaconing. Rejects (and stops) on what no retry
   * cures: a refused key, caps without `mgr x`, or no session within the
   * connect timeout.
   */
  async start(): Promise<void> {
    if (!this.deps) throw new Error('CephManager.start() before attach()');
    const timeoutMs = this.o.connectTimeoutMs ?? 300_000;
    try {
      await withTimeout(this.monClient.start(), timeoutMs, () => {
        const st = this.monClient.status();
        return `no monitor session as mgr.${this.name} within ${timeoutMs} ms${st.lastError ? ` (last error: ${st.lastError})` : ''}`;
      });
      this.fence.setGid(this.monClient.globalId);
      await this.checkCaps(timeoutMs);
    } catch (e) {
      this.monClient.stop();
      throw e;
    }
    this.log.info('monitor session open as a manager', { gid: String(this.globalId), fsid: this.fsid });
    this.loop = this.beaconLoop();
  }

  /** `auth get` of ourselves: the mgr profile may run it; caps that cannot beacon are refused here rather than ignored by the monitors. */
  private async checkCaps(timeoutMs: number): Promise<void> {
    const entity = `mgr.${this.name}`;
    const r = await this.monClient.command({ prefix: 'auth get', entity, format: 'json' }, { timeoutMs });
    if (r.r === EACCES) {
      throw new CephConfigError(
        `${entity} may not read its own caps (auth get: ${r.rs || 'access denied'}): its mon caps do not let it act as a manager, ` +
          `and the monitors would ignore its beacons. Fix it with: ceph auth caps ${entity} mon 'allow profile mgr' osd 'allow *' mds 'allow *'`,
      );
    }
    if (r.r !== 0) {
      this.log.warn('could not read our own caps; beaconing anyway', { r: r.r, rs: r.rs });
      return;
    }
    const [me] = JSON.parse(r.data.toString('utf8') || '[]') as Array<{ caps?: Record<string, string> }>;
    const problem = capsProblem(entity, me?.caps?.mon);
    if (problem) throw new CephConfigError(problem);
  }

  /** The monitors' mon_mgr_beacon_grace, which the fence measures against. */
  private async refreshGrace(): Promise<void> {
    clearTimeout(this.graceTimer);
    if (this.stopped) return;
    const ms = await monitorsBeaconGraceMs(this.monClient).catch(
      (e) => void this.log.debug('could not read mon_mgr_beacon_grace', { error: (e as Error).message }),
    );
    if (ms && ms !== this.fence.graceMs) this.log.info("the monitors' beacon grace", { mon_mgr_beacon_grace: ms / 1000 });
    if (ms) this.fence.graceMs = ms;
    if (this.stopped) return;
    this.graceTimer = setTimeout(() => void this.refreshGrace(), GRACE_REFRESH_MS);
    this.graceTimer.unref();
  }

  private async beaconLoop(): Promise<void> {
    const tickMs = this.o.tickMs ?? DEFAULT_TICK_MS;
    const now = this.o.now ?? Date.now;
    while (!this.stopped) {
      const t = now();
      await this.beaconOnce().catch((e) => this.log.warn('beacon failed', { error: (e as Error).message }));
      this.deps?.onChange();
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, tickMs - (now() - t)));
        timer.unref();
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
  }

  private async beaconOnce(): Promise<void> {
    const d = this.deps as ManagerDeps;
    const now = this.o.now ?? Date.now;
    const namedActive = this.fence.namedActive();
    const state = await d.state(namedActive);
    // Modules gate the first announcement only: once the map says available, a module enabled
    // later (starting for a moment) does not make daemons drop their sessions.
    const ready = state.serving && (state.modulesUp || this.fence.availableInMap());
    const available = namedActive && ready && this.serverAddrs.length > 0 && !this.stopped;
    // The beacons that announce availability carry the commands, until the map says we are available.
    const commands = available && !this.fence.availableInMap() ? commandDescs(d.nativeCommands, await d.moduleCommands()) : [];
    const m = beaconMessage({
      name: this.name,
      gid: this.globalId,
      fsid: this.fsid,
      serverAddrs: this.serverAddrs,
      available,
      modules: state.modules,
      commands,
      metadata: d.metadata,
      services: state.services,
    });
    if (namedActive && ready && !this.serverAddrs.length && !this.lastBeacon.error)
      this.log.warn('named active, but the msgr2 front door does not listen yet: not available until it does');
    const sentAt = now();
    this.stats.beaconsSent++;
    if (commands.length) this.stats.commandDescsSent++;
    const confirmed = await this.monClient.sendConfirmed(m, Math.max(1000, Math.min(this.fence.graceMs / 4, 10_000)));
    if (confirmed) {
      this.stats.beaconsConfirmed++;
      this.fence.confirmed(sentAt);
    }
    if (available !== this.lastBeacon.available || commands.length)
      this.log.info('beacon', { available, commands: commands.length, modules: state.modules.length, gid: String(this.globalId), confirmed });
    if (confirmed !== this.lastBeacon.confirmed)
      this.log[confirmed ? 'info' : 'warn'](confirmed ? 'the monitors read our beacons again' : 'a beacon was not confirmed by a monitor', {
        monitor: this.monClient.status().monitor,
        lastError: this.monClient.status().lastError,
      });
    this.lastBeacon = { available, confirmed, error: namedActive && !this.serverAddrs.length ? 'no front door' : '' };
    // The active's report (Ceph's DaemonServer::send_report, every tick): what `ceph -s`, `ceph df` and `ceph health` show.
    const report = await this.reporter?.next(available, this.globalId);
    if (report && this.monClient.send(report)) this.reporter?.sent();
    // What this manager and its modules wrote to the cluster log (Ceph's LogClient): `ceph log last` shows it.
    const clog = await this.clusterLog?.next(available, { name: this.name, gid: this.globalId, addrs: this.serverAddrs, fsid: this.fsid });
    if (clog) this.monClient.send(clog);
    if (namedActive && state.moduleHostDown) await this.resignForModuleHost(state.moduleHostDown);
  }

  /**
   * Our module-host is down while the monitors name us active: with a
   * standby in their map, `mgr fail <gid>` (this session) so it takes over
   * and runs the modules now, rather than nobody running them. Our beacons
   * go on, so the monitors keep us as a standby; without a standby we stay.
   * The monitors' map does not say whether a standby's module-host is up:
   * once per grace period at most, so two managers whose module-hosts are
   * both down do not hand the role to and fro.
   */
  private async resignForModuleHost(why: string): Promise<void> {
    const now = this.o.now ?? Date.now;
    const standbys = this.fence.cephMap()?.standbys.length ?? 0;
    if (this.resigning || this.stopped || !standbys || now() - this.lastResignAt < this.fence.graceMs) return;
    this.resigning = true;
    const gid = String(this.globalId);
    try {
      const r = await this.monClient.command({ prefix: 'mgr fail', who: gid }, { timeoutMs: 5000 });
      if (r.r === 0) {
        this.lastResignAt = now();
        this.log.warn('resigned as active manager: module-host is not up', { gid, why, rs: r.rs });
      } else this.log.warn('could not resign while module-host is not up; will try again', { gid, r: r.r, rs: r.rs });
    } catch (e) {
      this.log.warn('could not resign while module-host is not up; will try again', { gid, error: (e as Error).message });
    } finally {
      this.resigning = false;
    }
  }

  /**
   * Stops beaconing and closes the session. An active manager first asks
   * the monitors to fail it (`mgr fail <gid>`: this very session, never a
   * later one under the same name), so a standby takes over now rather
   * than after the grace period.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.graceTimer);
    this.wake?.();
    await this.loop?.catch(() => undefined);
    if (this.fence.namedActive()) {
      const gid = String(this.globalId);
      try {
        const r = await this.monClient.command({ prefix: 'mgr fail', who: gid }, { timeoutMs: 2000 });
        if (r.r === 0) this.log.info('resigned: asked the monitors to fail this manager', { gid, rs: r.rs });
        else this.log.warn('could not resign', { gid, r: r.r, rs: r.rs });
      } catch (e) {
        this.log.warn('could not resign; the monitors will fail this manager after their beacon grace', { error: (e as Error).message });
      }
    }
    this.monClient.stop();
    this.deps?.onChange();
  }
}
