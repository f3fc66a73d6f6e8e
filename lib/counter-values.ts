// Counter values in the layout of Ceph's MMgrReport `packed` bufferlist, the
// one format a daemon's values travel in from the session to cluster-state
// (SessionReport.counter_values, DaemonReport.counter_values):
//
//   u8 struct_v = 1, u8 struct_compat = 1, le32 length   (Ceph's ENCODE_START)
//   for each declared counter path, in sorted byte-wise order (std::set):
//     le64 value                       plain counters and gauges
//     le64 sum, le64 avgcount, le64 avgcount2   long-running averages (type & 4)
//
// (src/mgr/MgrClient.cc writes it, DaemonPerfCounters::update reads it.)
// Values are unsigned 64-bit and stay exact: nothing here turns them into
// doubles unless they fit one exactly.

/** How many samples of each counter a manager keeps: 20, as Ceph's PerfCounterInstance (cluster-state's history). */
export const SAMPLES_KEPT = 20;

export const PERFCOUNTER_LONGRUNAVG = 4;
/** ENCODE_START's header: struct_v, struct_compat, le32 length. */
export const HEADER_BYTES = 6;

const TWO32 = 4294967296;

// eslint-disable-next-line no-control-regex -- ASCII includes the control characters
const ASCII = /^[\x00-\x7f]*$/;

/** Orders counter paths as Ceph's std::set<std::string> does: byte-wise. */
export function comparePaths(a: string, b: string): number {
  // ASCII (every real counter path): UTF-16 order is byte order
  if (ASCII.test(a) && ASCII.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Sorts paths byte-wise (checking for non-ASCII once, not per comparison). */
function sortPaths<T>(entries: Array<[string, T]>): Array<[string, T]> {
  if (entries.every(([p]) => ASCII.test(p))) return entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return entries.sort((a, b) => comparePaths(a[0], b[0]));
}

/** Where each declared counter's values sit in the packed bytes. */
export class CounterLayout {
  /** The declared paths, sorted. */
  readonly paths: string[];
  /** Byte offset of each path's first value, past the header. */
  readonly offsets: Int32Array;
  /** 1 where the path is a long-running average (three values). */
  readonly averages: Uint8Array;
  /** le64 values a report carries. */
  readonly slots: number;
  private index: Map<string, number> | null = null;

  /** types: path -> Ceph's type bits. */
  constructor(types: Iterable<[string, number]>) {
    const entries = sortPaths([...types]);
    this.paths = entries.map((e) => e[0]);
    this.offsets = new Int32Array(entries.length);
    this.averages = new Uint8Array(entries.length);
    let slots = 0;
    entries.forEach(([, type], i) => {
      this.offsets[i] = HEADER_BYTES + slots * 8;
      const avg = (type & PERFCOUNTER_LONGRUNAVG) !== 0;
      this.averages[i] = avg ? 1 : 0;
      slots += avg ? 3 : 1;
    });
    this.slots = slots;
  }

  /** The whole packed length, header included. */
  get byteLength(): number {
    return HEADER_BYTES + this.slots * 8;
  }

  /** Position of a path in `paths`, or -1. */
  indexOf(path: string): number {
    if (!this.index) this.index = new Map(this.paths.map((p, i) => [p, i]));
    return this.index.get(path) ?? -1;
  }
}

/** Writes Ceph's ENCODE_START header for `slots` values at the start of buf. */
export function writeHeader(buf: Buffer, slots: number): void {
  buf[0] = 1;
  buf[1] = 1;
  buf.writeUInt32LE(slots * 8, 2);
}

/**
 * Why `packed` does not fit a schema of `slots` values, or null when it does.
 * As Ceph's DECODE_START(1): struct_compat must be 1 or less; a newer
 * struct_v with a longer body is accepted (the extra is ignored).
 */
export function checkPacked(packed: Uint8Array, slots: number): string | null {
  if (packed.length < HEADER_BYTES) return `counter_values is ${packed.length} bytes, shorter than its 6-byte header`;
  if (packed[1] > 1) return `counter_values has struct_compat ${packed[1]}; this manager reads version 1`;
  const len = packed[2] | (packed[3] << 8) | (packed[4] << 16) | (packed[5] << 24);
  if (len >>> 0 !== packed.length - HEADER_BYTES) return `counter_values header says ${len >>> 0} bytes but ${packed.length - HEADER_BYTES} follow it`;
  if (packed.length - HEADER_BYTES < slots * 8)
    return `counter_values carries ${Math.floor((packed.length - HEADER_BYTES) / 8)} values but the declared schema needs ${slots}`;
  if (packed[0] === 1 && packed.length - HEADER_BYTES !== slots * 8)
    return `counter_values carries ${(packed.length - HEADER_BYTES) / 8} values but the declared schema needs ${slots}`;
  return null;
}

/** Writes an unsigned 64-bit value (a non-negative integer number, or a bigint) little-endian. */
export function writeU64(buf: Buffer, offset: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    buf.writeBigUInt64LE(BigInt.asUintN(64, v), offset);
    return;
  }
  if (!(v > 0)) v = 0; // negative, NaN: Ceph's counters are unsigned
  if (v >= 2 ** 64) v = 2 ** 64 - 1;
  const hi = Math.floor(v / TWO32);
  buf.writeUInt32LE((v - hi * TWO32) >>> 0, offset);
  buf.writeUInt32LE(Math.min(hi, 0xffffffff), offset + 4);
}

/** An unsigned 64-bit little-endian value as a double (exact below 2^53). */
export function readU64(buf: Uint8Array, offset: number): number {
  const lo = (buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16) | (buf[offset + 3] << 24)) >>> 0;
  const hi = (buf[offset + 4] | (buf[offset + 5] << 8) | (buf[offset + 6] << 16) | (buf[offset + 7] << 24)) >>> 0;
  return hi * TWO32 + lo;
}

/** An unsigned 64-bit little-endian value as JSON number text, every digit exact. */
export function u64Text(buf: Uint8Array, offset: number): string {
  const hi = (buf[offset + 4] | (buf[offset + 5] << 8) | (buf[offset + 6] << 16) | (buf[offset + 7] << 24)) >>> 0;
  const lo = (buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16) | (buf[offset + 3] << 24)) >>> 0;
  if (hi <= 0x1fffff) return String(hi * TWO32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Every value of a packed report by path (three for long-running averages), for tests and tools. */
export function unpackCounterValues(packed: Uint8Array, layout: CounterLayout): Record<string, bigint[]> {
  const out: Record<string, bigint[]> = {};
  const view = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  layout.paths.forEach((p, i) => {
    const off = layout.offsets[i];
    out[p] = Array.from({ length: layout.averages[i] ? 3 : 1 }, (_, k) => view.readBigUInt64LE(off + k * 8));
  });
  return out;
}

/** Packs values by path into Ceph's layout (averages: [sum, count], or all three); for tests and tools. */
export function packCounterValues(layout: CounterLayout, values: Record<string, number | bigint | Array<number | bigint>>): Buffer {
  const out = Buffer.alloc(layout.byteLength);
  writeHeader(out, layout.slots);
  layout.paths.forEach((p, i) => {
    const v = values[p] ?? 0;
    const list = Array.isArray(v) ? v : [v];
    writeU64(out, layout.offsets[i], list[0] ?? 0);
    if (layout.averages[i]) {
      writeU64(out, layout.offsets[i] + 8, list[1] ?? 0);
      writeU64(out, layout.offsets[i] + 16, list[2] ?? list[1] ?? 0);
    }
  });
  return out;
}
