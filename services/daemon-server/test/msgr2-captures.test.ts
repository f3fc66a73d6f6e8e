// The msgr2 front door's daemon sessions against what real Pacific daemons
// sent a manager (shared/ceph-wire/vectors, pcaps 01 and 02: OSDs, the MDS,
// the monitor and the standby manager): every MMgrOpen opens its session,
// every MMgrReport goes through the session into the ingest domain, and
// what ingest receives reads back as the values unpackCounters gives; every
// MPGStats becomes the typed PgStatsReport the earlier path through Ceph's
// JSON shapes produced (fixtures/mpgstats-via-json.json), field by field.
// (An OSD's authorizer from pcap 01 verifying with the rotating secret
// recovered from mgr.x's exchange is lib/ceph/cephx/test/replay.test.ts.)
import { Tag } from '../../../lib/ceph/frames';
import { decodeMessageFrame, MsgType } from '../../../lib/ceph/message';
import { decodeControl } from '../../../lib/ceph/control';
import { decodeMMgrOpen, decodeMMgrReport } from '../../../lib/ceph/messages/mgr';
import { CounterSchema, isLongRunAvg } from '../../../lib/ceph/messages/perf-counters';
import { decodeMPGStats, MSG_PGSTATS } from '../../../lib/ceph/messages/pg-stats';
import { readVector } from '../../../lib/ceph/testing/pcap';
import { entityTypeName } from '../../../lib/ceph/types';
import { CounterLayout, unpackCounterValues } from '../../../lib/counter-values';
import type { DaemonReport } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { PgStatsReport } from '../../../lib/gen/ceph/mgr/v1/pg_stats';
import { CounterLimits, DEFAULT_COUNTER_LIMITS } from '../domain/counter-limits';
import { DaemonSession, SessionError } from '../msgr2/daemon-session';
import { encodePgStatsReport } from '../msgr2/pg-stats';
import * as fs from 'fs';
import * as path from 'path';

/** The active manager of capture cluster A. */
const MGR_X = '127.0.0.1:40226';

/** What ingest knows of one session, rebuilt from the reports it was given, as cluster-state applies them. */
class IngestView {
  types = new Map<string, number>();
  values = new Map<string, bigint[]>();

  apply(r: DaemonReport): void {
    if (r.opened) {
      this.types.clear();
      this.values.clear();
    }
    for (const u of r.undeclare) this.types.delete(u);
    for (const t of r.declare) {
      expect(this.types.has(t.path)).toBe(false);
      this.types.set(t.path, t.type);
    }
    expect(r.values).toEqual([]);
    if (!r.counterValues?.length) return;
    this.values = new Map(Object.entries(unpackCounterValues(r.counterValues, new CounterLayout(this.types))));
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
            const s = new DaemonSession(`${type}.${open.daemonName}`, { addReport: (r) => got.push(r), addPgStats: () => true }, new CounterLimits());
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
              expect(got).toEqual(isLongRunAvg(v.type) ? [v.value, v.avgcount, v.avgcount2] : [v.value]);
              values++;
            }
            expect(session.view.types.size).toBe(session.schema.size);
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
    const upTo36 = () => new CounterLimits({ ...DEFAULT_COUNTER_LIMITS, perSession: 36 });
    expect(() => new DaemonSession('osd.9', sink, new CounterLimits()).report(report)).toThrow(/a report for '\d' on osd.9's session/);
    expect(() => new DaemonSession(`osd.${report.daemonName}`, sink, upTo36()).report(report)).toThrow(SessionError);
    expect(() => new DaemonSession(`osd.${report.daemonName}`, sink, upTo36()).report(report)).toThrow(/37 counters, more than the 36/);
    expect(() => new DaemonSession(`osd.${report.daemonName}`, sink, new CounterLimits()).report({ ...report, packed: report.packed.subarray(8) })).toThrow(
      /packed counters are 486 bytes; its 37 declared counters take 494/,
    );
  });

  it('every MPGStats, written straight into a PgStatsReport, is what the path through the JSON shapes gave (pcaps 01, 02, 08), field by field', () => {
    const golden = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/mpgstats-via-json.json'), 'utf8')) as {
      reports: Array<{ capture: string; index: number; report: unknown }>;
    };
    const decoded = new Map<string, ReturnType<typeof decodeMPGStats>[]>();
    const stats = (capture: string) => {
      if (!decoded.has(capture))
        decoded.set(
          capture,
          readVector(capture)
            .flatMap((c) => c.client.frames.filter((f) => f.tag === Tag.MESSAGE).map((f) => decodeMessageFrame(f.segments)))
            .filter((m) => m.type === MSG_PGSTATS)
            .map(decodeMPGStats),
        );
      return decoded.get(capture)!;
    };
    let pgs = 0;
    let subMicro = 0;
    for (const { capture, index, report } of golden.reports) {
      const m = stats(capture)[index];
      const direct = PgStatsReport.decode(encodePgStatsReport(m));
      // the direct path keeps the stamps' nanoseconds; the JSON shapes (as Ceph's dumps) wrote microseconds
      direct.pgStats.forEach((p, i) => {
        expect(p.lastChange).toEqual({ sec: m.pgStat[i].stat.last_change.sec, nsec: m.pgStat[i].stat.last_change.nsec });
        for (const v of Object.values(p))
          if (v && typeof v === 'object' && 'nsec' in v) {
            if (v.nsec % 1000) subMicro++;
            v.nsec -= v.nsec % 1000;
          }
      });
      expect(PgStatsReport.toJSON(direct)).toEqual(report);
      pgs += direct.pgStats.length;
    }
    expect(golden.reports.length).toBeGreaterThanOrEqual(9);
    expect(pgs).toBeGreaterThan(100);
    expect(subMicro).toBeGreaterThan(0);
  });
});
