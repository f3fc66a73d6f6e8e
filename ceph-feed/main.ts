// The Ceph map feed's command line: wiring only (configuration, start, signals).
import { AUTH_OPTIONS, configOrExit, COMMON_OPTIONS, keyringOf, serverTlsOf, peerTlsOf, type OptionTable } from '../lib/config';
import { createLogger } from '../lib/log';
import { exitOnSignals } from '../lib/server';
import { CephConfigError, cephTargetOptions, targetFromConfig } from '../lib/ceph/target';
import { startCephFeed } from './server';

const DEFAULT_CONF = '/etc/ceph/ceph.conf';

export const CEPH_FEED_OPTIONS = {
  ...cephTargetOptions(DEFAULT_CONF),
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
  ...AUTH_OPTIONS,
} satisfies OptionTable;

async function main(): Promise<void> {
  const cfg = configOrExit("ceph-feed: keeps cluster-state's maps equal to a real Ceph (Pacific) cluster's", CEPH_FEED_OPTIONS);
  let handle;
  try {
    handle = await startCephFeed({
      ...targetFromConfig(cfg, DEFAULT_CONF),
      clusterState: cfg.clusterState,
      mgrKeyring: keyringOf(cfg) ?? undefined,
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
