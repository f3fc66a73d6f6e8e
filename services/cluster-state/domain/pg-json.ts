// JSON of the PG map's rows in Ceph's shapes (pg_stat_t, osd_stat_t and
// store_statfs_t as `ceph pg dump --format json` and a module's get() give
// them, keys in the fixtures' order), written as text straight from the
// columns: 64-bit values digit for digit, no object per PG.
import { STATFS_KEYS, STAT_SUM_KEYS } from '../../../lib/pgstats-json';
import { PRESENT_LAST_DEEP_SCRUB, PRESENT_LAST_SCRUB, PRESENT_LOG_START, PRESENT_ONDISK_LOG_START, PRESENT_PARENT, PRESENT_VERSION } from './pg-decode';
import {
  i64Text,
  OSD_I64_FIELDS,
  OSD_U32_FIELDS,
  OsdI64,
  OsdRows,
  OsdU32,
  PG_I64_FIELDS,
  PG_STAMPS,
  PG_U32_FIELDS,
  PgI64,
  PgRows,
  PgU32,
  StatfsRows,
  u64Text,
} from './pg-table';

const STAT_SUM_KEYS_JSON = STAT_SUM_KEYS.map((k) => JSON.stringify(k));
const STATFS_KEYS_JSON = STATFS_KEYS.map((k) => JSON.stringify(k));

/** "2026-11-25T05:37:55" for a second, the last few remembered (a report's PGs share their stamps). */
const secondText = new Map<number, string>();
function isoSecond(sec: number): string {
  let s = secondText.get(sec);
  if (s === undefined) {
    s = new Date(sec * 1000).toISOString().slice(0, 19);
    if (secondText.size > 256) secondText.clear();
    secondText.set(sec, s);
  }
  return s;
}

/** utime_t as Ceph dumps it: 2026-11-25T05:37:55.545474+0000 (zero: the epoch). */
export function utimeText(sec: number, nsec: number): string {
  return `${isoSecond(sec)}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}+0000`;
}

const STAMP_KEY = new Map<string, number>(PG_STAMPS.map((k, i) => [k, i]));

/** One pg_stat_t, as JSON text. */
export function pgStatJson(rows: PgRows, row: number, states: string[]): string {
  const b64 = row * PG_I64_FIELDS * 2;
  const b32 = row * PG_U32_FIELDS;
  const bst = row * PG_STAMPS.length * 2;
  const u32 = rows.u32;
  const i64 = rows.i64;
  const flags = u32[b32 + PgU32.FLAGS];
  const present = u32[b32 + PgU32.PRESENT];
  const stamp = (k: string) => {
    const i = bst + STAMP_KEY.get(k)! * 2;
    return `"${utimeText(rows.stamps[i], rows.stamps[i + 1])}"`;
  };
  const ev = (bit: number, epochField: number, vField: number) => (present & bit ? `"${u32[b32 + epochField]}'${u64Text(i64, b64 + vField * 2)}"` : `"0'0"`);
  const flag = (n: number) => (flags & (1 << n) ? 'true' : 'false');
  const list = (a: number[]) => `[${a.join(',')}]`;
  const pool = u64Text(i64, b64 + PgI64.POOL * 2);
  const parent = present & PRESENT_PARENT ? `${u64Text(i64, b64 + PgI64.PARENT_POOL * 2)}.${u32[b32 + PgU32.PARENT_SEED].toString(16)}` : '0.0';
  let sum = '{';
  for (let k = 0; k < 40; k++) sum += `${k ? ',' : ''}${STAT_SUM_KEYS_JSON[k]}:${i64Text(i64, b64 + (PgI64.STAT_SUM + k) * 2)}`;
  sum += '}';
  return (
    `{"acting":${list(rows.acting[row])},"acting_primary":${rows.primaries[row * 2 + 1]},` +
    `"avail_no_missing":${JSON.stringify(rows.availNoMissing[row])},"blocked_by":${list(rows.blockedBy[row])},` +
    `"created":${u32[b32 + PgU32.CREATED]},"dirty_stats_invalid":${flag(1)},"hitset_bytes_stats_invalid":${flag(4)},` +
    `"hitset_stats_invalid":${flag(3)},"last_active":${stamp('last_active')},"last_became_active":${stamp('last_became_active')},` +
    `"last_became_peered":${stamp('last_became_peered')},"last_change":${stamp('last_change')},"last_clean":${stamp('last_clean')},` +
    `"last_clean_scrub_stamp":${stamp('last_clean_scrub_stamp')},"last_deep_scrub":${ev(PRESENT_LAST_DEEP_SCRUB, PgU32.LAST_DEEP_SCRUB_EPOCH, PgI64.LAST_DEEP_SCRUB)},` +
    `"last_deep_scrub_stamp":${stamp('last_deep_scrub_stamp')},"last_epoch_clean":${u32[b32 + PgU32.LAST_EPOCH_CLEAN]},` +
    `"last_fresh":${stamp('last_fresh')},"last_fullsized":${stamp('last_fullsized')},"last_peered":${stamp('last_peered')},` +
    `"last_scrub":${ev(PRESENT_LAST_SCRUB, PgU32.LAST_SCRUB_EPOCH, PgI64.LAST_SCRUB)},"last_scrub_stamp":${stamp('last_scrub_stamp')},` +
    `"last_undegraded":${stamp('last_undegraded')},"last_unstale":${stamp('last_unstale')},` +
    `"log_size":${i64Text(i64, b64 + PgI64.LOG_SIZE * 2)},"log_start":${ev(PRESENT_LOG_START, PgU32.LOG_START_EPOCH, PgI64.LOG_START)},` +
    `"manifest_stats_invalid":${flag(6)},"mapping_epoch":${u32[b32 + PgU32.MAPPING_EPOCH]},` +
    `"object_location_counts":[${rows.objectLocationCounts[row].map((e) => `{"objects":${e.objects},"shards":${JSON.stringify(e.shards)}}`).join(',')}],` +
    `"omap_stats_invalid":${flag(2)},"ondisk_log_size":${i64Text(i64, b64 + PgI64.ONDISK_LOG_SIZE * 2)},` +
    `"ondisk_log_start":${ev(PRESENT_ONDISK_LOG_START, PgU32.ONDISK_LOG_START_EPOCH, PgI64.ONDISK_LOG_START)},` +
    `"parent":"${parent}","parent_split_bits":${u32[b32 + PgU32.PARENT_SPLIT_BITS]},"pgid":"${pool}.${u32[b32 + PgU32.SEED].toString(16)}",` +
    `"pin_stats_invalid":${flag(5)},"purged_snaps":[${rows.purgedSnaps[row].map(([s, l]) => `{"length":"${l}","start":"${s}"}`).join(',')}],` +
    `"reported_epoch":${u32[b32 + PgU32.REPORTED_EPOCH]},"reported_seq":${u64Text(i64, b64 + PgI64.REPORTED_SEQ * 2)},` +
    `"snaptrimq_len":${u32[b32 + PgU32.SNAPTRIMQ_LEN]},"stat_sum":${sum},"state":${JSON.stringify(states[rows.state[row]])},` +
    `"stats_invalid":${flag(0)},"up":${list(rows.up[row])},"up_primary":${rows.primaries[row * 2]},` +
    `"version":${ev(PRESENT_VERSION, PgU32.VERSION_EPOCH, PgI64.VERSION)}}`
  );
}

/** store_statfs_t at halves index base of a, keys sorted. */
export function statfsJson(a: Int32Array, base: number): string {
  let s = '{';
  for (let k = 0; k < 10; k++) s += `${k ? ',' : ''}${STATFS_KEYS_JSON[k]}:${i64Text(a, base + k * 2)}`;
  return s + '}';
}

/** The kb* fields osd_stat_t::dump derives from statfs (whole KiB, rounded down). */
function kb(rows: OsdRows, row: number, field: number): number {
  return Math.floor(rows.num(row, OsdI64.STATFS + field) / 1024);
}

/** One osd_stat_t, as JSON text (without network_ping_times, as get('osd_stats')). */
export function osdStatJson(rows: OsdRows, row: number, osd: number): string {
  const b64 = row * OSD_I64_FIELDS * 2;
  const b32 = row * OSD_U32_FIELDS;
  const u32 = rows.u32;
  const total = kb(rows, row, 9);
  const avail = kb(rows, row, 1);
  const hist = rows.opQueueAgeHist[row];
  const commitNs = rows.num(row, OsdI64.COMMIT_LATENCY_NS);
  const applyNs = rows.num(row, OsdI64.APPLY_LATENCY_NS);
  return (
    `{"alerts":${JSON.stringify(rows.alerts[row].map((a) => ` osd: ${a.osd} ${a.name}:${a.text}`))},"hb_peers":[${rows.hbPeers[row].join(',')}],` +
    `"kb":${total},"kb_avail":${avail},"kb_used":${Math.floor((rows.num(row, OsdI64.STATFS + 9) - rows.num(row, OsdI64.STATFS + 1)) / 1024)},` +
    `"kb_used_data":${kb(rows, row, 0)},"kb_used_meta":${kb(rows, row, 6)},"kb_used_omap":${kb(rows, row, 8)},` +
    `"num_osds":${u32[b32 + OsdU32.NUM_OSDS]},"num_per_pool_omap_osds":${u32[b32 + OsdU32.NUM_PER_POOL_OMAP_OSDS]},` +
    `"num_per_pool_osds":${u32[b32 + OsdU32.NUM_PER_POOL_OSDS]},"num_pgs":${u32[b32 + OsdU32.NUM_PGS]},` +
    `"num_shards_repaired":${u64Text(rows.i64, b64 + OsdI64.NUM_SHARDS_REPAIRED * 2)},"num_snap_trimming":${u32[b32 + OsdU32.NUM_SNAP_TRIMMING] | 0},` +
    `"op_queue_age_hist":{"histogram":[${hist.join(',')}],"upper_bound":${2 ** hist.length}},"osd":${osd},` +
    `"perf_stat":{"apply_latency_ms":${floatText(applyNs / 1e6)},"apply_latency_ns":${u64Text(rows.i64, b64 + OsdI64.APPLY_LATENCY_NS * 2)},` +
    `"commit_latency_ms":${floatText(commitNs / 1e6)},"commit_latency_ns":${u64Text(rows.i64, b64 + OsdI64.COMMIT_LATENCY_NS * 2)}},` +
    `"seq":${u64Text(rows.i64, b64 + OsdI64.SEQ * 2)},"snap_trim_queue_len":${u32[b32 + OsdU32.SNAP_TRIM_QUEUE_LEN] | 0},` +
    `"statfs":${statfsJson(rows.i64, b64 + OsdI64.STATFS * 2)},"up_from":${u32[b32 + OsdU32.UP_FROM]}}`
  );
}

/** A double as Ceph's dump_float prints it (and Python reads it back): 0 as 0.0. */
function floatText(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/** osd_stat_t's network_ping_times (dump_ping_time), values in milliseconds. */
export function pingTimesJson(rows: OsdRows, row: number): unknown[] {
  return rows.pingTimes[row].map((p) => {
    const three = (a: number[]) => ({ '15min': (a[2] ?? 0) / 1000, '1min': (a[0] ?? 0) / 1000, '5min': (a[1] ?? 0) / 1000 });
    const iface = (name: string, t: number[][], last: number) => ({
      average: three(t[0]),
      interface: name,
      last: last / 1000,
      max: three(t[2]),
      min: three(t[1]),
    });
    const interfaces = [iface('back', p.back, p.backLast)];
    if (p.front[0].length && p.front[0][0] !== 0) interfaces.push(iface('front', p.front, p.frontLast));
    return { interfaces, 'last update': ctime(p.lastUpdate), osd: p.osd };
  });
}

/** C's ctime() without the newline, in UTC: "Wed Nov 25 05:37:55 2026". */
function ctime(sec: number): string {
  const d = new Date(sec * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** One pool_statfs entry: {"poolid", "osd", ...store_statfs_t}. */
export function poolStatfsJson(statfs: StatfsRows, row: number, pool: number, osd: number): string {
  const s = statfsJson(statfs.i64, row * 20);
  return `{"poolid":${pool},"osd":${osd},${s.slice(1)}`;
}
