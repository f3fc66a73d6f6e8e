// The Ceph map feed's command line: wiring only (configuration, start, signals).
import { configOrExit, COMMON_OPTIONS, serverTlsOf, peerTlsOf, type OptionTable } from '../lib/config';
import { createLogger } from '../lib/log';
import { exitOnSignals } from '../lib/server';
import { startCephFeed } from './server';
import { CephConfigError } from '../lib/ceph/target';

export const CEPH_FEED_OPTIONS = {
  cephConf: { env: 'MGR_CEPH_CONF', flag: 'ceph-conf', type: 'string', default: '/etc/ceph/ceph.conf', desc: "the Ceph cluster's ceph.conf (mon_host, fsid)" },
  cephMonHost: {
    env: 'MGR_CEPH_MON_HOST',
    flag: 'ceph-mon-host',
    type: 'string',
    default: '',
    desc: "the monitors, as Ceph's mon_host (overrides ceph.conf's; msgr2 addresses are needed)",
  },
  cephKeyring: {
    env: 'MGR_CEPH_KEYRING',
    flag: 'ceph-keyring',
    type: 'string',
    default: '',
    desc: 'keyring holding the key of --ceph-name (default: the keyring ceph.conf names, else /etc/ceph/ceph.<name>.keyring)',
  },
  cephName: { env: 'MGR_CEPH_NAME', flag: 'ceph-name', type: 'string', default: 'client.admin', desc: 'the Ceph entity to authenticate as' },
  clusterState: {
    env: 'MGR_CLUSTER_STATE_ADDR',
    flag: 'cluster-state',
    type: 'string',
    default: '127.0.0.1:7100',
    desc: 'cluster-state address (maps go here)',
  },
  port: { env: 'MGR_PORT', flag: 'port', type: 'int', default: 7600, desc: 'gRPC port of the health endpoint (0: pick a free one)' },
  period: { env: 'MGR_CEPH_FEED_PERIOD', flag: 'period', type: 'float', default: 5, desc: 'seconds between reads of health and configuration' },
  monGrace: {
    env: 'MGR_CEPH_MON_GRACE',
    flag: 'mon-grace',
    type: 'float',
    default: 10,
    desc: 'seconds without a monitor session before the health check MGR_CEPH_MON_UNREACHABLE',
  },
  ...COMMON_OPTIONS,
} satisfies OptionTable;

async function main(): Promise<void> {
  const cfg = configOrExit("ceph-feed: keeps cluster-state's maps equal to a real Ceph (Pacific) cluster's", CEPH_FEED_OPTIONS);
  let handle;
  try {
    handle = await startCephFeed({
      cephConf: cfg.cephMonHost && cfg.cephConf === CEPH_FEED_OPTIONS.cephConf.default ? '' : cfg.cephConf,
      monHost: cfg.cephMonHost || undefined,
      keyring: cfg.cephKeyring,
      entity: cfg.cephName,
      clusterState: cfg.clusterState,
      host: cfg.host,
      port: cfg.port,
      metricsPort: cfg.metricsPort,
      periodMs: cfg.period * 1000,
      monGraceMs: cfg.monGrace * 1000,
      logLevel: cfg.logLevel,
      tls: peerTlsOf(cfg),
      serverTls: serverTlsOf(cfg),
    });
  } catch (e) {
    if (e instanceof CephConfigError) {
      process.stderr.write(`ceph-feed: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  exitOnSignals([handle], handle.service.log);
}

main().catch((e) => {
  createLogger({ service: 'ceph-feed' }).error('failed to start', { error: (e as Error).message });
  process.exit(1);
});
