// standby: wiring only (configuration, start, signals).
import { AUTH_OPTIONS, configOrExit, COMMON_OPTIONS, keyringOf, serverTlsOf, peerTlsOf } from '../../lib/config';
import { targetFromConfig, CephConfigError, cephTargetOptions } from '../../lib/ceph/target';
import { exitOnSignals } from '../../lib/server';
import { createLogger } from '../../lib/log';
import {
  startStandby,
  DEFAULT_BEACON_INTERVAL_MS,
  DEFAULT_GRACE_MS,
  DEFAULT_ETCD_LEASE_TTL_S,
  DEFAULT_ETCD_PREFIX,
  DEFAULT_INITIAL_MODULES,
  DEFAULT_ALWAYS_ON_MODULES,
} from './server';

const OPTIONS = {
  port: { env: 'MGR_PORT', flag: 'port', type: 'int', default: 7200, desc: 'gRPC port (0: pick a free one)' },
  backend: {
    env: 'MGR_STANDBY_BACKEND',
    flag: 'backend',
    type: 'string',
    default: 'embedded',
    desc: 'embedded (one replica, map on local disk), etcd (several replicas) or ceph (the monitors of a real cluster decide; their MgrMap is mirrored)',
  },
  ...cephTargetOptions('', 'ceph backend only'),
  dataDir: { env: 'MGR_DATA_DIR', flag: 'data-dir', type: 'string', default: './data/standby', desc: 'embedded backend: where mgrmap.json lives' },
  etcdEndpoints: {
    env: 'MGR_ETCD_ENDPOINTS',
    flag: 'etcd-endpoints',
    type: 'string',
    default: '',
    desc: 'etcd backend: comma-separated client URLs, e.g. http://127.0.0.1:2379',
  },
  etcdCa: {
    env: 'MGR_ETCD_CA',
    flag: 'etcd-ca',
    type: 'string',
    default: '',
    desc: "etcd backend: PEM CA of etcd's server certificate (https endpoints; default: the system's CAs)",
  },
  etcdCert: {
    env: 'MGR_ETCD_CERT',
    flag: 'etcd-cert',
    type: 'string',
    default: '',
    desc: 'etcd backend: PEM client certificate (etcd with --client-cert-auth)',
  },
  etcdKey: { env: 'MGR_ETCD_KEY', flag: 'etcd-key', type: 'string', default: '', desc: 'etcd backend: PEM key of --etcd-cert' },
  etcdUser: {
    env: 'MGR_ETCD_USER',
    flag: 'etcd-user',
    type: 'string',
    default: '',
    desc: "etcd backend: user for etcd's authentication (with --etcd-password-file)",
  },
  etcdPasswordFile: {
    env: 'MGR_ETCD_PASSWORD_FILE',
    flag: 'etcd-password-file',
    type: 'string',
    default: '',
    desc: "etcd backend: file holding --etcd-user's password (one line)",
  },
  etcdPrefix: { env: 'MGR_ETCD_PREFIX', flag: 'etcd-prefix', type: 'string', default: DEFAULT_ETCD_PREFIX, desc: 'etcd backend: key prefix (one per cluster)' },
  etcdLeaseTtlS: {
    env: 'MGR_ETCD_LEASE_TTL_S',
    flag: 'etcd-lease-ttl-s',
    type: 'int',
    default: DEFAULT_ETCD_LEASE_TTL_S,
    desc: 'etcd backend: leader lease TTL in seconds (a dead leader replica is replaced within about this)',
  },
  advertiseAddr: {
    env: 'MGR_ADVERTISE_ADDR',
    flag: 'advertise-addr',
    type: 'string',
    default: '',
    desc: 'etcd backend: host:port other replicas forward writes to (default: the listening address, or the first non-loopback IPv4 when listening on 0.0.0.0)',
  },
  beaconIntervalMs: {
    env: 'MGR_BEACON_INTERVAL_MS',
    flag: 'beacon-interval-ms',
    type: 'int',
    default: DEFAULT_BEACON_INTERVAL_MS,
    desc: 'how often managers should beacon (told to them in every answer)',
  },
  graceMs: {
    env: 'MGR_BEACON_GRACE_MS',
    flag: 'beacon-grace-ms',
    type: 'int',
    default: DEFAULT_GRACE_MS,
    desc: 'no beacon for this long: the active is replaced, a standby dropped',
  },
  clusterStateAddr: {
    env: 'MGR_CLUSTER_STATE_ADDR',
    flag: 'cluster-state-addr',
    type: 'string',
    default: '',
    desc: 'cluster-state host:port: every new map is put there as mgr_map (empty: not published)',
  },
  initialModules: {
    env: 'MGR_INITIAL_MODULES',
    flag: 'initial-modules',
    type: 'string',
    default: DEFAULT_INITIAL_MODULES.join(','),
    desc: 'comma-separated modules enabled in a fresh map',
  },
  alwaysOnModules: {
    env: 'MGR_ALWAYS_ON_MODULES',
    flag: 'always-on-modules',
    type: 'string',
    default: DEFAULT_ALWAYS_ON_MODULES.join(','),
    desc: 'comma-separated modules that are always on (cannot be disabled)',
  },
  ...COMMON_OPTIONS,
  ...AUTH_OPTIONS,
} as const;

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

async function main(): Promise<void> {
  const cfg = configOrExit('standby: the MgrMap authority (who is the active manager, failover, enabled modules)', OPTIONS);
  const handle = await startStandby({
    host: cfg.host,
    port: cfg.port,
    metricsPort: cfg.metricsPort,
    maxMessageBytes: cfg.maxMessageBytes,
    shutdownGraceMs: cfg.shutdownGraceMs,
    logLevel: cfg.logLevel,
    tls: serverTlsOf(cfg),
    peerTls: peerTlsOf(cfg),
    backend: cfg.backend as 'embedded' | 'etcd' | 'ceph',
    ceph: targetFromConfig(cfg, ''),
    dataDir: cfg.dataDir,
    etcdEndpoints: list(cfg.etcdEndpoints),
    etcdAccess: {
      ca: cfg.etcdCa || undefined,
      cert: cfg.etcdCert || undefined,
      key: cfg.etcdKey || undefined,
      user: cfg.etcdUser || undefined,
      passwordFile: cfg.etcdPasswordFile || undefined,
    },
    etcdPrefix: cfg.etcdPrefix,
    etcdLeaseTtlS: cfg.etcdLeaseTtlS,
    advertiseAddr: cfg.advertiseAddr,
    beaconIntervalMs: cfg.beaconIntervalMs,
    graceMs: cfg.graceMs,
    clusterStateAddr: cfg.clusterStateAddr,
    initialModules: list(cfg.initialModules),
    alwaysOnModules: list(cfg.alwaysOnModules),
    keyringPath: keyringOf(cfg) ?? undefined,
  });
  exitOnSignals([handle], handle.service.log);
}

main().catch((e) => {
  createLogger({ service: 'standby' }).error('failed to start', { error: (e as Error).message });
  process.exit(e instanceof CephConfigError ? 2 : 1);
});
