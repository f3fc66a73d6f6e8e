// Commands run through POST /request. The module SDK has no way to send a
// command into daemon-server's command path (Ceph's send_command), so a
// request runs, in order: restful's own commands; a table of read commands
// answered from get() data in their `--format json` shapes; and module
// commands, sent to the module named by the prefix's first word with
// remote(module, 'handleCommand', inbuf, cmd). Everything else answers
// -22 "No handler found", as daemon-server would for an unknown prefix.
import type { MgrModule } from '../../lib/mgr-module';

export type CommandOutcome = [number, string, string];
type Cmd = Record<string, unknown>;

const EINVAL = -22;
const ENOENT = -2;
const EIO = -5;
const EOPNOTSUPP = -95;

const json = (v: unknown): CommandOutcome => [0, JSON.stringify(v), ''];

/** Read commands answered from get(): prefix -> handler. */
export const NATIVE_READS: Record<string, (m: MgrModule, cmd: Cmd) => Promise<CommandOutcome>> = {
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
    return json({ epoch: map?.epoch ?? 0, num_osds: osds.length, num_up_osds: osds.filter((o) => o.up).length, num_in_osds: osds.filter((o) => o.in).length, num_remapped_pgs: 0 });
  },
  'osd pool ls': async (m, cmd) => {
    const pools: any[] = (await m.get('osd_map'))?.pools ?? [];
    return json(cmd.detail === 'detail' || cmd.detail === true ? pools : pools.map((p) => p.pool_name));
  },
  'osd pool stats': async (m) => json((await m.get('osd_pool_stats'))?.pool_stats ?? []),
  'pg stat': async (m) => json(await m.get('pg_status')),
  'pg dump': async (m) => json(await m.get('pg_dump')),
  'mon dump': async (m) => json(await m.get('mon_map')),
  'fs dump': async (m) => json(await m.get('fs_map')),
  'service dump': async (m) => json(await m.get('service_map')),
  'mgr dump': async (m) => json(await m.get('mgr_map')),
  'mgr services': async (m) => json((await m.get('mgr_map'))?.services ?? {}),
  'config dump': async (m) => json(await m.get('config')),
};

/** Runs one command; never throws (a failure is a Ceph return code with a message). */
export async function runCommand(m: MgrModule, cmd: Cmd, own: (cmd: Cmd) => Promise<CommandOutcome> | null): Promise<CommandOutcome> {
  const prefix = typeof cmd.prefix === 'string' ? cmd.prefix.trim() : '';
  if (!prefix) return [EINVAL, '', 'a command needs a "prefix"'];
  try {
    const mine = own({ ...cmd, prefix });
    if (mine) return await mine;
    const native = NATIVE_READS[prefix];
    if (native) return await native(m, cmd);
    const module = prefix.split(/\s+/)[0];
    const noHandler: CommandOutcome = [EINVAL, '', `No handler found for '${prefix}' (restful runs its own commands, the read commands ${Object.keys(NATIVE_READS).join(', ')}, and commands of enabled modules named by their first word)`];
    if (module === m.moduleName || !/^[a-z][a-z0-9_-]*$/.test(module)) return noHandler;
    // With a MgrMap, a known but disabled module gets Ceph's -95; without one, try it.
    const mgrMap = await m.get('mgr_map');
    if (mgrMap) {
      const known = new Set<string>((mgrMap.available_modules ?? []).map((a: any) => a.name));
      const enabled = new Set<string>([...(mgrMap.modules ?? []), ...Object.values<string[]>(mgrMap.always_on_modules ?? {}).flat()]);
      if (!known.has(module) && !enabled.has(module)) return noHandler;
      if (!enabled.has(module)) return [EOPNOTSUPP, '', `Module '${module}' is not enabled (required by command '${prefix}'): use \`ceph mgr module enable ${module}\` to enable it`];
    }
    const inbuf = typeof cmd.inbuf === 'string' ? cmd.inbuf : '';
    const args: Cmd = { ...cmd, prefix };
    delete args.inbuf;
    let res: unknown;
    try {
      res = await m.remote<unknown>(module, 'handleCommand', inbuf, args);
    } catch (e) {
      if (!mgrMap && /is not enabled or not running/.test((e as Error).message)) return noHandler;
      throw e;
    }
    if (Array.isArray(res) && res.length === 3 && typeof res[0] === 'number') return [res[0], String(res[1] ?? ''), String(res[2] ?? '')];
    return [EIO, '', `module '${module}' answered ${JSON.stringify(res)?.slice(0, 200)} instead of [retcode, stdout, stderr]`];
  } catch (e) {
    return [EIO, '', `${prefix}: ${(e as Error).message}`];
  }
}
