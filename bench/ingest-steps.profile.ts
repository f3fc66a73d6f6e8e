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
  const steps: Record<string, (i: number) => unknown> = {
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
