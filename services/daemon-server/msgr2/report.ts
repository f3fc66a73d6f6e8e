// What a real daemon's MMgrReport becomes in daemon-server's ingest domain
// (domain/ingest.ts): a DaemonReport as the gRPC front door makes one. One
// translator per session. The counter values go on as the daemon packed
// them: Ceph's `packed` bufferlist is exactly DaemonReport.counter_values
// (lib/counter-values.ts: sorted paths, three values for a long-running
// average, exact to 64 bits), so nothing here reads a value.
import type { DaemonHealthMetric as WireHealthMetric, MMgrReport } from '../../../lib/ceph/messages/mgr';
import { DaemonMetric } from '../../../lib/ceph/messages/mgr';
import type { PerfCounterType } from '../../../lib/ceph/messages/perf-counters';
import type { DaemonHealthMetric, DaemonReport, PerfCounterType as IngestCounterType } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { emptyReport } from '../domain/ingest';

const METRIC_NAMES: Record<number, string> = { [DaemonMetric.SLOW_OPS]: 'SLOW_OPS', [DaemonMetric.PENDING_CREATING_PGS]: 'PENDING_CREATING_PGS' };

/** A DaemonHealthMetric as the ingest path counts it: the count (Ceph's n1, the low 32 bits). */
export function healthMetric(h: WireHealthMetric): DaemonHealthMetric | undefined {
  const type = METRIC_NAMES[h.type];
  return type ? { type, value: Number(h.n & 0xffffffffn) } : undefined;
}

export function ingestType(t: PerfCounterType): IngestCounterType {
  return { path: t.path, description: t.description, nick: t.nick, type: t.type, priority: t.priority, units: t.unit };
}

export class ReportTranslator {
  /** The paths ingest was told of on this session. */
  private readonly known = new Set<string>();

  /**
   * The DaemonReport for `m`, whose declarations the session's schema has
   * already taken and whose packed values fit it. A path declared again is
   * not declared twice (Ceph keeps the first declaration); undeclaring a
   * path never declared is left out.
   */
  translate(daemon: string, m: MMgrReport): DaemonReport {
    const gone = new Set(m.undeclareTypes);
    const declare: IngestCounterType[] = [];
    for (const t of m.declareTypes) {
      if (this.known.has(t.path) || gone.has(t.path)) continue;
      this.known.add(t.path);
      declare.push(ingestType(t));
    }
    const undeclare = m.undeclareTypes.filter((p) => this.known.delete(p));
    return {
      ...emptyReport(daemon),
      declare,
      undeclare,
      counterValues: m.packed.length ? m.packed : undefined,
      stamp: Date.now() / 1000,
      status: m.daemonStatus ?? {},
      hasStatus: m.daemonStatus !== undefined,
      taskStatus: m.taskStatus ?? {},
      healthMetrics: m.daemonHealthMetrics.map(healthMetric).filter((h): h is DaemonHealthMetric => !!h),
    };
  }
}
