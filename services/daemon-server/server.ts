// startDaemonServer: loads (or creates) the keyring, connects to
// cluster-state, module-host and standby, starts ingest and serves
// DaemonServerService. SERVING once cluster-state answers.
import * as path from 'path';
import { Status } from 'nice-grpc';
import * as prom from 'prom-client';
import { startService, RunningService, TlsOptions } from '../../lib/server';
import { openChannel, makeClient } from '../../lib/client';
import { ClusterStateServiceDefinition } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import { DaemonServerServed } from '../../lib/session-wire';
import { asBytes, normalized } from '../../lib/raw-methods';
import { encodeIngestPgStats } from './domain/forward';
import { ModuleHostServiceDefinition } from '../../lib/gen/ceph/mgr/v1/module_host';
import type { ModuleInfo } from '../../lib/gen/ceph/mgr/v1/common';
import { ModuleState } from '../../lib/gen/ceph/mgr/v1/module_host';
import { StandbyClient } from '../../lib/standby-client';
import { Activity } from './domain/activity';
import { loadOrCreateKeyring } from './domain/auth';
import { Ingest } from './domain/ingest';
import { MgrLocalConfig, StandbyApi } from './domain/native';
import { Authenticator, DaemonServerHandlers, ModuleHostApi } from './grpc';
import { ClusterStateMonitors } from './domain/monitor/monitors';
import { MonitorServiceClient } from './monitor-client';

export interface DaemonServerOptions {
  host?: string;
  port?: number;
  /** This manager instance's name (MGR_NAME). */
  name?: string;
  clusterStateAddr: string;
  /** "" : no module-host (module commands answer "No handler found"). */
  moduleHostAddr?: string;
  /**
   * The standby service's replicas, comma-separated. "" : no standby: this
   * instance is always active and mgr map commands answer -95.
   */
  standbyAddr?: string;
  /**
   * The monitors' command endpoint (the simulator's MonitorService), where
   * the monitors' write commands go. "" : none (they answer -95).
   */
  monAddr?: string;
  /** The address published in the MgrMap for clients (default: the listening address). */
  advertiseAddr?: string;
  /** The module-host address published in the MgrMap (default: moduleHostAddr). */
  moduleHostAdvertiseAddr?: string;
  /** Beacon period until the authority says otherwise (ms). */
  beaconIntervalMs?: number;
  keyringPath?: string;
  /** false only for development (MGR_AUTH=none). */
  auth?: boolean;
  statsPeriod?: number;
  statsThreshold?: number;
  commandTimeoutMs?: number;
  maxInbufBytes?: number;
  flushIntervalMs?: number;
  maxPendingPgStats?: number;
  moduleCommandsTtlMs?: number;
  metricsPort?: number;
  maxMessageBytes?: number;
  shutdownGraceMs?: number;
  logLevel?: string;
  tls?: TlsOptions;
  /** TLS settings for outgoing calls to peers. */
  peerTls?: TlsOptions;
}

export interface DaemonServerHandle {
  address: string;
  port: number;
  service: RunningService;
  handlers: DaemonServerHandlers;
  ingest: Ingest;
  keyringPath: string;
  /** This start's gid in the MgrMap. */
  gid: number;
  /** Whether this instance is acting as the active manager now. */
  isActive(): boolean;
  stop(): Promise<void>;
}

export async function startDaemonServer(opts: DaemonServerOptions): Promise<DaemonServerHandle> {
  const name = opts.name ?? 'x';
  const keyringPath = path.resolve(opts.keyringPath ?? './data/keyring');
  const settings = { period: opts.statsPeriod ?? 5, threshold: opts.statsThreshold ?? 5 };
  if (!(settings.period >= 0)) throw new Error(`stats period must be 0 or more seconds, got ${settings.period}`);
  const commandTimeoutMs = opts.commandTimeoutMs ?? 30000;

  const csChannel = openChannel(opts.clusterStateAddr, opts.peerTls);
  const cs = makeClient(ClusterStateServiceDefinition, csChannel);
  // pg stats go on as the daemons encoded them (domain/forward.ts)
  const csDef = normalized(ClusterStateServiceDefinition);
  const csForward = makeClient({ ...csDef, ingestPgStats: { ...csDef.ingestPgStats, requestSerialize: asBytes } }, csChannel);
  const mhChannel = opts.moduleHostAddr ? openChannel(opts.moduleHostAddr, opts.peerTls) : null;
  const mh = mhChannel ? makeClient(ModuleHostServiceDefinition, mhChannel) : null;
  const sb = opts.standbyAddr ? new StandbyClient(opts.standbyAddr, opts.peerTls) : null;
  // A number unique to this start (Ceph's gid): later starts get larger
  // ones, so the longest-running standby is promoted first.
  const gid = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  const activity = sb ? new Activity(name, gid) : null;
  const peerTimeout = () => AbortSignal.timeout(commandTimeoutMs);

  let handlers!: DaemonServerHandlers;
  let ingest!: Ingest;
  let monClient: MonitorServiceClient | null = null;
  const service = await startService(
    {
      name: 'daemon-server',
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      metricsPort: opts.metricsPort,
      maxMessageBytes: opts.maxMessageBytes,
      shutdownGraceMs: opts.shutdownGraceMs,
      tls: opts.tls,
      logLevel: opts.logLevel,
    },
    (server, { log, registry, shutdownSignal }) => {
      let keyring = null;
      if (opts.auth !== false) {
        let k: ReturnType<typeof loadOrCreateKeyring>;
        try {
          k = loadOrCreateKeyring(keyringPath, name);
        } catch (e) {
          // A read-only keyring (a mounted Secret) without mgr.<name>: serve
          // with it as it is; this manager's modules cannot send commands.
          if (!['EACCES', 'EROFS', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
          log.warn(
            `cannot add mgr.${name} to a read-only keyring: this manager's modules cannot send commands unless module-host uses another entity (MGR_COMMAND_ENTITY)`,
            { path: keyringPath },
          );
          k = loadOrCreateKeyring(keyringPath);
        }
        keyring = k.entries;
        if (k.created) log.info(`created keyring with client.admin (allow *), client.ro (allow r) and mgr.${name} (allow *)`, { path: keyringPath });
        else log.info('keyring loaded', { path: keyringPath, entities: [...k.entries.keys()], added: k.added });
      } else {
        log.warn('authentication is OFF (MGR_AUTH=none): anyone who can reach this port has full access');
      }
      const coalesced = new prom.Counter({
        name: 'mgr_daemon_server_reports_coalesced_total',
        help: 'counter snapshots replaced by a newer one before they were forwarded',
        registers: [registry],
      });
      const forwarded = new prom.Counter({
        name: 'mgr_daemon_server_forwarded_total',
        help: 'entries cluster-state applied, by kind',
        labelNames: ['kind'],
        registers: [registry],
      });
      const upstreamRejected = new prom.Counter({
        name: 'mgr_daemon_server_upstream_rejected_total',
        help: 'entries cluster-state refused, by kind',
        labelNames: ['kind'],
        registers: [registry],
      });
      const flushFailed = new prom.Counter({
        name: 'mgr_daemon_server_flush_failures_total',
        help: 'batches that failed to reach cluster-state (retried)',
        registers: [registry],
      });
      new prom.Gauge({
        name: 'mgr_daemon_server_pending_pg_stats',
        help: 'pg-stats entries waiting to be forwarded',
        registers: [registry],
        collect(this: prom.Gauge) {
          this.set(ingest.pendingPgStats);
        },
      });
      ingest = new Ingest({
        sink: {
          reportDaemons: (reports) => cs.reportDaemons({ reports }, { signal: peerTimeout() }),
          ingestPgStats: (stats) => csForward.ingestPgStats(encodeIngestPgStats(stats), { signal: peerTimeout() }),
          setDaemonsStale: async (stale, fresh) => {
            await cs.setDaemonsStale({ stale, fresh }, { signal: peerTimeout() });
          },
        },
        flushIntervalMs: opts.flushIntervalMs ?? 150,
        flushAtPending: 512,
        maxPendingPgStats: opts.maxPendingPgStats ?? 1024,
        counters: {
          coalesced: (n) => coalesced.inc(n),
          forwarded: (kind, n) => forwarded.inc({ kind }, n),
          rejectedUpstream: (kind, n) => upstreamRejected.inc({ kind }, n),
          flushFailed: () => flushFailed.inc(),
        },
        onWarn: (msg, fields) => log.warn(msg, fields),
      });

      const config: MgrLocalConfig = {
        show: () => ({ mgr_stats_period: String(settings.period), mgr_stats_threshold: String(settings.threshold) }),
        set: (key, value) => {
          if (key !== 'mgr_stats_period' && key !== 'mgr_stats_threshold') {
            return `unrecognized config option '${key}' (mgr-local options: mgr_stats_period, mgr_stats_threshold)`;
          }
          if (!/^\d+(\.\d+)?$/.test(value.trim())) return `${key}: '${value}' is not a non-negative number`;
          const n = Number(value);
          if (key === 'mgr_stats_threshold' && (!Number.isInteger(n) || n > 11)) return `${key}: '${value}' must be a whole number 0..11`;
          if (key === 'mgr_stats_period') settings.period = n;
          else settings.threshold = n;
          log.info('config changed', { key, value: n });
          handlers.pushConfigure();
          return null;
        },
      };

      const standby: StandbyApi | null = sb && {
        getMgrMap: async () => (await sb.getMgrMap(commandTimeoutMs)).map,
        failMgr: async (who) => sb.call((c, signal) => c.failMgr({ who }, { signal }), commandTimeoutMs),
        enableModule: async (module, force) => sb.call((c, signal) => c.enableModule({ module, force }, { signal }), commandTimeoutMs),
        disableModule: async (module) => sb.call((c, signal) => c.disableModule({ module }, { signal }), commandTimeoutMs),
      };
      const moduleHost: ModuleHostApi | null = mh && {
        handleCommand: (req, timeoutMs) => mh.handleCommand({ ...req, inbuf: Buffer.from(req.inbuf) }, { signal: AbortSignal.timeout(timeoutMs) }),
        listCommands: async () => (await mh.listCommands({}, { signal: AbortSignal.timeout(5000) })).commands,
        listModules: async () => (await mh.listModules({}, { signal: AbortSignal.timeout(5000) })).modules,
      };

      const getView = async (what: string) => {
        const res = await cs.get({ what }, { signal: peerTimeout() });
        return JSON.parse(Buffer.from(res.json).toString('utf8'));
      };
      // The monitors' writes go to the simulator's monitor endpoint as this manager.
      if (opts.monAddr) {
        const own = keyring?.get(`mgr.${name}`);
        monClient = new MonitorServiceClient(opts.monAddr, own ? { entity: own.entity, key: own.key } : null, commandTimeoutMs, opts.peerTls);
        log.info('monitor commands that change the cluster go to the monitor endpoint', { monitor: opts.monAddr });
      }
      const monitors = new ClusterStateMonitors({
        get: getView,
        mgrMap: async () => (standby ? standby.getMgrMap().catch(() => null) : null),
        writes: monClient,
      });

      handlers = new DaemonServerHandlers({
        log,
        registry,
        auth: new Authenticator(keyring, log),
        ingest,
        shutdownSignal,
        getView,
        appendAudit: (message) => {
          cs.appendClusterLog(
            { entries: [{ channel: 'audit', priority: 'WRN', name: `mgr.${name}`, message, stamp: Date.now() / 1000 }] },
            { signal: peerTimeout() },
          ).catch((e) => log.debug('audit entry not appended to the cluster log', { error: (e as Error).message }));
        },
        moduleHost,
        standby,
        monitors,
        config,
        statsPeriod: () => settings.period,
        statsThreshold: () => settings.threshold,
        commandTimeoutMs,
        maxInbufBytes: opts.maxInbufBytes ?? 4 * 1024 * 1024,
        pgBackpressureMs: Math.max(1000, settings.period * 2000),
        moduleCommandsTtlMs: opts.moduleCommandsTtlMs ?? 2000,
        notActive: activity ? () => activity.whyNotActive() : undefined,
      });
      server.add(DaemonServerServed, handlers.implementation());
      return ['ceph.mgr.v1.DaemonServerService'];
    },
  );
  const log = service.log;
  ingest.start();

  // Staleness: a daemon silent for 3 report periods is stale.
  const staleTimer = setInterval(() => {
    if (settings.period <= 0) return;
    ingest.checkStale(settings.period * 3000).then(
      (c) => {
        if (c.stale.length) log.warn('daemons stale', { daemons: c.stale, periods: 3 });
        if (c.fresh.length) log.info('daemons fresh again', { daemons: c.fresh });
      },
      (e) => log.debug('cannot mark daemons stale yet', { error: (e as Error).message }),
    );
  }, 1000);
  staleTimer.unref();

  // SERVING once cluster-state answers; probe until then.
  let probing = true;
  let clusterStateReady = false;
  const probe = async () => {
    while (probing) {
      try {
        await cs.get({ what: 'health' }, { signal: AbortSignal.timeout(2000) });
        clusterStateReady = true;
        service.setServing(true);
        updateActivity();
        return;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code !== undefined && code !== Status.UNAVAILABLE && code !== Status.DEADLINE_EXCEEDED) {
          clusterStateReady = true;
          service.setServing(true); // it answered, even if with an error
          updateActivity();
          return;
        }
        service.setServing(false, `cluster-state at ${opts.clusterStateAddr} is not reachable yet`);
        await new Promise((r) => setTimeout(r, 500).unref());
      }
    }
  };

  // ------------------------------------------------------------ activation
  // With a standby service, this instance beacons and acts only while the
  // MgrMap names it active (see domain/activity.ts for the fencing). The
  // named gRPC health of DaemonServerService follows that, so a Kubernetes
  // readiness probe on it routes the mgr Service to the active only.
  const SERVICE_NAME = 'ceph.mgr.v1.DaemonServerService';
  let wasActive = !activity; // without a standby service: always active
  const actingActive = () => !activity || (activity.isActive() && clusterStateReady && !stopping);
  const updateActivity = () => {
    if (!activity) return;
    const active = actingActive();
    if (service.health.getStatus() === 'healthy') service.health.setStatus(active ? 'healthy' : 'unhealthy', SERVICE_NAME);
    if (active === wasActive) return;
    wasActive = active;
    const m = activity.current();
    if (active) log.info('this manager is now active', { name, gid, epoch: m?.epoch });
    else {
      log.warn('this manager is not active', { name, gid, epoch: m?.epoch, why: activity.whyNotActive() });
      handlers.endAllSessions(activity.whyNotActive() ?? 'no longer active');
    }
  };
  let stopping = false;
  const beaconAbort = new AbortController();
  if (sb && activity) {
    let intervalMs = opts.beaconIntervalMs ?? 500;
    const ownAddr = opts.advertiseAddr || service.address;
    const mhAddr = opts.moduleHostAdvertiseAddr || opts.moduleHostAddr || '';
    let lastBeaconError = '';
    const beaconOnce = async () => {
      // What our module-host can run, and whether it has loaded.
      let modulesLoaded = !mh;
      let availableModules: ModuleInfo[] = [];
      let services: Record<string, string> = {};
      if (mh) {
        try {
          const r = await mh.listModules({}, { signal: AbortSignal.timeout(Math.max(intervalMs, 1000)) });
          // As a standby: loaded. Named active: every enabled module has
          // left its standby part and started (or failed), as Ceph's active
          // only says available once its modules are up. Clients wait for
          // `available`, so nobody meets a half-started manager.
          const starting = r.modules.some((x) => x.enabled && (x.state === ModuleState.MODULE_STATE_STARTING || x.state === ModuleState.MODULE_STATE_STANDBY));
          modulesLoaded = r.loaded && (!activity.namedActive() || !starting);
          availableModules = r.modules.map((x) => x.info!).filter(Boolean);
          services = r.services;
        } catch {
          modulesLoaded = false;
        }
      }
      const sentAt = Date.now();
      try {
        const r = await sb.call(
          (c, signal) =>
            c.beacon(
              {
                name,
                gid,
                addrs: { daemonServer: ownAddr, moduleHost: mhAddr },
                available: clusterStateReady && modulesLoaded && !stopping,
                availableModules,
                services,
                metadata: { pid: String(process.pid) },
              },
              { signal },
            ),
          // Generous: safety comes from measuring the fence from the send
          // time, so a slow answer only delays, never endangers.
          Math.max(intervalMs * 3, 1500),
        );
        activity.beaconAnswered(sentAt, r.mgrMap, r.graceMs);
        if (r.beaconIntervalMs > 0) intervalMs = r.beaconIntervalMs;
        if (lastBeaconError) log.info('standby service reachable again');
        lastBeaconError = '';
      } catch (e) {
        const msg = (e as Error).message;
        if (msg !== lastBeaconError) log.warn('beacon failed', { error: msg, standby: sb.addresses });
        lastBeaconError = msg;
      }
      updateActivity();
    };
    void (async () => {
      while (!beaconAbort.signal.aborted) {
        const t = Date.now();
        await beaconOnce();
        await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - t))).unref());
      }
    })();
    // The watch brings a failover or `mgr fail` here at once, not at the next beacon.
    sb.watch((m) => {
      activity.takeMap(m);
      updateActivity();
    }, beaconAbort.signal);
    const fenceTimer = setInterval(updateActivity, 100);
    fenceTimer.unref();
    beaconAbort.signal.addEventListener('abort', () => clearInterval(fenceTimer));
  }
  void probe();

  // Graceful hand-over: the active resigns first, so a standby takes over
  // now rather than after the grace period.
  service.onShutdown(async () => {
    stopping = true;
    if (sb && activity?.namedActive()) {
      try {
        await sb.call((c, signal) => c.resign({ name, gid }, { signal }), 2000);
        log.info('resigned as active manager');
      } catch (e) {
        log.warn('could not resign; the standby service will fail this manager after its grace period', { error: (e as Error).message });
      }
    }
    beaconAbort.abort();
    updateActivity();
  });

  service.onShutdown(async () => {
    probing = false;
    clearInterval(staleTimer);
    handlers.endAllSessions('server shutting down');
    await ingest.stop();
  });

  return {
    address: service.address,
    port: service.port,
    service,
    handlers,
    ingest,
    keyringPath,
    gid,
    isActive: actingActive,
    stop: async () => {
      await service.stop();
      csChannel.close();
      mhChannel?.close();
      sb?.close();
      monClient?.close();
    },
  };
}
