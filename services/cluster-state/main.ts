// cluster-state: wiring only (configuration, start, signals).
import { AUTH_OPTIONS, configOrExit, COMMON_OPTIONS, keyringOf, serverTlsOf } from '../../lib/config';
import { exitOnSignals } from '../../lib/server';
import { createLogger } from '../../lib/log';
import { startClusterState, DEFAULT_WATCH_BACKLOG, DEFAULT_MAX_STORE_VALUE_BYTES } from './server';

const OPTIONS = {
  port: { env: 'MGR_PORT', flag: 'port', type: 'int', default: 7100, desc: 'gRPC port (0: pick a free one)' },
  dataDir: { env: 'MGR_DATA_DIR', flag: 'data-dir', type: 'string', default: './data/cluster-state', desc: 'where the SQLite store lives' },
  watchBacklog: {
    env: 'MGR_WATCH_BACKLOG',
    flag: 'watch-backlog',
    type: 'int',
    default: DEFAULT_WATCH_BACKLOG,
    desc: 'change events kept for watchers that reconnect',
  },
  maxStoreValueBytes: {
    env: 'MGR_STORE_MAX_VALUE_BYTES',
    flag: 'store-max-value-bytes',
    type: 'int',
    default: DEFAULT_MAX_STORE_VALUE_BYTES,
    desc: 'largest value SetStore accepts',
  },
  ...COMMON_OPTIONS,
  ...AUTH_OPTIONS,
} as const;

async function main(): Promise<void> {
  const cfg = configOrExit("cluster-state: cluster maps, daemon state, PG statistics and the modules' store", OPTIONS);
  const handle = await startClusterState({
    host: cfg.host,
    port: cfg.port,
    dataDir: cfg.dataDir,
    metricsPort: cfg.metricsPort,
    maxMessageBytes: cfg.maxMessageBytes,
    watchBacklog: cfg.watchBacklog,
    maxStoreValueBytes: cfg.maxStoreValueBytes,
    shutdownGraceMs: cfg.shutdownGraceMs,
    logLevel: cfg.logLevel,
    tls: serverTlsOf(cfg),
    keyringPath: keyringOf(cfg) ?? undefined,
  });
  exitOnSignals([handle], handle.service.log);
}

main().catch((e) => {
  createLogger({ service: 'cluster-state' }).error('failed to start', { error: (e as Error).message });
  process.exit(1);
});
