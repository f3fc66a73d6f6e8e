// The simulator's command line: builds the cluster, feeds its maps to
// cluster-state and runs its daemons against daemon-server (or, with
// --daemons off, sends pg stats straight to cluster-state).
import type { CallCredentials } from '../lib/auth/proof';
import { keyringCredentials } from '../lib/auth/keys';
import { FEED_ENTITY } from '../lib/auth/provision';
import * as fs from 'fs';
import { configOrExit, OptionTable, COMMON_OPTIONS } from '../lib/config';
import { createLogger, parseLogLevel } from '../lib/log';
import { parseKeyring } from '../lib/keyring';
import { tlsFromEnv } from '../lib/client';
import { SimCluster } from './cluster';
import { MapFeed } from './feed';
import { FakeDaemons } from './daemons';
import { SimMonitor, startMonitorEndpoint } from './monitor';
import type { RunningService } from '../lib/server';
import { activeDaemonServer, StandbyClient } from '../lib/standby-client';

export const SIM_OPTIONS = {
  clusterState: {
    env: 'MGR_CLUSTER_STATE_ADDR',
    flag: 'cluster-state',
    type: 'string',
    default: '127.0.0.1:7100',
    desc: 'cluster-state address (maps go here)',
  },
  daemonServer: {
    env: 'MGR_DAEMON_SERVER_ADDR',
    flag: 'daemon-server',
    type: 'string',
    default: '127.0.0.1:7300',
    desc: 'daemon-server address (daemon sessions go here)',
  },
  standby: {
    env: 'MGR_STANDBY_ADDR',
    flag: 'standby',
    type: 'string',
    default: '',
    desc: 'standby service (comma-separated replicas): daemons follow the MgrMap to the active daemon-server; empty: always --daemon-server',
  },
  osds: { env: 'SIM_OSDS', flag: 'osds', type: 'int', default: 3, desc: 'number of OSDs' },
  pools: { env: 'SIM_POOLS', flag: 'pools', type: 'int', default: 5, desc: 'number of pools' },
  pgs: { env: 'SIM_PGS', flag: 'pgs', type: 'int', default: 89, desc: 'placement groups over all pools' },
  osdsPerHost: { env: 'SIM_OSDS_PER_HOST', flag: 'osds-per-host', type: 'int', default: 10, desc: 'OSDs per host' },
  mons: { env: 'SIM_MONS', flag: 'mons', type: 'int', default: 1, desc: 'number of monitors' },
  ioRate: { env: 'SIM_IO_RATE', flag: 'io-rate', type: 'float', default: 100, desc: 'client writes per second over the cluster (reads: twice that)' },
  eventInterval: {
    env: 'SIM_EVENT_INTERVAL',
    flag: 'event-interval',
    type: 'float',
    default: 0,
    desc: 'seconds between events (OSD down/up, new pool); 0: none',
  },
  daemons: {
    env: 'SIM_DAEMONS',
    flag: 'daemons',
    type: 'bool',
    default: true,
    desc: 'run fake daemons against daemon-server; off: pg stats go straight to cluster-state',
  },
  pgStatsPeriod: { env: 'SIM_PG_STATS_PERIOD', flag: 'pg-stats-period', type: 'float', default: 5, desc: 'with --daemons off: seconds between pg-stat rounds' },
  seed: { env: 'SIM_SEED', flag: 'seed', type: 'int', default: 1, desc: 'seed for every random choice' },
  monPort: {
    env: 'SIM_MON_PORT',
    flag: 'mon-port',
    type: 'int',
    default: 7500,
    desc: "port of the simulated monitors' command endpoint (MonitorService; daemon-server's MGR_MON_ADDR); 0: a free one, -1: none",
  },
  monHost: { env: 'MGR_HOST', flag: 'host', type: 'string', default: '127.0.0.1', desc: 'address the monitor endpoint listens on' },
  osdRebootSec: {
    env: 'SIM_OSD_REBOOT_SEC',
    flag: 'osd-reboot-sec',
    type: 'float',
    default: 10,
    desc: 'seconds after which an OSD marked down by `osd down` boots again (0: it stays down)',
  },
  name: { env: 'MGR_ENTITY', flag: 'name', type: 'string', default: 'client.admin', desc: 'entity to authenticate as (with --keyring)' },
  keyring: {
    env: 'MGR_KEYRING',
    flag: 'keyring',
    type: 'string',
    default: './data/keyring',
    desc: 'Ceph-format keyring holding the key of --name (ignored if missing)',
  },
  logLevel: COMMON_OPTIONS.logLevel,
} satisfies OptionTable;

async function main(): Promise<void> {
  const cfg = configOrExit('mgrpc cluster simulator: feeds maps to cluster-state and runs fake daemons against daemon-server', SIM_OPTIONS);
  const log = createLogger({ service: 'sim' }, parseLogLevel(cfg.logLevel));
  let cluster: SimCluster;
  try {
    cluster = new SimCluster({
      osds: cfg.osds,
      pools: cfg.pools,
      pgs: cfg.pgs,
      osdsPerHost: cfg.osdsPerHost,
      mons: cfg.mons,
      seed: cfg.seed,
      ioRate: cfg.ioRate,
    });
  } catch (e) {
    process.stderr.write(`bad cluster size: ${(e as Error).message}\n`);
    process.exit(2);
  }
  let auth: { entity: string; key: string } | undefined;
  // The maps go to cluster-state, and the MgrMap is followed, as the map feed's own entity.
  let feedCredentials: CallCredentials | undefined;
  if (cfg.keyring && fs.existsSync(cfg.keyring)) {
    feedCredentials = keyringCredentials(cfg.keyring, FEED_ENTITY);
    const key = parseKeyring(fs.readFileSync(cfg.keyring, 'utf8'), cfg.keyring).get(cfg.name)?.key;
    if (!key) {
      process.stderr.write(`keyring ${cfg.keyring} has no key for ${cfg.name}\n`);
      process.exit(2);
    }
    auth = { entity: cfg.name, key };
  } else log.info('no keyring; daemons connect without credentials', { keyring: cfg.keyring });
  log.info('cluster built', { osds: cluster.osdCount, hosts: cluster.hostCount, pools: cluster.pools.length, pgs: cluster.pgs.length, seed: cfg.seed });
  const tls = tlsFromEnv();
  const feed = new MapFeed({
    cluster,
    address: cfg.clusterState,
    tls,
    credentials: feedCredentials,
    logger: log,
    eventIntervalSec: cfg.eventInterval,
    pgStatsDirect: !cfg.daemons,
    pgStatsPeriodSec: cfg.pgStatsPeriod,
    serviceMap: !cfg.daemons,
  });
  let daemons: FakeDaemons | undefined;
  let monitorEndpoint: RunningService | undefined;
  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal: sig });
    await Promise.all([feed.stop(), daemons?.stop(), monitorEndpoint?.stop()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  await feed.start();
  if (cfg.monPort >= 0 && !stopping) {
    const monitor = new SimMonitor({ cluster, feed, osdRebootSec: cfg.osdRebootSec, log });
    monitorEndpoint = await startMonitorEndpoint({ monitor, host: cfg.monHost, port: cfg.monPort, keyringPath: cfg.keyring, tls, logLevel: cfg.logLevel });
    log.info('monitor endpoint listening', { address: monitorEndpoint.address });
  }
  if (!cfg.daemons || stopping) return;
  if (!cfg.standby) {
    daemons = new FakeDaemons({ cluster, address: cfg.daemonServer, tls, auth, logger: log }).start();
    return;
  }
  // Like Ceph's MgrClient: find the active manager in the MgrMap and move
  // every session to the new active when the map changes.
  const sb = new StandbyClient(cfg.standby, tls, feedCredentials);
  let current = '';
  sb.watch(
    (m) => {
      const addr = activeDaemonServer(m);
      if (!addr || addr === current || stopping) return;
      log.info('active manager', { name: m.activeName, address: addr, epoch: m.epoch });
      current = addr;
      if (!daemons) daemons = new FakeDaemons({ cluster, address: addr, tls, auth, logger: log }).start();
      else daemons.setAddress(addr);
    },
    new AbortController().signal,
    (e) => log.debug('standby watch broke; retrying', { error: e.message }),
  );
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`sim: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
