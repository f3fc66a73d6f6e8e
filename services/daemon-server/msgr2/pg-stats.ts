// What an OSD's MPGStats (lib/ceph/messages/pg-stats.ts, as it came on the
// wire) becomes in the ingest domain: the encoded PgStatsReport of
// proto/ceph/mgr/v1/pg_stats.proto, written field by field straight from the
// decoded message. No JSON and no intermediate object: the bytes go to
// cluster-state as they are (domain/forward.ts), and every 64-bit value is
// written from its bigint, so it arrives exact (cluster-state keeps 64-bit
// values as halves). Stamps keep their nanoseconds (Ceph's dumps print
// microseconds; cluster-state does the same when it writes them).
// Field numbers are pg_stats.proto's; the mapping from Ceph's members is
// Ceph's own dump() naming (src/osd/osd_types.cc): `num_rd` is `num_read`.
import type { EVersion, MPGStats, ObjectStatSum, OsdStat, PgId, PgShard, PgStat, PingTimes, StoreStatfs } from '../../../lib/ceph/messages/pg-stats';
import { pgStateString } from '../../../lib/ceph/messages/pg-stats';
import type { UTime } from '../../../lib/ceph/types';
import { STATFS_KEYS, STAT_SUM_KEYS } from '../../../lib/pgstats-json';
import * as wire from '../../../lib/wire';
import { WireWriter } from '../../../lib/wire';

// module-local copies: imported bindings are getters under the TypeScript loader
const { WIRE_LEN, WIRE_VARINT } = wire;

/**
 * ObjectStatSum's proto fields in number order (field n is entry n-1): the
 * dump's keys (lib/pgstats-json.ts STAT_SUM_KEYS), as the decoded message
 * names its members (Ceph's object_stat_sum_t says num_rd where its dump says num_read).
 */
const MEMBER_OF_DUMP_KEY: Readonly<Record<string, keyof ObjectStatSum>> = {
  num_read: 'num_rd',
  num_read_kb: 'num_rd_kb',
  num_write: 'num_wr',
  num_write_kb: 'num_wr_kb',
};
const STAT_SUM_MEMBERS: readonly (keyof ObjectStatSum)[] = STAT_SUM_KEYS.map((k) => MEMBER_OF_DUMP_KEY[k] ?? (k as keyof ObjectStatSum));

/** StoreStatfs's proto fields in number order (the decoded message uses the dump's names). */
const STATFS_MEMBERS: readonly (keyof StoreStatfs)[] = STATFS_KEYS;

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const LOW32 = 0xffffffffn;

/** A writer with length-delimited fields whose length is filled in when they end (no sub-buffers). */
class Writer extends WireWriter {
  /** Starts field `field`'s message; returns where its length goes. */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the message begun at `at`: writes its length, moving the contents when it takes more than one byte. */
  end(at: number): void {
    let len = this.pos - at - 1;
    const size = wire.varintSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    for (let i = at; i < at + size - 1; i++, len >>>= 7) this.buf[i] = (len & 0x7f) | 0x80;
    this.buf[at + size - 1] = len;
  }

  /** A 64-bit field from its bigint, exact (negative: two's complement, as int64); zero is left out, as proto3 does. */
  i64(field: number, v: bigint): void {
    if (v === 0n) return;
    this.tag(field, WIRE_VARINT);
    if (v > 0n && v <= SAFE) this.int64(Number(v));
    else {
      const u = BigInt.asUintN(64, v);
      this.varint64(Number(u & LOW32), Number(u >> 32n));
    }
  }

  u32(field: number, v: number): void {
    if (v) this.tag(field, WIRE_VARINT).varint32(v);
  }

  i32(field: number, v: number): void {
    if (v) this.tag(field, WIRE_VARINT).int32(v);
  }

  bool(field: number, v: boolean): void {
    if (v) this.tag(field, WIRE_VARINT).varint32(1);
  }

  /** A packed repeated int32 (uint32 values below 2^31 write the same). */
  packed(field: number, list: readonly number[]): void {
    if (!list.length) return;
    const at = this.begin(field);
    for (const v of list) this.int32(v);
    this.end(at);
  }
}

function time(w: Writer, field: number, t: UTime): void {
  const at = w.begin(field);
  w.u32(1, t.sec);
  w.u32(2, t.nsec);
  w.end(at);
}

function eversion(w: Writer, field: number, v: EVersion): void {
  const at = w.begin(field);
  w.u32(1, v.epoch);
  w.i64(2, v.version);
  w.end(at);
}

function pgId(w: Writer, field: number, p: PgId): void {
  const at = w.begin(field);
  if (p.pool) w.tag(1, WIRE_VARINT).int64(p.pool);
  w.u32(2, p.seed);
  w.end(at);
}

/** pg_shard_t: the shard only for an erasure-code shard (Ceph's NO_SHARD is -1). */
function shard(w: Writer, field: number, s: PgShard): void {
  const at = w.begin(field);
  w.i32(1, s.osd);
  if (s.shard >= 0) w.tag(2, WIRE_VARINT).varint32(s.shard);
  w.end(at);
}

function statfs(w: Writer, field: number, s: StoreStatfs): void {
  const at = w.begin(field);
  for (let i = 0; i < STATFS_MEMBERS.length; i++) w.i64(i + 1, s[STATFS_MEMBERS[i]]);
  w.end(at);
}

function pgStat(w: Writer, id: PgId, s: PgStat): void {
  const at = w.begin(1);
  pgId(w, 1, id);
  w.stringField(2, pgStateString(s.state));
  eversion(w, 3, s.version);
  w.i64(4, s.reported_seq);
  w.u32(5, s.reported_epoch);
  time(w, 6, s.last_fresh);
  time(w, 7, s.last_change);
  time(w, 8, s.last_active);
  time(w, 9, s.last_peered);
  time(w, 10, s.last_clean);
  time(w, 11, s.last_became_active);
  time(w, 12, s.last_became_peered);
  time(w, 13, s.last_unstale);
  time(w, 14, s.last_undegraded);
  time(w, 15, s.last_fullsized);
  w.u32(16, s.mapping_epoch);
  eversion(w, 17, s.log_start);
  eversion(w, 18, s.ondisk_log_start);
  w.u32(19, s.created);
  w.u32(20, s.last_epoch_clean);
  pgId(w, 21, s.parent);
  w.u32(22, s.parent_split_bits);
  eversion(w, 23, s.last_scrub);
  time(w, 24, s.last_scrub_stamp);
  eversion(w, 25, s.last_deep_scrub);
  time(w, 26, s.last_deep_scrub_stamp);
  time(w, 27, s.last_clean_scrub_stamp);
  w.i64(28, s.log_size);
  w.i64(29, s.ondisk_log_size);
  w.bool(30, s.stats_invalid);
  w.bool(31, s.dirty_stats_invalid);
  w.bool(32, s.omap_stats_invalid);
  w.bool(33, s.hitset_stats_invalid);
  w.bool(34, s.hitset_bytes_stats_invalid);
  w.bool(35, s.pin_stats_invalid);
  w.bool(36, s.manifest_stats_invalid);
  w.u32(37, s.snaptrimq_len);
  const sum = w.begin(38);
  for (let i = 0; i < STAT_SUM_MEMBERS.length; i++) w.i64(i + 1, s.stats[STAT_SUM_MEMBERS[i]]);
  w.end(sum);
  w.packed(39, s.up);
  w.packed(40, s.acting);
  for (const x of s.avail_no_missing) shard(w, 41, x);
  for (const [shards, objects] of s.object_location_counts) {
    const olc = w.begin(42);
    for (const x of shards) shard(w, 1, x);
    if (objects) w.tag(2, WIRE_VARINT).int64(objects);
    w.end(olc);
  }
  w.packed(43, s.blocked_by);
  w.i32(44, s.up_primary);
  w.i32(45, s.acting_primary);
  for (const [start, length] of s.purged_snaps) {
    const iv = w.begin(46);
    w.i64(1, start);
    w.i64(2, length);
    w.end(iv);
  }
  w.end(at);
}

function pingTime(w: Writer, osd: number, p: PingTimes): void {
  const at = w.begin(16);
  w.i32(1, osd);
  w.u32(2, p.last_update);
  w.packed(3, p.back_pingtime);
  w.packed(4, p.back_min);
  w.packed(5, p.back_max);
  w.u32(6, p.back_last);
  // the front network only when it was measured, as osd_stat_t::dump shows it
  if (p.front_pingtime[0]) {
    w.packed(7, p.front_pingtime);
    w.packed(8, p.front_min);
    w.packed(9, p.front_max);
    w.u32(10, p.front_last);
  }
  w.end(at);
}

function osdStat(w: Writer, s: OsdStat): void {
  const at = w.begin(2);
  w.u32(1, s.up_from);
  w.i64(2, s.seq);
  w.u32(3, s.num_pgs);
  w.u32(4, s.num_osds);
  w.u32(5, s.num_per_pool_osds);
  w.u32(6, s.num_per_pool_omap_osds);
  statfs(w, 7, s.statfs);
  w.packed(8, s.hb_peers);
  w.i32(9, s.snap_trim_queue_len);
  w.i32(10, s.num_snap_trimming);
  w.i64(11, s.num_shards_repaired);
  w.packed(12, s.op_queue_age_hist);
  w.i64(13, s.os_perf_stat.commit_latency_ns);
  w.i64(14, s.os_perf_stat.apply_latency_ns);
  for (const [osd, alerts] of s.os_alerts) {
    for (const [name, text] of Object.entries(alerts)) {
      const a = w.begin(15);
      w.i32(1, osd);
      if (name) w.stringField(2, name);
      if (text) w.stringField(3, text);
      w.end(a);
    }
  }
  for (const [peer, p] of s.hb_pingtime) pingTime(w, peer, p);
  w.end(at);
}

/** Reused between reports: a report is written, copied out, and the writer starts over. */
const writer = new Writer(64 * 1024);

/** One OSD's MPGStats as an encoded PgStatsReport. */
export function encodePgStatsReport(m: MPGStats): Buffer {
  const w = writer.reset();
  for (const { pgid, stat } of m.pgStat) pgStat(w, pgid, stat);
  osdStat(w, m.osdStat);
  for (const [pool, s] of m.poolStat) {
    const at = w.begin(3);
    if (pool) w.tag(1, WIRE_VARINT).int64(pool);
    statfs(w, 2, s);
    w.end(at);
  }
  return w.finish();
}
