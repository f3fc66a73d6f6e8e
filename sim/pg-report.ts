// The load generator's pg stats: one OSD's PgStatsReport encoded cheaply
// enough that one process can send it for thousands of OSDs every period.
// Each PG's message is split in two: what only events change (pgid, state,
// up/acting, epochs, most stamps), encoded once per OSD map epoch with the
// generated codec, and what changes every report (SimCluster.pgDynamic: the
// counts, log sizes, sequence, version and the stamps that read "now"),
// written each time into a reused buffer. Protobuf lets a message's fields
// come in any order, so the two parts are simply concatenated. The result
// decodes to exactly pgStatsReportFromJson(cluster.osdPgStats(osd, t)), which
// a test checks.
import { pacificTemplates } from './perf';
import type { SimCluster, SimPg } from './cluster';
import { OsdStat, PgStat } from '../lib/gen/ceph/mgr/v1/pg_stats';
import { osdStatFromJson, pgStatFromJson, STAT_SUM_KEYS, STATFS_KEYS } from '../lib/pgstats-json';
import * as wire from '../lib/wire';
import { WireWriter } from '../lib/wire';

// a module-local copy: imported bindings are getters under the TypeScript loader
const { WIRE_VARINT } = wire;

/** pg_stat_t field numbers of the stamps that may read "now". */
const STAMP_FIELD: Record<string, number> = {
  last_fresh: 6,
  last_active: 8,
  last_peered: 9,
  last_clean: 10,
  last_unstale: 13,
  last_undegraded: 14,
  last_fullsized: 15,
};
const STAT_INDEX = new Map<string, number>(STAT_SUM_KEYS.map((k, i) => [k, i]));
const STATFS_INDEX = new Map<string, number>(STATFS_KEYS.map((k, i) => [k, i]));

interface PgTemplate {
  pg: SimPg;
  /** The state and scrub stamps the fixed part was made with (a backfill's end or a scrub changes them between epochs). */
  state: string;
  scrub: number;
  deepScrub: number;
  /** The event-only fields, encoded. */
  fixed: Uint8Array;
  /** object_stat_sum_t of the template, by field index; the dynamic ones are overwritten. */
  stat: Float64Array;
  mappingEpoch: number;
}

export class OsdPgReportEncoder {
  private epoch = -1;
  private templates: PgTemplate[] = [];
  /** osd_stat_t without what changes every report (seq, statfs). */
  private osdFixed: Uint8Array = new Uint8Array(0);
  private readonly out = new WireWriter(16 * 1024);
  private readonly pgBody = new WireWriter(2048);
  private readonly part = new WireWriter(512);
  private readonly entry = new WireWriter(128);

  constructor(
    private readonly cluster: SimCluster,
    readonly osd: number,
  ) {}

  /** The encoded PgStatsReport of this OSD at time t (valid until the next call). */
  encode(t: number): Buffer {
    if (this.epoch !== this.cluster.epoch) this.rebuild(t);
    const out = this.out.reset();
    const poolBytes = new Map<number, number>();
    const us = Math.floor(t * 1e6);
    const sec = Math.floor(us / 1e6);
    const nsec = (us % 1e6) * 1000;
    for (let k = 0; k < this.templates.length; k++) {
      let tpl = this.templates[k];
      let d = this.cluster.pgDynamic(tpl.pg, t);
      if (tpl.state !== d.state || tpl.scrub !== tpl.pg.lastScrubStamp || tpl.deepScrub !== tpl.pg.lastDeepScrubStamp) {
        tpl = this.templates[k] = this.template(tpl.pg, t);
        d = this.cluster.pgDynamic(tpl.pg, t);
      }
      const body = this.pgBody.reset().raw(tpl.fixed);
      // version {epoch, version}
      const v = this.part.reset().tag(1, WIRE_VARINT).varint32(tpl.mappingEpoch);
      if (d.writes) v.tag(2, WIRE_VARINT).int64(d.writes);
      body.bytesField(3, v.view());
      if (d.reportedSeq) body.tag(4, WIRE_VARINT).int64(d.reportedSeq);
      for (const k of d.now) {
        const st = this.part.reset();
        if (sec) st.tag(1, WIRE_VARINT).varint32(sec);
        if (nsec) st.tag(2, WIRE_VARINT).varint32(nsec);
        body.bytesField(STAMP_FIELD[k], st.view());
      }
      if (d.logSize) body.tag(28, WIRE_VARINT).int64(d.logSize).tag(29, WIRE_VARINT).int64(d.logSize);
      for (const [k, val] of Object.entries(d.statSum)) tpl.stat[STAT_INDEX.get(k)!] = val;
      const sum = this.part.reset();
      for (let i = 0; i < 40; i++) if (tpl.stat[i]) sum.tag(i + 1, WIRE_VARINT).int64(tpl.stat[i]);
      body.bytesField(38, sum.view());
      out.bytesField(1, body.view());
      poolBytes.set(tpl.pg.pool, (poolBytes.get(tpl.pg.pool) ?? 0) + d.statSum.num_bytes);
    }
    const osdStat = this.cluster.osdStat(this.osd, t);
    const osd = this.pgBody.reset().raw(this.osdFixed);
    if (osdStat.seq) osd.tag(2, WIRE_VARINT).int64(osdStat.seq);
    const statfs = this.part.reset();
    STATFS_KEYS.forEach((k, i) => osdStat.statfs[k] && statfs.tag(i + 1, WIRE_VARINT).int64(osdStat.statfs[k]));
    osd.bytesField(7, statfs.view());
    out.bytesField(2, osd.view());
    const store = pacificTemplates().pool_stat.store_stats as Record<string, number>;
    for (const [pool, bytes] of poolBytes) {
      const statfs = this.part.reset();
      for (const k of STATFS_KEYS) {
        const val = k === 'allocated' || k === 'data_stored' ? bytes : store[k];
        if (val) statfs.tag(STATFS_INDEX.get(k)! + 1, WIRE_VARINT).int64(val);
      }
      out.bytesField(3, this.entry.reset().tag(1, WIRE_VARINT).int64(pool).bytesField(2, statfs.view()).view());
    }
    return out.view();
  }

  /** Templates of the PGs this OSD is primary of, after an event (or at first). */
  private rebuild(t: number): void {
    this.epoch = this.cluster.epoch;
    this.osdFixed = OsdStat.encode({ ...osdStatFromJson(this.cluster.osdStat(this.osd, t)), seq: 0, statfs: undefined }).finish();
    this.templates = this.cluster.pgsOfPrimary(this.osd).map((pg) => this.template(pg, t));
  }

  private template(pg: SimPg, t: number): PgTemplate {
    const typed = pgStatFromJson(this.cluster.pgStat(pg, t));
    const stat = new Float64Array(40);
    STAT_SUM_KEYS.forEach((k, i) => (stat[i] = (typed.statSum as unknown as Record<string, number>)[camel(k)]));
    // leave out what encode() writes every time
    const fixed: PgStat = { ...typed, version: undefined, reportedSeq: 0, logSize: 0, ondiskLogSize: 0, statSum: undefined };
    const d = this.cluster.pgDynamic(pg, t);
    for (const k of d.now) (fixed as unknown as Record<string, unknown>)[camel(k)] = undefined;
    return {
      pg,
      state: d.state,
      scrub: pg.lastScrubStamp,
      deepScrub: pg.lastDeepScrubStamp,
      fixed: PgStat.encode(fixed).finish(),
      stat,
      mappingEpoch: typed.version?.epoch ?? 0,
    };
  }
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
