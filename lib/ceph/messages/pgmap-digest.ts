// PGMapDigest: the summary of the PG map the active manager sends the
// monitors in every MMonMgrReport (its data segment), from which they
// answer `ceph -s` (pgs, usage, io rates), `ceph df` and the PG health
// checks. Pacific encodes v4 (compat 1). Its unordered maps are kept in
// wire order so a digest re-encodes byte for byte.
// Sources: src/mon/PGMap.{h,cc} (PGMapDigest::encode/decode).
import { Decoder, Encoder } from '../encoding';
import { decodeUTime, encodeUTime, type UTime } from '../types';
import { readString, writeString } from './common';
import {
  decodeOsdStat,
  decodePoolStat,
  decodeSnapIntervals,
  encodeOsdStat,
  encodePoolStat,
  encodeSnapIntervals,
  zeroOsdStat,
  zeroPoolStat,
  type OsdStat,
  type PoolStat,
  type SnapIntervals,
} from './pg-stats';

/** How many PGs an OSD is in: acting, up but not acting, primary. */
export interface PgCount {
  acting: number;
  up_not_acting: number;
  primary: number;
}

/** PGMapDigest v4. Field names are Ceph's. */
export interface PGMapDigest {
  num_pg: number;
  num_pg_active: number;
  num_pg_unknown: number;
  num_osd: number;
  /** pool id → the pool's sums. */
  pg_pool_sum: Map<number, PoolStat>;
  /** The cluster's sums over every pool. */
  pg_sum: PoolStat;
  /** The sum of every OSD's osd_stat_t. */
  osd_sum: OsdStat;
  /** PG state bits → how many PGs are in exactly that state. */
  num_pg_by_state: Map<number, number>;
  num_pg_by_osd: Map<number, PgCount>;
  num_pg_by_pool: Map<number, number>;
  /** Per OSD id (the index): the seq of its last osd_stat_t. */
  osd_last_seq: bigint[];
  /** pool id → the change over the last interval and that interval's length (io rates). */
  per_pool_sum_delta: Map<number, { delta: PoolStat; stamp: UTime }>;
  per_pool_sum_deltas_stamps: Map<number, UTime>;
  /** The cluster's change over stamp_delta: `ceph -s` io rates are pg_sum_delta / stamp_delta. */
  pg_sum_delta: PoolStat;
  stamp_delta: UTime;
  /** crush rule → bytes available to it. */
  avail_space_by_rule: Map<number, bigint>;
  purged_snaps: Map<number, SnapIntervals>;
  /** device class ("hdd", "ssd") → sum of its OSDs. */
  osd_sum_by_class: Map<string, OsdStat>;
}

export function emptyPGMapDigest(): PGMapDigest {
  return {
    num_pg: 0,
    num_pg_active: 0,
    num_pg_unknown: 0,
    num_osd: 0,
    pg_pool_sum: new Map(),
    pg_sum: zeroPoolStat(),
    osd_sum: zeroOsdStat(),
    num_pg_by_state: new Map(),
    num_pg_by_osd: new Map(),
    num_pg_by_pool: new Map(),
    osd_last_seq: [],
    per_pool_sum_delta: new Map(),
    per_pool_sum_deltas_stamps: new Map(),
    pg_sum_delta: zeroPoolStat(),
    stamp_delta: { sec: 0, nsec: 0 },
    avail_space_by_rule: new Map(),
    purged_snaps: new Map(),
    osd_sum_by_class: new Map(),
  };
}

const i32 = (d: Decoder) => d.i32();
const i64n = (d: Decoder) => d.i64n();

function decodePgCount(d: Decoder): PgCount {
  return { acting: d.i32(), up_not_acting: d.i32(), primary: d.i32() };
}

export function decodePGMapDigest(buf: Buffer): PGMapDigest {
  const d = new Decoder(buf);
  return d.struct(4, 'PGMapDigest', () => ({
    num_pg: d.i64n(),
    num_pg_active: d.i64n(),
    num_pg_unknown: d.i64n(),
    num_osd: d.i64n(),
    pg_pool_sum: d.map(i32, decodePoolStat, 10),
    pg_sum: decodePoolStat(d),
    osd_sum: decodeOsdStat(d),
    num_pg_by_state: d.map((x) => x.u64n(), i32, 12),
    num_pg_by_osd: d.map(i32, decodePgCount, 16),
    num_pg_by_pool: d.map(i64n, i64n, 16),
    osd_last_seq: d.list((x) => x.u64(), 8),
    per_pool_sum_delta: d.map(i64n, (x) => ({ delta: decodePoolStat(x), stamp: decodeUTime(x) }), 16),
    per_pool_sum_deltas_stamps: d.map(i64n, decodeUTime, 16),
    pg_sum_delta: decodePoolStat(d),
    stamp_delta: decodeUTime(d),
    avail_space_by_rule: d.map(i32, (x) => x.i64(), 12),
    purged_snaps: d.map(i64n, decodeSnapIntervals, 12),
    osd_sum_by_class: d.map(readString, decodeOsdStat, 10),
  }));
}

export function encodePGMapDigest(g: PGMapDigest): Buffer {
  const e = new Encoder(4096);
  e.struct(4, 1, () => {
    e.i64(g.num_pg).i64(g.num_pg_active).i64(g.num_pg_unknown).i64(g.num_osd);
    e.map(g.pg_pool_sum, (x, k) => x.i32(k), encodePoolStat);
    encodePoolStat(e, g.pg_sum);
    encodeOsdStat(e, g.osd_sum);
    e.map(
      g.num_pg_by_state,
      (x, k) => x.u64(k),
      (x, v) => x.i32(v),
    );
    e.map(
      g.num_pg_by_osd,
      (x, k) => x.i32(k),
      (x, c) => x.i32(c.acting).i32(c.up_not_acting).i32(c.primary),
    );
    e.map(
      g.num_pg_by_pool,
      (x, k) => x.i64(k),
      (x, v) => x.i64(v),
    );
    e.list(g.osd_last_seq, (x, v) => x.u64(v));
    e.map(
      g.per_pool_sum_delta,
      (x, k) => x.i64(k),
      (x, v) => {
        encodePoolStat(x, v.delta);
        encodeUTime(x, v.stamp);
      },
    );
    e.map(g.per_pool_sum_deltas_stamps, (x, k) => x.i64(k), encodeUTime);
    encodePoolStat(e, g.pg_sum_delta);
    encodeUTime(e, g.stamp_delta);
    e.map(
      g.avail_space_by_rule,
      (x, k) => x.i32(k),
      (x, v) => x.i64(v),
    );
    e.map(g.purged_snaps, (x, k) => x.i64(k), encodeSnapIntervals);
    e.map(g.osd_sum_by_class, writeString, encodeOsdStat);
  });
  return e.toBuffer();
}
