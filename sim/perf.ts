// Perf-counter schemas of the simulated daemons, in the PerfCounterType form
// of the contracts, and fast generators for their values.
//
// The OSD schema starts from the counters a real Pacific OSD exposes (the
// fixture's get_perf_schema) and is padded with the families a production
// OSD also has (throttles, messenger workers, bluestore, rocksdb, recovery
// state) to about 300 counters, so that report sizes are realistic.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import * as fs from 'fs';
import * as path from 'path';
import type { PerfCounterType } from '../lib/gen/ceph/mgr/v1/cluster_state';

/** Ceph's perf-counter type bits. */
export const PERFCOUNTER_TIME = 1;
export const PERFCOUNTER_U64 = 2;
export const PERFCOUNTER_LONGRUNAVG = 4;
export const PERFCOUNTER_COUNTER = 8;
export const PERFCOUNTER_HISTOGRAM = 16;

/** Ceph's unit_t: UNIT_BYTES is 0 and UNIT_NONE is 1 (as the fixtures show). */
export const UNIT_BYTES = 0;
export const UNIT_NONE = 1;

type SchemaJson = Record<string, { description: string; nick?: string; priority: number; type: number; units: number }>;

let templates: Record<string, any> | undefined;
/** The Pacific templates extracted from /work/shared/fixtures/ceph-pacific. */
export function pacificTemplates(): Record<string, any> {
  if (!templates) templates = JSON.parse(fs.readFileSync(path.join(__dirname, 'templates', 'pacific.json'), 'utf8'));
  return templates!;
}

function fromJson(schema: SchemaJson): PerfCounterType[] {
  return Object.entries(schema).map(([p, c]) => ({
    path: p,
    description: c.description,
    nick: c.nick ?? '',
    type: c.type,
    priority: c.priority,
    units: c.units,
  }));
}

/** Number of packed slots a counter takes: long-running averages take two (sum, count). */
export function slotsOf(type: number): number {
  return type & PERFCOUNTER_LONGRUNAVG ? 2 : 1;
}

const THROTTLES = [
  'bluestore_throttle_bytes',
  'bluestore_throttle_deferred_bytes',
  'msgr_dispatch_throttler-client',
  'msgr_dispatch_throttler-cluster',
  'msgr_dispatch_throttler-hb_back_server',
  'msgr_dispatch_throttler-hb_front_server',
  'msgr_dispatch_throttler-hbclient',
  'msgr_dispatch_throttler-ms_objecter',
  'objecter_bytes',
  'objecter_ops',
  'osd_client_bytes',
  'osd_client_messages',
];
const THROTTLE_COUNTERS: [string, string, number][] = [
  ['val', 'Currently taken slots', PERFCOUNTER_U64],
  ['max', 'Max value for throttle', PERFCOUNTER_U64],
  ['get_started', 'Number of get calls, increased before wait', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['get', 'Gets', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['get_sum', 'Got data', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['get_or_fail_fail', 'Get blocked during get_or_fail', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['get_or_fail_success', 'Successful get during get_or_fail', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['take', 'Takes', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['take_sum', 'Taken data', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['put', 'Puts', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['put_sum', 'Put data', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['wait', 'Waiting latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
];
const MSGR_COUNTERS: [string, string, number][] = [
  ['msgr_recv_messages', 'Network received messages', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['msgr_send_messages', 'Network sent messages', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['msgr_recv_bytes', 'Network received bytes', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['msgr_send_bytes', 'Network sent bytes', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['msgr_created_connections', 'Created connection number', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['msgr_active_connections', 'Active connection number', PERFCOUNTER_U64],
  ['msgr_running_total_time', 'The total time of thread running', PERFCOUNTER_TIME],
  ['msgr_running_send_time', 'The total time of message sending', PERFCOUNTER_TIME],
  ['msgr_running_recv_time', 'The total time of message receiving', PERFCOUNTER_TIME],
  ['msgr_running_fast_dispatch_time', 'The total time of fast dispatch', PERFCOUNTER_TIME],
];
const BLUESTORE: [string, string, number][] = [
  ['kv_flush_lat', 'Average kv_thread flush latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['kv_commit_lat', 'Average kv_thread commit latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['kv_sync_lat', 'Average kv_sync thread latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['kv_final_lat', 'Average kv_finalize thread latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_prepare_lat', 'Average prepare state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_aio_wait_lat', 'Average aio_wait state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_io_done_lat', 'Average io_done state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_kv_queued_lat', 'Average kv_queued state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_kv_commiting_lat', 'Average kv_commiting state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_kv_done_lat', 'Average kv_done state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_deferred_queued_lat', 'Average deferred_queued state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_finishing_lat', 'Average finishing state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['state_done_lat', 'Average done state latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['throttle_lat', 'Average submit throttle latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['submit_lat', 'Average submit latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['commit_lat', 'Average commit latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['read_lat', 'Average read latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['read_onode_meta_lat', 'Average read onode metadata latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['read_wait_aio_lat', 'Average read latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['compress_lat', 'Average compress latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['decompress_lat', 'Average decompress latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['csum_lat', 'Average checksum latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['compress_success_count', 'Sum for beneficial compress ops', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['compress_rejected_count', 'Sum for compress ops rejected due to low net gain of space', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['write_pad_bytes', 'Sum for write-op padded bytes', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['deferred_write_ops', 'Sum for deferred write op', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['deferred_write_bytes', 'Sum for deferred write bytes', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['write_penalty_read_ops', 'Sum for write penalty read ops', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['allocated', 'Sum for allocated bytes', PERFCOUNTER_U64],
  ['stored', 'Sum for stored bytes', PERFCOUNTER_U64],
  ['compressed', 'Sum for stored compressed bytes', PERFCOUNTER_U64],
  ['compressed_allocated', 'Sum for bytes allocated for compressed data', PERFCOUNTER_U64],
  ['compressed_original', 'Sum for original bytes that were compressed', PERFCOUNTER_U64],
  ['onodes', 'Number of onodes in cache', PERFCOUNTER_U64],
  ['onode_hits', 'Sum for onode-lookups hit in the cache', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['onode_misses', 'Sum for onode-lookups missed in the cache', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['onode_shard_hits', 'Sum for onode-shard lookups hit in the cache', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['onode_shard_misses', 'Sum for onode-shard lookups missed in the cache', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['extents', 'Number of extents in cache', PERFCOUNTER_U64],
  ['blobs', 'Number of blobs in cache', PERFCOUNTER_U64],
  ['buffers', 'Number of buffers in cache', PERFCOUNTER_U64],
  ['buffer_bytes', 'Number of buffer bytes in cache', PERFCOUNTER_U64],
  ['buffer_hit_bytes', 'Sum for bytes of read hit in the cache', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['buffer_miss_bytes', 'Sum for bytes of read missed in the cache', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['write_big', 'Large aligned writes into fresh blobs', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['write_big_bytes', 'Large aligned writes into fresh blobs (bytes)', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['write_small', 'Small writes into existing or sparse small blobs', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['write_small_bytes', 'Small writes into existing or sparse small blobs (bytes)', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['txc', 'Transactions committed', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['onode_reshard', 'Onode extent map reshard events', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
];
const ROCKSDB: [string, string, number][] = [
  ['get', 'Gets', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['submit_transaction', 'Submit transactions', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['submit_transaction_sync', 'Submit transactions sync', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['get_latency', 'Get latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['submit_latency', 'Submit Latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['submit_sync_latency', 'Submit Sync Latency', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['compact', 'Compactions', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['compact_range', 'Compactions by range', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['compact_queue_merge', 'Mergings of ranges in compaction queue', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['compact_queue_len', 'Length of compaction queue', PERFCOUNTER_U64],
  ['rocksdb_write_wal_time', 'Rocksdb write wal time', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['rocksdb_write_memtable_time', 'Rocksdb write memtable time', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['rocksdb_write_delay_time', 'Rocksdb write delay time', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
  ['rocksdb_write_pre_and_post_time', 'total time spent on writing a record, excluding write process', PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG],
];
const BLUEFS: [string, string, number][] = [
  ['db_total_bytes', 'Total bytes (main db device)', PERFCOUNTER_U64],
  ['db_used_bytes', 'Used bytes (main db device)', PERFCOUNTER_U64],
  ['wal_total_bytes', 'Total bytes (wal device)', PERFCOUNTER_U64],
  ['wal_used_bytes', 'Used bytes (wal device)', PERFCOUNTER_U64],
  ['slow_total_bytes', 'Total bytes (slow device)', PERFCOUNTER_U64],
  ['slow_used_bytes', 'Used bytes (slow device)', PERFCOUNTER_U64],
  ['num_files', 'File count', PERFCOUNTER_U64],
  ['log_bytes', 'Size of the metadata log', PERFCOUNTER_U64],
  ['log_compactions', 'Compactions of the metadata log', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['logged_bytes', 'Bytes written to the metadata log', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['files_written_wal', 'Files written to WAL', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['files_written_sst', 'Files written to SSTs', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['bytes_written_wal', 'Bytes written to WAL', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['bytes_written_sst', 'Bytes written to SSTs', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['bytes_written_slow', 'Bytes written to WAL/SSTs at slow device', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['read_random_count', 'random read requests processed', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['read_random_bytes', 'Bytes requested in random read mode', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['read_count', 'buffered read requests processed', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
  ['read_bytes', 'Bytes requested in buffered read mode', PERFCOUNTER_U64 | PERFCOUNTER_COUNTER],
];
const RECOVERY_STATES = [
  'initial',
  'started',
  'reset',
  'start',
  'primary',
  'peering',
  'backfilling',
  'waitremotebackfillreserved',
  'waitlocalbackfillreserved',
  'notbackfilling',
  'repnotrecovering',
  'repwaitrecoveryreserved',
  'repwaitbackfillreserved',
  'reprecovering',
  'activating',
  'waitlocalrecoveryreserved',
  'waitremoterecoveryreserved',
  'recovering',
  'recovered',
  'clean',
  'active',
  'replicaactive',
  'stray',
  'getinfo',
  'getlog',
  'waitactingchange',
  'incomplete',
  'getmissing',
  'waitupthru',
  'notrecovering',
];

// Ceph's PRIO_* levels the padding spreads over, so that stats_threshold
// (default 5) filters a realistic share of the schema.
const PAD_PRIORITIES = [0, 2, 5, 5, 5, 7, 8];
// Padding counters Ceph's Grafana dashboards read: PRIO_USEFUL in Ceph too, so get_all_perf_counters returns them.
const USEFUL_PADDING = new Set(['bluestore.onode_hits', 'bluestore.onode_misses', 'bluefs.wal_total_bytes']);

function padOsdSchema(base: PerfCounterType[], target: number): PerfCounterType[] {
  const out = [...base];
  let n = 0;
  const add = (p: string, description: string, type: number, units = UNIT_NONE) => {
    if (out.length >= target) return;
    const cycled = PAD_PRIORITIES[n++ % PAD_PRIORITIES.length];
    const priority = USEFUL_PADDING.has(p) ? Math.max(5, cycled) : cycled;
    out.push({ path: p, description, nick: '', type, priority, units });
  };
  for (const [name, desc, type] of BLUESTORE) add(`bluestore.${name}`, desc, type, /bytes|allocated|stored|compressed/.test(name) ? UNIT_BYTES : UNIT_NONE);
  for (const [name, desc, type] of ROCKSDB) add(`rocksdb.${name}`, desc, type);
  for (const [name, desc, type] of BLUEFS) add(`bluefs.${name}`, desc, type, /bytes/.test(name) ? UNIT_BYTES : UNIT_NONE);
  for (let w = 0; w < 3; w++)
    for (const [name, desc, type] of MSGR_COUNTERS) add(`AsyncMessenger::Worker-${w}.${name}`, desc, type, /bytes/.test(name) ? UNIT_BYTES : UNIT_NONE);
  for (const state of RECOVERY_STATES) add(`recoverystate_perf.${state}_latency`, `${state} recovery state latency`, PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG);
  for (const t of THROTTLES) for (const [name, desc, type] of THROTTLE_COUNTERS) add(`throttle-${t}.${name}`, desc, type);
  return out;
}

let osdSchemaCache: PerfCounterType[] | undefined;
/** About 300 OSD counters: the real Pacific ones first, then padding. Shared; do not mutate. */
export function osdPerfSchema(): PerfCounterType[] {
  if (!osdSchemaCache) osdSchemaCache = padOsdSchema(fromJson(pacificTemplates().perf_schema_osd), 300);
  return osdSchemaCache;
}

let mdsSchemaCache: PerfCounterType[] | undefined;
/** The MDS counters of the fixture (about 130). */
export function mdsPerfSchema(): PerfCounterType[] {
  if (!mdsSchemaCache) mdsSchemaCache = fromJson(pacificTemplates().perf_schema_mds);
  return mdsSchemaCache;
}

let monSchemaCache: PerfCounterType[] | undefined;
/** The mon counters of the fixture (about 100). */
export function monPerfSchema(): PerfCounterType[] {
  if (!monSchemaCache) monSchemaCache = fromJson(pacificTemplates().perf_schema_mon);
  return monSchemaCache;
}

let rgwSchemaCache: PerfCounterType[] | undefined;
/** The zone the simulated rgw replicates from (multisite): its sync counters are data-sync-from-<zone>.*. */
export const RGW_SYNC_SOURCE_ZONE = 'secondary';

/** A small rgw schema (rgw's own counters, one objecter family, and the sync counters of one source zone). */
export function rgwPerfSchema(): PerfCounterType[] {
  if (!rgwSchemaCache) {
    const c = PERFCOUNTER_U64 | PERFCOUNTER_COUNTER;
    const avg = PERFCOUNTER_TIME | PERFCOUNTER_LONGRUNAVG;
    const rows: [string, string, number, number][] = [
      ['rgw.req', 'Requests', c, 7],
      ['rgw.failed_req', 'Aborted requests', c, 7],
      ['rgw.get', 'Gets', c, 7],
      ['rgw.get_b', 'Size of gets', c, 7],
      ['rgw.get_initial_lat', 'Get latency', avg, 7],
      ['rgw.put', 'Puts', c, 7],
      ['rgw.put_b', 'Size of puts', c, 7],
      ['rgw.put_initial_lat', 'Put latency', avg, 7],
      ['rgw.qlen', 'Queue length', PERFCOUNTER_U64, 5],
      ['rgw.qactive', 'Active requests queue', PERFCOUNTER_U64, 5],
      ['rgw.cache_hit', 'Cache hits', c, 5],
      ['rgw.cache_miss', 'Cache miss', c, 5],
      ['objecter.op_active', 'Operations active', PERFCOUNTER_U64, 7],
      ['objecter.op_r', 'Read operations', c, 7],
      ['objecter.op_w', 'Write operations', c, 7],
      // rgw_sync_counters: PRIO_USEFUL, names with spaces as Pacific's (promethize turns them into _)
      [`data-sync-from-${RGW_SYNC_SOURCE_ZONE}.fetch bytes`, 'Number of object bytes replicated', PERFCOUNTER_U64 | PERFCOUNTER_LONGRUNAVG, 5],
      [`data-sync-from-${RGW_SYNC_SOURCE_ZONE}.fetch not modified`, 'Number of objects already replicated', c, 5],
      [`data-sync-from-${RGW_SYNC_SOURCE_ZONE}.fetch errors`, 'Number of object replication errors', c, 5],
      [`data-sync-from-${RGW_SYNC_SOURCE_ZONE}.poll latency`, 'Average latency of replication log requests', avg, 5],
      [`data-sync-from-${RGW_SYNC_SOURCE_ZONE}.poll errors`, 'Number of replication log request errors', c, 5],
    ];
    rgwSchemaCache = rows.map(([p, description, type, priority]) => ({
      path: p,
      description,
      nick: '',
      type,
      priority,
      units: /_b$|bytes$/.test(p) ? UNIT_BYTES : UNIT_NONE,
    }));
  }
  return rgwSchemaCache;
}

/**
 * Values for a schema as a function of time: counters grow at a per-counter
 * rate, gauges wobble around a level, averages grow (sum, count) together.
 * values() writes into one pre-allocated array and returns it (valid until
 * the next call): it runs thousands of times a second at 10,000 OSDs.
 */
export class PerfValueGenerator {
  readonly slots: number;
  private readonly out: number[];
  private readonly kind: Uint8Array; // 0 gauge, 1 counter, 2 average, 3 time
  private readonly rate: Float64Array;
  private readonly base: Float64Array;

  constructor(
    readonly schema: PerfCounterType[],
    seed = 1,
  ) {
    this.slots = schema.reduce((n, c) => n + slotsOf(c.type), 0);
    this.out = new Array(this.slots).fill(0);
    this.kind = new Uint8Array(schema.length);
    this.rate = new Float64Array(schema.length);
    this.base = new Float64Array(schema.length);
    schema.forEach((c, i) => {
      const h = hash32(seed, i);
      this.kind[i] = c.type & PERFCOUNTER_LONGRUNAVG ? 2 : c.type & PERFCOUNTER_COUNTER ? 1 : c.type & PERFCOUNTER_TIME ? 3 : 0;
      this.rate[i] = 1 + (h % 200);
      this.base[i] = (h >>> 8) % 1000;
    });
  }

  /** Index of a counter in the schema, or -1. */
  indexOf(p: string): number {
    return this.schema.findIndex((c) => c.path === p);
  }

  /**
   * Fills the packed values of the whole schema at time t (seconds since
   * start) for one daemon (scale spreads daemons apart). gauges overrides
   * the gauges given by index (e.g. osd.numpg).
   */
  values(t: number, scale: number, gauges?: ArrayLike<number>, gaugeIdx?: ArrayLike<number>): number[] {
    const out = this.out;
    const dt = t > 0 ? t : 0;
    let s = 0;
    for (let i = 0; i < this.kind.length; i++) {
      const r = this.rate[i] * scale;
      switch (this.kind[i]) {
        case 1:
          out[s++] = Math.floor(this.base[i] + r * dt);
          break;
        case 2: {
          const count = Math.floor(r * dt);
          out[s++] = count * (200000 + this.base[i] * 1000); // sum in ns
          out[s++] = count;
          break;
        }
        case 3:
          out[s++] = Math.floor(dt * 1e9 * 0.01 * (1 + this.base[i] / 1000));
          break;
        default:
          out[s++] = Math.floor(this.base[i] + ((r * dt) % 50));
      }
    }
    if (gauges && gaugeIdx) {
      for (let k = 0; k < gaugeIdx.length; k++) if (gaugeIdx[k] >= 0) out[this.slotOf(gaugeIdx[k])] = Math.floor(gauges[k]);
    }
    return out;
  }

  private slotCache?: Int32Array;
  /** First packed slot of counter i. */
  slotOf(i: number): number {
    if (!this.slotCache) {
      this.slotCache = new Int32Array(this.schema.length);
      let s = 0;
      this.schema.forEach((c, j) => {
        this.slotCache![j] = s;
        s += slotsOf(c.type);
      });
    }
    return this.slotCache[i];
  }
}

/** A small, fast, deterministic 32-bit hash of two integers. */
export function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
