// `ceph tell mgr ...`: in Pacific the manager answers an MCommand from its
// admin-socket table (help, version, mgr_status, perf dump, config ...),
// and the CLI first asks that table (`get_command_descriptions`) and
// refuses by itself what is not in it. This is that table, answered with
// this manager's own facts, plus the JSON form of command descriptions the
// CLI reads (Ceph's dump_cmd_to_json: literal words as strings, each
// argument an object of its descriptor's keys, every value a string).
// Sources: src/common/admin_socket.cc (help, get_command_descriptions,
// version), src/common/cmdparse.cc (dump_cmd_to_json), src/mgr/Mgr.cc
// (mgr_status), src/common/perf_counters.cc (perf dump/schema JSON),
// the table a Pacific manager sent (shared/ceph-wire/vectors, pcap 03).
import { ArgumentError, parseSignature, usage, validateArgs } from '../../../lib/command-descriptor';
import type { MgrLocalConfig } from '../domain/native';
import { EINVAL, ENOENT } from '../../../lib/errno';

/** A command description as the CLI reads it. */
export interface CephCommandDescription {
  sig: Array<string | Record<string, string>>;
  help: string;
  module?: string;
  perm?: string;
  flags?: number;
}

/** A descriptor ("config get name=var,type=CephString") in Ceph's JSON form. */
export function cephSignature(cmd: string): Array<string | Record<string, string>> {
  return cmd
    .split(' ')
    .filter(Boolean)
    .map((word) => {
      if (!/[,=]/.test(word)) return word;
      const desc: Record<string, string> = {};
      for (const part of word.split(',')) {
        const eq = part.indexOf('=');
        if (eq < 0) desc[part] = '';
        else desc[part.slice(0, eq)] = part.slice(eq + 1);
      }
      return desc;
    });
}

/** `{"cmd000": {...}, "cmd001": ...}`, the shape of every get_command_descriptions answer. */
export function describeCommands(descs: Array<{ cmd: string; desc: string; module?: string; perm?: string }>): string {
  const out: Record<string, CephCommandDescription> = {};
  descs.forEach((d, i) => {
    const entry: CephCommandDescription = { sig: cephSignature(d.cmd), help: d.desc };
    if (d.module !== undefined) Object.assign(entry, { module: d.module, perm: d.perm ?? 'r', flags: 0 });
    out[`cmd${String(i).padStart(3, '0')}`] = entry;
  });
  return JSON.stringify(out, null, 4) + '\n';
}

/** One counter of this manager's own `perf dump`. */
export interface OwnCounter {
  name: string;
  description: string;
  /** 'gauge' (a level) or 'counter' (only grows). */
  kind: 'gauge' | 'counter';
  value: number;
}

export interface TellContext {
  /** The MgrMap epoch this manager knows (0 before any). */
  mgrmapEpoch(): number;
  /** Whether this manager has started serving (cluster-state reached, front door up). */
  initialized(): boolean;
  config: MgrLocalConfig;
  /** This manager's own counters, by logger name (Ceph's perf counter collections). */
  perf(): Record<string, OwnCounter[]>;
  /** The manager's own commands (native and modules'), for get_command_descriptions. */
  managerCommands(): Promise<Array<{ cmd: string; desc: string; module: string; perm: string }>>;
}

/** What a tell command answers: Ceph's return code, status line and output. */
export interface TellReply {
  r: number;
  rs: string;
  out: string;
}

interface TellCommand {
  cmd: string;
  desc: string;
  run(args: Record<string, unknown>, ctx: TellContext): Promise<TellReply> | TellReply;
}

/** The Ceph release whose protocol mgrpc speaks: what `ceph tell mgr version` answers and Ceph's tools compare. */
export const CEPH_RELEASE = { version: '16.2.15', release: 'pacific', release_type: 'stable' };

const json = (v: unknown, args: Record<string, unknown>): string => (args.format === 'json' ? JSON.stringify(v) : JSON.stringify(v, null, 4) + '\n');
const ok = (out: string): TellReply => ({ r: 0, rs: '', out });

const TELL_COMMANDS: TellCommand[] = [
  {
    cmd: 'get_command_descriptions',
    desc: 'list available commands',
    // answered by tellCommand() itself: it needs the whole table
    run: () => ok(''),
  },
  {
    cmd: 'help',
    desc: 'list available commands',
    async run(args, ctx) {
      const help: Record<string, string> = {};
      for (const c of TELL_COMMANDS) help[usage(parseSignature(c.cmd))] = c.desc;
      for (const c of await ctx.managerCommands()) if (!tellEntry(parseSignature(c.cmd).prefix)) help[usage(parseSignature(c.cmd))] = c.desc;
      return ok(json(help, args));
    },
  },
  {
    cmd: 'version',
    desc: 'get ceph version',
    run: (args) => ok(json(CEPH_RELEASE, args)),
  },
  {
    cmd: 'mgr_status',
    desc: 'Dump mgr status',
    run: (args, ctx) => ok(json({ mgrmap_epoch: ctx.mgrmapEpoch(), initialized: ctx.initialized() }, args)),
  },
  {
    cmd: 'perf dump name=logger,type=CephString,req=false name=counter,type=CephString,req=false',
    desc: 'dump perfcounters value',
    run(args, ctx) {
      const out: Record<string, Record<string, number>> = {};
      for (const [logger, counters] of Object.entries(ctx.perf())) {
        if (args.logger !== undefined && args.logger !== logger) continue;
        const vals: Record<string, number> = {};
        for (const c of counters) if (args.counter === undefined || args.counter === c.name) vals[c.name] = c.value;
        out[logger] = vals;
      }
      return ok(json(out, args));
    },
  },
  {
    cmd: 'perf schema',
    desc: 'dump perfcounters schema',
    run(args, ctx) {
      const out: Record<string, Record<string, unknown>> = {};
      for (const [logger, counters] of Object.entries(ctx.perf())) {
        const schema: Record<string, unknown> = {};
        for (const c of counters) {
          // Ceph's perf schema: type 2 (u64) | 8 for a counter, as perf_counters.cc writes it
          schema[c.name] = {
            type: c.kind === 'counter' ? 10 : 2,
            metric_type: c.kind,
            value_type: 'integer',
            description: c.description,
            nick: '',
            priority: 5,
            units: 'none',
          };
        }
        out[logger] = schema;
      }
      return ok(json(out, args));
    },
  },
  {
    cmd: 'config show',
    desc: 'dump current config settings',
    run: (args, ctx) => ok(json(ctx.config.show(), args)),
  },
  {
    cmd: 'config get name=var,type=CephString',
    desc: 'config get <field>: get the config value',
    run(args, ctx) {
      const name = String(args.var);
      const all = ctx.config.show();
      if (!(name in all)) return { r: ENOENT, rs: `Setting not found: '${name}' (this manager's settings: ${Object.keys(all).join(', ')})`, out: '' };
      return ok(json({ [name]: all[name] }, args));
    },
  },
  {
    cmd: 'config set name=var,type=CephString name=val,type=CephString,n=N',
    desc: 'config set <field> <val> [<val> ...]: set a config variable',
    run(args, ctx) {
      const name = String(args.var);
      const value = (args.val as string[]).join(' ');
      const err = ctx.config.set(name, value);
      if (err) return { r: EINVAL, rs: err, out: '' };
      return ok(json({ success: '' }, args));
    },
  },
];

const TELL_BY_PREFIX = new Map(TELL_COMMANDS.map((c) => [parseSignature(c.cmd).prefix, c]));

function tellEntry(prefix: string): TellCommand | undefined {
  return TELL_BY_PREFIX.get(prefix);
}

/** Whether `prefix` is one of the admin-socket style commands (which need 'allow *', as in Ceph). */
export function isTellCommand(prefix: string): boolean {
  return TELL_BY_PREFIX.has(prefix);
}

/** The whole `ceph tell mgr` table: the admin-socket style commands, then the manager's own commands (beyond Pacific, so `tell mgr hello` works). */
export async function tellDescriptions(ctx: TellContext): Promise<string> {
  const manager = (await ctx.managerCommands()).filter((c) => !isTellCommand(parseSignature(c.cmd).prefix));
  return describeCommands([...TELL_COMMANDS.map((c) => ({ cmd: c.cmd, desc: c.desc })), ...manager]);
}

/** Runs one admin-socket style command (the caller has checked it is one, and the caps). */
export async function tellCommand(prefix: string, args: Record<string, unknown>, ctx: TellContext): Promise<TellReply> {
  const c = tellEntry(prefix);
  if (!c) return { r: EINVAL, rs: `unknown command '${prefix}'`, out: '' };
  if (prefix === 'get_command_descriptions') return ok(await tellDescriptions(ctx));
  let validated: Record<string, unknown>;
  try {
    validated = validateArgs(parseSignature(c.cmd), args);
  } catch (e) {
    if (!(e instanceof ArgumentError)) throw e;
    return { r: EINVAL, rs: `Invalid command: ${e.message}\n${usage(parseSignature(c.cmd))} :  ${c.desc}`, out: '' };
  }
  return c.run(validated, ctx);
}
