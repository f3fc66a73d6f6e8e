// Decodes one OSD's PgStatsReport (proto/ceph/mgr/v1/pg_stats.proto) from
// the bytes daemon-server forwarded, straight into fresh rows of the PG
// map's columns (domain/pg-table.ts): no intermediate objects, 64-bit
// values kept as halves. The rows are only staged: PgMap.commit() puts them
// in place, or release() drops them when the report is refused. Anything
// malformed (truncated, a length past the end, a PG without pgid or state)
// is an Error naming the problem; nothing is half-applied.
import * as wire from '../../../lib/wire';
import { WireError, WireReader } from '../../../lib/wire';
import {
  EMPTY,
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
  PingTime,
  StatfsRows,
} from './pg-table';

// Module-local copies: imported bindings are getters under the TypeScript
// loader, and these are read for every field of every PG.
const { WIRE_I64, WIRE_LEN, WIRE_VARINT } = wire;
const I64 = PgI64;
const U32 = PgU32;
const PG_I64 = PG_I64_FIELDS;
const PG_U32 = PG_U32_FIELDS;
const STAMPS = PG_STAMPS.length;
const OSD_I64 = OSD_I64_FIELDS;
const OSD_U32 = OSD_U32_FIELDS;
const O64 = OsdI64;
const O32 = OsdU32;
const NONE = EMPTY;

/** Largest pool id a PG may name: pool * 2^32 + seed must stay an exact map key. */
const MAX_POOL = 0x1fffff;

/** Which optional sub-messages were present, in U32.PRESENT. */
export const PRESENT_VERSION = 1;
export const PRESENT_LOG_START = 2;
export const PRESENT_ONDISK_LOG_START = 4;
export const PRESENT_PARENT = 8;
export const PRESENT_LAST_SCRUB = 16;
export const PRESENT_LAST_DEEP_SCRUB = 32;

/** pg_stat_t field number -> index in PG_STAMPS. */
const STAMP_OF: Record<number, number> = { 6: 0, 7: 1, 8: 2, 9: 3, 10: 4, 11: 5, 12: 6, 13: 7, 14: 8, 15: 9, 24: 10, 26: 11, 27: 12 };
const STAMP_INDEX = new Int8Array(64).fill(-1);
for (const [f, i] of Object.entries(STAMP_OF)) STAMP_INDEX[Number(f)] = i;

// pg_stat_t's eversion_t fields (3 version, 17 log_start, 18 ondisk_log_start,
// 23 last_scrub, 25 last_deep_scrub) by field number: where their version and
// epoch go and which PRESENT bit says they came.
const EVERSION_I64 = new Int8Array(26);
const EVERSION_EPOCH = new Int8Array(26);
const EVERSION_PRESENT = new Int8Array(26);
for (const [f, i, e, bit] of [
  [3, PgI64.VERSION, PgU32.VERSION_EPOCH, PRESENT_VERSION],
  [17, PgI64.LOG_START, PgU32.LOG_START_EPOCH, PRESENT_LOG_START],
  [18, PgI64.ONDISK_LOG_START, PgU32.ONDISK_LOG_START_EPOCH, PRESENT_ONDISK_LOG_START],
  [23, PgI64.LAST_SCRUB, PgU32.LAST_SCRUB_EPOCH, PRESENT_LAST_SCRUB],
  [25, PgI64.LAST_DEEP_SCRUB, PgU32.LAST_DEEP_SCRUB_EPOCH, PRESENT_LAST_DEEP_SCRUB],
]) {
  EVERSION_I64[f] = i;
  EVERSION_EPOCH[f] = e;
  EVERSION_PRESENT[f] = bit;
}

export interface StagedPg {
  /** pool * 2^32 + seed. */
  key: number;
  row: number;
}

export interface StagedReport {
  pgs: StagedPg[];
  /** The staged osd_stat row, or -1 when the report had none. */
  osdRow: number;
  poolStatfs: Array<{ pool: number; row: number }>;
}

export interface PgTables {
  pgs: PgRows;
  osds: OsdRows;
  statfs: StatfsRows;
  /** The id of a state name (interned). */
  stateId(name: string): number;
  /** The last state read, as its UTF-8 bytes and id (see readStateId). */
  lastState: { bytes: Uint8Array; id: number };
}

/** Decodes a whole PgStatsReport; on error releases what it staged and throws. */
export function decodePgStatsReport(bytes: Uint8Array, t: PgTables): StagedReport {
  const staged: StagedReport = { pgs: [], osdRow: -1, poolStatfs: [] };
  try {
    const r = new WireReader(bytes);
    while (!r.done) {
      const tag = r.tag();
      const field = tag >>> 3;
      if ((tag & 7) !== WIRE_LEN) {
        r.skip(tag & 7);
        continue;
      }
      const end = r.length() + r.pos;
      if (field === 1) {
        const row = t.pgs.alloc();
        staged.pgs.push({ key: -1, row });
        staged.pgs[staged.pgs.length - 1].key = decodePg(r, end, t, row);
      } else if (field === 2) {
        if (staged.osdRow >= 0) t.osds.release(staged.osdRow);
        staged.osdRow = t.osds.alloc();
        decodeOsdStat(r, end, t.osds, staged.osdRow);
      } else if (field === 3) {
        const row = t.statfs.alloc();
        staged.poolStatfs.push({ pool: -1, row });
        staged.poolStatfs[staged.poolStatfs.length - 1].pool = decodePoolStatfs(r, end, t.statfs, row);
      } else r.pos = end;
      expectEnd(r, end, 'PgStatsReport');
    }
    return staged;
  } catch (e) {
    release(staged, t);
    throw e;
  }
}

/** Frees the rows of a staged report that will not be committed. */
export function release(s: StagedReport, t: PgTables): void {
  for (const p of s.pgs) t.pgs.release(p.row);
  if (s.osdRow >= 0) t.osds.release(s.osdRow);
  for (const p of s.poolStatfs) t.statfs.release(p.row);
  s.pgs = [];
  s.poolStatfs = [];
  s.osdRow = -1;
}

function expectEnd(r: WireReader, end: number, what: string): void {
  if (r.pos !== end) throw new WireError(`${what}: a field runs past the end of its message`);
}

/** Writes the last varint's halves at halves index i. */
function put64(a: Int32Array, i: number, r: WireReader): void {
  a[i] = r.lo;
  a[i + 1] = r.hi;
}

/** Reads a sub-message of int64 fields 1..n into a[base + 2 * (field - 1)]. */
function decodeInt64Block(r: WireReader, end: number, a: Int32Array, base: number, n: number): void {
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    if (f >= 1 && f <= n && (tag & 7) === WIRE_VARINT) {
      r.varint64();
      put64(a, base + 2 * (f - 1), r);
    } else r.skip(tag & 7);
  }
  expectEnd(r, end, 'sub-message');
}

/** A PgId, EVersion or CephTime (two varint fields) into `pair`: field 1's halves, then field 2's. */
const pair = new Uint32Array(4);
function decodePair(r: WireReader): void {
  const end = r.length() + r.pos;
  pair.fill(0);
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    if ((f === 1 || f === 2) && (tag & 7) === WIRE_VARINT) {
      r.varint64();
      pair[(f - 1) * 2] = r.lo;
      pair[(f - 1) * 2 + 1] = r.hi;
    } else r.skip(tag & 7);
  }
  expectEnd(r, end, 'sub-message');
}

/** A repeated int32, packed or not, appended to `out`. */
function int32s(r: WireReader, wireType: number, out: number[]): number[] {
  if (wireType === WIRE_LEN) {
    const end = r.length() + r.pos;
    while (r.pos < end) out.push(r.int32());
    expectEnd(r, end, 'packed list');
  } else if (wireType === WIRE_VARINT) out.push(r.int32());
  else r.skip(wireType);
  return out;
}

/** pg_shard_t as Ceph prints it. */
function decodeShard(r: WireReader): string {
  const end = r.length() + r.pos;
  let osd = 0;
  let shard = -1;
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    if (f === 1 && (tag & 7) === WIRE_VARINT) osd = r.int32();
    else if (f === 2 && (tag & 7) === WIRE_VARINT) shard = r.int32();
    else r.skip(tag & 7);
  }
  expectEnd(r, end, 'PgShard');
  return shard < 0 ? String(osd) : `${osd}(${shard})`;
}

function decodePg(r: WireReader, end: number, t: PgTables, row: number): number {
  const rows = t.pgs;
  const i64 = rows.i64;
  const b64 = row * PG_I64 * 2;
  const b32 = row * PG_U32;
  const bst = row * STAMPS * 2;
  let hasPgid = false;
  let state = 0;
  let present = 0;
  let flags = 0;
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (wt === WIRE_LEN && f < 64 && STAMP_INDEX[f] >= 0) {
      decodePair(r);
      const k = bst + STAMP_INDEX[f] * 2;
      rows.stamps[k] = pair[0];
      rows.stamps[k + 1] = pair[2];
      continue;
    }
    switch (f) {
      case 1:
        if (wt !== WIRE_LEN) break;
        decodePair(r);
        if (pair[1] > 0 || pair[0] > MAX_POOL) throw new WireError(`pool id ${pair[1] * 4294967296 + pair[0]} is too large`);
        i64[b64 + I64.POOL * 2] = pair[0];
        i64[b64 + I64.POOL * 2 + 1] = 0;
        rows.u32[b32 + U32.SEED] = pair[2];
        hasPgid = true;
        continue;
      case 2:
        if (wt !== WIRE_LEN) break;
        state = readStateId(r, t);
        continue;
      case 3:
      case 17:
      case 18:
      case 23:
      case 25: {
        if (wt !== WIRE_LEN) break;
        decodePair(r);
        const i = EVERSION_I64[f];
        const e = EVERSION_EPOCH[f];
        const bit = EVERSION_PRESENT[f];
        rows.u32[b32 + e] = pair[0];
        i64[b64 + i * 2] = pair[2];
        i64[b64 + i * 2 + 1] = pair[3];
        present |= bit;
        continue;
      }
      case 4:
      case 28:
      case 29:
        if (wt !== WIRE_VARINT) break;
        r.varint64();
        put64(i64, b64 + (f === 4 ? I64.REPORTED_SEQ : f === 28 ? I64.LOG_SIZE : I64.ONDISK_LOG_SIZE) * 2, r);
        continue;
      case 5:
      case 16:
      case 19:
      case 20:
      case 22:
      case 37:
        if (wt !== WIRE_VARINT) break;
        rows.u32[
          b32 +
            (f === 5
              ? U32.REPORTED_EPOCH
              : f === 16
                ? U32.MAPPING_EPOCH
                : f === 19
                  ? U32.CREATED
                  : f === 20
                    ? U32.LAST_EPOCH_CLEAN
                    : f === 22
                      ? U32.PARENT_SPLIT_BITS
                      : U32.SNAPTRIMQ_LEN)
        ] = r.varint32();
        continue;
      case 21:
        if (wt !== WIRE_LEN) break;
        decodePair(r);
        i64[b64 + I64.PARENT_POOL * 2] = pair[0];
        i64[b64 + I64.PARENT_POOL * 2 + 1] = pair[1];
        rows.u32[b32 + U32.PARENT_SEED] = pair[2];
        present |= PRESENT_PARENT;
        continue;
      case 30:
      case 31:
      case 32:
      case 33:
      case 34:
      case 35:
      case 36:
        if (wt !== WIRE_VARINT) break;
        if (r.bool()) flags |= 1 << (f - 30);
        else flags &= ~(1 << (f - 30));
        continue;
      case 38: {
        if (wt !== WIRE_LEN) break;
        const e = r.length() + r.pos;
        decodeInt64Block(r, e, i64, b64 + I64.STAT_SUM * 2, 40);
        continue;
      }
      case 39:
        rows.up[row] = int32s(r, wt, rows.up[row] === NONE ? [] : rows.up[row]);
        continue;
      case 40:
        rows.acting[row] = int32s(r, wt, rows.acting[row] === NONE ? [] : rows.acting[row]);
        continue;
      case 43:
        rows.blockedBy[row] = int32s(r, wt, rows.blockedBy[row] === NONE ? [] : rows.blockedBy[row]);
        continue;
      case 41:
        if (wt !== WIRE_LEN) break;
        if (rows.availNoMissing[row] === NONE) rows.availNoMissing[row] = [];
        rows.availNoMissing[row].push(decodeShard(r));
        continue;
      case 42: {
        if (wt !== WIRE_LEN) break;
        const e = r.length() + r.pos;
        const shards: string[] = [];
        let objects = '0';
        while (r.pos < e) {
          const tg = r.tag();
          if (tg >>> 3 === 1 && (tg & 7) === WIRE_LEN) shards.push(decodeShard(r));
          else if (tg >>> 3 === 2 && (tg & 7) === WIRE_VARINT) {
            r.varint64();
            objects = BigInt.asIntN(64, (BigInt(r.hi) << 32n) | BigInt(r.lo)).toString();
          } else r.skip(tg & 7);
        }
        expectEnd(r, e, 'ObjectLocationCount');
        if (rows.objectLocationCounts[row] === NONE) rows.objectLocationCounts[row] = [];
        rows.objectLocationCounts[row].push({ shards: shards.join(','), objects });
        continue;
      }
      case 44:
      case 45:
        if (wt !== WIRE_VARINT) break;
        rows.primaries[row * 2 + f - 44] = r.int32();
        continue;
      case 46:
        if (wt !== WIRE_LEN) break;
        decodePair(r);
        if (rows.purgedSnaps[row] === NONE) rows.purgedSnaps[row] = [];
        rows.purgedSnaps[row].push([hex(pair[0], pair[1]), hex(pair[2], pair[3])]);
        continue;
    }
    r.skip(wt);
  }
  expectEnd(r, end, 'PgStat');
  if (!hasPgid) throw new WireError('a pg_stat has no pgid');
  const pool = i64[b64 + I64.POOL * 2];
  const seed = rows.u32[b32 + U32.SEED];
  if (!state) throw new WireError(`pg ${pool}.${seed.toString(16)} has no state`);
  rows.state[row] = state;
  rows.u32[b32 + U32.FLAGS] = flags;
  rows.u32[b32 + U32.PRESENT] = present;
  return pool * 4294967296 + seed;
}

/**
 * A PG's state as its interned id (0 when empty): the bytes of the last state
 * read are kept, so a report of PGs in one state (nearly always active+clean)
 * reads its text once.
 */
function readStateId(r: WireReader, t: PgTables): number {
  const n = r.length();
  const buf = r.buf;
  const at = r.pos;
  r.pos += n;
  if (n === 0) return 0;
  const last = t.lastState;
  let same = last.bytes.length === n;
  for (let i = 0; same && i < n; i++) same = buf[at + i] === last.bytes[i];
  if (same) return last.id;
  last.id = t.stateId(Buffer.from(buf.buffer, buf.byteOffset + at, n).toString('utf8'));
  last.bytes = new Uint8Array(buf.subarray(at, at + n)); // a copy: the request's buffer is not kept
  return last.id;
}

function hex(lo: number, hi: number): string {
  return hi ? ((BigInt(hi) << 32n) | BigInt(lo)).toString(16) : lo.toString(16);
}

function decodeOsdStat(r: WireReader, end: number, osds: OsdRows, row: number): void {
  const b64 = row * OSD_I64 * 2;
  const b32 = row * OSD_U32;
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (wt === WIRE_VARINT && (f === 1 || (f >= 3 && f <= 6) || f === 9 || f === 10)) {
      const k =
        f === 1
          ? O32.UP_FROM
          : f === 3
            ? O32.NUM_PGS
            : f === 4
              ? O32.NUM_OSDS
              : f === 5
                ? O32.NUM_PER_POOL_OSDS
                : f === 6
                  ? O32.NUM_PER_POOL_OMAP_OSDS
                  : f === 9
                    ? O32.SNAP_TRIM_QUEUE_LEN
                    : O32.NUM_SNAP_TRIMMING;
      osds.u32[b32 + k] = r.varint32();
      continue;
    }
    if (wt === WIRE_VARINT && (f === 2 || f === 11 || f === 13 || f === 14)) {
      r.varint64();
      put64(osds.i64, b64 + (f === 2 ? O64.SEQ : f === 11 ? O64.NUM_SHARDS_REPAIRED : f === 13 ? O64.COMMIT_LATENCY_NS : O64.APPLY_LATENCY_NS) * 2, r);
      continue;
    }
    if (f === 7 && wt === WIRE_LEN) {
      const e = r.length() + r.pos;
      decodeInt64Block(r, e, osds.i64, b64 + O64.STATFS * 2, 10);
      continue;
    }
    if (f === 8) {
      osds.hbPeers[row] = int32s(r, wt, osds.hbPeers[row] === NONE ? [] : osds.hbPeers[row]);
      continue;
    }
    if (f === 12) {
      osds.opQueueAgeHist[row] = int32s(r, wt, osds.opQueueAgeHist[row] === NONE ? [] : osds.opQueueAgeHist[row]);
      continue;
    }
    if (f === 15 && wt === WIRE_LEN) {
      const e = r.length() + r.pos;
      let osd = 0;
      let name = '';
      let text = '';
      while (r.pos < e) {
        const tg = r.tag();
        if (tg >>> 3 === 1 && (tg & 7) === WIRE_VARINT) osd = r.int32();
        else if (tg >>> 3 === 2 && (tg & 7) === WIRE_LEN) name = r.string();
        else if (tg >>> 3 === 3 && (tg & 7) === WIRE_LEN) text = r.string();
        else r.skip(tg & 7);
      }
      expectEnd(r, e, 'OsdAlert');
      if (osds.alerts[row] === NONE) osds.alerts[row] = [];
      osds.alerts[row].push({ osd, name, text });
      continue;
    }
    if (f === 16 && wt === WIRE_LEN) {
      if (osds.pingTimes[row] === NONE) osds.pingTimes[row] = [];
      osds.pingTimes[row].push(decodePingTime(r));
      continue;
    }
    r.skip(wt);
  }
  expectEnd(r, end, 'OsdStat');
}

function decodePingTime(r: WireReader): PingTime {
  const end = r.length() + r.pos;
  const p: PingTime = { osd: 0, lastUpdate: 0, back: [[], [], []], backLast: 0, front: [[], [], []], frontLast: 0 };
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === WIRE_VARINT) p.osd = r.int32();
    else if (f === 2 && wt === WIRE_VARINT) p.lastUpdate = r.varint32();
    else if (f >= 3 && f <= 5) int32s(r, wt, p.back[f - 3]);
    else if (f === 6 && wt === WIRE_VARINT) p.backLast = r.varint32();
    else if (f >= 7 && f <= 9) int32s(r, wt, p.front[f - 7]);
    else if (f === 10 && wt === WIRE_VARINT) p.frontLast = r.varint32();
    else r.skip(wt);
  }
  expectEnd(r, end, 'OsdPingTime');
  for (const a of [...p.back, ...p.front]) for (let i = 0; i < a.length; i++) a[i] >>>= 0;
  return p;
}

function decodePoolStatfs(r: WireReader, end: number, statfs: StatfsRows, row: number): number {
  let pool = 0;
  while (r.pos < end) {
    const tag = r.tag();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === WIRE_VARINT) {
      r.varint64();
      if (r.hi !== 0 || r.lo > MAX_POOL) throw new WireError('pool_statfs names a pool id that is too large');
      pool = r.lo;
    } else if (f === 2 && wt === WIRE_LEN) {
      const e = r.length() + r.pos;
      decodeInt64Block(r, e, statfs.i64, row * 20, 10);
    } else r.skip(wt);
  }
  expectEnd(r, end, 'PoolStatfs');
  return pool;
}

/**
 * The entries of an IngestPgStatsRequest, each report left encoded (a view
 * of the request bytes) for stage() to decode on its own, so one bad entry
 * is refused without losing the rest.
 */
export function decodeIngestPgStatsRequest(bytes: Uint8Array): Array<{ osd: number; epoch: number; stamp: number; report?: Uint8Array; json?: Uint8Array }> {
  const out: Array<{ osd: number; epoch: number; stamp: number; report?: Uint8Array; json?: Uint8Array }> = [];
  const r = new WireReader(bytes);
  while (!r.done) {
    const tag = r.tag();
    if (tag >>> 3 !== 1 || (tag & 7) !== WIRE_LEN) {
      r.skip(tag & 7);
      continue;
    }
    const end = r.length() + r.pos;
    const e: { osd: number; epoch: number; stamp: number; report?: Uint8Array; json?: Uint8Array } = { osd: 0, epoch: 0, stamp: 0 };
    while (r.pos < end) {
      const t = r.tag();
      const f = t >>> 3;
      const wt = t & 7;
      if (f === 1 && wt === WIRE_VARINT) e.osd = r.int32();
      else if (f === 2 && wt === WIRE_VARINT) e.epoch = r.uint64Number();
      else if (f === 3 && wt === WIRE_I64) e.stamp = r.double();
      else if (f === 4 && wt === WIRE_LEN) e.json = r.bytes();
      else if (f === 5 && wt === WIRE_LEN) e.report = r.bytes();
      else r.skip(wt);
    }
    expectEnd(r, end, 'OsdPgStats');
    out.push(e);
  }
  return out;
}
