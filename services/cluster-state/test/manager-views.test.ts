// What Ceph's always-on modules read beyond the PGMap basics: pg_progress
// (progress), devices (devicehealth, `device ls`, the dashboard),
// modified_config_options (telemetry), progress_events (what the active
// manager reports; `status` shows them), and PGs leaving the PGMap when
// their pool's pg_num shrinks (pg_autoscaler's doing).
import { fixture, json, parse, startTestServer } from './helpers';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';

const dump = fixture('mgrget-pg_dump.json');

const blank = {
  serviceName: '',
  serviceDaemon: false,
  declare: [],
  undeclare: [],
  stamp: 0,
  status: {},
  hasStatus: false,
  taskStatus: {},
  healthMetrics: [],
  closed: false,
};

describe('cluster-state views for the always-on modules', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  const get = async (what: string) => parse((await t.client.get({ what })).json);

  beforeAll(async () => {
    t = await startTestServer();
    const osdMap = fixture('mgrget-osd_map.json');
    await t.client.putMap({ name: 'osd_map', epoch: osdMap.epoch, json: json(osdMap) });
    // Each PG reported by its acting primary, as the OSDs would.
    const byOsd = new Map<number, Record<string, any>>(dump.osd_stats.map((s: any) => [s.osd, {}]));
    for (const { pgid, ...rest } of dump.pg_stats) byOsd.get(rest.acting_primary)![pgid] = rest;
    const stats = [...byOsd].map(([osd, pg_stat]) => {
      const { osd: _id, ...osd_stat } = dump.osd_stats.find((s: any) => s.osd === osd);
      return { osd, epoch: 27, stamp: 1795585700, report: pgStatsReportFromJson({ pg_stat, osd_stat, pool_stat: {} }) };
    });
    await t.client.ingestPgStats({ stats });
  });
  afterAll(() => t.close());

  it("pg_progress is what Ceph's manager gave from the same PGs", async () => {
    expect(await get('pg_progress')).toEqual(fixture('mgrget-pg_progress.json'));
  });

  it("devices come from the daemons' device_ids and device_paths, as DaemonStateIndex builds them", async () => {
    expect(await get('devices')).toEqual({ devices: [] });
    const meta = (host: string, ids: string, paths: string) => ({ hostname: host, devices: 'sdb', device_ids: ids, device_paths: paths });
    await t.client.reportDaemons({
      reports: [
        { ...blank, daemon: 'osd.10', opened: true, metadata: meta('h1', 'sdb=DISK_A', 'sdb=/dev/disk/by-path/p1') },
        // Two daemons on one device (a shared DB disk), blank ids skipped.
        { ...blank, daemon: 'osd.2', opened: true, metadata: meta('h1', 'sdb=DISK_A,sdc=,sdd=DISK_B', 'sdb=/dev/disk/by-path/p1') },
        { ...blank, daemon: 'mon.a', opened: true, metadata: { hostname: 'h2' } },
      ],
    });
    expect(await get('devices')).toEqual({
      devices: [
        { devid: 'DISK_A', location: [{ host: 'h1', dev: 'sdb', path: '/dev/disk/by-path/p1' }], daemons: ['osd.10', 'osd.2'] },
        { devid: 'DISK_B', location: [{ host: 'h1', dev: 'sdd', path: '' }], daemons: ['osd.2'] },
      ],
    });
  });

  it("modified_config_options names the configuration database's options (not the modules')", async () => {
    expect(await get('modified_config_options')).toEqual({ options: [] });
    const entry = (section: string, name: string) => ({ section, name, value: '1', level: 'advanced', can_update_at_runtime: true, mask: '' });
    const db = {
      options: [
        entry('global', 'osd_pool_default_size'),
        entry('mgr', 'mgr/balancer/active'),
        entry('osd', 'osd_max_backfills'),
        entry('mon', 'osd_pool_default_size'),
      ],
    };
    await t.client.putMap({ name: 'mon_config', epoch: 1, json: json(db) });
    expect(await get('modified_config_options')).toEqual({ options: ['osd_max_backfills', 'osd_pool_default_size'] });
  });

  it("progress_events holds the active manager's report", async () => {
    expect(await get('progress_events')).toEqual({});
    const events = { 'ev-1': { message: 'Rebalancing after osd.1 marked out', progress: 0.5, add_to_ceph_s: true } };
    await t.client.putMap({ name: 'progress_events', epoch: 1, json: json(events) });
    expect(await get('progress_events')).toEqual(events);
  });

  it("a pool's PGs above its new pg_num leave the PGMap with the osd map that shrank it", async () => {
    const osdMap = fixture('mgrget-osd_map.json');
    const pool = osdMap.pools.find((p: any) => p.pg_num >= 16);
    const before = (await get('pg_stats')).pg_stats.filter((p: any) => p.pgid.startsWith(`${pool.pool}.`));
    expect(before).toHaveLength(pool.pg_num);
    pool.pg_num = 8;
    await t.client.putMap({ name: 'osd_map', epoch: osdMap.epoch + 1, json: json({ ...osdMap, epoch: osdMap.epoch + 1 }) });
    const after = (await get('pg_stats')).pg_stats.filter((p: any) => p.pgid.startsWith(`${pool.pool}.`));
    expect(after.map((p: any) => p.pgid).sort()).toEqual(
      before
        .filter((p: any) => parseInt(p.pgid.split('.')[1], 16) < 8)
        .map((p: any) => p.pgid)
        .sort(),
    );
    const summary = await get('pg_summary');
    expect(Object.values(summary.by_pool[String(pool.pool)]).reduce((a: number, b: any) => a + b, 0)).toBe(8);
    expect((await get('pg_status')).num_pgs).toBe(dump.pg_stats.length - (before.length - 8));
  });
});
