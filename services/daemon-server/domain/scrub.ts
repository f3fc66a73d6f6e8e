// `osd scrub|deep-scrub|repair <who>`: manager commands in Pacific (Ceph's
// DaemonServer answers them, not the monitors). The manager tells each OSD
// over its session to scrub the placement groups it is primary of (Ceph's
// MOSDScrub2); the OSD reports the new scrub stamps with its pg stats.
import { EAGAIN, EINVAL } from '../../../lib/errno';
import { CommandFailure } from './errors';
import type { NativeCommand } from './native';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const KINDS = [
  ['scrub', 'initiate scrub on osd <who>, or use <all|any> to scrub all'],
  ['deep-scrub', 'initiate deep scrub on osd <who>, or use <all|any> to deep scrub all'],
  ['repair', 'initiate repair on osd <who>, or use <all|any> to repair all'],
] as const;

export const SCRUB_COMMANDS: NativeCommand[] = KINDS.map(([kind, desc]) => ({
  cmd: `osd ${kind} name=who,type=CephString`,
  desc,
  perm: 'rw',
  service: 'osd',
  async run(ctx) {
    const osdMap = await ctx.get('osd_map');
    const osds: Json[] = osdMap.osds ?? [];
    const who = String(ctx.args.who);
    let ids: number[];
    if (who === 'all' || who === 'any' || who === '*') {
      ids = osds.filter((o) => o.up).map((o) => Number(o.osd));
    } else {
      const id = who.startsWith('osd.') ? who.slice(4) : who;
      if (!/^\d+$/.test(id)) throw new CommandFailure(EINVAL, `invalid osd id '${who}': use a number, osd.<number>, all or any`);
      ids = [Number(id)];
      if (!osds.some((o) => Number(o.osd) === ids[0] && o.up)) throw new CommandFailure(EAGAIN, `osd.${id} is not up`);
    }
    const unreached = ctx.scrubOsds(ids, { deep: kind !== 'scrub', repair: kind === 'repair' });
    if (unreached.length)
      throw new CommandFailure(EAGAIN, `osd.${unreached.join(', osd.')} ${unreached.length > 1 ? 'have' : 'has'} no session with this manager`);
    return { retcode: 0, stdout: '', stderr: `instructed osd(s) ${ids.join(',')} to ${kind}` };
  },
}));
