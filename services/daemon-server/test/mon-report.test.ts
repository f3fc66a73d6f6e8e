// The active manager's MMonMgrReport (ceph/mon-report.ts), offline: the real
// OSDs' MPGStats of pcap 02 go through the ingest path's conversion into a
// real cluster-state, and the digest built from its pg_map_digest view
// agrees with the one ceph-mgr sent the monitors in the same capture.
import { Tag } from '../../../lib/ceph/frames';
import { decodeMessageFrame, MsgType, type Message } from '../../../lib/ceph/message';
import * as R from '../../../lib/ceph/messages/mgr-mon';
import * as P from '../../../lib/ceph/messages/pg-stats';
import { decodePGMapDigest, type PGMapDigest } from '../../../lib/ceph/messages/pgmap-digest';
import { readVector } from '../../../lib/ceph/testing/pcap';
import { createLogger } from '../../../lib/log';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';
import { HealthSeverity } from '../../../lib/gen/ceph/mgr/v1/common';
import { startTestServer } from '../../cluster-state/test/helpers';
import { pgStatsJson } from '../msgr2/pg-stats-json';
import { digestFromJson, healthChecksFromJson, MonReporter, PG_READY_WAIT_MS, serviceMapFromJson } from '../ceph/mon-report';
import { decodeServiceMap } from '../../../lib/ceph/messages/service-map';
import { Decoder } from '../../../lib/ceph/encoding';

function* messages(capture: string, types: number[]): Generator<Message> {
  for (const c of readVector(capture))
    for (const d of [c.client, c.server])
      for (const f of d.frames) {
        if (f.tag !== Tag.MESSAGE) continue;
        const m = decodeMessageFrame(f.segments);
        if (types.includes(m.type)) yield m;
      }
}

describe("the active manager's report to the monitors", () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  let theirs: PGMapDigest;
  const getView = async (what: string) => JSON.parse(Buffer.from((await t.client.get({ what })).json).toString('utf8'));

  beforeAll(async () => {
    // each OSD's latest MPGStats (an OSD reports the PGs it is acting primary of) and ceph-mgr's last digest
    const latest = new Map<number, P.MPGStats>();
    for (const m of messages('02-steady-30s', [P.MSG_PGSTATS, MsgType.MON_MGR_REPORT])) {
      if (m.type === MsgType.MON_MGR_REPORT) {
        theirs = R.reportDigest(R.decodeMMonMgrReport(m));
        continue;
      }
      const s = P.decodeMPGStats(m);
      if (s.pgStat.length) latest.set(s.pgStat[0].stat.acting_primary, s);
    }
    expect(latest.size).toBe(3);
    t = await startTestServer();
    const stats = [...latest].map(([osd, m]) => ({
      osd,
      epoch: m.epoch,
      stamp: 1_700_000_000,
      report: pgStatsReportFromJson(JSON.parse(pgStatsJson(osd, m).toString('utf8'))),
    }));
    const r = await t.client.ingestPgStats({ stats });
    expect(r.rejected).toEqual([]);
  });

  afterAll(async () => {
    await t?.close();
  });

  it("the digest from cluster-state's pg_map_digest agrees with ceph-mgr's for the same PG stats", async () => {
    const { digest: ours, badStates } = digestFromJson(await getView('pg_map_digest'));
    expect(badStates).toEqual([]);
    expect(ours.num_pg).toBe(theirs.num_pg);
    expect(ours.num_pg_active).toBe(theirs.num_pg_active);
    expect(ours.num_pg_unknown).toBe(0);
    expect(ours.num_pg_by_state).toEqual(theirs.num_pg_by_state);
    expect(ours.num_pg_by_pool).toEqual(theirs.num_pg_by_pool);
    expect(new Map([...ours.num_pg_by_osd].sort())).toEqual(new Map([...theirs.num_pg_by_osd].sort()));
    for (const f of ['num_objects', 'num_bytes', 'num_object_copies', 'num_omap_keys'] as const) expect(ours.pg_sum.stats[f]).toBe(theirs.pg_sum.stats[f]);
    expect([...ours.pg_pool_sum.keys()].sort()).toEqual([...theirs.pg_pool_sum.keys()].sort());
    for (const [pool, s] of ours.pg_pool_sum) {
      expect(s.stats.num_objects).toBe(theirs.pg_pool_sum.get(pool)!.stats.num_objects);
      expect(s.up).toBe(theirs.pg_pool_sum.get(pool)!.up);
    }
    expect(ours.osd_sum.statfs.total).toBe(theirs.osd_sum.statfs.total);
    expect(ours.osd_sum.num_osds).toBe(theirs.osd_sum.num_osds);
  });

  it('is sent as MMonMgrReport v3 whose digest decodes to what was built, once the PG map is ready', async () => {
    let now = 0;
    const lines: string[] = [];
    const reporter = new MonReporter(
      { getView },
      createLogger({}, 'info', (l) => lines.push(l)),
      () => now,
    );
    expect(await reporter.next(false, 7n)).toBeUndefined();
    await t.client.setHealthChecks({
      source: 'module:test',
      checks: [{ code: 'MGR_MODULE_ERROR', severity: HealthSeverity.HEALTH_SEVERITY_ERROR, summary: 'Module test has failed', detail: ['it broke'], count: 1 }],
    });
    const m = (await reporter.next(true, 7n))!;
    expect([m.type, m.version, m.compatVersion]).toEqual([MsgType.MON_MGR_REPORT, 3, 1]);
    const r = R.decodeMMonMgrReport(m);
    expect(r.gid).toBe(7n);
    expect(r.healthChecks.get('MGR_MODULE_ERROR')).toEqual({
      severity: R.HealthStatus.ERR,
      summary: 'Module test has failed',
      detail: ['it broke'],
      count: 1n,
    });
    expect(decodePGMapDigest(r.digestBl)).toEqual(digestFromJson(await getView('pg_map_digest')).digest);
    expect(reporter.stats.lastDigestBytes).toBe(r.digestBl.length);
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({ msg: 'first report to the monitors', pgs: 33, digestBytes: r.digestBl.length }),
    );
    // a fresh activation with OSDs that have not reported waits, then reports anyway (Ceph: 4 stats periods)
    const waiting = new MonReporter({ getView: async (w) => ({ ...(await getView(w)), pg_ready: false }) }, createLogger({}, 'error'), () => now);
    expect(await waiting.next(true, 7n)).toBeUndefined();
    now += PG_READY_WAIT_MS;
    expect(await waiting.next(true, 7n)).toBeDefined();
  });

  it('carries the service map when it changed, at an epoch above the monitors`', async () => {
    const reporter = new MonReporter({ getView }, createLogger({}, 'error'));
    const serviceMap = async () => R.decodeMMonMgrReport((await reporter.next(true, 7n))!).serviceMapBl;
    // the monitors' epoch not known yet: none sent
    expect((await serviceMap()).length).toBe(0);
    reporter.monitorsServiceMap(41);
    const first = decodeServiceMap(new Decoder(await serviceMap()));
    expect(first.epoch).toBe(42);
    expect(first.services).toEqual(new Map());
    // unchanged: none; the monitors moved past ours (another manager): sent again above theirs
    expect((await serviceMap()).length).toBe(0);
    reporter.monitorsServiceMap(42);
    expect((await serviceMap()).length).toBe(0);
    reporter.monitorsServiceMap(50);
    expect(decodeServiceMap(new Decoder(await serviceMap())).epoch).toBe(51);
    expect(reporter.stats.serviceMapsSent).toBe(2);
    // ServiceMap::dump's shape (the summary sits among the daemons) to the binary map
    const m = serviceMapFromJson(
      {
        services: {
          rgw: {
            daemons: {
              summary: '',
              gw1: { gid: 4711, start_stamp: '2026-11-25T05:37:38.086438+0000', metadata: { hostname: 'h1', zone: 'z' }, task_status: { sync: 'idle' } },
            },
            summary: '',
          },
        },
      },
      3,
      { sec: 1, nsec: 0 },
    );
    expect([...m.services.get('rgw')!.daemons.keys()]).toEqual(['gw1']);
    expect(m.services.get('rgw')!.daemons.get('gw1')).toMatchObject({
      gid: 4711n,
      startEpoch: 3,
      startStamp: { sec: Date.parse('2026-11-25T05:37:38Z') / 1000, nsec: 86438000 },
      metadata: { hostname: 'h1', zone: 'z' },
      taskStatus: { sync: 'idle' },
    });
  });

  it("health checks in cluster-state's JSON become health_check_t; the monitors' own (OSD_DOWN) stay out of health_mgr", async () => {
    const checks = healthChecksFromJson({
      PG_DEGRADED: {
        severity: 'HEALTH_WARN',
        summary: { message: 'Degraded data redundancy: 2 pgs degraded', count: 2 },
        detail: [{ message: 'pg 1.0 is degraded' }],
      },
    });
    expect(checks.get('PG_DEGRADED')).toEqual({
      severity: R.HealthStatus.WARN,
      summary: 'Degraded data redundancy: 2 pgs degraded',
      detail: ['pg 1.0 is degraded'],
      count: 2n,
    });
    await t.client.putMap({
      name: 'osd_map',
      epoch: 5,
      json: Buffer.from(JSON.stringify({ epoch: 5, pools: [], osds: [{ osd: 0, up: 0, in: 1 }] })),
    });
    expect(JSON.parse(Buffer.from((await t.client.get({ what: 'health' })).json).toString('utf8')).json).toMatch(/OSD_DOWN/);
    expect(Object.keys((await getView('health_mgr')).checks)).not.toContain('OSD_DOWN');
  });
});
