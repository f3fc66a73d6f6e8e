// daemon-server process: configuration, start, signals.
import * as path from 'path';
import { targetFromConfig, CephConfigError, cephTargetOptions } from '../../lib/ceph/target';
import { COMMON_OPTIONS, configOrExit, peerTlsOf, serverTlsOf } from '../../lib/config';
import { createLogger, parseLogLevel } from '../../lib/log';
import { exitOnSignals } from '../../lib/server';
import { openCephManager } from './ceph/open';
import { startDaemonServer } from './server';
import { DEFAULT_COUNTER_LIMITS } from './domain/counter-limits';

const OPTIONS = {
  ...COMMON_OPTIONS,
  port: { env: 'MGR_PORT', flag: 'port', type: 'int', default: 7300, desc: 'gRPC port' },
  name: { env: 'MGR_NAME', flag: 'name', type: 'string', default: 'x', desc: 'this manager instance' },
  dataDir: { env: 'MGR_DATA_DIR', flag: 'data-dir', type: 'string', default: './data', desc: 'local state' },
  clusterStateAddr: { env: 'MGR_CLUSTER_STATE_ADDR', flag: 'cluster-state-addr', type: 'string', default: '127.0.0.1:7100', desc: 'cluster-state host:port' },
  moduleHostAddr: {
    env: 'MGR_MODULE_HOST_ADDR',
    flag: 'module-host-addr',
    type: 'string',
    default: '',
    desc: "this instance's module-host host:port (empty: no module commands)",
  },
  moduleHostCommandSocket: {
    env: 'MGR_MODULE_HOST_COMMAND_SOCKET',
    flag: 'module-host-command-socket',
    type: 'string',
    default: '',
    desc: "module-host's command socket (a Unix-domain socket path, module-host on this host): module commands go there instead of a gRPC stream; empty: gRPC",
  },
  standbyAddr: {
    env: 'MGR_STANDBY_ADDR',
    flag: 'standby-addr',
    type: 'string',
    default: '',
    desc: 'standby host:port, comma-separated for several replicas (empty: always active, mgr map commands answer -95)',
  },
  monAddr: {
    env: 'MGR_MON_ADDR',
    flag: 'mon-addr',
    type: 'string',
    default: '',
    desc: "the monitors' command endpoint host:port (the simulator's, sim --mon-port) for the monitor commands that change the cluster (empty: they answer -95)",
  },
  advertiseAddr: {
    env: 'MGR_ADVERTISE_ADDR',
    flag: 'advertise-addr',
    type: 'string',
    default: '',
    desc: 'host:port published in the MgrMap for clients (default: the listening address)',
  },
  beaconIntervalMs: {
    env: 'MGR_BEACON_INTERVAL_MS',
    flag: 'beacon-interval-ms',
    type: 'int',
    default: 500,
    desc: 'beacon period until the standby service says otherwise',
  },
  keyring: {
    env: 'MGR_KEYRING',
    flag: 'keyring',
    type: 'string',
    default: '',
    desc: 'keyring file (default <data-dir>/keyring; created with client.admin, client.ro and mgr.<name> when missing; mgr.<name> added when absent)',
  },
  auth: { env: 'MGR_AUTH', flag: 'auth', type: 'string', default: 'keyring', desc: "'keyring' or 'none' (development only: no authentication)" },
  statsPeriod: { env: 'MGR_STATS_PERIOD', flag: 'stats-period', type: 'float', default: 5, desc: 'seconds between daemon reports (mgr_stats_period)' },
  statsThreshold: {
    env: 'MGR_STATS_THRESHOLD',
    flag: 'stats-threshold',
    type: 'int',
    default: 5,
    desc: 'lowest counter priority daemons send (mgr_stats_threshold)',
  },
  commandTimeoutMs: {
    env: 'MGR_COMMAND_TIMEOUT_MS',
    flag: 'command-timeout-ms',
    type: 'int',
    default: 30000,
    desc: 'deadline for module commands and peer calls',
  },
  maxInbufBytes: {
    env: 'MGR_COMMAND_MAX_INBUF_BYTES',
    flag: 'command-max-inbuf-bytes',
    type: 'int',
    default: 4 * 1024 * 1024,
    desc: 'largest command input buffer',
  },
  ingestFlushMs: {
    env: 'MGR_INGEST_FLUSH_MS',
    flag: 'ingest-flush-ms',
    type: 'int',
    default: 150,
    desc: 'how often reports and pg stats go on to cluster-state (ms): each flush is two calls, so a longer period means fewer, larger calls and values up to that much older',
  },
  maxPendingPgStats: {
    env: 'MGR_MAX_PENDING_PG_STATS',
    flag: 'max-pending-pg-stats',
    type: 'int',
    default: 16384,
    desc: "OSDs whose pg stats may wait for cluster-state at once (one snapshot each: a newer one from the same OSD replaces it); beyond, a new OSD's session is held back",
  },
  msgr2Port: {
    env: 'MGR_MSGR2_PORT',
    flag: 'msgr2-port',
    type: 'int',
    default: 0,
    desc: "the msgr2 front door's port on MGR_HOST, where Ceph's daemons and CLI connect when mgrpc runs in front of Ceph (0: a free port; -1: none)",
  },
  msgr2MaxConnections: {
    env: 'MGR_MSGR2_MAX_CONNECTIONS',
    flag: 'msgr2-max-connections',
    type: 'int',
    default: 4096,
    desc: 'most msgr2 connections at once (daemons and CLI); more are closed at once',
  },
  msgr2MaxMessageBytes: {
    env: 'MGR_MSGR2_MAX_MESSAGE_BYTES',
    flag: 'msgr2-max-message-bytes',
    type: 'int',
    default: 16 * 1024 * 1024,
    desc: 'largest msgr2 message; a bigger one ends its connection before it is read',
  },
  maxCounters: {
    env: 'MGR_MAX_COUNTERS',
    flag: 'max-counters',
    type: 'int',
    default: DEFAULT_COUNTER_LIMITS.perSession,
    desc: 'most perf counters one daemon session may declare (gRPC and msgr2); a declaration past it ends the session with the reason',
  },
  maxCountersTotal: {
    env: 'MGR_MAX_COUNTERS_TOTAL',
    flag: 'max-counters-total',
    type: 'int',
    default: DEFAULT_COUNTER_LIMITS.total,
    desc: 'most perf counters all open daemon sessions may have declared together; a declaration past it ends its session',
  },
  maxCounterNameBytes: {
    env: 'MGR_MAX_COUNTER_NAME_BYTES',
    flag: 'max-counter-name-bytes',
    type: 'int',
    default: DEFAULT_COUNTER_LIMITS.nameBytes,
    desc: 'longest declared counter path or nick in bytes (a description may take 4 times this); a longer one ends its session',
  },
  ...cephTargetOptions('', 'empty (and no --ceph-mon-host): no Ceph cluster, the standby service decides who is active'),
  cephConnectTimeoutS: {
    env: 'MGR_CEPH_CONNECT_TIMEOUT_S',
    flag: 'ceph-connect-timeout-s',
    type: 'int',
    default: 300,
    desc: "how long the monitors may take to answer mgr.<name> at start (Ceph's client_mount_timeout)",
  },
} as const;

async function main(): Promise<void> {
  const cfg = configOrExit('daemon-server: daemon sessions and the command entry point (Ceph DaemonServer)', OPTIONS);
  if (cfg.auth !== 'keyring' && cfg.auth !== 'none') {
    process.stderr.write(`MGR_AUTH: expected 'keyring' or 'none', got '${cfg.auth}'\n`);
    process.exit(2);
  }
  if (cfg.ingestFlushMs < 1 || cfg.ingestFlushMs > 5000) {
    process.stderr.write(`MGR_INGEST_FLUSH_MS: expected 1 to 5000 (ms), got ${cfg.ingestFlushMs}\n`);
    process.exit(2);
  }
  // In front of a real cluster: mgr.<name> to its monitors, which decide who is active.
  const ceph =
    cfg.cephConf || cfg.cephMonHost
      ? await openCephManager({
          ...targetFromConfig(cfg, ''),
          name: cfg.name,
          dataDir: cfg.dataDir,
          connectTimeoutMs: cfg.cephConnectTimeoutS * 1000,
          log: createLogger({ service: 'daemon-server' }, parseLogLevel(cfg.logLevel)),
        })
      : undefined;
  const handle = await startDaemonServer({
    host: cfg.host,
    port: cfg.port,
    name: cfg.name,
    clusterStateAddr: cfg.clusterStateAddr,
    moduleHostAddr: cfg.moduleHostAddr,
    moduleHostCommandSocket: cfg.moduleHostCommandSocket || undefined,
    standbyAddr: cfg.standbyAddr,
    monAddr: cfg.monAddr,
    advertiseAddr: cfg.advertiseAddr,
    beaconIntervalMs: cfg.beaconIntervalMs,
    keyringPath: cfg.keyring || path.join(cfg.dataDir, 'keyring'),
    auth: cfg.auth !== 'none',
    statsPeriod: cfg.statsPeriod,
    statsThreshold: cfg.statsThreshold,
    commandTimeoutMs: cfg.commandTimeoutMs,
    maxInbufBytes: cfg.maxInbufBytes,
    flushIntervalMs: cfg.ingestFlushMs,
    maxPendingPgStats: cfg.maxPendingPgStats,
    msgr2Port: cfg.msgr2Port,
    msgr2MaxConnections: cfg.msgr2MaxConnections,
    msgr2MaxMessageBytes: cfg.msgr2MaxMessageBytes,
    maxCounters: cfg.maxCounters,
    maxCountersTotal: cfg.maxCountersTotal,
    maxCounterNameBytes: cfg.maxCounterNameBytes,
    metricsPort: cfg.metricsPort,
    maxMessageBytes: cfg.maxMessageBytes,
    shutdownGraceMs: cfg.shutdownGraceMs,
    logLevel: cfg.logLevel,
    tls: serverTlsOf(cfg),
    peerTls: peerTlsOf(cfg),
    ceph,
  });
  exitOnSignals([handle], handle.service.log);
}

main().catch((e) => {
  process.stderr.write(`daemon-server failed to start: ${(e as Error).message}\n`);
  // A setting to fix (no key, caps that cannot beacon) exits 2, as a bad flag does.
  process.exit(e instanceof CephConfigError ? 2 : 1);
});
