// Tickets: what a monitor grants an entity, sealed so that only the
// service it is for can read it.
//   AuthCapsInfo          the entity's caps for one service (an encoded cap string)
//   AuthTicket            who (name, global id), when (created, expires), caps
//   ServiceTicketInfo     AuthTicket + the session key client and service share
//                         (CephXServiceTicketInfo), sealed with the service's
//                         rotating secret into...
//   TicketBlob            ...the opaque blob a client carries: the id of that
//                         rotating secret and the ciphertext (CephXTicketBlob)
// Sources: src/auth/Auth.h (AuthCapsInfo, AuthTicket), src/auth/cephx/
// CephxProtocol.{h,cc} (CephXTicketBlob, CephXServiceTicketInfo,
// cephx_build_service_ticket_blob, cephx_decode_ticket).
import { DecodeError, Decoder, Encoder } from '../encoding';
import { decodeEntityName, decodeUTime, encodeEntityName, encodeUTime, type EntityName, type UTime } from '../types';
import { decodeCryptoKey, decodeEncrypted, encodeCryptoKey, encodeEncrypted, type CryptoKey } from './crypto';

/** CEPH_AUTH_UID_DEFAULT: the retired auid field, always written as -1. */
const AUTH_UID_DEFAULT = 0xffffffffffffffffn;

/** secret_id -1: the ticket is sealed with the service's own key, not a rotating one (monitors only). */
export const SECRET_ID_OWN_KEY = 0xffffffffffffffffn;

/** An entity's caps for one service: an encoded cap string ("allow profile osd"), or allow_all. */
export interface AuthCapsInfo {
  allowAll: boolean;
  /** The bufferlist as the key server stores it: an encoded string, or empty when the entity has no caps for the service. */
  caps: Buffer;
}

export function decodeCapsInfo(d: Decoder): AuthCapsInfo {
  d.u8(); // struct_v 1
  return { allowAll: d.u8() !== 0, caps: Buffer.from(d.blob()) };
}

export function encodeCapsInfo(e: Encoder, c: AuthCapsInfo): void {
  e.u8(1)
    .u8(c.allowAll ? 1 : 0)
    .blob(c.caps);
}

/** The cap string inside AuthCapsInfo ('' when the entity has none for the service). */
export function capString(c: AuthCapsInfo): string {
  if (c.caps.length === 0) return '';
  const d = new Decoder(c.caps);
  const s = d.string();
  if (d.remaining !== 0) throw new DecodeError(`caps hold ${d.remaining} bytes after the cap string`);
  return s;
}

/** AuthCapsInfo for a cap string. */
export function capsInfo(cap: string): AuthCapsInfo {
  return { allowAll: false, caps: cap ? new Encoder().string(cap).toBuffer() : Buffer.alloc(0) };
}

export interface AuthTicket {
  name: EntityName;
  globalId: bigint;
  created: UTime;
  expires: UTime;
  caps: AuthCapsInfo;
  flags: number;
}

export function decodeAuthTicket(d: Decoder): AuthTicket {
  const v = d.u8();
  const name = decodeEntityName(d);
  const globalId = d.u64();
  if (v >= 2) d.u64(); // auid, retired
  const created = decodeUTime(d);
  const expires = decodeUTime(d);
  const caps = decodeCapsInfo(d);
  const flags = d.u32();
  return { name, globalId, created, expires, caps, flags };
}

export function encodeAuthTicket(e: Encoder, t: AuthTicket): void {
  e.u8(2);
  encodeEntityName(e, t.name);
  e.u64(t.globalId).u64(AUTH_UID_DEFAULT);
  encodeUTime(e, t.created);
  encodeUTime(e, t.expires);
  encodeCapsInfo(e, t.caps);
  e.u32(t.flags);
}

/** What a ticket blob holds once unsealed: the ticket and the session key of client and service. */
export interface ServiceTicketInfo {
  ticket: AuthTicket;
  sessionKey: CryptoKey;
}

export function decodeServiceTicketInfo(d: Decoder): ServiceTicketInfo {
  d.u8(); // struct_v 1
  const ticket = decodeAuthTicket(d);
  return { ticket, sessionKey: decodeCryptoKey(d) };
}

export function encodeServiceTicketInfo(e: Encoder, t: ServiceTicketInfo): void {
  e.u8(1);
  encodeAuthTicket(e, t.ticket);
  encodeCryptoKey(e, t.sessionKey);
}

/** The sealed ticket as a client holds and presents it. */
export interface TicketBlob {
  /** Which rotating secret of the service sealed it. */
  secretId: bigint;
  /** The ciphertext (empty: no ticket yet). */
  blob: Buffer;
}

export const NO_TICKET: TicketBlob = { secretId: 0n, blob: Buffer.alloc(0) };

export function decodeTicketBlob(d: Decoder): TicketBlob {
  d.u8(); // struct_v 1
  const secretId = d.u64();
  return { secretId, blob: Buffer.from(d.blob()) };
}

export function encodeTicketBlob(e: Encoder, t: TicketBlob): void {
  e.u8(1).u64(t.secretId).blob(t.blob);
}

/** Seals a ticket with a service secret (what the monitor does; tests and a future ticket issuer use it). */
export function sealTicket(info: ServiceTicketInfo, serviceSecret: Buffer, secretId: bigint): TicketBlob {
  return { secretId, blob: encodeEncrypted(serviceSecret, (e) => encodeServiceTicketInfo(e, info)) };
}

/** Opens a ticket blob with the service secret its secret id names; AuthError if it does not decrypt. */
export function unsealTicket(blob: TicketBlob, serviceSecret: Buffer, what = 'the ticket'): ServiceTicketInfo {
  return decodeEncrypted(serviceSecret, blob.blob, what, decodeServiceTicketInfo);
}
