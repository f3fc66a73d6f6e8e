// What daemon-server sends cluster-state for pg stats: an IngestPgStatsRequest
// written around each OSD's PgStatsReport bytes exactly as the daemon sent
// them (an embedded message and a bytes field look the same on the wire), so
// the report is neither decoded nor encoded again here. cluster-state's
// domain/pg-decode.ts reads it.
import { varintSize, WireWriter, WIRE_I64, WIRE_LEN, WIRE_VARINT } from '../../../lib/wire';

/** One OSD's pg stats waiting to be forwarded. */
export interface PgStatsEntry {
  osd: number;
  epoch: number;
  /** When daemon-server received them, seconds since the Unix epoch. */
  stamp: number;
  /** The encoded PgStatsReport, as it came. */
  report: Uint8Array;
}

/** Bytes one entry adds to a request, for batch bounds. */
export function entryBytes(e: PgStatsEntry): number {
  return e.report.length + 32;
}

/**
 * The writers every request is written with (their buffers grow once, not
 * per call); a request past KEEP_BYTES leaves a fresh one behind, so a rare
 * burst does not stay allocated.
 */
let outer = new WireWriter(64 * 1024);
const inner = new WireWriter(64);
const KEEP_BYTES = 1 << 20;

/**
 * Encodes IngestPgStatsRequest { repeated OsdPgStats stats = 1 } with each
 * report as it came: one exact-size copy a call (a large one fills its own
 * ArrayBuffer, so lib/raw-methods.ts's withoutCopy can hand it on).
 */
export function encodeIngestPgStats(entries: PgStatsEntry[]): Buffer {
  const w = outer.reset();
  for (const e of entries) {
    // OsdPgStats: osd = 1, epoch = 2, stamp = 3, report = 5
    inner.reset().tag(1, WIRE_VARINT).int32(e.osd).tag(2, WIRE_VARINT).int64(e.epoch).tag(3, WIRE_I64).double(e.stamp);
    w.tag(1, WIRE_LEN).varint32(inner.pos + 1 + varintSize(e.report.length) + e.report.length);
    w.raw(inner.view()).bytesField(5, e.report);
  }
  const bytes = w.finish();
  if (w.buf.length > KEEP_BYTES) outer = new WireWriter(64 * 1024);
  return bytes;
}
