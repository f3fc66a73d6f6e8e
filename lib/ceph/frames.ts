// msgr2.1 on the wire: the banner both sides send first, then frames.
//
// A frame (crc mode, revision 1; src/msg/async/frames_v2.{h,cc}):
//   preamble (32 B): u8 tag, u8 num_segments, 4 × {le32 length, le16 alignment},
//                    u8 flags, u8 reserved, le32 crc32c(seed 0) of the first 28 bytes
//   segment 0, then its le32 crc32c(seed -1) if it is not empty
//   if num_segments > 1: segments 1..n-1, then the epilogue (13 B):
//                    u8 late_status, 3 × le32 crc32c(seed -1) of segments 1..3
// Control frames have one segment and no epilogue; a MESSAGE has four
// (header, front, middle, data) with trailing empty ones left out.
//
// The FrameCodec interface is the seam for the connection mode: CrcCodec
// is crc mode; secure mode (AES-128-GCM) implements the same interface and
// the connection swaps codecs after AUTH_DONE without other changes.
// FrameReader cuts frames out of a byte stream and refuses one larger than
// its limit as soon as the preamble announces it, before buffering it.
import { crc32c } from '@node-rs/crc32';

/** Ceph's crc32c(seed, data): a raw seed and no final xor (the npm package inverts both). */
export function cephCrc32c(seed: number, data: Uint8Array): number {
  return ~crc32c(data as Buffer, ~seed >>> 0) >>> 0;
}

/** Frame tags (frames_v2.h `enum class Tag`). */
export const Tag = {
  HELLO: 1,
  AUTH_REQUEST: 2,
  AUTH_BAD_METHOD: 3,
  AUTH_REPLY_MORE: 4,
  AUTH_REQUEST_MORE: 5,
  AUTH_DONE: 6,
  AUTH_SIGNATURE: 7,
  CLIENT_IDENT: 8,
  SERVER_IDENT: 9,
  IDENT_MISSING_FEATURES: 10,
  SESSION_RECONNECT: 11,
  SESSION_RESET: 12,
  SESSION_RETRY: 13,
  SESSION_RETRY_GLOBAL: 14,
  SESSION_RECONNECT_OK: 15,
  WAIT: 16,
  MESSAGE: 17,
  KEEPALIVE2: 18,
  KEEPALIVE2_ACK: 19,
  ACK: 20,
} as const;

const TAG_NAMES = Object.fromEntries(Object.entries(Tag).map(([k, v]) => [v, k])) as Record<number, string>;

export function tagName(tag: number): string {
  return TAG_NAMES[tag] ?? `tag${tag}`;
}

export const PREAMBLE_BYTES = 32;
export const CRC_EPILOGUE_BYTES = 13;
export const MAX_SEGMENTS = 4;
/** Segment alignments Ceph announces: 8 (sizeof(void*)) for control payloads and message header/front/middle, a page for data. */
export const DEFAULT_ALIGNMENT = 8;
export const PAGE_ALIGNMENT = 4096;
export const MESSAGE_ALIGNMENTS = [DEFAULT_ALIGNMENT, DEFAULT_ALIGNMENT, DEFAULT_ALIGNMENT, PAGE_ALIGNMENT];

/** late_status in the epilogue: the low nibble says whether the sender finished or aborted the frame. */
const LATE_STATUS_MASK = 0x0f;
const LATE_STATUS_COMPLETE = 0x0e;
const LATE_STATUS_ABORTED = 0x01;

/** Why a frame was refused; `kind` feeds the connection's counters. */
export class FrameError extends Error {
  constructor(
    readonly kind: 'crc' | 'malformed' | 'oversized',
    message: string,
  ) {
    super(message);
  }
}

/** One frame: a tag and its segments (at least one, possibly empty). */
export interface Frame {
  tag: number;
  segments: Buffer[];
  /** Alignment announced per segment; defaults to 8 for control frames and MESSAGE_ALIGNMENTS for messages. */
  alignments?: number[];
  /** Preamble flags (none are defined for crc mode). */
  flags?: number;
}

/** The decoded preamble: what the rest of the frame will hold. */
export interface Preamble {
  tag: number;
  lengths: number[];
  alignments: number[];
  flags: number;
}

/** How one connection mode puts frames on the wire and takes them off. */
export interface FrameCodec {
  readonly mode: 'crc' | 'secure';
  /** The bytes a frame's preamble occupies on the wire. */
  readonly preambleBytes: number;
  /** The on-wire bytes of one frame. */
  encode(frame: Frame): Buffer;
  /** Checks and decodes a preamble (exactly `preambleBytes`); throws FrameError. */
  decodePreamble(bytes: Buffer): Preamble;
  /** How many bytes follow the preamble on the wire. */
  restBytes(p: Preamble): number;
  /** The segments from the bytes after the preamble; `undefined` if the sender aborted the frame. Throws FrameError. */
  decodeRest(p: Preamble, rest: Buffer): Buffer[] | undefined;
}

function segmentCount(segments: Buffer[]): number {
  for (let n = segments.length; n > 1; n--) if (segments[n - 1].length > 0) return n;
  return 1;
}

/** crc mode, msgr2.1. */
export class CrcCodec implements FrameCodec {
  readonly mode = 'crc' as const;
  readonly preambleBytes = PREAMBLE_BYTES;

  encode(frame: Frame): Buffer {
    if (frame.segments.length < 1 || frame.segments.length > MAX_SEGMENTS)
      throw new Error(`a frame has 1 to ${MAX_SEGMENTS} segments, not ${frame.segments.length}`);
    const n = segmentCount(frame.segments);
    const segs = frame.segments.slice(0, n);
    const aligns = frame.alignments ?? (frame.tag === Tag.MESSAGE ? MESSAGE_ALIGNMENTS : [DEFAULT_ALIGNMENT]);
    const total = PREAMBLE_BYTES + segs.reduce((s, b) => s + b.length, 0) + (segs[0].length ? 4 : 0) + (n > 1 ? CRC_EPILOGUE_BYTES : 0);
    const out = Buffer.alloc(total);
    out[0] = frame.tag;
    out[1] = n;
    for (let i = 0; i < n; i++) {
      out.writeUInt32LE(segs[i].length, 2 + 6 * i);
      out.writeUInt16LE(aligns[i] ?? DEFAULT_ALIGNMENT, 6 + 6 * i);
    }
    out[26] = frame.flags ?? 0;
    out.writeUInt32LE(cephCrc32c(0, out.subarray(0, 28)), 28);
    let at = PREAMBLE_BYTES;
    if (segs[0].length) {
      at += segs[0].copy(out, at);
      at = out.writeUInt32LE(cephCrc32c(0xffffffff, segs[0]), at);
    }
    if (n === 1) return out;
    const epilogue = Buffer.alloc(CRC_EPILOGUE_BYTES);
    epilogue[0] = LATE_STATUS_COMPLETE;
    for (let i = 1; i < n; i++) {
      at += segs[i].copy(out, at);
      epilogue.writeUInt32LE(cephCrc32c(0xffffffff, segs[i]), 1 + 4 * (i - 1));
    }
    epilogue.copy(out, at);
    return out;
  }

  decodePreamble(b: Buffer): Preamble {
    const crc = b.readUInt32LE(28);
    const want = cephCrc32c(0, b.subarray(0, 28));
    if (crc !== want) throw new FrameError('crc', `bad preamble crc: computed ${want.toString(16)}, frame says ${crc.toString(16)}`);
    const n = b[1];
    if (n < 1 || n > MAX_SEGMENTS) throw new FrameError('malformed', `preamble announces ${n} segments (1 to ${MAX_SEGMENTS} allowed)`);
    const lengths: number[] = [];
    const alignments: number[] = [];
    for (let i = 0; i < n; i++) {
      lengths.push(b.readUInt32LE(2 + 6 * i));
      alignments.push(b.readUInt16LE(6 + 6 * i));
    }
    if (n > 1 && lengths[n - 1] === 0) throw new FrameError('malformed', 'the last segment of a multi-segment frame is empty');
    return { tag: b[0], lengths, alignments, flags: b[26] };
  }

  restBytes(p: Preamble): number {
    let n = p.lengths[0] + (p.lengths[0] ? 4 : 0);
    if (p.lengths.length > 1) n += p.lengths.slice(1).reduce((s, l) => s + l, 0) + CRC_EPILOGUE_BYTES;
    return n;
  }

  decodeRest(p: Preamble, rest: Buffer): Buffer[] | undefined {
    const segs: Buffer[] = [];
    const l0 = p.lengths[0];
    segs.push(rest.subarray(0, l0));
    let at = l0;
    if (l0) {
      checkCrc(segs[0], rest.readUInt32LE(at), 0);
      at += 4;
    }
    if (p.lengths.length === 1) return segs;
    for (let i = 1; i < p.lengths.length; i++) {
      segs.push(rest.subarray(at, at + p.lengths[i]));
      at += p.lengths[i];
    }
    const late = rest[at] & LATE_STATUS_MASK;
    if (late !== LATE_STATUS_COMPLETE && late !== LATE_STATUS_ABORTED) throw new FrameError('malformed', `bad late_status 0x${rest[at].toString(16)}`);
    for (let i = 1; i < segs.length; i++) checkCrc(segs[i], rest.readUInt32LE(at + 1 + 4 * (i - 1)), i);
    return late === LATE_STATUS_COMPLETE ? segs : undefined;
  }
}

function checkCrc(seg: Buffer, expected: number, i: number): void {
  const crc = cephCrc32c(0xffffffff, seg);
  if (crc !== expected) throw new FrameError('crc', `bad crc of segment ${i}: computed ${crc.toString(16)}, frame says ${expected.toString(16)}`);
}

/** Bytes received and not consumed yet, kept as the chunks they came in. */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  /** The next `n` bytes, consumed; `undefined` (nothing consumed) if fewer are there. */
  take(n: number): Buffer | undefined {
    if (n > this.size) return undefined;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.size -= n;
    return out;
  }

  /** The next `n` bytes without consuming them; `undefined` if fewer are there. */
  peek(n: number): Buffer | undefined {
    if (n > this.size) return undefined;
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    for (const c of this.chunks) {
      if (at >= n) break;
      at += c.copy(out, at, 0, Math.min(c.length, n - at));
    }
    return out;
  }
}

/** A frame read from the wire, with its on-wire size (for the pre-auth byte record). */
export interface ReadFrame extends Frame {
  /** The frame's bytes exactly as received. */
  wire: Buffer;
  /** False if the sender aborted it (late_status); such a frame carries no segments. */
  complete: boolean;
}

/** Cuts frames out of a ByteQueue with a codec; one frame per `next()` call. */
export class FrameReader {
  private preamble: Preamble | undefined;
  private preambleWire: Buffer | undefined;

  constructor(
    private readonly queue: ByteQueue,
    public codec: FrameCodec,
    /** The largest frame accepted (its segments' total length). */
    public maxFrameBytes: number,
  ) {}

  /** The next whole frame, or `undefined` until more bytes arrive. Throws FrameError. */
  next(): ReadFrame | undefined {
    if (!this.preamble) {
      const pre = this.queue.take(this.codec.preambleBytes);
      if (!pre) return undefined;
      const p = this.codec.decodePreamble(pre);
      const size = p.lengths.reduce((s, l) => s + l, 0);
      if (size > this.maxFrameBytes) {
        throw new FrameError('oversized', `a ${tagName(p.tag)} frame of ${size} bytes is over the limit of ${this.maxFrameBytes}`);
      }
      this.preamble = p;
      this.preambleWire = pre;
    }
    const p = this.preamble;
    const rest = this.queue.take(this.codec.restBytes(p));
    if (!rest) return undefined;
    const wire = Buffer.concat([this.preambleWire as Buffer, rest]);
    this.preamble = undefined;
    this.preambleWire = undefined;
    const segments = this.codec.decodeRest(p, rest);
    return { tag: p.tag, segments: segments ?? [], alignments: p.alignments, flags: p.flags, wire, complete: segments !== undefined };
  }
}

// The banner: "ceph v2\n", le16 length (16), le64 supported and le64
// required msgr2 protocol features. Source: ProtocolV2.cc (_banner_exchange).
export const BANNER_PREFIX = Buffer.from('ceph v2\n', 'ascii');
export const BANNER_BYTES = BANNER_PREFIX.length + 2 + 16;
/** msgr2 protocol features: REVISION_1 (msgr2.1, what Pacific speaks); COMPRESSION (Quincy) is not offered. */
export const MsgrFeature = { REVISION_1: 1n, COMPRESSION: 2n } as const;

export interface Banner {
  supported: bigint;
  required: bigint;
}

export function encodeBanner(b: Banner): Buffer {
  const out = Buffer.alloc(BANNER_BYTES);
  BANNER_PREFIX.copy(out);
  out.writeUInt16LE(16, 8);
  out.writeBigUInt64LE(b.supported, 10);
  out.writeBigUInt64LE(b.required, 18);
  return out;
}

/** The largest banner payload accepted (Pacific sends 16 bytes). */
const MAX_BANNER_PAYLOAD = 4096;

/**
 * Reads the banner from the front of the queue; `undefined` until it is all
 * there. A peer speaking msgr v1 ("ceph v027") gets an error that says so.
 */
export function readBanner(q: ByteQueue): (Banner & { wire: Buffer }) | undefined {
  const head = q.peek(10);
  if (!head) {
    if (q.length) checkPrefix(q.peek(q.length) as Buffer);
    return undefined;
  }
  checkPrefix(head);
  const len = head.readUInt16LE(8);
  if (len < 16 || len > MAX_BANNER_PAYLOAD) throw new FrameError('malformed', `banner payload of ${len} bytes (16 expected)`);
  const b = q.take(10 + len);
  if (!b) return undefined;
  return { supported: b.readBigUInt64LE(10), required: b.readBigUInt64LE(18), wire: b };
}

function checkPrefix(b: Buffer): void {
  const n = Math.min(b.length, 8);
  if (b.subarray(0, n).equals(BANNER_PREFIX.subarray(0, n))) return;
  const text = b.subarray(0, Math.min(b.length, 9)).toString('latin1');
  if (text.startsWith('ceph v0')) {
    throw new FrameError('malformed', `the peer speaks msgr v1 ('${text}'); mgrpc speaks msgr2 only: use the peer's v2 address (port 3300 for a monitor)`);
  }
  throw new FrameError('malformed', `not a Ceph msgr2 banner: ${JSON.stringify(text)}`);
}
