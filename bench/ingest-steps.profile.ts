// White-box profile: the services' own codecs and checks on captured
// session bytes, one step at a time. The one place in bench/ that imports
// services' domain/ code (the layer check allows *.profile.ts files only):
// every other benchmark measures through the contracts.
import { SessionRequest } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { MEASURE_MS, WARMUP_MS } from './harness';

/**
 * Where one report's CPU goes, step by step, with the services' own codecs and
 * checks on the captured bytes (one report + its pg stats per iteration,
 * one measured window for all steps). Compared with the bare transport's
 * server cost per report; `packed_as_double` is what the counter values
 * would cost to decode as `repeated double` instead of `repeated uint64`.
 */
export async function ingestSteps(reports: Buffer[][]): Promise<Record<string, number>> {
  const { SessionSchema } = await import('../services/daemon-server/domain/session');
  const { parsePgStatsReport } = await import('../services/cluster-state/domain/pgmap');
  const { ReportDaemonsRequest, IngestPgStatsRequest } = await import('../lib/gen/ceph/mgr/v1/cluster_state');
  const { BinaryReader, BinaryWriter } = await import('@bufbuild/protobuf/wire');
  const decoded = reports.map(([rep, pg]) => [SessionRequest.decode(rep), SessionRequest.decode(pg)]);
  const schemaLen = (decoded[0][0].msg as { value: { packed: number[] } }).value.packed.length;
  const schema = new SessionSchema();
  schema.apply(
    Array.from({ length: schemaLen }, (_, i) => ({ path: `c${i}`, description: '', nick: '', type: 2, priority: 5, units: 1 })),
    [],
  );
  const forwardBytes = decoded.map(([r, p]) => {
    const rep = (r.msg as { value: { packed: number[] } }).value;
    const pgs = (p.msg as { value: { epoch: number; json: Uint8Array } }).value;
    const dr = {
      daemon: 'osd.1',
      opened: false,
      serviceName: '',
      serviceDaemon: false,
      metadata: {},
      declare: [],
      undeclare: [],
      values: rep.packed,
      stamp: 1,
      status: {},
      hasStatus: false,
      taskStatus: {},
      healthMetrics: [],
      closed: false,
    };
    return { dr, pg: { osd: 1, epoch: pgs.epoch, stamp: 1, json: Buffer.from(pgs.json) }, packed: rep.packed };
  });
  const doubles = forwardBytes.map((f) => {
    const w = new BinaryWriter();
    w.uint32(66).fork();
    for (const v of f.packed) w.double(v);
    w.join();
    return w.finish();
  });
  const encoded = forwardBytes.map((f) => [ReportDaemonsRequest.encode({ reports: [f.dr] }).finish(), IngestPgStatsRequest.encode({ stats: [f.pg] }).finish()]);
  const steps: Record<string, (i: number) => unknown> = {
    ds_decode_report: (i) => SessionRequest.decode(reports[i][0]),
    ds_decode_pg_stats: (i) => SessionRequest.decode(reports[i][1]),
    ds_pg_stats_json_check: (i) => JSON.parse(Buffer.from(forwardBytes[i].pg.json).toString('utf8')),
    ds_schema_check: () => schema.check([], [], schemaLen),
    ds_encode_forward: (i) => [
      ReportDaemonsRequest.encode({ reports: [forwardBytes[i].dr] }).finish(),
      IngestPgStatsRequest.encode({ stats: [forwardBytes[i].pg] }).finish(),
    ],
    cs_decode: (i) => [ReportDaemonsRequest.decode(encoded[i][0]), IngestPgStatsRequest.decode(encoded[i][1])],
    cs_parse_pg_stats: (i) => parsePgStatsReport(1, 1, 1, forwardBytes[i].pg.json),
    packed_as_double_decode: (i) => {
      const r = new BinaryReader(doubles[i]);
      r.uint32();
      const end = r.uint32() + r.pos;
      const out: number[] = [];
      while (r.pos < end) out.push(r.double());
      return out;
    },
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
