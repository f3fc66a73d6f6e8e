// White-box profile: the services' own codecs and checks on captured
// session bytes, one step at a time. The one place in bench/ that imports
// services' domain/ code (the layer check allows *.profile.ts files only):
// every other benchmark measures through the contracts.
import { decodeSessionFrame } from '../lib/session-wire';
import { MEASURE_MS, WARMUP_MS } from './harness';

/**
 * Where one report's CPU goes, step by step, with the services' own codecs and
 * checks on the captured bytes (one report + its pg stats per iteration,
 * one measured window for all steps), against the bare transport's server
 * cost per report.
 */
export async function ingestSteps(reports: Buffer[][]): Promise<Record<string, number>> {
  const { SessionSchema } = await import('../services/daemon-server/domain/session');
  const { encodeIngestPgStats } = await import('../services/daemon-server/domain/forward');
  const { emptyReport } = await import('../services/daemon-server/domain/ingest');
  const { decodeIngestPgStatsRequest } = await import('../services/cluster-state/domain/pg-decode');
  const { PgMap } = await import('../services/cluster-state/domain/pgmap');
  const { DaemonIndex } = await import('../services/cluster-state/domain/daemons');
  const { ReportDaemonsRequest } = await import('../lib/gen/ceph/mgr/v1/cluster_state');
  const { osdPerfSchema } = await import('../sim/perf');
  const frames = reports.map(([rep, pg]) => [decodeSessionFrame(rep), decodeSessionFrame(pg)]);
  const values = frames.map(([r]) => (r.msg as { value: { counterValues: Buffer } }).value.counterValues);
  const pgReports = frames.map(([, p]) => (p.msg as { value: { report: Uint8Array } }).value.report);
  const declared = osdPerfSchema().filter((c) => c.priority >= 5);
  const schema = new SessionSchema();
  schema.apply(declared, []);
  const forward = values.map((v, i) => ({
    report: { ...emptyReport(`osd.${i}`), counterValues: v, stamp: 1 },
    pg: { osd: i, epoch: 1, stamp: 1, report: pgReports[i] },
  }));
  const encoded = forward.map((f) => [ReportDaemonsRequest.encode({ reports: [f.report] }).finish(), encodeIngestPgStats([f.pg])]);
  // cluster-state as it is in the steady state: every daemon declared, every PG known
  const pgmap = new PgMap();
  const daemons = new DaemonIndex();
  forward.forEach((f, i) => {
    pgmap.commit(i, 1, 1, pgmap.stage(f.pg.report));
    daemons.apply([{ ...f.report, opened: true, declare: declared }], 1);
  });
  // The msgr2 door on real daemons' messages (pcaps 01 and 02 to mgr.x: 3
  // OSDs, about 10 PGs each): decoding an MPGStats (lib/ceph), writing it
  // as the typed PgStatsReport, and a values-only MMgrReport (37 counters)
  // checked and queued with its packed bytes as they came.
  const { readVector } = await import('../lib/ceph/testing/pcap');
  const { Tag } = await import('../lib/ceph/frames');
  const { decodeMessageFrame, MsgType } = await import('../lib/ceph/message');
  const { decodeMPGStats, MSG_PGSTATS } = await import('../lib/ceph/messages/pg-stats');
  const { decodeMMgrReport } = await import('../lib/ceph/messages/mgr');
  const { encodePgStatsReport } = await import('../services/daemon-server/msgr2/pg-stats');
  const { DaemonSession } = await import('../services/daemon-server/msgr2/daemon-session');
  const { CounterLimits } = await import('../services/daemon-server/domain/counter-limits');
  const captured = ['01-bringup', '02-steady-30s'].flatMap((c) =>
    readVector(c)
      .filter((x) => x.client.to === '127.0.0.1:40226')
      .flatMap((x) => x.client.frames.filter((f) => f.tag === Tag.MESSAGE).map((f) => decodeMessageFrame(f.segments))),
  );
  const mpgstats = captured.filter((m) => m.type === MSG_PGSTATS);
  const decodedPgStats = mpgstats.map(decodeMPGStats);
  const osd0 = captured
    .filter((m) => m.type === MsgType.MGR_REPORT)
    .map(decodeMMgrReport)
    .filter((r) => r.daemonName === '0');
  const valuesOnly = osd0.filter((r) => !r.declareTypes.length && r.packed.length);
  const session = new DaemonSession('osd.0', { addReport: () => undefined, addPgStats: () => true }, new CounterLimits());
  session.report(osd0.find((r) => r.declareTypes.length)!);
  const steps: Record<string, (i: number) => unknown> = {
    ds_msgr2_decode_pg_stats: (i) => decodeMPGStats(mpgstats[i % mpgstats.length]),
    ds_msgr2_pg_stats_typed: (i) => encodePgStatsReport(decodedPgStats[i % decodedPgStats.length]),
    ds_msgr2_report: (i) => session.report(valuesOnly[i % valuesOnly.length]),
    ds_decode_report: (i) => decodeSessionFrame(reports[i][0]),
    ds_decode_pg_stats: (i) => decodeSessionFrame(reports[i][1]),
    ds_schema_check: (i) => schema.check([], [], values[i]),
    ds_encode_forward: (i) => [ReportDaemonsRequest.encode({ reports: [forward[i].report] }).finish(), encodeIngestPgStats([forward[i].pg])],
    cs_decode: (i) => [ReportDaemonsRequest.decode(encoded[i][0]), decodeIngestPgStatsRequest(encoded[i][1])],
    cs_apply_counters: (i) => daemons.apply([forward[i].report], 2),
    cs_apply_pg_stats: (i) => pgmap.commit(i, 1, 2, pgmap.stage(forward[i].pg.report)),
  };
  const names = Object.keys(steps);
  const total: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  let count = 0;
  const loop = (ms: number, record: boolean) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const i = count % reports.length;
      for (const n of names) {
        const t = performance.now();
        steps[n](i);
        if (record) total[n] += performance.now() - t;
      }
      if (record) count++;
    }
  };
  loop(WARMUP_MS, false);
  count = 0;
  loop(MEASURE_MS, true);
  return Object.fromEntries(names.map((n) => [n, (total[n] / count) * 1000])); // µs per report
}
