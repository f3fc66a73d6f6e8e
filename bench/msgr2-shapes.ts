// What a real OSD sends a manager, from the shared captures of a Pacific
// cluster (shared/ceph-wire/vectors, pcap 01): the counters osd.0 declared
// in its first MMgrReport (37 at stats_threshold 5) and the packed values of
// a later report on the same session (494 bytes). The msgr2 benchmark's
// load generator sends reports of exactly this shape.
import { Tag } from '../lib/ceph/frames';
import { decodeMessageFrame, MsgType } from '../lib/ceph/message';
import { decodeMMgrReport } from '../lib/ceph/messages/mgr';
import type { PerfCounterType } from '../lib/ceph/messages/perf-counters';
import { readVector } from '../lib/ceph/testing/pcap';

export function capturedOsdReports(): { declare: PerfCounterType[]; packed: Buffer } {
  for (const c of readVector('01-bringup')) {
    const reports = c.client.frames
      .filter((f) => f.tag === Tag.MESSAGE)
      .map((f) => decodeMessageFrame(f.segments))
      .filter((m) => m.type === MsgType.MGR_REPORT)
      .map(decodeMMgrReport);
    const first = reports[0];
    if (!first || first.daemonName !== '0' || first.serviceName || first.declareTypes.length === 0 || reports.length < 2) continue;
    return { declare: first.declareTypes, packed: Buffer.from(reports[reports.length - 1].packed) };
  }
  throw new Error('pcap 01 holds no session of osd.0 with two reports: are the shared captures there (shared/ceph-wire/vectors)?');
}
