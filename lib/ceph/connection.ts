// One msgr2.1 connection over a TCP socket, either side:
//
//   client (connect):  banner → HELLO → AUTH_REQUEST [→ AUTH_REPLY_MORE ⇄
//     AUTH_REQUEST_MORE] → AUTH_DONE → AUTH_SIGNATURE both ways →
//     CLIENT_IDENT → SERVER_IDENT → messages
//   server (accept):   the same from the other end; SESSION_RECONNECT is
//     answered with SESSION_RESET, since every session we serve is lossy.
//
// Authentication is delegated to an AuthClientSession / AuthServerSession
// (cephx/); this file only moves their payloads and checks the
// AUTH_SIGNATUREs: each side signs, with HMAC-SHA256 keyed by the session
// key, every byte it received before, and checks the peer's signature over
// every byte it sent (ProtocolV2.cc, pre_auth). Only crc mode is spoken; the
// FrameCodec seam (frames.ts) is where secure mode will plug in.
//
// Policy is lossy (as Ceph's MonClient and a manager's daemon sessions):
// nothing is replayed after a fault; the owner reconnects and resends.
// Messages carry out_seq; in_seq is acknowledged with ACK frames.
// KEEPALIVE2 every `keepaliveMs`; a peer silent for `idleTimeoutMs` ends the
// connection (a half-open socket is noticed). Any bad input ends this
// connection only, logged and counted in `counters`.
import { createHmac } from 'crypto';
import { EventEmitter } from 'events';
import * as net from 'net';
import { AuthError, AuthMethod, ConMode, type AuthClientSession, type AuthResult, type AuthServerSession } from './auth';
import { controlFrame, decodeControl, IDENT_FLAG_LOSSY, type Control } from './control';
import { DecodeError } from './encoding';
import { ByteQueue, CrcCodec, encodeBanner, FrameError, FrameReader, MsgrFeature, readBanner, Tag, tagName, type Frame, type FrameCodec } from './frames';
import { decodeMessageFrame, messageFrame, msgTypeName, type Message } from './message';
import { addrToString, AddrType, entityTypeName, formatEntityName, v2Addr, type EntityAddr, type EntityName } from './types';
import type { Logger } from '../log';

/**
 * The Ceph feature bits we announce: exactly what Pacific's daemons and
 * clients announce (0x3f01cfbdfffdffff, seen in every CLIENT_IDENT and
 * SERVER_IDENT of the captures), so monitors encode for us as for any
 * Pacific peer; we decode only what we need and skip the rest by struct
 * length. Required: MSG_ADDR2 (bit 59), which msgr2 needs to encode addrvecs.
 */
export const PACIFIC_FEATURES = 0x3f01cfbdfffdffffn;
export const FEATURE_MSG_ADDR2 = 1n << 59n;

/** Errors that end a connection, with a code the owner can act on. */
export class ConnectionError extends Error {
  constructor(
    /**
     * 'auth': refused or failed authentication; 'mode': no common connection mode; 'protocol': the
     * peer broke the protocol; 'closed': the socket ended; 'timeout': the peer went silent;
     * 'refused': connect() failed.
     */
    readonly code: 'auth' | 'mode' | 'protocol' | 'closed' | 'timeout' | 'refused' | 'stopped',
    message: string,
  ) {
    super(message);
  }
}

/** What went wrong on the wire, summed over the connections that share the object (exported to /metrics). */
export class WireCounters {
  crcErrors = 0;
  malformedFrames = 0;
  oversizedFrames = 0;
  authFailures = 0;
  signatureMismatches = 0;
  timeouts = 0;
  messagesIn = 0;
  messagesOut = 0;
}

export interface ConnectionOptions {
  logger: Logger;
  /** Our entity type (EntityType.CLIENT, MGR...). */
  entityType: number;
  /** Largest frame accepted; a bigger one ends the connection before it is buffered. Default 64 MiB. */
  maxFrameBytes?: number;
  /** KEEPALIVE2 period once ready. Default 10 s (Ceph's mon_client_ping_interval). */
  keepaliveMs?: number;
  /** A peer that sends nothing for this long is dropped. Default 30 s (mon_client_ping_timeout). */
  idleTimeoutMs?: number;
  /** The handshake must finish within this. Default 10 s. */
  handshakeTimeoutMs?: number;
  counters?: WireCounters;
}

export interface ClientConnectOptions extends ConnectionOptions {
  host: string;
  port: number;
  auth: AuthClientSession;
  /** The entity type we expect to reach (checked against the peer's HELLO). */
  peerType?: number;
  /** Our global id, once a monitor gave us one (-1 before). */
  globalId?: bigint;
  /** What a log line and an error call the peer, e.g. "mon.a at v2:127.0.0.1:3300". */
  peerLabel?: string;
}

export interface ServerAcceptOptions extends ConnectionOptions {
  /** Makes the server side of one authentication. */
  auth: () => AuthServerSession;
  /** The addresses we listen on (SERVER_IDENT; a CLIENT_IDENT's target must be one of them). */
  myAddrs: EntityAddr[];
  /** Our global id, announced in SERVER_IDENT. */
  globalId?: bigint;
}

/** Who is at the other end, known once the connection is ready. */
export interface PeerInfo {
  entityType: number;
  addrs: EntityAddr[];
  /** The peer's global id (server side: from its ticket; client side: from SERVER_IDENT). */
  globalId: bigint;
  features: bigint;
  /** Server side: the authenticated entity and its caps from its ticket. */
  name?: EntityName;
  caps?: Record<string, string>;
}

type State = 'banner' | 'hello' | 'auth' | 'auth-sign' | 'ident' | 'ready' | 'closed';

let globalSeq = 0n;

/**
 * Before authentication only control frames of a few hundred bytes are
 * expected (a cephx authorizer with its ticket is under 1 KB): an
 * unauthenticated peer gets this limit per frame and in total, not the
 * message limit.
 */
const PRE_AUTH_MAX_BYTES = 256 * 1024;

/**
 * A msgr2 connection. Events: 'ready' (PeerInfo), 'message' (Message),
 * 'close' (ConnectionError | undefined: undefined after close()).
 */
export class Connection extends EventEmitter {
  readonly counters: WireCounters;
  peer: PeerInfo | undefined;
  /** The authentication result (session key, global id, mode). */
  authResult: AuthResult | undefined;
  private state: State = 'banner';
  private readonly rx = new ByteQueue();
  private readonly reader: FrameReader;
  private codec: FrameCodec = new CrcCodec();
  /** Bytes sent and received before authentication ends (what AUTH_SIGNATURE signs). */
  private preAuthTx: Buffer[] | undefined = [];
  private preAuthRx: Buffer[] | undefined = [];
  private preAuthBytes = 0;
  /** What we sent before our AUTH_SIGNATURE, which the peer's signature covers. */
  private sentBeforeSignature: Buffer | undefined;
  private outSeq = 0n;
  private inSeq = 0n;
  private ackedInSeq = 0n;
  private ackTimer: NodeJS.Immediate | undefined;
  private lastHeard = Date.now();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private peerEntityType = -1;
  /** Pings in flight: the KEEPALIVE2 timestamp each waits to see acknowledged. */
  private readonly pings = new Map<string, (answered: boolean) => void>();
  private pingSeq = 0;
  private readonly log: Logger;
  private closedWith: ConnectionError | undefined;
  private readonly opts: Required<Pick<ConnectionOptions, 'maxFrameBytes' | 'keepaliveMs' | 'idleTimeoutMs' | 'handshakeTimeoutMs'>>;
  private authSession: AuthServerSession | undefined;
  private serverAuthStep: { peer: EntityName; caps: Record<string, string> } | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly side: 'client' | 'server',
    private readonly o: (ClientConnectOptions | ServerAcceptOptions) & ConnectionOptions,
    readonly label: string,
  ) {
    super();
    this.counters = o.counters ?? new WireCounters();
    this.opts = {
      maxFrameBytes: o.maxFrameBytes ?? 64 * 1024 * 1024,
      keepaliveMs: o.keepaliveMs ?? 10_000,
      idleTimeoutMs: o.idleTimeoutMs ?? 30_000,
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? 10_000,
    };
    this.reader = new FrameReader(this.rx, this.codec, Math.min(PRE_AUTH_MAX_BYTES, this.opts.maxFrameBytes));
    this.log = o.logger.child({ conn: label, side });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new ConnectionError(this.state === 'banner' && side === 'client' ? 'refused' : 'closed', `${label}: ${e.message}`)));
    socket.on('close', () =>
      this.fail(new ConnectionError('closed', `${label} closed the connection${this.state === 'ready' ? '' : ` during the ${this.state} step`}`)),
    );
    this.handshakeTimer = setTimeout(() => {
      this.counters.timeouts++;
      this.fail(
        new ConnectionError('timeout', `${label}: the msgr2 handshake did not finish within ${this.opts.handshakeTimeoutMs} ms (stuck at ${this.state})`),
      );
    }, this.opts.handshakeTimeoutMs);
  }

  /** Connects to a peer and resolves once the session is ready (or rejects with a ConnectionError). */
  static connect(o: ClientConnectOptions): Promise<Connection> {
    const label = o.peerLabel ?? `v2:${o.host}:${o.port}`;
    const socket = net.connect({ host: o.host, port: o.port });
    const c = new Connection(socket, 'client', o, label);
    socket.once('connect', () => c.send(encodeBanner({ supported: MsgrFeature.REVISION_1, required: 0n })));
    return new Promise((resolve, reject) => {
      c.once('ready', () => resolve(c));
      c.once('close', (e?: ConnectionError) => reject(e ?? new ConnectionError('stopped', `${label}: closed before it was ready`)));
    });
  }

  /** Serves an accepted socket; 'ready' fires once the peer is authenticated and identified. */
  static accept(socket: net.Socket, o: ServerAcceptOptions): Connection {
    const label = `${socket.remoteAddress}:${socket.remotePort}`;
    const c = new Connection(socket, 'server', o, label);
    c.send(encodeBanner({ supported: MsgrFeature.REVISION_1, required: 0n }));
    return c;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** Sends a message (once ready; before that it is an error). */
  sendMessage(m: Message): void {
    if (this.state !== 'ready') throw new ConnectionError('stopped', `${this.label}: cannot send ${msgTypeName(m.type)}, the connection is ${this.state}`);
    this.outSeq++;
    this.ackedInSeq = this.inSeq;
    this.counters.messagesOut++;
    this.sendFrame(messageFrame({ ...m, seq: this.outSeq, ackSeq: this.inSeq }));
  }

  /**
   * Resolves true once the peer answers a KEEPALIVE2 sent now; false if the
   * connection ends first or no answer comes within `timeoutMs`. Frames are
   * read in order, so an answer proves the peer has read every message sent
   * before the ping (Ceph gives no other receipt for a lossy peer's messages).
   */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.state !== 'ready') return Promise.resolve(false);
    // A timestamp no other ping of this connection uses: the answer echoes it.
    const ms = Date.now();
    const timestamp = { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 + (this.pingSeq++ % 1e6) };
    const key = `${timestamp.sec}.${timestamp.nsec}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      const done = (answered: boolean) => {
        clearTimeout(timer);
        this.pings.delete(key);
        resolve(answered);
      };
      this.pings.set(key, done);
      this.sendControl({ tag: Tag.KEEPALIVE2, timestamp });
    });
  }

  /** Ends the connection; 'close' fires with no error. */
  close(): void {
    this.finish(undefined);
  }

  // --- plumbing ------------------------------------------------------------

  private send(bytes: Buffer): void {
    if (this.state === 'closed') return;
    if (this.preAuthTx) this.preAuthTx.push(bytes);
    this.socket.write(bytes);
  }

  private sendFrame(f: Frame): void {
    this.send(this.codec.encode(f));
  }

  private sendControl(c: Control): void {
    this.log.debug('send', { frame: tagName(c.tag) });
    this.sendFrame(controlFrame(c));
  }

  private onData(chunk: Buffer): void {
    this.lastHeard = Date.now();
    this.rx.push(chunk);
    try {
      if (this.state === 'banner') {
        const b = readBanner(this.rx);
        if (!b) return;
        this.preAuthRx?.push(b.wire);
        if ((b.supported & MsgrFeature.REVISION_1) === 0n)
          throw new ConnectionError(
            'protocol',
            `${this.label} speaks msgr2.0 only (supported features ${b.supported}); msgr2.1 (Octopus and later, Nautilus 14.2.11+) is needed`,
          );
        if ((b.required & ~MsgrFeature.REVISION_1) !== 0n)
          throw new ConnectionError(
            'protocol',
            `${this.label} requires msgr2 features 0x${b.required.toString(16)} (compression is Quincy's); mgrpc speaks msgr2.1 as Pacific does`,
          );
        this.state = 'hello';
        const peerAddr =
          this.side === 'client'
            ? v2Addr((this.o as ClientConnectOptions).host, (this.o as ClientConnectOptions).port)
            : {
                ...v2Addr(this.socket.remoteAddress ?? '0.0.0.0', this.socket.remotePort ?? 0),
                family: net.isIPv6(this.socket.remoteAddress ?? '') ? ('v6' as const) : ('v4' as const),
              };
        this.sendControl({ tag: Tag.HELLO, entityType: this.o.entityType, peerAddr: normalizeV4Mapped(peerAddr) });
      }
      for (let f = this.reader.next(); f && this.state !== 'closed'; f = this.reader.next()) {
        if (this.preAuthRx) {
          this.preAuthRx.push(f.wire);
          this.preAuthBytes += f.wire.length;
          if (this.preAuthBytes > PRE_AUTH_MAX_BYTES) throw new FrameError('oversized', `more than ${PRE_AUTH_MAX_BYTES} bytes before authentication finished`);
        }
        if (!f.complete) continue; // the sender aborted it
        this.onFrame(f.tag, f.segments);
      }
    } catch (e) {
      this.onBadInput(e);
    }
  }

  private onBadInput(e: unknown): void {
    if (e instanceof ConnectionError) return this.fail(e);
    if (e instanceof FrameError) {
      if (e.kind === 'crc') this.counters.crcErrors++;
      else if (e.kind === 'oversized') this.counters.oversizedFrames++;
      else this.counters.malformedFrames++;
      return this.fail(new ConnectionError('protocol', `${this.label}: ${e.message}`));
    }
    if (e instanceof DecodeError) {
      this.counters.malformedFrames++;
      return this.fail(new ConnectionError('protocol', `${this.label}: malformed frame: ${e.message}`));
    }
    if (e instanceof AuthError) {
      this.counters.authFailures++;
      return this.fail(new ConnectionError('auth', `${this.label}: ${e.message}`));
    }
    this.counters.malformedFrames++;
    this.fail(new ConnectionError('protocol', `${this.label}: ${(e as Error).message}`));
  }

  private onFrame(tag: number, segments: Buffer[]): void {
    if (tag === Tag.MESSAGE) return this.onMessage(segments);
    if (segments.length !== 1) throw new FrameError('malformed', `a ${tagName(tag)} frame has ${segments.length} segments, control frames have one`);
    const c = decodeControl(tag, segments[0]);
    this.log.debug('received', { frame: tagName(tag) });
    if (this.side === 'client') this.onClientControl(c);
    else this.onServerControl(c);
  }

  private unexpected(c: Control): never {
    throw new ConnectionError('protocol', `${this.label} sent ${tagName(c.tag)} during the ${this.state} step`);
  }

  // --- client side -----------------------------------------------------------

  private onClientControl(c: Control): void {
    const o = this.o as ClientConnectOptions;
    switch (c.tag) {
      case Tag.HELLO: {
        if (this.state !== 'hello') this.unexpected(c);
        if (o.peerType !== undefined && c.entityType !== o.peerType) {
          throw new ConnectionError('protocol', `${this.label} is a ${entityTypeName(c.entityType)}, not the ${entityTypeName(o.peerType)} we meant to reach`);
        }
        this.peerEntityType = c.entityType;
        this.state = 'auth';
        const req = o.auth.request();
        const modes = req.preferredModes.filter((m) => m === ConMode.CRC);
        if (!modes.length) throw new ConnectionError('mode', `the authentication asks for modes [${req.preferredModes}], mgrpc speaks crc mode (1) only`);
        this.sendControl({ tag: Tag.AUTH_REQUEST, method: req.method, preferredModes: modes, payload: req.payload });
        return;
      }
      case Tag.AUTH_BAD_METHOD: {
        if (this.state !== 'auth') this.unexpected(c);
        this.counters.authFailures++;
        if (!c.allowedModes.includes(ConMode.CRC)) {
          throw new ConnectionError(
            'mode',
            `${this.label} accepts only ${c.allowedModes.map(modeName).join('/')} mode; mgrpc speaks crc mode only: allow crc on the cluster (ms_mon_service_mode and ms_service_mode = "secure crc", the Pacific default)`,
          );
        }
        if (!c.allowedMethods.includes(AuthMethod.CEPHX)) {
          throw new ConnectionError(
            'auth',
            `${this.label} does not accept cephx (allowed methods: ${c.allowedMethods.join(', ')}); mgrpc authenticates with cephx only`,
          );
        }
        throw new ConnectionError(
          'auth',
          `${this.label} refused the authentication (${errnoName(c.result)}): is the key right for this entity, and does the entity exist (ceph auth get)?`,
        );
      }
      case Tag.AUTH_REPLY_MORE:
        if (this.state !== 'auth') this.unexpected(c);
        this.sendControl({ tag: Tag.AUTH_REQUEST_MORE, payload: o.auth.more(c.payload) });
        return;
      case Tag.AUTH_DONE: {
        if (this.state !== 'auth') this.unexpected(c);
        if (c.conMode !== ConMode.CRC) throw new ConnectionError('mode', `${this.label} chose ${modeName(c.conMode)} mode; mgrpc speaks crc mode only`);
        const result = o.auth.done(c.globalId, c.conMode, c.payload);
        this.authResult = result;
        this.state = 'auth-sign';
        this.signPreAuth(result.sessionKey);
        return;
      }
      case Tag.AUTH_SIGNATURE:
        if (this.state !== 'auth-sign') this.unexpected(c);
        this.checkPeerSignature(c.signature);
        this.state = 'ident';
        this.sendControl({
          tag: Tag.CLIENT_IDENT,
          addrs: [clientAddr(this.socket)],
          targetAddr: v2Addr(o.host, o.port),
          gid: o.globalId ?? -1n,
          globalSeq: ++globalSeq,
          supportedFeatures: PACIFIC_FEATURES,
          requiredFeatures: FEATURE_MSG_ADDR2,
          flags: IDENT_FLAG_LOSSY,
          cookie: 0n,
        });
        return;
      case Tag.SERVER_IDENT:
        if (this.state !== 'ident') this.unexpected(c);
        if ((c.requiredFeatures & ~PACIFIC_FEATURES) !== 0n) {
          throw new ConnectionError(
            'protocol',
            `${this.label} requires features 0x${(c.requiredFeatures & ~PACIFIC_FEATURES).toString(16)} that Pacific does not have: is the cluster newer than Pacific?`,
          );
        }
        this.peer = { entityType: this.peerEntityType, addrs: c.addrs, globalId: c.gid, features: c.supportedFeatures & PACIFIC_FEATURES };
        return this.becomeReady();
      case Tag.IDENT_MISSING_FEATURES:
        throw new ConnectionError(
          'protocol',
          `${this.label} needs features 0x${c.features.toString(16)} we do not announce: is the cluster newer than Pacific?`,
        );
      case Tag.WAIT:
        throw new ConnectionError('closed', `${this.label} asked us to wait (a connection race); reconnecting`);
      case Tag.SESSION_RESET:
      case Tag.SESSION_RETRY:
      case Tag.SESSION_RETRY_GLOBAL:
      case Tag.SESSION_RECONNECT_OK:
        this.unexpected(c); // we never send SESSION_RECONNECT
        return;
      default:
        return this.onSessionControl(c);
    }
  }

  // --- server side -----------------------------------------------------------

  private onServerControl(c: Control): void {
    const o = this.o as ServerAcceptOptions;
    switch (c.tag) {
      case Tag.HELLO:
        if (this.state !== 'hello') this.unexpected(c);
        this.peerEntityType = c.entityType;
        this.state = 'auth';
        return;
      case Tag.AUTH_REQUEST: {
        if (this.state !== 'auth' || this.authSession) this.unexpected(c);
        if (!c.preferredModes.includes(ConMode.CRC)) {
          this.log.warn('peer offers no mode we speak', { modes: c.preferredModes });
          this.counters.authFailures++;
          this.sendControl({ tag: Tag.AUTH_BAD_METHOD, method: c.method, result: -95, allowedMethods: [AuthMethod.CEPHX], allowedModes: [ConMode.CRC] });
          throw new ConnectionError(
            'mode',
            `${this.label} (a ${entityTypeName(this.peerEntityType)}) offers only ${c.preferredModes.map(modeName).join('/')} mode; mgrpc speaks crc mode only: allow crc on that peer (ms_client_mode / ms_mon_client_mode = "crc secure")`,
          );
        }
        this.authSession = o.auth();
        return this.onServerAuthStep(this.authSession.request(c.method, c.preferredModes, c.payload), c.method);
      }
      case Tag.AUTH_REQUEST_MORE:
        if (this.state !== 'auth' || !this.authSession) this.unexpected(c);
        return this.onServerAuthStep(this.authSession.more(c.payload), AuthMethod.CEPHX);
      case Tag.AUTH_SIGNATURE:
        if (this.state !== 'auth-sign') this.unexpected(c);
        this.checkPeerSignature(c.signature);
        this.state = 'ident';
        return;
      case Tag.CLIENT_IDENT: {
        if (this.state !== 'ident') this.unexpected(c);
        if (!c.addrs.length) throw new ConnectionError('protocol', `${this.label} identified with no address`);
        const missing = FEATURE_MSG_ADDR2 & ~c.supportedFeatures;
        if (missing) {
          this.sendControl({ tag: Tag.IDENT_MISSING_FEATURES, features: missing });
          return;
        }
        this.sendControl({
          tag: Tag.SERVER_IDENT,
          addrs: o.myAddrs,
          gid: o.globalId ?? 0n,
          globalSeq: ++globalSeq,
          supportedFeatures: PACIFIC_FEATURES,
          requiredFeatures: FEATURE_MSG_ADDR2,
          flags: IDENT_FLAG_LOSSY,
          cookie: 0n,
        });
        const step = this.serverAuthStep as { peer: EntityName; caps: Record<string, string> };
        this.peer = {
          entityType: this.peerEntityType,
          addrs: c.addrs,
          globalId: this.authResult?.globalId ?? c.gid,
          features: c.supportedFeatures & PACIFIC_FEATURES,
          name: step.peer,
          caps: step.caps,
        };
        return this.becomeReady();
      }
      case Tag.SESSION_RECONNECT:
        if (this.state !== 'ident') this.unexpected(c);
        // lossy sessions are not kept: the peer starts a new one (CLIENT_IDENT follows)
        this.sendControl({ tag: Tag.SESSION_RESET, full: true });
        return;
      default:
        return this.onSessionControl(c);
    }
  }

  private onServerAuthStep(step: ReturnType<AuthServerSession['request']>, method: number): void {
    if (step.kind === 'more') {
      this.sendControl({ tag: Tag.AUTH_REPLY_MORE, payload: step.payload });
      return;
    }
    if (step.kind === 'bad') {
      this.counters.authFailures++;
      this.log.warn('authentication refused', { peerType: entityTypeName(this.peerEntityType), reason: step.reason });
      this.sendControl({ tag: Tag.AUTH_BAD_METHOD, method, result: -13, allowedMethods: [AuthMethod.CEPHX], allowedModes: [ConMode.CRC] });
      throw new ConnectionError('auth', `${this.label}: authentication refused: ${step.reason}`);
    }
    if (step.result.conMode !== ConMode.CRC)
      throw new ConnectionError('mode', `the authentication chose ${modeName(step.result.conMode)} mode; only crc is spoken`);
    this.authResult = step.result;
    this.serverAuthStep = { peer: step.peer, caps: step.caps };
    this.sendControl({ tag: Tag.AUTH_DONE, globalId: step.result.globalId, conMode: step.result.conMode, payload: step.payload });
    this.state = 'auth-sign';
    this.signPreAuth(step.result.sessionKey);
  }

  // --- both sides --------------------------------------------------------------

  /** Stops recording and sends our AUTH_SIGNATURE over everything received so far (the signature frame itself is in neither record). */
  private signPreAuth(sessionKey: Buffer): void {
    const rx = Buffer.concat(this.preAuthRx ?? []);
    this.sentBeforeSignature = Buffer.concat(this.preAuthTx ?? []);
    this.preAuthRx = this.preAuthTx = undefined;
    this.sendControl({ tag: Tag.AUTH_SIGNATURE, signature: hmac(sessionKey, rx) });
  }

  /** Checks the peer's AUTH_SIGNATURE: it covers everything we sent before ours. */
  private checkPeerSignature(signature: Buffer): void {
    const want = hmac((this.authResult as AuthResult).sessionKey, this.sentBeforeSignature ?? Buffer.alloc(0));
    this.sentBeforeSignature = undefined;
    if (!want.equals(signature)) {
      this.counters.signatureMismatches++;
      throw new ConnectionError('auth', `${this.label}: the peer's AUTH_SIGNATURE does not match what we sent (tampered, or a different session key)`);
    }
  }

  private becomeReady(): void {
    this.state = 'ready';
    this.reader.maxFrameBytes = this.opts.maxFrameBytes;
    clearTimeout(this.handshakeTimer);
    this.preAuthRx = this.preAuthTx = undefined;
    this.lastHeard = Date.now();
    this.keepaliveTimer = setInterval(() => this.tick(), Math.min(this.opts.keepaliveMs, this.opts.idleTimeoutMs / 2));
    this.keepaliveTimer.unref();
    const p = this.peer as PeerInfo;
    this.log.info('connected', {
      peer: p.name ? formatEntityName(p.name) : entityTypeName(p.entityType),
      globalId: String(p.globalId),
      addrs: p.addrs.map(addrToString),
    });
    this.emit('ready', p);
  }

  private tick(): void {
    const silent = Date.now() - this.lastHeard;
    if (silent >= this.opts.idleTimeoutMs) {
      this.counters.timeouts++;
      this.fail(new ConnectionError('timeout', `${this.label} sent nothing for ${silent} ms (keepalives unanswered): dropping the connection`));
      return;
    }
    this.sendControl({ tag: Tag.KEEPALIVE2, timestamp: nowUTime() });
  }

  private onSessionControl(c: Control): void {
    if (this.state !== 'ready') this.unexpected(c);
    switch (c.tag) {
      case Tag.KEEPALIVE2:
        this.sendControl({ tag: Tag.KEEPALIVE2_ACK, timestamp: c.timestamp });
        return;
      case Tag.KEEPALIVE2_ACK:
        this.pings.get(`${c.timestamp.sec}.${c.timestamp.nsec}`)?.(true);
        return;
      case Tag.ACK: // lossy: nothing kept to trim
        return;
      default:
        this.unexpected(c);
    }
  }

  private onMessage(segments: Buffer[]): void {
    if (this.state !== 'ready') throw new ConnectionError('protocol', `${this.label} sent a message during the ${this.state} step`);
    const m = decodeMessageFrame(segments);
    const seq = m.seq ?? 0n;
    if (seq <= this.inSeq) {
      this.log.warn('old message dropped', { seq: String(seq), inSeq: String(this.inSeq), type: msgTypeName(m.type) });
      return;
    }
    this.inSeq = seq;
    this.counters.messagesIn++;
    this.scheduleAck();
    this.emit('message', m);
  }

  /** One ACK for everything received in this turn of the event loop (unless a message we send carries it). */
  private scheduleAck(): void {
    if (this.ackTimer) return;
    this.ackTimer = setImmediate(() => {
      this.ackTimer = undefined;
      if (this.state === 'ready' && this.inSeq > this.ackedInSeq) {
        this.ackedInSeq = this.inSeq;
        this.sendControl({ tag: Tag.ACK, seq: this.inSeq });
      }
    });
  }

  private fail(e: ConnectionError): void {
    if (this.state === 'closed') return;
    const quiet = e.code === 'closed' && this.state === 'ready';
    this.log[quiet ? 'info' : 'warn']('connection ended', { reason: e.message, code: e.code, step: this.state });
    this.finish(e);
  }

  private finish(e: ConnectionError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closedWith = e;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.keepaliveTimer);
    if (this.ackTimer) clearImmediate(this.ackTimer);
    for (const done of [...this.pings.values()]) done(false);
    this.socket.destroy();
    this.emit('close', e);
  }

  /** Why the connection ended, if it did with an error. */
  get closeReason(): ConnectionError | undefined {
    return this.closedWith;
  }
}

/** HMAC-SHA256; with no session key (auth none) Ceph signs with 32 zero bytes. */
function hmac(key: Buffer, data: Buffer): Buffer {
  if (!key.length) return Buffer.alloc(32);
  return createHmac('sha256', key).update(data).digest();
}

function modeName(m: number): string {
  return m === ConMode.CRC ? 'crc' : m === ConMode.SECURE ? 'secure' : `mode ${m}`;
}

const ERRNO: Record<number, string> = { [-1]: 'EPERM', [-2]: 'ENOENT', [-13]: 'EACCES', [-22]: 'EINVAL', [-95]: 'EOPNOTSUPP', [-110]: 'ETIMEDOUT' };
export function errnoName(r: number): string {
  return ERRNO[r] ?? `error ${r}`;
}

function nowUTime() {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

/** Our address as a client: TYPE_ANY with our IP, port 0 and a random nonce, as Ceph's clients send it. */
function clientAddr(s: net.Socket): EntityAddr {
  const host = s.localAddress ?? '0.0.0.0';
  const a = v2Addr(host, 0, (Math.random() * 0xffffffff) >>> 0);
  return normalizeV4Mapped({ ...a, type: AddrType.ANY });
}

/** "::ffff:127.0.0.1" (a v4 peer on a dual-stack socket) as plain IPv4. */
function normalizeV4Mapped(a: EntityAddr): EntityAddr {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a.host);
  return m ? { ...a, host: m[1], family: 'v4' } : a;
}
