// Ceph's own influx module (Debian's ceph-mgr-modules-core, unmodified) on
// module-host writes a full round into a real InfluxDB 1.x: every point of
// every measurement accepted. InfluxDB fixes a field's type at its first
// write, so a statistic that Ceph keeps whole but that came out fractional
// once (df's `stored` did) fails the round with "field type conflict".
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_CEPH_MGR_DIR } from '../domain/python-modules';
import { startStack, until } from '../../../modules/prometheus/test/stack';
import { describeWith } from '../../../modules/prometheus/test/prometheus-server';
import { ADMIN, Influxd, influxdMissing, startInfluxd } from '../../../modules/influx/test/influxd';

const needed = [path.join(DEFAULT_CEPH_MGR_DIR, 'mgr_module.py'), path.join(DEFAULT_CEPH_MGR_DIR, 'influx'), '/usr/bin/python3'];
const cephMissing = needed.some((f) => !fs.existsSync(f))
  ? `missing ${needed.filter((f) => !fs.existsSync(f)).join(', ')} (Debian's ceph-mgr and ceph-mgr-modules-core; .ci/run installs them)`
  : null;

describeWith([influxdMissing(), cephMissing])("Ceph's influx module on mgrpc, into a real InfluxDB", () => {
  let influx: Influxd;
  let stack: Awaited<ReturnType<typeof startStack>>;

  beforeAll(async () => {
    influx = await startInfluxd();
    stack = await startStack({
      osds: 4,
      allDaemons: true,
      options: {
        'config/mgr/influx/hostname': '127.0.0.1',
        'config/mgr/influx/port': String(influx.port),
        'config/mgr/influx/username': ADMIN.user,
        'config/mgr/influx/password': ADMIN.password,
        'config/mgr/influx/database': 'ceph',
        'config/mgr/influx/interval': '5',
      },
    });
    // data written since the cluster was created, so that pools hold a fractional share of replicas
    stack.sim.fillPool(stack.sim.pools[3].id, 123456789);
    await stack.feed.pushPgStats();
    await stack.startHost({
      enabledModules: ['influx'],
      python: { modulePath: [], cephMgrDir: DEFAULT_CEPH_MGR_DIR, python: '/usr/bin/python3', prefer: ['influx'], only: ['influx'] },
    });
  }, 90000);

  afterAll(async () => {
    await stack?.close();
    await influx?.stop();
  }, 30000);

  it('writes every measurement of a round, every point accepted, integers as integers', async () => {
    const series = async (q: string) => (await influx.query(q, 'ceph')).results[0].series ?? [];
    const counts = await until(
      'a round in InfluxDB',
      async () => {
        const c: Record<string, number> = {};
        for (const m of ['ceph_pool_stats', 'ceph_daemon_stats', 'ceph_pg_summary_osd', 'ceph_pg_summary_pool']) {
          const s = await series(`SELECT count("value") FROM "${m}"`);
          c[m] = s.length ? Number(s[0].values[0][1]) : 0;
        }
        return Object.values(c).every((n) => n > 0) && c;
      },
      60000,
      1000,
    );
    // 12 df statistics per pool (Ceph's df_types), at least one round
    expect(counts.ceph_pool_stats % (12 * stack.sim.pools.length)).toBe(0);
    const stats = await influx.httpStats();
    expect(stats.pointsWrittenFail ?? 0).toBe(0);
    expect(stats.clientError ?? 0).toBe(0);
    expect(stats.pointsWrittenOK).toBeGreaterThan(0);
    const fields = await series('SHOW FIELD KEYS FROM "ceph_pool_stats"');
    expect(fields[0].values).toEqual([['value', 'integer']]);
    // `stored` as Ceph has it: whole bytes
    const stored = await series(`SELECT last("value") FROM "ceph_pool_stats" WHERE "type_instance" = 'stored' GROUP BY "pool_name"`);
    expect(stored.length).toBe(stack.sim.pools.length);
  }, 90000);
});
