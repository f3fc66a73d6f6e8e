// Authentication method "none" (CEPH_AUTH_NONE): a cluster with
// auth_*_required = none. The peer is who it says it is; there is no
// session key, so AUTH_SIGNATURE is 32 zero bytes and nothing is secret.
// The request to a monitor and the authorizer for another service differ
// in their first byte only: u8 auth mode (AUTH_MODE_MON 10, AUTH_MODE_AUTHORIZER
// 1), EntityName, le64 global_id. A monitor that gets mode 1 takes the
// request for an authorizer: it assigns no global id and keeps the session
// without the peer's features (a Pacific monitor then aborts re-encoding an
// OSDMap for it), so the mode matters.
// Sources: src/auth/none/AuthNoneClientHandler.h, AuthNoneAuthorizeHandler.cc,
// src/mon/MonClient.cc (MonConnection::get_auth_request).
import {
  AuthError,
  AuthMode,
  AuthMethod,
  ConMode,
  type AuthClientSession,
  type AuthResult,
  type AuthServerSession,
  type AuthServerStep,
  type MonAuthProvider,
} from './auth';
import { Decoder, Encoder } from './encoding';
import { decodeEntityName, encodeEntityName, type EntityName } from './types';

function result(globalId: bigint): AuthResult {
  return { globalId, conMode: ConMode.CRC, sessionKey: Buffer.alloc(0), connectionSecret: Buffer.alloc(0) };
}

/**
 * The client side of auth none, for `name`: to a monitor (`mode` MON, the default) or to another
 * service (AUTHORIZER), with the global id a monitor gave, if any.
 */
export function authNoneClient(name: EntityName, globalId = 0n, mode: number = AuthMode.MON): AuthClientSession {
  return {
    request: () => {
      const e = new Encoder().u8(mode);
      encodeEntityName(e, name);
      return { method: AuthMethod.NONE, preferredModes: [ConMode.CRC], payload: e.u64(globalId).toBuffer() };
    },
    more: () => {
      throw new AuthError('auth none has no second round, yet the peer asked for one');
    },
    done: (gid) => result(gid),
  };
}

/** The server side of auth none: accepts any entity; `nextGlobalId` hands out ids to peers that have none. */
export function authNoneServer(nextGlobalId: () => bigint = () => 0n): AuthServerSession {
  return {
    request: (method, _modes, payload): AuthServerStep => {
      if (method !== AuthMethod.NONE) return { kind: 'bad', reason: `method ${method} offered; this server accepts auth none only` };
      const d = new Decoder(payload);
      const mode = d.u8();
      if (mode !== AuthMode.AUTHORIZER && mode !== AuthMode.MON) return { kind: 'bad', reason: `auth none request of unknown mode ${mode}` };
      const peer = decodeEntityName(d);
      const gid = d.u64();
      return { kind: 'done', payload: Buffer.alloc(0), result: result(gid || nextGlobalId()), peer, caps: {} };
    },
    more: () => ({ kind: 'bad', reason: 'auth none has no second round' }),
  };
}

/** A monitor client's auth provider for a cluster without authentication: nothing to renew. */
export function authNoneMonProvider(entity: EntityName): MonAuthProvider {
  return {
    entity,
    method: AuthMethod.NONE,
    monSession: (globalId) => authNoneClient(entity, globalId, AuthMode.MON),
    renewal: () => undefined,
    handleReply: () => undefined,
    nextRenewalMs: () => undefined,
  };
}
