// The load generator's pg stats encoder (sim/pg-report.ts) writes exactly what
// the simulator's JSON says, typed: at any time, and after events.
import { PgStatsReport } from '../../lib/gen/ceph/mgr/v1/pg_stats';
import { pgStatsReportFromJson } from '../../lib/pgstats-json';
import { SimCluster } from '../cluster';
import { OsdPgReportEncoder } from '../pg-report';

describe('OsdPgReportEncoder', () => {
  it('encodes what osdPgStats() gives as JSON, through events', () => {
    let now = 1795585000;
    const cluster = new SimCluster({ osds: 12, pgs: 256, pools: 5, now: () => now });
    const encoders = cluster.osds.map((o) => new OsdPgReportEncoder(cluster, o.id));
    const check = (t: number) => {
      for (const e of encoders) {
        const decoded = PgStatsReport.decode(e.encode(t));
        expect(decoded).toEqual(pgStatsReportFromJson(cluster.osdPgStats(e.osd, t)));
      }
    };
    check(now);
    check(now + 5.123456);
    now += 60;
    cluster.nextEvent(); // an OSD goes down: its PGs degrade, primaries move
    check(now + 0.5);
    now += 60;
    cluster.nextEvent(); // and comes back
    check(now + 7);
    const withPgs = encoders.find((e) => cluster.pgsOfPrimary(e.osd).length > 0)!;
    expect(PgStatsReport.decode(withPgs.encode(now)).pgStats.length).toBe(cluster.pgsOfPrimary(withPgs.osd).length);
  });
});
