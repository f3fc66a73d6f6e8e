// Monitor map change to cluster-state: on a real Pacific cluster on loopback
// (lib/testing/ceph-cluster.ts: 1 monitor, 3 memstore OSDs), ceph-feed and
// cluster-state as child processes; each trial marks osd.1 out (then in)
// with a monitor command and times until cluster-state's Watch reports the
// osd map at the new epoch. Two clocks: from the command sent (what an
// operator waits for: the monitors' Paxos commit included) and from the
// command's answer (the monitors reply once the change is committed, when
// they also publish the map: what the feed adds). Baseline, in the same run:
// the round trip of `ceph osd dump -f json` (the CLI a poller would run),
// and, as a floor, the same dump as one monitor command on our own session.
import { keyringCredentials } from '../lib/auth/keys';
import { provisionKeyring } from '../lib/auth/provision';
import { makeClient } from '../lib/client';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createChannel } from 'nice-grpc';
import { CephxClient } from '../lib/ceph/cephx/client';
import { monitorsFromConf, readCephConf } from '../lib/ceph/conf';
import { MonClient } from '../lib/ceph/monclient';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { keyFromKeyring } from '../lib/keyring';
import { createLogger } from '../lib/log';
import { cephMissing, startCephCluster, type CephCluster } from '../lib/testing/ceph-cluster';
import { BenchResult, Figure, SMOKE, percentile, startNode, type Child } from './harness';
import { until } from './stack';

const TRIALS = Number(process.env.BENCH_CEPHMAP_TRIALS ?? (SMOKE ? 4 : 40));
const DUMPS = SMOKE ? 3 : 20;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

export async function runCephMap(): Promise<BenchResult> {
  const missing = cephMissing();
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`cephmap needs a real Ceph cluster: ${missing}`);
    process.stdout.write(`cephmap skipped: ${missing}\n`);
    return { bench: 'cephmap', figures: [], params: { skipped: missing } };
  }
  const children: Child[] = [];
  let cluster: CephCluster | undefined;
  let mon: MonClient | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-bench-cephmap-'));
  try {
    cluster = await startCephCluster();
    // mgrpc's own keyring: ceph-feed writes as client.mgrpc-feed, the watch reads as client.ro.
    const keyring = path.join(dataDir, 'keyring');
    provisionKeyring(keyring);
    const cs = startNode('services/cluster-state/main.ts', ['--port', '0', '--metrics-port', '-1', '--data-dir', dataDir, '--keyring', keyring]);
    children.push(cs);
    const csAddr = (await cs.waitForLine(/"msg":"listening","address":"([^"]+)"/))[1];
    const feed = startNode('ceph-feed/main.ts', [
      '--port',
      '0',
      '--metrics-port',
      '-1',
      '--cluster-state',
      csAddr,
      '--ceph-conf',
      cluster.confPath,
      '--ceph-keyring',
      cluster.keyringPath,
      '--keyring',
      keyring,
    ]);
    children.push(feed);
    await feed.waitForLine(/the cluster's maps are in cluster-state/, 120000);

    const channel = createChannel(csAddr);
    const client = makeClient(ClusterStateServiceDefinition, channel, { credentials: keyringCredentials(keyring, 'client.ro') });
    const abort = new AbortController();
    let newest = 0;
    let waiter: { epoch: number; resolve: () => void } | undefined;
    void (async () => {
      try {
        for await (const ev of client.watch({ afterSeq: 0, types: ['osd_map'] }, { signal: abort.signal })) {
          newest = Math.max(newest, ev.epoch);
          if (waiter && newest >= waiter.epoch) waiter.resolve();
        }
      } catch {
        /* ends with the benchmark */
      }
    })();
    // the epoch already in (the Watch sends only what changes from now on)
    newest = Math.max(newest, (await client.get({ what: 'osd_map' })).epoch);
    const inClusterState = (epoch: number) =>
      new Promise<void>((resolve, reject) => {
        if (newest >= epoch) return resolve();
        const t = setTimeout(() => reject(new Error(`cluster-state did not reach osd map epoch ${epoch} within 30 s (has ${newest})`)), 30000);
        waiter = {
          epoch,
          resolve: () => {
            clearTimeout(t);
            waiter = undefined;
            resolve();
          },
        };
      });

    // our own monitor session, to change the map and to read the epoch
    mon = new MonClient({
      monitors: monitorsFromConf(readCephConf(cluster.confPath)),
      auth: new CephxClient({ entity: 'client.admin', key: keyFromKeyring(cluster.keyringPath, 'client.admin') }),
      logger: createLogger({ bench: 'cephmap' }, 'warn'),
    });
    await mon.start();
    const epochNow = async () => JSON.parse((await mon!.command({ prefix: 'osd dump', format: 'json' })).data.toString()).epoch as number;
    await until('cluster-state at the cluster’s epoch', async () => newest >= (await epochNow()), 60000, 200);

    const fromSend: number[] = [];
    const fromAck: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const before = await epochNow();
      await until('cluster-state at the current epoch', async () => newest >= before, 30000, 50);
      const t0 = process.hrtime.bigint();
      const r = await mon.command({ prefix: i % 2 === 0 ? 'osd out' : 'osd in', ids: ['1'] });
      if (r.r !== 0) throw new Error(`osd ${i % 2 === 0 ? 'out' : 'in'} 1: ${r.r} ${r.rs}`);
      const tAck = process.hrtime.bigint();
      await inClusterState(before + 1);
      fromSend.push(ms(t0));
      fromAck.push(ms(tAck));
    }
    if (TRIALS % 2 === 1) await mon.command({ prefix: 'osd in', ids: ['1'] });

    // baselines: the CLI's `ceph osd dump` and one monitor command on a warm session
    const cli: number[] = [];
    for (let i = 0; i < DUMPS; i++) {
      const t0 = process.hrtime.bigint();
      await cluster.ceph(['osd', 'dump']);
      cli.push(ms(t0));
    }
    const wire: number[] = [];
    for (let i = 0; i < DUMPS * 5; i++) {
      const t0 = process.hrtime.bigint();
      await mon.command({ prefix: 'osd dump', format: 'json' });
      wire.push(ms(t0));
    }
    abort.abort();
    channel.close();

    const commit = fromSend.map((v, k) => v - fromAck[k]);
    const [s, a, c, w, k] = [sorted(fromSend), sorted(fromAck), sorted(cli), sorted(wire), sorted(commit)];
    const cli50 = { baseline: percentile(c, 50), baselineName: '`ceph osd dump -f json` round trip p50' };
    const cli99 = { baseline: percentile(c, 99), baselineName: '`ceph osd dump -f json` round trip p99' };
    const figures: Figure[] = [
      {
        name: 'cephmap_commit_to_cluster_state_p50',
        value: percentile(a, 50),
        unit: 'ms',
        ...cli50,
        note: 'the monitors’ answer to osd out/in (committed, published) -> the new epoch in cluster-state',
      },
      { name: 'cephmap_commit_to_cluster_state_p99', value: percentile(a, 99), unit: 'ms', ...cli99 },
      {
        name: 'cephmap_change_to_cluster_state_p50',
        value: percentile(s, 50),
        unit: 'ms',
        ...cli50,
        note: 'osd out/in sent -> the new epoch in cluster-state: the monitors’ Paxos commit included',
      },
      { name: 'cephmap_change_to_cluster_state_p99', value: percentile(s, 99), unit: 'ms', ...cli99 },
      {
        name: 'cephmap_monitor_commit_p50',
        value: percentile(k, 50),
        unit: 'ms',
        note: 'osd out/in sent -> the monitors’ answer (their share of the figure above)',
      },
      {
        name: 'cephmap_osd_dump_command_p50',
        value: percentile(w, 50),
        unit: 'ms',
        ...cli50,
        note: '`osd dump` as one monitor command on a warm session: one of the reads the feed makes per epoch',
      },
    ];
    return { bench: 'cephmap', figures, params: { trials: TRIALS, dumps: DUMPS, osds: 3, mons: 1 } };
  } finally {
    mon?.stop();
    for (const c of children.reverse()) await c.kill();
    await cluster?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
