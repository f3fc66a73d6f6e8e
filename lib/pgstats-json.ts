// Ceph's MPGStats in the JSON shapes of `ceph pg dump` (pg_stat_t,
// osd_stat_t, store_statfs_t) turned into the typed messages of
// proto/ceph/mgr/v1/pg_stats.proto: for producers that have the JSON (the
// simulator's map feed, tests built from the fixtures). The hot paths never
// see JSON; cluster-state writes these shapes back from its columns.
import type { CephTime, EVersion, ObjectStatSum, OsdPingTime, OsdStat, PgId, PgShard, PgStat, PgStatsReport, StoreStatfs } from './gen/ceph/mgr/v1/pg_stats';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;

/** object_stat_sum_t's keys in field-number order (proto field n is key n-1). */
export const STAT_SUM_KEYS = [
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
] as const;

/** store_statfs_t's keys in field-number order. */
export const STATFS_KEYS = [
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
] as const;

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);

/** "2026-11-25T05:37:55.545474+0000" -> {sec, nsec}. */
export function cephTimeFromJson(s: unknown): CephTime | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?/.exec(s);
  if (!m) return undefined;
  const sec = Date.parse(`${m[1]}Z`) / 1000;
  return { sec, nsec: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
}

/** "27'35" -> {epoch: 27, version: 35}. */
export function eversionFromJson(s: unknown): EVersion | undefined {
  if (typeof s !== 'string') return undefined;
  const q = s.indexOf("'");
  return q < 0 ? undefined : { epoch: Number(s.slice(0, q)), version: Number(s.slice(q + 1)) };
}

/** "4.1f" -> {pool: 4, seed: 0x1f}. */
export function pgIdFromJson(s: unknown): PgId | undefined {
  if (typeof s !== 'string' || !/^\d+\.[0-9a-f]+$/.test(s)) return undefined;
  const dot = s.indexOf('.');
  return { pool: Number(s.slice(0, dot)), seed: parseInt(s.slice(dot + 1), 16) };
}

/** "3" or "3(1)" -> a pg_shard_t. */
function shardFromJson(s: unknown): PgShard {
  const m = /^(-?\d+)(?:\((\d+)\))?$/.exec(String(s));
  if (!m) return { osd: -1 };
  return m[2] === undefined ? { osd: Number(m[1]) } : { osd: Number(m[1]), shard: Number(m[2]) };
}

export function objectStatSumFromJson(j: Json | undefined): ObjectStatSum {
  const out: Json = {};
  for (const k of STAT_SUM_KEYS) out[camel(k)] = num(j?.[k]);
  return out as ObjectStatSum;
}

export function storeStatfsFromJson(j: Json | undefined): StoreStatfs {
  const out: Json = {};
  for (const k of STATFS_KEYS) out[camel(k)] = num(j?.[k]);
  return out as StoreStatfs;
}

/** One pg_stat_t as `ceph pg dump` shows it (pgid from the entry or given). */
export function pgStatFromJson(j: Json, pgid?: string): PgStat {
  return {
    pgid: pgIdFromJson(pgid ?? j.pgid),
    state: typeof j.state === 'string' ? j.state : '',
    version: eversionFromJson(j.version),
    reportedSeq: num(j.reported_seq),
    reportedEpoch: num(j.reported_epoch),
    lastFresh: cephTimeFromJson(j.last_fresh),
    lastChange: cephTimeFromJson(j.last_change),
    lastActive: cephTimeFromJson(j.last_active),
    lastPeered: cephTimeFromJson(j.last_peered),
    lastClean: cephTimeFromJson(j.last_clean),
    lastBecameActive: cephTimeFromJson(j.last_became_active),
    lastBecamePeered: cephTimeFromJson(j.last_became_peered),
    lastUnstale: cephTimeFromJson(j.last_unstale),
    lastUndegraded: cephTimeFromJson(j.last_undegraded),
    lastFullsized: cephTimeFromJson(j.last_fullsized),
    mappingEpoch: num(j.mapping_epoch),
    logStart: eversionFromJson(j.log_start),
    ondiskLogStart: eversionFromJson(j.ondisk_log_start),
    created: num(j.created),
    lastEpochClean: num(j.last_epoch_clean),
    parent: pgIdFromJson(j.parent),
    parentSplitBits: num(j.parent_split_bits),
    lastScrub: eversionFromJson(j.last_scrub),
    lastScrubStamp: cephTimeFromJson(j.last_scrub_stamp),
    lastDeepScrub: eversionFromJson(j.last_deep_scrub),
    lastDeepScrubStamp: cephTimeFromJson(j.last_deep_scrub_stamp),
    lastCleanScrubStamp: cephTimeFromJson(j.last_clean_scrub_stamp),
    logSize: num(j.log_size),
    ondiskLogSize: num(j.ondisk_log_size),
    statsInvalid: !!j.stats_invalid,
    dirtyStatsInvalid: !!j.dirty_stats_invalid,
    omapStatsInvalid: !!j.omap_stats_invalid,
    hitsetStatsInvalid: !!j.hitset_stats_invalid,
    hitsetBytesStatsInvalid: !!j.hitset_bytes_stats_invalid,
    pinStatsInvalid: !!j.pin_stats_invalid,
    manifestStatsInvalid: !!j.manifest_stats_invalid,
    snaptrimqLen: num(j.snaptrimq_len),
    statSum: objectStatSumFromJson(j.stat_sum),
    up: (j.up ?? []).map(num),
    acting: (j.acting ?? []).map(num),
    availNoMissing: (j.avail_no_missing ?? []).map(shardFromJson),
    objectLocationCounts: (j.object_location_counts ?? []).map((e: Json) => ({
      shards: String(e.shards ?? '')
        .split(',')
        .filter(Boolean)
        .map(shardFromJson),
      objects: num(e.objects),
    })),
    blockedBy: (j.blocked_by ?? []).map(num),
    upPrimary: j.up_primary === undefined ? -1 : num(j.up_primary),
    actingPrimary: j.acting_primary === undefined ? -1 : num(j.acting_primary),
    purgedSnaps: (j.purged_snaps ?? []).map((i: Json) => ({ start: parseInt(String(i.start), 16) || 0, length: parseInt(String(i.length), 16) || 0 })),
  };
}

/** " osd: 3 NAME:text" (osd_stat_t's alerts) -> {osd, name, text}. */
function alertFromJson(s: unknown) {
  const m = /^ osd: (-?\d+) ([^:]*):(.*)$/s.exec(String(s));
  return m ? { osd: Number(m[1]), name: m[2], text: m[3] } : { osd: -1, name: '', text: String(s) };
}

/** One entry of osd_stat_t's network_ping_times (milliseconds) -> microseconds. */
function pingTimeFromJson(e: Json): OsdPingTime {
  const us = (v: unknown) => Math.round(num(v) * 1000);
  const three = (o: Json | undefined) => (o ? [us(o['1min']), us(o['5min']), us(o['15min'])] : []);
  const iface = (name: string) => (e.interfaces ?? []).find((i: Json) => i.interface === name);
  const back = iface('back');
  const front = iface('front');
  return {
    osd: num(e.osd),
    lastUpdate: e['last update'] ? Math.floor(Date.parse(`${e['last update']} UTC`) / 1000) || 0 : 0,
    backPingtime: three(back?.average),
    backMin: three(back?.min),
    backMax: three(back?.max),
    backLast: back ? us(back.last) : 0,
    frontPingtime: three(front?.average),
    frontMin: three(front?.min),
    frontMax: three(front?.max),
    frontLast: front ? us(front.last) : 0,
  };
}

/** One osd_stat_t as `ceph pg dump` shows it (the kb* fields are derived from statfs and not carried). */
export function osdStatFromJson(j: Json): OsdStat {
  return {
    upFrom: num(j.up_from),
    seq: num(j.seq),
    numPgs: num(j.num_pgs),
    numOsds: num(j.num_osds),
    numPerPoolOsds: num(j.num_per_pool_osds),
    numPerPoolOmapOsds: num(j.num_per_pool_omap_osds),
    statfs: storeStatfsFromJson(j.statfs),
    hbPeers: (j.hb_peers ?? []).map(num),
    snapTrimQueueLen: num(j.snap_trim_queue_len),
    numSnapTrimming: num(j.num_snap_trimming),
    numShardsRepaired: num(j.num_shards_repaired),
    opQueueAgeHist: (j.op_queue_age_hist?.histogram ?? []).map(num),
    commitLatencyNs: num(j.perf_stat?.commit_latency_ns),
    applyLatencyNs: num(j.perf_stat?.apply_latency_ns),
    alerts: (j.alerts ?? []).map(alertFromJson),
    networkPingTimes: (j.network_ping_times ?? []).map(pingTimeFromJson),
  };
}

/** {"pg_stat": {pgid: pg_stat_t}, "osd_stat": osd_stat_t, "pool_stat": {pool: store_statfs_t}} -> PgStatsReport. */
export function pgStatsReportFromJson(j: { pg_stat?: Record<string, Json>; osd_stat?: Json; pool_stat?: Record<string, Json> }): PgStatsReport {
  return {
    pgStats: Object.entries(j.pg_stat ?? {}).map(([pgid, st]) => pgStatFromJson(st, pgid)),
    osdStat: j.osd_stat ? osdStatFromJson(j.osd_stat) : undefined,
    poolStatfs: Object.entries(j.pool_stat ?? {}).map(([pool, st]) => ({ pool: Number(pool), statfs: storeStatfsFromJson(st) })),
  };
}
