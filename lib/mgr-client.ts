// MgrClient: the daemon side of DaemonServerService.Session, as Ceph's
// src/mgr/MgrClient.cc does it over the messenger. A daemon opens its
// session, waits for the server's configure, then reports its counters every
// stats_period (declaring the schema once per session, then the values in
// Ceph's packed layout, lib/counter-values.ts, only counters with priority
// >= stats_threshold); OSDs also send pg stats. A broken stream is reopened with bounded, jittered
// exponential backoff, and the new session re-declares the full schema.
// command() calls DaemonServerService.Command and resends a command that got
// no reply because the connection dropped.
import { EventEmitter } from 'events';
import { Channel, ClientError, Status } from 'nice-grpc';
import { isAbortError } from 'abort-controller-x';
import { openChannel, makeClient, ClientOptions } from './client';
import { asCredentials } from './auth/proof';
import { createLogger, Logger } from './log';
import type { TlsOptions } from './server';
import { CommandResponse, SessionRequest, SessionReport, SessionConfigure } from './gen/ceph/mgr/v1/daemon_server';
import { CounterLayout } from './counter-values';
import { reportShape, writeFrameValues } from './report-frame';
import { DaemonServerClientDefinition, encodePgStatsFrame } from './session-wire';
import type { PerfCounterType, DaemonHealthMetric } from './gen/ceph/mgr/v1/cluster_state';
import { AsyncQueue } from './async-queue';

/** A daemon's counters: a fixed schema and its packed values at a time. */
export interface CounterSource {
  /** The full schema, in a fixed order. */
  schema: PerfCounterType[];
  /**
   * Values of the whole schema in schema order (long-running averages take
   * two slots: sum, count) at time t, seconds since the Unix epoch:
   * non-negative integers, or bigints for values above 2^53 (counters are
   * unsigned 64-bit). May return a shared buffer: it is read at once.
   */
  values(t: number): ArrayLike<number | bigint>;
}

export interface MgrClientOptions {
  /** "<type>.<id>", e.g. "osd.3". */
  daemonName: string;
  /** Service name for service daemons (e.g. "rgw"). */
  serviceName?: string;
  /** Whether the daemon is a service daemon (listed in the service map). */
  serviceDaemon?: boolean;
  /** Daemon metadata sent with open (hostname, ceph_version, ...). */
  metadata?: Record<string, string>;
  /** Initial daemon status (service daemons). */
  daemonStatus?: Record<string, string>;
  /** Counters to report; none: reports carry no counters. */
  counters?: CounterSource;
  /** OSDs: the pg stats to send after each report ({epoch, report: an encoded PgStatsReport}); undefined skips one round. */
  pgStats?: () => { epoch: number; report: Uint8Array } | undefined;
  /** Health metrics to send with each report. */
  healthMetrics?: () => DaemonHealthMetric[];
  /** The daemon-server address, host:port (ignored when channel is given). */
  address?: string;
  /** A channel to share with other clients (the caller closes it). */
  channel?: Channel;
  tls?: TlsOptions;
  /** Who the daemon is: each call carries a proof made with this key (lib/auth/proof.ts), never the key. */
  auth?: { entity: string; key: string | (() => string) };
  logger?: Logger;
  /** Reconnect backoff: first delay and cap, in milliseconds (defaults 250 and 10000). */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * Where in the period this daemon's reports fall, as a fraction 0..1 of
   * the period (default random), so that many daemons do not report at once.
   */
  phase?: number;
  /** Clock in seconds since the Unix epoch (tests pin it). */
  now?: () => number;
}

/** Options for command(). */
export interface CommandOptions {
  /** Sends at most this many times (default 5). */
  attempts?: number;
  /** Gives up after this long in total, in milliseconds (default 30000). */
  timeoutMs?: number;
}

/** What a session sends: a message, or one already encoded. */
type Outgoing = SessionRequest | Uint8Array;

// A report queue longer than this means the stream is not draining: the
// next reports are skipped (reports are snapshots; nothing is lost by it).
const MAX_QUEUED = 4;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class MgrClient extends EventEmitter {
  readonly daemonName: string;
  /** Sessions opened so far (1 after the first connect). */
  sessions = 0;
  /** Reports sent so far over all sessions. */
  reportsSent = 0;
  /** Reports skipped because the stream was not draining. */
  reportsSkipped = 0;
  /** The last configure received, if any. */
  configure?: SessionConfigure;

  private readonly opts: MgrClientOptions;
  private readonly log: Logger;
  private readonly ownChannel: boolean;
  private channel: Channel;
  private client;
  private address: string;
  private readonly phase: number;
  private stopped = false;
  private running?: Promise<void>;
  private readonly stopSignal = new AbortController();
  private sessionAbort?: AbortController;
  private switching = false;
  private queue?: AsyncQueue<Outgoing>;
  private timer?: NodeJS.Timeout;
  private connected = false;
  // per-session schema state: which schema indices are declared, in order
  private declaredOrder: number[] = [];
  /** The declared counters in Ceph's packed order, and where each one's values are in values(). */
  private layout = new CounterLayout([]);
  private sourceSlot: Int32Array = new Int32Array(0);
  /** The report frame: SessionRequest{report{counter_values}}, values written in place. */
  private frame = Buffer.alloc(0);
  private frameValues = 0;
  private pendingDeclare: number[] = [];
  private pendingUndeclare: string[] = [];
  private includeDirty = true;
  private slotStart = new Int32Array(0);
  private daemonStatus?: Record<string, string>;
  private statusDirty = false;

  constructor(options: MgrClientOptions) {
    super();
    if (!/^[a-z]+\.[^\s]+$/.test(options.daemonName)) throw new Error(`daemon name must be "<type>.<id>" (e.g. "osd.3"), got '${options.daemonName}'`);
    if (!options.channel && !options.address) throw new Error(`MgrClient for ${options.daemonName} needs an address or a channel`);
    this.opts = options;
    this.daemonName = options.daemonName;
    this.log = (options.logger ?? createLogger({ component: 'mgr-client' })).child({ daemon: options.daemonName });
    this.ownChannel = !options.channel;
    this.address = options.address ?? '';
    this.channel = options.channel ?? openChannel(this.address, options.tls);
    this.client = makeClient(DaemonServerClientDefinition, this.channel, this.clientOptions());
    this.phase = options.phase ?? Math.random();
    this.daemonStatus = options.daemonStatus;
    if (options.counters) {
      const schema = options.counters.schema;
      this.slotStart = new Int32Array(schema.length);
      let s = 0;
      schema.forEach((c, i) => {
        this.slotStart[i] = s;
        s += c.type & 4 ? 2 : 1;
      });
    }
  }

  /** Whether the current session has received its configure. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** Opens the session (and keeps reopening it until stop()). */
  start(): this {
    if (!this.running && !this.stopped) this.running = this.loop();
    return this;
  }

  /** Sends close, ends the session and stops reconnecting. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimer();
    const q = this.queue;
    if (q && this.connected) {
      q.push({ msg: { $case: 'close', value: {} } });
      q.end();
    }
    this.stopSignal.abort();
    // give the close a moment to be written, then cut the stream
    const cut = setTimeout(() => this.sessionAbort?.abort(), q ? 200 : 0);
    await this.running?.catch(() => undefined);
    clearTimeout(cut);
    if (this.ownChannel) this.channel.close();
  }

  /** Reconnects to another daemon-server (when the MgrMap names a new active). */
  setAddress(address: string): void {
    if (!this.ownChannel) throw new Error('this MgrClient shares a channel: use setChannel()');
    if (address === this.address) return;
    this.log.info('switching to a new daemon-server', { from: this.address, to: address });
    const old = this.channel;
    this.address = address;
    this.channel = openChannel(address, this.opts.tls);
    this.client = makeClient(DaemonServerClientDefinition, this.channel, this.clientOptions());
    this.restartSession();
    old.close();
  }

  /** Switches a client that shares a channel to another (the caller owns both). */
  setChannel(channel: Channel): void {
    if (this.ownChannel) throw new Error('this MgrClient owns its channel: use setAddress()');
    this.channel = channel;
    this.client = makeClient(DaemonServerClientDefinition, channel, this.clientOptions());
    this.restartSession();
  }

  /** Changes the daemon status; sent with the next report. */
  setDaemonStatus(status: Record<string, string>): void {
    this.daemonStatus = status;
    this.statusDirty = true;
  }

  /**
   * Runs a command on the active manager. A call that failed UNAVAILABLE
   * (the connection dropped, or no manager is up) is resent after a backoff,
   * at most `attempts` times within `timeoutMs`; other failures are thrown.
   */
  async command(prefix: string, args: Record<string, unknown> | string = '', inbuf?: Uint8Array, options: CommandOptions = {}): Promise<CommandResponse> {
    const attempts = options.attempts ?? 5;
    const deadline = Date.now() + (options.timeoutMs ?? 30000);
    const argText = typeof args === 'string' ? args : JSON.stringify({ prefix, ...args });
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      try {
        return await this.client.command({ prefix, args: argText, inbuf: Buffer.from(inbuf ?? []) }, { deadline: Math.max(1, remaining) });
      } catch (e) {
        if (e instanceof ClientError && e.code === Status.DEADLINE_EXCEEDED)
          throw new ClientError(
            '/ceph.mgr.v1.DaemonServerService/Command',
            Status.DEADLINE_EXCEEDED,
            `command '${prefix}' got no reply within ${options.timeoutMs ?? 30000} ms`,
          );
        const retry = e instanceof ClientError && e.code === Status.UNAVAILABLE && attempt < attempts && Date.now() < deadline;
        if (!retry) throw e;
        const delay = Math.min(this.backoffDelay(attempt - 1), Math.max(0, deadline - Date.now()));
        this.log.warn('command got no reply (manager unavailable); resending after reconnect', {
          prefix,
          attempt,
          delayMs: Math.round(delay),
          error: (e as Error).message,
        });
        await sleep(delay, this.stopSignal.signal);
        if (this.stopped)
          throw new ClientError('/ceph.mgr.v1.DaemonServerService/Command', Status.CANCELLED, `command '${prefix}' cancelled: the client is stopping`);
      }
    }
  }

  private clientOptions(): ClientOptions {
    return this.opts.auth ? { credentials: asCredentials(this.opts.auth) } : {};
  }

  private backoffDelay(attempt: number): number {
    const initial = this.opts.backoff?.initialMs ?? 250;
    const max = this.opts.backoff?.maxMs ?? 10000;
    const d = Math.min(max, initial * 2 ** Math.min(attempt, 30));
    return d / 2 + (Math.random() * d) / 2; // jitter: half fixed, half random
  }

  private restartSession(): void {
    if (!this.running) return;
    this.switching = true;
    this.sessionAbort?.abort();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const abort = new AbortController();
      this.sessionAbort = abort;
      const queue = new AsyncQueue<Outgoing>();
      this.queue = queue;
      this.resetSession();
      queue.push({
        msg: {
          $case: 'open',
          value: {
            daemonName: this.daemonName,
            serviceName: this.opts.serviceName ?? '',
            serviceDaemon: !!this.opts.serviceDaemon,
            metadata: this.opts.metadata ?? {},
            daemonStatus: this.daemonStatus ?? {},
          },
        },
      });
      this.sessions++;
      let reason = 'the server ended the session';
      try {
        for await (const res of this.client.session(queue, { signal: abort.signal })) {
          if (res.msg?.$case === 'configure') {
            failures = 0;
            this.onConfigure(res.msg.value);
          } else if (res.msg?.$case === 'scrub') {
            // Ceph's MOSDScrub2: the daemon (an OSD) scrubs; its pg stats carry the result.
            this.log.info('scrub requested', { deep: res.msg.value.deep, repair: res.msg.value.repair, pgids: res.msg.value.pgids.length || 'all' });
            this.emit('scrub', res.msg.value);
          }
        }
      } catch (e) {
        reason = isAbortError(e) ? 'aborted' : (e as Error).message;
        if (e instanceof ClientError && (e.code === Status.UNAUTHENTICATED || e.code === Status.PERMISSION_DENIED)) {
          this.log.error('daemon-server refused the session: check --name and the keyring', { error: e.message });
        }
      } finally {
        this.clearTimer();
        queue.end();
        if (this.connected) {
          this.connected = false;
          this.emit('disconnected', reason);
        }
      }
      if (this.stopped) break;
      if (this.switching) {
        this.switching = false;
        continue;
      }
      const delay = this.backoffDelay(failures++);
      this.log.warn('session to daemon-server broke; reconnecting', { reason, retryInMs: Math.round(delay), attempt: failures });
      await sleep(delay, this.stopSignal.signal);
    }
  }

  private resetSession(): void {
    this.declaredOrder = [];
    this.layout = new CounterLayout([]);
    this.sourceSlot = new Int32Array(0);
    this.pendingDeclare = [];
    this.pendingUndeclare = [];
    this.includeDirty = true;
    this.statusDirty = !!this.daemonStatus;
    this.configure = undefined;
  }

  private onConfigure(cfg: SessionConfigure): void {
    const prev = this.configure;
    this.configure = cfg;
    if (!prev || prev.statsThreshold !== cfg.statsThreshold) this.includeDirty = true;
    if (!this.connected) {
      this.connected = true;
      this.emit('connected');
    }
    this.log.debug('configured', { statsPeriod: cfg.statsPeriod, statsThreshold: cfg.statsThreshold });
    this.emit('configure', cfg);
    if (prev && prev.statsPeriod === cfg.statsPeriod && this.timer) return; // same cadence
    this.clearTimer();
    if (!(cfg.statsPeriod > 0)) return; // period 0: do not report
    const periodMs = cfg.statsPeriod * 1000;
    // first report at this daemon's phase of the period, then every period
    this.timer = setTimeout(
      () => {
        this.sendReport();
        this.timer = setInterval(() => this.sendReport(), periodMs);
        this.timer.unref?.();
      },
      Math.floor(this.phase * periodMs),
    );
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Sends one report now (and pg stats for OSDs); the timer calls it every period. */
  sendReport(): void {
    const q = this.queue;
    if (!q || !this.configure || this.stopped) return;
    if (q.length > MAX_QUEUED) {
      this.reportsSkipped++;
      return;
    }
    q.push(this.buildReport());
    if (this.opts.pgStats) {
      const s = this.opts.pgStats();
      if (s) q.push(encodePgStatsFrame(s.epoch, s.report));
    }
    this.reportsSent++;
  }

  /**
   * The next report: most periods only the values change, so the encoded
   * frame is reused with the values written in place (and copied once for
   * the stream); declares, status and health metrics go through the codec.
   */
  private buildReport(): Outgoing {
    const src = this.opts.counters;
    const now = this.opts.now ? this.opts.now() : Date.now() / 1000;
    if (src && this.includeDirty) this.recomputeDeclared(src.schema);
    if (src && this.layout.slots) this.writeValues(src.values(now));
    const health = this.opts.healthMetrics ? this.opts.healthMetrics() : [];
    const plain = !this.pendingDeclare.length && !this.pendingUndeclare.length && !this.statusDirty && !health.length;
    if (plain && this.layout.slots) return Buffer.from(this.frame);
    const report: SessionReport = {
      declareTypes: src ? this.pendingDeclare.map((i) => src.schema[i]) : [],
      undeclareTypes: this.pendingUndeclare,
      packed: [],
      counterValues: this.layout.slots ? Buffer.from(this.frame.subarray(this.frameValues)) : undefined,
      daemonStatus: this.statusDirty && this.daemonStatus ? this.daemonStatus : {},
      hasDaemonStatus: this.statusDirty && !!this.daemonStatus,
      taskStatus: {},
      daemonHealthMetrics: health,
    };
    this.pendingDeclare = [];
    this.pendingUndeclare = [];
    this.statusDirty = false;
    return { msg: { $case: 'report', value: report } };
  }

  /** Writes values() into the frame's counter_values, in Ceph's packed order. */
  private writeValues(values: ArrayLike<number | bigint>): void {
    writeFrameValues(this.frame, this.frameValues, this.layout, this.sourceSlot, values);
  }

  /**
   * Applies stats_threshold: counters that became included are declared
   * (appended to the declaration order), counters that dropped out are
   * undeclared; the values follow Ceph's order (sorted paths).
   */
  private recomputeDeclared(schema: PerfCounterType[]): void {
    const threshold = this.configure?.statsThreshold ?? 0;
    const included = (i: number) => schema[i].priority >= threshold;
    const kept = this.declaredOrder.filter(included);
    const undeclared = this.declaredOrder.filter((i) => !included(i)).map((i) => schema[i].path);
    const keptSet = new Set(kept);
    const added: number[] = [];
    for (let i = 0; i < schema.length; i++) if (included(i) && !keptSet.has(i)) added.push(i);
    this.declaredOrder = kept.concat(added);
    // buildReport() sends and clears these right after this runs
    this.pendingDeclare = added;
    this.pendingUndeclare = undeclared;
    const shape = reportShape(schema, this.declaredOrder, this.slotStart);
    this.layout = shape.layout;
    this.sourceSlot = shape.sourceSlot;
    this.frame = Buffer.from(shape.frame);
    this.frameValues = shape.frameValues;
    this.includeDirty = false;
  }
}
