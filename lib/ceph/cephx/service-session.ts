// The client side of connecting to a service (a manager, an OSD, an MDS)
// with a service ticket: the authorizer, the answer to the service's
// challenge, and the check of the service's reply, which proves the service
// could open the ticket (it holds the rotating secret) and so is genuine.
//   AUTH_REQUEST        authorizer {global id, service, ticket, sealed nonce}
//   AUTH_REPLY_MORE  ←  the service's challenge, sealed with the session key
//   AUTH_REQUEST_MORE   the authorizer again, now with challenge + 1
//   AUTH_DONE        ←  nonce + 1 (and the connection secret), sealed
// Sources: src/auth/cephx/CephxProtocol.cc (build_authorizer, add_challenge,
// verify_reply), src/mon/MonClient.cc (MonClient::get_auth_request for a
// non-monitor peer, handle_auth_reply_more, handle_auth_done).
import { AuthError, AuthMethod, ConMode, type AuthClientSession } from '../auth';
import { Decoder, DecodeError, Encoder } from '../encoding';
import { entityTypeName } from '../types';
import { encodeAuthorizer, openChallenge, plusOne, readAuthorizeReply, type Authorize } from './authorizer';
import { randomU64 } from './crypto';
import type { HeldTicket } from './tickets';

export interface ServiceSessionOptions {
  /** Our global id (the monitors gave it). */
  globalId: bigint;
  /** The service ticket (tickets.ts). */
  ticket: HeldTicket;
  /** Random u64 for the nonce; tests pass the captured one. */
  random?: () => bigint;
  /** Who we are, for error messages ("osd.0"). */
  who?: string;
}

export function cephxServiceSession(o: ServiceSessionOptions): AuthClientSession {
  const service = entityTypeName(o.ticket.serviceId);
  const who = o.who ?? 'this client';
  const nonce = (o.random ?? randomU64)();
  const key = o.ticket.sessionKey;
  let challenged = false;

  const authorizer = (a: Authorize): Buffer => {
    const e = new Encoder();
    encodeAuthorizer(e, { globalId: o.globalId, serviceId: o.ticket.serviceId, ticket: o.ticket.ticket }, key, a);
    return e.toBuffer();
  };
  const fail = (what: string, e: unknown): never => {
    if (e instanceof AuthError || e instanceof DecodeError) throw new AuthError(`${what} from the ${service} to ${who}: ${e.message}`);
    throw e;
  };

  return {
    request: () => ({
      method: AuthMethod.CEPHX,
      preferredModes: [ConMode.CRC],
      payload: authorizer({ nonce, haveChallenge: false, serverChallengePlusOne: 0n }),
    }),
    more: (payload) => {
      if (challenged) throw new AuthError(`the ${service} challenged ${who} twice`);
      challenged = true;
      let challenge: bigint;
      try {
        challenge = openChallenge(key, payload);
      } catch (e) {
        return fail('the challenge', e);
      }
      return authorizer({ nonce, haveChallenge: true, serverChallengePlusOne: plusOne(challenge) });
    },
    done: (globalId, conMode, payload) => {
      let reply;
      try {
        reply = readAuthorizeReply(new Decoder(payload), key);
      } catch (e) {
        return fail('the authorizer reply', e);
      }
      if (reply.noncePlusOne !== plusOne(nonce)) {
        throw new AuthError(
          `the ${service} answered ${who}'s authorizer with the wrong nonce: it could not open the ticket, so it is not the ${service} the monitors know`,
        );
      }
      return { globalId, conMode, sessionKey: key, connectionSecret: reply.connectionSecret };
    },
  };
}
