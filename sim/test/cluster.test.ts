import * as fs from 'fs';
import * as path from 'path';
import { SimCluster, splitByWeight } from '../cluster';
import { osdPerfSchema, mdsPerfSchema, monPerfSchema, slotsOf } from '../perf';
import { shapeDiff } from './shape';
import { itWith } from '../../lib/testing/external';

// The fixtures live beside the repository, in shared/ (CI has a copy).
const FIXTURES = path.join(__dirname, '../../../shared/fixtures/ceph-pacific');
const haveFixtures = fs.existsSync(path.join(FIXTURES, 'mgrget-osd_map.json'));
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const T0 = 1_790_000_000; // a fixed clock so that the test is deterministic
const itFx = itWith(!haveFixtures && `the Ceph fixtures are not at ${FIXTURES}`, 'put shared/ beside the repository');

describe('SimCluster maps match the Pacific fixtures key by key', () => {
  const c = new SimCluster({ now: () => T0 });

  itFx('osd_map', () => {
    expect(
      shapeDiff(c.osdMap(), fixture('mgrget-osd_map.json'), {
        dynamic: ['blocklist', 'pools[].application_metadata', 'pools[].options', 'pools[].application_metadata.*'],
      }),
    ).toEqual([]);
  });
  itFx('osd_map_crush', () => {
    expect(shapeDiff(c.crushMap(), fixture('mgrget-osd_map_crush.json'))).toEqual([]);
  });
  itFx('fs_map, mon_map, service_map', () => {
    expect(shapeDiff(c.fsMap(), fixture('mgrget-fs_map.json'), { dynamic: ['filesystems[].mdsmap.info'] })).toEqual([]);
    expect(shapeDiff(c.monMap(), fixture('mgrget-mon_map.json'))).toEqual([]);
    expect(shapeDiff(c.serviceMap(3, false), fixture('mgrget-service_map.json'))).toEqual([]);
  });
  itFx('metadata', () => {
    // The fixture's OSDs are memstore; the simulated ones are BlueStore on a whole disk, so
    // their metadata also has the keys a real BlueStore OSD reports (BlueStore and
    // KernelDevice collect_metadata in Ceph), with string values like every other key.
    const bluestoreKeys = [
      'bluefs',
      'bluefs_dedicated_db',
      'bluefs_dedicated_wal',
      'bluefs_single_shared_device',
      'bluestore_bdev_access_mode',
      'bluestore_bdev_block_size',
      'bluestore_bdev_dev_node',
      'bluestore_bdev_devices',
      'bluestore_bdev_driver',
      'bluestore_bdev_partition_path',
      'bluestore_bdev_rotational',
      'bluestore_bdev_size',
      'bluestore_bdev_support_discard',
      'bluestore_bdev_type',
    ];
    const osdFixture = fixture('mgrget-osd_metadata.json')['0'];
    const bluestoreShape = { ...osdFixture, ...Object.fromEntries(bluestoreKeys.map((k) => [k, ''])) };
    expect(shapeDiff(c.osdMetadata(), { '0': bluestoreShape }, { dynamic: [''] })).toEqual([]);
    const md = c.osdMetadataOf(1);
    expect(md).toMatchObject({ osd_objectstore: 'bluestore', bluestore_bdev_dev_node: '/dev/sdc', devices: 'sdc' });
    expect(md.device_ids).toMatch(/^sdc=\S+$/);
    expect(shapeDiff(c.mdsMetadata(), fixture('mgrget-mds_metadata.json'), { dynamic: [''] })).toEqual([]);
    // mon metadata is keyed by name, each entry as get_metadata("mon", name); hostMetadata adds nothing new
    expect(shapeDiff(c.monMetadata().a, fixture('mgrget-get_metadata-mon-a.json'))).toEqual([]);
  });
  itFx('pg stats as pg_dump entries', () => {
    const dump = fixture('mgrget-pg_dump.json');
    const s = c.osdPgStats(0, T0 + 60);
    expect(Object.keys(s.pg_stat).length).toBeGreaterThan(0);
    for (const pg of Object.values(s.pg_stat)) expect(shapeDiff(pg, dump.pg_stats[0])).toEqual([]);
    expect(shapeDiff(s.osd_stat, dump.osd_stats[0])).toEqual([]);
    for (const st of Object.values(s.pool_stat)) expect(shapeDiff(st, dump.pool_stats[0].store_stats)).toEqual([]);
  });
});

describe('SimCluster model', () => {
  it('defaults to the fixture cluster: 3 OSDs, 5 pools, 89 PGs, all clean', () => {
    const c = new SimCluster({ now: () => T0 });
    expect(c.pools.map((p) => [p.name, p.pgNum])).toEqual([
      ['cephfs_metadata', 8],
      ['device_health_metrics', 1],
      ['cephfs_data', 32],
      ['rbd', 32],
      ['anchor', 16],
    ]);
    expect(c.pgs).toHaveLength(89);
    expect(c.pgStateCounts()).toEqual({ 'active+clean': 89 });
    const m = c.osdMap();
    expect(m.epoch).toBe(27);
    expect(m.max_osd).toBe(3);
    // every PG has 3 distinct OSDs; every OSD holds every PG on a 3-OSD cluster
    for (const pg of c.pgs) expect(new Set(pg.acting).size).toBe(3);
    for (let o = 0; o < 3; o++) expect(c.pgCountOf(o)).toBe(89);
    // each PG is reported by exactly one OSD, its primary
    const reported = [0, 1, 2].flatMap((o) => Object.keys(c.osdPgStats(o, T0).pg_stat));
    expect(reported.sort()).toEqual(c.pgs.map((p) => p.pgid).sort());
  });

  it('is deterministic given a seed, and differs across seeds', () => {
    const a = new SimCluster({ seed: 5, osds: 30, now: () => T0 });
    const b = new SimCluster({ seed: 5, osds: 30, now: () => T0 });
    const d = new SimCluster({ seed: 6, osds: 30, now: () => T0 });
    expect(JSON.stringify(a.osdMap())).toBe(JSON.stringify(b.osdMap()));
    expect(a.pgs.map((p) => p.acting)).toEqual(b.pgs.map((p) => p.acting));
    expect(a.pgs.map((p) => p.acting)).not.toEqual(d.pgs.map((p) => p.acting));
  });

  it('places replicas on distinct hosts and the crush map agrees with the hosts', () => {
    const c = new SimCluster({ osds: 40, pgs: 256, now: () => T0 });
    expect(c.hostCount).toBe(4);
    for (const pg of c.pgs) expect(new Set(pg.acting.map((o) => c.osds[o].host)).size).toBe(3);
    const crush = c.crushMap();
    const hosts = crush.buckets.filter((b: any) => b.type_name === 'host' && !b.name.includes('~'));
    expect(hosts).toHaveLength(4);
    expect(hosts.flatMap((h: any) => h.items.map((i: any) => i.id)).sort((x: number, y: number) => x - y)).toEqual([...Array(40).keys()]);
    expect(crush.devices).toHaveLength(40);
    const meta = c.osdMetadata();
    expect(meta['13'].hostname).toBe(hosts[1].name);
  });

  it('counters grow over time', () => {
    const c = new SimCluster({ now: () => T0 });
    const pg = c.pgs[0];
    const a = c.pgStat(pg, T0 + 10).stat_sum,
      b = c.pgStat(pg, T0 + 100).stat_sum;
    expect(b.num_write).toBeGreaterThan(a.num_write);
    expect(b.num_read).toBeGreaterThan(a.num_read);
    expect(b.num_bytes).toBeGreaterThanOrEqual(a.num_bytes);
    const v1 = [...c.osdPerfValues(1, T0 + 10)],
      v2 = [...c.osdPerfValues(1, T0 + 100)];
    const opW = osdPerfSchema().findIndex((x) => x.path === 'osd.op_w');
    expect(v2[opW + 0]).toBeDefined();
    expect(v2.some((x, i) => x > v1[i])).toBe(true);
  });

  it('marking an OSD down degrades its PGs in a new epoch, and up makes them clean again', () => {
    const c = new SimCluster({ osds: 12, pgs: 128, now: () => T0 });
    const e0 = c.osdMap().epoch;
    const held = c.pgs.filter((p) => p.acting.includes(4)).map((p) => p.pgid);
    expect(held.length).toBeGreaterThan(0);
    const ev = c.markOsdDown(4);
    expect(ev).toEqual({ kind: 'osd_down', osd: 4, epoch: e0 + 1 });
    const m = c.osdMap();
    expect(m.epoch).toBe(e0 + 1);
    expect(m.osds[4].up).toBe(0);
    expect(m.osds[4].state).toEqual(['exists']);
    expect(c.pgStateCounts()).toEqual({ 'active+clean': 128 - held.length, 'active+undersized+degraded': held.length });
    expect(c.pgsOfPrimary(4)).toEqual([]);
    // the degraded PGs are reported by their new primaries, with degraded objects
    const reports = Object.assign({}, ...[...Array(12).keys()].map((o) => c.osdPgStats(o, T0 + 30).pg_stat));
    expect(Object.keys(reports)).toHaveLength(128);
    for (const id of held) {
      expect(reports[id].state).toBe('active+undersized+degraded');
      expect(reports[id].up).not.toContain(4);
      expect(reports[id].stat_sum.num_objects_degraded).toBe(reports[id].stat_sum.num_objects);
    }
    expect(() => c.markOsdDown(4)).toThrow(/already down/);
    c.markOsdUp(4);
    expect(c.osdMap().epoch).toBe(e0 + 2);
    expect(c.osdMap().osds[4].up_from).toBe(e0 + 2);
    expect(c.pgStateCounts()).toEqual({ 'active+clean': 128 });
  });

  it('pg_upmap_items move a PG, which backfills onto its new OSD and then is clean; the PG mappings follow', () => {
    let now = T0;
    const c = new SimCluster({ osds: 12, osdsPerHost: 3, pgs: 128, backfillSec: 10, now: () => now });
    const pg = c.pgs[0];
    const [from] = pg.up;
    // an OSD on a host the PG does not use yet
    const to = c.osds.find((o) => !pg.up.some((x) => c.osds[x].host === o.host))!.id;
    const e0 = c.epoch;
    c.setPgUpmapItems(pg.pgid, [[from, to]]);
    expect(c.epoch).toBe(e0 + 1);
    expect(pg.up).toContain(to);
    expect(pg.up).not.toContain(from);
    expect(c.osdMap().pg_upmap_items).toEqual([{ pgid: pg.pgid, mappings: [{ from, to }] }]);
    const mapped = c.pgMappings();
    expect(mapped.epoch).toBe(e0 + 1);
    expect(mapped.pools[String(pg.pool)].up[pg.ps]).toEqual(pg.up);
    // Backfilling now: one replica misplaced, recovered bit by bit.
    now += 1;
    const during = c.pgStat(pg, now);
    expect(during.state).toBe('active+remapped+backfilling');
    expect(during.stat_sum.num_objects_misplaced).toBeGreaterThan(0);
    const half = c.pgStat(pg, pg.backfillFrom + (pg.backfillUntil - pg.backfillFrom) / 2).stat_sum.num_bytes_recovered;
    expect(half).toBeGreaterThan(during.stat_sum.num_bytes_recovered);
    now = pg.backfillUntil + 1;
    const after = c.pgStat(pg, now);
    expect(after.state).toBe('active+clean');
    expect(after.stat_sum.num_objects_misplaced).toBe(0);
    // Other PGs did not move.
    expect(c.pgs.filter((p) => p.backfillUntil > 0).map((p) => p.pgid)).toEqual([pg.pgid]);
    // An item whose target is out is skipped, as Ceph's _apply_upmap skips it.
    c.setOsdsIn([to], false);
    expect(pg.up).not.toContain(to);
    c.setOsdsIn([to], true);
    c.clearPgUpmapItems(pg.pgid);
    expect(pg.up).toContain(from);
    expect(c.osdMap().pg_upmap_items).toEqual([]);
  });

  it('creating a pool adds PGs in a new epoch', () => {
    const c = new SimCluster({ now: () => T0 });
    const ev = c.createPool('bench', 16);
    expect(ev).toMatchObject({ kind: 'pool_create', pool: 6, name: 'bench', pgNum: 16, epoch: 28 });
    const m = c.osdMap();
    expect(m.pool_max).toBe(6);
    expect(m.pools.find((p: any) => p.pool_name === 'bench').pg_num).toBe(16);
    expect(c.pgs.filter((p) => p.pool === 6)).toHaveLength(16);
    expect(c.pgStateCounts()).toEqual({ 'active+clean': 105 });
    expect(() => c.createPool('bench')).toThrow(/already exists/);
  });

  it('the event rotation keeps PG states consistent with the OSD states', () => {
    const c = new SimCluster({ osds: 20, pgs: 200, now: () => T0 });
    let epoch = c.epoch;
    for (let i = 0; i < 8; i++) {
      const ev = c.nextEvent();
      expect(ev.epoch).toBe(++epoch);
      for (const pg of c.pgs) {
        const up = pg.acting.filter((o) => c.osds[o].up);
        expect(pg.up).toEqual(up);
        expect(pg.state).toBe(up.length === 3 ? 'active+clean' : 'active+undersized+degraded');
      }
    }
  });

  it('rejects bad options with a clear message', () => {
    expect(() => new SimCluster({ osds: 0 })).toThrow(/osds must be/);
    expect(() => new SimCluster({ pools: 10, pgs: 5 })).toThrow(/pgs must be/);
    expect(() => new SimCluster().markOsdDown(99)).toThrow(/no osd.99/);
  });

  it('builds 10,000 OSDs', () => {
    const c = new SimCluster({ osds: 10000, pools: 10, pgs: 32768, now: () => T0 });
    expect(c.hostCount).toBe(1000);
    const m = c.osdMap();
    expect(m.osds).toHaveLength(10000);
    expect(c.crushMap().devices).toHaveLength(10000);
    expect(Object.keys(c.osdMetadata())).toHaveLength(10000);
    let reported = 0;
    for (let o = 0; o < 10000; o++) reported += c.pgsOfPrimary(o).length;
    expect(reported).toBe(32768);
  });

  it('splits PGs by weight exactly', () => {
    expect(splitByWeight(89, [8, 1, 32, 32, 16])).toEqual([8, 1, 32, 32, 16]);
    expect(splitByWeight(10, [8, 1, 32]).reduce((a, b) => a + b)).toBe(10);
  });
});

describe('perf schemas', () => {
  it('the OSD schema has about 300 counters, the fixture ones first, no duplicates', () => {
    const s = osdPerfSchema();
    expect(s).toHaveLength(300);
    expect(new Set(s.map((c) => c.path)).size).toBe(300);
    expect(s.slice(0, 3).map((c) => c.path)).toEqual(['objecter.op_active', 'objecter.op_r', 'objecter.op_rmw']);
    expect(s.find((c) => c.path === 'osd.op_latency')).toMatchObject({ type: 5, priority: 9, nick: 'l' });
    const c = new SimCluster({ now: () => T0 });
    expect(c.osdPerfValues(0, T0).length).toBe(s.reduce((n, x) => n + slotsOf(x.type), 0));
    // osd.numpg carries the OSD's real PG count
    const numpg = s.findIndex((x) => x.path === 'osd.numpg');
    expect(c.osdPerfValues(0, T0)[numpg]).toBe(89); // counters before it take one slot each
  });
  it('MDS and mon schemas are smaller', () => {
    expect(mdsPerfSchema().length).toBeGreaterThan(50);
    expect(mdsPerfSchema().length).toBeLessThan(300);
    expect(monPerfSchema().length).toBeLessThan(300);
  });
});
