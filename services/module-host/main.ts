// module-host: wiring only (configuration, start, signals).
import { COMMON_OPTIONS, configOrExit, peerTlsOf, serverTlsOf } from '../../lib/config';
import { exitOnSignals } from '../../lib/server';
import { startModuleHost } from './server';
import { DEFAULT_CEPH_MGR_DIR } from './domain/python-modules';

const OPTIONS = {
  port: { env: 'MGR_PORT', flag: 'port', type: 'int', default: 7400, desc: 'gRPC port (0: pick a free one)' },
  name: { env: 'MGR_NAME', flag: 'name', type: 'string', default: 'x', desc: 'this manager instance (shared with its daemon-server)' },
  clusterStateAddr: { env: 'MGR_CLUSTER_STATE_ADDR', flag: 'cluster-state-addr', type: 'string', default: '127.0.0.1:7100', desc: 'cluster-state host:port' },
  modulePath: {
    env: 'MGR_MODULE_PATH',
    flag: 'module-path',
    type: 'string',
    default: '',
    desc: 'extra module folders, colon-separated (after the built-in modules/)',
  },
  modules: {
    env: 'MGR_MODULES',
    flag: 'modules',
    type: 'string',
    default: 'hello,status,selftest',
    desc: 'enabled modules, comma-separated (the MgrMap overrides this once standby runs)',
  },
  tlsDaemonServerName: {
    env: 'MGR_TLS_DAEMON_SERVER_NAME',
    flag: 'tls-daemon-server-name',
    type: 'string',
    default: '',
    desc: "TLS: the name daemon-servers' certificates carry, checked instead of the address the MgrMap advertises (e.g. mgr, for pod IPs)",
  },
  standbyAddr: {
    env: 'MGR_STANDBY_ADDR',
    flag: 'standby-addr',
    type: 'string',
    default: '',
    desc: 'standby host:port, comma-separated for several replicas (empty: always active, modules from MGR_MODULES)',
  },
  alwaysOn: {
    env: 'MGR_ALWAYS_ON_MODULES',
    flag: 'always-on-modules',
    type: 'string',
    default: 'status',
    desc: "modules that are always on without a standby service (with one, the MgrMap's list wins: Ceph Pacific's always-on set)",
  },
  commandTimeoutMs: {
    env: 'MGR_MODULE_COMMAND_TIMEOUT_MS',
    flag: 'command-timeout-ms',
    type: 'int',
    default: 30000,
    desc: 'how long a module command (or notify) may take before it fails with -110',
  },
  demotedReloadDelayMs: {
    env: 'MGR_DEMOTED_RELOAD_DELAY_MS',
    flag: 'demoted-reload-delay-ms',
    type: 'int',
    default: 2000,
    desc: "after this manager stops being active: how long before its modules' standby parts load again (the new active starts first)",
  },
  clusterStateRetryMs: {
    env: 'MGR_CLUSTER_STATE_RETRY_MS',
    flag: 'cluster-state-retry-ms',
    type: 'int',
    default: 20000,
    desc: "how long a module's call to cluster-state waits out an outage (UNAVAILABLE, retried with backoff) before it fails",
  },
  watchdogMs: {
    env: 'MGR_MODULE_WATCHDOG_MS',
    flag: 'watchdog-ms',
    type: 'int',
    default: 10000,
    desc: 'a module whose worker does not answer a heartbeat this long is stopped and marked failed',
  },
  workerMaxOldGenMb: {
    env: 'MGR_MODULE_MEMORY_MB',
    flag: 'module-memory-mb',
    type: 'int',
    default: 512,
    desc: "each module's memory limit (a worker's heap plus its Buffers, a Python module's resident set); past it the module is stopped and marked failed",
  },
  // Ceph's Python modules (domain/python-modules.ts).
  pythonModulePath: {
    env: 'MGR_PYTHON_MODULE_PATH',
    flag: 'python-module-path',
    type: 'string',
    default: DEFAULT_CEPH_MGR_DIR,
    desc: "Ceph's Python module folder, holding mgr_module.py (Debian's ceph-mgr)",
  },
  pythonModules: {
    env: 'MGR_PYTHON_MODULES',
    flag: 'python-modules',
    type: 'string',
    default: '*',
    desc: "Python modules to load, comma-separated ('*': all found, 'none': no Python modules)",
  },
  preferPython: {
    env: 'MGR_PREFER_PYTHON_MODULES',
    flag: 'prefer-python-modules',
    type: 'string',
    default: '',
    desc: 'names whose Python module replaces the TypeScript module of the same name (otherwise a clash is an error and the TypeScript one runs)',
  },
  python: {
    env: 'MGR_PYTHON',
    flag: 'python',
    type: 'string',
    default: '/usr/bin/python3',
    desc: "the interpreter for Python modules (Debian's, for python3-rados)",
  },
  // sendCommand (send-command.ts).
  daemonServerAddr: {
    env: 'MGR_DAEMON_SERVER_ADDR',
    flag: 'daemon-server-addr',
    type: 'string',
    default: '',
    desc: "daemon-server host:port for the modules' sendCommand while the MgrMap names no active (without MGR_STANDBY_ADDR: always)",
  },
  keyring: {
    env: 'MGR_KEYRING',
    flag: 'keyring',
    type: 'string',
    default: './data/keyring',
    desc: "keyring holding this manager's key (mgr.<name>, added by daemon-server), used for sendCommand",
  },
  auth: {
    env: 'MGR_AUTH',
    flag: 'auth',
    type: 'string',
    default: 'keyring',
    desc: "'keyring' or 'none' (daemon-server without authentication: no key is sent)",
  },
  commandEntity: {
    env: 'MGR_COMMAND_ENTITY',
    flag: 'command-entity',
    type: 'string',
    default: '',
    desc: 'entity sendCommand authenticates as (default mgr.<name>; e.g. when the keyring is a read-only Secret without it)',
  },
  commandSocket: {
    env: 'MGR_MODULE_HOST_COMMAND_SOCKET',
    flag: 'command-socket',
    type: 'string',
    default: '',
    desc: "a Unix-domain socket path for its daemon-server's commands when both run on one host (made 0600; its folder must not be writable by others); empty: gRPC only",
  },
  ...COMMON_OPTIONS,
} as const;

const list = (s: string, sep: string) =>
  s
    .split(sep)
    .map((x) => x.trim())
    .filter(Boolean);

async function main(): Promise<void> {
  const cfg = configOrExit('module-host: runs the manager modules, each in its own worker (Ceph PyModules)', OPTIONS);
  if (cfg.auth !== 'keyring' && cfg.auth !== 'none') {
    process.stderr.write(`MGR_AUTH: expected 'keyring' or 'none', got '${cfg.auth}'\n`);
    process.exit(2);
  }
  const handle = await startModuleHost({
    host: cfg.host,
    port: cfg.port,
    name: cfg.name,
    clusterStateAddr: cfg.clusterStateAddr,
    modulePath: list(cfg.modulePath, ':'),
    standbyAddr: cfg.standbyAddr,
    enabledModules: list(cfg.modules, ','),
    alwaysOnModules: list(cfg.alwaysOn, ','),
    commandTimeoutMs: cfg.commandTimeoutMs,
    clusterStateRetryMs: cfg.clusterStateRetryMs,
    demotedReloadDelayMs: cfg.demotedReloadDelayMs,
    watchdogMs: cfg.watchdogMs,
    workerMaxOldGenMb: cfg.workerMaxOldGenMb,
    metricsPort: cfg.metricsPort,
    maxMessageBytes: cfg.maxMessageBytes,
    shutdownGraceMs: cfg.shutdownGraceMs,
    logLevel: cfg.logLevel,
    tls: serverTlsOf(cfg),
    peerTls: peerTlsOf(cfg),
    daemonServerTlsName: cfg.tlsDaemonServerName || undefined,
    daemonServerAddr: cfg.daemonServerAddr,
    keyringPath: cfg.auth === 'none' ? null : cfg.keyring,
    commandEntity: cfg.commandEntity,
    commandSocket: cfg.commandSocket || undefined,
    python:
      cfg.pythonModules.trim() === 'none'
        ? undefined
        : {
            modulePath: list(cfg.modulePath, ':'),
            cephMgrDir: cfg.pythonModulePath,
            python: cfg.python,
            prefer: list(cfg.preferPython, ','),
            only: list(cfg.pythonModules, ','),
          },
  });
  exitOnSignals([handle], handle.service.log);
}

main().catch((e) => {
  process.stderr.write(`module-host failed to start: ${(e as Error).message}\n`);
  process.exit(1);
});
