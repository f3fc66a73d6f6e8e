// startModuleHost: wiring only. Finds the modules, connects to cluster-state
// (peers.ts: calls and its Watch stream, followed by domain/cluster-watch.ts)
// and to the standby service (domain/mgrmap-follower.ts), serves
// ModuleHostService. SERVING once the enabled modules have loaded (started
// or failed).
import { ensureKeyring } from '../../lib/auth/provision';
import { keyringCredentials } from '../../lib/auth/keys';
import { moduleHostRules } from './rules';
import * as path from 'path';
import * as prom from 'prom-client';
import { startService, RunningService, TlsOptions } from '../../lib/server';
import { callFailure, connect } from '../../lib/client';
import { ClusterStateServiceDefinition } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import { ModuleHostServiceDefinition } from '../../lib/gen/ceph/mgr/v1/module_host';
import { StandbyClient } from '../../lib/standby-client';
import { followClusterEvents } from './domain/cluster-watch';
import { ModuleHost } from './domain/host';
import { followMgrMap } from './domain/mgrmap-follower';
import { clusterEvents, clusterStatePeer } from './peers';
import { moduleHostHandlers } from './grpc';
import { CommandSocket, listenCommandSocket } from './command-socket';
import { commandSocketAudience } from '../../lib/command-socket';
/** Commands one command stream may have in flight (grpc.ts). */
export { MAX_STREAM_IN_FLIGHT } from './grpc';
import type { PythonModulesConfig } from './domain/python-modules';
import { CommandSender } from './send-command';
import { waitingOutOutages } from './domain/outage';

/** Where Debian's ceph-mgr keeps Ceph's Python modules (tests that run them need it). */
export { DEFAULT_CEPH_MGR_DIR } from './domain/python-modules';

export const BUILTIN_MODULES = path.resolve(__dirname, '../../modules');
export const DEFAULT_CLUSTER_STATE_RETRY_MS = 20000;

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
  /** How long a module's call to cluster-state waits out an outage (ms). */
  clusterStateRetryMs?: number;
  /** After a demotion, how long before the standby parts load again (ms; domain/host.ts). */
  demotedReloadDelayMs?: number;
  /** How long one notify may run before it counts as stuck; default commandTimeoutMs. */
  notifyTimeoutMs?: number;
  watchdogMs?: number;
  workerMaxOldGenMb?: number;
  metricsPort?: number;
  maxMessageBytes?: number;
  shutdownGraceMs?: number;
  logLevel?: string;
  tls?: TlsOptions;
  peerTls?: TlsOptions;
  /** The name daemon-servers' certificates carry, checked when one is dialled by its advertised address (MGR_TLS_DAEMON_SERVER_NAME). */
  daemonServerTlsName?: string;
  /** Ceph's Python modules (domain/python-modules.ts); unset: none. */
  python?: PythonModulesConfig;
  /** sendCommand's daemon-server while the MgrMap names none (MGR_DAEMON_SERVER_ADDR). */
  daemonServerAddr?: string;
  /**
   * The shared keyring, with this manager's key mgr.<name>: callers must
   * prove a key of it (rules.ts says who may call what), and module-host
   * calls the other services as mgr.<name> (or commandEntity) from it.
   * null: no authentication, loopback only (MGR_AUTH=none); unset: the same
   * for serving (tests), and sendCommand reads ./data/keyring.
   */
  keyringPath?: string | null;
  /** Entity sendCommand authenticates as (default mgr.<name>). */
  commandEntity?: string;
  /**
   * A Unix-domain socket path where this manager's daemon-server (on the
   * same host) may send its commands instead of the gRPC CommandStream
   * (MGR_MODULE_HOST_COMMAND_SOCKET; command-socket.ts). Unset: none.
   */
  commandSocket?: string;
}

export interface ModuleHostHandle {
  address: string;
  port: number;
  service: RunningService;
  host: ModuleHost;
  /** Where the modules' sendCommand goes. */
  commands: CommandSender;
  /** The command socket, when opts.commandSocket. */
  commandSocket?: CommandSocket;
  stop(): Promise<void>;
}

export async function startModuleHost(opts: ModuleHostOptions): Promise<ModuleHostHandle> {
  const keyringPath = opts.keyringPath ? path.resolve(opts.keyringPath) : undefined;
  const credentials = keyringPath ? keyringCredentials(keyringPath, opts.commandEntity || `mgr.${opts.name ?? 'x'}`) : undefined;
  const csPeer = connect(ClusterStateServiceDefinition, opts.clusterStateAddr, opts.peerTls, { deadlineMs: opts.commandTimeoutMs ?? 30000, credentials });
  const direct = clusterStatePeer(csPeer.client, opts.name ?? 'x');

  // Modules' calls wait out a short cluster-state outage (domain/outage.ts).
  let log0: ((level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void) | null = null;
  const cluster = waitingOutOutages(direct, {
    budgetMs: opts.clusterStateRetryMs ?? DEFAULT_CLUSTER_STATE_RETRY_MS,
    isTransient: (e) => callFailure(e).kind === 'unavailable',
    log: (level, msg, fields) => log0?.(level, msg, fields),
  });

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
      auth: keyringPath
        ? {
            keyringPath,
            tables: { [ModuleHostServiceDefinition.fullName]: moduleHostRules },
            // Proofs for the command socket name it as their audience.
            audiences: opts.commandSocket ? [commandSocketAudience(opts.commandSocket)] : [],
          }
        : null,
    },
    (server, { log, registry, shutdownSignal }) => {
      log0 = (level, msg, fields) => log[level](msg, fields);
      // This manager's mgr.<name> (its daemon-server adds it too): module-host may start first and calls as it at once.
      if (keyringPath && !opts.commandEntity) ensureKeyring(keyringPath, log, [opts.name ?? 'x']);
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
      const coalesced = new prom.Counter({
        name: 'mgr_module_notify_coalesced_total',
        help: 'notifications dropped because the same one was already waiting for the module',
        labelNames: ['module'],
        registers: [registry],
      });
      const abandoned = new prom.Counter({
        name: 'mgr_module_commands_abandoned_total',
        help: 'module commands abandoned because their caller cancelled (or its deadline passed) first',
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
        // The active daemon-server is dialled at the address the MgrMap advertises (a pod IP in Kubernetes).
        tls: opts.peerTls && opts.daemonServerTlsName ? { ...opts.peerTls, serverName: opts.daemonServerTlsName } : opts.peerTls,
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
        notifyTimeoutMs: opts.notifyTimeoutMs ?? opts.commandTimeoutMs ?? 30000,
        workerMaxOldGenMb: opts.workerMaxOldGenMb ?? 512,
        python: opts.python,
        enabledFromMgrMap: !!opts.standbyAddr,
        demotedReloadDelayMs: opts.demotedReloadDelayMs,
        observeAbandoned: (module) => abandoned.inc({ module }),
        observeCoalesced: (module) => coalesced.inc({ module }),
        observeNotify: (module, seconds, queued) => {
          notifySeconds.observe({ module }, seconds);
          queueDepth.set({ module }, queued);
        },
      });
      server.add(ModuleHostServiceDefinition, moduleHostHandlers(host, shutdownSignal));
      return ['ceph.mgr.v1.ModuleHostService'];
    },
  );
  const log = service.log;
  let commandSocket: CommandSocket | undefined;
  if (opts.commandSocket) {
    try {
      commandSocket = await listenCommandSocket({ path: opts.commandSocket, host, authorize: service.authorize, shutdown: service.shutdownSignal, log });
    } catch (e) {
      await service.stop();
      csPeer.close();
      throw e;
    }
  }

  const watchAbort = new AbortController();
  service.shutdownSignal.addEventListener('abort', () => watchAbort.abort());
  void followClusterEvents(clusterEvents(csPeer.client), host, (level, msg, fields) => log[level](msg, fields), watchAbort.signal);

  await host.discover();
  await host.setActive(opts.active ?? !opts.standbyAddr);
  service.setServing(true, 'modules loaded');
  const sb = opts.standbyAddr ? new StandbyClient(opts.standbyAddr, opts.peerTls, credentials) : null;
  if (sb) {
    followMgrMap({ source: sb, host, name: opts.name ?? 'x', onActiveAddr: (addr) => commands.setActiveAddr(addr), log }, watchAbort.signal);
  }

  return {
    address: service.address,
    port: service.port,
    service,
    host,
    commands,
    commandSocket,
    async stop() {
      watchAbort.abort();
      sb?.close();
      commands.close();
      await host.stopAll();
      await Promise.all([service.stop(), commandSocket?.close(opts.shutdownGraceMs ?? 5000)]);
      csPeer.close();
    },
  };
}
