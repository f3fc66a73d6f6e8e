// The typed ingest path end to end: the simulator's daemons (one MgrClient
// session each, counter values in Ceph's packed layout, pg stats as typed
// protobuf from the load generator's encoder) report to a real
// daemon-server, which forwards without decoding, to a real cluster-state.
// With the clock pinned, every counter value and every PG and OSD stat that
// cluster-state serves must be exactly what the simulator sent.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openChannel, makeClient } from '../lib/client';
import { createLogger } from '../lib/log';
import { keyFromKeyring } from '../lib/keyring';
import { until } from '../lib/testing/wait';
import { ClusterStateServiceDefinition, DaemonQueryKind } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { startClusterState, ClusterStateHandle } from '../services/cluster-state/server';
import { startDaemonServer, DaemonServerHandle } from '../services/daemon-server/server';
import { SimCluster } from '../sim/cluster';
import { FakeDaemons } from '../sim/daemons';
import { osdPerfSchema, slotsOf } from '../sim/perf';

const T = 1795585000.25;

describe('typed ingest: daemons -> daemon-server -> cluster-state', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-typed-ingest-'));
  const sim = new SimCluster({ osds: 24, pgs: 240, pools: 5, now: () => T });
  let cs: ClusterStateHandle;
  let ds: DaemonServerHandle;
  let daemons: FakeDaemons;
  const channel = () => openChannel(cs.address);
  let client: ReturnType<typeof makeClient<typeof ClusterStateServiceDefinition>>;
  const getJson = async (what: string) => JSON.parse(Buffer.from((await client.get({ what })).json).toString('utf8'));

  beforeAll(async () => {
    cs = await startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', dataDir: path.join(dir, 'cs') });
    client = makeClient(ClusterStateServiceDefinition, channel());
    const osdMap = sim.osdMap();
    await client.putMap({ name: 'osd_map', epoch: osdMap.epoch, json: Buffer.from(JSON.stringify(osdMap)) });
    ds = await startDaemonServer({
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      clusterStateAddr: cs.address,
      keyringPath: path.join(dir, 'keyring'),
      statsPeriod: 0.2,
      flushIntervalMs: 20,
    });
    const auth = { entity: 'client.admin', key: keyFromKeyring(path.join(dir, 'keyring'), 'client.admin') };
    daemons = new FakeDaemons({ cluster: sim, address: ds.address, auth, logger: createLogger({ test: 'typed-ingest' }, 'error') }).start();
    await until('every PG in cluster-state', async () => (await getJson('pg_stats')).pg_stats.length === sim.pgs.length, 60000);
  });

  afterAll(async () => {
    await daemons?.stop();
    await ds?.stop();
    await cs?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every PG and OSD stat arrives as the OSDs reported it', async () => {
    const sent = sim.osds.map((o) => sim.osdPgStats(o.id, T));
    const pgs = (await getJson('pg_stats')).pg_stats;
    expect(Object.fromEntries(pgs.map((p: any) => [p.pgid, p]))).toEqual(Object.assign({}, ...sent.map((s) => s.pg_stat)));
    const { osd_stats, pool_statfs } = await getJson('osd_stats');
    expect(Object.fromEntries(osd_stats.map((o: any) => [o.osd, o]))).toEqual(Object.fromEntries(sent.map((s) => [s.osd_stat.osd, s.osd_stat])));
    const statfs = sent.flatMap((s) => Object.entries<any>(s.pool_stat).map(([pool, st]) => ({ poolid: Number(pool), osd: s.osd_stat.osd, ...st })));
    const key = (e: any) => `${e.poolid}:${e.osd}`;
    expect(Object.fromEntries(pool_statfs.map((e: any) => [key(e), e]))).toEqual(Object.fromEntries(statfs.map((e) => [key(e), e])));
  });

  it('every counter value arrives as the daemons reported it', async () => {
    const schema = osdPerfSchema();
    await until(
      "every daemon's counters",
      async () => {
        const all = JSON.parse(
          Buffer.from((await client.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_ALL_PERF_COUNTERS, prioLimit: 0, services: [] })).json).toString(
            'utf8',
          ),
        );
        return sim.osds.every((o) => Object.keys(all[`osd.${o.id}`] ?? {}).length > 0) && !!all['mds.a'] && !!all['rgw.gw1'];
      },
      30000,
    );
    const all = JSON.parse(
      Buffer.from((await client.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_ALL_PERF_COUNTERS, prioLimit: 0, services: [] })).json).toString('utf8'),
    );
    let checked = 0;
    for (const o of sim.osds) {
      const values = sim.osdPerfValues(o.id, T);
      const mine = all[`osd.${o.id}`];
      let slot = 0;
      for (const c of schema) {
        const v = values[slot];
        const count = values[slot + 1];
        slot += slotsOf(c.type);
        if (c.priority < 5) {
          expect(mine[c.path]).toBeUndefined(); // below the stats threshold: never declared
          continue;
        }
        expect([c.path, mine[c.path].value]).toEqual([c.path, v]);
        if (c.type & 4) expect([c.path, mine[c.path].count]).toEqual([c.path, count]);
        checked++;
      }
    }
    expect(checked).toBe(sim.osds.length * schema.filter((c) => c.priority >= 5).length);
    // one counter's history through get_counter: every sample the same value, at most 20
    const opw = JSON.parse(
      Buffer.from(
        (await client.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, svcType: 'osd', svcId: '3', path: 'osd.op_w', services: [] })).json,
      ).toString(),
    )['osd.op_w'];
    const expected = sim.osdPerfValues(3, T)[
      schema
        .slice(
          0,
          schema.findIndex((c) => c.path === 'osd.op_w'),
        )
        .reduce((n, c) => n + slotsOf(c.type), 0)
    ];
    expect(opw.length).toBeGreaterThan(0);
    expect(opw.length).toBeLessThanOrEqual(20);
    for (const [, v] of opw) expect(v).toBe(expected);
  });
});
