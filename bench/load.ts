// The ingest benchmark's load generator: the simulator's own fake daemons
// (sim/daemons.ts, one MgrClient session per OSD) and map feed (shard 0
// only), split over several processes. One process driving 10,000 sessions
// stalls its event loop for seconds on this machine; a shard drives the OSDs
// with id % shards == shard of the same seeded cluster, with the same phases
// (reports spread over the period across all shards).
//   node --import tsx bench/load.ts --cluster-state A --daemon-server B --osds N --pgs P --keyring K --shard i --shards n
import { createLogger } from '../lib/log';
import { keyringCredentials } from '../lib/auth/keys';
import { FEED_ENTITY } from '../lib/auth/provision';
import { keyFromKeyring } from '../lib/keyring';
import { SimCluster } from '../sim/cluster';
import { FakeDaemons } from '../sim/daemons';
import { MapFeed } from '../sim/feed';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) {
    process.stderr.write(`bench/load.ts: --${name} is required\n`);
    process.exit(2);
  }
  return process.argv[i + 1];
}

/** The cluster as one shard sees it: iterating `osds` gives the shard's OSDs; indexing is unchanged. */
function shardView(cluster: SimCluster, shard: number, shards: number): SimCluster {
  const mine = cluster.osds.filter((o) => o.id % shards === shard);
  const osds = new Proxy(cluster.osds, {
    get(t, p) {
      if (p === Symbol.iterator)
        return function* () {
          yield* mine;
        };
      return Reflect.get(t, p);
    },
  });
  return new Proxy(cluster, {
    get(t, p) {
      if (p === 'osds') return osds;
      const v = Reflect.get(t, p, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

async function main(): Promise<void> {
  const osdCount = Number(arg('osds'));
  const shard = Number(arg('shard'));
  const shards = Number(arg('shards'));
  const log = createLogger({ service: 'bench-load', shard });
  const cluster = new SimCluster({ osds: osdCount, pgs: Number(arg('pgs')), pools: 5 });
  const auth = { entity: 'client.admin', key: keyFromKeyring(arg('keyring'), 'client.admin') };
  let feed: MapFeed | undefined;
  if (shard === 0) {
    feed = new MapFeed({ cluster, address: arg('cluster-state'), credentials: keyringCredentials(arg('keyring'), FEED_ENTITY), logger: log });
    await feed.start();
  }
  const daemons = new FakeDaemons({
    cluster: shardView(cluster, shard, shards),
    address: arg('daemon-server'),
    auth,
    logger: log,
    others: shard === 0,
  }).start();
  log.info('load shard started', { shard, shards, sessions: daemons.clients.length });
  const stop = async () => {
    await Promise.all([daemons.stop(), feed?.stop()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e) => {
  process.stderr.write(`bench/load.ts: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
