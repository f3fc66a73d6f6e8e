// The ticket-granting exchange with a monitor, as its three messages:
//   1. the client's first AUTH_REQUEST payload: auth mode "mon", its entity
//      name and the global id it had (0 when new);
//   2. the monitor's CephXServerChallenge (a random u64);
//   3. the client's CEPHX_GET_AUTH_SESSION_KEY: a request header and
//      CephXAuthenticate (its own challenge, the answer computed with its
//      key, the auth ticket it held, and the service tickets it wants).
// The answer is AUTH_DONE's CEPHX service ticket reply (ticket-reply.ts).
// Sources: src/mon/MonClient.cc (MonConnection::get_auth_request),
// src/auth/Auth.h (AUTH_MODE_*), src/auth/cephx/CephxProtocol.h
// (CephXServerChallenge, CephXAuthenticate).
import { AuthMode } from '../auth';
import { DecodeError, type Decoder, type Encoder } from '../encoding';
import { decodeEntityName, encodeEntityName, type EntityName } from '../types';
import { decodeTicketBlob, encodeTicketBlob, type TicketBlob } from './ticket';

/** The ranges of AuthMode (the first byte of an AUTH_REQUEST payload): an authorizer is 1-9, a monitor handshake 10-19. */
export const AUTH_MODE_AUTHORIZER_MAX = 9;
export const AUTH_MODE_MON_MAX = 19;

export interface MonAuthRequest {
  name: EntityName;
  /** The global id the entity held (0: none yet), so a reconnecting client keeps it. */
  globalId: bigint;
}

export function encodeMonAuthRequest(e: Encoder, r: MonAuthRequest): void {
  e.u8(AuthMode.MON);
  encodeEntityName(e, r.name);
  e.u64(r.globalId);
}

export function decodeMonAuthRequest(d: Decoder): MonAuthRequest {
  const mode = d.u8();
  if (mode < AuthMode.MON || mode > AUTH_MODE_MON_MAX)
    throw new DecodeError(`auth mode ${mode} is not a monitor handshake (${AuthMode.MON}-${AUTH_MODE_MON_MAX})`);
  const name = decodeEntityName(d);
  return { name, globalId: d.u64() };
}

export function encodeServerChallenge(e: Encoder, challenge: bigint): void {
  e.u8(1).u64(challenge);
}

export function decodeServerChallenge(d: Decoder): bigint {
  d.u8(); // struct_v 1
  return d.u64();
}

/** CephXAuthenticate (v3): the client's side of the challenge. */
export interface Authenticate {
  clientChallenge: bigint;
  /** challengeAnswer(key, server challenge, client challenge). */
  key: bigint;
  /** The auth ticket held from an earlier session (empty blob: none). */
  oldTicket: TicketBlob;
  /** Service types (EntityType bits) whose tickets to send along. */
  otherKeys: number;
}

export function encodeAuthenticate(e: Encoder, a: Authenticate): void {
  e.u8(3).u64(a.clientChallenge).u64(a.key);
  encodeTicketBlob(e, a.oldTicket);
  e.u32(a.otherKeys);
}

export function decodeAuthenticate(d: Decoder): Authenticate {
  const v = d.u8();
  const clientChallenge = d.u64();
  const key = d.u64();
  const oldTicket = decodeTicketBlob(d);
  const otherKeys = v >= 2 ? d.u32() : 0;
  return { clientChallenge, key, oldTicket, otherKeys };
}
