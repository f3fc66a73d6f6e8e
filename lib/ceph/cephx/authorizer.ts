// The authorizer: how a client proves to a service (a manager, an OSD, or a
// monitor asked for more tickets) that the monitors vouched for it, and the
// challenge round Pacific's services add (CEPHX_V2).
//   client → service  Authorizer: u8 1 (also the auth mode "authorizer"),
//                     le64 global id, le32 service id, TicketBlob, and
//                     CephXAuthorize {nonce, have_challenge, challenge+1}
//                     sealed with the ticket's session key
//   service → client  AuthorizeChallenge {server challenge}, sealed (bare
//                     ciphertext, no length)
//   client → service  the same authorizer, its CephXAuthorize now carrying
//                     the server challenge + 1
//   service → client  AuthorizeReply {nonce + 1, connection secret}, sealed
// Sources: src/auth/cephx/CephxProtocol.{h,cc} (CephXTicketHandler::
// build_authorizer, CephXAuthorizer::add_challenge/verify_reply,
// cephx_verify_authorizer, CephXAuthorize, CephXAuthorizeChallenge,
// CephXAuthorizeReply).
import type { Decoder, Encoder } from '../encoding';
import { decodeEncrypted, encodeEncrypted, readEncrypted, writeEncrypted } from './crypto';
import { decodeTicketBlob, encodeTicketBlob, type TicketBlob } from './ticket';

/** The authorizer's cleartext part. */
export interface AuthorizerHead {
  globalId: bigint;
  /** The service the ticket is for (EntityType). */
  serviceId: number;
  ticket: TicketBlob;
}

/** CephXAuthorize: what the client seals with the session key. */
export interface Authorize {
  nonce: bigint;
  haveChallenge: boolean;
  /** The server challenge + 1 (mod 2^64), when haveChallenge. */
  serverChallengePlusOne: bigint;
}

const U64 = (1n << 64n) - 1n;

/** x + 1 in u64 arithmetic, as C++ computes it. */
export function plusOne(x: bigint): bigint {
  return (x + 1n) & U64;
}

export function encodeAuthorizerHead(e: Encoder, h: AuthorizerHead): void {
  e.u8(1).u64(h.globalId).u32(h.serviceId);
  encodeTicketBlob(e, h.ticket);
}

export function decodeAuthorizerHead(d: Decoder): AuthorizerHead {
  d.u8(); // authorizer_v 1
  const globalId = d.u64();
  const serviceId = d.u32();
  return { globalId, serviceId, ticket: decodeTicketBlob(d) };
}

/** Writes the sealed CephXAuthorize (v2) as a bufferlist. */
export function writeAuthorize(e: Encoder, sessionKey: Buffer, a: Authorize): void {
  writeEncrypted(e, sessionKey, (p) => p.u8(2).u64(a.nonce).bool(a.haveChallenge).u64(a.serverChallengePlusOne));
}

export function readAuthorize(d: Decoder, sessionKey: Buffer): Authorize {
  return readEncrypted(d, sessionKey, 'the authorizer', (p) => {
    const v = p.u8();
    const nonce = p.u64();
    if (v < 2) return { nonce, haveChallenge: false, serverChallengePlusOne: 0n };
    return { nonce, haveChallenge: p.bool(), serverChallengePlusOne: p.u64() };
  });
}

/** The service's challenge, sealed with the session key (the whole AUTH_REPLY_MORE payload). */
export function sealChallenge(sessionKey: Buffer, challenge: bigint): Buffer {
  return encodeEncrypted(sessionKey, (p) => p.u8(1).u64(challenge));
}

export function openChallenge(sessionKey: Buffer, sealed: Buffer): bigint {
  return decodeEncrypted(sessionKey, sealed, "the service's challenge", (p) => {
    p.u8(); // struct_v 1
    return p.u64();
  });
}

/** CephXAuthorizeReply: proves the service could open the ticket; carries the connection secret (secure mode only). */
export interface AuthorizeReply {
  noncePlusOne: bigint;
  connectionSecret: Buffer;
}

export function writeAuthorizeReply(e: Encoder, sessionKey: Buffer, r: AuthorizeReply): void {
  writeEncrypted(e, sessionKey, (p) => {
    p.u8(r.connectionSecret.length ? 2 : 1).u64(r.noncePlusOne);
    if (r.connectionSecret.length) p.blob(r.connectionSecret);
  });
}

export function readAuthorizeReply(d: Decoder, sessionKey: Buffer): AuthorizeReply {
  return readEncrypted(d, sessionKey, "the service's authorizer reply", (p) => {
    const v = p.u8();
    const noncePlusOne = p.u64();
    return { noncePlusOne, connectionSecret: v >= 2 ? Buffer.from(p.blob()) : Buffer.alloc(0) };
  });
}

/** A whole authorizer: the cleartext head, then CephXAuthorize sealed with the ticket's session key. */
export function encodeAuthorizer(e: Encoder, head: AuthorizerHead, sessionKey: Buffer, a: Authorize): void {
  encodeAuthorizerHead(e, head);
  writeAuthorize(e, sessionKey, a);
}
