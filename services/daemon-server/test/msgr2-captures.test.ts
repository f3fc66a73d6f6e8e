// The msgr2 front door's daemon sessions against what real Pacific daemons
// sent a manager (shared/ceph-wire/vectors, pcaps 01 and 02: OSDs, the MDS,
// the monitor and the standby manager): every MMgrOpen opens its session,
// every MMgrReport goes through the session into the ingest domain, and
// what ingest receives reads back as the values unpackCounters gives.
// (An OSD's authorizer from pcap 01 verifying with the rotating secret
// recovered from mgr.x's exchange is lib/ceph/cephx/test/replay.test.ts.)
import { Tag } from '../../../lib/ceph/frames';
import { decodeMessageFrame, MsgType } from '../../../lib/ceph/message';
import { decodeControl } from '../../../lib/ceph/control';
import { decodeMMgrOpen, decodeMMgrReport } from '../../../lib/ceph/messages/mgr';
import { CounterSchema, isLongRunAvg } from '../../../lib/ceph/messages/perf-counters';
import { readVector } from '../../../lib/ceph/testing/pcap';
import { entityTypeName } from '../../../lib/ceph/types';
import type { DaemonReport } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { DaemonSession, SessionError } from '../msgr2/daemon-session';

/** The active manager of capture cluster A. */
const MGR_X = '127.0.0.1:40226';

/** What ingest knows of one session, rebuilt from the reports it was given, as cluster-state applies them. */
class IngestView {
  order: string[] = [];
  types = new Map<string, number>();
  values = new Map<string, { value: number; count?: number }>();

  apply(r: DaemonReport): void {
    if (r.opened) {
      this.order = [];
      this.types.clear();
      this.values.clear();
    }
    for (const t of r.declare) {
      this.order.push(t.path);
      this.types.set(t.path, t.type);
    }
    const gone = new Set(r.undeclare);
    this.order = this.order.filter((p) => !gone.has(p));
    if (!r.values.length) return;
    let i = 0;
    for (const p of this.order) {
      const value = r.values[i++];
      this.values.set(p, isLongRunAvg(this.types.get(p) ?? 0) ? { value, count: r.values[i++] } : { value });
    }
    expect(i).toBe(r.values.length);
  }
}

describe('real daemons reports through the msgr2 daemon session', () => {
  it('every MMgrOpen and MMgrReport of pcaps 01 and 02 to mgr.x lands in ingest with the values unpackCounters gives', () => {
    // pcap 02 goes on with the sessions pcap 01 opened
    const sessions = new Map<string, { s: DaemonSession; view: IngestView; schema: CounterSchema; reports: DaemonReport[] }>();
    const daemons = new Set<string>();
    let reports = 0;
    let values = 0;
    for (const capture of ['01-bringup', '02-steady-30s']) {
      for (const c of readVector(capture)) {
        if (c.client.to !== MGR_X) continue;
        const key = `${c.client.from}->${c.client.to}`;
        const hello = c.client.frames.find((f) => f.tag === Tag.HELLO);
        for (const f of c.client.frames) {
          if (f.tag !== Tag.MESSAGE) continue;
          const m = decodeMessageFrame(f.segments);
          if (m.type === MsgType.MGR_OPEN) {
            const open = decodeMMgrOpen(m);
            const type = open.serviceName || entityTypeName((decodeControl(Tag.HELLO, hello!.segments[0]) as { entityType: number }).entityType);
            const got: DaemonReport[] = [];
            const s = new DaemonSession(`${type}.${open.daemonName}`, { addReport: (r) => got.push(r), addPgStats: () => true }, 8192);
            s.open(open);
            expect(got).toMatchObject([{ daemon: `${type}.${open.daemonName}`, opened: true, serviceName: open.serviceName }]);
            const view = new IngestView();
            view.apply(got[0]);
            sessions.set(key, { s, view, schema: new CounterSchema(), reports: got });
            daemons.add(s.daemon);
          } else if (m.type === MsgType.MGR_REPORT) {
            const session = sessions.get(key);
            expect(session).toBeDefined();
            if (!session) continue;
            const report = decodeMMgrReport(m);
            session.s.report(report);
            reports++;
            const r = session.reports[session.reports.length - 1];
            session.view.apply(r);
            // what Ceph's own layout says, read independently
            session.schema.update(report.declareTypes, report.undeclareTypes);
            for (const v of session.schema.unpack(report.packed)) {
              const got = session.view.values.get(v.path);
              expect(got).toEqual(isLongRunAvg(v.type) ? { value: Number(v.value), count: Number(v.avgcount) } : { value: Number(v.value) });
              values++;
            }
            expect(session.view.order.length).toBe(session.schema.size);
          }
        }
      }
    }
    expect([...daemons].sort()).toEqual(expect.arrayContaining(['mds.a', 'mgr.y', 'mon.a', 'osd.0', 'osd.1', 'osd.2']));
    expect(reports).toBeGreaterThan(60);
    expect(values).toBeGreaterThan(3000);
  });

  it("a report that does not fit its session ends it: another daemon's name, too many counters, packed values of the wrong length", () => {
    const m = [...readVector('01-bringup')]
      .flatMap((c) => c.client.frames.filter((f) => f.tag === Tag.MESSAGE).map((f) => decodeMessageFrame(f.segments)))
      .find((x) => x.type === MsgType.MGR_REPORT && decodeMMgrReport(x).declareTypes.length === 37);
    const report = decodeMMgrReport(m!);
    const sink = { addReport: () => undefined, addPgStats: () => true };
    expect(() => new DaemonSession('osd.9', sink, 8192).report(report)).toThrow(/a report for '\d' on osd.9's session/);
    expect(() => new DaemonSession(`osd.${report.daemonName}`, sink, 36).report(report)).toThrow(SessionError);
    expect(() => new DaemonSession(`osd.${report.daemonName}`, sink, 36).report(report)).toThrow(/37 counters, more than the 36/);
    expect(() => new DaemonSession(`osd.${report.daemonName}`, sink, 8192).report({ ...report, packed: report.packed.subarray(8) })).toThrow(
      /packed counters are 486 bytes; its 37 declared counters take 494/,
    );
  });
});
