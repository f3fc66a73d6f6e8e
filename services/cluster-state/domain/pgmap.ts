// Ceph's PGMap, fed by per-OSD MPGStats reports: the latest pg_stat_t of
// every PG, osd_stat_t of every OSD and per-pool statfs, and the sums and
// rates derived from them (pg_summary, pg_status, pool_stats, osd_stats,
// io_rate, df, ...), following src/mon/PGMap.cc. No gRPC here.

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;

/** object_stat_sum_t keys, in the order Ceph dumps them sorted. */
const STAT_SUM_KEYS = [
  'num_bytes',
  'num_bytes_hit_set_archive',
  'num_bytes_recovered',
  'num_deep_scrub_errors',
  'num_evict',
  'num_evict_kb',
  'num_evict_mode_full',
  'num_evict_mode_some',
  'num_flush',
  'num_flush_kb',
  'num_flush_mode_high',
  'num_flush_mode_low',
  'num_keys_recovered',
  'num_large_omap_objects',
  'num_legacy_snapsets',
  'num_object_clones',
  'num_object_copies',
  'num_objects',
  'num_objects_degraded',
  'num_objects_dirty',
  'num_objects_hit_set_archive',
  'num_objects_manifest',
  'num_objects_misplaced',
  'num_objects_missing',
  'num_objects_missing_on_primary',
  'num_objects_omap',
  'num_objects_pinned',
  'num_objects_recovered',
  'num_objects_repaired',
  'num_objects_unfound',
  'num_omap_bytes',
  'num_omap_keys',
  'num_promote',
  'num_read',
  'num_read_kb',
  'num_scrub_errors',
  'num_shallow_scrub_errors',
  'num_whiteouts',
  'num_write',
  'num_write_kb',
];
/** store_statfs_t keys. */
const STATFS_KEYS = [
  'allocated',
  'available',
  'data_compressed',
  'data_compressed_allocated',
  'data_compressed_original',
  'data_stored',
  'internal_metadata',
  'internally_reserved',
  'omap_allocated',
  'total',
];

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

const zeros = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<string, number>;
export const emptyPoolStat = (): PoolStat => ({
  stat_sum: zeros(STAT_SUM_KEYS),
  store_stats: zeros(STATFS_KEYS),
  log_size: 0,
  ondisk_log_size: 0,
  up: 0,
  acting: 0,
  num_store_stats: 0,
});

function addInto(target: Record<string, number>, src: Record<string, unknown> | undefined, keys: string[], sign: number): void {
  if (!src) return;
  for (const k of keys) {
    const v = src[k];
    if (typeof v === 'number') target[k] += sign * v;
  }
}

function addPgToPoolStat(sum: PoolStat, pg: Json, sign: number): void {
  addInto(sum.stat_sum, pg.stat_sum, STAT_SUM_KEYS, sign);
  sum.log_size += sign * (pg.log_size ?? 0);
  sum.ondisk_log_size += sign * (pg.ondisk_log_size ?? 0);
  sum.up += sign * (pg.up?.length ?? 0);
  sum.acting += sign * (pg.acting?.length ?? 0);
}

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

const clonePoolStat = (p: PoolStat): PoolStat => ({ ...p, stat_sum: { ...p.stat_sum }, store_stats: { ...p.store_stats } });

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

export interface PgStatsReport {
  osd: number;
  epoch: number;
  /** Seconds since the Unix epoch. */
  stamp: number;
  pg_stat: Record<string, Json>;
  osd_stat?: Json;
  pool_stat?: Record<string, Json>;
}

/** How many report intervals the rates are smoothed over (Ceph's mon_stat_smooth_intervals). */
const SMOOTH_INTERVALS = 6;

/** Parses and checks one MPGStats JSON; throws a message naming the problem. */
export function parsePgStatsReport(osd: number, epoch: number, stamp: number, json: Uint8Array): PgStatsReport {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch (e) {
    throw new Error(`osd.${osd}: JSON does not parse: ${(e as Error).message}`, { cause: e });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`osd.${osd}: JSON must be an object with pg_stat, osd_stat, pool_stat`);
  const b = body as Json;
  if (b.pg_stat !== undefined && (typeof b.pg_stat !== 'object' || b.pg_stat === null || Array.isArray(b.pg_stat)))
    throw new Error(`osd.${osd}: pg_stat must be an object keyed by pgid`);
  for (const [pgid, st] of Object.entries((b.pg_stat ?? {}) as Json)) {
    if (!/^\d+\.[0-9a-f]+$/.test(pgid)) throw new Error(`osd.${osd}: '${pgid}' is not a pgid (pool.seed in hex, e.g. 1.1f)`);
    if (typeof st !== 'object' || st === null || typeof st.state !== 'string') throw new Error(`osd.${osd}: pg ${pgid} has no "state" string`);
  }
  if (b.osd_stat !== undefined && (typeof b.osd_stat !== 'object' || b.osd_stat === null)) throw new Error(`osd.${osd}: osd_stat must be an object`);
  if (b.pool_stat !== undefined && (typeof b.pool_stat !== 'object' || b.pool_stat === null))
    throw new Error(`osd.${osd}: pool_stat must be an object keyed by pool id`);
  if (!Number.isInteger(osd) || osd < 0) throw new Error(`osd id must be a non-negative whole number, got ${osd}`);
  return { osd, epoch, stamp, pg_stat: b.pg_stat ?? {}, osd_stat: b.osd_stat, pool_stat: b.pool_stat };
}

export interface PoolInfo {
  pool: number;
  pool_name: string;
  size: number;
  min_size: number;
  type: number;
  crush_rule: number;
  quota_max_bytes?: number;
  quota_max_objects?: number;
}

export class PgMap {
  /** pgid -> pg_stat_t with its pgid. */
  readonly pgStats = new Map<string, Json>();
  /** osd id -> osd_stat_t. */
  readonly osdStats = new Map<number, Json>();
  /** "pool:osd" -> store_statfs_t. */
  readonly poolStatfs = new Map<string, Json>();
  /** Bumped once per applied batch: views key their caches on it. */
  version = 0;
  stamp = 0;
  lastOsdmapEpoch = 0;
  /** OSDs heard from since start (for pg_ready). */
  readonly reported = new Set<number>();

  // Running sums, kept up to date incrementally per pg replaced.
  private pgSum = emptyPoolStat();
  private poolSums = new Map<number, PoolStat & { num_pg: number }>();

  // Rates: per batch, the delta of the sums, kept over the last intervals.
  private prevSum: PoolStat | null = null;
  private prevPoolSums = new Map<number, PoolStat>();
  private prevStamp = 0;
  private deltas: Array<{ sum: PoolStat; pools: Map<number, PoolStat>; seconds: number }> = [];

  /** Applies one batch of reports (one version bump for the whole batch). */
  apply(reports: PgStatsReport[]): void {
    for (const r of reports) {
      for (const [pgid, st] of Object.entries(r.pg_stat)) {
        const pool = Number(pgid.split('.')[0]);
        const old = this.pgStats.get(pgid);
        const ps = this.poolSum(pool);
        if (old) {
          addPgToPoolStat(this.pgSum, old, -1);
          addPgToPoolStat(ps, old, -1);
          ps.num_pg--;
        }
        const entry = { ...st, pgid };
        this.pgStats.set(pgid, entry);
        addPgToPoolStat(this.pgSum, entry, 1);
        addPgToPoolStat(ps, entry, 1);
        ps.num_pg++;
      }
      if (r.osd_stat) this.osdStats.set(r.osd, { ...r.osd_stat, osd: r.osd });
      if (r.pool_stat) {
        for (const [pool, statfs] of Object.entries(r.pool_stat)) this.poolStatfs.set(`${pool}:${r.osd}`, statfs);
      }
      this.reported.add(r.osd);
      if (r.stamp > this.stamp) this.stamp = r.stamp;
      if (r.epoch > this.lastOsdmapEpoch) this.lastOsdmapEpoch = r.epoch;
    }
    this.recomputeStoreStats();
    this.recordDelta();
    this.version++;
  }

  /** Drops the PGs the osd map no longer has: their pool is gone, or its pg_num (pool -> pg_num) shrank below them. */
  prunePools(existing: Map<number, number>): boolean {
    let changed = false;
    for (const [pgid, st] of this.pgStats) {
      const [pool, ps] = pgid.split('.');
      const pgNum = existing.get(Number(pool));
      if (pgNum === undefined || parseInt(ps, 16) >= pgNum) {
        addPgToPoolStat(this.pgSum, st, -1);
        const sum = this.poolSums.get(Number(pool));
        if (sum && pgNum !== undefined) {
          addPgToPoolStat(sum, st, -1);
          sum.num_pg--;
        }
        this.pgStats.delete(pgid);
        changed = true;
      }
    }
    for (const pool of [...this.poolSums.keys()]) if (!existing.has(pool)) this.poolSums.delete(pool);
    if (changed) this.version++;
    return changed;
  }

  private poolSum(pool: number): PoolStat & { num_pg: number } {
    let ps = this.poolSums.get(pool);
    if (!ps) {
      ps = { ...emptyPoolStat(), num_pg: 0 };
      this.poolSums.set(pool, ps);
    }
    return ps;
  }

  /** Per-pool store_stats are the sum over OSDs of their per-pool statfs. */
  private recomputeStoreStats(): void {
    for (const ps of this.poolSums.values()) {
      ps.store_stats = zeros(STATFS_KEYS);
      ps.num_store_stats = 0;
    }
    for (const [key, statfs] of this.poolStatfs) {
      const pool = Number(key.split(':')[0]);
      const ps = this.poolSums.get(pool);
      if (!ps) continue;
      addInto(ps.store_stats, statfs, STATFS_KEYS, 1);
      ps.num_store_stats++;
    }
    this.pgSum.store_stats = zeros(STATFS_KEYS);
    this.pgSum.num_store_stats = 0;
    for (const ps of this.poolSums.values()) {
      addInto(this.pgSum.store_stats, ps.store_stats, STATFS_KEYS, 1);
      this.pgSum.num_store_stats += ps.num_store_stats;
    }
  }

  private recordDelta(): void {
    if (this.prevSum && this.stamp > this.prevStamp) {
      const pools = new Map<number, PoolStat>();
      for (const [pool, ps] of this.poolSums) pools.set(pool, diffPoolStat(ps, this.prevPoolSums.get(pool) ?? emptyPoolStat()));
      this.deltas.push({ sum: diffPoolStat(this.pgSum, this.prevSum), pools, seconds: this.stamp - this.prevStamp });
      if (this.deltas.length > SMOOTH_INTERVALS) this.deltas.shift();
    }
    if (!this.prevSum || this.stamp > this.prevStamp) {
      this.prevSum = clonePoolStat(this.pgSum);
      this.prevPoolSums = new Map([...this.poolSums].map(([k, v]) => [k, clonePoolStat(v)]));
      this.prevStamp = this.stamp;
    }
  }

  get sum(): PoolStat {
    return this.pgSum;
  }

  poolStats(): Array<[number, PoolStat & { num_pg: number }]> {
    return [...this.poolSums.entries()];
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

  /** osd_stat_t summed over OSDs (Ceph's osd_sum). */
  osdSum(): Json {
    const statfs = zeros(STATFS_KEYS);
    const perf = { apply_latency_ms: 0, apply_latency_ns: 0, commit_latency_ms: 0, commit_latency_ns: 0 };
    const sums: Record<string, number> = {
      num_per_pool_omap_osds: 0,
      num_per_pool_osds: 0,
      num_pgs: 0,
      num_shards_repaired: 0,
      num_snap_trimming: 0,
      snap_trim_queue_len: 0,
    };
    for (const s of this.osdStats.values()) {
      for (const k of Object.keys(sums)) if (typeof s[k] === 'number') sums[k] += s[k];
      addInto(statfs, s.statfs, STATFS_KEYS, 1);
      for (const k of Object.keys(perf) as Array<keyof typeof perf>) if (typeof s.perf_stat?.[k] === 'number') perf[k] += s.perf_stat[k];
    }
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
      num_osds: this.osdStats.size,
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

  // ---- views (plain objects; the caller encodes them once per version) ----

  pgSummary(): Json {
    const all: Record<string, number> = {};
    const byOsd: Record<string, Record<string, number>> = {};
    const byPool: Record<string, Record<string, number>> = {};
    for (const [pgid, st] of this.pgStats) {
      const state: string = st.state;
      all[state] = (all[state] ?? 0) + 1;
      const pool = pgid.split('.')[0];
      const p = (byPool[pool] ??= {});
      p[state] = (p[state] ?? 0) + 1;
      for (const osd of st.acting ?? []) {
        const o = (byOsd[String(osd)] ??= {});
        o[state] = (o[state] ?? 0) + 1;
      }
    }
    return { all, by_osd: byOsd, by_pool: byPool, pg_stats_sum: dumpPoolStat(this.pgSum) };
  }

  pgStatsView(): Json {
    return { pg_stats: [...this.pgStats.values()] };
  }

  poolStatsView(): Json {
    return { pool_stats: this.poolStats().map(([pool, ps]) => ({ ...dumpPoolStat(ps), num_pg: ps.num_pg, poolid: pool })) };
  }

  poolStatfsView(): Json[] {
    return [...this.poolStatfs.entries()].map(([key, statfs]) => {
      const [pool, osd] = key.split(':').map(Number);
      return { poolid: pool, osd, ...Object.fromEntries(STATFS_KEYS.map((k) => [k, statfs[k] ?? 0])) };
    });
  }

  osdStatsView(): Json {
    return { osd_stats: [...this.osdStats.values()], pool_statfs: this.poolStatfsView() };
  }

  osdPingTimes(): Json {
    return { osd_ping_times: [...this.osdStats.values()].map((s) => ({ network_ping_times: s.network_ping_times ?? [], osd: s.osd })) };
  }

  pgStatsDelta(): Json {
    const d = this.delta();
    return { ...dumpPoolStat(d.sum), stamp_delta: formatDuration(d.seconds) };
  }

  pgDump(): Json {
    return {
      last_osdmap_epoch: this.lastOsdmapEpoch,
      last_pg_scan: 0,
      osd_stats: [...this.osdStats.values()],
      osd_stats_sum: this.osdSum(),
      pg_stats: [...this.pgStats.values()],
      pg_stats_delta: this.pgStatsDelta(),
      pg_stats_sum: dumpPoolStat(this.pgSum),
      pool_statfs: this.poolStatfsView(),
      pool_stats: this.poolStatsView().pool_stats,
      stamp: this.stamp ? cephTime(this.stamp) : '0.000000',
      version: this.version,
    };
  }

  /** Counts of pgs by state, as PGMap's num_pg_by_state (most common first). */
  statesByCount(filterPool?: number): Array<{ count: number; state_name: string }> {
    const counts = new Map<string, number>();
    for (const [pgid, st] of this.pgStats) {
      if (filterPool !== undefined && Number(pgid.split('.')[0]) !== filterPool) continue;
      counts.set(st.state, (counts.get(st.state) ?? 0) + 1);
    }
    return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([state_name, count]) => ({ count, state_name }));
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
