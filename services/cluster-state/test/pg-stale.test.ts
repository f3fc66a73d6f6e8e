// PGs whose acting primary goes down are marked stale, as Ceph's PGMap does
// on each new osd map: ceph -s (pg_map_digest, pg_summary), pg dump and
// health (PG_AVAILABILITY) stop showing their last reported state as
// current; the PG's next report clears the mark.
import { fixture, json, parse, pgReportsFrom, startTestServer } from './helpers';

const dump = fixture('mgrget-pg_dump.json');
const STAMP = 1795585700;

describe('cluster-state: stale PGs', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  const get = async (what: string) => parse((await t.client.get({ what })).json);
  /** get('health') is Ceph's {json: "..."}. */
  const checks = async () => JSON.parse((await get('health')).json).checks;
  const osdMap = fixture('mgrget-osd_map.json');
  const putOsdMap = (epoch: number, down: number[]) =>
    t.client.putMap({
      name: 'osd_map',
      epoch,
      json: json({ ...osdMap, epoch, osds: osdMap.osds.map((o: any) => (down.includes(o.osd) ? { ...o, up: 0 } : o)) }),
    });
  const onOsd0 = dump.pg_stats.filter((p: any) => p.acting_primary === 0).length;
  const total = dump.pg_stats.length;

  beforeAll(async () => {
    t = await startTestServer();
    await putOsdMap(osdMap.epoch, []);
    await t.client.putMap({ name: 'crush_map', epoch: 1, json: json(fixture('mgrget-osd_map_crush.json')) });
    expect(await t.client.ingestPgStats({ stats: pgReportsFrom(dump.pg_stats, STAMP) })).toEqual({ applied: 3, rejected: [] });
  });
  afterAll(() => t.close());

  it('marks the PGs of a down primary stale, and their next report clears it', async () => {
    expect(onOsd0).toBeGreaterThan(0);
    await putOsdMap(osdMap.epoch + 1, [0]);
    const states = (await get('pg_stats')).pg_stats.map((p: any) => [p.acting_primary, p.state]);
    expect(states.filter(([primary]: [number]) => primary === 0).every(([, st]: [number, string]) => st === 'stale+active+clean')).toBe(true);
    expect(states.filter(([primary]: [number]) => primary !== 0).every(([, st]: [number, string]) => st === 'active+clean')).toBe(true);
    expect((await get('pg_map_digest')).num_pg_by_state).toEqual({ 'active+clean': total - onOsd0, 'stale+active+clean': onOsd0 });
    expect((await checks()).PG_AVAILABILITY.summary).toEqual({ message: `Reduced data availability: ${onOsd0} pgs stale`, count: onOsd0 });
    // a second map with the OSD still down changes nothing
    await putOsdMap(osdMap.epoch + 2, [0]);
    expect((await get('pg_map_digest')).num_pg_by_state['stale+active+clean']).toBe(onOsd0);

    // the PGs come back with their next report (their new primary, or the OSD once up again)
    await putOsdMap(osdMap.epoch + 3, []);
    await t.client.ingestPgStats({ stats: pgReportsFrom(dump.pg_stats, STAMP + 10) });
    expect((await get('pg_map_digest')).num_pg_by_state).toEqual({ 'active+clean': total });
    expect((await checks()).PG_AVAILABILITY).toBeUndefined();
  });
});
