// A monitor client in the manner of Ceph's MonClient (src/mon/MonClient.cc):
// one session with one monitor at a time, found by hunting; continuous
// subscriptions to the cluster maps; commands with tids that survive a
// change of monitor; tickets renewed through MAuth.
//
//   const mc = new MonClient({ monitors: [{ host: '127.0.0.1', port: 3300 }], entity: 'client.admin', key, logger });
//   mc.on('map', (name, epoch) => ...);   // 'osdmap' | 'fsmap' | 'mgrmap' | 'monmap' | 'config' | added ones
//   await mc.start();                     // authenticated, monmap in hand, subscribed
//   const { r, rs, data } = await mc.command({ prefix: 'osd dump', format: 'json' });
//
// Hunting: the monitors are tried one at a time in random order; after a
// round in which none answered, the next round waits (backoff doubling
// from `backoffMs` to `maxBackoffMs`). A session that ends (socket closed,
// keepalives unanswered, bad input) starts a new hunt at once, beginning
// with another monitor. Errors no other monitor will cure (a refused key,
// a cluster that is not Pacific, a monitor speaking only msgr v1, no
// connection mode in common) stop the hunt: start() rejects with the error, which
// names the entity and the monitor, and the client retries only every
// `fatalRetryMs` (no busy loop), exposing the error in status().
import { EventEmitter } from 'events';
import { AuthError, type MonAuthProvider } from './auth';
import { CephxClient } from './cephx/client';
import { Connection, ConnectionError, errnoName, WireCounters } from './connection';
import { MsgType, msgTypeName, Priority, type Message } from './message';
import * as M from './messages/mon';
import type { ModeSettings } from './modes';
import { EntityType, formatEntityName } from './types';
import type { Logger } from '../log';

/** A monitor's msgr2 address. */
export interface MonAddr {
  host: string;
  port: number;
}

export interface MonClientOptions {
  /** Where to look for monitors first (msgr2 addresses); the monmap's replace them once known. */
  monitors: MonAddr[];
  /** Who to authenticate as with cephx, e.g. "client.admin" or "mgr.x", and its key (base64 as in a keyring, or the 16 secret bytes). */
  entity?: string;
  key?: string | Buffer;
  /** Instead of entity and key: the auth provider itself (a CephxClient with rotating keys for a daemon, authNoneMonProvider for a cluster without auth). */
  auth?: MonAuthProvider;
  logger: Logger;
  /** Maps to follow; default osdmap, fsmap, mgrmap, monmap, config. More can be added with subscribe(). */
  subscribe?: string[];
  /** Refuse a cluster with another fsid. */
  fsid?: string;
  /** Default deadline of a command. Default 30 s. */
  commandTimeoutMs?: number;
  /** First wait after a round of monitors failed; doubles up to maxBackoffMs. Defaults 500 ms and 10 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Wait before trying again after an error no monitor will cure (wrong key, not Pacific). Default 30 s. */
  fatalRetryMs?: number;
  /** Passed to each connection. */
  keepaliveMs?: number;
  idleTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Shared wire counters (crc errors, malformed frames...), e.g. to export to /metrics. */
  counters?: WireCounters;
  /** Sent in MMonSubscribe, as Ceph clients send theirs. */
  hostname?: string;
  /**
   * The ms_*_mode settings (modes.ts; e.g. modeSettings({ conf, entity })): a client offers ms_mon_client_mode,
   * a daemon ms_mon_cluster_mode. Default Pacific's ("secure crc").
   */
  modes?: ModeSettings;
}

export interface MonCommandResult {
  /** 0 or a negative errno, as Ceph returns it. */
  r: number;
  rs: string;
  /** The command's output (JSON when asked with format json). */
  data: Buffer;
}

/** Why a command did not get an answer. */
export class MonCommandError extends Error {
  constructor(
    readonly code: 'timeout' | 'stopped',
    message: string,
  ) {
    super(message);
  }
}

export interface MonClientStatus {
  state: 'stopped' | 'hunting' | 'connected' | 'waiting';
  /** The monitor of the current session ("mon.a v2:127.0.0.1:3300"). */
  monitor?: string;
  /** The connection mode of the current session. */
  mode?: 'crc' | 'secure';
  fsid?: string;
  globalId?: string;
  /** The last error, kept after a reconnect so a person can see what went wrong. */
  lastError?: string;
  lastErrorAt?: string;
  /** Newest epoch seen per map. */
  epochs: Record<string, number>;
  sessions: number;
  commandsSent: number;
  commandsTimedOut: number;
  wire: WireCounters;
}

interface Pending {
  tid: bigint;
  cmd: string;
  inbuf?: Buffer;
  timer: NodeJS.Timeout;
  resolve: (r: MonCommandResult) => void;
  reject: (e: Error) => void;
}

const DEFAULT_SUBS = ['osdmap', 'fsmap', 'mgrmap', 'monmap', 'config'];
/** Subscriptions whose updates carry no epoch: always subscribed from the start. */
const NO_EPOCH = new Set(['config', 'mgrdigest']);

/**
 * Events: 'map' (name, epoch, message); 'kvdata' (an MKVData of a
 * kv:<prefix> subscription); 'logack' (an MLogAck); 'connected' (monitor), once a
 * session is authenticated and its monmap names a cluster we accept;
 * 'disconnected' (monitor, reason) when such a session ends. 'error' is
 * never emitted (errors are in status(), start()'s rejection and the logs).
 */
export class MonClient extends EventEmitter {
  readonly counters: WireCounters;
  private readonly log: Logger;
  private readonly subs: Set<string>;
  private readonly epochs = new Map<string, number>();
  private candidates: MonAddr[];
  private conn: Connection | undefined;
  private connLabel: string | undefined;
  private connAddr: MonAddr | undefined;
  private state: MonClientStatus['state'] = 'stopped';
  private monmap: M.MonMap | undefined;
  private gid = 0n;
  private nextTid = 1n;
  private readonly pending = new Map<bigint, Pending>();
  private lastError: { message: string; at: Date } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private sessions = 0;
  private commandsSent = 0;
  private commandsTimedOut = 0;
  private configCount = 0;
  private startWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private hunt: MonAddr[] = [];
  /** Whether 'connected' was emitted for the current session (after its monmap checked out). */
  private announced = false;
  /** The refusal that stopped the hunt, until a session succeeds. */
  private refused: Error | undefined;

  /** The auth provider: ticket store, global id and (for a daemon) the rotating secrets. */
  readonly auth: MonAuthProvider;

  constructor(private readonly o: MonClientOptions) {
    super();
    if (!o.monitors.length) throw new Error('MonClient needs at least one monitor address (mon_host)');
    if (o.auth) this.auth = o.auth;
    else if (o.entity && o.key) this.auth = new CephxClient({ entity: o.entity, key: o.key });
    else throw new Error('MonClient needs an entity and its key (or an auth provider)');
    this.counters = o.counters ?? new WireCounters();
    this.log = o.logger.child({ component: 'monclient', entity: formatEntityName(this.auth.entity) });
    this.subs = new Set(o.subscribe ?? DEFAULT_SUBS);
    this.candidates = [...o.monitors];
    this.backoff = o.backoffMs ?? 500;
  }

  /** Starts hunting; resolves once authenticated, the monmap known and the subscriptions sent. Keeps reconnecting after. */
  start(): Promise<void> {
    if (this.state === 'stopped') {
      this.state = 'hunting';
      this.huntNext();
    }
    if (this.state === 'connected' && this.monmap) return Promise.resolve();
    // refused, and waiting to try again slowly: say so now rather than at the next refusal
    if (this.state === 'waiting' && this.refused) return Promise.reject(this.refused);
    return new Promise((resolve, reject) => this.startWaiters.push({ resolve, reject }));
  }

  /** Ends the session and every timer; pending commands fail with code 'stopped'. */
  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.timer);
    clearTimeout(this.renewTimer);
    const c = this.conn;
    this.conn = undefined;
    c?.close();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new MonCommandError('stopped', `monitor command ${p.cmd} abandoned: the monitor client stopped`));
    }
    this.pending.clear();
    for (const w of this.startWaiters.splice(0)) w.reject(new Error('the monitor client was stopped before it connected'));
  }

  /** Follows one more map (e.g. 'servicemap', 'mgrdigest'), from now on and on every new session. */
  subscribe(name: string): void {
    if (this.subs.has(name)) return;
    this.subs.add(name);
    if (this.conn?.isReady) this.conn.sendMessage(M.mMonSubscribe({ [name]: { start: this.startEpoch(name) } }, this.o.hostname ?? ''));
  }

  /** Runs a monitor command (a JSON object such as {prefix: 'osd dump', format: 'json'}); resent on the new monitor after a reconnect. */
  command(cmd: object, opts: { inbuf?: Buffer; timeoutMs?: number } = {}): Promise<MonCommandResult> {
    if (this.state === 'stopped') return Promise.reject(new MonCommandError('stopped', 'the monitor client is stopped'));
    const text = JSON.stringify(cmd);
    const tid = this.nextTid++;
    const timeoutMs = opts.timeoutMs ?? this.o.commandTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(tid);
        this.commandsTimedOut++;
        reject(
          new MonCommandError(
            'timeout',
            `monitor command ${text} got no answer within ${timeoutMs} ms${this.lastError ? ` (last error: ${this.lastError.message})` : ''}`,
          ),
        );
      }, timeoutMs);
      this.pending.set(tid, { tid, cmd: text, inbuf: opts.inbuf, timer, resolve, reject });
      this.sendCommand(tid);
    });
  }

  status(): MonClientStatus {
    return {
      state: this.state,
      monitor: this.conn?.isReady ? this.connLabel : undefined,
      mode: this.conn?.isReady ? this.conn.mode : undefined,
      fsid: this.monmap?.fsid,
      globalId: this.gid ? String(this.gid) : undefined,
      lastError: this.lastError?.message,
      lastErrorAt: this.lastError?.at.toISOString(),
      epochs: Object.fromEntries(this.epochs),
      sessions: this.sessions,
      commandsSent: this.commandsSent,
      commandsTimedOut: this.commandsTimedOut,
      wire: this.counters,
    };
  }

  /**
   * Sends a message (a manager's beacon) to the monitor of the current
   * session. Resolves true once that monitor has read it (a keepalive sent
   * after it was answered on the same connection: monitors acknowledge
   * nothing else), false when there is no session, it ends first, or
   * `timeoutMs` passes.
   */
  sendConfirmed(m: Message, timeoutMs: number): Promise<boolean> {
    const c = this.conn;
    if (!c?.isReady || !this.announced) return Promise.resolve(false);
    c.sendMessage(m);
    return c.ping(timeoutMs);
  }

  /**
   * Sends a message to the monitor of the current session without waiting
   * (a manager's report, its cluster log): false when there is no session.
   */
  send(m: Message): boolean {
    const c = this.conn;
    if (!c?.isReady || !this.announced) return false;
    c.sendMessage(m);
    return true;
  }

  /** The global id the monitors gave this client (a manager's gid in the MgrMap); 0n before the first session. */
  get globalId(): bigint {
    return this.gid;
  }

  /** The newest monmap (fsid, monitors, min_mon_release). */
  getMonMap(): M.MonMap | undefined {
    return this.monmap;
  }

  // --- hunting -----------------------------------------------------------------

  private huntNext(): void {
    if (this.state === 'stopped') return;
    if (!this.hunt.length) this.hunt = shuffle(this.candidates);
    const mon = this.hunt.shift() as MonAddr;
    const name = this.monmap?.mons.find((m) => m.addrs.some((a) => a.host === mon.host && a.port === mon.port))?.name;
    const label = `${name ? `mon.${name} at ` : 'monitor at '}v2:${mon.host}:${mon.port}`;
    this.state = 'hunting';
    this.log.debug('trying monitor', { monitor: label });
    Connection.connect({
      logger: this.o.logger,
      entityType: this.auth.entity.type,
      host: mon.host,
      port: mon.port,
      auth: this.auth.monSession(this.gid),
      peerType: EntityType.MON,
      globalId: this.gid ? this.gid : -1n,
      peerLabel: label,
      keepaliveMs: this.o.keepaliveMs,
      idleTimeoutMs: this.o.idleTimeoutMs,
      handshakeTimeoutMs: this.o.handshakeTimeoutMs,
      maxFrameBytes: this.o.maxFrameBytes,
      counters: this.counters,
      modes: this.o.modes,
    }).then(
      (c) => this.onSession(c, label, mon),
      (e: Error) => this.onHuntFailure(e, label),
    );
  }

  private onHuntFailure(e: Error, label: string): void {
    if (this.state === 'stopped') return;
    const fatal = this.fatalReason(e, label);
    this.setError(fatal ?? `${label}: ${e.message}`);
    if (fatal) {
      this.log.error('monitor refused us; not hunting other monitors for now', { monitor: label, error: fatal, retryMs: this.o.fatalRetryMs ?? 30_000 });
      this.refused = new Error(fatal);
      for (const w of this.startWaiters.splice(0)) w.reject(this.refused);
      this.hunt = [];
      return this.wait(this.o.fatalRetryMs ?? 30_000);
    }
    this.log.warn('monitor unreachable', { monitor: label, error: e.message });
    if (this.hunt.length) return this.huntNext();
    // a whole round failed: back off before the next
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.o.maxBackoffMs ?? 10_000);
    this.wait(delay);
  }

  /** The message for an error that hunting other monitors will not cure, or undefined. */
  private fatalReason(e: Error, label: string): string | undefined {
    const who = formatEntityName(this.auth.entity);
    const detail = e.message.startsWith(label) ? e.message.slice(label.length).replace(/^[: ]+/, '') : e.message;
    if (e instanceof AuthError || (e instanceof ConnectionError && e.code === 'auth')) return `authentication as ${who} to ${label} failed: ${detail}`;
    if (e instanceof ConnectionError && e.code === 'mode') return `${who} cannot talk to ${label}, which ${detail}`;
    if (e instanceof ConnectionError && e.code === 'protocol' && /msgr v1|msgr2\.0|newer than Pacific|compression/.test(e.message)) return e.message;
    if (e instanceof NotPacific) return e.message;
    return undefined;
  }

  private wait(ms: number): void {
    this.state = 'waiting';
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.huntNext(), ms);
  }

  private setError(message: string): void {
    this.lastError = { message, at: new Date() };
  }

  // --- the session ---------------------------------------------------------------

  private onSession(c: Connection, label: string, addr: MonAddr): void {
    if (this.state === 'stopped') return c.close();
    this.conn = c;
    this.connLabel = label;
    this.connAddr = addr;
    this.state = 'connected';
    this.refused = undefined;
    this.sessions++;
    this.hunt = [];
    this.backoff = this.o.backoffMs ?? 500;
    if (c.authResult?.globalId) this.gid = c.authResult.globalId;
    c.on('message', (m: Message) => {
      try {
        this.onMessage(m);
      } catch (e) {
        // a message we cannot decode ends this session, as bad input should
        this.counters.malformedFrames++;
        this.log.warn('undecodable message from the monitor', { monitor: label, type: msgTypeName(m.type), error: (e as Error).message });
        c.close();
        this.onSessionEnd(c, label, new ConnectionError('protocol', `${label} sent a ${msgTypeName(m.type)} we cannot decode: ${(e as Error).message}`));
      }
    });
    c.on('close', (e?: ConnectionError) => this.onSessionEnd(c, label, e));
    this.announced = false; // 'connected' waits for the monmap: the cluster may yet be refused
    const what: Record<string, M.SubscribeItem> = {};
    for (const name of this.subs) what[name] = { start: this.startEpoch(name) };
    if (!what.monmap) what.monmap = { start: 0 }; // the fsid and the monitors are needed in any case
    c.sendMessage(M.mMonSubscribe(what, this.o.hostname ?? ''));
    this.renew();
    // commands wait for the monmap (their fsid); the ones pending are resent once it is in
  }

  private onSessionEnd(c: Connection, label: string, e?: ConnectionError): void {
    if (this.conn !== c) return;
    this.conn = undefined;
    clearTimeout(this.renewTimer);
    if (this.state === 'stopped') return;
    const reason = e?.message ?? 'closed';
    this.setError(reason);
    this.log.warn('monitor session ended; hunting', { monitor: label, reason });
    if (this.announced) this.emit('disconnected', label, reason);
    this.announced = false;
    // the others first: the one that failed is tried last
    const failed = (m: MonAddr) => m.host === this.connAddr?.host && m.port === this.connAddr?.port;
    this.hunt = [...shuffle(this.candidates.filter((m) => !failed(m))), ...this.candidates.filter(failed)];
    this.huntNext();
  }

  private startEpoch(name: string): number {
    const e = this.epochs.get(name);
    // kv:<prefix> from 0: the whole prefix again on every session, then its changes
    return e === undefined || NO_EPOCH.has(name) || name.startsWith('kv:') || name === 'monmap' ? 0 : e + 1;
  }

  private onMessage(m: Message): void {
    switch (m.type) {
      case MsgType.MON_MAP: {
        const { monmap } = M.decodeMMonMap(m);
        const refusal = this.refusal(monmap);
        if (refusal) return this.refuseCluster(refusal);
        const first = !this.monmap;
        this.monmap = monmap;
        const v2 = monmap.mons.flatMap((x) => x.addrs.filter((a) => a.type === 2).map((a) => ({ host: a.host, port: a.port })));
        if (v2.length) this.candidates = v2;
        if (!this.announced) {
          this.announced = true;
          this.log.info('monitor session open', { monitor: this.connLabel, mode: this.conn?.mode, globalId: String(this.gid), fsid: monmap.fsid });
          this.emit('connected', this.connLabel);
        }
        this.gotMap('monmap', monmap.epoch, m);
        if (first || this.pending.size) for (const tid of this.pending.keys()) this.sendCommand(tid);
        for (const w of this.startWaiters.splice(0)) w.resolve();
        return;
      }
      case MsgType.OSD_MAP: {
        const o = M.decodeMOSDMap(m);
        return this.gotMap('osdmap', M.osdMapEpoch(o), m);
      }
      case MsgType.FS_MAP:
        return this.gotMap('fsmap', M.decodeMFSMap(m).epoch, m);
      case MsgType.MGR_MAP:
        return this.gotMap('mgrmap', M.mgrMapEpoch(m), m);
      case MsgType.CONFIG:
        M.decodeMConfig(m);
        this.configCount++;
        this.epochs.set('config', this.configCount);
        this.emit('map', 'config', this.configCount, m);
        return;
      case MsgType.MON_COMMAND_ACK: {
        const ack = M.decodeMMonCommandAck(m);
        const p = this.pending.get(ack.tid);
        if (!p) return; // answered already, or timed out
        this.pending.delete(ack.tid);
        clearTimeout(p.timer);
        p.resolve({ r: ack.r, rs: ack.rs, data: ack.data });
        return;
      }
      case MsgType.AUTH_REPLY: {
        const reply = M.decodeMAuthReply(m);
        try {
          this.auth.handleReply(reply.result, reply.payload);
        } catch (e) {
          this.setError(`ticket renewal as ${formatEntityName(this.auth.entity)} failed: ${(e as Error).message}`);
          this.log.warn('ticket renewal failed', { error: (e as Error).message, result: errnoName(reply.result) });
        }
        this.scheduleRenewal();
        return;
      }
      case MsgType.SERVICE_MAP:
        return this.gotMap('servicemap', M.serviceMapEpoch(m), m);
      case MsgType.KV_DATA:
        // config-key entries under a subscribed prefix ("kv:mgr/"), in full then each change (the owner decodes it)
        this.emit('kvdata', m);
        return;
      case MsgType.LOGACK:
        // the owner's cluster log was logged up to a seq (it decodes it)
        this.emit('logack', m);
        return;
      case MsgType.MGR_DIGEST:
        // no epoch: every digest is news (the owner decodes it)
        this.epochs.set('mgrdigest', (this.epochs.get('mgrdigest') ?? 0) + 1);
        this.emit('map', 'mgrdigest', this.epochs.get('mgrdigest'), m);
        return;
      default:
        this.log.debug('message ignored', { type: msgTypeName(m.type) });
    }
  }

  /** Why this cluster is not one we may manage, or undefined. */
  private refusal(monmap: M.MonMap): NotPacific | undefined {
    if (this.o.fsid && monmap.fsid !== this.o.fsid) return new NotPacific(`${this.connLabel} belongs to cluster ${monmap.fsid}, not ${this.o.fsid}`);
    if (monmap.minMonRelease === M.CephRelease.PACIFIC) return undefined;
    const found = monmap.minMonRelease ? `${M.releaseName(monmap.minMonRelease)} (min_mon_release ${monmap.minMonRelease})` : 'a release older than Nautilus';
    return new NotPacific(`the monitors at ${this.connLabel} run ${found}; mgrpc speaks to Ceph Pacific (16) monitors only`);
  }

  private refuseCluster(e: NotPacific): void {
    const c = this.conn;
    this.conn = undefined; // so its close is not taken for a lost session
    c?.close();
    this.onHuntFailure(e, this.connLabel ?? '');
  }

  private gotMap(name: string, epoch: number, m: Message): void {
    const last = this.epochs.get(name);
    if (last !== undefined && epoch <= last) return;
    this.epochs.set(name, epoch);
    this.log.debug('new map', { map: name, epoch });
    this.emit('map', name, epoch, m);
  }

  private sendCommand(tid: bigint): void {
    const p = this.pending.get(tid);
    const c = this.conn;
    if (!p || !c?.isReady || !this.monmap) return; // sent when a session has its monmap
    this.commandsSent++;
    c.sendMessage(M.mMonCommand(tid, [p.cmd], p.inbuf, this.monmap.fsid));
  }

  // --- tickets -------------------------------------------------------------------

  private renew(): void {
    const payload = this.auth.renewal();
    if (payload && this.conn?.isReady) this.conn.sendMessage({ ...M.mAuth(this.auth.method, payload, this.monmap?.epoch ?? 0), priority: Priority.HIGH });
    // the provider knows when to ask again, an unanswered request included
    this.scheduleRenewal();
  }

  private scheduleRenewal(): void {
    clearTimeout(this.renewTimer);
    const ms = this.auth.nextRenewalMs();
    if (ms === undefined || !this.conn) return;
    this.renewTimer = setTimeout(() => this.renew(), Math.max(1000, ms));
    this.renewTimer.unref();
  }
}

/** A cluster we must not manage: not Pacific, or another fsid. */
export class NotPacific extends Error {}

function shuffle<T>(a: T[]): T[] {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
