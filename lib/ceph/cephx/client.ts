// The client side of cephx for one entity (client.admin, mgr.x, ...): it
// authenticates to monitors, keeps its tickets and renews them, fetches the
// rotating secrets of its own service type when it is a daemon, and makes
// authorizers for connecting to other services (service-session.ts).
//
// To a monitor (monSession, one per connection):
//   AUTH_REQUEST        auth mode mon, entity name, global id
//   AUTH_REPLY_MORE  ←  server challenge
//   AUTH_REQUEST_MORE   GET_AUTH_SESSION_KEY: client challenge, the answer
//                       computed with the entity's key, the old auth ticket,
//                       the services whose tickets are wanted
//   AUTH_DONE        ←  the auth ticket and its session key (sealed with the
//                       entity's key), the connection secret, the other
//                       tickets (sealed with the session key)
// Then, as MAuth payloads (renewal / handleReply, MonAuthProvider):
//   GET_AUTH_SESSION_KEY       renews the auth ticket (same server challenge)
//   GET_PRINCIPAL_SESSION_KEY  an authorizer from the auth ticket + the
//                              services wanted → service tickets
//   GET_ROTATING_KEY           → the rotating secrets of the entity's type,
//                              sealed with its key (daemons only)
// Sources: src/auth/cephx/CephxClientHandler.cc, src/mon/MonClient.cc
// (MonConnection::get_auth_request / handle_auth_done, _check_auth_tickets,
// _check_auth_rotating).
import { AuthError, AuthMethod, ConMode, type AuthClientSession, type AuthResult, type MonAuthProvider } from '../auth';
import { errnoName } from '../connection';
import { Decoder, DecodeError, Encoder } from '../encoding';
import { EntityType, entityTypeName, formatEntityName, parseEntityName, type EntityName } from '../types';
import { cephSecret } from '../../keyring';
import { encodeAuthenticate, encodeMonAuthRequest, decodeServerChallenge } from './authenticate';
import { encodeAuthorizer } from './authorizer';
import { challengeAnswer, randomU64, readEncrypted, AES_KEY_BYTES } from './crypto';
import { CephxRequest, decodeResponseHeader, encodeRequestHeader, requestName } from './header';
import { decodeRotatingSecrets, RotatingKeys } from './rotating';
import { NO_TICKET } from './ticket';
import { decodeTicketReply, encodeServiceTicketRequest, type GrantedTicket } from './ticket-reply';
import { serviceNames, TicketStore } from './tickets';
import { cephxServiceSession } from './service-session';

export interface CephxClientOptions {
  /** The entity, e.g. "client.admin" or "mgr.x". */
  entity: string | EntityName;
  /** Its key as a keyring holds it (base64), or the 16 secret bytes. */
  key: string | Buffer;
  /** Service types (EntityType bits) to hold tickets for; default mon, osd, mgr. The auth ticket is always held. */
  want?: number;
  /** For a daemon: where to keep the rotating secrets of its own type, fetched and refreshed through MAuth. */
  rotating?: RotatingKeys;
  /** The clock (ms); tests pass the capture's time. */
  now?: () => number;
  /** Random u64s for challenges and nonces; tests pass the captured ones. */
  random?: () => bigint;
}

/** How long an MAuth request may stay unanswered before it is sent again. */
const REQUEST_TIMEOUT_MS = 15000;
/** The rotating secrets are fetched at most this often, even when the set received is already due (a skewed clock). */
const ROTATING_MIN_INTERVAL_MS = 30000;
/** After a failed renewal: first wait, doubled up to the max. */
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60000;

export class CephxClient implements MonAuthProvider {
  readonly entity: EntityName;
  readonly method = AuthMethod.CEPHX;
  /** The global id the monitors gave (0 before the first session). */
  globalId = 0n;
  readonly tickets = new TicketStore();
  readonly rotating: RotatingKeys | undefined;
  private readonly secret: Buffer;
  private readonly want: number;
  private readonly now: () => number;
  private readonly random: () => bigint;
  /** The challenge of the current monitor session, which MAuth renewals of the auth ticket answer again. */
  private serverChallenge: bigint | undefined;
  /** An MAuth request sent and not answered: what, and until when to wait. */
  private inflight: { type: number; until: number } | undefined;
  private retryAt = 0;
  private rotatingFetchedAt = Number.NEGATIVE_INFINITY;
  private retryMs = RETRY_FIRST_MS;

  constructor(o: CephxClientOptions) {
    this.entity = typeof o.entity === 'string' ? parseEntityName(o.entity) : o.entity;
    const name = formatEntityName(this.entity);
    this.secret = typeof o.key === 'string' ? cephSecret(o.key, name) : o.key;
    if (this.secret.length !== AES_KEY_BYTES)
      throw new AuthError(`the key of ${name} has ${this.secret.length} secret bytes; a cephx key has ${AES_KEY_BYTES}`);
    this.want = (o.want ?? EntityType.MON | EntityType.OSD | EntityType.MGR) | EntityType.AUTH;
    this.rotating = o.rotating;
    if (this.rotating && this.rotating.serviceId !== this.entity.type) {
      throw new AuthError(`${name} gets the rotating secrets of ${entityTypeName(this.entity.type)}, not of ${entityTypeName(this.rotating.serviceId)}`);
    }
    this.now = o.now ?? Date.now;
    this.random = o.random ?? randomU64;
  }

  private get name(): string {
    return formatEntityName(this.entity);
  }

  // --- the handshake with a monitor ---------------------------------------------

  /** A client session for one new connection to a monitor. */
  monSession(globalId = this.globalId): AuthClientSession & { refused(result: number): AuthError } {
    let challenged = false;
    this.inflight = undefined; // whatever was asked on the last connection is lost
    return {
      request: () => {
        const e = new Encoder();
        encodeMonAuthRequest(e, { name: this.entity, globalId });
        return { method: AuthMethod.CEPHX, preferredModes: [ConMode.CRC], payload: e.toBuffer() };
      },
      more: (payload) => {
        if (challenged) throw new AuthError(`the monitor challenged ${this.name} twice`);
        challenged = true;
        this.serverChallenge = this.decode('the monitor challenge', () => decodeServerChallenge(new Decoder(payload)));
        return this.authenticateRequest();
      },
      done: (gid, conMode, payload) => {
        if (!challenged) throw new AuthError(`the monitor ended the authentication of ${this.name} without a challenge`);
        const r = this.decode('the monitor answer (AUTH_DONE)', () => this.readAuthSessionKey(new Decoder(payload), gid));
        const auth = this.tickets.get(EntityType.AUTH) as { sessionKey: Buffer };
        return { globalId: gid, conMode, sessionKey: auth.sessionKey, connectionSecret: r.connectionSecret } satisfies AuthResult;
      },
      // AUTH_BAD_METHOD's result as an error naming the entity, for a connection that asks
      refused: (result) => this.refused(result),
    };
  }

  /** GET_AUTH_SESSION_KEY: the answer to the server challenge, the old auth ticket, the tickets wanted. */
  private authenticateRequest(): Buffer {
    const clientChallenge = this.random();
    const e = new Encoder();
    encodeRequestHeader(e, CephxRequest.GET_AUTH_SESSION_KEY);
    encodeAuthenticate(e, {
      clientChallenge,
      key: challengeAnswer(this.secret, this.serverChallenge as bigint, clientChallenge),
      oldTicket: this.tickets.get(EntityType.AUTH)?.ticket ?? NO_TICKET,
      otherKeys: this.tickets.need(this.want, this.now()) | EntityType.AUTH,
    });
    return e.toBuffer();
  }

  /**
   * Reads a GET_AUTH_SESSION_KEY answer (AUTH_DONE, or an MAuthReply to a
   * renewal) and keeps its tickets, all or none. With a new global id the
   * tickets held for the old one are dropped: services would refuse them.
   */
  private readAuthSessionKey(d: Decoder, globalId: bigint): { connectionSecret: Buffer } {
    const h = decodeResponseHeader(d);
    if (h.requestType !== CephxRequest.GET_AUTH_SESSION_KEY) throw new AuthError(`the monitor answered ${requestName(h.requestType)} to GET_AUTH_SESSION_KEY`);
    if (h.status < 0) throw this.refused(h.status);
    const old = this.tickets.get(EntityType.AUTH)?.sessionKey;
    const granted = decodeTicketReply(d, this.secret, (id) => (id === EntityType.AUTH ? old : undefined));
    const auth = granted.find((t) => t.serviceId === EntityType.AUTH);
    if (!auth) throw new AuthError(`the monitor's answer holds no auth ticket for ${this.name}`);
    let connectionSecret = Buffer.alloc(0);
    // no more bytes: a monitor older than Nautilus, whose other tickets come with GET_PRINCIPAL_SESSION_KEY
    if (d.remaining > 0) {
      const sessionKey = auth.sessionKey.secret;
      const cbl = d.blob();
      if (cbl.length) connectionSecret = readEncrypted(new Decoder(cbl), sessionKey, 'the connection secret', (p) => Buffer.from(p.blob()));
      const extra = d.blob();
      if (extra.length) granted.push(...decodeTicketReply(new Decoder(extra), sessionKey));
    }
    if (globalId !== this.globalId) this.tickets.clear();
    this.globalId = globalId;
    this.tickets.add(granted, this.now());
    return { connectionSecret };
  }

  /**
   * The error for a refusal (a negative errno) from a monitor, naming the
   * entity and what was refused: the handshake (AUTH_BAD_METHOD's result,
   * a wrong key or an unknown entity) or an MAuth request.
   */
  refused(result: number, requestType: number = CephxRequest.GET_AUTH_SESSION_KEY): AuthError {
    const errno = errnoName(result);
    switch (requestType) {
      case CephxRequest.GET_AUTH_SESSION_KEY:
        return new AuthError(
          `the monitor refused ${this.name} (${errno}): ` +
            (result === -13 || result === -1
              ? `is the key right for ${this.name}, and does the entity exist (ceph auth get ${this.name})?`
              : 'see the monitor log'),
        );
      case CephxRequest.GET_PRINCIPAL_SESSION_KEY:
        return new AuthError(`the monitor refused ${this.name} the service tickets it asked for (${errno})`);
      case CephxRequest.GET_ROTATING_KEY:
        return new AuthError(`the monitor refused ${this.name} the rotating secrets of its type (${errno}): only daemons (mgr, osd, mds) get them`);
      default:
        return new AuthError(`the monitor refused a request of ${this.name} (${errno})`);
    }
  }

  // --- after the handshake: MAuth ---------------------------------------------------

  /** The next MAuth payload to send: renew the auth ticket, get service tickets, or fetch rotating secrets; undefined when nothing is due. */
  renewal(): Buffer | undefined {
    const now = this.now();
    if (this.inflight && now < this.inflight.until) return undefined;
    if (now < this.retryAt) return undefined;
    const e = new Encoder();
    const need = this.tickets.need(this.want, now);
    let type: number;
    if (need & EntityType.AUTH) {
      if (this.serverChallenge === undefined) return undefined; // no session yet
      type = CephxRequest.GET_AUTH_SESSION_KEY;
      e.bytes(this.authenticateRequest());
    } else if (need) {
      const auth = this.tickets.get(EntityType.AUTH);
      if (!auth) return undefined;
      type = CephxRequest.GET_PRINCIPAL_SESSION_KEY;
      encodeRequestHeader(e, type);
      encodeAuthorizer(e, { globalId: this.globalId, serviceId: EntityType.AUTH, ticket: auth.ticket }, auth.sessionKey, {
        nonce: this.random(),
        haveChallenge: false,
        serverChallengePlusOne: 0n,
      });
      encodeServiceTicketRequest(e, need);
    } else if (this.rotating && now >= this.rotatingDue()) {
      type = CephxRequest.GET_ROTATING_KEY;
      encodeRequestHeader(e, type);
    } else {
      return undefined;
    }
    this.inflight = { type, until: now + REQUEST_TIMEOUT_MS };
    return e.toBuffer();
  }

  /** An MAuthReply's result and payload. Throws AuthError when it is a refusal or does not verify. */
  handleReply(result: number, payload: Buffer): void {
    const asked = this.inflight;
    this.inflight = undefined;
    try {
      this.readReply(result, payload, asked?.type);
      this.retryMs = RETRY_FIRST_MS;
      this.retryAt = 0;
    } catch (e) {
      this.retryAt = this.now() + this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      if (e instanceof AuthError && asked) throw new AuthError(`${requestName(asked.type)} as ${this.name}: ${e.message}`);
      throw e;
    }
  }

  private readReply(result: number, payload: Buffer, asked: number | undefined): void {
    if (payload.length === 0) {
      if (result < 0) throw this.refused(result, asked ?? 0);
      return;
    }
    this.decode('the MAuthReply', () => {
      const d = new Decoder(payload);
      const h = decodeResponseHeader(d);
      switch (h.requestType) {
        case CephxRequest.GET_AUTH_SESSION_KEY:
          this.readAuthSessionKey(new Decoder(payload), this.globalId);
          return;
        case CephxRequest.GET_PRINCIPAL_SESSION_KEY: {
          const auth = this.tickets.get(EntityType.AUTH);
          if (!auth) throw new AuthError('service tickets arrived before the auth ticket');
          const granted: GrantedTicket[] = decodeTicketReply(d, auth.sessionKey);
          this.tickets.add(granted, this.now());
          // a monitor grants what it can and says why not for the rest
          if (h.status < 0 && !granted.length) throw this.refused(h.status, h.requestType);
          return;
        }
        case CephxRequest.GET_ROTATING_KEY: {
          if (h.status < 0 || result < 0) throw this.refused(h.status < 0 ? h.status : result, h.requestType);
          const secrets = readEncrypted(d, this.secret, `the rotating secrets sealed with ${this.name}'s key`, decodeRotatingSecrets);
          this.rotatingFetchedAt = this.now();
          if (this.rotating) this.rotating.set(secrets, this.rotatingFetchedAt);
          return;
        }
        default:
          throw new AuthError(`the monitor answered with an unknown request type 0x${h.requestType.toString(16)}`);
      }
    });
  }

  /** Milliseconds until renewal() has something to send (0: now), or undefined when there is nothing to look after yet. */
  nextRenewalMs(): number | undefined {
    const now = this.now();
    if (!this.tickets.get(EntityType.AUTH)) return undefined;
    const times = [this.tickets.nextRenewal(this.want) ?? Number.POSITIVE_INFINITY];
    if (this.tickets.need(this.want, now)) times.push(now);
    if (this.rotating) times.push(this.rotatingDue());
    let at = Math.min(...times);
    if (this.inflight) at = Math.max(at, this.inflight.until);
    at = Math.max(at, this.retryAt);
    return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
  }

  /** When to fetch the rotating secrets again. */
  private rotatingDue(): number {
    return Math.max((this.rotating as RotatingKeys).refreshAt(), this.rotatingFetchedAt + ROTATING_MIN_INTERVAL_MS);
  }

  /** Forgets the ticket of a service that refused it, so the next renewal asks the monitors for a new one. */
  invalidate(serviceId: number): void {
    if (serviceId !== EntityType.AUTH) this.tickets.drop(serviceId);
  }

  /** The services of `want` without a valid ticket, for logs ("mgr, osd"). */
  missingTickets(): string {
    return serviceNames(this.tickets.need(this.want, this.now()));
  }

  // --- to other services -----------------------------------------------------------

  /** A client session for connecting to a service (a manager, an OSD) with its ticket. */
  serviceSession(serviceId: number): AuthClientSession {
    const t = this.tickets.valid(serviceId, this.now());
    if (!t) throw new AuthError(`${this.name} holds no valid ${entityTypeName(serviceId)} ticket (ask the monitors for one first)`);
    return cephxServiceSession({ globalId: this.globalId, ticket: t, random: this.random, who: this.name });
  }

  /** Runs a decoder: malformed bytes become an AuthError naming what was read. */
  private decode<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof DecodeError) throw new AuthError(`${what} for ${this.name} is malformed: ${e.message}`);
      if (e instanceof AuthError && !e.message.includes(this.name)) throw new AuthError(`${what} for ${this.name}: ${e.message}`);
      throw e;
    }
  }
}
