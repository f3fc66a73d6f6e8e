// The seam between a connection and an authentication protocol. The msgr2
// connection (connection.ts) moves AUTH_* frames; an AuthClient or
// AuthServer (cephx/, the only method mgrpc speaks) decides what is in them.
// Source: src/auth/AuthClient.h, src/auth/AuthServer.h.
import type { EntityName } from './types';

/** Authentication methods (CEPH_AUTH_*). */
export const AuthMethod = { NONE: 1, CEPHX: 2 } as const;

/** The first byte of an initial auth payload (AUTH_MODE_* in src/auth/Auth.h): a monitor handshake (10-19) or an authorizer for another service (1-9). */
export const AuthMode = { AUTHORIZER: 1, MON: 10 } as const;

/** Connection modes (CEPH_CON_MODE_*): crc checksums the frames, secure encrypts them. */
export const ConMode = { CRC: 1, SECURE: 2 } as const;

/** What a successful authentication leaves the connection with. */
export interface AuthResult {
  /** The global id the authenticating side has (mon: assigns it; service: the client's). */
  globalId: bigint;
  /** The mode the server chose (ConMode). */
  conMode: number;
  /** Keys AUTH_SIGNATURE with HMAC-SHA256. */
  sessionKey: Buffer;
  /** Derives secure-mode keys and nonces; empty in crc mode. */
  connectionSecret: Buffer;
}

/**
 * One client-side authentication attempt on one connection, to a monitor
 * (a ticket-granting exchange) or to another service (an authorizer built
 * from a service ticket). Methods throw AuthError when the peer's answer
 * does not verify.
 */
export interface AuthClientSession {
  /** What to send in AUTH_REQUEST. */
  request(): { method: number; preferredModes: number[]; payload: Buffer };
  /** AUTH_REPLY_MORE's payload in, AUTH_REQUEST_MORE's payload out. */
  more(payload: Buffer): Buffer;
  /** AUTH_DONE's fields in; the keys the connection goes on with out. */
  done(globalId: bigint, conMode: number, payload: Buffer): AuthResult;
}

/** The server side's verdict on one AUTH_REQUEST or AUTH_REQUEST_MORE. */
export type AuthServerStep =
  /** Send AUTH_REPLY_MORE with this payload and wait for AUTH_REQUEST_MORE. */
  | { kind: 'more'; payload: Buffer }
  /** Send AUTH_DONE; the peer is who it says it is. */
  | {
      kind: 'done';
      payload: Buffer;
      result: AuthResult;
      peer: EntityName;
      /** The peer's caps from its ticket, per service ("mgr", "mon", ...). */
      caps: Record<string, string>;
    }
  /** Refuse (AUTH_BAD_METHOD, then close); `reason` is for the log, never for the peer. */
  | { kind: 'bad'; reason: string };

/** One server-side authentication of one incoming connection. */
export interface AuthServerSession {
  /** The first AUTH_REQUEST. */
  request(method: number, preferredModes: number[], payload: Buffer): AuthServerStep;
  /** Each AUTH_REQUEST_MORE. */
  more(payload: Buffer): AuthServerStep;
}

/** An authentication that failed: a wrong key, a bad ticket, a reply that does not verify. */
export class AuthError extends Error {}

/**
 * What a monitor client needs from an authentication protocol beyond the
 * handshake (cephx/ implements it; authnone.ts for clusters without auth).
 * After the handshake, tickets are renewed and (for a daemon such as
 * mgr.x) the rotating service keys fetched with MAuth messages whose
 * payloads the provider builds and reads; the monitor client only carries
 * them and schedules `renewal()` when `nextRenewalMs()` says.
 */
export interface MonAuthProvider {
  /** The entity we authenticate as, e.g. client.admin. */
  readonly entity: EntityName;
  /** The auth method (AuthMethod) MAuth messages carry. */
  readonly method: number;
  /** A client session for one new connection to a monitor; `globalId` is the one the last monitor gave (0 at first). */
  monSession(globalId: bigint): AuthClientSession;
  /** After each successful handshake, and when `nextRenewalMs` comes: an MAuth payload to send, or undefined for nothing to ask. */
  renewal(): Buffer | undefined;
  /** An MAuthReply: its result (0 or -errno) and payload. Throws AuthError if it does not verify. */
  handleReply(result: number, payload: Buffer): void;
  /** Milliseconds until `renewal()` should be asked again (tickets or rotating keys expire); undefined: never. */
  nextRenewalMs(): number | undefined;
}
