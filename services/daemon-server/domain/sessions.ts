// Daemon sessions (Ceph's DaemonServer::handle_open/handle_report): one
// stream per daemon. `open` names the daemon (caps checked) and is answered
// with `configure`; reports are checked against the session's counter
// schema and handed to ingest; pg stats are accepted from OSDs only, with
// back-pressure when ingest's queue is full; a second `open` for the same
// daemon ends the older stream. No gRPC here: refusals are Refusals.
import * as prom from 'prom-client';
import type { Logger } from '../../../lib/log';
import type { DaemonReport, PerfCounterType } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { SessionOpen, type SessionReport, type SessionResponse } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import type { SessionFrame } from '../../../lib/session-wire';
import { Caller, mayOpenSession } from './auth';
import type { CounterLimits } from './counter-limits';
import { Refusal } from './errors';
import { emptyReport, Ingest } from './ingest';
import { checkDaemonName, SchemaError, SessionSchema } from './session';

export interface SessionsDeps {
  log: Logger;
  registry: prom.Registry;
  ingest: Ingest;
  /** Aborted when the server stops: every session ends. */
  shutdownSignal: AbortSignal;
  /** The current configure settings. */
  statsPeriod(): number;
  statsThreshold(): number;
  /** How long a session may wait for pg-stats room before it is ended. */
  pgBackpressureMs: number;
  /** The limits on declared counters, shared with the msgr2 door. */
  counterLimits: CounterLimits;
}

/**
 * A daemon's report as it goes on to cluster-state: its schema change as
 * given, the rest as it came (Ceph's packed values untouched). Fields set on
 * emptyReport() rather than spread over it: it is built for every report,
 * and two spreads cost ~4 us where this costs ~0.1.
 */
function forwardedReport(daemon: string, r: SessionReport, schema: Pick<DaemonReport, 'declare' | 'undeclare' | 'schemaHash'>): DaemonReport {
  const out = emptyReport(daemon);
  out.declare = schema.declare;
  out.undeclare = schema.undeclare;
  out.schemaHash = schema.schemaHash;
  out.counterValues = r.counterValues?.length ? r.counterValues : undefined;
  out.stamp = Date.now() / 1000;
  out.status = r.daemonStatus;
  out.hasStatus = r.hasDaemonStatus;
  out.taskStatus = r.taskStatus;
  out.healthMetrics = r.daemonHealthMetrics;
  return out;
}

/** A tiny async queue: the session's outgoing messages. */
class Outbox<T> {
  private items: T[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private error: unknown = null;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  close(error?: unknown): void {
    this.closed = true;
    if (error) this.error = error;
    this.wake?.();
  }

  async *drain(): AsyncGenerator<T> {
    while (true) {
      while (this.items.length) yield this.items.shift()!;
      if (this.closed) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

interface LiveSession {
  id: number;
  daemon: string;
  outbox: Outbox<SessionResponse>;
  /** Ends the session (replaced by a newer one or server stopping). */
  end(reason: string): void;
  /** The session as a new one, with every counter it declared (cluster-state restarted). */
  redeclare(): DaemonReport;
}

export class Sessions {
  private sessions = new Map<string, LiveSession>();
  private nextSessionId = 1;
  /**
   * How to stop each stream being read. The server's shutdown reaches them
   * through one listener here, not one per stream on the shared signal:
   * Node's EventTarget scans its listeners on every add and remove, which
   * took a quarter of daemon-server's CPU at 10,000-30,000 sessions.
   */
  private readonly readers = new Set<() => void>();
  private readonly m: {
    sessions: prom.Gauge;
    reports: prom.Counter;
    rejected: prom.Counter;
    refused: prom.Counter;
  };

  constructor(private readonly d: SessionsDeps) {
    d.shutdownSignal.addEventListener(
      'abort',
      () => {
        for (const stop of [...this.readers]) stop();
      },
      { once: true },
    );
    const r = [d.registry];
    this.m = {
      sessions: new prom.Gauge({ name: 'mgr_daemon_server_sessions', help: 'open daemon sessions', registers: r }),
      reports: new prom.Counter({
        name: 'mgr_daemon_server_session_messages_total',
        help: 'session messages accepted, by kind',
        labelNames: ['kind'],
        registers: r,
      }),
      rejected: new prom.Counter({
        name: 'mgr_daemon_server_reports_rejected_total',
        help: 'session messages rejected (session kept), by reason',
        labelNames: ['reason'],
        registers: r,
      }),
      refused: new prom.Counter({
        name: 'mgr_daemon_server_sessions_refused_total',
        help: 'sessions refused or ended by the server, by reason',
        labelNames: ['reason'],
        registers: r,
      }),
    };
  }

  /** Sends the current settings to every open session (after `config set`). */
  pushConfigure(): void {
    const msg = this.configureMsg();
    for (const s of this.sessions.values()) s.outbox.push(msg);
    this.d.log.info('configure sent to all sessions', {
      sessions: this.sessions.size,
      statsPeriod: this.d.statsPeriod(),
      statsThreshold: this.d.statsThreshold(),
    });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Sends a scrub to each OSD's session (Ceph's MOSDScrub2); returns the OSDs without one. */
  scrubOsds(osds: number[], how: { deep: boolean; repair: boolean }): number[] {
    const missing: number[] = [];
    for (const osd of osds) {
      const s = this.sessions.get(`osd.${osd}`);
      if (!s) missing.push(osd);
      else s.outbox.push({ msg: { $case: 'scrub', value: { pgids: [], deep: how.deep, repair: how.repair } } });
    }
    this.d.log.info('scrub sent', { osds: osds.filter((o) => !missing.includes(o)), deep: how.deep, repair: how.repair });
    return missing;
  }

  /** Every open session as a new one with all it declared, for a cluster-state that restarted (Ingest's redeclare). */
  redeclare(): DaemonReport[] {
    return [...this.sessions.values()].map((s) => s.redeclare());
  }

  endAllSessions(reason: string): void {
    for (const s of [...this.sessions.values()]) s.end(reason);
  }

  private configureMsg(): SessionResponse {
    return { msg: { $case: 'configure', value: { statsPeriod: this.d.statsPeriod(), statsThreshold: this.d.statsThreshold() } } };
  }

  /** One daemon's stream, for an authenticated caller: what to send back, until the stream ends. */
  async *serve(requests: AsyncIterable<SessionFrame>, caller: Caller, signal: AbortSignal): AsyncGenerator<SessionResponse> {
    const outbox = new Outbox<SessionResponse>();
    const reader = this.read(requests, caller, outbox, signal);
    reader.then(
      () => outbox.close(),
      (e) => outbox.close(e),
    );
    yield* outbox.drain();
  }

  private async read(requests: AsyncIterable<SessionFrame>, caller: Caller, outbox: Outbox<SessionResponse>, signal: AbortSignal): Promise<void> {
    // (typed by casts: they are set in onFrame, which the read loop's narrowing does not see)
    let live = null as LiveSession | null;
    let schema = null as SessionSchema | null;
    /**
     * What opened the session (status kept current), to declare it again;
     * its metadata kept encoded (~1 KB instead of ~9 KB as an object with
     * dozens of keys), as it is read again only if cluster-state restarts.
     */
    let opening: DaemonReport | null = null;
    let openingMetadata: Uint8Array = new Uint8Array(0);
    let ended = null as string | null;
    // the caller named in each line, without a child logger per session (a few KB each at 10,000 sessions)
    const entity = caller.entity;
    const log = this.d.log;
    const endController = new AbortController();
    const stop = new AbortController();
    const onShutdown = () => stop.abort();
    if (this.d.shutdownSignal.aborted) stop.abort();
    this.readers.add(onShutdown);
    signal.addEventListener('abort', onShutdown);
    // Stop reading when this session is replaced or the server stops. Not
    // Promise.race against one session-long promise (every race leaves a
    // reaction on it, ~300 bytes a message for the life of the session),
    // and no event-listener churn per message: one wake-up hook, set per read.
    let wake: ((v: null) => void) | null = null;
    const onEnd = () => wake?.(null);
    endController.signal.addEventListener('abort', onEnd, { once: true });
    stop.signal.addEventListener('abort', onEnd, { once: true });
    const nextOrEnd = (it: AsyncIterator<SessionFrame>) =>
      new Promise<IteratorResult<SessionFrame> | null>((resolve, reject) => {
        if (endController.signal.aborted || stop.signal.aborted) return resolve(null);
        wake = resolve;
        it.next().then(resolve, reject);
      });
    // One message, handled here and not in the read loop: a suspended async
    // function keeps its locals alive, and 10,000 idle sessions each held
    // their last message (a report's counter values, a pg-stats report)
    // until the next one came. True when the daemon closed the session.
    const onFrame = async (frame: SessionFrame): Promise<boolean> => {
      const m = frame.msg;
      if (m?.$case === 'invalid') {
        this.m.refused.inc({ reason: 'undecodable' });
        throw new Refusal('invalid', m.value);
      }
      const msg = {
        open: m?.$case === 'open' ? m.value : undefined,
        report: m?.$case === 'report' ? m.value : undefined,
        pgStats: m?.$case === 'pgStats' ? m.value : undefined,
        close: m?.$case === 'close' ? m.value : undefined,
      };
      if (msg.open) {
        const err = checkDaemonName(msg.open.daemonName);
        if (err) {
          this.m.refused.inc({ reason: 'bad_name' });
          throw new Refusal('invalid', err);
        }
        if (!mayOpenSession(caller.grants, msg.open.daemonName)) {
          this.m.refused.inc({ reason: 'denied' });
          log.warn('session refused: caps', { entity, channel: 'audit', daemon: msg.open.daemonName });
          throw new Refusal(
            'denied',
            `access denied: '${caller.entity}' may not open a session for ${msg.open.daemonName} (needs mgr caps 'allow *' or 'allow profile ${msg.open.daemonName.split('.')[0]}')`,
          );
        }
        if (live && live.daemon !== msg.open.daemonName) {
          throw new Refusal('precondition', `this session is already open for ${live.daemon}; open a new stream for ${msg.open.daemonName}`);
        }
        const daemon = msg.open.daemonName;
        const previous = this.sessions.get(daemon);
        if (previous && previous !== live) {
          previous.end(`replaced by a new session for ${daemon}`);
          log.info('session replaced', { entity, daemon });
        }
        const id = this.nextSessionId++;
        live = {
          id,
          daemon,
          outbox,
          end: (reason) => {
            ended = reason;
            endController.abort();
          },
          redeclare: () => ({
            ...opening!,
            metadata: SessionOpen.decode(openingMetadata).metadata,
            declare: schema!.declared,
            schemaHash: schema!.size ? schema!.hash : undefined,
          }),
        };
        this.sessions.set(daemon, live);
        this.m.sessions.set(this.sessions.size);
        if (schema) this.d.counterLimits.release(schema.size);
        schema = new SessionSchema();
        opening = {
          ...emptyReport(daemon),
          opened: true,
          serviceName: msg.open.serviceName,
          serviceDaemon: msg.open.serviceDaemon,
          status: msg.open.daemonStatus,
          hasStatus: msg.open.serviceDaemon,
        };
        openingMetadata = SessionOpen.encode({ ...SessionOpen.fromPartial({}), metadata: msg.open.metadata }).finish();
        this.d.ingest.addReport({ ...opening, metadata: msg.open.metadata });
        outbox.push(this.configureMsg());
        this.m.reports.inc({ kind: 'open' });
        log.info('session opened', { entity, daemon, service: msg.open.serviceName || undefined });
        return false;
      }
      if (!live || !schema) {
        this.m.refused.inc({ reason: 'not_open' });
        throw new Refusal('precondition', 'session not open: send open (daemon name, metadata) first');
      }
      if (msg.report) {
        const r = msg.report;
        if (r.packed.length) {
          this.m.refused.inc({ reason: 'deprecated_packed' });
          throw new Refusal(
            'invalid',
            "SessionReport.packed (varints in declaration order) is no longer accepted: send counter_values, Ceph's packed layout (proto/ceph/mgr/v1/daemon_server.proto)",
          );
        }
        // A schema named by its hash: taken from the session that declared it in full, or,
        // when none here holds it, the report is dropped and the daemon told to declare it.
        let named: PerfCounterType[] | null;
        if (r.schemaHash?.length) {
          try {
            named = schema.checkNamed(r.schemaHash, r.declareTypes, r.undeclareTypes, r.counterValues);
          } catch (e) {
            if (!(e instanceof SchemaError)) throw e;
            this.m.rejected.inc({ reason: 'schema' });
            log.warn('report rejected', { entity, daemon: live.daemon, reason: e.message });
            return false;
          }
          if (!named) {
            this.m.rejected.inc({ reason: 'schema_unknown' });
            outbox.push({ msg: { $case: 'schemaUnknown', value: { schemaHash: r.schemaHash } } });
            return false;
          }
          const over = this.d.counterLimits.admit(live.daemon, 0, named.length, named);
          if (over) {
            this.m.refused.inc({ reason: 'counter_limit' });
            log.warn('session ended: counter limit', { entity, daemon: live.daemon, reason: over });
            throw new Refusal('exhausted', over);
          }
          schema.adopt(r.schemaHash);
          if (r.hasDaemonStatus) opening = { ...opening!, status: r.daemonStatus, hasStatus: true };
          this.d.ingest.addReport(forwardedReport(live.daemon, r, { declare: named, undeclare: [], schemaHash: schema.hash }));
          this.m.reports.inc({ kind: 'report' });
          return false;
        }
        // the limits first: a huge declaration is refused before anything is built from it
        const from = schema.size;
        const to = from + r.declareTypes.length - r.undeclareTypes.length;
        if (r.declareTypes.length || r.undeclareTypes.length) {
          const over = this.d.counterLimits.admit(live.daemon, from, to, r.declareTypes);
          if (over) {
            this.m.refused.inc({ reason: 'counter_limit' });
            log.warn('session ended: counter limit', { entity, daemon: live.daemon, reason: over });
            throw new Refusal('exhausted', over);
          }
        }
        try {
          schema.check(r.declareTypes, r.undeclareTypes, r.counterValues);
        } catch (e) {
          if (!(e instanceof SchemaError)) throw e;
          this.d.counterLimits.release(to - from); // not declared after all
          this.m.rejected.inc({ reason: 'schema' });
          log.warn('report rejected', { entity, daemon: live.daemon, reason: e.message });
          return false; // the session stays; the next report may be fine
        }
        schema.apply(r.declareTypes, r.undeclareTypes);
        if (r.hasDaemonStatus) opening = { ...opening!, status: r.daemonStatus, hasStatus: true };
        this.d.ingest.addReport(
          forwardedReport(live.daemon, r, {
            declare: schema.shared(r.declareTypes),
            undeclare: r.undeclareTypes,
            // a first declaration is the whole schema: named by its hash, cluster-state takes it
            // in full once and the sessions declaring the same by the hash alone (domain/ingest.ts)
            schemaHash: from === 0 && r.declareTypes.length && !r.undeclareTypes.length ? schema.hash : undefined,
          }),
        );
        this.m.reports.inc({ kind: 'report' });
      } else if (msg.pgStats) {
        const type = live.daemon.split('.')[0];
        if (type !== 'osd') {
          this.m.rejected.inc({ reason: 'pg_stats_not_osd' });
          log.warn('pg stats rejected: not an OSD', { entity, daemon: live.daemon });
          return false;
        }
        if (msg.pgStats.json?.length) {
          this.m.refused.inc({ reason: 'deprecated_json' });
          throw new Refusal('invalid', 'SessionPgStats.json is no longer accepted: send report, the typed PgStatsReport (proto/ceph/mgr/v1/pg_stats.proto)');
        }
        // Not decoded here: cluster-state decodes it once and its refusals
        // are counted (mgr_daemon_server_upstream_rejected_total).
        const report = msg.pgStats.report;
        if (!report?.length) {
          this.m.rejected.inc({ reason: 'pg_stats_empty' });
          log.warn('pg stats rejected: no report', { entity, daemon: live.daemon });
          return false;
        }
        const osd = Number(live.daemon.slice(4));
        if (!this.d.ingest.hasPgRoom(osd)) {
          // Back-pressure: stop reading this session until there is room.
          this.m.refused.inc({ reason: 'pg_backpressure' });
          const room = await this.d.ingest.waitForPgRoom(this.d.pgBackpressureMs, stop.signal);
          if (!room) {
            this.m.refused.inc({ reason: 'pg_queue_full' });
            log.warn('session ended: pg stats queue full', { entity, daemon: live.daemon, pending: this.d.ingest.pendingPgStats });
            throw new Refusal(
              'exhausted',
              `pg stats queue is full (${this.d.ingest.pendingPgStats} OSDs waiting): cluster-state is not keeping up; reconnect and resend later`,
            );
          }
        }
        this.d.ingest.addPgStats({ osd, epoch: msg.pgStats.epoch, stamp: Date.now() / 1000, report });
        this.m.reports.inc({ kind: 'pg_stats' });
      } else if (msg.close) {
        this.d.ingest.addReport({ ...emptyReport(live.daemon), closed: true });
        this.m.reports.inc({ kind: 'close' });
        log.info('session closed by daemon', { entity, daemon: live.daemon });
        return true;
      } else {
        this.m.rejected.inc({ reason: 'empty' });
        throw new Refusal('invalid', 'empty session message: set one of open, report, pg_stats, close');
      }
      return false;
    };
    try {
      const it = requests[Symbol.asyncIterator]();
      // cleared before waiting for the following message (see onFrame)
      let next: IteratorResult<SessionFrame> | null;
      while (true) {
        next = await nextOrEnd(it);
        if (next === null) {
          void it.return?.();
          if (ended) log.info('session ended by the server', { entity, daemon: live?.daemon, reason: ended });
          return;
        }
        if (next.done) {
          if (live) log.info('session stream ended without close', { entity, daemon: live.daemon });
          return;
        }
        if (await onFrame(next.value)) return;
        next = null;
      }
    } finally {
      if (schema) this.d.counterLimits.release(schema.size);
      this.readers.delete(onShutdown);
      signal.removeEventListener('abort', onShutdown);
      if (live && this.sessions.get(live.daemon) === live) this.sessions.delete(live.daemon);
      this.m.sessions.set(this.sessions.size);
    }
  }
}
