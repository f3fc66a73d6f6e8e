// The command path (Ceph's DaemonServer::handle_command): the prefix is
// looked up among daemon-server's own commands (commands.ts) and
// module-host's (command-table.ts: indexed by prefix, refreshed behind), caps are
// checked, arguments validated against the descriptor, then the command
// runs natively or in its module. Every decision is logged on the audit
// channel. No gRPC here: call-level refusals are Refusals, peers' failures
// arrive as PeerFailures from the adapters in peers.ts.
import * as prom from 'prom-client';
import type { Logger } from '../../../lib/log';
import type { CommandDescriptor, CommandResult } from '../../../lib/gen/ceph/mgr/v1/common';
import type { ModuleStatus } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { ArgumentError, parseSignature, usage, validateArgs } from '../../../lib/command-descriptor';
import { CommandTable, CommandEntry as TableEntry } from './command-table';
import { Caller, isCapable } from './auth';
import { CommandFailure, PeerFailure, Refusal } from './errors';
import { EINVAL, EIO, ENOENT } from '../../../lib/errno';
import { COMMAND_TABLE } from './commands';
import type { Monitors } from './monitor/monitors';
import type { MgrLocalConfig, NativeCommand, NativeContext, StandbyApi } from './native';

/** One row of the command table: a descriptor with its parsed signature and where it runs. */
export type CommandEntry = TableEntry<NativeCommand>;

/** What the command path needs from this manager's module-host. */
export interface ModuleHostApi {
  /** Rejects with a PeerFailure ('deadline' past timeoutMs, 'cancelled' when signal aborts, 'unavailable'). */
  handleCommand(
    req: { prefix: string; args: string; inbuf: Uint8Array; entity: string; module: string },
    call: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ result?: CommandResult; module: string }>;
  listCommands(): Promise<CommandDescriptor[]>;
  listModules(): Promise<ModuleStatus[]>;
}

/** A command as it arrives: prefix, args as JSON text, the input buffer. */
export interface CommandRequest {
  prefix: string;
  args: string;
  inbuf: Uint8Array;
}

export interface CommandPathDeps {
  log: Logger;
  registry: prom.Registry;
  /** cluster-state's Get(what), parsed JSON. */
  getView(what: string): Promise<unknown>;
  /** One `audit` cluster-log line: DBG for reads, INF for writes, WRN for refusals and failures (as Ceph's monitors log them). */
  appendAudit(message: string, priority: AuditPriority): void;
  moduleHost: ModuleHostApi | null;
  standby: StandbyApi | null;
  /** The cluster's monitors: where the monitors' commands go (domain/monitor/monitors.ts). */
  monitors: Monitors;
  /** Sends a scrub to each OSD's session; returns the OSDs without one (sessions.ts). */
  scrubOsds(osds: number[], how: { deep: boolean; repair: boolean }): number[];
  config: MgrLocalConfig;
  commandTimeoutMs: number;
  maxInbufBytes: number;
  moduleCommandsTtlMs: number;
}

const NATIVE_ENTRIES: CommandEntry[] = COMMAND_TABLE.map((n) => ({
  desc: { cmd: n.cmd, desc: n.desc, perm: n.perm, module: 'mgr', poll: false },
  sig: parseSignature(n.cmd),
  native: n,
}));

const NOT_JSON = 'args is not JSON';

/** How deep a command's JSON arguments may nest: Ceph's are flat (a list of strings at most). */
export const MAX_ARGS_DEPTH = 8;

/** What the audit line says the command was: filled in as the request is read. */
export interface AuditSubject {
  prefix: string;
  args: Record<string, unknown>;
  /** The command may change something (its perm has 'w' or 'x'). */
  write?: boolean;
}

export type AuditPriority = 'DBG' | 'INF' | 'WRN';

/** Arguments whose values stay out of the audit line (passwords, keys, tokens: Ceph sends most through inbuf, which is never logged). */
const SECRET_ARG = /pass|secret|token|^val(ue)?$|cert|private/i;

/** The command as the audit line shows it: Ceph's `{"prefix": ..., args...}`, secret values replaced, bounded in length. */
/** A command's arguments for an audit line: secret-looking values hidden, at most 1 KiB. */
export function auditArgs(seen: AuditSubject): string {
  const shown: Record<string, unknown> = { prefix: seen.prefix };
  for (const [k, v] of Object.entries(seen.args)) if (k !== 'prefix') shown[k] = SECRET_ARG.test(k) ? '<hidden>' : v;
  const text = JSON.stringify(shown);
  return text.length > 1024 ? `${text.slice(0, 1024)}...` : text;
}

/** The first line of a message, at most 200 characters (audit lines). */
/** A refusal's reason as the audit line shows it: a JSON parser's message quotes the arguments (which may hold a secret), so it is left out. */
function auditableReason(message: string): string {
  return message.startsWith(NOT_JSON) ? NOT_JSON : message;
}

export function firstLine(text: string): string {
  const line = text.split('\n', 1)[0];
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** Nesting depth of a parsed JSON value, counted without recursion and only up to `limit` + 1. */
function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 1 }];
  while (stack.length) {
    const { v, d } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    deepest = Math.max(deepest, d);
    if (d > limit) return d;
    for (const child of Object.values(v)) stack.push({ v: child, d: d + 1 });
  }
  return deepest;
}

export class CommandPath {
  private readonly table: CommandTable<NativeCommand>;
  private readonly m: { commands: prom.Counter; denied: prom.Counter };

  constructor(private readonly d: CommandPathDeps) {
    const mh = d.moduleHost;
    this.table = new CommandTable<NativeCommand>({
      native: NATIVE_ENTRIES,
      listModuleCommands: mh ? () => mh.listCommands() : null,
      ttlMs: d.moduleCommandsTtlMs,
      onWarn: (msg, fields) => d.log.warn(msg, fields),
    });
    const r = [d.registry];
    this.m = {
      commands: new prom.Counter({
        name: 'mgr_daemon_server_commands_total',
        help: 'commands answered, by route and return code',
        labelNames: ['route', 'retcode'],
        registers: r,
      }),
      denied: new prom.Counter({ name: 'mgr_daemon_server_commands_denied_total', help: 'commands refused for lack of caps', registers: r }),
    };
  }

  async allCommands(): Promise<CommandEntry[]> {
    return this.table.all();
  }

  /**
   * Runs one command for an authenticated caller: call-level problems are
   * Refusals, command-level outcomes the CommandResult's retcode.
   * `onBehalfOf` names the module a manager sends for (audit);
   * `signal` is the caller's: cancelling it cancels a module command.
   */
  async run(req: CommandRequest, caller: Caller, onBehalfOf = '', signal?: AbortSignal): Promise<CommandResult> {
    // Every command, whatever its outcome, leaves exactly one audit line.
    const seen: AuditSubject = { prefix: req.prefix.trim().replace(/\s+/g, ' '), args: {} };
    const audit = (outcome: string, priority: AuditPriority) =>
      this.d.appendAudit(`from='${onBehalfOf || caller.entity}' entity='${caller.entity}' cmd=[${auditArgs(seen)}]: ${outcome}`, priority);
    try {
      const result = await this.runAudited(req, caller, onBehalfOf, signal, seen);
      if (result.retcode === 0) audit('finished', seen.write ? 'INF' : 'DBG');
      else audit(`failed (${result.retcode}): ${firstLine(result.stderr)}`, 'WRN');
      return result;
    } catch (e) {
      if (e instanceof Refusal) audit(e.kind === 'denied' ? 'access denied' : `refused (${e.kind}): ${firstLine(auditableReason(e.message))}`, 'WRN');
      else audit(`failed: ${firstLine((e as Error)?.message ?? String(e))}`, 'WRN');
      throw e;
    }
  }

  /**
   * A command refused before it is looked at (a forged x-mgr-on-behalf-of):
   * audited as any refusal, under the caller's own entity, then thrown.
   */
  refuse(req: CommandRequest, caller: Caller, refusal: Refusal): never {
    const seen: AuditSubject = { prefix: req.prefix.trim().replace(/\s+/g, ' '), args: {} };
    this.d.appendAudit(`from='${caller.entity}' entity='${caller.entity}' cmd=[${auditArgs(seen)}]: access denied`, 'WRN');
    throw refusal;
  }

  private async runAudited(
    req: CommandRequest,
    caller: Caller,
    onBehalfOf: string,
    signal: AbortSignal | undefined,
    seen: AuditSubject,
  ): Promise<CommandResult> {
    let { prefix } = req;
    const { args: argsText, inbuf } = req;
    // Call-level checks: is the request well-formed at all?
    if (inbuf.byteLength > this.d.maxInbufBytes) {
      throw new Refusal('exhausted', `inbuf is ${inbuf.byteLength} bytes; the largest accepted is ${this.d.maxInbufBytes} (MGR_COMMAND_MAX_INBUF_BYTES)`);
    }
    let args: Record<string, unknown> = {};
    if (argsText.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(argsText);
      } catch (e) {
        throw new Refusal('invalid', `${NOT_JSON}: ${(e as Error).message}; send a JSON object such as {"format":"json"}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new Refusal('invalid', 'args must be a JSON object, e.g. {"format":"json","pool":"rbd"}');
      }
      const depth = jsonDepth(parsed, MAX_ARGS_DEPTH);
      if (depth > MAX_ARGS_DEPTH) {
        throw new Refusal(
          'invalid',
          `args nest deeper than ${MAX_ARGS_DEPTH} levels; a command's arguments are a flat JSON object of strings, numbers and lists`,
        );
      }
      args = parsed as Record<string, unknown>;
      seen.args = args;
    }
    prefix = prefix.trim().replace(/\s+/g, ' ');
    if (!prefix && typeof args.prefix === 'string') prefix = args.prefix;
    seen.prefix = prefix;
    if (!prefix) throw new Refusal('invalid', 'prefix is empty: name the command, e.g. "pg stat"');
    if (args.prefix !== undefined && args.prefix !== prefix) {
      throw new Refusal('invalid', `args.prefix '${String(args.prefix)}' does not match prefix '${prefix}'`);
    }

    const lookupStart = Date.now();
    const candidates = await this.table.lookup(prefix);
    const lookupMs = Date.now() - lookupStart;
    // A manager's module-host sends its modules' commands (sendCommand) as
    // mgr.<name>, naming the module in x-mgr-on-behalf-of: audit shows both.
    const log = this.d.log.child({ entity: caller.entity, prefix, ...(onBehalfOf ? { on_behalf_of: onBehalfOf } : {}) });
    if (!candidates.length && this.table.listError && !this.table.hasModuleList) {
      // Not a native command, and module-host cannot say whether it is one
      // of the modules': the failure is module-host's, not the command's.
      throw new Refusal(
        'unavailable',
        `module-host is unavailable (${this.table.listError}): '${prefix}' is not a native command and the modules' commands cannot be listed`,
      );
    }
    if (!candidates.length) {
      this.m.commands.inc({ route: 'none', retcode: String(EINVAL) });
      return { retcode: EINVAL, stdout: '', stderr: `No handler found for '${prefix}'` };
    }
    const entry = candidates[0];
    seen.write = /[wx]/.test(entry.desc.perm);
    const capReq = entry.native
      ? { service: entry.native.service, module: '', prefix, perm: entry.desc.perm }
      : { service: 'py', module: entry.desc.module, prefix, perm: entry.desc.perm };
    if (!isCapable(caller.grants, capReq)) {
      this.m.denied.inc();
      log.warn('command denied', { channel: 'audit', perm: entry.desc.perm });
      throw new Refusal(
        'denied',
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
    // lookupMs: finding the command (a module's asks module-host when the table is cold or stale)
    log.info('dispatch', { channel: 'audit', route: chosen.native ? 'native' : `module:${chosen.desc.module}`, lookupMs });

    let result: CommandResult;
    if (chosen.native) {
      result = await this.runNative(chosen.native, validated, inbuf, caller);
      this.m.commands.inc({ route: 'native', retcode: String(result.retcode) });
    } else {
      result = await this.runModule(prefix, chosen.desc.module, validated, inbuf, caller, signal);
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
      scrubOsds: (osds, how) => this.d.scrubOsds(osds, how),
    };
    try {
      return await cmd.run(ctx);
    } catch (e) {
      if (e instanceof CommandFailure) return { retcode: e.retcode, stdout: '', stderr: e.message };
      if (e instanceof Refusal) throw e;
      // A peer (cluster-state, standby) failing is the command's failure, told plainly.
      if (e instanceof PeerFailure) {
        if (e.kind === 'unavailable') throw new Refusal('unavailable', `a peer service is unavailable: ${e.message}`);
        if (e.kind === 'not_found') return { retcode: ENOENT, stdout: '', stderr: e.message };
        if (e.kind === 'precondition') return { retcode: -1, stdout: '', stderr: e.message };
      }
      this.d.log.error('native command failed', { prefix: cmd.cmd.split(' name=')[0], error: (e as Error)?.stack ?? String(e) });
      return { retcode: EIO, stdout: '', stderr: `command failed: ${(e as Error).message}` };
    }
  }

  private async runModule(
    prefix: string,
    module: string,
    args: Record<string, unknown>,
    inbuf: Uint8Array,
    caller: Caller,
    signal: AbortSignal | undefined,
  ): Promise<CommandResult> {
    const mh = this.d.moduleHost!;
    try {
      const res = await mh.handleCommand(
        { prefix, args: JSON.stringify({ prefix, ...args }), inbuf, entity: caller.entity, module },
        { timeoutMs: this.d.commandTimeoutMs, signal },
      );
      return res.result ?? { retcode: EIO, stdout: '', stderr: 'module-host returned no result' };
    } catch (e) {
      if (e instanceof PeerFailure && e.kind === 'deadline') {
        throw new Refusal('deadline', `module command '${prefix}' did not answer within ${this.d.commandTimeoutMs} ms (MGR_COMMAND_TIMEOUT_MS)`);
      }
      // The connection to module-host dropped mid-call (it died, or is
      // restarting), or the caller went away: a peer failure, so the client
      // may send again, perhaps to a new active manager.
      if (e instanceof PeerFailure && (e.kind === 'unavailable' || e.kind === 'cancelled')) {
        throw new Refusal('unavailable', `module-host is unavailable: ${e.message}`);
      }
      this.d.log.warn('module command failed', { prefix, error: (e as Error).message });
      return { retcode: EIO, stdout: '', stderr: `module command failed: ${(e as Error).message}` };
    }
  }
}
