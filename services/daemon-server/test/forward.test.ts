// domain/forward.ts: pg stats forwarded as the OSDs encoded them, written with writers kept between requests.
import { IngestPgStatsRequest } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { PgStatsReport } from '../../../lib/gen/ceph/mgr/v1/pg_stats';
import { encodeIngestPgStats } from '../domain/forward';

describe('forwarded pg stats', () => {
  it('each request stands alone, whatever the one before was', () => {
    // a PgStatsReport of `pools` pools (about 3 bytes each)
    const entry = (osd: number, pools: number) => ({
      osd,
      epoch: 7,
      stamp: 2.5,
      report: PgStatsReport.encode({ pgStats: [], poolStatfs: Array.from({ length: pools }, (_, i) => ({ pool: i + osd })) }).finish(),
    });
    for (const entries of [[entry(1, 2000), entry(2, 30_000)], [entry(3, 3)], [entry(4, 200_000)], [entry(5, 10)]]) {
      const got = IngestPgStatsRequest.decode(encodeIngestPgStats(entries)).stats;
      expect(
        got.map((s) => [s.osd, s.epoch, s.stamp, Buffer.from(PgStatsReport.encode(s.report!).finish()).equals(entries.find((e) => e.osd === s.osd)!.report)]),
      ).toEqual(entries.map((e) => [e.osd, 7, 2.5, true]));
    }
  });
});
