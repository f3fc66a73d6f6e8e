// The payloads of msgr2 control frames: every frame but MESSAGE carries one
// segment whose fields are Ceph-encoded in order (frames_v2.h, the
// ControlFrame subclasses). Each frame has a decoder and an encoder here;
// the connection state machine (connection.ts) decides when they are sent.
import { Decoder, DecodeError, Encoder } from './encoding';
import { Tag, type Frame } from './frames';
import { decodeAddr, decodeAddrvec, decodeUTime, encodeAddr, encodeAddrvec, encodeUTime, type EntityAddr, type UTime } from './types';

/** CLIENT_IDENT / SERVER_IDENT flags (CEPH_MSG_CONNECT_LOSSY): the session is not replayed after a fault. */
export const IDENT_FLAG_LOSSY = 1n;

export interface Hello {
  /** The sender's entity type (EntityType). */
  entityType: number;
  /** The address the sender sees its peer at. */
  peerAddr: EntityAddr;
}

export interface AuthRequest {
  method: number;
  preferredModes: number[];
  payload: Buffer;
}

export interface AuthBadMethod {
  method: number;
  /** A negative errno. */
  result: number;
  allowedMethods: number[];
  allowedModes: number[];
}

export interface AuthDone {
  globalId: bigint;
  conMode: number;
  payload: Buffer;
}

export interface ClientIdent {
  addrs: EntityAddr[];
  targetAddr: EntityAddr;
  /** The sender's global id (-1: none yet). */
  gid: bigint;
  globalSeq: bigint;
  supportedFeatures: bigint;
  requiredFeatures: bigint;
  flags: bigint;
  cookie: bigint;
}

export interface ServerIdent {
  addrs: EntityAddr[];
  gid: bigint;
  globalSeq: bigint;
  supportedFeatures: bigint;
  requiredFeatures: bigint;
  flags: bigint;
  cookie: bigint;
}

export interface SessionReconnect {
  addrs: EntityAddr[];
  clientCookie: bigint;
  serverCookie: bigint;
  globalSeq: bigint;
  connectSeq: bigint;
  msgSeq: bigint;
}

/** A control frame, decoded: its tag names which fields it has. */
export type Control =
  | ({ tag: typeof Tag.HELLO } & Hello)
  | ({ tag: typeof Tag.AUTH_REQUEST } & AuthRequest)
  | ({ tag: typeof Tag.AUTH_BAD_METHOD } & AuthBadMethod)
  | { tag: typeof Tag.AUTH_REPLY_MORE; payload: Buffer }
  | { tag: typeof Tag.AUTH_REQUEST_MORE; payload: Buffer }
  | ({ tag: typeof Tag.AUTH_DONE } & AuthDone)
  | { tag: typeof Tag.AUTH_SIGNATURE; signature: Buffer }
  | ({ tag: typeof Tag.CLIENT_IDENT } & ClientIdent)
  | ({ tag: typeof Tag.SERVER_IDENT } & ServerIdent)
  | { tag: typeof Tag.IDENT_MISSING_FEATURES; features: bigint }
  | ({ tag: typeof Tag.SESSION_RECONNECT } & SessionReconnect)
  | { tag: typeof Tag.SESSION_RESET; full: boolean }
  | { tag: typeof Tag.SESSION_RETRY; connectSeq: bigint }
  | { tag: typeof Tag.SESSION_RETRY_GLOBAL; globalSeq: bigint }
  | { tag: typeof Tag.SESSION_RECONNECT_OK; msgSeq: bigint }
  | { tag: typeof Tag.WAIT }
  | { tag: typeof Tag.KEEPALIVE2; timestamp: UTime }
  | { tag: typeof Tag.KEEPALIVE2_ACK; timestamp: UTime }
  | { tag: typeof Tag.ACK; seq: bigint };

const u32s = (d: Decoder) => d.list((x) => x.u32(), 4);
const putU32s = (e: Encoder, v: number[]) => e.list(v, (x, n) => x.u32(n));
/** Auth payloads are bounded by the frame size limit; a SHA-256 HMAC is 32 bytes. */
const SIGNATURE_BYTES = 32;

/** Decodes a control frame's payload; throws DecodeError for a short, long or unknown one. */
export function decodeControl(tag: number, payload: Buffer): Control {
  const d = new Decoder(payload);
  const c = decodeFields(tag, d);
  if (d.remaining !== 0)
    throw new DecodeError(`${d.remaining} bytes left over after the ${Object.keys(Tag).find((k) => Tag[k as keyof typeof Tag] === tag)} fields`);
  return c;
}

function decodeFields(tag: number, d: Decoder): Control {
  switch (tag) {
    case Tag.HELLO:
      return { tag, entityType: d.u8(), peerAddr: decodeAddr(d) };
    case Tag.AUTH_REQUEST:
      return { tag, method: d.u32(), preferredModes: u32s(d), payload: d.blob() };
    case Tag.AUTH_BAD_METHOD:
      return { tag, method: d.u32(), result: d.i32(), allowedMethods: u32s(d), allowedModes: u32s(d) };
    case Tag.AUTH_REPLY_MORE:
    case Tag.AUTH_REQUEST_MORE:
      return { tag, payload: d.blob() };
    case Tag.AUTH_DONE:
      return { tag, globalId: d.u64(), conMode: d.u32(), payload: d.blob() };
    case Tag.AUTH_SIGNATURE:
      return { tag, signature: d.bytes(SIGNATURE_BYTES) };
    case Tag.CLIENT_IDENT:
      return {
        tag,
        addrs: decodeAddrvec(d),
        targetAddr: decodeAddr(d),
        gid: d.i64(),
        globalSeq: d.u64(),
        supportedFeatures: d.u64(),
        requiredFeatures: d.u64(),
        flags: d.u64(),
        cookie: d.u64(),
      };
    case Tag.SERVER_IDENT:
      return {
        tag,
        addrs: decodeAddrvec(d),
        gid: d.i64(),
        globalSeq: d.u64(),
        supportedFeatures: d.u64(),
        requiredFeatures: d.u64(),
        flags: d.u64(),
        cookie: d.u64(),
      };
    case Tag.IDENT_MISSING_FEATURES:
      return { tag, features: d.u64() };
    case Tag.SESSION_RECONNECT:
      return { tag, addrs: decodeAddrvec(d), clientCookie: d.u64(), serverCookie: d.u64(), globalSeq: d.u64(), connectSeq: d.u64(), msgSeq: d.u64() };
    case Tag.SESSION_RESET:
      return { tag, full: d.bool() };
    case Tag.SESSION_RETRY:
      return { tag, connectSeq: d.u64() };
    case Tag.SESSION_RETRY_GLOBAL:
      return { tag, globalSeq: d.u64() };
    case Tag.SESSION_RECONNECT_OK:
      return { tag, msgSeq: d.u64() };
    case Tag.WAIT:
      return { tag };
    case Tag.KEEPALIVE2:
    case Tag.KEEPALIVE2_ACK:
      return { tag, timestamp: decodeUTime(d) };
    case Tag.ACK:
      return { tag, seq: d.u64() };
    default:
      throw new DecodeError(`unknown control frame tag ${tag}`);
  }
}

/** Encodes a control frame's payload. */
export function encodeControlPayload(c: Control): Buffer {
  const e = new Encoder(64);
  switch (c.tag) {
    case Tag.HELLO:
      e.u8(c.entityType);
      encodeAddr(e, c.peerAddr);
      break;
    case Tag.AUTH_REQUEST:
      e.u32(c.method);
      putU32s(e, c.preferredModes);
      e.blob(c.payload);
      break;
    case Tag.AUTH_BAD_METHOD:
      e.u32(c.method).i32(c.result);
      putU32s(e, c.allowedMethods);
      putU32s(e, c.allowedModes);
      break;
    case Tag.AUTH_REPLY_MORE:
    case Tag.AUTH_REQUEST_MORE:
      e.blob(c.payload);
      break;
    case Tag.AUTH_DONE:
      e.u64(c.globalId).u32(c.conMode).blob(c.payload);
      break;
    case Tag.AUTH_SIGNATURE:
      if (c.signature.length !== SIGNATURE_BYTES) throw new Error(`an AUTH_SIGNATURE is ${SIGNATURE_BYTES} bytes, not ${c.signature.length}`);
      e.bytes(c.signature);
      break;
    case Tag.CLIENT_IDENT:
      encodeAddrvec(e, c.addrs);
      encodeAddr(e, c.targetAddr);
      e.i64(c.gid).u64(c.globalSeq).u64(c.supportedFeatures).u64(c.requiredFeatures).u64(c.flags).u64(c.cookie);
      break;
    case Tag.SERVER_IDENT:
      encodeAddrvec(e, c.addrs);
      e.i64(c.gid).u64(c.globalSeq).u64(c.supportedFeatures).u64(c.requiredFeatures).u64(c.flags).u64(c.cookie);
      break;
    case Tag.IDENT_MISSING_FEATURES:
      e.u64(c.features);
      break;
    case Tag.SESSION_RECONNECT:
      encodeAddrvec(e, c.addrs);
      e.u64(c.clientCookie).u64(c.serverCookie).u64(c.globalSeq).u64(c.connectSeq).u64(c.msgSeq);
      break;
    case Tag.SESSION_RESET:
      e.bool(c.full);
      break;
    case Tag.SESSION_RETRY:
      e.u64(c.connectSeq);
      break;
    case Tag.SESSION_RETRY_GLOBAL:
      e.u64(c.globalSeq);
      break;
    case Tag.SESSION_RECONNECT_OK:
      e.u64(c.msgSeq);
      break;
    case Tag.WAIT:
      break;
    case Tag.KEEPALIVE2:
    case Tag.KEEPALIVE2_ACK:
      encodeUTime(e, c.timestamp);
      break;
    case Tag.ACK:
      e.u64(c.seq);
      break;
  }
  return e.toBuffer();
}

/** A control frame ready for a FrameCodec. */
export function controlFrame(c: Control): Frame {
  return { tag: c.tag, segments: [encodeControlPayload(c)] };
}
