// ModuleHost: finds the modules, runs the enabled ones (each in its own
// worker, see module-runner.ts), routes their commands, fans out notify,
// answers their API calls from cluster-state, and reports their health.
import { abortable, isAbortError } from 'abort-controller-x';
import * as fs from 'fs';
import * as path from 'path';
import type { CommandDescriptor, HealthCheck } from '../../../lib/gen/ceph/mgr/v1/common';
import { HealthSeverity } from '../../../lib/gen/ceph/mgr/v1/common';
import { screenHealthChecks } from '../../../lib/health-checks';
import { ModuleRunner, ModuleStopped, ModuleTimeout, RunnerDeps } from './module-runner';
import { convertOption, declaredOptions, optionKey, OptionError, unknownOption } from './options';
import type { ClusterStateApi } from './cluster-api';
import type { HealthCheckSpec } from '../../../lib/mgr-module';
import type { OptionDeclaration } from './protocol';
import { addPythonModules, PythonModulesConfig } from './python-modules';
import type { ManagerCommands } from './manager-commands';
import { ProgressEvents } from './progress-events';
import { configOptionsJson } from '../../../lib/ceph-config-options';
import { EIO, EINVAL, EOPNOTSUPP, ETIMEDOUT } from '../../../lib/errno';
import { Waiter } from '../../../lib/waiter';

export interface ModuleHostOptions {
  mgrId: string;
  /** Folders holding one module per sub-folder; earlier ones win on a name clash. */
  modulePath: string[];
  enabled: string[];
  alwaysOn: string[];
  cluster: ClusterStateApi;
  log: RunnerDeps['log'];
  commandTimeoutMs: number;
  watchdogMs: number;
  notifyTimeoutMs: number;
  workerMaxOldGenMb: number;
  observeNotify?: RunnerDeps['observeNotify'];
  observeCoalesced?: RunnerDeps['observeCoalesced'];
  /** A module command abandoned because its caller cancelled. */
  observeAbandoned?(module: string): void;
  /** Ceph's Python modules (python-modules.ts); none when unset. */
  python?: PythonModulesConfig;
  /** Where sendCommand goes (send-command.ts implements it); unset: it answers -95. */
  commands?: ManagerCommands;
  /**
   * The enabled set comes from the MgrMap (setEnabledModules): until it has
   * arrived the modules are not settled, since the map's set (Ceph's
   * always-on modules) is more than the configured one.
   */
  enabledFromMgrMap?: boolean;
  /**
   * After a demotion the modules' active parts stop at once, but their
   * standby parts load only this long after (ms; default 2000), or at once
   * if this manager is promoted again: reloading ten Python modules takes
   * seconds of CPU, which the new active needs more for its first answers.
   */
  demotedReloadDelayMs?: number;
}

export interface ModuleView {
  name: string;
  path: string;
  state: string;
  enabled: boolean;
  alwaysOn: boolean;
  canRun: boolean;
  errorString: string;
  /** "typescript" or "python". */
  runtime: string;
  options: OptionDeclaration[];
}

/** Raw maps; every other get() name is derived from them. */
const RAW_MAPS = new Set([
  'osd_map',
  'fs_map',
  'mon_map',
  'mgr_map',
  'service_map',
  'osd_metadata',
  'mds_metadata',
  'mon_metadata',
  'config',
  'devices',
  'crush_map',
  'mon_status',
  'health_mon',
  'pg_mappings',
]);

export class ModuleHost {
  private runners = new Map<string, ModuleRunner>();
  private enabled: Set<string>;
  private active = false;
  private services = new Map<string, string>();
  private activeServices: Record<string, string> = {};
  private moduleChecks = new Map<string, HealthCheck[]>();
  private getCache = new Map<string, { version: number; json: string | null }>();
  private versions = new Map<string, number>();
  private derivedVersion = 0;
  private clashes: string[] = [];
  private healthTimer: NodeJS.Timeout | null = null;
  private healthGeneration = 0;
  private healthFailures = 0;
  private syncing: Promise<void> = Promise.resolve();
  /** Syncs asked for and not finished (sync() chains them). */
  private pendingSyncs = 0;
  /** Ends a demotion's wait before reloading standby parts (promoted again, or stopping). */
  private demotedWait: Waiter | null = null;
  /** No enabled set from the MgrMap yet (enabledFromMgrMap). */
  private awaitingEnabledSet: boolean;
  /** Aborted by stopAll: ends waits that would otherwise outlive the host. */
  private readonly stopped = new AbortController();
  /** The modules' progress events, reported while this manager is active. */
  readonly progress: ProgressEvents;
  loaded = false;

  constructor(private opts: ModuleHostOptions) {
    this.enabled = new Set(opts.enabled);
    this.awaitingEnabledSet = !!opts.enabledFromMgrMap;
    this.progress = new ProgressEvents(async (json) => {
      if (this.active) await this.opts.cluster.putReport('progress_events', json);
    }, opts.log);
  }

  /** Finds every module and reads its declaration. */
  async discover(): Promise<void> {
    for (const dir of this.opts.modulePath) {
      if (!fs.existsSync(dir)) {
        this.opts.log('warn', 'module folder does not exist', { path: dir });
        continue;
      }
      for (const name of fs.readdirSync(dir).sort()) {
        const entry = ['index.ts', 'index.js'].map((f) => path.join(dir, name, f)).find((f) => fs.existsSync(f));
        if (!entry) continue;
        if (this.runners.has(name)) {
          this.clashes.push(`${path.join(dir, name)} ignored: a module named '${name}' was already found at ${this.runners.get(name)!.entry}`);
          this.opts.log('warn', 'module name clash', { module: name, ignored: entry });
          continue;
        }
        this.runners.set(name, new ModuleRunner(name, entry, this.runnerDeps()));
      }
    }
    // Python modules (Ceph's own), one process each: python-modules.ts.
    if (this.opts.python) {
      addPythonModules(
        this.opts.python,
        this.runners,
        this.clashes,
        this.runnerDeps(),
        {
          cluster: this.opts.cluster,
          declarationOf: (m) => this.runners.get(m)?.declaration ?? null,
        },
        this.stopped.signal,
      );
    }
    await Promise.all([...this.runners.values()].map((r) => r.probe()));
    this.opts.log('info', 'modules found', { modules: [...this.runners.keys()] });
  }

  private runnerDeps(): RunnerDeps {
    return {
      mgrId: this.opts.mgrId,
      api: (module, method, args) => this.api(module, method, args),
      log: this.opts.log,
      changed: () => this.scheduleHealth(),
      limits: { maxOldGenerationSizeMb: this.opts.workerMaxOldGenMb },
      watchdogMs: this.opts.watchdogMs,
      notifyTimeoutMs: this.opts.notifyTimeoutMs,
      observeNotify: this.opts.observeNotify,
      observeCoalesced: this.opts.observeCoalesced,
    };
  }

  isActive(): boolean {
    return this.active;
  }

  /** Active managers run the enabled modules; standbys only their standby parts. */
  setActive(active: boolean): Promise<void> {
    if (active === this.active && this.loaded) return this.syncing;
    this.active = active;
    this.opts.log('info', active ? 'this manager is active: starting modules' : 'this manager is standby: running standby parts only');
    // A new active reports its own (at first no) progress events.
    if (active) this.progress.clear();
    if (active) this.demotedWait?.wake();
    return this.sync();
  }

  setEnabledModules(names: string[]): Promise<void> {
    this.awaitingEnabledSet = false;
    const next = new Set(names);
    if ([...next].every((n) => this.enabled.has(n)) && next.size === this.enabled.size && this.loaded) return this.syncing;
    this.enabled = next;
    return this.sync();
  }

  /** Module URIs the active's modules published (from the MgrMap), for getActiveUri. */
  setActiveServices(services: Record<string, string>): void {
    this.activeServices = services;
  }

  /** module -> URI this host's modules published. */
  getServices(): Record<string, string> {
    return Object.fromEntries(this.services);
  }

  private isOn(name: string): boolean {
    return this.enabled.has(name) || this.opts.alwaysOn.includes(name);
  }

  /**
   * Whether every enabled module is where this manager's role wants it
   * (started, loaded on a standby, or failed) with no change under way: a
   * standby still loading modules (just started, just demoted, a module
   * just enabled, or the MgrMap's enabled set not seen yet) is not ready
   * to be promoted, and its beacon says so.
   */
  settled(): boolean {
    return this.loaded && this.pendingSyncs === 0 && !this.awaitingEnabledSet;
  }

  private sync(): Promise<void> {
    this.pendingSyncs++;
    this.syncing = this.syncing.then(() => this.syncNow()).finally(() => this.pendingSyncs--);
    return this.syncing;
  }

  private async syncNow(): Promise<void> {
    const t0 = Date.now();
    const promoting = this.active;
    const all = [...this.runners.values()];
    const running = all.filter((r) => r.state === 'running' || r.state === 'starting');
    if (!this.active && running.length) {
      // Demoted: the active parts stop now; the standby parts load only
      // after the new active has had the machine to itself for a moment
      // (promoted again meanwhile: at once).
      await Promise.all(running.map((r) => r.stop()));
      const delayMs = this.opts.demotedReloadDelayMs ?? 2000;
      this.opts.log('info', "modules' active parts stopped; their standby parts load shortly", { ms: Date.now() - t0, delayMs });
      if (!this.stopped.signal.aborted && !this.active) {
        this.demotedWait = new Waiter();
        await this.demotedWait.wait(delayMs);
        this.demotedWait = null;
      }
    }
    // Our TypeScript modules first, then Ceph's Python ones: on a promotion
    // the commands most callers wait for (hello, status, selftest, ...)
    // answer as soon as their own module runs, without sharing the machine
    // with ten Python processes starting at once and the API calls they
    // make when they do.
    await this.syncGroup(all.filter((r) => r.runtime !== 'python'));
    if (promoting && this.active) this.opts.log('info', 'TypeScript modules started; starting the Python ones', { ms: Date.now() - t0 });
    await this.syncGroup(all.filter((r) => r.runtime === 'python'));
    if (promoting && this.active) this.opts.log('info', 'modules started', { ms: Date.now() - t0 });
    this.loaded = true;
    this.scheduleHealth();
  }

  /** Brings `runners` to what this manager's role and the enabled set want. */
  private async syncGroup(runners: ModuleRunner[]): Promise<void> {
    const want = (r: ModuleRunner) => (this.isOn(r.name) ? (this.active ? 'active' : 'standby') : 'off');
    // Modules kept loaded on the standby start first, on their own: a
    // message each. Spawning and loading workers (modules with a standby
    // part restart; newly enabled ones load) would otherwise compete with
    // them for this thread on a promotion.
    const ready = runners.filter((r) => want(r) === 'active' && r.state === 'loaded');
    await Promise.all(ready.map((r) => r.start(true, {})));
    await Promise.all(
      runners.map(async (r) => {
        const w = want(r);
        const now = r.state;
        if (w === 'off' || (w === 'active' && now === 'standby') || (w === 'standby' && (now === 'running' || now === 'cannot_run'))) {
          if (now === 'running' || now === 'standby' || now === 'starting' || now === 'loaded') await r.stop();
          if (now === 'cannot_run' || (w === 'off' && now === 'failed')) r.reset();
          if (w === 'off') this.services.delete(r.name);
        }
        if (w !== 'off' && (r.state === 'stopped' || (w === 'active' && r.state === 'loaded'))) await r.start(w === 'active', {});
      }),
    );
  }

  async stopAll(): Promise<void> {
    this.stopped.abort();
    this.demotedWait?.wake();
    await this.syncing;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.progress.stop();
  }

  modules(): ModuleView[] {
    return [...this.runners.values()].map((r) => ({
      name: r.name,
      path: r.entry,
      state: this.isOn(r.name) ? r.state : 'disabled',
      enabled: this.enabled.has(r.name),
      alwaysOn: this.opts.alwaysOn.includes(r.name),
      canRun: r.declaration ? r.declaration.canRun[0] : false,
      errorString: r.errorString || (r.declaration && !r.declaration.canRun[0] ? r.declaration.canRun[1] : ''),
      options: r.declaration ? [...declaredOptions(r.declaration.options).values()] : [],
      runtime: r.runtime,
    }));
  }

  commands(): CommandDescriptor[] {
    const out: CommandDescriptor[] = [];
    for (const r of this.runners.values()) {
      for (const c of r.declaration?.commands ?? []) out.push({ cmd: c.cmd, desc: c.desc, perm: c.perm, module: r.name, poll: !!c.poll });
    }
    return out;
  }

  /** The runner whose module declares `prefix` (only `module`'s commands when named). */
  private findCommand(prefix: string, module?: string): ModuleRunner | null {
    const runners = module ? [this.runners.get(module)].filter((r): r is ModuleRunner => !!r) : this.runners.values();
    for (const r of runners) {
      for (const c of r.declaration?.commands ?? []) if (commandPrefix(c.cmd) === prefix) return r;
    }
    return null;
  }

  /**
   * Runs a module command: [retcode, stdout, stderr] and the module that
   * answered. `owner` is the module daemon-server named (its command table
   * knows it), else the first module with the prefix. When `signal` aborts
   * (the caller cancelled or its deadline passed) the command is abandoned:
   * this rejects with an AbortError at once and the module's late answer is
   * dropped.
   */
  async handleCommand(
    prefix: string,
    args: Record<string, unknown>,
    inbuf: string,
    signal?: AbortSignal,
    owner?: string,
  ): Promise<{ result: [number, string, string]; module: string }> {
    const r = this.findCommand(prefix, owner);
    if (!r) return { result: [EINVAL, '', `No handler found for '${prefix}'`], module: '' };
    const module = r.name;
    if (!this.isOn(module))
      return {
        result: [EOPNOTSUPP, '', `Module '${module}' is not enabled (required by command '${prefix}'): use \`ceph mgr module enable ${module}\` to enable it`],
        module,
      };
    if (!this.active) return { result: [EOPNOTSUPP, '', `Module '${module}' is not active on this manager (it is a standby)`], module };
    const isSelfTest = /(^|\s)self-test(\s|$)/.test(prefix);
    if (r.state === 'failed' && isSelfTest) {
      try {
        return { result: [0, await r.selfTestFresh(this.opts.commandTimeoutMs), ''], module };
      } catch (e) {
        return { result: [EIO, '', `Self-test of module '${module}' failed: ${(e as Error).message}`], module };
      }
    }
    if (r.state === 'failed') return { result: [EIO, '', `Module '${module}' has experienced an error and cannot handle commands: ${r.errorString}`], module };
    if (r.state === 'cannot_run') return { result: [EOPNOTSUPP, '', `Module '${module}' cannot run: ${r.errorString}`], module };
    if (r.state !== 'running') return { result: [EIO, '', `Module '${module}' is not running (${r.state})`], module };
    try {
      const reply = r.command(inbuf, { ...args, prefix }, this.opts.commandTimeoutMs);
      return { result: signal ? await abortable(signal, reply) : await reply, module };
    } catch (e) {
      if (isAbortError(e)) {
        this.opts.log('info', 'module command abandoned: its caller cancelled', { module, prefix });
        this.opts.observeAbandoned?.(module);
        throw e;
      }
      if (e instanceof ModuleTimeout) {
        this.opts.log('warn', 'module command timed out', { module, prefix, timeoutMs: this.opts.commandTimeoutMs });
        return { result: [ETIMEDOUT, '', `Module '${module}' did not answer '${prefix}' within ${this.opts.commandTimeoutMs} ms`], module };
      }
      if (e instanceof ModuleStopped) {
        // Not the command's fault: the module went away under it (EIO, as
        // for a failed module), never EINVAL.
        this.opts.log('warn', 'module stopped during a command', { module, prefix, error: e.message });
        const now = r.state as string;
        const why = now === 'failed' ? `it failed: ${r.errorString}` : 'it was stopped (disabled, or this manager is no longer active)';
        return { result: [EIO, '', `Module '${module}' stopped while handling '${prefix}': ${why}`], module };
      }
      this.opts.log('warn', 'module command raised', { module, prefix, error: (e as Error).message });
      return { result: [EINVAL, '', `Error in module '${module}' handling '${prefix}': ${(e as Error).message}`], module };
    }
  }

  /** A change from cluster-state's Watch: invalidate get() caches and notify. */
  onClusterEvent(type: string, id: string): void {
    // A module option changed (store key config/mgr/<module>/<key>). Checked
    // first: 'config' is also a raw map's name (its puts carry no id).
    if (type === 'config' && id.startsWith('config/mgr/')) {
      this.forgetOption(id);
      const module = id.split('/')[2];
      this.runners.get(module)?.configNotify();
      return;
    }
    if (RAW_MAPS.has(type)) {
      this.versions.set(type, (this.versions.get(type) ?? 0) + 1);
      this.derivedVersion++;
    } else if (type === 'pg_summary' || type === 'health') {
      this.derivedVersion++;
    }
    if (!this.active) return;
    for (const r of this.runners.values()) r.notify(type, id);
  }

  /** The watch lost events: every cached get() is stale. */
  onResync(): void {
    this.forgetOption(null);
    for (const k of this.versions.keys()) this.versions.set(k, this.versions.get(k)! + 1);
    this.derivedVersion++;
    this.getCache.clear();
  }

  private versionOf(what: string): number {
    return RAW_MAPS.has(what) ? (this.versions.get(what) ?? 0) : this.derivedVersion * 1_000_000 + [...this.versions.values()].reduce((a, b) => a + b, 0);
  }

  private async cachedGet(what: string, known: number): Promise<{ version: number; json: string | null; unchanged?: boolean }> {
    // The manager's own option table (compiled into ceph-mgr), never changing.
    if (what === 'config_options') return known === 1 ? { version: 1, json: null, unchanged: true } : { version: 1, json: configOptionsJson() };
    const version = this.versionOf(what);
    if (known === version && this.getCache.get(what)?.version === version) return { version, json: null, unchanged: true };
    let hit = this.getCache.get(what);
    if (!hit || hit.version !== version) {
      let res: Awaited<ReturnType<ClusterStateApi['get']>>;
      try {
        res = await this.opts.cluster.get(what);
      } catch (e) {
        // cluster-state stayed unreachable: the last value we had, as
        // ceph-mgr answers from the maps it last received.
        if (hit) return known === hit.version ? { version: hit.version, json: null, unchanged: true } : hit;
        throw e;
      }
      hit = { version, json: res ? res.json : null };
      // Only keep it if nothing changed while we fetched.
      if (this.versionOf(what) === version) this.getCache.set(what, hit);
    }
    return known === hit.version ? { version: hit.version, json: null, unchanged: true } : hit;
  }

  private declared(module: string): Map<string, OptionDeclaration> {
    return declaredOptions(this.runners.get(module)?.declaration?.options ?? []);
  }

  /**
   * Module options as last read or written here, as Ceph's manager keeps its
   * config in memory: a module reading its option per command (hello) costs
   * no call to cluster-state. cluster-state's Watch says when one changes
   * (a `config` event drops it); a broken watch drops them all.
   */
  private options = new Map<string, string | null>();
  private optionsVersion = 0;

  private async storedOption(key: string): Promise<string | null> {
    if (this.options.has(key)) return this.options.get(key)!;
    const version = this.optionsVersion;
    const stored = await this.opts.cluster.getStore(key);
    if (version === this.optionsVersion) this.options.set(key, stored);
    return stored;
  }

  /** Drops the host's copy of an option (null: all), and the module workers' copies with it. */
  private forgetOption(key: string | null): void {
    this.optionsVersion++;
    if (key === null) {
      this.options.clear();
      for (const r of this.runners.values()) r.optionChanged(null);
      return;
    }
    this.options.delete(key);
    // config/mgr/<module>/<option>
    const [, , module, ...name] = key.split('/');
    this.runners.get(module)?.optionChanged(name.join('/'));
  }

  /** cluster-state's Watch broke: events may be missed until it resumes. */
  onWatchBroken(): void {
    this.forgetOption(null);
  }

  async getOption(module: string, key: string): Promise<unknown> {
    const known = this.declared(module);
    const opt = known.get(key);
    if (!opt) throw unknownOption(module, key, known);
    const stored = await this.storedOption(optionKey(module, key));
    if (stored === null) return opt.default ?? null;
    try {
      return convertOption(module, opt, stored);
    } catch {
      this.opts.log('warn', 'stored option value does not fit its declaration; using the default', { module, key, stored });
      return opt.default ?? null;
    }
  }

  async setOption(module: string, key: string, value: unknown): Promise<void> {
    const known = this.declared(module);
    const opt = known.get(key);
    if (!opt) throw unknownOption(module, key, known);
    const k = optionKey(module, key);
    this.forgetOption(k);
    if (value === null || value === undefined) {
      await this.opts.cluster.setStore(k, null);
      this.forgetOption(k);
      return;
    }
    const v = convertOption(module, opt, value);
    await this.opts.cluster.setStore(k, String(v));
    this.forgetOption(k);
  }

  private async api(module: string, method: string, args: unknown[]): Promise<unknown> {
    const c = this.opts.cluster;
    const s = (i: number) => String(args[i] ?? '');
    switch (method) {
      case 'get':
        return this.cachedGet(s(0), Number(args[1] ?? -1));
      case 'getServer':
        return c.queryDaemons('server', { hostname: s(0) });
      case 'listServers':
        return c.queryDaemons('list_servers', {});
      case 'getMetadata':
        return c.queryDaemons('metadata', { svcType: s(0), svcId: s(1) });
      case 'getDaemonStatus':
        return c.queryDaemons('status', { svcType: s(0), svcId: s(1) });
      case 'getPerfSchema':
        return c.queryDaemons('perf_schema', { svcType: s(0), svcId: s(1) });
      case 'getCounter':
        return c.queryDaemons('counter', { svcType: s(0), svcId: s(1), path: s(2) });
      case 'getLatestCounter':
        return c.queryDaemons('latest_counter', { svcType: s(0), svcId: s(1), path: s(2) });
      case 'getAllPerfCounters':
        return c.queryDaemons('all_perf_counters', {
          prioLimit: args[0] == null ? undefined : Number(args[0]),
          services: (args[1] as string[] | null) ?? undefined,
        });
      case 'getDaemonHealthMetrics':
        return c.queryDaemons('health_metrics', {});
      case 'setHealthChecks': {
        // One check at a time: a bad one is refused (and the module told
        // why), the good ones beside it are raised.
        const { accepted, refused } = screenHealthChecks(healthChecksFrom(module, args[0]));
        this.moduleChecks.set(module, accepted);
        if (refused.length) this.opts.log('warn', 'module health checks refused', { module, refused });
        this.scheduleHealth();
        return { refused };
      }
      case 'getModuleOption':
        return this.getOption(module, s(0));
      case 'setModuleOption':
        return this.setOption(module, s(0), args[1]);
      case 'getStore':
        return c.getStore(`mgr/${module}/${s(0)}`);
      case 'setStore':
        return c.setStore(`mgr/${module}/${s(0)}`, args[1] === null || args[1] === undefined ? null : String(args[1]));
      case 'getStorePrefix': {
        const base = `mgr/${module}/`;
        const all = await c.listStore(base + s(0));
        return Object.fromEntries(Object.entries(all).map(([k, v]) => [k.slice(base.length), v]));
      }
      case 'remote': {
        const target = this.runners.get(s(0));
        if (!target || target.state !== 'running') throw new Error(`module '${s(0)}' is not enabled or not running`);
        const kwargs = args[3] && typeof args[3] === 'object' && !Array.isArray(args[3]) ? (args[3] as Record<string, unknown>) : undefined;
        return target.remote(s(1), (args[2] as unknown[]) ?? [], this.opts.commandTimeoutMs, kwargs);
      }
      case 'setUri':
        this.services.set(module, s(0));
        this.opts.log('info', 'module published its URI', { module, uri: s(0) });
        return null;
      case 'getActiveUri':
        return this.activeServices[module] ?? '';
      case 'clusterLog':
        return c.clusterLog(s(0), s(1), `[${module}] ${s(2)}`);
      case 'updateProgressEvent':
        this.progress.update(s(0), s(1), Number(args[2]), !!args[3]);
        return null;
      case 'completeProgressEvent':
        this.progress.complete(s(0));
        return null;
      case 'clearProgressEvents':
        this.progress.clear();
        return null;
      case 'sendCommand': {
        // [prefix, args, inbuf] -> [retcode, stdout, stderr], through daemon-server's command path.
        if (!this.opts.commands) return [EOPNOTSUPP, '', `module-host has no daemon-server to send '${s(0)}' to`];
        return this.opts.commands.send(module, s(0), (args[1] ?? {}) as Record<string, unknown>, s(2));
      }
      default:
        throw new Error(`unknown module API call '${method}'`);
    }
  }

  /** Health checks about the modules, plus the ones they raised themselves. */
  healthChecks(): HealthCheck[] {
    const failed = [...this.runners.values()].filter((r) => this.isOn(r.name) && r.state === 'failed');
    const cannot = [...this.runners.values()].filter((r) => this.isOn(r.name) && r.state === 'cannot_run');
    const out: HealthCheck[] = [];
    if (failed.length) {
      out.push({
        code: 'MGR_MODULE_ERROR',
        severity: HealthSeverity.HEALTH_SEVERITY_ERROR,
        summary: failed.length === 1 ? `Module '${failed[0].name}' has failed: ${failed[0].errorString}` : `${failed.length} mgr modules have failed`,
        count: failed.length,
        detail: failed.map((r) => `Module '${r.name}' has failed: ${r.errorString}`),
      });
    }
    if (cannot.length) {
      out.push({
        code: 'MGR_MODULE_DEPENDENCY',
        severity: HealthSeverity.HEALTH_SEVERITY_WARNING,
        summary:
          cannot.length === 1
            ? `Module '${cannot[0].name}' has failed dependency: ${cannot[0].errorString}`
            : `${cannot.length} mgr modules have failed dependencies`,
        count: cannot.length,
        detail: cannot.map((r) => `Module '${r.name}' has failed dependency: ${r.errorString}`),
      });
    }
    for (const [module, checks] of this.moduleChecks) {
      if (this.runners.get(module)?.state === 'running') out.push(...checks);
    }
    return mergeHealthChecks(out);
  }

  /**
   * Pushes the modules' health to cluster-state soon (coalescing bursts).
   * A push that fails (cluster-state restarting) is tried again with
   * backoff until one succeeds or a newer one replaces it: health must not
   * freeze at whatever the last successful push said.
   */
  private scheduleHealth(delayMs = 50): void {
    if (this.healthTimer) {
      if (delayMs > 50) return;
      clearTimeout(this.healthTimer);
      this.healthFailures = 0;
    }
    this.healthTimer = setTimeout(() => {
      this.healthTimer = null;
      if (!this.active) return;
      const gen = ++this.healthGeneration;
      this.opts.cluster.setHealthChecks(this.healthChecks()).then(
        ({ refused }) => {
          if (this.healthFailures) this.opts.log('info', 'module health pushed to cluster-state again', { after: this.healthFailures });
          this.healthFailures = 0;
          if (refused.length) this.opts.log('warn', 'cluster-state refused module health checks', { refused });
        },
        (e) => {
          if (gen !== this.healthGeneration) return; // a newer push is on its way
          if (!this.healthFailures) this.opts.log('warn', 'could not push module health to cluster-state; retrying', { error: (e as Error).message });
          this.healthFailures++;
          this.scheduleHealth(Math.min(5000, 200 * 2 ** Math.min(this.healthFailures, 5)));
        },
      );
    }, delayMs);
    this.healthTimer.unref();
  }

  /** Pushes health again (e.g. after cluster-state restarted). */
  refreshHealth(): void {
    this.scheduleHealth();
  }

  clashMessages(): string[] {
    return this.clashes;
  }
}

function healthChecksFrom(module: string, raw: unknown): HealthCheck[] {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new OptionError(`setHealthChecks takes an object of code -> {severity, summary, count, detail}`);
  return Object.entries(raw as Record<string, Partial<HealthCheckSpec> | undefined>).map(([code, c]) => {
    const count = Number(c?.count ?? 1);
    return {
      code,
      severity: c?.severity === 'error' ? HealthSeverity.HEALTH_SEVERITY_ERROR : HealthSeverity.HEALTH_SEVERITY_WARNING,
      summary: String(c?.summary ?? `${module}: ${code}`),
      count: Number.isInteger(count) && count >= 0 ? Math.min(count, 0xffffffff) : 0,
      detail: Array.isArray(c?.detail) ? c.detail.map(String) : [],
    };
  });
}

/**
 * Checks with the same code from several modules (or a module and the host)
 * become one, as Ceph's health_check_map_t::merge does: the first summary,
 * the counts added, the details joined; the worse severity wins.
 */
function mergeHealthChecks(checks: HealthCheck[]): HealthCheck[] {
  const byCode = new Map<string, HealthCheck>();
  for (const c of checks) {
    const had = byCode.get(c.code);
    if (!had) byCode.set(c.code, { ...c, detail: [...c.detail] });
    else {
      had.count = Math.min(had.count + c.count, 0xffffffff);
      had.detail.push(...c.detail);
      if (c.severity === HealthSeverity.HEALTH_SEVERITY_ERROR) had.severity = c.severity;
    }
  }
  return [...byCode.values()];
}

/** A descriptor's prefix ("fs status name=fs,type=CephString,req=false" -> "fs status"), worked out once per descriptor. */
const prefixes = new Map<string, string>();
function commandPrefix(cmd: string): string {
  let p = prefixes.get(cmd);
  if (p === undefined) {
    p = cmd
      .split(/\s+/)
      .filter((w) => w && !w.includes('='))
      .join(' ');
    if (prefixes.size > 10000) prefixes.clear();
    prefixes.set(cmd, p);
  }
  return p;
}
