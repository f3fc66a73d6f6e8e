// PGMap's health checks on PG and OSD statistics (pg-health.ts), each from a
// minimal input, with Ceph's messages.
import { pgHealthChecks, PgHealthInput, scrubCutoffs } from '../domain/pg-health';
import { PgMap } from '../domain/pgmap';
import { PgStatsReport } from '../../../lib/gen/ceph/mgr/v1/pg_stats';
import { fixture, pgReportsFrom } from './helpers';

const NOW = 1_790_000_000;
const stamp = (sec: number) => new Date(sec * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000+0000');
const fresh = { last_scrub_stamp: stamp(NOW - 3600), last_deep_scrub_stamp: stamp(NOW - 3600) };
const pg = (pgid: string, state: string, extra: object = {}) => ({ pgid, state, acting: [0, 1, 2], up: [0, 1, 2], ...fresh, ...extra });
const run = (o: Partial<PgHealthInput>) => pgHealthChecks({ pgStats: [], osdStats: [], sum: {}, numInOsds: 3, now: NOW, ...o });

describe('PG health checks', () => {
  it('nothing on a clean cluster', () => {
    expect([...run({ pgStats: [pg('1.0', 'active+clean'), pg('1.1', 'active+clean')] })]).toEqual([]);
  });

  it('damaged PGs, recovery and backfill held up by full OSDs', () => {
    const c = run({
      pgStats: [
        pg('1.0', 'active+clean+inconsistent'),
        pg('1.1', 'active+recovery_toofull+degraded'),
        pg('1.2', 'active+remapped+backfill_toofull'),
        pg('1.3', 'active+clean+inconsistent'),
      ],
    });
    expect(c.get('PG_DAMAGED')).toEqual({
      severity: 'HEALTH_ERR',
      message: 'Possible data damage: 2 pgs inconsistent',
      count: 2,
      detail: ['pg 1.0 is active+clean+inconsistent, acting [0,1,2]', 'pg 1.3 is active+clean+inconsistent, acting [0,1,2]'],
    });
    expect(c.get('PG_RECOVERY_FULL')!.message).toBe('Degraded data redundancy (low space): 1 pg recovery_toofull');
    expect(c.get('PG_BACKFILL_FULL')).toMatchObject({ severity: 'HEALTH_WARN', count: 1 });
  });

  it('scrub errors, repaired reads, unfound objects', () => {
    const c = run({
      pgStats: [pg('2.0', 'active+clean', { stat_sum: { num_objects_unfound: 3 } })],
      osdStats: [
        { osd: 0, num_shards_repaired: 11 },
        { osd: 1, num_shards_repaired: 10 },
      ],
      sum: { num_scrub_errors: 4, num_objects_unfound: 3, num_objects: 300 },
    });
    expect(c.get('OSD_SCRUB_ERRORS')).toEqual({ severity: 'HEALTH_ERR', message: '4 scrub errors', count: 4, detail: [] });
    expect(c.get('OSD_TOO_MANY_REPAIRS')).toEqual({
      severity: 'HEALTH_WARN',
      message: 'Too many repaired reads on 1 OSDs',
      count: 1,
      detail: ['osd.0 had 11 reads repaired'],
    });
    expect(c.get('OBJECT_UNFOUND')).toEqual({
      severity: 'HEALTH_WARN',
      message: '3/300 objects unfound (1.000%)',
      count: 3,
      detail: ['pg 2.0 has 3 unfound objects'],
    });
  });

  it("the OSDs' object store alerts, one check per alert type", () => {
    const c = run({
      osdStats: [
        { osd: 0, alerts: [{ BLUESTORE_SPURIOUS_READ_ERRORS: 'reads with retries: 2' }] },
        { osd: 1, alerts: { BLUESTORE_SPURIOUS_READ_ERRORS: 'reads with retries: 1', BLUESTORE_DISK_SIZE_MISMATCH: 'size 100 != 90' } },
        { osd: 2, alerts: [] },
      ],
    });
    expect(c.get('BLUESTORE_SPURIOUS_READ_ERRORS')).toEqual({
      severity: 'HEALTH_WARN',
      message: 'Detected spurious read errors on 2 OSD(s)',
      count: 2,
      detail: [' osd.0 reads with retries: 2', ' osd.1 reads with retries: 1'],
    });
    expect(c.get('BLUESTORE_DISK_SIZE_MISMATCH')!.count).toBe(1);
  });

  it('too many PGs per OSD', () => {
    const pgs = Array.from({ length: 300 }, (_, i) => pg(`3.${i.toString(16)}`, 'active+clean'));
    // 300 PGs of 3 replicas on 3 OSDs: 300 per OSD, over Ceph's 250; on 6 OSDs, 150
    expect(run({ pgStats: pgs, numInOsds: 6 }).get('TOO_MANY_PGS')).toBeUndefined();
    expect(run({ pgStats: pgs, numInOsds: 3 }).get('TOO_MANY_PGS')!.message).toBe('too many PGs per OSD (300 > max 250)');
    expect(run({ pgStats: pgs, numInOsds: 3, config: { mon_max_pg_per_osd: 200 } }).get('TOO_MANY_PGS')).toEqual({
      severity: 'HEALTH_WARN',
      message: 'too many PGs per OSD (300 > max 200)',
      count: 100,
      detail: [],
    });
  });

  it('PGs not scrubbed (10.5 days) or deep-scrubbed (12.25 days) in time, in UTC stamps or others', () => {
    const day = 86400;
    const c = run({
      pgStats: [
        pg('4.0', 'active+clean', { last_scrub_stamp: stamp(NOW - 11 * day) }),
        pg('4.1', 'active+clean', { last_scrub_stamp: stamp(NOW - 10 * day), last_deep_scrub_stamp: '2020-01-01T00:00:00.000000+0200' }),
      ],
    });
    expect(c.get('PG_NOT_SCRUBBED')).toMatchObject({ message: '1 pgs not scrubbed in time', detail: [`pg 4.0 not scrubbed since ${stamp(NOW - 11 * day)}`] });
    expect(c.get('PG_NOT_DEEP_SCRUBBED')).toMatchObject({ message: '1 pgs not deep-scrubbed in time', count: 1 });
  });

  it("with the up sets' total given, pgStats need list only the PGs that may raise a check", () => {
    // 300 PGs on 3 OSDs, none of them listed: the total alone says 300 per OSD
    expect(run({ pgStats: [], upTotal: 900, numInOsds: 3 }).get('TOO_MANY_PGS')!.message).toBe('too many PGs per OSD (300 > max 250)');
    expect(run({ pgStats: [pg('3.0', 'active+clean')], upTotal: 300, numInOsds: 3 }).get('TOO_MANY_PGS')).toBeUndefined();
  });

  it("the PG map's columns give the checks only the PGs that may raise one, with the same result as every PG", () => {
    const day = 86400;
    const dump = fixture('mgrget-pg_dump.json');
    const now = 1795585700;
    const old = new Date((now - 20 * day) * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000+0000');
    const changed: Record<string, (p: any) => void> = {
      '1.0': (p) => (p.state = 'active+clean+inconsistent'),
      '2.0': (p) => (p.stat_sum = { ...p.stat_sum, num_objects_unfound: 2 }),
      '4.5': (p) => (p.last_scrub_stamp = old),
      '3.1': (p) => (p.last_deep_scrub_stamp = old),
    };
    const recent = new Date((now - day) * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000+0000');
    const pgStats = dump.pg_stats.map((p: any) => {
      const q = { ...p, state: 'active+clean', last_scrub_stamp: recent, last_deep_scrub_stamp: recent };
      changed[p.pgid]?.(q);
      return q;
    });
    expect(pgStats.filter((p: any) => changed[p.pgid])).toHaveLength(4);
    const map = new PgMap();
    for (const e of pgReportsFrom(pgStats, now)) map.commit(e.osd, e.epoch, e.stamp, map.stage(PgStatsReport.encode(e.report).finish()));
    map.endBatch();
    // one view moves from row to row: read it while iterating
    const pgids = (it: Iterable<{ pgid: string }>) => Array.from(it, (p) => p.pgid).sort();
    expect(pgids(map.healthPgs(scrubCutoffs(now)))).toEqual(Object.keys(changed).sort());
    expect(pgids(map.healthPgs())).toHaveLength(dump.pg_stats.length);
    const input = { osdStats: map.healthOsds(), sum: map.sum.stat_sum, numInOsds: 1, now, config: { mon_max_pg_per_osd: 100 } };
    const every = pgHealthChecks({ ...input, pgStats: map.healthPgs() });
    const few = pgHealthChecks({ ...input, osdStats: map.healthOsds(), pgStats: map.healthPgs(scrubCutoffs(now)), upTotal: map.sum.up });
    expect([...every.keys()].sort()).toEqual(['OBJECT_UNFOUND', 'PG_DAMAGED', 'PG_NOT_DEEP_SCRUBBED', 'PG_NOT_SCRUBBED', 'TOO_MANY_PGS']);
    expect(few).toEqual(every);
  });
});
