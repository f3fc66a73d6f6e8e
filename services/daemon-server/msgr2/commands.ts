// Commands that arrive over msgr2, answered as Ceph's DaemonServer answers
// them (_handle_command):
//   MMgrCommand          `ceph <prefix> ...` for a command the MgrMap lists
//   MCommand, zero fsid  the same, from an older client
//   MCommand, an fsid    `ceph tell mgr ...`: the admin-socket style table
//                        (tell-table.ts, needs 'allow *' as in Ceph), then
//                        the manager's own commands, beyond Pacific
// Everything but the table goes through daemon-server's command path (the
// same validation, caps, audit log and module dispatch as gRPC Command) as
// the peer its cephx ticket names, with the caps the ticket carries. A
// call-level failure there becomes a Ceph return code with its message.
import type { CommandResult } from '../../../lib/gen/ceph/mgr/v1/common';
import type { MgrCommandReply, MgrCommandRequest } from '../../../lib/ceph/messages/mgr';
import { ZERO_UUID } from '../../../lib/ceph/types';
import type { Logger } from '../../../lib/log';
import { isCapable } from '../domain/auth';
import { auditArgs, firstLine, type AuditPriority } from '../domain/command-path';
import { EACCES, EAGAIN, EFBIG, EINVAL, EIO, ETIMEDOUT } from '../../../lib/errno';
import type { Peer } from './peer';
import { describeCommands, isTellCommand, tellCommand, type TellContext } from './tell-table';

/** daemon-server's command path, as the front door calls it. */
export interface CommandRunner {
  /** Runs a command as `caller` (validation, caps, audit, dispatch); rejects with the path's call-level errors. */
  run(caller: Peer, prefix: string, args: Record<string, unknown>, inbuf: Buffer): Promise<CommandResult>;
}

export interface CommandDoorOptions {
  runner: CommandRunner;
  tell: TellContext;
  log: Logger;
  /** Appends an audit entry to the cluster log. */
  appendAudit(line: string, priority: AuditPriority): void;
  /** The largest command (its JSON) accepted. */
  maxCommandBytes: number;
}

/** The call-level failures of the command path (gRPC status codes, or the kind of a refusal) as Ceph return codes. */
const RETCODE_OF_STATUS: Record<number, number> = { 3: EINVAL, 4: ETIMEDOUT, 7: EACCES, 8: EFBIG, 9: EINVAL, 14: EAGAIN, 16: EACCES };
const RETCODE_OF_KIND: Record<string, number> = {
  invalid: EINVAL,
  deadline: ETIMEDOUT,
  denied: EACCES,
  exhausted: EFBIG,
  precondition: EINVAL,
  unavailable: EAGAIN,
  unauthenticated: EACCES,
};

/** A failure of the command path as a reply; undefined when it is not one of its call-level failures. */
export function failureReply(e: unknown): { r: number; rs: string } | undefined {
  const err = e as { code?: unknown; kind?: unknown; details?: unknown; message?: unknown };
  const r = typeof err.code === 'number' ? RETCODE_OF_STATUS[err.code] : typeof err.kind === 'string' ? RETCODE_OF_KIND[err.kind] : undefined;
  if (r === undefined) return undefined;
  return { r, rs: String(err.details || err.message) };
}

/** The command's JSON (the strings of `cmd`, joined as Ceph's cmdmap_from_json does) as an object with a prefix. */
export function parseCommand(cmd: string[]): { prefix: string; args: Record<string, unknown> } | { error: string } {
  const text = cmd.join('');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { error: `command is not JSON: ${(e as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { error: 'command is not a JSON object' };
  const args = parsed as Record<string, unknown>;
  if (typeof args.prefix !== 'string' || !args.prefix.trim()) return { error: 'command has no prefix' };
  return { prefix: args.prefix.trim().replace(/\s+/g, ' '), args };
}

export class CommandDoor {
  constructor(private readonly o: CommandDoorOptions) {}

  /** Answers one MMgrCommand (`kind` 'mgr') or MCommand ('tell'). Never rejects. */
  async answer(peer: Peer, req: MgrCommandRequest, kind: 'mgr' | 'tell'): Promise<MgrCommandReply> {
    const reply = (r: number, rs: string, out = ''): MgrCommandReply => ({ tid: req.tid, r, rs, data: Buffer.from(out) });
    const size = req.cmd.reduce((n, s) => n + s.length, 0);
    if (size > this.o.maxCommandBytes) return reply(EFBIG, `command is ${size} bytes; the largest accepted is ${this.o.maxCommandBytes}`);
    const parsed = parseCommand(req.cmd);
    if ('error' in parsed) return reply(EINVAL, parsed.error);
    const { prefix, args } = parsed;
    // a blank fsid in MCommand is an older client's `ceph <prefix>` (Ceph: admin_socket_cmd)
    const tell = kind === 'tell' && req.fsid !== ZERO_UUID;
    const log = this.o.log.child({ entity: peer.entity, prefix, via: kind === 'tell' ? (tell ? 'MCommand' : 'MCommand (zero fsid)') : 'MMgrCommand' });
    try {
      if (prefix === 'get_command_descriptions') {
        // the CLI's first question; answered in Ceph's JSON form
        if (tell) return reply(0, '', (await tellCommand(prefix, args, this.o.tell)).out);
        return reply(0, '', describeCommands(await this.o.tell.managerCommands()));
      }
      if (tell && isTellCommand(prefix)) {
        // the table's commands leave one audit line each, as the command path's do
        const audit = (outcome: string, priority: AuditPriority) =>
          this.o.appendAudit(`from='${peer.entity}' entity='${peer.entity}' cmd=[${auditArgs({ prefix, args })}]: ${outcome}`, priority);
        if (!isCapable(peer.grants, { service: 'mgr', module: '', prefix, perm: '*' })) {
          log.warn('command denied', { channel: 'audit', needs: 'allow *' });
          audit('access denied', 'WRN');
          return reply(EACCES, "access denied: the manager's admin commands (ceph tell mgr ...) need mgr caps 'allow *'");
        }
        log.info('dispatch', { channel: 'audit', route: 'tell' });
        const t = await tellCommand(prefix, args, this.o.tell);
        if (t.r === 0) audit('finished', prefix === 'config set' ? 'INF' : 'DBG');
        else audit(`failed (${t.r}): ${firstLine(t.rs)}`, 'WRN');
        return reply(t.r, t.rs, t.out);
      }
      const { prefix: _p, target: _t, ...rest } = args;
      const res = await this.o.runner.run(peer, prefix, rest, req.inbuf);
      return reply(res.retcode, res.stderr, res.stdout);
    } catch (e) {
      const f = failureReply(e);
      if (f) {
        log.info('command refused', { retcode: f.r, reason: f.rs });
        return reply(f.r, f.rs);
      }
      log.error('command failed', { error: (e as Error)?.stack ?? String(e) });
      return reply(EIO, `command failed: ${(e as Error)?.message ?? String(e)}`);
    }
  }
}
