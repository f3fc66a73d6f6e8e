// `device ls`, `device info`, `device ls-by-daemon`, `device ls-by-host`:
// manager commands in Pacific (DaemonServer answers them from its daemon
// index), here from cluster-state's get('devices'), which is built from the
// daemons' metadata as Ceph's DaemonStateIndex builds it. JSON as Ceph's
// Formatter writes DeviceState::dump; plain text as its TextTables. No
// device has a life expectancy here (devicehealth predicts none without
// SMART data), so that column is empty, as in Ceph for such devices.
import { EINVAL, ENOENT } from '../../../lib/errno';
import { CommandFailure } from './errors';
import { formatJson } from './monitor/format';
import { NativeCommand, NativeContext, table } from './native';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

async function devices(ctx: NativeContext): Promise<Json[]> {
  return (await ctx.get('devices'))?.devices ?? [];
}

function json(ctx: NativeContext): boolean {
  return ctx.args.format === 'json' || ctx.args.format === 'json-pretty';
}

function attachments(d: Json): string {
  return (d.location ?? []).map((l: Json) => `${l.host}:${l.dev}`).join(' ');
}

export const DEVICE_COMMANDS: NativeCommand[] = [
  {
    cmd: 'device ls',
    desc: 'Show devices',
    perm: 'r',
    service: 'mgr',
    async run(ctx) {
      const ds = await devices(ctx);
      if (json(ctx)) return { retcode: 0, stdout: formatJson(ctx, ds), stderr: '' };
      return {
        retcode: 0,
        stdout: table(
          ['DEVICE', 'HOST:DEV', 'DAEMONS', 'LIFE EXPECTANCY'],
          ds.map((d) => [d.devid, attachments(d), d.daemons.join(' '), '']),
        ),
        stderr: '',
      };
    },
  },
  {
    cmd: 'device info name=devid,type=CephString',
    desc: 'Show information about a device',
    perm: 'r',
    service: 'mgr',
    async run(ctx) {
      const d = (await devices(ctx)).find((x) => x.devid === ctx.args.devid);
      if (!d) throw new CommandFailure(ENOENT, `device ${ctx.args.devid} not found`);
      if (json(ctx)) return { retcode: 0, stdout: formatJson(ctx, d), stderr: '' };
      const lines = [`device ${d.devid}`];
      for (const l of d.location ?? []) lines.push(`attachment ${l.host} ${l.dev} ${l.path}`, '');
      lines.push(d.daemons.join(','));
      return { retcode: 0, stdout: lines.join('\n') + '\n', stderr: '' };
    },
  },
  {
    cmd: 'device ls-by-daemon name=who,type=CephString',
    desc: 'Show devices associated with a daemon',
    perm: 'r',
    service: 'mgr',
    async run(ctx) {
      const who = String(ctx.args.who);
      const m = /^(osd|mon|mds|mgr|client|rgw)\.(.+)$/.exec(who);
      if (!m) throw new CommandFailure(EINVAL, `${who} is not a valid daemon name`);
      const meta = m[1] === 'osd' || m[1] === 'mon' || m[1] === 'mds' ? await ctx.get(`${m[1]}_metadata`).catch(() => ({})) : {};
      const ds = (await devices(ctx)).filter((d) => d.daemons.includes(who));
      if (!ds.length && !(meta && m[2] in meta)) throw new CommandFailure(ENOENT, `daemon ${who} not found`);
      if (json(ctx)) return { retcode: 0, stdout: formatJson(ctx, ds), stderr: '' };
      return {
        retcode: 0,
        stdout: table(
          ['DEVICE', 'HOST:DEV', 'EXPECTED FAILURE'],
          ds.map((d) => [d.devid, attachments(d), '']),
        ),
        stderr: '',
      };
    },
  },
  {
    cmd: 'device ls-by-host name=host,type=CephString',
    desc: 'Show devices on a host',
    perm: 'r',
    service: 'mgr',
    async run(ctx) {
      const host = String(ctx.args.host);
      const ds = (await devices(ctx)).filter((d) => (d.location ?? []).some((l: Json) => l.host === host));
      if (json(ctx)) return { retcode: 0, stdout: formatJson(ctx, ds), stderr: '' };
      const rows = ds.map((d) => [
        d.devid,
        (d.location ?? [])
          .filter((l: Json) => l.host === host)
          .map((l: Json) => l.dev)
          .join(' '),
        d.daemons.join(' '),
        '',
      ]);
      return { retcode: 0, stdout: table(['DEVICE', 'DEV', 'DAEMONS', 'EXPECTED FAILURE'], rows), stderr: '' };
    },
  },
];
