// The PG map's storage: pg_stat_t, osd_stat_t and per-pool statfs rows in
// columns of typed arrays (struct of arrays), not one JS object per PG:
// 100,000 PGs take tens of megabytes, a report is decoded straight into
// them (domain/pg-decode.ts) with no garbage to collect, and 64-bit fields
// stay exact (two 32-bit halves, shared with a BigInt64Array view for the
// rare value beyond 2^53). Rows are reused: a PG's new report fills a free
// row, which then takes the old row's place.

/** 64-bit fields of a PG row, as halves in `i64`. */
export enum PgI64 {
  POOL,
  PARENT_POOL,
  REPORTED_SEQ,
  VERSION,
  LOG_START,
  ONDISK_LOG_START,
  LAST_SCRUB,
  LAST_DEEP_SCRUB,
  LOG_SIZE,
  ONDISK_LOG_SIZE,
  /** object_stat_sum_t, STAT_SUM_KEYS order (40 fields). */
  STAT_SUM,
}
export const PG_I64_FIELDS = PgI64.STAT_SUM + 40;

/** 32-bit unsigned fields of a PG row. */
export enum PgU32 {
  SEED,
  PARENT_SEED,
  PARENT_SPLIT_BITS,
  REPORTED_EPOCH,
  MAPPING_EPOCH,
  CREATED,
  LAST_EPOCH_CLEAN,
  SNAPTRIMQ_LEN,
  VERSION_EPOCH,
  LOG_START_EPOCH,
  ONDISK_LOG_START_EPOCH,
  LAST_SCRUB_EPOCH,
  LAST_DEEP_SCRUB_EPOCH,
  /** Bit n: the n-th of stats_invalid .. manifest_stats_invalid (pg_stat_t fields 30..36). */
  FLAGS,
  /** Set bits: which of the optional sub-messages were present (see PRESENT_*). */
  PRESENT,
}
export const PG_U32_FIELDS = PgU32.PRESENT + 1;

/** utime_t fields of a PG row (sec, nsec pairs in `stamps`), in pg_stat_t field order. */
export const PG_STAMPS = [
  'last_fresh',
  'last_change',
  'last_active',
  'last_peered',
  'last_clean',
  'last_became_active',
  'last_became_peered',
  'last_unstale',
  'last_undegraded',
  'last_fullsized',
  'last_scrub_stamp',
  'last_deep_scrub_stamp',
  'last_clean_scrub_stamp',
] as const;

/** Per-row lists (usually tiny or empty; empty ones share one frozen array). */
export interface PgLists {
  up: number[];
  acting: number[];
  blockedBy: number[];
  /** pg_shard_t as Ceph prints it: "3" or "3(1)". */
  availNoMissing: string[];
  objectLocationCounts: Array<{ shards: string; objects: string }>;
  /** [start, length] as hex text. */
  purgedSnaps: Array<[string, string]>;
}

export const EMPTY: never[] = Object.freeze([]) as unknown as never[];

/**
 * The next capacity of a table: a quarter more, not twice, as a table holds
 * a cluster's PGs for good (100,000 PGs in rows of 131,072 held 31% more
 * than they use; growing costs a copy, rarely).
 */
function nextCapacity(capacity: number): number {
  return Math.max(64, Math.ceil(capacity * 1.25));
}

/** Grows a typed array to `n` elements, keeping its contents. */
function grow<T extends Int32Array | Uint32Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

export class PgRows {
  capacity = 0;
  i64 = new Int32Array(0);
  u32 = new Uint32Array(0);
  stamps = new Uint32Array(0);
  /** up_primary, acting_primary. */
  primaries = new Int32Array(0);
  /** Index into the state names. */
  state = new Uint32Array(0);
  up: number[][] = [];
  acting: number[][] = [];
  blockedBy: number[][] = [];
  availNoMissing: string[][] = [];
  objectLocationCounts: Array<Array<{ shards: string; objects: string }>> = [];
  purgedSnaps: Array<Array<[string, string]>> = [];
  private free: number[] = [];
  private used = 0;

  alloc(): number {
    const row = this.free.length ? this.free.pop()! : this.used++;
    if (row >= this.capacity) this.resize(nextCapacity(this.capacity));
    this.clear(row);
    return row;
  }

  release(row: number): void {
    this.up[row] = this.acting[row] = this.blockedBy[row] = EMPTY;
    this.availNoMissing[row] = this.objectLocationCounts[row] = this.purgedSnaps[row] = EMPTY;
    this.free.push(row);
  }

  /** Rows in use (allocated, not released). */
  get size(): number {
    return this.used - this.free.length;
  }

  private clear(row: number): void {
    this.i64.fill(0, row * PG_I64_FIELDS * 2, (row + 1) * PG_I64_FIELDS * 2);
    this.u32.fill(0, row * PG_U32_FIELDS, (row + 1) * PG_U32_FIELDS);
    this.stamps.fill(0, row * PG_STAMPS.length * 2, (row + 1) * PG_STAMPS.length * 2);
    this.primaries[row * 2] = this.primaries[row * 2 + 1] = 0;
    this.state[row] = 0;
    this.up[row] = this.acting[row] = this.blockedBy[row] = EMPTY;
    this.availNoMissing[row] = this.objectLocationCounts[row] = this.purgedSnaps[row] = EMPTY;
  }

  private resize(n: number): void {
    this.i64 = grow(this.i64, n * PG_I64_FIELDS * 2);
    this.u32 = grow(this.u32, n * PG_U32_FIELDS);
    this.stamps = grow(this.stamps, n * PG_STAMPS.length * 2);
    this.primaries = grow(this.primaries, n * 2);
    this.state = grow(this.state, n);
    this.capacity = n;
  }

  /** A 64-bit field as a double (exact below 2^53). */
  num(row: number, field: number): number {
    const i = (row * PG_I64_FIELDS + field) * 2;
    return this.i64[i + 1] * 4294967296 + (this.i64[i] >>> 0);
  }
}

/** 64-bit fields of an OSD row. */
export enum OsdI64 {
  SEQ,
  NUM_SHARDS_REPAIRED,
  COMMIT_LATENCY_NS,
  APPLY_LATENCY_NS,
  /** store_statfs_t, STATFS_KEYS order (10 fields). */
  STATFS,
}
export const OSD_I64_FIELDS = OsdI64.STATFS + 10;

export enum OsdU32 {
  UP_FROM,
  NUM_PGS,
  NUM_OSDS,
  NUM_PER_POOL_OSDS,
  NUM_PER_POOL_OMAP_OSDS,
  SNAP_TRIM_QUEUE_LEN,
  NUM_SNAP_TRIMMING,
}
export const OSD_U32_FIELDS = OsdU32.NUM_SNAP_TRIMMING + 1;

export interface PingTime {
  osd: number;
  lastUpdate: number;
  back: number[][];
  backLast: number;
  front: number[][];
  frontLast: number;
}

/** osd_stat_t rows, one per OSD (row = index in `osds`). */
export class OsdRows {
  capacity = 0;
  i64 = new Int32Array(0);
  u32 = new Uint32Array(0);
  hbPeers: number[][] = [];
  opQueueAgeHist: number[][] = [];
  /** The object store's alerts (osd_stat_t's os_alerts). */
  alerts: Array<Array<{ osd: number; name: string; text: string }>> = [];
  pingTimes: PingTime[][] = [];
  private free: number[] = [];
  private used = 0;

  alloc(): number {
    const row = this.free.length ? this.free.pop()! : this.used++;
    if (row >= this.capacity) {
      const n = nextCapacity(this.capacity);
      this.i64 = grow(this.i64, n * OSD_I64_FIELDS * 2);
      this.u32 = grow(this.u32, n * OSD_U32_FIELDS);
      this.capacity = n;
    }
    this.i64.fill(0, row * OSD_I64_FIELDS * 2, (row + 1) * OSD_I64_FIELDS * 2);
    this.u32.fill(0, row * OSD_U32_FIELDS, (row + 1) * OSD_U32_FIELDS);
    this.hbPeers[row] = this.opQueueAgeHist[row] = this.alerts[row] = this.pingTimes[row] = EMPTY;
    return row;
  }

  release(row: number): void {
    this.hbPeers[row] = this.opQueueAgeHist[row] = this.alerts[row] = this.pingTimes[row] = EMPTY;
    this.free.push(row);
  }

  num(row: number, field: number): number {
    const i = (row * OSD_I64_FIELDS + field) * 2;
    return this.i64[i + 1] * 4294967296 + (this.i64[i] >>> 0);
  }
}

/** Per-pool store_statfs_t rows (10 64-bit fields each). */
export class StatfsRows {
  i64 = new Int32Array(0);
  private free: number[] = [];
  private used = 0;

  alloc(): number {
    const row = this.free.length ? this.free.pop()! : this.used++;
    if ((row + 1) * 20 > this.i64.length) this.i64 = grow(this.i64, nextCapacity(this.i64.length / 20) * 20);
    this.i64.fill(0, row * 20, row * 20 + 20);
    return row;
  }

  release(row: number): void {
    this.free.push(row);
  }

  num(row: number, field: number): number {
    const i = (row * 10 + field) * 2;
    return this.i64[i + 1] * 4294967296 + (this.i64[i] >>> 0);
  }
}

/** Exact decimal text of the signed 64-bit value at halves index i of `a`. */
export function i64Text(a: Int32Array, i: number): string {
  const hi = a[i + 1];
  if (hi >= -0x200000 && hi < 0x200000) return String(hi * 4294967296 + (a[i] >>> 0));
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(a[i] >>> 0)).toString();
}

/** Exact decimal text of the unsigned 64-bit value at halves index i of `a`. */
export function u64Text(a: Int32Array, i: number): string {
  const hi = a[i + 1] >>> 0;
  if (hi < 0x200000) return String(hi * 4294967296 + (a[i] >>> 0));
  return ((BigInt(hi) << 32n) | BigInt(a[i] >>> 0)).toString();
}
