// Ceph's binary encoding (src/include/encoding.h, denc.h): little-endian
// integers, length-prefixed strings, buffers, vectors and maps, and the
// versioned struct envelope ENCODE_START/DECODE_START, whose length lets a
// reader skip fields a newer peer added. Every read is bounds-checked: a
// short or malformed buffer throws DecodeError, never reads past the end.

/** A buffer that does not decode: too short, a length past the end, a version too new. */
export class DecodeError extends Error {}

/** Reads Ceph-encoded values from a buffer, front to back. */
export class Decoder {
  private pos: number;
  /** Where the innermost struct opened with `start` ends. */
  private readonly ends: number[] = [];

  constructor(
    readonly buf: Buffer,
    offset = 0,
    private readonly limit = buf.length,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  /** Bytes left before the end of the buffer (or of the innermost struct). */
  get remaining(): number {
    return this.end() - this.pos;
  }

  private end(): number {
    return this.ends.length ? this.ends[this.ends.length - 1] : this.limit;
  }

  private need(n: number, what: string): number {
    if (n < 0 || this.pos + n > this.end()) throw new DecodeError(`${what}: needs ${n} bytes at offset ${this.pos}, ${this.end() - this.pos} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.need(1, 'u8'));
  }
  u16(): number {
    return this.buf.readUInt16LE(this.need(2, 'u16'));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4, 'u32'));
  }
  i32(): number {
    return this.buf.readInt32LE(this.need(4, 'i32'));
  }
  /** A u64 as a bigint (exact). */
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8, 'u64'));
  }
  i64(): bigint {
    return this.buf.readBigInt64LE(this.need(8, 'i64'));
  }
  /** A u64 as a number; throws if it is above 2^53 (use for counts, ids, epochs). */
  u64n(): number {
    const at = this.need(8, 'u64');
    const hi = this.buf.readUInt32LE(at + 4);
    if (hi > 0x1fffff) throw new DecodeError(`u64 at offset ${at} is above 2^53`);
    return hi * 0x100000000 + this.buf.readUInt32LE(at);
  }
  /** An i64 as a number; throws outside ±2^53. */
  i64n(): number {
    const v = this.i64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new DecodeError(`i64 ${v} is outside the safe range`);
    return Number(v);
  }
  f64(): number {
    return this.buf.readDoubleLE(this.need(8, 'f64'));
  }
  bool(): boolean {
    return this.u8() !== 0;
  }
  /** `n` raw bytes (a view, not a copy). */
  bytes(n: number): Buffer {
    const at = this.need(n, 'bytes');
    return this.buf.subarray(at, at + n);
  }
  /** le32 length + bytes (Ceph's bufferlist encoding), as a view. */
  blob(): Buffer {
    return this.bytes(this.u32());
  }
  /** le32 length + UTF-8 bytes. */
  string(): string {
    return this.blob().toString('utf8');
  }
  skip(n: number): void {
    this.need(n, 'skip');
  }

  /** le32 count + items. `minItemBytes` bounds the count by the bytes left, so a hostile count cannot allocate. */
  list<T>(item: (d: Decoder) => T, minItemBytes = 1): T[] {
    const n = this.u32();
    if (n * minItemBytes > this.remaining) throw new DecodeError(`list of ${n} items does not fit in ${this.remaining} bytes`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }

  /** le32 count + key/value pairs, as a Map in wire order. */
  map<K, V>(key: (d: Decoder) => K, value: (d: Decoder) => V, minPairBytes = 2): Map<K, V> {
    const n = this.u32();
    if (n * minPairBytes > this.remaining) throw new DecodeError(`map of ${n} pairs does not fit in ${this.remaining} bytes`);
    const out = new Map<K, V>();
    for (let i = 0; i < n; i++) {
      const k = key(this);
      out.set(k, value(this));
    }
    return out;
  }

  /** std::optional: u8 present + value. */
  optional<T>(value: (d: Decoder) => T): T | undefined {
    return this.bool() ? value(this) : undefined;
  }

  /**
   * DECODE_START: reads struct_v, struct_compat and the length, and confines
   * reads to the struct. Throws if the writer says a reader needs a version
   * above `supported`. Pair with `finish()`.
   */
  start(supported: number, what = 'struct'): { v: number; compat: number; len: number } {
    const v = this.u8();
    const compat = this.u8();
    if (compat > supported) throw new DecodeError(`${what} v${v} needs a decoder of v${compat} or later; this one knows v${supported}`);
    const len = this.u32();
    if (this.pos + len > this.end()) throw new DecodeError(`${what} of ${len} bytes at offset ${this.pos} runs past the end (${this.end() - this.pos} left)`);
    this.ends.push(this.pos + len);
    return { v, compat, len };
  }

  /** DECODE_FINISH: skips what this decoder does not know of the struct. */
  finish(): void {
    const end = this.ends.pop();
    if (end === undefined) throw new Error('finish() without start()');
    this.pos = end;
  }

  /** Runs `body` inside a versioned struct (start … finish). */
  struct<T>(supported: number, what: string, body: (d: Decoder, v: number) => T): T {
    const { v } = this.start(supported, what);
    const out = body(this, v);
    this.finish();
    return out;
  }
}

/** Writes Ceph-encoded values into a growing buffer. */
export class Encoder {
  private buf: Buffer;
  private pos = 0;
  private readonly starts: number[] = [];

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.pos;
  }

  /** Reserves n bytes and returns where they start. It may replace this.buf, so call it before reading this.buf. */
  private room(n: number): number {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.buf.writeUInt8(v, at);
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.buf.writeUInt16LE(v, at);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }
  i32(v: number): this {
    const at = this.room(4);
    this.buf.writeInt32LE(v, at);
    return this;
  }
  /** A u64 from a bigint or a whole, non-negative number. */
  u64(v: bigint | number): this {
    const at = this.room(8);
    this.buf.writeBigUInt64LE(typeof v === 'bigint' ? v : BigInt(v), at);
    return this;
  }
  i64(v: bigint | number): this {
    const at = this.room(8);
    this.buf.writeBigInt64LE(typeof v === 'bigint' ? v : BigInt(v), at);
    return this;
  }
  f64(v: number): this {
    const at = this.room(8);
    this.buf.writeDoubleLE(v, at);
    return this;
  }
  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }
  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }
  /** le32 length + bytes (a bufferlist). */
  blob(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }
  string(s: string): this {
    return this.blob(Buffer.from(s, 'utf8'));
  }
  list<T>(items: readonly T[], item: (e: Encoder, v: T) => void): this {
    this.u32(items.length);
    for (const v of items) item(this, v);
    return this;
  }
  map<K, V>(entries: Iterable<[K, V]>, key: (e: Encoder, k: K) => void, value: (e: Encoder, v: V) => void): this {
    const all = [...entries];
    this.u32(all.length);
    for (const [k, v] of all) {
      key(this, k);
      value(this, v);
    }
    return this;
  }
  optional<T>(v: T | undefined, value: (e: Encoder, v: T) => void): this {
    this.bool(v !== undefined);
    if (v !== undefined) value(this, v);
    return this;
  }

  /** ENCODE_START: struct_v, struct_compat and a length filled in by `finish()`. */
  start(v: number, compat: number): this {
    this.u8(v).u8(compat);
    this.starts.push(this.room(4));
    return this;
  }
  finish(): this {
    const at = this.starts.pop();
    if (at === undefined) throw new Error('finish() without start()');
    this.buf.writeUInt32LE(this.pos - at - 4, at);
    return this;
  }
  struct(v: number, compat: number, body: (e: Encoder) => void): this {
    this.start(v, compat);
    body(this);
    return this.finish();
  }

  /** The bytes written so far (a copy, so the encoder can be reused). */
  toBuffer(): Buffer {
    if (this.starts.length) throw new Error('toBuffer() inside an unfinished struct');
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
