// The service ticket reply: how a monitor hands out tickets, in AUTH_DONE
// (the auth ticket, and with it any other tickets asked for) and in MAuthReply
// (CEPHX_GET_PRINCIPAL_SESSION_KEY). For each service:
//   le32 service id, u8 1,
//   CephXServiceTicket {session key, validity} sealed with the principal's
//     key (the entity's own key for the auth ticket, else the auth session key),
//   u8 "ticket encrypted", then the TicketBlob as a bufferlist, either plain or
//     sealed with the session key of the ticket it renews.
// Plus the request of service tickets (CephXServiceTicketRequest).
// Sources: src/auth/cephx/CephxProtocol.{h,cc} (CephXServiceTicket,
// cephx_build_service_ticket_reply, CephXTicketHandler::verify_service_ticket_reply,
// CephXServiceTicketRequest).
import { DecodeError, Decoder, Encoder } from '../encoding';
import { entityTypeName, decodeUTime, encodeUTime, type UTime } from '../types';
import { decodeCryptoKey, encodeCryptoKey, readEncrypted, writeEncrypted, type CryptoKey } from './crypto';
import { decodeTicketBlob, encodeTicketBlob, type TicketBlob } from './ticket';

/** One service's ticket as a client receives it. */
export interface GrantedTicket {
  /** The service type (EntityType: AUTH, MON, OSD, MGR, ...). */
  serviceId: number;
  sessionKey: CryptoKey;
  /** How long it is valid, from when it was received. */
  validity: UTime;
  ticket: TicketBlob;
}

/** More tickets than there are service types is not a reply a monitor sends. */
const MAX_TICKETS = 32;

/**
 * Reads a service ticket reply. `principalSecret` opens the session keys;
 * `renewedSessionKey(serviceId)` gives the session key of the ticket being
 * renewed, for tickets sent encrypted. AuthError when something does not
 * decrypt, DecodeError when the bytes are malformed.
 */
export function decodeTicketReply(
  d: Decoder,
  principalSecret: Buffer,
  renewedSessionKey: (serviceId: number) => Buffer | undefined = () => undefined,
): GrantedTicket[] {
  d.u8(); // struct_v 1
  const n = d.u32();
  if (n > MAX_TICKETS) throw new DecodeError(`a ticket reply with ${n} tickets`);
  const out: GrantedTicket[] = [];
  for (let i = 0; i < n; i++) {
    const serviceId = d.u32();
    const service = entityTypeName(serviceId);
    d.u8(); // service_ticket_v 1
    const { sessionKey, validity } = readEncrypted(d, principalSecret, `the ${service} ticket's session key`, (p) => {
      p.u8(); // struct_v 1
      return { sessionKey: decodeCryptoKey(p), validity: decodeUTime(p) };
    });
    const encrypted = d.u8() !== 0;
    let ticketBl: Buffer;
    if (encrypted) {
      const old = renewedSessionKey(serviceId);
      if (!old) throw new DecodeError(`the ${service} ticket came encrypted with a session key this client does not hold`);
      ticketBl = readEncrypted(d, old, `the renewed ${service} ticket`, (p) => Buffer.from(p.blob()));
    } else {
      ticketBl = Buffer.from(d.blob());
    }
    out.push({ serviceId, sessionKey, validity, ticket: decodeTicketBlob(new Decoder(ticketBl)) });
  }
  return out;
}

/** One ticket to grant (the monitor's side; tests use it to make replies). */
export interface TicketGrant {
  serviceId: number;
  sessionKey: CryptoKey;
  validity: UTime;
  ticket: TicketBlob;
  /** Seal the ticket blob with this (the session key of the ticket being renewed). */
  ticketKey?: Buffer;
}

export function encodeTicketReply(e: Encoder, principalSecret: Buffer, grants: TicketGrant[]): void {
  e.u8(1).u32(grants.length);
  for (const g of grants) {
    e.u32(g.serviceId).u8(1);
    writeEncrypted(e, principalSecret, (p) => {
      p.u8(1);
      encodeCryptoKey(p, g.sessionKey);
      encodeUTime(p, g.validity);
    });
    const bl = new Encoder();
    encodeTicketBlob(bl, g.ticket);
    e.u8(g.ticketKey ? 1 : 0);
    if (g.ticketKey) writeEncrypted(e, g.ticketKey, (p) => p.blob(bl.toBuffer()));
    else e.blob(bl.toBuffer());
  }
}

/** CephXServiceTicketRequest: which service tickets (EntityType bits) a client asks for. */
export function encodeServiceTicketRequest(e: Encoder, keys: number): void {
  e.u8(1).u32(keys);
}

export function decodeServiceTicketRequest(d: Decoder): number {
  d.u8(); // struct_v 1
  return d.u32();
}
