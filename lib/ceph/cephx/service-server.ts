// The server side of cephx for a service (mgrpc's manager): verifies the
// authorizers of the daemons and clients that connect, with the rotating
// secrets of its service type, and challenges each one (Pacific's CEPHX_V2
// round) so a captured authorizer cannot be replayed.
//   AUTH_REQUEST      →  authorizer: open the ticket with the rotating secret
//                        its secret id names, check the global id and the
//                        expiry, open the CephXAuthorize with the ticket's
//                        session key
//   AUTH_REPLY_MORE   ←  a fresh challenge, sealed with the session key
//   AUTH_REQUEST_MORE →  the same checks again, and challenge + 1
//   AUTH_DONE         ←  nonce + 1 sealed with the session key
// The peer's name, global id and caps come from the ticket, which only the
// monitors could have sealed. Every failure is `{kind: 'bad', reason}`.
// Sources: src/auth/cephx/CephxProtocol.cc (cephx_verify_authorizer),
// src/auth/cephx/CephxAuthorizeHandler.cc, src/mon/MonClient.cc
// (MonClient::handle_auth_request: one challenge, then a verdict).
import { randomBytes } from 'crypto';
import { AuthError, AuthMethod, AuthMode, ConMode, type AuthServerSession, type AuthServerStep } from '../auth';
import { Decoder, DecodeError, Encoder } from '../encoding';
import { entityTypeName, formatEntityName, utimeToMs } from '../types';
import { AUTH_MODE_AUTHORIZER_MAX } from './authenticate';
import { decodeAuthorizerHead, plusOne, readAuthorize, sealChallenge, writeAuthorizeReply, type Authorize } from './authorizer';
import { randomU64, sameBytes } from './crypto';
import type { RotatingKeys } from './rotating';
import { capString, SECRET_ID_OWN_KEY, unsealTicket, type ServiceTicketInfo } from './ticket';

/** Entity ids and cap strings are printable ASCII; anything else in a ticket is garbling. */
const PRINTABLE = /^[\x20-\x7e]*$/;

/** The longest a service ticket may be valid (auth_service_ticket_ttl is 1 h by default). */
const MAX_TICKET_MS = 30 * 24 * 3600 * 1000;

/** A ticket from a monitor whose clock runs ahead is still taken within this. */
export const DEFAULT_CLOCK_SKEW_MS = 60000;

export interface ServiceServerOptions {
  /** The rotating secrets of our service type (mgr), kept fresh by the caller. */
  keys: RotatingKeys;
  /** Bytes of connection secret to hand out (secure mode needs them; crc mode none). Default 0. */
  connectionSecretBytes?: number;
  /** The clock (ms); tests pass the capture's time. */
  now?: () => number;
  /** Random u64s for the challenge; tests pass the captured one. */
  random?: () => bigint;
  /** Allowance for clocks that differ. Default 60 s. */
  clockSkewMs?: number;
}

/** What a verified authorizer tells about the peer. */
interface Verified {
  info: ServiceTicketInfo;
  authorize: Authorize;
  /** The peer's cap string for our service. */
  cap: string;
}

class Refused extends Error {}

export function cephxServiceServer(o: ServiceServerOptions): AuthServerSession {
  const service = entityTypeName(o.keys.serviceId);
  const now = o.now ?? Date.now;
  const skew = o.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  let challenge: bigint | undefined;
  /** The session key of the ticket the challenge was sealed for: the answer must come with the same ticket. */
  let challengedKey: Buffer | undefined;
  let finished = false;

  /** Every check of cephx_verify_authorizer; throws Refused with the reason. */
  const verify = (payload: Buffer): Verified => {
    if (payload.length === 0) throw new Refused('an empty authorizer');
    const mode = payload[0];
    if (mode < AuthMode.AUTHORIZER || mode > AUTH_MODE_AUTHORIZER_MAX)
      throw new Refused(`auth mode ${mode} is not an authorizer (a monitor handshake sent to a ${service}?)`);
    const d = new Decoder(payload);
    const head = decodeAuthorizerHead(d);
    if (head.serviceId !== o.keys.serviceId) throw new Refused(`the ticket is for the ${entityTypeName(head.serviceId)} service, this is a ${service}`);
    if (head.ticket.secretId === SECRET_ID_OWN_KEY)
      throw new Refused(`the ticket is sealed with the ${service}'s own key (secret id -1), which only monitors use`);
    const secret = o.keys.get(head.ticket.secretId);
    if (!secret)
      throw new Refused(
        `the ticket is sealed with ${service} rotating secret ${head.ticket.secretId}, not one of the held ${o.keys.ids().join(',') || '(none yet)'}`,
      );
    const info = unsealTicket(head.ticket, secret, `the ticket (${service} rotating secret ${head.ticket.secretId})`);
    const peer = formatEntityName(info.ticket.name);
    if (info.ticket.globalId !== head.globalId)
      throw new Refused(`${peer}'s ticket is for global id ${info.ticket.globalId}, the authorizer claims ${head.globalId}`);
    const created = utimeToMs(info.ticket.created);
    const expires = utimeToMs(info.ticket.expires);
    if (expires + skew < now()) throw new Refused(`${peer}'s ticket expired at ${new Date(expires).toISOString()}`);
    // A ticket is only sealed (CBC, no MAC), so a holder could flip bits in it at the price of garbling
    // the block before; these checks make a garbled block in the times show, and allow_all, which
    // monitors never put in a service ticket, cannot be switched on.
    if (
      expires < created ||
      expires - created > MAX_TICKET_MS ||
      created > now() + skew ||
      info.ticket.created.nsec >= 1e9 ||
      info.ticket.expires.nsec >= 1e9
    ) {
      throw new Refused(`${peer}'s ticket has impossible times (created ${info.ticket.created.sec}, expires ${info.ticket.expires.sec}): altered?`);
    }
    if (info.ticket.caps.allowAll) throw new Refused(`${peer}'s ticket claims allow_all, which monitors never grant in a service ticket: altered?`);
    if (!PRINTABLE.test(info.ticket.name.id)) throw new Refused(`a ticket whose entity name is not text: altered?`);
    let cap: string;
    try {
      cap = capString(info.ticket.caps);
    } catch (e) {
      throw new Refused(`${peer}'s caps do not decode: ${(e as Error).message}`);
    }
    if (!PRINTABLE.test(cap)) throw new Refused(`${peer}'s caps are not text: altered?`);
    const authorize = readAuthorize(d, info.sessionKey.secret);
    return { info, authorize, cap };
  };

  const step = (payload: Buffer): AuthServerStep => {
    if (finished) return { kind: 'bad', reason: 'authentication already finished' };
    let v: Verified;
    try {
      v = verify(payload);
    } catch (e) {
      finished = true;
      if (e instanceof Refused || e instanceof AuthError || e instanceof DecodeError) return { kind: 'bad', reason: `cephx authorizer refused: ${e.message}` };
      throw e;
    }
    const key = v.info.sessionKey.secret;
    const peer = v.info.ticket.name;
    if (challenge === undefined) {
      // first round: always challenge, as Pacific does, so the authorizer cannot be replayed
      challenge = (o.random ?? randomU64)();
      challengedKey = key;
      return { kind: 'more', payload: sealChallenge(key, challenge) };
    }
    finished = true;
    if (!sameBytes(key, challengedKey as Buffer)) {
      return { kind: 'bad', reason: `cephx authorizer refused: ${formatEntityName(peer)} answered the challenge with another ticket` };
    }
    if (!v.authorize.haveChallenge || v.authorize.serverChallengePlusOne !== plusOne(challenge)) {
      return { kind: 'bad', reason: `cephx authorizer refused: ${formatEntityName(peer)} did not answer the challenge` };
    }
    const connectionSecret = (o.connectionSecretBytes ?? 0) > 0 ? randomBytes(o.connectionSecretBytes as number) : Buffer.alloc(0);
    const e = new Encoder();
    writeAuthorizeReply(e, key, { noncePlusOne: plusOne(v.authorize.nonce), connectionSecret });
    const caps: Record<string, string> = {};
    if (v.cap) caps[service] = v.cap;
    return {
      kind: 'done',
      payload: e.toBuffer(),
      result: { globalId: v.info.ticket.globalId, conMode: ConMode.CRC, sessionKey: key, connectionSecret },
      peer,
      caps,
    };
  };

  return {
    request: (method, preferredModes, payload) => {
      if (method !== AuthMethod.CEPHX) {
        finished = true;
        return { kind: 'bad', reason: `auth method ${method} offered; this ${service} accepts cephx (2) only` };
      }
      if (!preferredModes.includes(ConMode.CRC)) {
        finished = true;
        return { kind: 'bad', reason: `the peer offers modes [${preferredModes.join(',')}]; this ${service} speaks crc (1) only` };
      }
      return step(payload);
    },
    more: (payload) => {
      if (challenge === undefined) return { kind: 'bad', reason: 'AUTH_REQUEST_MORE before any challenge' };
      return step(payload);
    },
  };
}
