// An OSD's MPGStats (lib/ceph/messages/pg-stats.ts, as it came on the wire)
// as `ceph pg dump`'s pg_stat_t, osd_stat_t and store_statfs_t JSON, as
// Ceph's dump() methods write them. Ingest takes typed pg stats
// (PgStatsReport): start.ts turns this JSON into one with
// lib/pgstats-json.ts. A direct MPGStats -> PgStatsReport mapping would
// replace both steps.
// Sources: src/osd/osd_types.cc (pg_stat_t::dump, object_stat_sum_t::dump,
// osd_stat_t::dump, store_statfs_t::dump, pg_shard_t, eversion_t, pg_t),
// src/include/utime.h (utime_t as a dump writes it).
import type { EVersion, MPGStats, ObjectStatSum, OsdStat, PgId, PgShard, PgStat, StoreStatfs } from '../../../lib/ceph/messages/pg-stats';
import { pgIdString, pgStateString } from '../../../lib/ceph/messages/pg-stats';
import type { UTime } from '../../../lib/ceph/types';

type Json = Record<string, unknown>;

/** "2026-11-25T05:37:55.545474+0000": utime_t as Ceph's dumps write it (UTC). */
export function stamp(t: UTime): string {
  const iso = new Date(t.sec * 1000).toISOString().slice(0, 19);
  return `${iso}.${String(Math.floor(t.nsec / 1000)).padStart(6, '0')}+0000`;
}

const ev = (v: EVersion) => `${v.epoch}'${v.version}`;
const pgid = (p: PgId) => pgIdString(p);
/** pg_shard_t: "3", or "3(1)" for an erasure-code shard. */
const shard = (s: PgShard) => (s.shard < 0 ? String(s.osd) : `${s.osd}(${s.shard})`);
const n = (v: bigint) => Number(v);

/** object_stat_sum_t::dump's keys in its order, with the member each reads. */
const SUM_KEYS: Array<[string, keyof ObjectStatSum]> = [
  ['num_bytes', 'num_bytes'],
  ['num_objects', 'num_objects'],
  ['num_object_clones', 'num_object_clones'],
  ['num_object_copies', 'num_object_copies'],
  ['num_objects_missing_on_primary', 'num_objects_missing_on_primary'],
  ['num_objects_missing', 'num_objects_missing'],
  ['num_objects_degraded', 'num_objects_degraded'],
  ['num_objects_misplaced', 'num_objects_misplaced'],
  ['num_objects_unfound', 'num_objects_unfound'],
  ['num_objects_dirty', 'num_objects_dirty'],
  ['num_whiteouts', 'num_whiteouts'],
  ['num_read', 'num_rd'],
  ['num_read_kb', 'num_rd_kb'],
  ['num_write', 'num_wr'],
  ['num_write_kb', 'num_wr_kb'],
  ['num_scrub_errors', 'num_scrub_errors'],
  ['num_shallow_scrub_errors', 'num_shallow_scrub_errors'],
  ['num_deep_scrub_errors', 'num_deep_scrub_errors'],
  ['num_objects_recovered', 'num_objects_recovered'],
  ['num_bytes_recovered', 'num_bytes_recovered'],
  ['num_keys_recovered', 'num_keys_recovered'],
  ['num_objects_omap', 'num_objects_omap'],
  ['num_objects_hit_set_archive', 'num_objects_hit_set_archive'],
  ['num_bytes_hit_set_archive', 'num_bytes_hit_set_archive'],
  ['num_flush', 'num_flush'],
  ['num_flush_kb', 'num_flush_kb'],
  ['num_evict', 'num_evict'],
  ['num_evict_kb', 'num_evict_kb'],
  ['num_promote', 'num_promote'],
  ['num_flush_mode_high', 'num_flush_mode_high'],
  ['num_flush_mode_low', 'num_flush_mode_low'],
  ['num_evict_mode_some', 'num_evict_mode_some'],
  ['num_evict_mode_full', 'num_evict_mode_full'],
  ['num_objects_pinned', 'num_objects_pinned'],
  ['num_legacy_snapsets', 'num_legacy_snapsets'],
  ['num_large_omap_objects', 'num_large_omap_objects'],
  ['num_objects_manifest', 'num_objects_manifest'],
  ['num_omap_bytes', 'num_omap_bytes'],
  ['num_omap_keys', 'num_omap_keys'],
  ['num_objects_repaired', 'num_objects_repaired'],
];

function statSumJson(s: ObjectStatSum): Json {
  return Object.fromEntries(SUM_KEYS.map(([key, member]) => [key, n(s[member])]));
}

/** store_statfs_t::dump. */
export function statfsJson(s: StoreStatfs): Json {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, n(v)]));
}

function pgStatJson(id: PgId, s: PgStat): Json {
  return {
    pgid: pgid(id),
    version: ev(s.version),
    reported_seq: n(s.reported_seq),
    reported_epoch: s.reported_epoch,
    state: pgStateString(s.state),
    last_fresh: stamp(s.last_fresh),
    last_change: stamp(s.last_change),
    last_active: stamp(s.last_active),
    last_peered: stamp(s.last_peered),
    last_clean: stamp(s.last_clean),
    last_became_active: stamp(s.last_became_active),
    last_became_peered: stamp(s.last_became_peered),
    last_unstale: stamp(s.last_unstale),
    last_undegraded: stamp(s.last_undegraded),
    last_fullsized: stamp(s.last_fullsized),
    mapping_epoch: s.mapping_epoch,
    log_start: ev(s.log_start),
    ondisk_log_start: ev(s.ondisk_log_start),
    created: s.created,
    last_epoch_clean: s.last_epoch_clean,
    parent: pgid(s.parent),
    parent_split_bits: s.parent_split_bits,
    last_scrub: ev(s.last_scrub),
    last_scrub_stamp: stamp(s.last_scrub_stamp),
    last_deep_scrub: ev(s.last_deep_scrub),
    last_deep_scrub_stamp: stamp(s.last_deep_scrub_stamp),
    last_clean_scrub_stamp: stamp(s.last_clean_scrub_stamp),
    log_size: n(s.log_size),
    ondisk_log_size: n(s.ondisk_log_size),
    stats_invalid: s.stats_invalid,
    dirty_stats_invalid: s.dirty_stats_invalid,
    omap_stats_invalid: s.omap_stats_invalid,
    hitset_stats_invalid: s.hitset_stats_invalid,
    hitset_bytes_stats_invalid: s.hitset_bytes_stats_invalid,
    pin_stats_invalid: s.pin_stats_invalid,
    manifest_stats_invalid: s.manifest_stats_invalid,
    snaptrimq_len: s.snaptrimq_len,
    stat_sum: statSumJson(s.stats),
    up: s.up,
    acting: s.acting,
    avail_no_missing: s.avail_no_missing.map(shard),
    object_location_counts: s.object_location_counts.map(([shards, objects]) => ({ shards: shards.map(shard).join(','), objects })),
    blocked_by: s.blocked_by,
    up_primary: s.up_primary,
    acting_primary: s.acting_primary,
    purged_snaps: s.purged_snaps.map(([start, length]) => ({ start: start.toString(16), length: length.toString(16) })),
  };
}

/** "Wed Nov 25 05:48:20 2026", as osd_stat_t::dump writes a ping time's last update. */
function ctime(sec: number): string {
  const d = new Date(sec * 1000);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${day} ${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`;
}

function osdStatJson(osd: number, s: OsdStat): Json {
  const f = s.statfs;
  const kb = (v: bigint) => n(v >> 10n);
  // ping times are microseconds on the wire, milliseconds in the dump
  const ms = (us: number) => us / 1000;
  const window = (v: number[]) => ({ '1min': ms(v[0]), '5min': ms(v[1]), '15min': ms(v[2]) });
  return {
    osd,
    up_from: s.up_from,
    seq: n(s.seq),
    num_pgs: s.num_pgs,
    num_osds: s.num_osds,
    num_per_pool_osds: s.num_per_pool_osds,
    num_per_pool_omap_osds: s.num_per_pool_omap_osds,
    kb: kb(f.total),
    kb_used: kb(f.total - f.available - f.internally_reserved),
    kb_used_data: kb(f.allocated),
    kb_used_omap: kb(f.omap_allocated),
    kb_used_meta: kb(f.internal_metadata),
    kb_avail: kb(f.available),
    statfs: statfsJson(f),
    hb_peers: s.hb_peers,
    snap_trim_queue_len: s.snap_trim_queue_len,
    num_snap_trimming: s.num_snap_trimming,
    num_shards_repaired: n(s.num_shards_repaired),
    op_queue_age_hist: { histogram: s.op_queue_age_hist, upper_bound: 2 ** s.op_queue_age_hist.length },
    perf_stat: {
      commit_latency_ms: n(s.os_perf_stat.commit_latency_ns / 1_000_000n),
      apply_latency_ms: n(s.os_perf_stat.apply_latency_ns / 1_000_000n),
      commit_latency_ns: n(s.os_perf_stat.commit_latency_ns),
      apply_latency_ns: n(s.os_perf_stat.apply_latency_ns),
    },
    alerts: [...s.os_alerts].flatMap(([who, alerts]) => Object.entries(alerts).map(([name, text]) => ` osd: ${who} ${name}:${text}`)),
    network_ping_times: [...s.hb_pingtime].map(([peer, p]) => ({
      osd: peer,
      'last update': ctime(p.last_update),
      interfaces: [
        { interface: 'back', average: window(p.back_pingtime), min: window(p.back_min), max: window(p.back_max), last: ms(p.back_last) },
        // the front network is dumped only when it was measured
        ...(p.front_pingtime[0]
          ? [{ interface: 'front', average: window(p.front_pingtime), min: window(p.front_min), max: window(p.front_max), last: ms(p.front_last) }]
          : []),
      ],
    })),
  };
}

/** One OSD's MPGStats as the ingest path's pg-stats JSON. */
export function pgStatsJson(osd: number, m: MPGStats): Buffer {
  const body = {
    pg_stat: Object.fromEntries(m.pgStat.map(({ pgid: id, stat }) => [pgid(id), pgStatJson(id, stat)])),
    osd_stat: osdStatJson(osd, m.osdStat),
    pool_stat: Object.fromEntries([...m.poolStat].map(([pool, s]) => [String(pool), statfsJson(s)])),
  };
  return Buffer.from(JSON.stringify(body));
}
