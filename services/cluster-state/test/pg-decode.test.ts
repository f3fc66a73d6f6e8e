// An OSD's PgStatsReport decoded into the PG map's columns (domain/pg-decode.ts):
// the PG states, read as interned ids.
import { PgStatsReport } from '../../../lib/gen/ceph/mgr/v1/pg_stats';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';
import { decodePgStatsReport, PgTables } from '../domain/pg-decode';
import { PgMap } from '../domain/pgmap';
import { OsdRows, PgRows, StatfsRows } from '../domain/pg-table';

/** Tables whose state names are counted as they are interned. */
function tables() {
  const names: string[] = [''];
  const t: PgTables & { names: string[]; lookups: number } = {
    pgs: new PgRows(),
    osds: new OsdRows(),
    statfs: new StatfsRows(),
    lastState: { bytes: new Uint8Array(0), id: 0 },
    names,
    lookups: 0,
    stateId(name) {
      t.lookups++;
      const id = names.indexOf(name);
      return id > 0 ? id : names.push(name) - 1;
    },
  };
  return t;
}

const report = (states: string[]) =>
  PgStatsReport.encode(
    pgStatsReportFromJson({ pg_stat: Object.fromEntries(states.map((state, i) => [`1.${i.toString(16)}`, { state, acting: [0] }])) }),
  ).finish();

describe('pg stats decoding: PG states', () => {
  it('reads the text of a run of PGs in one state once, and tells states of the same length apart', () => {
    const t = tables();
    // 'active+dirty' has the length of 'active+clean'
    const states = ['active+clean', 'active+clean', 'active+clean', 'active+dirty', 'active+dirty', 'active+clean', 'peering'];
    const staged = decodePgStatsReport(report(states), t);
    expect(staged.pgs.map((p) => t.names[t.pgs.state[p.row]])).toEqual(states);
    expect(t.lookups).toBe(4); // one per change of state, not one per PG
    // the next report starts from the last state read
    const next = decodePgStatsReport(report(['peering', 'active+clean']), t);
    expect(next.pgs.map((p) => t.names[t.pgs.state[p.row]])).toEqual(['peering', 'active+clean']);
    expect(t.lookups).toBe(5);
  });

  it('keeps the states of one map and another apart', () => {
    const a = new PgMap();
    const b = new PgMap();
    for (const [map, states] of [
      [a, ['peering', 'active+clean']],
      [b, ['active+clean', 'peering']],
      [a, ['active+clean', 'active+clean']],
    ] as const) {
      const s = map.stage(report([...states]));
      map.commit(0, 1, 1, s);
      map.endBatch();
    }
    expect([a, b].map((m) => Array.from(m.healthPgs(), (p) => p.state))).toEqual([
      ['active+clean', 'active+clean'],
      ['active+clean', 'peering'],
    ]);
  });

  it('a PG with an empty state is refused', () => {
    const t = tables();
    expect(() => decodePgStatsReport(report(['active+clean', '']), t)).toThrow(/pg 1.1 has no state/);
  });
});
