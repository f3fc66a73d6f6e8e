// The simulator's cluster model (sim/cluster.ts) feeding a real cluster-state:
// its maps and per-OSD pg stats must be accepted and give consistent views.
import { SimCluster } from '../../../sim/cluster';
import { shapeDiff } from '../../../lib/testing/shape';
import { startTestServer, fixture, json, parse } from './helpers';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';

describe('cluster-state fed by the simulator (1,000 OSDs)', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  const sim = new SimCluster({ osds: 1000, pgs: 8192, seed: 7, now: () => 1795585700 });
  const get = async (what: string) => parse((await t.client.get({ what })).json);
  beforeAll(async () => {
    t = await startTestServer();
    const osdMap = sim.osdMap();
    await t.client.putMap({ name: 'osd_map', epoch: osdMap.epoch, json: json(osdMap) });
    await t.client.putMap({ name: 'crush_map', epoch: 1, json: json(sim.crushMap()) });
    await t.client.putMap({ name: 'osd_metadata', epoch: 1, json: json(sim.osdMetadata()) });
    for (const stamp of [1795585700, 1795585705]) {
      const stats = sim.osds.map((o) => ({ osd: o.id, epoch: osdMap.epoch, stamp, report: pgStatsReportFromJson(sim.osdPgStats(o.id, stamp)) }));
      const res = await t.client.ingestPgStats({ stats });
      expect(res.rejected).toEqual([]);
      expect(res.applied).toBe(1000);
    }
  });
  afterAll(() => t.close());

  it("counts every PG once and gives the fixtures' shapes", async () => {
    const summary = await get('pg_summary');
    expect(Object.values<number>(summary.all).reduce((a, b) => a + b, 0)).toBe(sim.pgs.length);
    expect(shapeDiff(summary, fixture('mgrget-pg_summary.json'), { mapPaths: ['$.all', '$.by_osd', '$.by_pool', '$.by_osd.0', '$.by_pool.1'] })).toEqual([]);
    const status = await get('pg_status');
    expect(status.num_pgs).toBe(sim.pgs.length);
    expect(status.num_pools).toBe(sim.pools.length);
    const df = await get('df');
    expect(shapeDiff(df, fixture('mgrget-df.json'))).toEqual([]);
    expect(df.stats.num_osds).toBe(1000);
    const tree = await get('osd_map_tree');
    expect(tree.nodes.filter((n: any) => n.type === 'osd')).toHaveLength(1000);
    expect(tree.stray).toEqual([]);
    expect(shapeDiff(await get('io_rate'), fixture('mgrget-io_rate.json'))).toEqual([]);
    expect(await get('pg_ready')).toEqual({ pg_ready: true });
  });
});
