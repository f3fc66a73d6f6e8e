// What an OSD reports of its placement groups and itself: MPGStats (every
// report period, OSD to manager; the manager answers nothing) with
// osd_stat_t v14 and one pg_stat_t v26 per PG it is primary for, and the
// structures inside them (object_stat_sum_t v20, store_statfs_t, pg_t,
// eversion_t), which PGMapDigest reuses (pool_stat_t). Every struct is read
// through its length, so fields a newer OSD adds are skipped.
// Field names are Ceph's (num_bytes, last_clean...), so `pg dump` JSON maps
// one to one. 64-bit counters stay bigint; epochs, counts and ids that
// cannot pass 2^53 are numbers.
// Sources: src/messages/MPGStats.h, src/osd/osd_types.{h,cc}.
import { Decoder, DecodeError, Encoder } from '../encoding';
import { type Message } from '../message';
import { decodeUTime, decodeUuid, encodeUTime, encodeUuid, type UTime } from '../types';
import { decodePaxos, encodePaxos, frontOf, readString, readStringMap, writeStringMap, type PaxosHeader } from './common';

/** MPGStats' type number (MSG_PGSTATS), not in message.ts's MsgType yet. */
export const MSG_PGSTATS = 87;

// --- small types -------------------------------------------------------------

/** eversion_t: a PG log position. */
export interface EVersion {
  epoch: number;
  version: bigint;
}

export function decodeEVersion(d: Decoder): EVersion {
  const version = d.u64();
  return { epoch: d.u32(), version };
}

export function encodeEVersion(e: Encoder, v: EVersion): void {
  e.u64(v.version).u32(v.epoch);
}

/** pg_t: a placement group (pool, placement seed). */
export interface PgId {
  pool: number;
  seed: number;
}

/** "1.1f", as Ceph prints a pgid. */
export function pgIdString(p: PgId): string {
  return `${p.pool}.${p.seed.toString(16)}`;
}

export function decodePgId(d: Decoder): PgId {
  const v = d.u8();
  if (v !== 1) throw new DecodeError(`pg_t encoding v${v}, expected 1`);
  const pool = d.u64n();
  const seed = d.u32();
  d.i32(); // preferred, always -1 since Luminous
  return { pool, seed };
}

export function encodePgId(e: Encoder, p: PgId): void {
  e.u8(1).u64(p.pool).u32(p.seed).i32(-1);
}

/** pg_shard_t: an OSD and, for erasure-coded pools, its shard (-1: none). */
export interface PgShard {
  osd: number;
  shard: number;
}

function decodePgShard(d: Decoder): PgShard {
  return d.struct(1, 'pg_shard_t', () => ({ osd: d.i32(), shard: d.bytes(1).readInt8(0) }));
}

function encodePgShard(e: Encoder, s: PgShard): void {
  e.struct(1, 1, () => {
    e.i32(s.osd);
    const b = Buffer.alloc(1);
    b.writeInt8(s.shard, 0);
    e.bytes(b);
  });
}

/** interval_set<snapid_t>: [start, length] pairs. */
export type SnapIntervals = [bigint, bigint][];

export function decodeSnapIntervals(d: Decoder): SnapIntervals {
  return d.list((x) => [x.u64(), x.u64()] as [bigint, bigint], 16);
}

export function encodeSnapIntervals(e: Encoder, s: SnapIntervals): void {
  e.list(s, (x, [start, len]) => x.u64(start).u64(len));
}

function readI32List(d: Decoder): number[] {
  return d.list((x) => x.i32(), 4);
}

function writeI32List(e: Encoder, l: readonly number[]): void {
  e.list(l, (x, v) => x.i32(v));
}

// --- PG states ---------------------------------------------------------------

/** PG_STATE_* bits, in the order pg_state_string prints them. */
export const PG_STATES: readonly [string, number][] = [
  ['stale', 2 ** 17],
  ['creating', 2 ** 0],
  ['active', 2 ** 1],
  ['activating', 2 ** 24],
  ['clean', 2 ** 2],
  ['recovery_wait', 2 ** 22],
  ['recovery_toofull', 2 ** 28],
  ['recovering', 2 ** 14],
  ['forced_recovery', 2 ** 30],
  ['down', 2 ** 4],
  ['recovery_unfound', 2 ** 5],
  ['backfill_unfound', 2 ** 6],
  ['undersized', 2 ** 23],
  ['degraded', 2 ** 10],
  ['remapped', 2 ** 18],
  ['premerge', 2 ** 7],
  ['scrubbing', 2 ** 8],
  ['deep', 2 ** 19],
  ['inconsistent', 2 ** 11],
  ['peering', 2 ** 12],
  ['repair', 2 ** 13],
  ['backfill_wait', 2 ** 15],
  ['backfilling', 2 ** 20],
  ['forced_backfill', 2 ** 31],
  ['backfill_toofull', 2 ** 21],
  ['incomplete', 2 ** 16],
  ['peered', 2 ** 25],
  ['snaptrim', 2 ** 26],
  ['snaptrim_wait', 2 ** 27],
  ['snaptrim_error', 2 ** 29],
  ['failed_repair', 2 ** 32],
  ['laggy', 2 ** 33],
  ['wait', 2 ** 34],
];

/** A PG state as Ceph prints it: "active+clean", "unknown" for none. */
export function pgStateString(state: number): string {
  const s = PG_STATES.filter(([, bit]) => Math.floor(state / bit) % 2 === 1).map(([name]) => name);
  return s.length ? s.join('+') : 'unknown';
}

/** The bits of a state as Ceph prints it ("active+clean"; "unknown" is 0); undefined when a word is not a PG state. */
export function pgStateFromString(s: string): number | undefined {
  if (s === 'unknown') return 0;
  let bits = 0;
  for (const word of s.split('+')) {
    const bit = PG_STATES.find(([name]) => name === word)?.[1];
    if (bit === undefined) return undefined;
    bits += bit;
  }
  return bits;
}

// --- object_stat_sum_t -------------------------------------------------------

/**
 * object_stat_sum_t's fields in wire order. From v20 on a little-endian
 * peer copies the C struct as it is in memory, which is the same order
 * with four 32-bit fields (num_flush_mode_high ... num_evict_mode_full);
 * the number says the version that added each field.
 */
const SUM_FIELDS = [
  ['num_bytes', 14],
  ['num_objects', 14],
  ['num_object_clones', 14],
  ['num_object_copies', 14],
  ['num_objects_missing_on_primary', 14],
  ['num_objects_degraded', 14],
  ['num_objects_unfound', 14],
  ['num_rd', 14],
  ['num_rd_kb', 14],
  ['num_wr', 14],
  ['num_wr_kb', 14],
  ['num_scrub_errors', 14],
  ['num_objects_recovered', 14],
  ['num_bytes_recovered', 14],
  ['num_keys_recovered', 14],
  ['num_shallow_scrub_errors', 14],
  ['num_deep_scrub_errors', 14],
  ['num_objects_dirty', 14],
  ['num_whiteouts', 14],
  ['num_objects_omap', 14],
  ['num_objects_hit_set_archive', 14],
  ['num_objects_misplaced', 14],
  ['num_bytes_hit_set_archive', 14],
  ['num_flush', 14],
  ['num_flush_kb', 14],
  ['num_evict', 14],
  ['num_evict_kb', 14],
  ['num_promote', 14],
  ['num_flush_mode_high', 14],
  ['num_flush_mode_low', 14],
  ['num_evict_mode_some', 14],
  ['num_evict_mode_full', 14],
  ['num_objects_pinned', 14],
  ['num_objects_missing', 14],
  ['num_legacy_snapsets', 16],
  ['num_large_omap_objects', 17],
  ['num_objects_manifest', 18],
  ['num_omap_bytes', 19],
  ['num_omap_keys', 19],
  ['num_objects_repaired', 20],
] as const;

const SUM_I32 = new Set(['num_flush_mode_high', 'num_flush_mode_low', 'num_evict_mode_some', 'num_evict_mode_full']);

export type ObjectStatField = (typeof SUM_FIELDS)[number][0];
/** Object statistics summed over a PG, pool or cluster: every field a signed 64-bit (or 32-bit) count. */
export type ObjectStatSum = Record<ObjectStatField, bigint>;

export const OBJECT_STAT_FIELDS: readonly ObjectStatField[] = SUM_FIELDS.map(([name]) => name);

export function zeroObjectStatSum(): ObjectStatSum {
  return Object.fromEntries(OBJECT_STAT_FIELDS.map((f) => [f, 0n])) as ObjectStatSum;
}

export function decodeObjectStatSum(d: Decoder): ObjectStatSum {
  return d.struct(20, 'object_stat_sum_t', (_, v) => {
    if (v < 14) throw new DecodeError(`object_stat_sum_t v${v} predates Luminous`);
    const s = zeroObjectStatSum();
    for (const [name, since] of SUM_FIELDS) if (v >= since) s[name] = SUM_I32.has(name) ? BigInt(d.i32()) : d.i64();
    return s;
  });
}

export function encodeObjectStatSum(e: Encoder, s: ObjectStatSum): void {
  e.struct(20, 14, () => {
    for (const [name] of SUM_FIELDS) {
      if (SUM_I32.has(name)) e.i32(Number(s[name]));
      else e.i64(s[name]);
    }
  });
}

/** object_stat_collection_t v2: the sum (its per-category map is always empty). */
export function decodeObjectStatCollection(d: Decoder): ObjectStatSum {
  return d.struct(2, 'object_stat_collection_t', () => {
    const sum = decodeObjectStatSum(d);
    d.map(readString, decodeObjectStatSum, 10); // cat_sum, unused since Luminous
    return sum;
  });
}

export function encodeObjectStatCollection(e: Encoder, s: ObjectStatSum): void {
  e.struct(2, 2, () => {
    encodeObjectStatSum(e, s);
    e.u32(0);
  });
}

// --- store_statfs_t ----------------------------------------------------------

const STATFS_FIELDS = [
  'total',
  'available',
  'internally_reserved',
  'allocated',
  'data_stored',
  'data_compressed',
  'data_compressed_allocated',
  'data_compressed_original',
  'omap_allocated',
  'internal_metadata',
] as const;

/** store_statfs_t: an object store's space, in bytes (total, available, internally_reserved unsigned; the rest signed). */
export type StoreStatfs = Record<(typeof STATFS_FIELDS)[number], bigint>;

export function zeroStoreStatfs(): StoreStatfs {
  return Object.fromEntries(STATFS_FIELDS.map((f) => [f, 0n])) as StoreStatfs;
}

export function decodeStoreStatfs(d: Decoder): StoreStatfs {
  return d.struct(1, 'store_statfs_t', () => {
    const s = zeroStoreStatfs();
    STATFS_FIELDS.forEach((f, i) => (s[f] = i < 3 ? d.u64() : d.i64()));
    return s;
  });
}

export function encodeStoreStatfs(e: Encoder, s: StoreStatfs): void {
  e.struct(1, 1, () => STATFS_FIELDS.forEach((f, i) => (i < 3 ? e.u64(s[f]) : e.i64(s[f]))));
}

// --- osd_stat_t --------------------------------------------------------------

/** One peer's heartbeat ping times (µs) over 1, 5 and 15 minutes, back and front network. */
export interface PingTimes {
  /** Seconds since the epoch. */
  last_update: number;
  back_pingtime: number[];
  back_min: number[];
  back_max: number[];
  back_last: number;
  front_pingtime: number[];
  front_min: number[];
  front_max: number[];
  front_last: number;
}

/** osd_stat_t: an OSD's own statistics. The legacy kb fields are derived from statfs when encoding, as Ceph does. */
export interface OsdStat {
  statfs: StoreStatfs;
  hb_peers: number[];
  snap_trim_queue_len: number;
  num_snap_trimming: number;
  num_shards_repaired: bigint;
  /** op queue age histogram (pow2_hist_t). */
  op_queue_age_hist: number[];
  /** objectstore_perf_stat_t, in nanoseconds. */
  os_perf_stat: { commit_latency_ns: bigint; apply_latency_ns: bigint };
  /** osd id → alert name → text. */
  os_alerts: Map<number, Record<string, string>>;
  up_from: number;
  seq: bigint;
  num_pgs: number;
  num_osds: number;
  num_per_pool_osds: number;
  num_per_pool_omap_osds: number;
  /** peer osd id → ping times. */
  hb_pingtime: Map<number, PingTimes>;
}

export function zeroOsdStat(): OsdStat {
  return {
    statfs: zeroStoreStatfs(),
    hb_peers: [],
    snap_trim_queue_len: 0,
    num_snap_trimming: 0,
    num_shards_repaired: 0n,
    op_queue_age_hist: [],
    os_perf_stat: { commit_latency_ns: 0n, apply_latency_ns: 0n },
    os_alerts: new Map(),
    up_from: 0,
    seq: 0n,
    num_pgs: 0,
    num_osds: 0,
    num_per_pool_osds: 0,
    num_per_pool_omap_osds: 0,
    hb_pingtime: new Map(),
  };
}

function decodePow2Hist(d: Decoder): number[] {
  return d.struct(1, 'pow2_hist_t', () => readI32List(d));
}

function decodeOsPerfStat(d: Decoder): OsdStat['os_perf_stat'] {
  return d.struct(2, 'objectstore_perf_stat_t', (_, v) => {
    if (v >= 2) return { commit_latency_ns: d.u64(), apply_latency_ns: d.u64() };
    const ms = 1_000_000n;
    return { commit_latency_ns: BigInt(d.u32()) * ms, apply_latency_ns: BigInt(d.u32()) * ms };
  });
}

/**
 * objectstore_perf_stat_t as a Pacific OSD encodes it: v1, whole
 * milliseconds as le32. The nanosecond form (v2) needs OS_PERF_STAT_NS
 * (feature bit 17), which no Pacific peer announces.
 */
function encodeOsPerfStat(e: Encoder, p: OsdStat['os_perf_stat']): void {
  const ms = (ns: bigint) => Number(ns / 1_000_000n) >>> 0;
  e.struct(1, 1, () => e.u32(ms(p.commit_latency_ns)).u32(ms(p.apply_latency_ns)));
}

function decodePingTimes(d: Decoder): PingTimes {
  const three = () => [d.u32(), d.u32(), d.u32()];
  return {
    last_update: d.u32(),
    back_pingtime: three(),
    back_min: three(),
    back_max: three(),
    back_last: d.u32(),
    front_pingtime: three(),
    front_min: three(),
    front_max: three(),
    front_last: d.u32(),
  };
}

const PING_TIMES_BYTES = 21 * 4;

function encodePingTimes(e: Encoder, p: PingTimes): void {
  e.u32(p.last_update);
  for (const v of [...p.back_pingtime, ...p.back_min, ...p.back_max, p.back_last, ...p.front_pingtime, ...p.front_min, ...p.front_max, p.front_last]) e.u32(v);
}

export function decodeOsdStat(d: Decoder): OsdStat {
  return d.struct(14, 'osd_stat_t', (_, v) => {
    if (v < 9) throw new DecodeError(`osd_stat_t v${v} predates Nautilus`);
    const s = zeroOsdStat();
    d.skip(24); // kb, kb_used, kb_avail: statfs holds them
    s.snap_trim_queue_len = d.i32();
    s.num_snap_trimming = d.i32();
    s.hb_peers = readI32List(d);
    readI32List(d); // num_hb_out, unused
    s.op_queue_age_hist = decodePow2Hist(d);
    s.os_perf_stat = decodeOsPerfStat(d);
    s.up_from = d.u32();
    s.seq = d.u64();
    s.num_pgs = d.u32();
    d.skip(24); // kb_used_data, kb_used_omap, kb_used_meta
    s.statfs = decodeStoreStatfs(d);
    if (v >= 10) s.os_alerts = d.map((x) => x.i32(), readStringMap, 8);
    if (v >= 11) s.num_shards_repaired = d.u64();
    if (v >= 12) {
      s.num_osds = d.u32();
      s.num_per_pool_osds = d.u32();
    }
    if (v >= 13) s.num_per_pool_omap_osds = d.u32();
    if (v >= 14) {
      const n = d.i32();
      if (n < 0 || n * (4 + PING_TIMES_BYTES) > d.remaining)
        throw new DecodeError(`osd_stat_t hb_pingtime of ${n} entries does not fit in ${d.remaining} bytes`);
      for (let i = 0; i < n; i++) s.hb_pingtime.set(d.i32(), decodePingTimes(d));
    }
    return s;
  });
}

export function encodeOsdStat(e: Encoder, s: OsdStat): void {
  const kb = (b: bigint) => b >> 10n;
  const f = s.statfs;
  e.struct(14, 2, () => {
    e.i64(kb(f.total))
      .i64(kb(f.total - f.available))
      .i64(kb(f.available));
    e.i32(s.snap_trim_queue_len).i32(s.num_snap_trimming);
    writeI32List(e, s.hb_peers);
    e.u32(0); // num_hb_out
    e.struct(1, 1, () => writeI32List(e, s.op_queue_age_hist));
    encodeOsPerfStat(e, s.os_perf_stat);
    e.u32(s.up_from).u64(s.seq).u32(s.num_pgs);
    e.i64(kb(f.allocated)).i64(kb(f.omap_allocated)).i64(kb(f.internal_metadata));
    encodeStoreStatfs(e, f);
    e.map(s.os_alerts, (x, k) => x.i32(k), writeStringMap);
    e.u64(s.num_shards_repaired).u32(s.num_osds).u32(s.num_per_pool_osds).u32(s.num_per_pool_omap_osds);
    e.i32(s.hb_pingtime.size);
    for (const [osd, p] of s.hb_pingtime) {
      e.i32(osd);
      encodePingTimes(e, p);
    }
  });
}

// --- pg_stat_t ---------------------------------------------------------------

/** pg_stat_t: one PG as its primary OSD reports it. */
export interface PgStat {
  version: EVersion;
  reported_seq: bigint;
  reported_epoch: number;
  /** PG_STATE_* bits (pgStateString). */
  state: number;
  log_start: EVersion;
  ondisk_log_start: EVersion;
  created: number;
  last_epoch_clean: number;
  parent: PgId;
  parent_split_bits: number;
  last_scrub: EVersion;
  last_scrub_stamp: UTime;
  stats: ObjectStatSum;
  log_size: bigint;
  ondisk_log_size: bigint;
  up: number[];
  acting: number[];
  last_fresh: UTime;
  last_change: UTime;
  last_active: UTime;
  last_clean: UTime;
  last_unstale: UTime;
  mapping_epoch: number;
  last_deep_scrub: EVersion;
  last_deep_scrub_stamp: UTime;
  stats_invalid: boolean;
  last_clean_scrub_stamp: UTime;
  last_became_active: UTime;
  dirty_stats_invalid: boolean;
  up_primary: number;
  acting_primary: number;
  omap_stats_invalid: boolean;
  hitset_stats_invalid: boolean;
  blocked_by: number[];
  last_undegraded: UTime;
  last_fullsized: UTime;
  hitset_bytes_stats_invalid: boolean;
  last_peered: UTime;
  last_became_peered: UTime;
  pin_stats_invalid: boolean;
  snaptrimq_len: number;
  purged_snaps: SnapIntervals;
  manifest_stats_invalid: boolean;
  avail_no_missing: PgShard[];
  /** Which shards hold how many objects: [shards, objects]. */
  object_location_counts: [PgShard[], number][];
}

const TWO_32 = 2 ** 32;

export function decodePgStat(d: Decoder): PgStat {
  return d.struct(26, 'pg_stat_t', (_, v) => {
    if (v < 22) throw new DecodeError(`pg_stat_t v${v} predates Luminous`);
    const version = decodeEVersion(d);
    const reported_seq = d.u64();
    const reported_epoch = d.u32();
    const lowState = d.u32();
    const s: PgStat = {
      version,
      reported_seq,
      reported_epoch,
      state: lowState,
      log_start: decodeEVersion(d),
      ondisk_log_start: decodeEVersion(d),
      created: d.u32(),
      last_epoch_clean: d.u32(),
      parent: decodePgId(d),
      parent_split_bits: d.u32(),
      last_scrub: decodeEVersion(d),
      last_scrub_stamp: decodeUTime(d),
      stats: decodeObjectStatCollection(d),
      log_size: d.i64(),
      ondisk_log_size: d.i64(),
      up: readI32List(d),
      acting: readI32List(d),
      last_fresh: decodeUTime(d),
      last_change: decodeUTime(d),
      last_active: decodeUTime(d),
      last_clean: decodeUTime(d),
      last_unstale: decodeUTime(d),
      mapping_epoch: d.u32(),
      last_deep_scrub: decodeEVersion(d),
      last_deep_scrub_stamp: decodeUTime(d),
      stats_invalid: d.bool(),
      last_clean_scrub_stamp: decodeUTime(d),
      last_became_active: decodeUTime(d),
      dirty_stats_invalid: d.bool(),
      up_primary: d.i32(),
      acting_primary: d.i32(),
      omap_stats_invalid: d.bool(),
      hitset_stats_invalid: d.bool(),
      blocked_by: readI32List(d),
      last_undegraded: decodeUTime(d),
      last_fullsized: decodeUTime(d),
      hitset_bytes_stats_invalid: d.bool(),
      last_peered: decodeUTime(d),
      last_became_peered: decodeUTime(d),
      pin_stats_invalid: d.bool(),
      snaptrimq_len: 0,
      purged_snaps: [],
      manifest_stats_invalid: true,
      avail_no_missing: [],
      object_location_counts: [],
    };
    if (v >= 23) s.snaptrimq_len = d.u32();
    if (v >= 24) {
      s.state = lowState + d.u32() * TWO_32;
      s.purged_snaps = decodeSnapIntervals(d);
    }
    if (v >= 25) s.manifest_stats_invalid = d.bool();
    if (v >= 26) {
      s.avail_no_missing = d.list(decodePgShard, 11);
      s.object_location_counts = [
        ...d
          .map(
            (x) => x.list(decodePgShard, 11),
            (x) => x.i32(),
            8,
          )
          .entries(),
      ];
    }
    return s;
  });
}

export function encodePgStat(e: Encoder, s: PgStat): void {
  e.struct(26, 22, () => {
    encodeEVersion(e, s.version);
    e.u64(s.reported_seq)
      .u32(s.reported_epoch)
      .u32(s.state % TWO_32);
    encodeEVersion(e, s.log_start);
    encodeEVersion(e, s.ondisk_log_start);
    e.u32(s.created).u32(s.last_epoch_clean);
    encodePgId(e, s.parent);
    e.u32(s.parent_split_bits);
    encodeEVersion(e, s.last_scrub);
    encodeUTime(e, s.last_scrub_stamp);
    encodeObjectStatCollection(e, s.stats);
    e.i64(s.log_size).i64(s.ondisk_log_size);
    writeI32List(e, s.up);
    writeI32List(e, s.acting);
    for (const t of [s.last_fresh, s.last_change, s.last_active, s.last_clean, s.last_unstale]) encodeUTime(e, t);
    e.u32(s.mapping_epoch);
    encodeEVersion(e, s.last_deep_scrub);
    encodeUTime(e, s.last_deep_scrub_stamp);
    e.bool(s.stats_invalid);
    encodeUTime(e, s.last_clean_scrub_stamp);
    encodeUTime(e, s.last_became_active);
    e.bool(s.dirty_stats_invalid).i32(s.up_primary).i32(s.acting_primary).bool(s.omap_stats_invalid).bool(s.hitset_stats_invalid);
    writeI32List(e, s.blocked_by);
    encodeUTime(e, s.last_undegraded);
    encodeUTime(e, s.last_fullsized);
    e.bool(s.hitset_bytes_stats_invalid);
    encodeUTime(e, s.last_peered);
    encodeUTime(e, s.last_became_peered);
    e.bool(s.pin_stats_invalid)
      .u32(s.snaptrimq_len)
      .u32(Math.floor(s.state / TWO_32));
    encodeSnapIntervals(e, s.purged_snaps);
    e.bool(s.manifest_stats_invalid);
    e.list(s.avail_no_missing, encodePgShard);
    e.list(s.object_location_counts, (x, [shards, n]) => {
      x.list(shards, encodePgShard);
      x.i32(n);
    });
  });
}

// --- pool_stat_t -------------------------------------------------------------

/** pool_stat_t: a pool's (or the cluster's) sums, as PGMapDigest carries them. */
export interface PoolStat {
  stats: ObjectStatSum;
  store_stats: StoreStatfs;
  log_size: bigint;
  ondisk_log_size: bigint;
  /** Up and acting replicas or shards, summed. */
  up: number;
  acting: number;
  num_store_stats: number;
}

export function zeroPoolStat(): PoolStat {
  return { stats: zeroObjectStatSum(), store_stats: zeroStoreStatfs(), log_size: 0n, ondisk_log_size: 0n, up: 0, acting: 0, num_store_stats: 0 };
}

export function decodePoolStat(d: Decoder): PoolStat {
  return d.struct(7, 'pool_stat_t', (_, v) => {
    if (v < 6) throw new DecodeError(`pool_stat_t v${v} predates Luminous`);
    const p = zeroPoolStat();
    p.stats = decodeObjectStatCollection(d);
    p.log_size = d.i64();
    p.ondisk_log_size = d.i64();
    p.up = d.i32();
    p.acting = d.i32();
    if (v >= 7) {
      p.store_stats = decodeStoreStatfs(d);
      p.num_store_stats = d.i32();
    }
    return p;
  });
}

export function encodePoolStat(e: Encoder, p: PoolStat): void {
  e.struct(7, 5, () => {
    encodeObjectStatCollection(e, p.stats);
    e.i64(p.log_size).i64(p.ondisk_log_size).i32(p.up).i32(p.acting);
    encodeStoreStatfs(e, p.store_stats);
    e.i32(p.num_store_stats);
  });
}

// --- MPGStats ----------------------------------------------------------------

/** MPGStats v2: an OSD's statistics and those of the PGs it is primary for. */
export interface MPGStats {
  paxos: PaxosHeader;
  fsid: string;
  osdStat: OsdStat;
  /** Per PG, in the OSD's (pg_t) order. */
  pgStat: { pgid: PgId; stat: PgStat }[];
  /** The OSD's osdmap epoch. */
  epoch: number;
  /** Per pool id: what the OSD's object store holds of that pool. */
  poolStat: Map<number, StoreStatfs>;
}

export function decodeMPGStats(m: Message): MPGStats {
  const d = frontOf(m, MSG_PGSTATS);
  const paxos = decodePaxos(d);
  const fsid = decodeUuid(d);
  const osdStat = decodeOsdStat(d);
  const pgStat = [...d.map(decodePgId, decodePgStat, 30).entries()].map(([pgid, stat]) => ({ pgid, stat }));
  const epoch = d.u32();
  decodeUTime(d); // unused stamp, always zero
  const poolStat = m.version >= 2 ? d.map((x) => x.i64n(), decodeStoreStatfs, 14) : new Map<number, StoreStatfs>();
  return { paxos, fsid, osdStat, pgStat, epoch, poolStat };
}

export function mPGStats(s: MPGStats): Message {
  const e = new Encoder(1024 + s.pgStat.length * 640);
  encodePaxos(e, s.paxos);
  encodeUuid(e, s.fsid);
  encodeOsdStat(e, s.osdStat);
  e.list(s.pgStat, (x, { pgid, stat }) => {
    encodePgId(x, pgid);
    encodePgStat(x, stat);
  });
  e.u32(s.epoch);
  encodeUTime(e, { sec: 0, nsec: 0 });
  e.map(s.poolStat, (x, k) => x.i64(k), encodeStoreStatfs);
  return { type: MSG_PGSTATS, version: 2, compatVersion: 1, front: e.toBuffer() };
}
