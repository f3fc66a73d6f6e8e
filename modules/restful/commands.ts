// Commands run through POST /request, as Ceph's restful sends them: restful's
// own commands here; every other command with sendCommand, i.e. through
// daemon-server's command path (argument validation, caps of this manager's
// mgr.<name> entity, audit naming restful). Daemon-server answers the
// manager's commands (native ones such as `pg stat`, `osd df`, and every
// enabled module's); the monitors' read commands it does not serve (`osd
// stat`, `osd dump`, `health`, ...) are answered from get() data in their
// `--format json` shapes when daemon-server says it has no handler.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import { EINVAL, EIO, ENOENT, ENOTCONN, type MgrModule } from '../../lib/mgr-module';

export type CommandOutcome = [number, string, string];
type Cmd = Record<string, unknown>;

const json = (v: unknown): CommandOutcome => [0, JSON.stringify(v), ''];

/** Monitor read commands daemon-server does not serve, answered from get(): prefix -> handler. */
export const MON_READS: Record<string, (m: MgrModule, cmd: Cmd) => Promise<CommandOutcome>> = {
  health: async (m) => {
    const h = await m.get('health');
    return h ? json(JSON.parse(h.json)) : [ENOENT, '', 'no health yet'];
  },
  df: async (m) => json(await m.get('df')),
  'osd dump': async (m) => json(await m.get('osd_map')),
  'osd tree': async (m) => json(await m.get('osd_map_tree')),
  'osd ls': async (m) => json(((await m.get('osd_map'))?.osds ?? []).map((o: any) => o.osd)),
  'osd stat': async (m) => {
    const map = await m.get('osd_map');
    const osds: any[] = map?.osds ?? [];
    return json({
      epoch: map?.epoch ?? 0,
      num_osds: osds.length,
      num_up_osds: osds.filter((o) => o.up).length,
      num_in_osds: osds.filter((o) => o.in).length,
      num_remapped_pgs: 0,
    });
  },
  'osd pool ls': async (m, cmd) => {
    const pools: any[] = (await m.get('osd_map'))?.pools ?? [];
    return json(cmd.detail === 'detail' || cmd.detail === true ? pools : pools.map((p) => p.pool_name));
  },
  'mon dump': async (m) => json(await m.get('mon_map')),
  'fs dump': async (m) => json(await m.get('fs_map')),
  'config dump': async (m) => json(await m.get('config')),
};

/** Runs one command; never throws (a failure is a Ceph return code with a message). */
export async function runCommand(m: MgrModule, cmd: Cmd, own: (cmd: Cmd) => Promise<CommandOutcome> | null): Promise<CommandOutcome> {
  const prefix = typeof cmd.prefix === 'string' ? cmd.prefix.trim() : '';
  if (!prefix) return [EINVAL, '', 'a command needs a "prefix"'];
  try {
    const mine = own({ ...cmd, prefix });
    if (mine) return await mine;
    const inbuf = typeof cmd.inbuf === 'string' ? cmd.inbuf : '';
    const args: Cmd = { ...cmd };
    delete args.prefix;
    delete args.inbuf;
    const res = await m.sendCommand(prefix, args, inbuf);
    const monRead = MON_READS[prefix];
    // No handler in daemon-server (or none reachable): a monitor read we answer ourselves.
    if (monRead && ((res[0] === EINVAL && res[2].startsWith('No handler found')) || res[0] === ENOTCONN)) return await monRead(m, cmd);
    return res;
  } catch (e) {
    return [EIO, '', `${prefix}: ${(e as Error).message}`];
  }
}
