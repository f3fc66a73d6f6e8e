// Every cephx exchange after the first challenge starts with a request
// header (the request type) and every answer with a response header (the
// request type again and a status, 0 or a negative errno).
// Source: src/auth/cephx/CephxProtocol.h (CephXRequestHeader,
// CephXResponseHeader, CEPHX_GET_*).
import { DecodeError, type Decoder, type Encoder } from '../encoding';

/** The cephx request types (CEPHX_GET_*). */
export const CephxRequest = {
  /** The ticket-granting exchange: prove the entity's key, get the auth ticket and session key. */
  GET_AUTH_SESSION_KEY: 0x0100,
  /** Service tickets (mon, osd, mgr, mds) against the auth ticket. */
  GET_PRINCIPAL_SESSION_KEY: 0x0200,
  /** The rotating secrets of the daemon's own service type, sealed with its key. */
  GET_ROTATING_KEY: 0x0400,
} as const;

const NAMES: Record<number, string> = { 0x0100: 'GET_AUTH_SESSION_KEY', 0x0200: 'GET_PRINCIPAL_SESSION_KEY', 0x0400: 'GET_ROTATING_KEY' };

export function requestName(type: number): string {
  return NAMES[type] ?? `request type 0x${type.toString(16)}`;
}

export function encodeRequestHeader(e: Encoder, requestType: number): void {
  e.u16(requestType);
}

export function decodeRequestHeader(d: Decoder): number {
  const t = d.u16();
  if (!NAMES[t]) throw new DecodeError(`unknown cephx request type 0x${t.toString(16)}`);
  return t;
}

export interface ResponseHeader {
  requestType: number;
  /** 0, or a negative errno from the server. */
  status: number;
}

export function encodeResponseHeader(e: Encoder, h: ResponseHeader): void {
  e.u16(h.requestType).i32(h.status);
}

export function decodeResponseHeader(d: Decoder): ResponseHeader {
  return { requestType: d.u16(), status: d.i32() };
}
