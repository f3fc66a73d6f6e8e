// startDaemonServer: wiring only. Loads (or creates) the keyring, connects
// to cluster-state, module-host and standby (peers.ts), builds the domain
// (sessions, commands, ingest, the manager's role and beacon) and serves
// DaemonServerService. SERVING once cluster-state answers. In front of a
// real Ceph cluster (opts.ceph) it also beacons to the monitors as
// mgr.<name> (ceph/manager.ts), whose MgrMap then decides whether it is
// active, and opens the msgr2 front door (msgr2/) for Ceph's daemons and CLI.
import * as path from 'path';
import * as prom from 'prom-client';
import { startService, RunningService, TlsOptions } from '../../lib/server';
import { keyringCredentials } from '../../lib/auth/keys';
import { DaemonServerServed } from '../../lib/session-wire';
import { forNiceGrpc } from '../../lib/raw-methods';
import { connect, makeClient } from '../../lib/client';
import { HealthDefinition } from 'nice-grpc-server-health';
import { ModuleHostServiceDefinition } from '../../lib/gen/ceph/mgr/v1/module_host';
import { StandbyClient } from '../../lib/standby-client';
import { Activity } from './domain/activity';
import { AuditLog } from './domain/audit-log';
import { Authenticator, loadManagerKeyring } from './domain/auth';
import { Beacon, moduleHostState } from './domain/beacon';
import type { CephManagerSession } from './domain/ceph-session';
import { advertisedCommands } from './domain/commands';
import { CommandPath } from './domain/command-path';
import { ClusterStateMonitors } from './domain/monitor/monitors';
import { Ingest } from './domain/ingest';
import { LocalConfig } from './domain/local-config';
import { ModuleHostWatch } from './domain/module-host-watch';
import { waitForClusterState } from './domain/readiness';
import { ManagerRole } from './domain/role';
import { Sessions } from './domain/sessions';
import { startStaleChecks } from './domain/staleness';
import { daemonServerHandlers, sessionStream } from './grpc';
import { daemonServerRules } from './rules';
import { MonitorServiceClient } from './monitor-client';
import { ClusterStateForwarding, clusterStatePeer, commandStreamOpener, moduleHostHealthPeer, moduleHostPeer, peerFailure, standbyPeer } from './peers';
import { CommandStream } from './command-stream';
import { commandSocketOpener } from './command-socket';
import { managerMetadata } from './ceph/beacon';
import { CephManager } from './ceph/manager';
import type { Msgr2FrontDoor } from './msgr2/front-door';
import { startFrontDoor } from './msgr2/start';
import { CounterLimits, DEFAULT_COUNTER_LIMITS, startCounterLimitHealth } from './domain/counter-limits';

export interface DaemonServerOptions {
  host?: string;
  port?: number;
  /** This manager instance's name (MGR_NAME). */
  name?: string;
  clusterStateAddr: string;
  /** "" : no module-host (module commands answer "No handler found"). */
  moduleHostAddr?: string;
  /**
   * module-host's command socket (MGR_MODULE_HOST_COMMAND_SOCKET: a
   * Unix-domain socket path, module-host on the same host): module commands
   * go there instead of the gRPC CommandStream (command-socket.ts).
   * Unset: the gRPC stream. Either way HandleCommand while it is not open.
   */
  moduleHostCommandSocket?: string;
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
  /**
   * This manager's session with a real Ceph cluster's monitors: with it,
   * the msgr2 front door (msgr2/) serves Ceph's daemons and CLI. A
   * CephManager (ceph/open.ts: the mgr.<name> session and its beacon) also
   * makes the monitors' MgrMap decide whether this instance is active,
   * instead of the standby service.
   */
  ceph?: CephManagerSession;
  /** The msgr2 front door's port (MGR_MSGR2_PORT): 0 a free one, -1 none. */
  msgr2Port?: number;
  /** Most msgr2 connections at once (MGR_MSGR2_MAX_CONNECTIONS). */
  msgr2MaxConnections?: number;
  /** Largest msgr2 message (MGR_MSGR2_MAX_MESSAGE_BYTES). */
  msgr2MaxMessageBytes?: number;
  /** Limits on declared counters, both doors (MGR_MAX_COUNTERS, MGR_MAX_COUNTERS_TOTAL, MGR_MAX_COUNTER_NAME_BYTES; domain/counter-limits.ts). */
  maxCounters?: number;
  maxCountersTotal?: number;
  maxCounterNameBytes?: number;
}

export interface DaemonServerHandle {
  address: string;
  port: number;
  service: RunningService;
  sessions: Sessions;
  commands: CommandPath;
  ingest: Ingest;
  keyringPath: string;
  /** This start's gid in the MgrMap (with ceph: the global id of its monitor session). */
  readonly gid: number;
  /** Whether this instance is acting as the active manager now. */
  isActive(): boolean;
  /** The msgr2 front door, when this manager runs in front of Ceph (opts.ceph). */
  msgr2?: Msgr2FrontDoor;
  /** The command stream to module-host (null without one): whether it is open now. */
  commandStream: CommandStream | null;
  stop(): Promise<void>;
}

const SERVICE_NAME = 'ceph.mgr.v1.DaemonServerService';

export async function startDaemonServer(opts: DaemonServerOptions): Promise<DaemonServerHandle> {
  const name = opts.name ?? 'x';
  const keyringPath = path.resolve(opts.keyringPath ?? './data/keyring');
  const commandTimeoutMs = opts.commandTimeoutMs ?? 30000;

  // This manager calls the other services as mgr.<name> (made in the keyring below, before any call).
  const credentials = opts.auth === false ? undefined : keyringCredentials(keyringPath, `mgr.${name}`);
  const csPeer = connect(ClusterStateForwarding, opts.clusterStateAddr, opts.peerTls, { deadlineMs: commandTimeoutMs, credentials });
  const mhPeer = opts.moduleHostAddr ? connect(ModuleHostServiceDefinition, opts.moduleHostAddr, opts.peerTls, { credentials }) : null;
  const sb = opts.standbyAddr ? new StandbyClient(opts.standbyAddr, opts.peerTls, credentials) : null;
  const cs = clusterStatePeer(csPeer.client, name);
  // Audit lines go to the cluster log in batches, after the commands' answers.
  const audit = new AuditLog({
    send: (entries) => cs.appendAudit(entries),
    onLost: (count, reason) => log.debug('audit entries not appended to the cluster log', { count, error: reason }),
  });
  // Module commands go over one long-lived stream while it is open (command-stream.ts).
  const openCommands = opts.moduleHostCommandSocket
    ? commandSocketOpener(opts.moduleHostCommandSocket, credentials)
    : mhPeer && commandStreamOpener(mhPeer.channel, credentials);
  const commandStream = mhPeer && openCommands ? new CommandStream(openCommands, { failure: peerFailure }) : null;
  const moduleHost = mhPeer ? moduleHostPeer(mhPeer.client, commandStream ?? undefined) : null;
  const standby = sb ? standbyPeer(sb, commandTimeoutMs) : null;
  // A number unique to this start (Ceph's gid): later starts get larger
  // ones, so the longest-running standby is promoted first. With a
  // CephManager the monitors' map decides (ceph/fence.ts) and the gid is theirs.
  let gid = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  const manager = opts.ceph instanceof CephManager ? opts.ceph : null;
  const standbyActivity = sb && !manager ? new Activity(name, gid) : null;
  const activity = manager?.fence ?? standbyActivity;
  const counterLimits = new CounterLimits({
    perSession: opts.maxCounters ?? DEFAULT_COUNTER_LIMITS.perSession,
    total: opts.maxCountersTotal ?? DEFAULT_COUNTER_LIMITS.total,
    nameBytes: opts.maxCounterNameBytes ?? DEFAULT_COUNTER_LIMITS.nameBytes,
  });
  let msgr2: Msgr2FrontDoor | undefined;

  let sessions!: Sessions;
  let commands!: CommandPath;
  let monClient: MonitorServiceClient | null = null;
  let ingest!: Ingest;
  let config!: LocalConfig;
  // Who may be asked for commands: the map and fence until the role below
  // exists, then the role (which also refuses while stopping).
  const commandGate = { whyNot: (): string | null => activity?.whyNotActive() ?? null };
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
      auth:
        opts.auth === false ? null : { keyringPath, tables: { [SERVICE_NAME]: daemonServerRules }, audiences: opts.advertiseAddr ? [opts.advertiseAddr] : [] },
    },
    (server, { log, registry, shutdownSignal, serveRawStream }) => {
      if (opts.auth !== false) loadManagerKeyring(keyringPath, name, log);
      const coalesced = new prom.Counter({
        name: 'mgr_daemon_server_reports_coalesced_total',
        help: 'counter snapshots replaced by a newer one before they were forwarded',
        registers: [registry],
      });
      const pgStatsReplaced = new prom.Counter({
        name: 'mgr_daemon_server_pg_stats_replaced_total',
        help: "OSDs' pg stats replaced by newer ones from the same OSD before they were forwarded",
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
        maxPendingPgStats: opts.maxPendingPgStats ?? 16384,
        counters: {
          coalesced: (n) => coalesced.inc(n),
          pgStatsReplaced: (n) => pgStatsReplaced.inc(n),
          forwarded: (kind, n) => forwarded.inc({ kind }, n),
          rejectedUpstream: (kind, n) => upstreamRejected.inc({ kind }, n),
          flushFailed: () => flushFailed.inc(),
        },
        // cluster-state restarted: both doors' sessions, declared again on the daemons' behalf
        redeclare: () => [...sessions.redeclare(), ...(msgr2?.redeclare() ?? [])],
        onWarn: (msg, fields) => log.warn(msg, fields),
      });

      config = new LocalConfig(opts.statsPeriod ?? 5, opts.statsThreshold ?? 5, log, () => {
        sessions.pushConfigure();
        msgr2?.pushConfigure();
      });
      sessions = new Sessions({
        log,
        registry,
        ingest,
        shutdownSignal,
        statsPeriod: () => config.period,
        statsThreshold: () => config.threshold,
        pgBackpressureMs: Math.max(1000, config.period * 2000),
        counterLimits,
      });
      // The monitors' writes go to the simulator's monitor endpoint as this manager.
      if (opts.monAddr) {
        monClient = new MonitorServiceClient(opts.monAddr, credentials ?? null, commandTimeoutMs, opts.peerTls);
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
        appendAudit: (message, priority) => audit.append(message, priority),
        moduleHost,
        standby,
        monitors,
        scrubOsds: (osds, how) => sessions.scrubOsds(osds, how),
        config,
        commandTimeoutMs,
        maxInbufBytes: opts.maxInbufBytes ?? 4 * 1024 * 1024,
        moduleCommandsTtlMs: opts.moduleCommandsTtlMs ?? 2000,
      });
      const handlerDeps = {
        auth: new Authenticator(opts.auth !== false),
        sessions,
        commands,
        notActive: activity ? () => commandGate.whyNot() : undefined,
      };
      server.add(forNiceGrpc(DaemonServerServed), daemonServerHandlers(handlerDeps));
      // one Session stream per daemon: served on grpc-js's call, not through nice-grpc
      serveRawStream(`/${SERVICE_NAME}/Session`, sessionStream(handlerDeps));
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
    deactivated: (why) => {
      sessions.endAllSessions(why);
      msgr2?.endAll(why);
    },
  });
  commandGate.whyNot = () => role.whyNotCommanding();
  ingest.start();
  const stopStaleChecks = startStaleChecks(ingest, () => config.period, log);
  const stopLimitHealth = startCounterLimitHealth(counterLimits, { push: (checks) => cs.setHealthChecks(checks), active: () => role.isActing(), log });

  // Is our module-host up? Its health stream ends at once when it dies.
  const watching = new AbortController();
  const mhWatch = mhPeer
    ? new ModuleHostWatch({
        watch: moduleHostHealthPeer(makeClient(HealthDefinition, mhPeer.channel)),
        onChange: (state, why) => {
          if (state === 'up') {
            log.info('module-host is up', { moduleHost: opts.moduleHostAddr });
            commandStream?.wake();
            // The modules' command table, read now (a standby too): a promotion's first command finds
            // its module without first asking a module-host busy starting them.
            void commands.allCommands().catch(() => undefined);
          } else log.warn('module-host is not up', { moduleHost: opts.moduleHostAddr, state, why });
          beacon?.moduleHostChanged();
          manager?.changed();
        },
      })
    : null;

  // With a standby service, this instance beacons and acts only while the
  // MgrMap names it active (domain/activity.ts has the fencing, role.ts the rest).
  const beacon =
    standbyActivity && standby
      ? new Beacon({
          activity: standbyActivity,
          role,
          standby,
          moduleHost,
          moduleHostHealth: mhWatch,
          addrs: { daemonServer: opts.advertiseAddr || service.address, moduleHost: opts.moduleHostAdvertiseAddr || opts.moduleHostAddr || '' },
          intervalMs: opts.beaconIntervalMs ?? 500,
          log,
        })
      : null;
  beacon?.start();
  mhWatch?.start(watching.signal);
  commandStream?.start(log);

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

  // With a CephManager: the mgr.<name> monitor session and its beacon to the monitors.
  if (manager) {
    manager.attach({
      metadata: managerMetadata({
        grpc: { daemonServer: opts.advertiseAddr || service.address, moduleHost: opts.moduleHostAdvertiseAddr || opts.moduleHostAddr || '' },
      }),
      state: async (namedActive) => {
        const m = await moduleHostState(moduleHost, namedActive, 2000);
        const moduleHostDown = mhWatch && mhWatch.state !== 'up' ? `its module-host at ${opts.moduleHostAddr} is ${mhWatch.state} (${mhWatch.reason})` : '';
        return { serving: role.ready, modulesUp: m.loaded, modules: m.modules, services: m.services, moduleHostDown };
      },
      nativeCommands: advertisedCommands(),
      moduleCommands: async () => (moduleHost ? moduleHost.listCommands() : []),
      onChange: () => role.update(),
      clusterState: cs,
    });
    try {
      await manager.start();
    } catch (e) {
      probing.abort();
      await service.stop();
      await commandStream?.stop();
      csPeer.close();
      mhPeer?.close();
      sb?.close();
      throw e;
    }
    gid = Number(manager.globalId);
    // Crash failover (services/standby/presence.ts): a MgrMap watch naming
    // this session lets the standby service see our process exit and
    // `mgr fail` our gid at once, rather than the monitors waiting out
    // their beacon grace. A new monitor session with another global id
    // (no reclaim) is watched under the new one.
    if (standby) {
      let watched = 0;
      let stopWatch: AbortController | undefined;
      const watchAs = () => {
        const g = Number(manager.globalId);
        if (!g || g === watched || watching.signal.aborted) return;
        stopWatch?.abort();
        watched = g;
        const c = (stopWatch = new AbortController());
        watching.signal.addEventListener('abort', () => c.abort(), { once: true });
        standby.watch(() => undefined, c.signal, { name, gid: g });
      };
      watchAs();
      manager.monClient.on('connected', watchAs);
    }
    // A fence lapses with time alone: look every 100 ms.
    const fenceTimer = setInterval(() => role.update(), 100);
    fenceTimer.unref();
    service.onShutdown(async () => clearInterval(fenceTimer));
  }

  // The msgr2 front door: Ceph's daemons and CLI, beside gRPC.
  if (opts.ceph && (opts.msgr2Port ?? 0) >= 0) {
    const advertised = opts.advertiseAddr ? opts.advertiseAddr.slice(0, opts.advertiseAddr.lastIndexOf(':')).replace(/^\[|\]$/g, '') : undefined;
    msgr2 = await startFrontDoor(
      {
        host: opts.host ?? '127.0.0.1',
        port: opts.msgr2Port ?? 0,
        advertiseHost: advertised,
        maxConnections: opts.msgr2MaxConnections ?? 4096,
        maxMessageBytes: opts.msgr2MaxMessageBytes ?? 16 * 1024 * 1024,
      },
      {
        ceph: opts.ceph,
        log,
        registry: service.registry,
        ingest,
        counterLimits,
        runCommand: (caller, prefix, args, inbuf) => commands.run({ prefix, args, inbuf }, caller),
        managerCommands: async () => (await commands.allCommands()).filter((e) => !e.native?.monitor).map((e) => e.desc),
        appendAudit: (message, priority) => audit.append(message, priority),
        getView: (what) => cs.getView(what),
        config,
        statsPeriod: () => config.period,
        statsThreshold: () => config.threshold,
        notActive: () => (role.isActing() ? null : (role.whyNot() ?? 'this manager is not serving yet')),
        initialized: () => role.ready,
        maxCommandBytes: opts.maxInbufBytes ?? 4 * 1024 * 1024,
      },
    );
  }

  // Graceful hand-over: the beacons stop, then this instance resigns (the
  // active: a standby takes over now rather than after the grace period; a
  // standby: it leaves the map, so it is never the one promoted).
  // markStopping() ends acting as active at once (every command and report
  // asks); the daemons' sessions end (role.update) only after the resign
  // was answered, so the hand-over is not queued behind closing them and
  // the daemons, reconnecting, find the new active in the map.
  service.onShutdown(async () => {
    role.markStopping();
    await manager?.stop(); // `mgr fail <gid>` if active
    beacon?.stop();
    await beacon?.resign();
    role.update();
    watching.abort();
  });

  service.onShutdown(async () => {
    probing.abort();
    stopStaleChecks();
    stopLimitHealth();
    sessions.endAllSessions('server shutting down');
    await msgr2?.stop();
    await ingest.stop();
    await commandStream?.stop();
  });

  return {
    address: service.address,
    port: service.port,
    service,
    sessions,
    commands,
    ingest,
    keyringPath,
    get gid() {
      return gid;
    },
    isActive: () => role.isActing(),
    msgr2,
    commandStream,
    stop: async () => {
      await service.stop();
      await audit.flush(2000);
      csPeer.close();
      mhPeer?.close();
      sb?.close();
      monClient?.close();
    },
  };
}
