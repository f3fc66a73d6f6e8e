// One daemon's counter history: the last SAMPLES_KEPT samples of every
// declared counter (Ceph's DaemonPerfCounters keeps 20 per counter), stored
// so that 10,000 daemons fit in little memory and a report costs a few
// microseconds:
//
// - the newest sample is the report's packed bytes as they came (Ceph's
//   MMgrReport layout, lib/counter-values.ts), copied once;
// - each older sample is one record of per-value differences to the next
//   newer sample, zigzag varints (counters grow by small steps, so a value
//   takes one to three bytes instead of eight); records live in one growable
//   byte arena per daemon, oldest first, and the oldest is dropped when a
//   new one comes;
// - sample times are shared by all counters of a daemon.
//
// Everything stays exact to 64 bits: differences are taken modulo 2^64 on
// 32-bit halves, and values leave as decimal text (u64Text).
import { CounterLayout, readU64, SAMPLES_KEPT, u64Text, writeHeader } from '../../../lib/counter-values';

export { SAMPLES_KEPT };

/** A sample of one counter: time, value and, for long-running averages, the count. */
export interface Sample {
  t: number;
  /** Exact decimal text of the value (or sum). */
  v: string;
  /** Exact decimal text of the count, for long-running averages. */
  c?: string;
}

export class CounterStore {
  /** Samples held (at most SAMPLES_KEPT). */
  count = 0;
  /** Sequence number of the newest sample (the first is 1). */
  seq = 0;
  /**
   * Per path: the sequence number of its first sample (later-declared paths
   * have less history). null while every path has all the history (nearly
   * always: only a schema change sets it), which saves 8 bytes a counter a
   * daemon.
   */
  private born: Float64Array | null = null;
  /** The newest sample, in the packed layout (header included). */
  private latest: Uint8Array;
  /** Sample times, a ring indexed by seq % SAMPLES_KEPT. */
  private readonly stamps = new Float64Array(SAMPLES_KEPT);
  /** Difference records, oldest first: record k takes sample (count-2-k) back from sample (count-1-k). */
  private arena = new Uint8Array(0);
  private recStart: number[] = [];
  private recEnd: number[] = [];
  /** Values a record holds: one per path, two for averages (sum, count; avgcount2 is not kept). */
  private readonly kept: number;

  constructor(readonly layout: CounterLayout) {
    this.latest = new Uint8Array(layout.byteLength);
    let kept = 0;
    for (let i = 0; i < layout.paths.length; i++) kept += layout.averages[i] ? 2 : 1;
    this.kept = kept;
  }

  /** Adds a sample; `packed` fits the layout (checked by the caller). */
  push(packed: Uint8Array, stamp: number): void {
    this.seq++;
    if (this.count > 0) this.addRecord(packed);
    this.latest.set(packed.subarray(0, this.layout.byteLength));
    this.stamps[this.seq % SAMPLES_KEPT] = stamp;
    if (this.count < SAMPLES_KEPT) this.count++;
  }

  /** How many samples path i has. */
  samplesOf(i: number): number {
    return this.born ? Math.max(0, Math.min(this.count, this.seq - this.born[i] + 1)) : this.count;
  }

  /** The newest sample of path i, or null. */
  latestOf(i: number): Sample | null {
    if (!this.samplesOf(i)) return null;
    const off = this.layout.offsets[i];
    const s: Sample = { t: this.stamps[this.seq % SAMPLES_KEPT], v: u64Text(this.latest, off) };
    if (this.layout.averages[i]) s.c = u64Text(this.latest, off + 8);
    return s;
  }

  /** The newest value of path i as a double (exact below 2^53), 0 when none. */
  latestNumber(i: number, slot = 0): number {
    return this.samplesOf(i) ? readU64(this.latest, this.layout.offsets[i] + slot * 8) : 0;
  }

  /** Every sample of path i, oldest first. */
  series(i: number): Sample[] {
    const n = this.samplesOf(i);
    if (!n) return [];
    const avg = this.layout.averages[i] === 1;
    // the position of path i's values within a record
    let skip = 0;
    for (let k = 0; k < i; k++) skip += this.layout.averages[k] ? 2 : 1;
    const off = this.layout.offsets[i];
    const v = new Uint32Array([this.word(off), this.word(off + 4), avg ? this.word(off + 8) : 0, avg ? this.word(off + 12) : 0]);
    const out: Sample[] = [];
    const emit = (seq: number) => {
      const s: Sample = { t: this.stamps[seq % SAMPLES_KEPT], v: halvesText(v[0], v[1]) };
      if (avg) s.c = halvesText(v[2], v[3]);
      out.push(s);
    };
    emit(this.seq);
    const reader = { pos: 0, lo: 0, hi: 0 };
    for (let back = 1; back < n; back++) {
      const r = this.recStart.length - back;
      reader.pos = this.recStart[r];
      for (let k = 0; k < skip; k++) readZigzag(this.arena, reader);
      readZigzag(this.arena, reader);
      subtract(v, 0, reader.lo, reader.hi);
      if (avg) {
        readZigzag(this.arena, reader);
        subtract(v, 2, reader.lo, reader.hi);
      }
      emit(this.seq - back);
    }
    return out.reverse();
  }

  /**
   * The whole history as packed samples, oldest first, for moving it to a
   * new layout (a schema change) with replayInto().
   */
  samples(): Array<{ stamp: number; packed: Uint8Array }> {
    const out: Array<{ stamp: number; packed: Uint8Array }> = [];
    const cur = Uint8Array.from(this.latest);
    out.push({ stamp: this.stamps[this.seq % SAMPLES_KEPT], packed: Uint8Array.from(cur) });
    const reader = { pos: 0, lo: 0, hi: 0 };
    const words = new Uint32Array(2);
    for (let back = 1; back < this.count; back++) {
      reader.pos = this.recStart[this.recStart.length - back];
      for (let i = 0; i < this.layout.paths.length; i++) {
        const slots = this.layout.averages[i] ? 2 : 1;
        for (let s = 0; s < slots; s++) {
          const off = this.layout.offsets[i] + s * 8;
          readZigzag(this.arena, reader);
          words[0] = readWord(cur, off);
          words[1] = readWord(cur, off + 4);
          subtract(words, 0, reader.lo, reader.hi);
          writeWord(cur, off, words[0]);
          writeWord(cur, off + 4, words[1]);
          // avgcount2 follows avgcount
          if (s === 1) cur.copyWithin(off + 8, off, off + 8);
        }
      }
      out.push({ stamp: this.stamps[(this.seq - back) % SAMPLES_KEPT], packed: Uint8Array.from(cur) });
    }
    return out.reverse();
  }

  /**
   * Copies this history into `into` (a store with another layout): the paths
   * both have, with the same kind, keep their samples; `same(path)` says
   * whether a path may carry over. Paths only `into` has start empty.
   */
  replayInto(into: CounterStore, same: (path: string) => boolean): void {
    const map: Array<[number, number, number]> = []; // [from offset, to offset, bytes]
    const carried = new Uint8Array(into.layout.paths.length);
    into.layout.paths.forEach((p, j) => {
      const i = this.layout.indexOf(p);
      if (i < 0 || !same(p) || this.layout.averages[i] !== into.layout.averages[j]) return;
      carried[j] = 1;
      map.push([this.layout.offsets[i], into.layout.offsets[j], into.layout.averages[j] ? 24 : 8]);
    });
    const samples = this.samples();
    into.seq = this.seq - samples.length;
    const packed = Buffer.alloc(into.layout.byteLength);
    writeHeader(packed, into.layout.slots);
    for (const s of samples) {
      for (const [from, to, n] of map) packed.set(s.packed.subarray(from, from + n), to);
      into.push(packed, s.stamp);
    }
    // what carried over keeps its age; the rest starts with the next sample
    const first = this.seq - this.count + 1;
    const born = new Float64Array(into.layout.paths.length);
    for (let j = 0; j < born.length; j++) {
      if (!carried[j]) born[j] = this.seq + 1;
      else born[j] = Math.max(first, this.born ? this.born[this.layout.indexOf(into.layout.paths[j])] : 0);
    }
    into.born = born;
  }

  /** Bytes held (for the memory figures and tests). */
  get bytes(): number {
    return this.arena.length + this.latest.length + this.stamps.byteLength + (this.born?.byteLength ?? 0);
  }

  private word(off: number): number {
    return readWord(this.latest, off);
  }

  /** Appends the record "latest minus packed" (what to subtract to go one sample back). */
  private addRecord(packed: Uint8Array): void {
    if (this.recStart.length === SAMPLES_KEPT - 1) {
      this.recStart.shift();
      this.recEnd.shift();
    }
    // written into the shared scratch first (worst case 10 bytes a value), then copied
    // into the arena at its exact size: the arena keeps no worst-case room
    if (scratch.length < this.kept * 10) scratch = new Uint8Array(this.kept * 10);
    const a = scratch;
    let pos = 0;
    const { offsets, averages } = this.layout;
    for (let i = 0; i < offsets.length; i++) {
      const slots = averages[i] ? 2 : 1;
      for (let s = 0; s < slots; s++) {
        const off = offsets[i] + s * 8;
        // new - old, modulo 2^64, on halves
        const nlo = readWord(packed, off);
        const nhi = readWord(packed, off + 4);
        const olo = readWord(this.latest, off);
        const ohi = readWord(this.latest, off + 4);
        const lo = (nlo - olo) >>> 0;
        const hi = (nhi - ohi - (nlo < olo ? 1 : 0)) >>> 0;
        // zigzag: (d << 1) ^ (d >> 63)
        const sign = hi >> 31;
        let zlo = ((lo << 1) ^ sign) >>> 0;
        let zhi = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
        while (zhi > 0 || zlo > 0x7f) {
          a[pos++] = (zlo & 0x7f) | 0x80;
          zlo = ((zlo >>> 7) | (zhi << 25)) >>> 0;
          zhi >>>= 7;
        }
        a[pos++] = zlo;
      }
    }
    this.reserve(pos);
    const start = this.recEnd.length ? this.recEnd[this.recEnd.length - 1] : 0;
    // a loop, not set(subarray()): no view object to collect for every report
    const arena = this.arena;
    for (let k = 0; k < pos; k++) arena[start + k] = a[k];
    this.recStart.push(start);
    this.recEnd.push(start + pos);
  }

  /** Room for a record of `n` bytes after the newest: slide the live records down, or grow. */
  private reserve(n: number): void {
    const first = this.recStart.length ? this.recStart[0] : 0;
    const end = this.recEnd.length ? this.recEnd[this.recEnd.length - 1] : 0;
    if (end + n <= this.arena.length) return;
    const live = end - first;
    if (live + n <= this.arena.length) {
      this.arena.copyWithin(0, first, end);
    } else {
      // room for the records still to come until the history is full (sized
      // like this one), and one more so that slides are not on every sample
      const toCome = Math.max(1, SAMPLES_KEPT - 1 - this.recStart.length);
      const next = new Uint8Array(live + n * (toCome + 1));
      next.set(this.arena.subarray(first, end));
      this.arena = next;
    }
    for (let k = 0; k < this.recStart.length; k++) {
      this.recStart[k] -= first;
      this.recEnd[k] -= first;
    }
  }
}

/** Where a record is written before its exact size is known (one record at a time: the event loop is single-threaded). */
let scratch = new Uint8Array(4096);

function readWord(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

function writeWord(b: Uint8Array, off: number, w: number): void {
  b[off] = w & 0xff;
  b[off + 1] = (w >>> 8) & 0xff;
  b[off + 2] = (w >>> 16) & 0xff;
  b[off + 3] = w >>> 24;
}

/** Reads a zigzag varint at r.pos into r.lo/r.hi (the signed difference as 64-bit halves). */
function readZigzag(a: Uint8Array, r: { pos: number; lo: number; hi: number }): void {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  let b: number;
  do {
    b = a[r.pos++];
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    shift += 7;
  } while (b & 0x80);
  lo >>>= 0;
  hi >>>= 0;
  // un-zigzag: (z >>> 1) ^ -(z & 1)
  const neg = -(lo & 1);
  r.lo = (((lo >>> 1) | (hi << 31)) ^ neg) >>> 0;
  r.hi = ((hi >>> 1) ^ neg) >>> 0;
}

/** v[k..k+1] (lo, hi) -= (lo, hi), modulo 2^64. */
function subtract(v: Uint32Array, k: number, lo: number, hi: number): void {
  const l = v[k];
  v[k] = (l - lo) >>> 0;
  v[k + 1] = (v[k + 1] - hi - (l < lo ? 1 : 0)) >>> 0;
}

function halvesText(lo: number, hi: number): string {
  if (hi <= 0x1fffff) return String(hi * 4294967296 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}
