// gRPC handlers of DaemonServerService: authentication, the Session stream
// (validation, schema, configure pushes) and the Command path (parse, caps,
// validate, dispatch). The logic lives in domain/.
import { CallContext, Metadata, ServerError, Status } from 'nice-grpc';
import * as prom from 'prom-client';
import type { Logger } from '../../lib/log';
import type { DaemonReport } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import type { CommandDescriptor, CommandResult } from '../../lib/gen/ceph/mgr/v1/common';
import type { SessionResponse } from '../../lib/gen/ceph/mgr/v1/daemon_server';
import type { ServiceImplementation } from 'nice-grpc';
import type { DaemonServerServed, SessionFrame } from '../../lib/session-wire';
import { ArgumentError, parseSignature, usage, validateArgs } from './domain/argspec';
import { CommandTable, CommandEntry as TableEntry } from './domain/command-table';
import { Grant, isCapable, mayOpenSession, Principal } from './domain/auth';
import { keysEqual } from '../../lib/keyring';
import { emptyReport, Ingest } from './domain/ingest';
import { CommandFailure, EINVAL, EIO, MgrLocalConfig, NativeCommand, NativeContext, StandbyApi } from './domain/native';
import { COMMAND_TABLE } from './domain/commands';
import type { Monitors } from './domain/monitor/monitors';
import { checkDaemonName, SchemaError, SessionSchema } from './domain/session';
import type { ModuleStatus } from '../../lib/gen/ceph/mgr/v1/module_host';

export interface Caller {
  entity: string;
  grants: Grant[];
}

/** Checks x-mgr-entity / x-mgr-key against the keyring (or lets anyone in when auth is off). */
export class Authenticator {
  constructor(
    private readonly keyring: Map<string, Principal> | null,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.keyring !== null;
  }

  authenticate(md: Metadata): Caller {
    const entity = md.get('x-mgr-entity') ?? '';
    if (!this.keyring) return { entity: entity || 'client.admin', grants: [{ kind: 'all' }] };
    const key = md.get('x-mgr-key') ?? '';
    if (!entity || !key) {
      throw new ServerError(
        Status.UNAUTHENTICATED,
        'no credentials: send the x-mgr-entity and x-mgr-key headers (mgrctl reads them from the keyring, MGR_KEYRING)',
      );
    }
    const entry = this.keyring.get(entity);
    if (!entry || !keysEqual(entry.key, key)) {
      this.log.warn('authentication failed', { channel: 'audit', entity });
      throw new ServerError(Status.UNAUTHENTICATED, `authentication failed for '${entity}': unknown entity or wrong key`);
    }
    return { entity, grants: entry.grants };
  }
}

/** One row of the command table: a descriptor with its parsed signature and where it runs. */
export type CommandEntry = TableEntry<NativeCommand>;

export interface ModuleHostApi {
  handleCommand(
    req: { prefix: string; args: string; inbuf: Uint8Array; entity: string; module: string },
    timeoutMs: number,
  ): Promise<{ result?: CommandResult; module: string }>;
  listCommands(): Promise<CommandDescriptor[]>;
  listModules(): Promise<ModuleStatus[]>;
}

export interface HandlerDeps {
  log: Logger;
  registry: prom.Registry;
  auth: Authenticator;
  ingest: Ingest;
  shutdownSignal: AbortSignal;
  /** cluster-state's Get(what), parsed JSON. */
  getView(what: string): Promise<unknown>;
  appendAudit(message: string): void;
  moduleHost: ModuleHostApi | null;
  standby: StandbyApi | null;
  /** The cluster's monitors: where the monitors' commands go (domain/monitor/monitors.ts). */
  monitors: Monitors;
  config: MgrLocalConfig;
  /** The current configure settings. */
  statsPeriod(): number;
  statsThreshold(): number;
  commandTimeoutMs: number;
  maxInbufBytes: number;
  /** How long a session may wait for pg-stats room before it is ended. */
  pgBackpressureMs: number;
  moduleCommandsTtlMs: number;
  /**
   * null while this instance is the active manager; otherwise why not
   * (naming the active's address): sessions and commands then get
   * UNAVAILABLE with that message, so clients move to the active.
   */
  notActive?: () => string | null;
}

const NATIVE_ENTRIES: CommandEntry[] = COMMAND_TABLE.map((n) => ({
  desc: { cmd: n.cmd, desc: n.desc, perm: n.perm, module: 'mgr', poll: false },
  sig: parseSignature(n.cmd),
  native: n,
}));

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
}

export class DaemonServerHandlers {
  private sessions = new Map<string, LiveSession>();
  private nextSessionId = 1;
  private readonly table: CommandTable<NativeCommand>;
  private readonly m: {
    sessions: prom.Gauge;
    reports: prom.Counter;
    rejected: prom.Counter;
    refused: prom.Counter;
    commands: prom.Counter;
    denied: prom.Counter;
  };

  constructor(private readonly d: HandlerDeps) {
    const mh = d.moduleHost;
    this.table = new CommandTable<NativeCommand>({
      native: NATIVE_ENTRIES,
      listModuleCommands: mh ? () => mh.listCommands() : null,
      ttlMs: d.moduleCommandsTtlMs,
      onWarn: (msg, fields) => d.log.warn(msg, fields),
    });
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
      commands: new prom.Counter({
        name: 'mgr_daemon_server_commands_total',
        help: 'commands answered, by route and return code',
        labelNames: ['route', 'retcode'],
        registers: r,
      }),
      denied: new prom.Counter({ name: 'mgr_daemon_server_commands_denied_total', help: 'commands refused for lack of caps', registers: r }),
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

  endAllSessions(reason: string): void {
    for (const s of [...this.sessions.values()]) s.end(reason);
  }

  private configureMsg(): SessionResponse {
    return { msg: { $case: 'configure', value: { statsPeriod: this.d.statsPeriod(), statsThreshold: this.d.statsThreshold() } } };
  }

  implementation(): ServiceImplementation<typeof DaemonServerServed> {
    return {
      session: (requests, context) => this.session(requests, context),
      command: async (req, context) => ({ result: await this.command(req.prefix, req.args, req.inbuf, context) }),
      getCommandDescriptions: async (_req, context) => {
        this.d.auth.authenticate(context.metadata);
        this.requireActive();
        return { commands: (await this.allCommands()).map((e) => e.desc) };
      },
    };
  }

  private requireActive(): void {
    const why = this.d.notActive?.();
    if (why) throw new ServerError(Status.UNAVAILABLE, why);
  }

  // ---------------------------------------------------------------- sessions

  private async *session(requests: AsyncIterable<SessionFrame>, context: CallContext): AsyncGenerator<SessionResponse> {
    const caller = this.d.auth.authenticate(context.metadata);
    this.requireActive();
    const outbox = new Outbox<SessionResponse>();
    const reader = this.readSession(requests, caller, outbox, context.signal);
    reader.then(
      () => outbox.close(),
      (e) => outbox.close(e),
    );
    yield* outbox.drain();
  }

  private async readSession(requests: AsyncIterable<SessionFrame>, caller: Caller, outbox: Outbox<SessionResponse>, signal: AbortSignal): Promise<void> {
    let live: LiveSession | null = null;
    let schema: SessionSchema | null = null;
    let ended: string | null = null;
    const log = this.d.log.child({ entity: caller.entity });
    const endController = new AbortController();
    const stop = new AbortController();
    const onShutdown = () => stop.abort();
    this.d.shutdownSignal.addEventListener('abort', onShutdown);
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
    try {
      const it = requests[Symbol.asyncIterator]();
      while (true) {
        const next = await nextOrEnd(it);
        if (next === null) {
          void it.return?.();
          if (ended) log.info('session ended by the server', { daemon: live?.daemon, reason: ended });
          return;
        }
        if (next.done) {
          if (live) log.info('session stream ended without close', { daemon: live.daemon });
          return;
        }
        const m = next.value.msg;
        if (m?.$case === 'invalid') {
          this.m.refused.inc({ reason: 'undecodable' });
          throw new ServerError(Status.INVALID_ARGUMENT, m.value);
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
            throw new ServerError(Status.INVALID_ARGUMENT, err);
          }
          if (!mayOpenSession(caller.grants, msg.open.daemonName)) {
            this.m.refused.inc({ reason: 'denied' });
            log.warn('session refused: caps', { channel: 'audit', daemon: msg.open.daemonName });
            throw new ServerError(
              Status.PERMISSION_DENIED,
              `access denied: '${caller.entity}' may not open a session for ${msg.open.daemonName} (needs mgr caps 'allow *' or 'allow profile ${msg.open.daemonName.split('.')[0]}')`,
            );
          }
          if (live && live.daemon !== msg.open.daemonName) {
            throw new ServerError(Status.FAILED_PRECONDITION, `this session is already open for ${live.daemon}; open a new stream for ${msg.open.daemonName}`);
          }
          const daemon = msg.open.daemonName;
          const previous = this.sessions.get(daemon);
          if (previous && previous !== live) {
            previous.end(`replaced by a new session for ${daemon}`);
            log.info('session replaced', { daemon });
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
          };
          this.sessions.set(daemon, live);
          this.m.sessions.set(this.sessions.size);
          schema = new SessionSchema();
          this.d.ingest.addReport({
            ...emptyReport(daemon),
            opened: true,
            serviceName: msg.open.serviceName,
            serviceDaemon: msg.open.serviceDaemon,
            metadata: msg.open.metadata,
            status: msg.open.daemonStatus,
            hasStatus: msg.open.serviceDaemon,
          });
          outbox.push(this.configureMsg());
          this.m.reports.inc({ kind: 'open' });
          log.info('session opened', { daemon, service: msg.open.serviceName || undefined });
          continue;
        }
        if (!live || !schema) {
          this.m.refused.inc({ reason: 'not_open' });
          throw new ServerError(Status.FAILED_PRECONDITION, 'session not open: send open (daemon name, metadata) first');
        }
        if (msg.report) {
          const r = msg.report;
          if (r.packed.length) {
            this.m.refused.inc({ reason: 'deprecated_packed' });
            throw new ServerError(
              Status.INVALID_ARGUMENT,
              "SessionReport.packed (varints in declaration order) is no longer accepted: send counter_values, Ceph's packed layout (proto/ceph/mgr/v1/daemon_server.proto)",
            );
          }
          try {
            schema.check(r.declareTypes, r.undeclareTypes, r.counterValues);
          } catch (e) {
            if (!(e instanceof SchemaError)) throw e;
            this.m.rejected.inc({ reason: 'schema' });
            log.warn('report rejected', { daemon: live.daemon, reason: e.message });
            continue; // the session stays; the next report may be fine
          }
          schema.apply(r.declareTypes, r.undeclareTypes);
          const report: DaemonReport = {
            ...emptyReport(live.daemon),
            declare: r.declareTypes,
            undeclare: r.undeclareTypes,
            // Ceph's packed bytes, forwarded as they came
            counterValues: r.counterValues?.length ? r.counterValues : undefined,
            stamp: Date.now() / 1000,
            status: r.daemonStatus,
            hasStatus: r.hasDaemonStatus,
            taskStatus: r.taskStatus,
            healthMetrics: r.daemonHealthMetrics,
          };
          this.d.ingest.addReport(report);
          this.m.reports.inc({ kind: 'report' });
        } else if (msg.pgStats) {
          const type = live.daemon.split('.')[0];
          if (type !== 'osd') {
            this.m.rejected.inc({ reason: 'pg_stats_not_osd' });
            log.warn('pg stats rejected: not an OSD', { daemon: live.daemon });
            continue;
          }
          if (msg.pgStats.json?.length) {
            this.m.refused.inc({ reason: 'deprecated_json' });
            throw new ServerError(
              Status.INVALID_ARGUMENT,
              'SessionPgStats.json is no longer accepted: send report, the typed PgStatsReport (proto/ceph/mgr/v1/pg_stats.proto)',
            );
          }
          // Not decoded here: cluster-state decodes it once and its refusals
          // are counted (mgr_daemon_server_upstream_rejected_total).
          const report = msg.pgStats.report;
          if (!report?.length) {
            this.m.rejected.inc({ reason: 'pg_stats_empty' });
            log.warn('pg stats rejected: no report', { daemon: live.daemon });
            continue;
          }
          if (!this.d.ingest.hasPgRoom()) {
            // Back-pressure: stop reading this session until there is room.
            this.m.refused.inc({ reason: 'pg_backpressure' });
            const room = await this.d.ingest.waitForPgRoom(this.d.pgBackpressureMs, stop.signal);
            if (!room) {
              this.m.refused.inc({ reason: 'pg_queue_full' });
              log.warn('session ended: pg stats queue full', { daemon: live.daemon, pending: this.d.ingest.pendingPgStats });
              throw new ServerError(
                Status.RESOURCE_EXHAUSTED,
                `pg stats queue is full (${this.d.ingest.pendingPgStats} waiting): cluster-state is not keeping up; reconnect and resend later`,
              );
            }
          }
          this.d.ingest.addPgStats({ osd: Number(live.daemon.slice(4)), epoch: msg.pgStats.epoch, stamp: Date.now() / 1000, report });
          this.m.reports.inc({ kind: 'pg_stats' });
        } else if (msg.close) {
          this.d.ingest.addReport({ ...emptyReport(live.daemon), closed: true });
          this.m.reports.inc({ kind: 'close' });
          log.info('session closed by daemon', { daemon: live.daemon });
          return;
        } else {
          this.m.rejected.inc({ reason: 'empty' });
          throw new ServerError(Status.INVALID_ARGUMENT, 'empty session message: set one of open, report, pg_stats, close');
        }
      }
    } finally {
      this.d.shutdownSignal.removeEventListener('abort', onShutdown);
      signal.removeEventListener('abort', onShutdown);
      if (live && this.sessions.get(live.daemon) === live) this.sessions.delete(live.daemon);
      this.m.sessions.set(this.sessions.size);
    }
  }

  // ---------------------------------------------------------------- commands

  async allCommands(): Promise<CommandEntry[]> {
    return this.table.all();
  }

  async command(prefix: string, argsText: string, inbuf: Uint8Array, context: CallContext): Promise<CommandResult> {
    const caller = this.d.auth.authenticate(context.metadata);
    this.requireActive();
    // Call-level checks: is the request well-formed at all?
    if (inbuf.byteLength > this.d.maxInbufBytes) {
      throw new ServerError(
        Status.RESOURCE_EXHAUSTED,
        `inbuf is ${inbuf.byteLength} bytes; the largest accepted is ${this.d.maxInbufBytes} (MGR_COMMAND_MAX_INBUF_BYTES)`,
      );
    }
    let args: Record<string, unknown> = {};
    if (argsText.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(argsText);
      } catch (e) {
        throw new ServerError(Status.INVALID_ARGUMENT, `args is not JSON: ${(e as Error).message}; send a JSON object such as {"format":"json"}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new ServerError(Status.INVALID_ARGUMENT, 'args must be a JSON object, e.g. {"format":"json","pool":"rbd"}');
      }
      args = parsed as Record<string, unknown>;
    }
    prefix = prefix.trim().replace(/\s+/g, ' ');
    if (!prefix && typeof args.prefix === 'string') prefix = args.prefix;
    if (!prefix) throw new ServerError(Status.INVALID_ARGUMENT, 'prefix is empty: name the command, e.g. "pg stat"');
    if (args.prefix !== undefined && args.prefix !== prefix) {
      throw new ServerError(Status.INVALID_ARGUMENT, `args.prefix '${String(args.prefix)}' does not match prefix '${prefix}'`);
    }

    const candidates = await this.table.lookup(prefix);
    // A manager's module-host sends its modules' commands (sendCommand) as
    // mgr.<name>, naming the module in x-mgr-on-behalf-of: audit shows both.
    const onBehalfOf = context.metadata.get('x-mgr-on-behalf-of');
    const log = this.d.log.child({ entity: caller.entity, prefix, ...(onBehalfOf ? { on_behalf_of: onBehalfOf } : {}) });
    if (!candidates.length) {
      this.m.commands.inc({ route: 'none', retcode: String(EINVAL) });
      return { retcode: EINVAL, stdout: '', stderr: `No handler found for '${prefix}'` };
    }
    const entry = candidates[0];
    const capReq = entry.native
      ? { service: entry.native.service, module: '', prefix, perm: entry.desc.perm }
      : { service: 'py', module: entry.desc.module, prefix, perm: entry.desc.perm };
    if (!isCapable(caller.grants, capReq)) {
      this.m.denied.inc();
      const line = `from='${onBehalfOf || caller.entity}' entity='${caller.entity}' cmd=[${JSON.stringify({ prefix, ...args })}]: access denied`;
      log.warn('command denied', { channel: 'audit', perm: entry.desc.perm });
      this.d.appendAudit(line);
      throw new ServerError(
        Status.PERMISSION_DENIED,
        'access denied: does your client key have mgr caps? See http://docs.ceph.com/en/latest/mgr/administrator/#client-authentication',
      );
    }

    let validated: Record<string, unknown> | null = null;
    let firstError: ArgumentError | null = null;
    let chosen = entry;
    for (const c of candidates) {
      try {
        validated = validateArgs(c.sig, args);
        chosen = c;
        break;
      } catch (e) {
        if (!(e instanceof ArgumentError)) throw e;
        firstError ??= e;
      }
    }
    if (!validated) {
      this.m.commands.inc({ route: entry.native ? 'native' : 'module', retcode: String(EINVAL) });
      return { retcode: EINVAL, stdout: '', stderr: `Invalid command: ${firstError!.message}\n${usage(entry.sig)} :  ${entry.desc.desc}` };
    }
    log.info('dispatch', { channel: 'audit', route: chosen.native ? 'native' : `module:${chosen.desc.module}` });

    let result: CommandResult;
    if (chosen.native) {
      result = await this.runNative(chosen.native, validated, inbuf, caller);
      this.m.commands.inc({ route: 'native', retcode: String(result.retcode) });
    } else {
      result = await this.runModule(prefix, chosen.desc.module, validated, inbuf, caller);
      this.m.commands.inc({ route: 'module', retcode: String(result.retcode) });
    }
    if (result.retcode !== 0) log.info('command failed', { retcode: result.retcode, stderr: result.stderr.slice(0, 200) });
    return result;
  }

  private async runNative(cmd: NativeCommand, args: Record<string, unknown>, inbuf: Uint8Array, caller: Caller): Promise<CommandResult> {
    const ctx: NativeContext = {
      args,
      inbuf,
      entity: caller.entity,
      get: (what) => this.d.getView(what),
      standby: this.d.standby,
      listModules: this.d.moduleHost ? () => this.d.moduleHost!.listModules() : null,
      config: this.d.config,
      descriptions: async () => (await this.allCommands()).map((e) => ({ ...e.desc, monitor: !!e.native?.monitor })),
      monitors: this.d.monitors,
      scrubOsds: (osds, how) => this.scrubOsds(osds, how),
    };
    try {
      return await cmd.run(ctx);
    } catch (e) {
      if (e instanceof CommandFailure) return { retcode: e.retcode, stdout: '', stderr: e.message };
      if (e instanceof ServerError && e.code === Status.UNAVAILABLE) throw e;
      const err = e as { code?: number; details?: string; message?: string };
      // A peer (cluster-state, standby) failing is the command's failure, told plainly.
      if (typeof err.code === 'number' && err.code === Status.UNAVAILABLE) {
        throw new ServerError(Status.UNAVAILABLE, `a peer service is unavailable: ${err.details ?? err.message}`);
      }
      if (typeof err.code === 'number' && err.code === Status.NOT_FOUND) return { retcode: -2, stdout: '', stderr: err.details ?? String(err.message) };
      if (typeof err.code === 'number' && err.code === Status.FAILED_PRECONDITION)
        return { retcode: -1, stdout: '', stderr: err.details ?? String(err.message) };
      this.d.log.error('native command failed', { prefix: cmd.cmd.split(' name=')[0], error: (e as Error)?.stack ?? String(e) });
      return { retcode: EIO, stdout: '', stderr: `command failed: ${err.details ?? err.message}` };
    }
  }

  private async runModule(prefix: string, module: string, args: Record<string, unknown>, inbuf: Uint8Array, caller: Caller): Promise<CommandResult> {
    const mh = this.d.moduleHost!;
    try {
      const res = await mh.handleCommand({ prefix, args: JSON.stringify({ prefix, ...args }), inbuf, entity: caller.entity, module }, this.d.commandTimeoutMs);
      return res.result ?? { retcode: EIO, stdout: '', stderr: 'module-host returned no result' };
    } catch (e) {
      const err = e as { code?: number; details?: string; message?: string };
      if (err.code === Status.DEADLINE_EXCEEDED) {
        throw new ServerError(
          Status.DEADLINE_EXCEEDED,
          `module command '${prefix}' did not answer within ${this.d.commandTimeoutMs} ms (MGR_COMMAND_TIMEOUT_MS)`,
        );
      }
      // The connection to module-host dropped mid-call (it died, or is
      // restarting): a peer failure, so the client may send again, perhaps
      // to a new active manager.
      if (
        err.code === Status.UNAVAILABLE ||
        err.code === Status.CANCELLED ||
        (err.code === Status.INTERNAL && /RST_STREAM|connection|socket/i.test(String(err.details ?? err.message)))
      ) {
        throw new ServerError(Status.UNAVAILABLE, `module-host is unavailable: ${err.details ?? err.message}`);
      }
      this.d.log.warn('module command failed', { prefix, error: err.details ?? err.message });
      return { retcode: EIO, stdout: '', stderr: `module command failed: ${err.details ?? err.message}` };
    }
  }
}
