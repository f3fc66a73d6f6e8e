// What a real daemon's MMgrReport becomes in daemon-server's ingest domain
// (domain/ingest.ts): a DaemonReport as the gRPC front door makes one. One
// translator per session. This is the one place that knows the ingest
// path's counter layout: today values in declaration order as numbers
// (long-running averages in two slots, sum and count), where Ceph packs
// them in sorted path order with three (sum, avgcount, avgcount2).
import type { DaemonHealthMetric as WireHealthMetric, MMgrReport } from '../../../lib/ceph/messages/mgr';
import { DaemonMetric } from '../../../lib/ceph/messages/mgr';
import { isLongRunAvg, type CounterValue, type PerfCounterType } from '../../../lib/ceph/messages/perf-counters';
import type { DaemonHealthMetric, DaemonReport, PerfCounterType as IngestCounterType } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { emptyReport } from '../domain/ingest';

const METRIC_NAMES: Record<number, string> = { [DaemonMetric.SLOW_OPS]: 'SLOW_OPS', [DaemonMetric.PENDING_CREATING_PGS]: 'PENDING_CREATING_PGS' };

/** A DaemonHealthMetric as the ingest path counts it: the count (Ceph's n1, the low 32 bits). */
export function healthMetric(h: WireHealthMetric): DaemonHealthMetric | undefined {
  const type = METRIC_NAMES[h.type];
  return type ? { type, value: Number(h.n & 0xffffffffn) } : undefined;
}

function ingestType(t: PerfCounterType): IngestCounterType {
  return { path: t.path, description: t.description, nick: t.nick, type: t.type, priority: t.priority, units: t.unit };
}

export class ReportTranslator {
  /** The counters in the order the ingest path was told of them (its schema order). */
  private order: string[] = [];

  /**
   * The DaemonReport for `m`, whose declarations `schema` has already taken
   * and whose packed values are `values` (schema.unpack).
   */
  translate(daemon: string, m: MMgrReport, values: CounterValue[]): DaemonReport {
    const known = new Set(this.order);
    const declare = m.declareTypes.filter((t) => !known.has(t.path));
    const gone = new Set(m.undeclareTypes);
    this.order = [...this.order.filter((p) => !gone.has(p)), ...declare.map((t) => t.path)];
    const byPath = new Map(values.map((v) => [v.path, v]));
    const flat: number[] = [];
    for (const p of this.order) {
      const v = byPath.get(p);
      flat.push(Number(v?.value ?? 0n));
      if (v && isLongRunAvg(v.type)) flat.push(Number(v.avgcount ?? 0n));
    }
    return {
      ...emptyReport(daemon),
      declare: declare.map(ingestType),
      undeclare: m.undeclareTypes.filter((p) => known.has(p)),
      values: flat,
      stamp: Date.now() / 1000,
      status: m.daemonStatus ?? {},
      hasStatus: m.daemonStatus !== undefined,
      taskStatus: m.taskStatus ?? {},
      healthMetrics: m.daemonHealthMetrics.map(healthMetric).filter((h): h is DaemonHealthMetric => !!h),
    };
  }
}
