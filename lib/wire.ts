// Protobuf wire format, the small part the hot paths need: a reader and a
// writer that keep 64-bit integers exact as two 32-bit halves (no bigint
// per value, no loss above 2^53), that hand out length-delimited fields as
// views of the received bytes (so they can be forwarded untouched), and
// that never read past the end (a truncated or hostile message is a
// WireError, not a crash). The generated codecs (lib/gen/) stay the
// reference; tests check these against them.

export class WireError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO32 = 4294967296;
/** The largest high half whose 64-bit value is still exact as a double (|v| < 2^53). */
const SAFE_HI = 0x1fffff;

/** A 64-bit integer from its halves as a number when exact, else as a decimal string. */
export function int64Text(lo: number, hi: number, signed: boolean): string {
  if (signed ? hi >= -SAFE_HI - 1 && hi <= SAFE_HI : hi >>> 0 <= SAFE_HI) return String(toNumber(lo, hi, signed));
  const u = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return (signed ? BigInt.asIntN(64, u) : u).toString();
}

/** A 64-bit integer from its halves as a double (exact below 2^53). */
export function toNumber(lo: number, hi: number, signed: boolean): number {
  return (signed ? hi | 0 : hi >>> 0) * TWO32 + (lo >>> 0);
}

/** Bytes a non-negative integer (below 2^53) takes as a varint. */
export function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export class WireReader {
  pos: number;
  readonly end: number;
  /** The halves of the last 64-bit varint or fixed64 read. */
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's tag: field number * 8 + wire type. */
  tag(): number {
    return this.varint32();
  }

  /** A varint as an unsigned 32-bit number (higher bits are dropped, as protobuf's uint32). */
  varint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= this.end) throw new WireError('message ends inside a varint');
      const b = buf[pos++];
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    // a 64-bit varint: skip the rest of it
    for (let i = 0; i < 5; i++) {
      if (pos >= this.end) throw new WireError('message ends inside a varint');
      if (buf[pos++] < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** A signed 32-bit varint (int32: negative values are sign-extended to 64 bits). */
  int32(): number {
    return this.varint32() | 0;
  }

  /** A 64-bit varint into lo/hi. */
  varint64(): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.end) throw new WireError('message ends inside a varint');
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    if (pos >= this.end) throw new WireError('message ends inside a varint');
    b = buf[pos++];
    lo |= (b & 0x0f) << 28;
    let hi = (b & 0x70) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) throw new WireError('varint longer than 10 bytes');
        if (pos >= this.end) throw new WireError('message ends inside a varint');
        b = buf[pos++];
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** A 64-bit varint as a double: exact below 2^53. */
  uint64Number(): number {
    this.varint64();
    return this.hi * TWO32 + this.lo;
  }

  bool(): boolean {
    return this.varint32() !== 0;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError('message ends inside a double');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /** The length of a length-delimited field, checked against what is left. */
  length(): number {
    const n = this.varint32();
    if (n > this.end - this.pos) throw new WireError(`a field of ${n} bytes runs past the end of its message`);
    return n;
  }

  /** A length-delimited field as a view of the buffer (no copy). */
  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.length();
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return s;
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_I64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.advance(this.length());
        return;
      case WIRE_I32:
        this.advance(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new WireError('message ends inside a field');
    this.pos += n;
  }
}

/** A growable byte writer for the same wire format. */
export class WireWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A copy of what was written. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** An unsigned varint below 2^32. */
  varint32(v: number): this {
    this.ensure(5);
    v >>>= 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** A 64-bit varint from its halves. */
  varint64(lo: number, hi: number): this {
    this.ensure(10);
    lo >>>= 0;
    hi >>>= 0;
    while (hi > 0 || lo > 0x7f) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
    return this;
  }

  /** An integer given as a double (exact below 2^53; negative: two's complement, as int64). */
  int64(v: number): this {
    if (v >= 0) return this.varint64(v % TWO32, Math.floor(v / TWO32));
    const m = -v;
    const lo = (~(m % TWO32) + 1) >>> 0;
    let hi = ~Math.floor(m / TWO32) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    return this.varint64(lo, hi);
  }

  /** int32: negative values take ten bytes, as protobuf encodes them. */
  int32(v: number): this {
    return v >= 0 ? this.varint32(v) : this.varint64(v >>> 0, 0xffffffff);
  }

  tag(field: number, wireType: number): this {
    return this.varint32(field * 8 + wireType);
  }

  double(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** A length-delimited field. */
  bytesField(field: number, bytes: Uint8Array): this {
    return this.tag(field, WIRE_LEN).varint32(bytes.length).raw(bytes);
  }

  stringField(field: number, s: string): this {
    const n = Buffer.byteLength(s);
    this.tag(field, WIRE_LEN).varint32(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  /** What was written so far, as a view (valid until the next write or reset). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
