// PG statistics: the fixture's `pg dump` is split into the per-OSD MPGStats
// reports the OSDs would have sent (each PG reported by its acting primary),
// ingested over gRPC, and the derived views are checked against what Ceph
// derived from the same cluster.
import { Status } from 'nice-grpc';
import { shapeDiff } from '../../../lib/testing/shape';
import { startTestServer, fixture, json, parse, failure, pgReportsFrom as reportsFrom } from './helpers';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';
import { PgStatsReport } from '../../../lib/gen/ceph/mgr/v1/pg_stats';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { makeClient, openChannel } from '../../../lib/client';
import { asBytes, normalized } from '../../../lib/raw-methods';
import { WireWriter } from '../../../lib/wire';

const dump = fixture('mgrget-pg_dump.json');
const STAMP = 1795585700;

const byKey = (key: string) => (a: any, b: any) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0);

describe('cluster-state PGMap', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  const get = async (what: string) => parse((await t.client.get({ what })).json);
  beforeAll(async () => {
    t = await startTestServer();
    const osdMap = fixture('mgrget-osd_map.json');
    await t.client.putMap({ name: 'osd_map', epoch: osdMap.epoch, json: json(osdMap) });
    await t.client.putMap({ name: 'crush_map', epoch: 1, json: json(fixture('mgrget-osd_map_crush.json')) });
    const res = await t.client.ingestPgStats({ stats: reportsFrom(dump.pg_stats, STAMP) });
    expect(res).toEqual({ applied: 3, rejected: [] });
  });
  afterAll(() => t.close());

  it('derives pg_summary exactly as Ceph did', async () => {
    expect(await get('pg_summary')).toEqual(fixture('mgrget-pg_summary.json'));
  });

  it('derives pool_stats exactly', async () => {
    const mine = (await get('pool_stats')).pool_stats.sort(byKey('poolid'));
    expect(mine).toEqual(fixture('mgrget-pool_stats.json').pool_stats.sort(byKey('poolid')));
  });

  it('serves pg_stats and osd_stats as reported', async () => {
    const pgs = (await get('pg_stats')).pg_stats.sort(byKey('pgid'));
    expect(pgs).toEqual([...dump.pg_stats].sort(byKey('pgid')));
    const osd = await get('osd_stats');
    expect(shapeDiff(osd, fixture('mgrget-osd_stats.json'))).toEqual([]);
    expect(osd.osd_stats.sort(byKey('osd'))).toEqual([...dump.osd_stats].sort(byKey('osd')));
  });

  it('builds pg_dump in its shape, with the sums Ceph computed', async () => {
    const mine = await get('pg_dump');
    expect(shapeDiff(mine, dump)).toEqual([]);
    expect(mine.pg_stats_sum).toEqual(dump.pg_stats_sum);
    expect(mine.osd_stats_sum).toEqual(dump.osd_stats_sum);
  });

  it('derives pg_status: counts, bytes and states', async () => {
    const ref = fixture('mgrget-pg_status.json');
    const mine = await get('pg_status');
    for (const k of ['bytes_avail', 'bytes_total', 'bytes_used', 'data_bytes', 'num_objects', 'num_pgs', 'num_pools', 'pgs_by_state', 'pgs_by_pool_state']) {
      expect([k, mine[k]]).toEqual([k, ref[k]]);
    }
  });

  it('derives df: cluster totals, per-class totals and per-pool usage', async () => {
    const ref = fixture('mgrget-df.json');
    const mine = await get('df');
    expect(shapeDiff(mine, ref)).toEqual([]);
    expect(mine.stats).toEqual(ref.stats);
    expect(mine.stats_by_class).toEqual(ref.stats_by_class);
    for (const pool of ref.pools) {
      const p = mine.pools.find((x: any) => x.id === pool.id);
      for (const k of [
        'objects',
        'stored',
        'stored_raw',
        'bytes_used',
        'kb_used',
        'dirty',
        'quota_bytes',
        'avail_raw',
        'max_avail',
        'percent_used',
        'wr',
        'wr_bytes',
      ])
        expect([pool.name, k, p.stats[k]]).toEqual([pool.name, k, pool.stats[k]]);
    }
  });

  it('derives io_rate, pg_status and osd_pool_stats rates from the delta between reports', async () => {
    // Ten seconds later pool 5 wrote 433 more objects of 4 KiB each.
    const later = dump.pg_stats.map((pg: any) => {
      if (!pg.pgid.startsWith('5.') || pg.pgid !== '5.0') return pg;
      return {
        ...pg,
        stat_sum: {
          ...pg.stat_sum,
          num_write: pg.stat_sum.num_write + 4330,
          num_write_kb: pg.stat_sum.num_write_kb + 17320,
          num_objects: pg.stat_sum.num_objects + 4330,
        },
      };
    });
    await t.client.ingestPgStats({ stats: reportsFrom(later, STAMP + 10) });
    const io = await get('io_rate');
    expect(shapeDiff(io, fixture('mgrget-io_rate.json'))).toEqual([]);
    expect(io.pg_stats_delta.stamp_delta).toBe('10.000000');
    expect(io.pg_stats_delta.stat_sum.num_write).toBe(4330);
    const status = await get('pg_status');
    expect(status.write_op_per_sec).toBe(433);
    expect(status.write_bytes_sec).toBe(Math.trunc((17320 * 1024) / 10));
    expect(status.read_op_per_sec).toBe(0);
    const pools = await get('osd_pool_stats');
    expect(shapeDiff(pools, fixture('mgrget-osd_pool_stats.json'))).toEqual([]);
    const five = pools.pool_stats.find((p: any) => p.pool_id === 5);
    expect(five.client_io_rate).toEqual({ read_op_per_sec: 0, write_bytes_sec: Math.trunc((17320 * 1024) / 10), write_op_per_sec: 433 });
    expect(pools.pool_stats.find((p: any) => p.pool_id === 1).client_io_rate).toEqual({});
  });

  it('rejects malformed reports with reasons and applies the good ones', async () => {
    const before = await get('pg_summary');
    const good = reportsFrom(dump.pg_stats, STAMP + 20)[0].report;
    const noState = pgStatsReportFromJson({ pg_stat: { '1.0': { acting: [2] } } });
    const noPgid = PgStatsReport.fromPartial({ pgStats: [{ state: 'active+clean' }] });
    const truncated = Buffer.from(PgStatsReport.encode(good).finish()).subarray(0, 100);
    const res = await t.client.ingestPgStats({
      stats: [
        { osd: 0, epoch: 27, stamp: STAMP + 20, json: json({ pg_stat: {} }) },
        { osd: 1, epoch: 27, stamp: STAMP + 20, report: noState },
        { osd: 2, epoch: 27, stamp: STAMP + 20, report: noPgid },
        { osd: 1, epoch: 27, stamp: STAMP + 20 },
        { osd: -1, epoch: 27, stamp: STAMP + 20, report: good },
      ],
    });
    expect(res.applied).toBe(0);
    expect(res.rejected).toEqual([
      expect.stringMatching(/osd.0: pg stats as JSON \(OsdPgStats.json\) are no longer accepted: send the typed report/),
      expect.stringMatching(/osd.1: pg stats do not decode: pg 1.0 has no state/),
      expect.stringMatching(/osd.2: pg stats do not decode: a pg_stat has no pgid/),
      expect.stringMatching(/osd.1: the entry has no report/),
      expect.stringMatching(/osd id must be a non-negative whole number/),
    ]);
    expect(await get('pg_summary')).toEqual(before);
    // bytes that do not decode: the entry is refused, the others apply
    const def = normalized(ClusterStateServiceDefinition);
    const channel = openChannel(t.handle.address);
    const raw = makeClient({ ...def, ingestPgStats: { ...def.ingestPgStats, requestSerialize: asBytes } }, channel);
    const request = new WireWriter();
    for (const r of [truncated, PgStatsReport.encode(good).finish()]) {
      request.bytesField(
        1,
        new WireWriter()
          .tag(1, 0)
          .varint32(0)
          .tag(3, 1)
          .double(STAMP + 25)
          .bytesField(5, r)
          .finish(),
      );
    }
    const res2 = await raw.ingestPgStats(request.finish());
    channel.close();
    expect(res2.applied).toBe(1);
    expect(res2.rejected).toEqual([expect.stringMatching(/osd.0: pg stats do not decode: .*runs past the end/)]);
  });

  it('raises PG health checks from degraded PGs', async () => {
    const degraded = dump.pg_stats.map((pg: any) =>
      pg.pgid === '1.0' ? { ...pg, state: 'active+undersized+degraded', stat_sum: { ...pg.stat_sum, num_objects_degraded: 3 } } : pg,
    );
    await t.client.ingestPgStats({ stats: reportsFrom(degraded, STAMP + 30) });
    const health = JSON.parse((await get('health')).json);
    expect(health.status).toBe('HEALTH_WARN');
    expect(health.checks.PG_DEGRADED.summary.count).toBe(1);
    expect(health.checks.PG_DEGRADED.detail[0].message).toMatch(/pg 1.0 is active\+undersized\+degraded/);
    expect((await get('pg_summary')).all).toEqual({ 'active+clean': 88, 'active+undersized+degraded': 1 });
  });

  it('sends one pg_summary event per batch, however many OSDs it carried', async () => {
    const base = (await t.client.putMap({ name: 'service_map', epoch: 1, json: json({ epoch: 1, services: {} }) })).seq;
    await t.client.ingestPgStats({ stats: reportsFrom(dump.pg_stats, STAMP + 40) });
    await t.client.putMap({ name: 'service_map', epoch: 2, json: json({ epoch: 2, services: {} }) });
    const seen: string[] = [];
    for await (const ev of t.client.watch({ afterSeq: base, types: [] })) {
      seen.push(ev.type);
      if (ev.type === 'service_map') break;
    }
    // The batch of three OSD reports: one pg_summary (and the health it cleared).
    expect(seen.filter((x) => x === 'pg_summary')).toEqual(['pg_summary']);
  });

  it("merges the monitors' health (map health_mon) with derived checks", async () => {
    const mon = JSON.parse(fixture('mgrget-health-warn.json').json);
    await t.client.putMap({ name: 'health_mon', epoch: 1, json: json(mon) });
    const health = JSON.parse((await get('health')).json);
    expect(health.status).toBe('HEALTH_ERR');
    expect(Object.keys(health.checks).sort()).toEqual(Object.keys(mon.checks).sort());
    expect(health.checks.OSDMAP_FLAGS).toEqual(mon.checks.OSDMAP_FLAGS);
    // The changes reach the cluster log in the monitors' words.
    const messages = async () => (await get('cluster_log')).entries.map((e: any) => `[${e.priority}] ${e.message}`);
    expect(await messages()).toEqual(
      expect.arrayContaining([
        "[ERR] Health check failed: Module 'prometheus' has failed: Timeout('Port 9283 not free on 127.0.0.1.') (MGR_MODULE_ERROR)",
        '[WRN] Health check failed: noout flag(s) set (OSDMAP_FLAGS)',
      ]),
    );
    await t.client.putMap({ name: 'health_mon', epoch: 2, json: json({ status: 'HEALTH_OK', checks: {}, mutes: [] }) });
    expect(await messages()).toEqual(
      expect.arrayContaining(['[INF] Health check cleared: OSDMAP_FLAGS (was: noout flag(s) set)', '[INF] Cluster is now healthy']),
    );
  });

  it('answers pg_ready once every up OSD has reported', async () => {
    expect(await get('pg_ready')).toEqual({ pg_ready: true });
  });

  it('refuses an empty get name', async () => {
    expect((await failure(t.client.get({ what: '' }))).code).toBe(Status.INVALID_ARGUMENT);
  });
});
