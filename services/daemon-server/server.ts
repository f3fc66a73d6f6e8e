// startDaemonServer: wiring only. Loads (or creates) the keyring, connects
// to cluster-state, module-host and standby (peers.ts), builds the domain
// (sessions, commands, ingest, the manager's role and beacon) and serves
// DaemonServerService. SERVING once cluster-state answers.
import * as path from 'path';
import * as prom from 'prom-client';
import { startService, RunningService, TlsOptions } from '../../lib/server';
import { connect } from '../../lib/client';
import { DaemonServerServed } from '../../lib/session-wire';
import { ModuleHostServiceDefinition } from '../../lib/gen/ceph/mgr/v1/module_host';
import { StandbyClient } from '../../lib/standby-client';
import { Activity } from './domain/activity';
import { Authenticator, loadManagerKeyring } from './domain/auth';
import { Beacon } from './domain/beacon';
import { CommandPath } from './domain/command-path';
import { ClusterStateMonitors } from './domain/monitor/monitors';
import { Ingest } from './domain/ingest';
import { LocalConfig } from './domain/local-config';
import { waitForClusterState } from './domain/readiness';
import { ManagerRole } from './domain/role';
import { Sessions } from './domain/sessions';
import { startStaleChecks } from './domain/staleness';
import { daemonServerHandlers } from './grpc';
import { MonitorServiceClient } from './monitor-client';
import { ClusterStateForwarding, clusterStatePeer, moduleHostPeer, standbyPeer } from './peers';

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
  sessions: Sessions;
  commands: CommandPath;
  ingest: Ingest;
  keyringPath: string;
  /** This start's gid in the MgrMap. */
  gid: number;
  /** Whether this instance is acting as the active manager now. */
  isActive(): boolean;
  stop(): Promise<void>;
}

const SERVICE_NAME = 'ceph.mgr.v1.DaemonServerService';

export async function startDaemonServer(opts: DaemonServerOptions): Promise<DaemonServerHandle> {
  const name = opts.name ?? 'x';
  const keyringPath = path.resolve(opts.keyringPath ?? './data/keyring');
  const commandTimeoutMs = opts.commandTimeoutMs ?? 30000;

  const csPeer = connect(ClusterStateForwarding, opts.clusterStateAddr, opts.peerTls, { deadlineMs: commandTimeoutMs });
  const mhPeer = opts.moduleHostAddr ? connect(ModuleHostServiceDefinition, opts.moduleHostAddr, opts.peerTls) : null;
  const sb = opts.standbyAddr ? new StandbyClient(opts.standbyAddr, opts.peerTls) : null;
  const cs = clusterStatePeer(csPeer.client, name);
  const moduleHost = mhPeer ? moduleHostPeer(mhPeer.client) : null;
  const standby = sb ? standbyPeer(sb, commandTimeoutMs) : null;
  // A number unique to this start (Ceph's gid): later starts get larger
  // ones, so the longest-running standby is promoted first.
  const gid = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  const activity = sb ? new Activity(name, gid) : null;

  let sessions!: Sessions;
  let commands!: CommandPath;
  let monClient: MonitorServiceClient | null = null;
  let ingest!: Ingest;
  let config!: LocalConfig;
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
      if (opts.auth !== false) keyring = loadManagerKeyring(keyringPath, name, log);
      else log.warn('authentication is OFF (MGR_AUTH=none): anyone who can reach this port has full access');
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
        sink: cs.sink,
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

      config = new LocalConfig(opts.statsPeriod ?? 5, opts.statsThreshold ?? 5, log, () => sessions.pushConfigure());
      sessions = new Sessions({
        log,
        registry,
        ingest,
        shutdownSignal,
        statsPeriod: () => config.period,
        statsThreshold: () => config.threshold,
        pgBackpressureMs: Math.max(1000, config.period * 2000),
      });
      // The monitors' writes go to the simulator's monitor endpoint as this manager.
      if (opts.monAddr) {
        const own = keyring?.get(`mgr.${name}`);
        monClient = new MonitorServiceClient(opts.monAddr, own ? { entity: own.entity, key: own.key } : null, commandTimeoutMs, opts.peerTls);
        log.info('monitor commands that change the cluster go to the monitor endpoint', { monitor: opts.monAddr });
      }
      const monitors = new ClusterStateMonitors({
        get: (what) => cs.getView(what),
        mgrMap: async () => (standby ? standby.getMgrMap().catch(() => null) : null),
        writes: monClient,
      });
      commands = new CommandPath({
        log,
        registry,
        getView: (what) => cs.getView(what),
        appendAudit: (message, priority) => {
          cs.appendAudit(message, priority).catch((e) => log.debug('audit entry not appended to the cluster log', { error: (e as Error).message }));
        },
        moduleHost,
        standby,
        monitors,
        scrubOsds: (osds, how) => sessions.scrubOsds(osds, how),
        config,
        commandTimeoutMs,
        maxInbufBytes: opts.maxInbufBytes ?? 4 * 1024 * 1024,
        moduleCommandsTtlMs: opts.moduleCommandsTtlMs ?? 2000,
      });
      server.add(
        DaemonServerServed,
        daemonServerHandlers({ auth: new Authenticator(keyring, log), sessions, commands, notActive: activity ? () => activity.whyNotActive() : undefined }),
      );
      return [SERVICE_NAME];
    },
  );
  const log = service.log;
  // The named health status of DaemonServerService follows the role, so a
  // Kubernetes readiness probe on it routes the mgr Service to the active only.
  const role = new ManagerRole(activity, {
    log,
    publish: (active) => {
      if (service.health.getStatus() === 'healthy') service.health.setStatus(active ? 'healthy' : 'unhealthy', SERVICE_NAME);
    },
    deactivated: (why) => sessions.endAllSessions(why),
  });
  ingest.start();
  const stopStaleChecks = startStaleChecks(ingest, () => config.period, log);

  // With a standby service, this instance beacons and acts only while the
  // MgrMap names it active (domain/activity.ts has the fencing, role.ts the rest).
  const beacon =
    activity && standby
      ? new Beacon({
          activity,
          role,
          standby,
          moduleHost,
          addrs: { daemonServer: opts.advertiseAddr || service.address, moduleHost: opts.moduleHostAdvertiseAddr || opts.moduleHostAddr || '' },
          intervalMs: opts.beaconIntervalMs ?? 500,
          log,
        })
      : null;
  beacon?.start();

  const probing = new AbortController();
  void waitForClusterState(
    {
      probe: () => cs.probe(),
      onReady: () => {
        service.setServing(true);
        role.clusterStateAnswered();
      },
      onWaiting: () => service.setServing(false, `cluster-state at ${opts.clusterStateAddr} is not reachable yet`),
    },
    probing.signal,
  );

  // Graceful hand-over: the active resigns first, so a standby takes over
  // now rather than after the grace period.
  service.onShutdown(async () => {
    role.markStopping();
    await beacon?.resign();
    beacon?.stop();
    role.update();
  });

  service.onShutdown(async () => {
    probing.abort();
    stopStaleChecks();
    sessions.endAllSessions('server shutting down');
    await ingest.stop();
  });

  return {
    address: service.address,
    port: service.port,
    service,
    sessions,
    commands,
    ingest,
    keyringPath,
    gid,
    isActive: () => role.isActing(),
    stop: async () => {
      await service.stop();
      csPeer.close();
      mhPeer?.close();
      sb?.close();
      monClient?.close();
    },
  };
}
