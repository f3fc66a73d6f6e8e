// What the simulator grows for monitoring: disks in the OSD metadata, the
// monitors' health (MON_DOWN, fullness), daemons' health metrics, pools
// that fill up, RBD images, and whole-number statistics.
import { SimCluster } from '../cluster';
import { diskName } from '../devices';

const T0 = 1_790_000_000;

describe('simulated monitoring inputs', () => {
  it('names disks as Linux does and gives each OSD on a host its own', () => {
    expect([0, 1, 25, 26, 27, 701].map(diskName)).toEqual(['sda', 'sdb', 'sdz', 'sdaa', 'sdab', 'sdzz']);
    const c = new SimCluster({ osds: 20, now: () => T0 });
    const devs = [0, 1, 9, 10].map((o) => c.osdMetadataOf(o).bluestore_bdev_dev_node);
    expect(devs).toEqual(['/dev/sdb', '/dev/sdc', '/dev/sdk', '/dev/sdb']);
    expect(c.osdMetadataOf(10).hostname).not.toBe(c.osdMetadataOf(0).hostname);
  });

  it('a monitor down leaves the quorum and raises MON_DOWN; up clears it', () => {
    const c = new SimCluster({ mons: 3, now: () => T0 });
    expect(c.monHealth().checks).toEqual({});
    c.markMonDown('c');
    expect(c.monStatus(1).quorum).toEqual([0, 1]);
    expect(c.monStatus(1).outside_quorum).toEqual(['c']);
    const h = c.monHealth();
    expect(h.status).toBe('HEALTH_WARN');
    expect(h.checks.MON_DOWN.summary.message).toBe('1/3 mons down, quorum a,b');
    expect(h.checks.MON_DOWN.detail[0].message).toMatch(/^mon\.c \(rank 2\) addr \[v2:.+\] is down \(out of quorum\)$/);
    expect(() => c.markMonDown('b')).toThrow(/would lose the quorum/);
    expect(() => c.markMonDown('z')).toThrow(/no mon\.z/);
    c.markMonUp('c');
    expect(c.monHealth().checks).toEqual({});
    expect(c.monStatus(1).quorum).toEqual([0, 1, 2]);
  });

  it('raised checks appear in the monitors health until cleared', () => {
    const c = new SimCluster({ now: () => T0 });
    c.raiseHealthCheck('MON_CLOCK_SKEW', 'HEALTH_WARN', 'clock skew detected on mon.a', ['mon.a clock skew 0.3s']);
    expect(c.monHealth().checks.MON_CLOCK_SKEW).toEqual({
      severity: 'HEALTH_WARN',
      summary: { message: 'clock skew detected on mon.a', count: 1 },
      detail: [{ message: 'mon.a clock skew 0.3s' }],
      muted: false,
    });
    expect(() => c.raiseHealthCheck('bad code', 'HEALTH_WARN', 'x')).toThrow(/upper-case/);
    c.clearHealthCheck('MON_CLOCK_SKEW');
    expect(c.monHealth().status).toBe('HEALTH_OK');
  });

  it('OSDs and monitors report SLOW_OPS (and OSDs PENDING_CREATING_PGS) health metrics', () => {
    const c = new SimCluster({ now: () => T0 });
    expect(c.daemonHealthMetrics('osd.0')).toEqual([
      { type: 'SLOW_OPS', value: 0 },
      { type: 'PENDING_CREATING_PGS', value: 0 },
    ]);
    c.setSlowOps('osd.2', 7);
    c.setSlowOps('mon.a', 1);
    expect(c.daemonHealthMetrics('osd.2')[0]).toEqual({ type: 'SLOW_OPS', value: 7 });
    expect(c.daemonHealthMetrics('mon.a')).toEqual([{ type: 'SLOW_OPS', value: 1 }]);
    expect(c.daemonHealthMetrics('mds.a')).toEqual([]);
    expect(() => c.setSlowOps('mds.a', 1)).toThrow(/OSDs and monitors/);
    expect(() => c.setSlowOps('osd.9', 1)).toThrow(/no osd\.9/);
    c.setSlowOps('osd.2', 0);
    expect(c.daemonHealthMetrics('osd.2')[0].value).toBe(0);
  });

  it('a pool filling up fills its OSDs past the ratios: nearfull, backfillfull, full', () => {
    const c = new SimCluster({ now: () => T0 + 60 });
    const rbd = c.pools.find((p) => p.name === 'rbd')!;
    const before = c.osdStat(0, T0 + 60).kb_used;
    // 3 OSDs of 1 GiB, size 3: every byte written lands on each OSD once.
    const gib = 1024 ** 3;
    const baseRatio = Math.max(...c.osds.map((o) => 1 - c.osdStat(o.id, T0 + 60).statfs.available / gib));
    c.fillPool(rbd.id, (0.87 - baseRatio) * gib);
    let h = c.monHealth();
    expect(Object.keys(h.checks).sort()).toEqual(['OSD_NEARFULL', 'POOL_NEARFULL']);
    expect(h.checks.OSD_NEARFULL.summary.message).toBe('3 nearfull osd(s)');
    expect(h.checks.POOL_NEARFULL.detail.map((d) => d.message)).toContain(`pool 'rbd' is nearfull`);
    expect(c.osdStat(0, T0 + 60).kb_used).toBeGreaterThan(before);
    const pgStat = c.pgStat(
      c.pgs.find((p) => p.pool === rbd.id)!,
      T0 + 60,
    );
    expect(pgStat.stat_sum.num_bytes).toBeGreaterThan(((0.87 - baseRatio) * gib) / rbd.pgNum);
    c.fillPool(rbd.id, 0.05 * gib);
    expect(Object.keys(c.monHealth().checks).sort()).toEqual(['OSD_BACKFILLFULL', 'POOL_BACKFILLFULL']);
    c.fillPool(rbd.id, 0.05 * gib);
    h = c.monHealth();
    expect(h.status).toBe('HEALTH_ERR');
    expect(h.checks.OSD_FULL.severity).toBe('HEALTH_ERR');
    c.fillPool(rbd.id, -(1024 ** 4));
    expect(c.monHealth().checks).toEqual({});
    expect(() => c.fillPool(99, 1)).toThrow(/no pool 99/);
  });

  it('statistics stay whole numbers while a pool fills', () => {
    const c = new SimCluster({ now: () => T0 + 123.456 });
    c.fillPool(c.pools[3].id, 123456789.7);
    for (const o of c.osds) {
      const s = c.osdPgStats(o.id, T0 + 123.456);
      for (const v of [s.osd_stat.kb, s.osd_stat.kb_used, s.osd_stat.kb_avail, s.osd_stat.statfs.available]) expect(Number.isInteger(v)).toBe(true);
      for (const pg of Object.values<any>(s.pg_stat)) for (const v of Object.values<any>(pg.stat_sum)) expect(Number.isInteger(v)).toBe(true);
      expect(c.osdPerfValues(o.id, T0 + 123.456).every(Number.isInteger)).toBe(true);
    }
  });

  it('a pool with compression on: its option in the osd map, compressed bytes in its store stats', () => {
    const c = new SimCluster({ now: () => T0 + 60 });
    const pool = c.pools[2];
    const e0 = c.epoch;
    expect(c.setPoolCompression(pool.id, 'aggressive')).toEqual({
      kind: 'pool_set',
      pool: pool.id,
      key: 'compression_mode',
      value: 'aggressive',
      epoch: e0 + 1,
    });
    expect(c.osdMap().pools[2].options.compression_mode).toBe('aggressive');
    const st = c.osdPgStats(0, T0 + 60).pool_stat[String(pool.id)];
    expect(st.data_compressed_original).toBeGreaterThan(st.data_compressed_allocated);
    expect(() => c.setPoolCompression(pool.id, 'zstd' as any)).toThrow(/compression_mode must be/);
    c.setPoolCompression(pool.id, 'none');
    expect(c.osdMap().pools[2].options.compression_mode).toBeUndefined();
  });

  it('RBD images of the rbd pools, with counters that grow', () => {
    const c = new SimCluster({ now: () => T0 });
    const a = c.rbdImageStats(T0 + 10);
    const b = c.rbdImageStats(T0 + 20);
    expect(a.pools.map((p) => p.pool_name)).toEqual(['rbd']);
    expect(a.pools[0].images.map((i) => [i.namespace, i.name])).toEqual([
      ['', 'vm-disk-1'],
      ['', 'vm-disk-2'],
      ['tenant-a', 'db-volume'],
    ]);
    const [x, y] = [a.pools[0].images[0], b.pools[0].images[0]];
    expect(y.write_ops).toBeGreaterThan(x.write_ops);
    expect(y.read_latency[1]).toBe(y.read_ops);
    expect(y.id).toBe(x.id);
  });
});
