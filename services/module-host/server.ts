// startModuleHost: finds the modules, connects to cluster-state (calls and
// its Watch stream), serves ModuleHostService. SERVING once the enabled
// modules have loaded (started or failed).
import * as path from 'path';
import * as prom from 'prom-client';
import { startService, RunningService, TlsOptions } from '../../lib/server';
import { openChannel, makeClient } from '../../lib/client';
import { ClusterStateServiceDefinition, DaemonQueryKind, WatchEventKind } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import { ModuleHostServiceDefinition } from '../../lib/gen/ceph/mgr/v1/module_host';
import type { MgrMap } from '../../lib/gen/ceph/mgr/v1/standby';
import { StandbyClient } from '../../lib/standby-client';
import { ClusterStateApi, ModuleHost } from './domain/host';
import { moduleHostHandlers } from './grpc';
import type { PythonModulesConfig } from './domain/python-modules';
import { CommandSender } from './domain/send-command';

export const BUILTIN_MODULES = path.resolve(__dirname, '../../modules');

export interface ModuleHostOptions {
  host?: string;
  port?: number;
  /** This manager instance's name (MGR_NAME). */
  name?: string;
  clusterStateAddr: string;
  /** Extra module folders, searched after the built-in modules/. */
  modulePath?: string[];
  enabledModules?: string[];
  alwaysOnModules?: string[];
  /** false: start as a standby (only standby parts run) until setActive(true). */
  active?: boolean;
  /**
   * The standby service's replicas, comma-separated. When set, this host
   * follows the MgrMap: it runs its modules only while the map names its
   * manager instance active, and the enabled set comes from the map.
   */
  standbyAddr?: string;
  commandTimeoutMs?: number;
  watchdogMs?: number;
  workerMaxOldGenMb?: number;
  metricsPort?: number;
  maxMessageBytes?: number;
  shutdownGraceMs?: number;
  logLevel?: string;
  tls?: TlsOptions;
  peerTls?: TlsOptions;
  /** Ceph's Python modules (domain/python-modules.ts); unset: none. */
  python?: PythonModulesConfig;
  /** sendCommand's daemon-server while the MgrMap names none (MGR_DAEMON_SERVER_ADDR). */
  daemonServerAddr?: string;
  /** Keyring with this manager's key, mgr.<name> (default ./data/keyring); null: send no key (MGR_AUTH=none). */
  keyringPath?: string | null;
  /** Entity sendCommand authenticates as (default mgr.<name>). */
  commandEntity?: string;
}

export interface ModuleHostHandle {
  address: string;
  port: number;
  service: RunningService;
  host: ModuleHost;
  /** Where the modules' sendCommand goes. */
  commands: CommandSender;
  stop(): Promise<void>;
}

const QUERY_KINDS: Record<string, DaemonQueryKind> = {
  server: DaemonQueryKind.DAEMON_QUERY_KIND_SERVER,
  list_servers: DaemonQueryKind.DAEMON_QUERY_KIND_LIST_SERVERS,
  metadata: DaemonQueryKind.DAEMON_QUERY_KIND_METADATA,
  status: DaemonQueryKind.DAEMON_QUERY_KIND_STATUS,
  perf_schema: DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA,
  counter: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER,
  latest_counter: DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER,
  all_perf_counters: DaemonQueryKind.DAEMON_QUERY_KIND_ALL_PERF_COUNTERS,
  health_metrics: DaemonQueryKind.DAEMON_QUERY_KIND_HEALTH_METRICS,
};

export async function startModuleHost(opts: ModuleHostOptions): Promise<ModuleHostHandle> {
  const channel = openChannel(opts.clusterStateAddr, opts.peerTls);
  const cs = makeClient(ClusterStateServiceDefinition, channel);
  const deadline = () => AbortSignal.timeout(opts.commandTimeoutMs ?? 30000);
  const cluster: ClusterStateApi = {
    async get(what) {
      try {
        const res = await cs.get({ what }, { signal: deadline() });
        return { json: Buffer.from(res.json).toString('utf8'), epoch: res.epoch };
      } catch (e) {
        // Ceph's get() answers None for unknown names and missing data.
        if (/NOT_FOUND|UNAVAILABLE/.test(String((e as Error).message))) return null;
        throw e;
      }
    },
    async queryDaemons(kind, a) {
      const res = await cs.queryDaemons(
        {
          kind: QUERY_KINDS[kind],
          svcType: a.svcType ?? '',
          svcId: a.svcId ?? '',
          hostname: a.hostname ?? '',
          path: a.path ?? '',
          prioLimit: a.prioLimit,
          services: a.services ?? [],
        },
        { signal: deadline() },
      );
      return JSON.parse(Buffer.from(res.json).toString('utf8'));
    },
    async getStore(key) {
      const res = await cs.getStore({ key }, { signal: deadline() });
      return res.found ? res.value : null;
    },
    async setStore(key, value) {
      await cs.setStore(value === null ? { key } : { key, value }, { signal: deadline() });
    },
    async listStore(prefix) {
      return (await cs.listStore({ prefix }, { signal: deadline() })).entries;
    },
    async setHealthChecks(checks) {
      await cs.setHealthChecks({ source: 'module-host', checks }, { signal: deadline() });
    },
    async clusterLog(channel, priority, message) {
      await cs.appendClusterLog(
        { entries: [{ channel, priority, name: `mgr.${opts.name ?? 'x'}`, message, stamp: Date.now() / 1000 }] },
        { signal: deadline() },
      );
    },
  };

  let host!: ModuleHost;
  let commands!: CommandSender;
  const service = await startService(
    {
      name: 'module-host',
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      metricsPort: opts.metricsPort,
      maxMessageBytes: opts.maxMessageBytes,
      shutdownGraceMs: opts.shutdownGraceMs,
      tls: opts.tls,
      logLevel: opts.logLevel,
    },
    (server, { log, registry }) => {
      const notifySeconds = new prom.Histogram({
        name: 'mgr_module_notify_seconds',
        help: 'time from a cluster change to the end of a module notify()',
        labelNames: ['module'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
        registers: [registry],
      });
      const queueDepth = new prom.Gauge({
        name: 'mgr_module_notify_queue_depth',
        help: 'notifications waiting per module',
        labelNames: ['module'],
        registers: [registry],
      });
      new prom.Gauge({
        name: 'mgr_module_failed',
        help: '1 when the module is enabled and failed',
        labelNames: ['module'],
        registers: [registry],
        collect(this: prom.Gauge) {
          for (const m of host.modules()) this.set({ module: m.name }, m.state === 'failed' ? 1 : 0);
        },
      });
      commands = new CommandSender({
        mgrName: opts.name ?? 'x',
        entity: opts.commandEntity,
        keyringPath: opts.keyringPath === null ? null : path.resolve(opts.keyringPath ?? './data/keyring'),
        fallbackAddr: opts.daemonServerAddr,
        tls: opts.peerTls,
        timeoutMs: opts.commandTimeoutMs ?? 30000,
        log: (level, msg, fields) => log[level](msg, fields),
      });
      host = new ModuleHost({
        mgrId: opts.name ?? 'x',
        commands,
        modulePath: [BUILTIN_MODULES, ...(opts.modulePath ?? [])],
        enabled: opts.enabledModules ?? ['hello', 'status', 'selftest'],
        alwaysOn: opts.alwaysOnModules ?? ['status'],
        cluster,
        log: (level, msg, fields) => log[level](msg, fields),
        commandTimeoutMs: opts.commandTimeoutMs ?? 30000,
        watchdogMs: opts.watchdogMs ?? 10000,
        notifyTimeoutMs: opts.commandTimeoutMs ?? 30000,
        workerMaxOldGenMb: opts.workerMaxOldGenMb ?? 512,
        python: opts.python,
        observeNotify: (module, seconds, queued) => {
          notifySeconds.observe({ module }, seconds);
          queueDepth.set({ module }, queued);
        },
      });
      server.add(ModuleHostServiceDefinition, moduleHostHandlers(host));
      return ['ceph.mgr.v1.ModuleHostService'];
    },
  );
  const log = service.log;

  // cluster-state's Watch drives notify() and the get() cache; it resumes
  // after the last sequence it saw when the stream breaks.
  const watchAbort = new AbortController();
  service.shutdownSignal.addEventListener('abort', () => watchAbort.abort());
  void (async () => {
    let after = 0;
    let backoff = 200;
    while (!watchAbort.signal.aborted) {
      try {
        for await (const ev of cs.watch({ afterSeq: after, types: [] }, { signal: watchAbort.signal })) {
          backoff = 200;
          if (ev.kind === WatchEventKind.WATCH_EVENT_KIND_RESYNC) {
            log.info('cluster-state watch resynchronised', { reason: ev.message });
            host.onResync();
            host.refreshHealth();
          } else {
            host.onClusterEvent(ev.type, ev.id);
          }
          after = ev.seq;
        }
      } catch (e) {
        if (watchAbort.signal.aborted) break;
        host.onWatchBroken();
        log.debug('cluster-state watch broke; reconnecting', { error: (e as Error).message, afterSeq: after });
      }
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 2000);
    }
  })();

  await host.discover();
  await host.setActive(opts.active ?? !opts.standbyAddr);
  service.setServing(true, 'modules loaded');
  const sb = opts.standbyAddr ? new StandbyClient(opts.standbyAddr, opts.peerTls) : null;
  if (sb) followMgrMap(sb, host, commands, opts.name ?? 'x', watchAbort.signal, log);

  return {
    address: service.address,
    port: service.port,
    service,
    host,
    commands,
    async stop() {
      watchAbort.abort();
      sb?.close();
      commands.close();
      await host.stopAll();
      await service.stop();
      channel.close();
    },
  };
}

/**
 * Follows the MgrMap: modules run while the map names this manager instance
 * active and the standby service answered within 3/4 of its grace period
 * (the same fence daemon-server applies, see
 * services/daemon-server/domain/activity.ts); the enabled set and the
 * active's module URIs and daemon-server address (for sendCommand) come
 * from the map.
 */
function followMgrMap(
  sb: StandbyClient,
  host: ModuleHost,
  commands: CommandSender,
  name: string,
  signal: AbortSignal,
  log: { info(m: string, f?: object): void; warn(m: string, f?: object): void },
): void {
  let map: MgrMap | undefined;
  let graceMs = 3000;
  let lastAnswerSentAt = -Infinity;
  let lastActive: boolean | null = null;
  const take = (m: MgrMap | undefined) => {
    if (m && (!map || m.epoch >= map.epoch)) map = m;
  };
  const apply = () => {
    if (signal.aborted || !map) return;
    const fresh = Date.now() - lastAnswerSentAt < graceMs * 0.75;
    const active = map.activeName === name && fresh;
    if (active !== lastActive) {
      if (active || lastActive !== null)
        log.info(active ? 'the MgrMap names this manager active' : 'this manager is not active', { name, epoch: map.epoch, active: map.activeName, fresh });
      lastActive = active;
    }
    void host.setEnabledModules([...map.modules, ...map.alwaysOnModules]);
    host.setActiveServices({ ...map.services });
    // sendCommand goes to the active manager's daemon-server (ours, while we are active).
    // Not waiting for `available`: modules start (and may send) before the map says so.
    commands.setActiveAddr(map.activeName ? (map.activeAddrs?.daemonServer ?? '') : '');
    void host.setActive(active);
  };
  sb.watch((m) => {
    take(m);
    apply();
  }, signal);
  void (async () => {
    let failing = false;
    while (!signal.aborted) {
      const sentAt = Date.now();
      try {
        const r = await sb.getMgrMap(2000);
        take(r.map);
        if (r.graceMs > 0) graceMs = r.graceMs;
        lastAnswerSentAt = sentAt;
        if (failing) log.info('standby service reachable again');
        failing = false;
      } catch (e) {
        if (!failing) log.warn('cannot reach the standby service', { error: (e as Error).message });
        failing = true;
      }
      apply();
      await new Promise((r) => setTimeout(r, Math.max(0, 500 - (Date.now() - sentAt))).unref());
    }
  })();
}
