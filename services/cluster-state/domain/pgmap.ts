// Ceph's PGMap, fed by per-OSD MPGStats reports: the latest pg_stat_t of
// every PG, osd_stat_t of every OSD and per-pool statfs, and the sums and
// rates derived from them (pg_summary, pg_status, pool_stats, osd_stats,
// io_rate, df, ...), following src/mon/PGMap.cc. No gRPC here.
//
// The rows live in columns (domain/pg-table.ts); a report is decoded into
// fresh rows (domain/pg-decode.ts) and committed: the sums lose the old row
// and gain the new one, so a report costs the same at 100 or 100,000 PGs.
// The JSON views are written from the columns when asked (domain/pg-json.ts).
import { STATFS_KEYS, STAT_SUM_KEYS } from '../../../lib/pgstats-json';
import { decodePgStatsReport, release, StagedReport } from './pg-decode';
import { osdStatJson, pgStatJson, pingTimesJson, poolStatfsJson, utimeText } from './pg-json';
import { OsdI64, OsdRows, OsdU32, OSD_U32_FIELDS, PgI64, PgRows, PgU32, PG_I64_FIELDS, PG_STAMPS, PG_U32_FIELDS, StatfsRows } from './pg-table';

// Module-local copies: imported bindings are getters under the TypeScript
// loader, and Sums.add reads these for every PG of every report.
const I64 = PgI64;
const PG_I64 = PG_I64_FIELDS;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;

/** pool_stat_t: what Ceph sums per pool and overall. */
export interface PoolStat {
  stat_sum: Record<string, number>;
  store_stats: Record<string, number>;
  log_size: number;
  ondisk_log_size: number;
  up: number;
  acting: number;
  num_store_stats: number;
}

const zeros = (keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<string, number>;
export const emptyPoolStat = (): PoolStat => ({
  stat_sum: zeros(STAT_SUM_KEYS),
  store_stats: zeros(STATFS_KEYS),
  log_size: 0,
  ondisk_log_size: 0,
  up: 0,
  acting: 0,
  num_store_stats: 0,
});

function diffPoolStat(a: PoolStat, b: PoolStat): PoolStat {
  const out = emptyPoolStat();
  for (const k of STAT_SUM_KEYS) out.stat_sum[k] = a.stat_sum[k] - b.stat_sum[k];
  for (const k of STATFS_KEYS) out.store_stats[k] = a.store_stats[k] - b.store_stats[k];
  out.log_size = a.log_size - b.log_size;
  out.ondisk_log_size = a.ondisk_log_size - b.ondisk_log_size;
  out.up = a.up - b.up;
  out.acting = a.acting - b.acting;
  out.num_store_stats = a.num_store_stats - b.num_store_stats;
  return out;
}

function addPoolStat(into: PoolStat, d: PoolStat): void {
  for (const k of STAT_SUM_KEYS) into.stat_sum[k] += d.stat_sum[k];
  for (const k of STATFS_KEYS) into.store_stats[k] += d.store_stats[k];
  into.log_size += d.log_size;
  into.ondisk_log_size += d.ondisk_log_size;
  into.up += d.up;
  into.acting += d.acting;
  into.num_store_stats += d.num_store_stats;
}

/** Ceph dumps pool_stat_t with its keys in this order (sorted in the fixtures). */
export function dumpPoolStat(p: PoolStat): Json {
  return {
    acting: p.acting,
    log_size: p.log_size,
    num_store_stats: p.num_store_stats,
    ondisk_log_size: p.ondisk_log_size,
    stat_sum: p.stat_sum,
    store_stats: p.store_stats,
    up: p.up,
  };
}

/** utime_t as Ceph prints a duration: seconds with six decimals. */
const formatDuration = (s: number) => s.toFixed(6);

/** How many report intervals the rates are smoothed over (Ceph's mon_stat_smooth_intervals). */
const SMOOTH_INTERVALS = 6;

/** Running sums over PGs (all of them, or one pool's). */
class Sums {
  readonly stat = new Float64Array(40);
  logSize = 0;
  ondiskLogSize = 0;
  up = 0;
  acting = 0;
  numPg = 0;

  /** Adds one PG row's counts (sign 1) or takes them away (sign -1). */
  add(rows: PgRows, row: number, sign: number): void {
    const a = rows.i64;
    let i = (row * PG_I64 + I64.STAT_SUM) * 2;
    const stat = this.stat;
    for (let k = 0; k < 40; k++, i += 2) stat[k] += sign * (a[i + 1] * 4294967296 + (a[i] >>> 0));
    this.logSize += sign * rows.num(row, I64.LOG_SIZE);
    this.ondiskLogSize += sign * rows.num(row, I64.ONDISK_LOG_SIZE);
    this.up += sign * rows.up[row].length;
    this.acting += sign * rows.acting[row].length;
    this.numPg += sign;
  }

  /** Replaces row `from` by row `to` in this sum and in `also` (a pool's): the difference is taken once. */
  replace(rows: PgRows, from: number, to: number, also: Sums): void {
    const a = rows.i64;
    let i = (from * PG_I64 + I64.STAT_SUM) * 2;
    let j = (to * PG_I64 + I64.STAT_SUM) * 2;
    const stat = this.stat;
    const other = also.stat;
    for (let k = 0; k < 40; k++, i += 2, j += 2) {
      if (a[i] === a[j] && a[i + 1] === a[j + 1]) continue;
      const d = a[j + 1] * 4294967296 + (a[j] >>> 0) - (a[i + 1] * 4294967296 + (a[i] >>> 0));
      stat[k] += d;
      other[k] += d;
    }
    const log = rows.num(to, I64.LOG_SIZE) - rows.num(from, I64.LOG_SIZE);
    const ondisk = rows.num(to, I64.ONDISK_LOG_SIZE) - rows.num(from, I64.ONDISK_LOG_SIZE);
    const up = rows.up[to].length - rows.up[from].length;
    const acting = rows.acting[to].length - rows.acting[from].length;
    this.logSize += log;
    also.logSize += log;
    this.ondiskLogSize += ondisk;
    also.ondiskLogSize += ondisk;
    this.up += up;
    also.up += up;
    this.acting += acting;
    also.acting += acting;
  }

  /** As pool_stat_t, with the given store statistics. */
  poolStat(store: Float64Array | null, storeCount: number): PoolStat {
    const stat_sum: Record<string, number> = {};
    STAT_SUM_KEYS.forEach((k, i) => (stat_sum[k] = this.stat[i]));
    const store_stats: Record<string, number> = {};
    STATFS_KEYS.forEach((k, i) => (store_stats[k] = store ? store[i] : 0));
    return {
      stat_sum,
      store_stats,
      log_size: this.logSize,
      ondisk_log_size: this.ondiskLogSize,
      up: this.up,
      acting: this.acting,
      num_store_stats: storeCount,
    };
  }
}

/** One pool's store_statfs_t summed over the OSDs that reported it. */
interface StoreSum {
  sum: Float64Array;
  count: number;
}

/** An OSD id, not a hole in an erasure-coded set (CRUSH_ITEM_NONE) nor -1. */
const isOsd = (id: number) => id >= 0 && id !== 0x7fffffff;

function equalLists(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A row's list as it is kept for the row's life: the old row's when equal
 * (the new one dies young), else an exact-size copy. A list the decoder
 * filled by push has room for 17 ids (152 bytes where 3 take 40): 100,000
 * PGs' up and acting sets held ~25 MB of that room.
 */
function keptList(list: number[], old?: number[]): number[] {
  if (old && equalLists(old, list)) return old;
  return list.length ? list.slice() : list;
}

export class PgMap {
  readonly rows = new PgRows();
  readonly osdRows = new OsdRows();
  readonly statfsRows = new StatfsRows();
  /** Bumped once per applied batch: views key their caches on it. */
  version = 0;
  stamp = 0;
  lastOsdmapEpoch = 0;
  /** OSDs heard from since start (for pg_ready). */
  readonly reported = new Set<number>();

  /** pool * 2^32 + seed -> row, in the order PGs were first reported. */
  private index = new Map<number, number>();
  /** osd id -> its osd_stat_t row. */
  private osdIndex = new Map<number, number>();
  /** osd id -> pool -> its store_statfs_t row. */
  private statfsIndex = new Map<number, Map<number, number>>();
  private storeSums = new Map<number, StoreSum>();
  private states: string[] = [''];
  private stateIds = new Map<string, number>();
  /** PGs per state id. */
  private stateCounts: number[] = [0];

  // Running sums, kept up to date per PG replaced.
  private total = new Sums();
  private pools = new Map<number, Sums>();

  // Rates: per batch, the delta of the sums, kept over the last intervals.
  private prevSum: PoolStat | null = null;
  private prevPoolSums = new Map<number, PoolStat>();
  private prevStamp = 0;
  private deltas: Array<{ sum: PoolStat; pools: Map<number, PoolStat>; seconds: number }> = [];
  private cachedSums: { version: number; total: PoolStat; pools: Array<[number, PoolStat & { num_pg: number }]> } | null = null;

  private readonly tables = {
    pgs: this.rows,
    osds: this.osdRows,
    statfs: this.statfsRows,
    lastState: { bytes: new Uint8Array(0), id: 0 },
    stateId: (name: string) => {
      let id = this.stateIds.get(name);
      if (id === undefined) {
        id = this.states.length;
        if (id > 65535) throw new Error('more than 65,535 distinct pg states');
        this.states.push(name);
        this.stateCounts.push(0);
        this.stateIds.set(name, id);
      }
      return id;
    },
  };

  /** PGs known. */
  get size(): number {
    return this.index.size;
  }

  /** Decodes one OSD's PgStatsReport into staged rows (throws, staging nothing, when it is malformed). */
  stage(report: Uint8Array): StagedReport {
    return decodePgStatsReport(report, this.tables);
  }

  /** Drops a staged report. */
  discard(staged: StagedReport): void {
    release(staged, this.tables);
  }

  /** Puts a staged report of `osd` in place. endBatch() finishes the batch. */
  commit(osd: number, epoch: number, stamp: number, s: StagedReport): void {
    const rows = this.rows;
    for (const { key, row } of s.pgs) {
      const pool = Math.floor(key / 4294967296);
      const sums = this.poolSums(pool);
      const old = this.index.get(key);
      if (old !== undefined) {
        this.total.replace(rows, old, row, sums);
        this.stateCounts[rows.state[old]]--;
        rows.up[row] = keptList(rows.up[row], rows.up[old]);
        rows.acting[row] = keptList(rows.acting[row], rows.acting[old]);
        rows.release(old);
      } else {
        rows.up[row] = keptList(rows.up[row]);
        rows.acting[row] = keptList(rows.acting[row]);
        this.total.add(rows, row, 1);
        sums.add(rows, row, 1);
      }
      this.index.set(key, row);
      this.stateCounts[rows.state[row]]++;
    }
    if (s.osdRow >= 0) {
      const old = this.osdIndex.get(osd);
      if (old !== undefined) {
        this.osdRows.hbPeers[s.osdRow] = keptList(this.osdRows.hbPeers[s.osdRow], this.osdRows.hbPeers[old]);
        this.osdRows.release(old);
      } else this.osdRows.hbPeers[s.osdRow] = keptList(this.osdRows.hbPeers[s.osdRow]);
      this.osdIndex.set(osd, s.osdRow);
    }
    for (const { pool, row } of s.poolStatfs) {
      let byPool = this.statfsIndex.get(osd);
      if (!byPool) this.statfsIndex.set(osd, (byPool = new Map()));
      let sum = this.storeSums.get(pool);
      if (!sum) this.storeSums.set(pool, (sum = { sum: new Float64Array(10), count: 0 }));
      const old = byPool.get(pool);
      if (old !== undefined) {
        for (let k = 0; k < 10; k++) sum.sum[k] -= this.statfsRows.num(old, k);
        this.statfsRows.release(old);
      } else sum.count++;
      for (let k = 0; k < 10; k++) sum.sum[k] += this.statfsRows.num(row, k);
      byPool.set(pool, row);
    }
    this.reported.add(osd);
    if (stamp > this.stamp) this.stamp = stamp;
    if (epoch > this.lastOsdmapEpoch) this.lastOsdmapEpoch = epoch;
  }

  /** Ends a batch: one version bump and one rate interval for the whole batch. */
  endBatch(): void {
    this.version++;
    this.recordDelta();
  }

  /**
   * Marks stale the PGs whose acting primary the osd map has down, as Ceph's
   * PGMap does on each new osd map (check_down_pgs): no OSD reports them any
   * more, so their last reported state is not current. The PG's next report
   * replaces the row, and the mark with it. Returns whether any PG changed.
   */
  markStale(isUp: (osd: number) => boolean): boolean {
    let changed = false;
    for (const row of this.index.values()) {
      const primary = this.rows.primaries[row * 2 + 1];
      if (primary < 0 || isUp(primary)) continue;
      const state = this.states[this.rows.state[row]];
      if (state === 'stale' || state.startsWith('stale+')) continue;
      // pg_state_string prints stale first
      const id = this.tables.stateId(state === 'unknown' || state === '' ? 'stale' : `stale+${state}`);
      this.stateCounts[this.rows.state[row]]--;
      this.rows.state[row] = id;
      this.stateCounts[id]++;
      changed = true;
    }
    if (changed) this.version++;
    return changed;
  }

  /** Drops the PGs the osd map no longer has: their pool is gone, or its pg_num (pool -> pg_num) shrank below them. */
  prunePools(existing: Map<number, number>): boolean {
    let changed = false;
    for (const [key, row] of this.index) {
      const pool = Math.floor(key / 4294967296);
      const pgNum = existing.get(pool);
      if (pgNum !== undefined && key % 4294967296 < pgNum) continue;
      this.total.add(this.rows, row, -1);
      // a pool still there keeps its sums, less this PG; a gone pool's go below
      if (pgNum !== undefined) this.pools.get(pool)?.add(this.rows, row, -1);
      this.stateCounts[this.rows.state[row]]--;
      this.rows.release(row);
      this.index.delete(key);
      changed = true;
    }
    for (const pool of [...this.pools.keys()]) if (!existing.has(pool)) this.pools.delete(pool);
    if (changed) this.version++;
    return changed;
  }

  private poolSums(pool: number): Sums {
    let ps = this.pools.get(pool);
    if (!ps) {
      ps = new Sums();
      this.pools.set(pool, ps);
    }
    return ps;
  }

  /** The sums as pool_stat_t, overall and per pool (per-pool store_stats: the OSDs' statfs of that pool). */
  private sums(): { total: PoolStat; pools: Array<[number, PoolStat & { num_pg: number }]> } {
    if (this.cachedSums?.version === this.version) return this.cachedSums;
    const pools: Array<[number, PoolStat & { num_pg: number }]> = [];
    const store = new Float64Array(10);
    let storeCount = 0;
    for (const [pool, s] of this.pools) {
      const st = this.storeSums.get(pool);
      pools.push([pool, { ...s.poolStat(st?.sum ?? null, st?.count ?? 0), num_pg: s.numPg }]);
      if (st) {
        for (let k = 0; k < 10; k++) store[k] += st.sum[k];
        storeCount += st.count;
      }
    }
    this.cachedSums = { version: this.version, total: this.total.poolStat(store, storeCount), pools };
    return this.cachedSums;
  }

  private recordDelta(): void {
    const { total, pools } = this.sums();
    if (this.prevSum && this.stamp > this.prevStamp) {
      const deltas = new Map<number, PoolStat>();
      for (const [pool, ps] of pools) deltas.set(pool, diffPoolStat(ps, this.prevPoolSums.get(pool) ?? emptyPoolStat()));
      this.deltas.push({ sum: diffPoolStat(total, this.prevSum), pools: deltas, seconds: this.stamp - this.prevStamp });
      if (this.deltas.length > SMOOTH_INTERVALS) this.deltas.shift();
    }
    if (!this.prevSum || this.stamp > this.prevStamp) {
      this.prevSum = total;
      this.prevPoolSums = new Map(pools);
      this.prevStamp = this.stamp;
    }
  }

  get sum(): PoolStat {
    return this.sums().total;
  }

  poolStats(): Array<[number, PoolStat & { num_pg: number }]> {
    return this.sums().pools;
  }

  /** The smoothed delta over the last intervals (Ceph's pg_sum_delta). */
  delta(): { sum: PoolStat; seconds: number } {
    const sum = emptyPoolStat();
    let seconds = 0;
    for (const d of this.deltas) {
      addPoolStat(sum, d.sum);
      seconds += d.seconds;
    }
    return { sum, seconds };
  }

  poolDelta(pool: number): { sum: PoolStat; seconds: number } | undefined {
    const sum = emptyPoolStat();
    let seconds = 0;
    let any = false;
    for (const d of this.deltas) {
      const p = d.pools.get(pool);
      seconds += d.seconds;
      if (p) {
        addPoolStat(sum, p);
        any = true;
      }
    }
    return any ? { sum, seconds } : undefined;
  }

  // ---- single PGs and OSDs ----

  /** Calls fn for every PG row, in report order. */
  forEachPg(fn: (row: number) => void): void {
    for (const row of this.index.values()) fn(row);
  }

  pgid(row: number): string {
    return `${this.rows.num(row, I64.POOL)}.${this.rows.u32[row * PG_U32_FIELDS + PgU32.SEED].toString(16)}`;
  }

  stateOf(row: number): string {
    return this.states[this.rows.state[row]];
  }

  /** One object_stat_sum_t field of a PG, by its index in STAT_SUM_KEYS. */
  statSum(row: number, field: number): number {
    return this.rows.num(row, I64.STAT_SUM + field);
  }

  reportedEpoch(row: number): number {
    return this.rows.u32[row * PG_U32_FIELDS + PgU32.REPORTED_EPOCH];
  }

  acting(row: number): number[] {
    return this.rows.acting[row];
  }

  /** Rows of up to `limit` PGs whose state matches, in report order. */
  pgsInState(match: (state: string) => boolean, limit: number): number[] {
    const hit = this.states.map((st, id) => id > 0 && this.stateCounts[id] > 0 && match(st));
    const out: number[] = [];
    if (!hit.some(Boolean)) return out;
    for (const row of this.index.values()) {
      if (!hit[this.rows.state[row]]) continue;
      out.push(row);
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * The PGs as PGMap's health checks read them (domain/pg-health.ts): one
   * reused view moved from row to row, stamps as seconds, text made only for
   * the few PGs a check names. With `cutoffs` (pg-health's scrubCutoffs), only
   * the PGs that may raise a check: not active+clean, with unfound objects,
   * or scrubbed before a cutoff; the checks then take the up sets' total from
   * the sums (`sum.up`). A healthy cluster's 100,000 PGs are a pass over the
   * columns, with nothing made per PG.
   */
  healthPgs(cutoffs?: { scrub: number; deep: number }): Iterable<HealthPgView> {
    const { state, i64, stamps } = this.rows;
    const clean = cutoffs ? (this.stateIds.get('active+clean') ?? -1) : -1;
    const rows: number[] = [];
    // forEach, not an iterator: nothing is made per PG passed over
    this.index.forEach((row) => {
      if (cutoffs && state[row] === clean) {
        const u = (row * PG_I64 + I64.STAT_SUM + STAT_UNFOUND) * 2;
        const s = row * PG_STAMP_COUNT * 2;
        if (i64[u] === 0 && i64[u + 1] === 0 && !(stamps[s + STAMP_SCRUB * 2] < cutoffs.scrub) && !(stamps[s + STAMP_DEEP_SCRUB * 2] < cutoffs.deep)) return;
      }
      rows.push(row);
    });
    return healthViews(new HealthPgView(this.rows, this.states, (row) => this.pgid(row)), rows);
  }

  /** The OSDs as the health checks read them. */
  *healthOsds(): Iterable<{ osd: number; num_shards_repaired: number; alerts: Array<Record<string, string>> }> {
    for (const [osd, row] of this.osdIndex) {
      const alerts = this.osdRows.alerts[row];
      yield {
        osd,
        num_shards_repaired: this.osdRows.num(row, OsdI64.NUM_SHARDS_REPAIRED),
        alerts: alerts.length ? alerts.map((a) => ({ [a.name]: a.text })) : [],
      };
    }
  }

  /** How many PGs are in a state that matches. */
  countStates(match: (state: string) => boolean): number {
    let n = 0;
    for (let id = 1; id < this.states.length; id++) if (this.stateCounts[id] && match(this.states[id])) n += this.stateCounts[id];
    return n;
  }

  /** An OSD's statfs total and available bytes, if it reported. */
  osdStatfs(osd: number): { total: number; available: number } | undefined {
    const row = this.osdIndex.get(osd);
    if (row === undefined) return undefined;
    return { total: this.osdRows.num(row, OsdI64.STATFS + 9), available: this.osdRows.num(row, OsdI64.STATFS + 1) };
  }

  /** osd_stat_t summed over OSDs (Ceph's osd_sum), or over those `only` lists (a device class's). */
  osdSum(only?: ReadonlySet<number>): Json {
    const statfs = zeros(STATFS_KEYS);
    const perf = { apply_latency_ms: 0, apply_latency_ns: 0, commit_latency_ms: 0, commit_latency_ns: 0 };
    const sums = { num_per_pool_omap_osds: 0, num_per_pool_osds: 0, num_pgs: 0, num_shards_repaired: 0, num_snap_trimming: 0, snap_trim_queue_len: 0 };
    const rows = this.osdRows;
    let numOsds = 0;
    for (const [osd, row] of this.osdIndex) {
      if (only && !only.has(osd)) continue;
      numOsds++;
      const b = row * OSD_U32_FIELDS;
      sums.num_per_pool_omap_osds += rows.u32[b + OsdU32.NUM_PER_POOL_OMAP_OSDS];
      sums.num_per_pool_osds += rows.u32[b + OsdU32.NUM_PER_POOL_OSDS];
      sums.num_pgs += rows.u32[b + OsdU32.NUM_PGS];
      sums.num_shards_repaired += rows.num(row, OsdI64.NUM_SHARDS_REPAIRED);
      sums.num_snap_trimming += rows.u32[b + OsdU32.NUM_SNAP_TRIMMING] | 0;
      sums.snap_trim_queue_len += rows.u32[b + OsdU32.SNAP_TRIM_QUEUE_LEN] | 0;
      STATFS_KEYS.forEach((k, i) => (statfs[k] += rows.num(row, OsdI64.STATFS + i)));
      perf.apply_latency_ns += rows.num(row, OsdI64.APPLY_LATENCY_NS);
      perf.commit_latency_ns += rows.num(row, OsdI64.COMMIT_LATENCY_NS);
    }
    perf.apply_latency_ms = perf.apply_latency_ns / 1e6;
    perf.commit_latency_ms = perf.commit_latency_ns / 1e6;
    // osd_stat_t::dump derives the kb_* fields from statfs.
    const kb = (bytes: number) => Math.floor(bytes / 1024);
    return {
      alerts: [],
      hb_peers: [],
      kb: kb(statfs.total),
      kb_avail: kb(statfs.available),
      kb_used: kb(statfs.total - statfs.available),
      kb_used_data: kb(statfs.allocated),
      kb_used_meta: kb(statfs.internal_metadata),
      kb_used_omap: kb(statfs.omap_allocated),
      network_ping_times: [],
      num_osds: numOsds,
      num_per_pool_omap_osds: sums.num_per_pool_omap_osds,
      num_per_pool_osds: sums.num_per_pool_osds,
      num_pgs: sums.num_pgs,
      num_shards_repaired: sums.num_shards_repaired,
      num_snap_trimming: sums.num_snap_trimming,
      op_queue_age_hist: { histogram: [], upper_bound: 1 },
      perf_stat: perf,
      seq: 0,
      snap_trim_queue_len: sums.snap_trim_queue_len,
      statfs,
      up_from: 0,
    };
  }

  /**
   * The PG counts a PGMapDigest carries, in one pass over the PGs (as
   * PGMap::stat_pg_add counts them): per state, per pool, and per OSD the
   * PGs it is acting in, up but not acting in, and acting primary of.
   */
  digestCounts(): {
    active: number;
    byState: Map<string, number>;
    byPool: Map<number, number>;
    byOsd: Map<number, { acting: number; up_not_acting: number; primary: number }>;
  } {
    const byState = new Map<string, number>();
    for (let id = 1; id < this.states.length; id++) if (this.stateCounts[id] > 0) byState.set(this.states[id], this.stateCounts[id]);
    const byPool = new Map<number, number>();
    const byOsd = new Map<number, { acting: number; up_not_acting: number; primary: number }>();
    const osd = (id: number) => {
      let c = byOsd.get(id);
      if (!c) byOsd.set(id, (c = { acting: 0, up_not_acting: 0, primary: 0 }));
      return c;
    };
    let active = 0;
    for (const [state, n] of byState) if (state.split('+').includes('active')) active += n;
    for (const [key, row] of this.index) {
      const pool = Math.floor(key / 4294967296);
      byPool.set(pool, (byPool.get(pool) ?? 0) + 1);
      const acting = this.rows.acting[row];
      for (const o of acting) if (isOsd(o)) osd(o).acting++;
      for (const o of this.rows.up[row]) if (isOsd(o) && !acting.includes(o)) osd(o).up_not_acting++;
      const primary = this.rows.primaries[row * 2 + 1];
      if (isOsd(primary)) osd(primary).primary++;
    }
    return { active, byState, byPool, byOsd };
  }

  // ---- views (the caller encodes each once per version) ----

  pgSummary(): Json {
    const all: Record<string, number> = {};
    const byOsd: Record<string, Record<string, number>> = {};
    const byPool: Record<string, Record<string, number>> = {};
    for (const [key, row] of this.index) {
      const state = this.states[this.rows.state[row]];
      all[state] = (all[state] ?? 0) + 1;
      const p = (byPool[String(Math.floor(key / 4294967296))] ??= {});
      p[state] = (p[state] ?? 0) + 1;
      for (const osd of this.rows.acting[row]) {
        const o = (byOsd[String(osd)] ??= {});
        o[state] = (o[state] ?? 0) + 1;
      }
    }
    return { all, by_osd: byOsd, by_pool: byPool, pg_stats_sum: dumpPoolStat(this.sum) };
  }

  /** Every pg_stat_t as JSON array text, written into `out`. */
  private writePgStats(out: JsonWriter): void {
    out.write('[');
    let first = true;
    for (const row of this.index.values()) {
      out.write(first ? '' : ',');
      out.write(pgStatJson(this.rows, row, this.states));
      first = false;
    }
    out.write(']');
  }

  private writeOsdStats(out: JsonWriter): void {
    out.write('[');
    let first = true;
    for (const [osd, row] of this.osdIndex) {
      out.write(first ? '' : ',');
      out.write(osdStatJson(this.osdRows, row, osd));
      first = false;
    }
    out.write(']');
  }

  private writePoolStatfs(out: JsonWriter): void {
    out.write('[');
    let first = true;
    for (const [osd, byPool] of this.statfsIndex) {
      for (const [pool, row] of byPool) {
        out.write(first ? '' : ',');
        out.write(poolStatfsJson(this.statfsRows, row, pool, osd));
        first = false;
      }
    }
    out.write(']');
  }

  pgStatsView(): Buffer {
    const out = new JsonWriter();
    out.write('{"pg_stats":');
    this.writePgStats(out);
    out.write('}');
    return out.finish();
  }

  poolStatsView(): Json {
    return { pool_stats: this.poolStats().map(([pool, ps]) => ({ ...dumpPoolStat(ps), num_pg: ps.num_pg, poolid: pool })) };
  }

  osdStatsView(): Buffer {
    const out = new JsonWriter();
    out.write('{"osd_stats":');
    this.writeOsdStats(out);
    out.write(',"pool_statfs":');
    this.writePoolStatfs(out);
    out.write('}');
    return out.finish();
  }

  osdPingTimes(): Json {
    return { osd_ping_times: [...this.osdIndex].map(([osd, row]) => ({ network_ping_times: pingTimesJson(this.osdRows, row), osd })) };
  }

  pgStatsDelta(): Json {
    const d = this.delta();
    return { ...dumpPoolStat(d.sum), stamp_delta: formatDuration(d.seconds) };
  }

  pgDump(): Buffer {
    const out = new JsonWriter();
    const j = (v: unknown) => JSON.stringify(v);
    out.write(`{"last_osdmap_epoch":${this.lastOsdmapEpoch},"last_pg_scan":0,"osd_stats":`);
    this.writeOsdStats(out);
    out.write(`,"osd_stats_sum":${j(this.osdSum())},"pg_stats":`);
    this.writePgStats(out);
    out.write(`,"pg_stats_delta":${j(this.pgStatsDelta())},"pg_stats_sum":${j(dumpPoolStat(this.sum))},"pool_statfs":`);
    this.writePoolStatfs(out);
    out.write(`,"pool_stats":${j(this.poolStatsView().pool_stats)},"stamp":${j(this.stamp ? cephTime(this.stamp) : '0.000000')},"version":${this.version}}`);
    return out.finish();
  }

  /** Counts of pgs by state, as PGMap's num_pg_by_state (most common first). */
  statesByCount(filterPool?: number): Array<{ count: number; state_name: string }> {
    const counts = new Map<string, number>();
    if (filterPool === undefined) {
      for (let id = 1; id < this.states.length; id++) if (this.stateCounts[id] > 0) counts.set(this.states[id], this.stateCounts[id]);
    } else {
      for (const [key, row] of this.index) {
        if (Math.floor(key / 4294967296) !== filterPool) continue;
        const st = this.states[this.rows.state[row]];
        counts.set(st, (counts.get(st) ?? 0) + 1);
      }
    }
    return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([state_name, count]) => ({ count, state_name }));
  }
}

/** One PG row as pg-health.ts reads a pg_stat_t. */
export class HealthPgView {
  row = 0;
  private readonly sum = { num_objects_unfound: 0 };

  constructor(
    private readonly rows: PgRows,
    private readonly states: string[],
    private readonly pgidOf: (row: number) => string,
  ) {}

  get pgid(): string {
    return this.pgidOf(this.row);
  }
  get state(): string {
    return this.states[this.rows.state[this.row]];
  }
  get acting(): number[] {
    return this.rows.acting[this.row];
  }
  get up(): number[] {
    return this.rows.up[this.row];
  }
  get stat_sum(): { num_objects_unfound: number } {
    this.sum.num_objects_unfound = this.rows.num(this.row, I64.STAT_SUM + STAT_UNFOUND);
    return this.sum;
  }
  get scrubSeconds(): number {
    return this.rows.stamps[(this.row * PG_STAMPS.length + STAMP_SCRUB) * 2];
  }
  get deepScrubSeconds(): number {
    return this.rows.stamps[(this.row * PG_STAMPS.length + STAMP_DEEP_SCRUB) * 2];
  }
  get last_scrub_stamp(): string {
    const i = (this.row * PG_STAMPS.length + STAMP_SCRUB) * 2;
    return utimeText(this.rows.stamps[i], this.rows.stamps[i + 1]);
  }
  get last_deep_scrub_stamp(): string {
    const i = (this.row * PG_STAMPS.length + STAMP_DEEP_SCRUB) * 2;
    return utimeText(this.rows.stamps[i], this.rows.stamps[i + 1]);
  }
}

/** The view moved to each of the rows in turn. */
function* healthViews(v: HealthPgView, rows: number[]): Iterable<HealthPgView> {
  for (const row of rows) {
    v.row = row;
    yield v;
  }
}

const STAMP_SCRUB = PG_STAMPS.indexOf('last_scrub_stamp');
const PG_STAMP_COUNT = PG_STAMPS.length;
const STAT_UNFOUND = STAT_SUM_KEYS.indexOf('num_objects_unfound');
const STAMP_DEEP_SCRUB = PG_STAMPS.indexOf('last_deep_scrub_stamp');

/** Writes JSON text into a growing buffer: a 100,000-PG view never exists as one string. */
class JsonWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;

  write(s: string): void {
    if (this.pos + s.length * 3 > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + s.length * 3));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Client I/O rates as Ceph's dump_client_io_rates: nothing when there was no I/O. */
export function clientIoRates(delta: PoolStat, seconds: number): Json {
  const out: Json = {};
  if (seconds <= 0) return out;
  const s = delta.stat_sum;
  const pos = (v: number) => Math.max(0, v);
  if (pos(s.num_read) || pos(s.num_write)) {
    if (pos(s.num_read_kb)) out.read_bytes_sec = Math.trunc((pos(s.num_read_kb) * 1024) / seconds);
    if (pos(s.num_write_kb)) out.write_bytes_sec = Math.trunc((pos(s.num_write_kb) * 1024) / seconds);
    out.read_op_per_sec = Math.trunc(pos(s.num_read) / seconds);
    out.write_op_per_sec = Math.trunc(pos(s.num_write) / seconds);
  }
  return out;
}

/** Recovery rates as Ceph's dump_recovery_rate: nothing when nothing recovered. */
export function recoveryRates(delta: PoolStat, seconds: number): Json {
  const out: Json = {};
  const s = delta.stat_sum;
  if (seconds <= 0) return out;
  if (s.num_objects_recovered > 0 || s.num_bytes_recovered > 0 || s.num_keys_recovered > 0) {
    out.recovering_objects_per_sec = Math.trunc(s.num_objects_recovered / seconds);
    out.recovering_bytes_per_sec = Math.trunc(s.num_bytes_recovered / seconds);
    out.recovering_keys_per_sec = Math.trunc(s.num_keys_recovered / seconds);
    out.num_objects_recovered = s.num_objects_recovered;
    out.num_bytes_recovered = s.num_bytes_recovered;
    out.num_keys_recovered = s.num_keys_recovered;
  }
  return out;
}

/** Degraded / misplaced / unfound summary as Ceph's dump_recovery_info. */
export function recoveryInfo(sum: PoolStat): Json {
  const s = sum.stat_sum;
  const out: Json = {};
  if (s.num_objects_degraded > 0 && s.num_object_copies > 0) {
    out.degraded_objects = s.num_objects_degraded;
    out.degraded_total = s.num_object_copies;
    out.degraded_ratio = s.num_objects_degraded / s.num_object_copies;
  }
  if (s.num_objects_misplaced > 0 && s.num_object_copies > 0) {
    out.misplaced_objects = s.num_objects_misplaced;
    out.misplaced_total = s.num_object_copies;
    out.misplaced_ratio = s.num_objects_misplaced / s.num_object_copies;
  }
  if (s.num_objects_unfound > 0 && s.num_objects > 0) {
    out.unfound_objects = s.num_objects_unfound;
    out.unfound_total = s.num_objects;
    out.unfound_ratio = s.num_objects_unfound / s.num_objects;
  }
  return out;
}

/** A Unix time as Ceph prints utime_t in dumps: 2026-11-25T05:48:50.330728+0000. */
export function cephTime(seconds: number): string {
  const d = new Date(Math.floor(seconds * 1000));
  const micros = String(Math.round((seconds % 1) * 1e6) % 1e6).padStart(6, '0');
  return d.toISOString().slice(0, 19) + '.' + micros + '+0000';
}
