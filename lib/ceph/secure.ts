// msgr2.1 secure mode: every frame after AUTH_DONE encrypted and
// authenticated with AES-128-GCM (src/msg/async/frames_v2.cc
// asm_secure_rev1 / disasm_*_secure_rev1, crypto_onwire.cc).
//
// Keys: the connection secret cephx hands out with AUTH_DONE (64 bytes in
// secure mode) starts with the 16-byte key, then two 12-byte nonces: the
// first is what the connecting side receives with, the second what it
// sends with; the accepting side uses them the other way round. A nonce is
// a fixed le32 and a le64 counter; each GCM message takes the next counter
// value, each direction on its own, and a sequence never hands out a nonce
// twice (the connection ends instead).
//
// A frame is at most three GCM messages, each with its 16-byte tag:
//   1. the 32-byte preamble (crc included, as in crc mode) and the first
//      48 bytes of segment 0 (zero-padded when shorter): 96 bytes on the wire
//   2. the rest of segment 0, if it is longer than 48 bytes
//   3. segments 1-3 and a 16-byte epilogue (late_status, zeros), only when
//      the frame has more than one segment
// Every segment is zero-padded to 16 bytes before encryption; the preamble
// keeps the real lengths. No crcs: the tags authenticate everything.
import { createCipheriv, createDecipheriv } from 'crypto';
import {
  FrameError,
  frameSegments,
  LATE_STATUS_COMPLETE,
  lateStatusComplete,
  parsePreamble,
  PREAMBLE_BYTES,
  writePreamble,
  type Frame,
  type FrameCodec,
  type Preamble,
} from './frames';

export const GCM_KEY_BYTES = 16;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
/** Segments are padded to the cipher's block size. */
export const CRYPTO_BLOCK_BYTES = 16;
/** How much of segment 0 rides in the preamble's GCM message (FRAME_PREAMBLE_INLINE_SIZE). */
export const PREAMBLE_INLINE_BYTES = 48;
/** The preamble on the wire: preamble, inline block, tag. */
export const SECURE_PREAMBLE_BYTES = PREAMBLE_BYTES + PREAMBLE_INLINE_BYTES + GCM_TAG_BYTES;
/** epilogue_secure_rev1_block_t: late_status and 15 bytes of padding. */
export const SECURE_EPILOGUE_BYTES = 16;
/** What a connection secret must hold: the key and two nonces (cephx sends 64 bytes). */
export const CONNECTION_SECRET_MIN_BYTES = GCM_KEY_BYTES + 2 * GCM_NONCE_BYTES;

const U64 = 1n << 64n;

function padded(n: number): number {
  return Math.ceil(n / CRYPTO_BLOCK_BYTES) * CRYPTO_BLOCK_BYTES;
}

/**
 * The nonces of one direction: le32 fixed, le64 counter (msgr2.1's
 * format), the counter advanced for each GCM message. At most `limit`
 * nonces are handed out (all 2^64 by default); asking for more throws, so
 * a nonce is never used twice with the key.
 */
export class NonceSequence {
  private readonly fixed: number;
  private counter: bigint;
  private left: bigint;

  constructor(initial: Buffer, limit: bigint = U64) {
    if (initial.length !== GCM_NONCE_BYTES) throw new Error(`a GCM nonce has ${GCM_NONCE_BYTES} bytes, not ${initial.length}`);
    this.fixed = initial.readUInt32LE(0);
    this.counter = initial.readBigUInt64LE(4);
    this.left = limit;
  }

  /** The next nonce; throws once the sequence is spent. */
  next(): Buffer {
    if (this.left <= 0n) throw new FrameError('decrypt', 'out of GCM nonces on this connection (2^64 messages): it must end');
    this.left--;
    const n = Buffer.allocUnsafe(GCM_NONCE_BYTES);
    n.writeUInt32LE(this.fixed, 0);
    n.writeBigUInt64LE(this.counter, 4);
    this.counter = (this.counter + 1n) % U64;
    return n;
  }
}

/** AES-128-GCM of `parts` as one message: ciphertext followed by the tag. */
function seal(key: Buffer, nonce: Buffer, parts: Buffer[]): Buffer {
  const c = createCipheriv('aes-128-gcm', key, nonce);
  const out = parts.map((p) => c.update(p));
  c.final();
  out.push(c.getAuthTag());
  return Buffer.concat(out);
}

/** Opens one GCM message (ciphertext then tag); a tag that does not verify is a FrameError of kind 'decrypt'. */
function open(key: Buffer, nonce: Buffer, sealed: Buffer, what: string): Buffer {
  const body = sealed.subarray(0, sealed.length - GCM_TAG_BYTES);
  const d = createDecipheriv('aes-128-gcm', key, nonce);
  d.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
  const plain = d.update(body);
  try {
    d.final();
  } catch {
    throw new FrameError('decrypt', `the ${what} of a secure-mode frame does not authenticate (altered, replayed or out of order)`);
  }
  return plain;
}

/** Secure mode for one connection: encodes what we send, decodes what we receive, each with its own nonces. */
export class SecureCodec implements FrameCodec {
  readonly mode = 'secure' as const;
  readonly preambleBytes = SECURE_PREAMBLE_BYTES;

  constructor(
    private readonly key: Buffer,
    private readonly tx: NonceSequence,
    private readonly rx: NonceSequence,
  ) {
    if (key.length !== GCM_KEY_BYTES) throw new Error(`an AES-128-GCM key has ${GCM_KEY_BYTES} bytes, not ${key.length}`);
  }

  /** The codec of one side of a connection, from the connection secret of its authentication. */
  static fromSecret(secret: Buffer, side: 'client' | 'server'): SecureCodec {
    if (secret.length < CONNECTION_SECRET_MIN_BYTES) {
      throw new FrameError(
        'decrypt',
        `secure mode needs a connection secret of at least ${CONNECTION_SECRET_MIN_BYTES} bytes, the authentication gave ${secret.length}`,
      );
    }
    const key = Buffer.from(secret.subarray(0, GCM_KEY_BYTES));
    const first = secret.subarray(GCM_KEY_BYTES, GCM_KEY_BYTES + GCM_NONCE_BYTES);
    const second = secret.subarray(GCM_KEY_BYTES + GCM_NONCE_BYTES, CONNECTION_SECRET_MIN_BYTES);
    // the connecting side receives with the first nonce and sends with the second (create_handler_pair, crossed for the acceptor)
    return side === 'client'
      ? new SecureCodec(key, new NonceSequence(second), new NonceSequence(first))
      : new SecureCodec(key, new NonceSequence(first), new NonceSequence(second));
  }

  encode(frame: Frame): Buffer {
    const segs = frameSegments(frame);
    const head = Buffer.alloc(PREAMBLE_BYTES + PREAMBLE_INLINE_BYTES);
    writePreamble(head, frame, segs);
    const s0 = segs[0];
    s0.copy(head, PREAMBLE_BYTES, 0, Math.min(s0.length, PREAMBLE_INLINE_BYTES));
    const out = [seal(this.key, this.tx.next(), [head])];
    if (padded(s0.length) > PREAMBLE_INLINE_BYTES) {
      const restLen = padded(s0.length) - PREAMBLE_INLINE_BYTES;
      const rest = s0.subarray(PREAMBLE_INLINE_BYTES);
      out.push(seal(this.key, this.tx.next(), [rest, Buffer.alloc(restLen - rest.length)]));
    }
    if (segs.length > 1) {
      const parts: Buffer[] = [];
      for (const s of segs.slice(1)) parts.push(s, Buffer.alloc(padded(s.length) - s.length));
      const epilogue = Buffer.alloc(SECURE_EPILOGUE_BYTES);
      epilogue[0] = LATE_STATUS_COMPLETE;
      parts.push(epilogue);
      out.push(seal(this.key, this.tx.next(), parts));
    }
    return Buffer.concat(out);
  }

  decodePreamble(bytes: Buffer): Preamble {
    const plain = open(this.key, this.rx.next(), bytes, 'preamble');
    const p = parsePreamble(plain.subarray(0, PREAMBLE_BYTES));
    return { ...p, inline: plain.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + PREAMBLE_INLINE_BYTES) };
  }

  restBytes(p: Preamble): number {
    const p0 = padded(p.lengths[0]);
    let n = p0 > PREAMBLE_INLINE_BYTES ? p0 - PREAMBLE_INLINE_BYTES + GCM_TAG_BYTES : 0;
    if (p.lengths.length > 1) n += p.lengths.slice(1).reduce((s, l) => s + padded(l), 0) + SECURE_EPILOGUE_BYTES + GCM_TAG_BYTES;
    return n;
  }

  decodeRest(p: Preamble, rest: Buffer): Buffer[] | undefined {
    const inline = p.inline as Buffer;
    const l0 = p.lengths[0];
    let at = 0;
    let s0: Buffer;
    if (padded(l0) > PREAMBLE_INLINE_BYTES) {
      at = padded(l0) - PREAMBLE_INLINE_BYTES + GCM_TAG_BYTES;
      s0 = Buffer.concat([inline, open(this.key, this.rx.next(), rest.subarray(0, at), 'first segment')]).subarray(0, l0);
    } else {
      s0 = Buffer.from(inline.subarray(0, l0));
    }
    if (p.lengths.length === 1) return [s0];
    const plain = open(this.key, this.rx.next(), rest.subarray(at), 'segments and epilogue');
    const segs = [s0];
    let o = 0;
    for (const l of p.lengths.slice(1)) {
      segs.push(plain.subarray(o, o + l));
      o += padded(l);
    }
    return lateStatusComplete(plain[o]) ? segs : undefined;
  }
}
