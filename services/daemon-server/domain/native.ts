// The native commands daemon-server answers itself (Ceph's MgrCommands.h and
// PGMap::process_pg_map_command), built from cluster-state's get(what) views.
// JSON output follows the Ceph Pacific fixtures; plain output is a readable
// table like Ceph's.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import type { CommandResult } from '../../../lib/gen/ceph/mgr/v1/common';
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { ModuleStatus } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { ModuleState } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { parseSignature, usage } from '../../../lib/command-descriptor';
import { mgrMapJson } from '../../../lib/mgrmap-json';
import { ENOENT, EBUSY, EINVAL, EOPNOTSUPP } from '../../../lib/errno';
import type { Monitors } from './monitor/monitors';
import { CommandFailure } from './errors';
import { formatJson } from './monitor/format';

type Json = any;

export interface StandbyApi {
  getMgrMap(): Promise<MgrMap>;
  failMgr(who: string): Promise<{ mgrMap?: MgrMap; message: string }>;
  enableModule(module: string, force: boolean): Promise<{ message: string }>;
  disableModule(module: string): Promise<{ message: string }>;
}

export interface NativeContext {
  args: Record<string, any>;
  inbuf: Uint8Array;
  entity: string;
  /** cluster-state's Get(what), parsed. */
  get(what: string): Promise<Json>;
  standby: StandbyApi | null;
  listModules: (() => Promise<ModuleStatus[]>) | null;
  config: MgrLocalConfig;
  /** Every command description (native + modules), for get_command_descriptions/help. */
  descriptions(): Promise<Array<{ cmd: string; desc: string; perm: string; module: string; poll: boolean; monitor?: boolean }>>;
  /** The cluster's monitors (monitor/monitors.ts): where the monitors' commands go. */
  monitors: Monitors;
  /**
   * Tells OSDs to scrub the placement groups they are primary of, over
   * their sessions with this manager (as Ceph's DaemonServer sends
   * MOSDScrub2); returns the OSDs that have no session here.
   */
  scrubOsds(osds: number[], how: { deep: boolean; repair: boolean }): number[];
}

export interface NativeCommand {
  cmd: string;
  desc: string;
  perm: string;
  /** The MgrCap service group ("pg", "osd", "mgr", "service", "config"; the monitors': "mon", "fs"). */
  service: string;
  /**
   * A monitor command (Ceph's MonCommands.h): answered through the monitors
   * (the `mgr ...` ones through the standby service, which holds or mirrors
   * their MgrMap), never advertised as this manager's own.
   */
  monitor?: boolean;
  run(ctx: NativeContext): Promise<CommandResult>;
}

/** Mgr-local settings that `config set` changes at runtime. */
export interface MgrLocalConfig {
  show(): Record<string, string>;
  /** Returns an error message, or null when set. */
  set(key: string, value: string): string | null;
}

const PG_STATES = [
  'active',
  'clean',
  'down',
  'replay',
  'splitting',
  'scrubbing',
  'degraded',
  'inconsistent',
  'peering',
  'repair',
  'recovering',
  'backfill_wait',
  'incomplete',
  'stale',
  'remapped',
  'deep',
  'backfilling',
  'backfill_toofull',
  'recovery_wait',
  'recovery_toofull',
  'undersized',
  'activating',
  'peered',
  'snaptrim',
  'snaptrim_wait',
  'snaptrim_error',
  'creating',
  'unknown',
  'premerge',
  'failed_repair',
  'laggy',
  'wait',
];

function isJson(ctx: NativeContext): boolean {
  return ctx.args.format === 'json' || ctx.args.format === 'json-pretty';
}

function ok(stdout: string, stderr = ''): CommandResult {
  return { retcode: 0, stdout, stderr };
}

function out(ctx: NativeContext, json: unknown, plain: () => string): CommandResult {
  return ok(isJson(ctx) ? formatJson(ctx, json) : plain());
}

/** A plain-text table with left-aligned columns, like Ceph's TextTable. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

function pgSummaryFromStatus(st: Json): Json {
  const s: Json = {
    num_pg_by_state: (st.pgs_by_state ?? []).map((x: Json) => ({ name: x.state_name, num: x.count })),
    num_pgs: st.num_pgs ?? 0,
    num_bytes: st.data_bytes ?? 0,
    total_bytes: st.bytes_total ?? 0,
    total_avail_bytes: st.bytes_avail ?? 0,
    total_used_bytes: st.bytes_used ?? 0,
    total_used_raw_bytes: st.bytes_used ?? 0,
  };
  // Ceph prints rates only when there is I/O.
  if (st.read_bytes_sec) s.read_bytes_sec = st.read_bytes_sec;
  if (st.write_bytes_sec) s.write_bytes_sec = st.write_bytes_sec;
  const io = (st.read_op_per_sec ?? 0) + (st.write_op_per_sec ?? 0);
  if (io) s.io_sec = io;
  return s;
}

function pgStatLine(st: Json): string {
  const states = (st.pgs_by_state ?? []).map((x: Json) => `${x.count} ${x.state_name}`).join(', ');
  let line = `${st.num_pgs ?? 0} pgs: ${states || 'none'}; ${bytes(st.data_bytes ?? 0)} data, ${bytes(st.bytes_used ?? 0)} used, ${bytes(st.bytes_avail ?? 0)} / ${bytes(st.bytes_total ?? 0)} avail`;
  const io = (st.read_op_per_sec ?? 0) + (st.write_op_per_sec ?? 0);
  if (st.read_bytes_sec || st.write_bytes_sec || io) {
    line += `; ${bytes(st.read_bytes_sec ?? 0)}/s rd, ${bytes(st.write_bytes_sec ?? 0)}/s wr, ${io} op/s`;
  }
  return line + '\n';
}

function pgMatchesStates(pg: Json, states: string[] | undefined): boolean {
  if (!states?.length) return true;
  const have = new Set(String(pg.state ?? '').split('+'));
  return states.some((s) => have.has(s)); // Ceph: any of the given states
}

function pgTable(pgs: Json[]): string {
  return table(
    ['PG', 'OBJECTS', 'DEGRADED', 'MISPLACED', 'UNFOUND', 'BYTES', 'OMAP_BYTES*', 'OMAP_KEYS*', 'LOG', 'STATE', 'SINCE', 'VERSION', 'REPORTED', 'UP', 'ACTING'],
    pgs.map((p) => {
      const s = p.stat_sum ?? {};
      return [
        p.pgid,
        s.num_objects ?? 0,
        s.num_objects_degraded ?? 0,
        s.num_objects_misplaced ?? 0,
        s.num_objects_unfound ?? 0,
        s.num_bytes ?? 0,
        s.num_omap_bytes ?? 0,
        s.num_omap_keys ?? 0,
        p.log_size ?? 0,
        p.state,
        p.last_change ?? '',
        p.version ?? '',
        `${p.reported_epoch ?? 0}:${p.reported_seq ?? 0}`,
        `[${(p.up ?? []).join(',')}]p${p.up_primary ?? -1}`,
        `[${(p.acting ?? []).join(',')}]p${p.acting_primary ?? -1}`,
      ];
    }),
  );
}

function pgDumpPlain(map: Json, what: Set<string>): string {
  const parts: string[] = [];
  const all = what.has('all') || what.size === 0;
  if (all || what.has('summary') || what.has('sum')) {
    parts.push(
      `version ${map.version ?? 0}\nstamp ${map.stamp ?? ''}\nlast_osdmap_epoch ${map.last_osdmap_epoch ?? 0}\nlast_pg_scan ${map.last_pg_scan ?? 0}\n`,
    );
  }
  if (all || what.has('pgs') || what.has('pgs_brief')) {
    if (what.has('pgs_brief')) {
      parts.push(
        table(
          ['PG_STAT', 'STATE', 'UP', 'UP_PRIMARY', 'ACTING', 'ACTING_PRIMARY'],
          (map.pg_stats ?? []).map((p: Json) => [
            p.pgid,
            p.state,
            `[${(p.up ?? []).join(',')}]`,
            p.up_primary ?? -1,
            `[${(p.acting ?? []).join(',')}]`,
            p.acting_primary ?? -1,
          ]),
        ),
      );
    } else parts.push(pgTable(map.pg_stats ?? []));
  }
  if (all || what.has('pools')) {
    parts.push(
      table(
        ['POOLID', 'OBJECTS', 'MISSING_ON_PRIMARY', 'DEGRADED', 'MISPLACED', 'UNFOUND', 'BYTES', 'LOG'],
        (map.pool_stats ?? []).map((p: Json) => {
          const s = p.stat_sum ?? {};
          return [
            p.poolid,
            s.num_objects ?? 0,
            s.num_objects_missing_on_primary ?? 0,
            s.num_objects_degraded ?? 0,
            s.num_objects_misplaced ?? 0,
            s.num_objects_unfound ?? 0,
            s.num_bytes ?? 0,
            p.log_size ?? 0,
          ];
        }),
      ),
    );
  }
  if (all || what.has('osds')) {
    parts.push(
      table(
        ['OSD_STAT', 'USED', 'AVAIL', 'TOTAL', 'HB_PEERS', 'PG_SUM', 'PRIMARY_PG_SUM'],
        (map.osd_stats ?? []).map((o: Json) => [
          o.osd,
          bytes((o.kb_used ?? 0) * 1024),
          bytes((o.kb_avail ?? 0) * 1024),
          bytes((o.kb ?? 0) * 1024),
          `[${(o.hb_peers ?? []).join(',')}]`,
          o.num_pgs ?? 0,
          o.num_pgs_primary ?? o.num_pgs ?? 0,
        ]),
      ),
    );
  }
  return parts.join('\n');
}

/** Which pgs map to which OSDs (acting), and pool min_size, from pg_dump + osd_map. */
async function pgPlacement(ctx: NativeContext): Promise<{ pgs: Json[]; minSize: Map<number, number>; osdMap: Json }> {
  const [dump, osdMap] = await Promise.all([ctx.get('pg_dump'), ctx.get('osd_map')]);
  const minSize = new Map<number, number>();
  for (const p of osdMap.pools ?? []) minSize.set(Number(p.pool), Number(p.min_size ?? 1));
  return { pgs: dump.pg_stats ?? [], minSize, osdMap };
}

function parseOsdIds(ctx: NativeContext, osdMap: Json): number[] {
  const ids = new Set<number>();
  for (const raw of ctx.args.ids as string[]) {
    if (raw === 'any' || raw === 'all' || raw === '*') {
      for (const o of osdMap.osds ?? []) ids.add(Number(o.osd));
      continue;
    }
    const id = raw.startsWith('osd.') ? raw.slice(4) : raw;
    if (!/^\d+$/.test(id)) throw new CommandFailure(EINVAL, `invalid osd id '${raw}'`);
    ids.add(Number(id));
  }
  return [...ids].sort((a, b) => a - b);
}

function safeUsage(cmd: string): string {
  try {
    return usage(parseSignature(cmd));
  } catch {
    return cmd;
  }
}

function needStandby(ctx: NativeContext): StandbyApi {
  if (!ctx.standby) throw new CommandFailure(EOPNOTSUPP, 'standby service not configured (MGR_STANDBY_ADDR)');
  return ctx.standby;
}

async function safeGet(ctx: NativeContext, what: string, fallback: Json): Promise<Json> {
  try {
    return await ctx.get(what);
  } catch {
    return fallback;
  }
}

async function moduleLs(ctx: NativeContext): Promise<Json> {
  const m = await needStandby(ctx).getMgrMap();
  const enabled = new Set(m.modules);
  const always = new Set(m.alwaysOnModules);
  let statuses: ModuleStatus[] = [];
  if (ctx.listModules) {
    try {
      statuses = await ctx.listModules();
    } catch {
      // the MgrMap alone still answers
    }
  }
  const known = new Map<string, Json>();
  for (const mi of m.availableModules) known.set(mi.name, mgrMapJson({ ...m, availableModules: [mi] }).available_modules[0]);
  for (const s of statuses) {
    if (s.info && !known.has(s.info.name)) known.set(s.info.name, mgrMapJson({ ...m, availableModules: [s.info] }).available_modules[0]);
    if (s.info && s.state === ModuleState.MODULE_STATE_FAILED) {
      const k = known.get(s.info.name);
      if (k && !k.error_string) k.error_string = s.info.errorString;
    }
  }
  return {
    always_on_modules: [...always].sort(),
    enabled_modules: [...enabled].filter((x) => !always.has(x)).sort(),
    disabled_modules: [...known.values()].filter((k) => !enabled.has(k.name) && !always.has(k.name)).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

const POOL_ARG = 'name=pool,type=CephInt,req=false';
const STATES_ARG = `name=states,type=CephChoices,strings=${PG_STATES.join('|')},n=N,req=false`;

export const NATIVE_COMMANDS: NativeCommand[] = [
  {
    cmd: 'pg stat',
    desc: 'show placement group status.',
    perm: 'r',
    service: 'pg',
    async run(ctx) {
      const st = await ctx.get('pg_status');
      return out(ctx, { pg_ready: true, pg_summary: pgSummaryFromStatus(st) }, () => pgStatLine(st));
    },
  },
  {
    cmd: 'pg dump name=dumpcontents,type=CephChoices,strings=all|summary|sum|delta|pools|osds|pgs|pgs_brief,n=N,req=false',
    desc: "show human-readable versions of pg map (only 'all' valid with plain)",
    perm: 'r',
    service: 'pg',
    async run(ctx) {
      const map = await ctx.get('pg_dump');
      const what = new Set<string>(ctx.args.dumpcontents ?? []);
      if (!isJson(ctx)) return ok(pgDumpPlain(map, what), 'dumped ' + (what.size ? [...what].join(',') : 'all'));
      let body: Json;
      if (what.size === 0 || what.has('all')) body = { pg_ready: true, pg_map: map };
      else {
        body = { pg_ready: true };
        if (what.has('summary') || what.has('sum')) {
          body.pg_map = {
            version: map.version,
            stamp: map.stamp,
            last_osdmap_epoch: map.last_osdmap_epoch,
            last_pg_scan: map.last_pg_scan,
            pg_stats_sum: map.pg_stats_sum,
            osd_stats_sum: map.osd_stats_sum,
            pg_stats_delta: map.pg_stats_delta,
          };
        }
        if (what.has('delta')) body.pg_stats_delta = map.pg_stats_delta;
        if (what.has('pgs')) body.pg_stats = map.pg_stats;
        if (what.has('pgs_brief'))
          body.pg_stats = (map.pg_stats ?? []).map((p: Json) => ({
            pgid: p.pgid,
            state: p.state,
            up: p.up,
            acting: p.acting,
            up_primary: p.up_primary,
            acting_primary: p.acting_primary,
          }));
        if (what.has('pools')) body.pool_stats = map.pool_stats;
        if (what.has('osds')) body.osd_stats = map.osd_stats;
      }
      return ok(formatJson(ctx, body), 'dumped ' + (what.size ? [...what].join(',') : 'all'));
    },
  },
  {
    cmd: `pg ls ${POOL_ARG} ${STATES_ARG}`,
    desc: 'list pg with specific pool, osd, state',
    perm: 'r',
    service: 'pg',
    async run(ctx) {
      const map = await ctx.get('pg_dump');
      const pool = ctx.args.pool as number | undefined;
      const pgs = (map.pg_stats ?? []).filter(
        (p: Json) => (pool === undefined || String(p.pgid).split('.')[0] === String(pool)) && pgMatchesStates(p, ctx.args.states),
      );
      return out(ctx, { pg_ready: true, pg_stats: pgs }, () => pgTable(pgs));
    },
  },
  {
    cmd: 'osd perf',
    desc: 'print dump of OSD perf summary stats',
    perm: 'r',
    service: 'osd',
    async run(ctx) {
      const st = await ctx.get('osd_stats');
      const infos = [...(st.osd_stats ?? [])]
        .sort((a: Json, b: Json) => b.osd - a.osd)
        .map((o: Json) => ({ id: o.osd, perf_stats: o.perf_stat ?? { commit_latency_ms: 0, apply_latency_ms: 0, commit_latency_ns: 0, apply_latency_ns: 0 } }));
      return out(ctx, { pg_ready: true, osdstats: { osd_perf_infos: infos } }, () =>
        table(
          ['osd', 'commit_latency(ms)', 'apply_latency(ms)'],
          infos.map((i: Json) => [i.id, i.perf_stats.commit_latency_ms, i.perf_stats.apply_latency_ms]),
        ),
      );
    },
  },
  {
    cmd: 'osd df name=output_method,type=CephChoices,strings=plain|tree,req=false name=filter_by,type=CephChoices,strings=class|name,req=false name=filter,type=CephString,req=false',
    desc: 'show OSD utilization',
    perm: 'r',
    service: 'osd',
    async run(ctx) {
      const [osdMap, st, tree] = await Promise.all([ctx.get('osd_map'), ctx.get('osd_stats'), safeGet(ctx, 'osd_map_tree', { nodes: [] })]);
      const stats = new Map<number, Json>((st.osd_stats ?? []).map((o: Json) => [Number(o.osd), o]));
      const crush = new Map<number, Json>((tree.nodes ?? []).filter((n: Json) => n.type === 'osd').map((n: Json) => [Number(n.id), n]));
      const osds: Json[] = [...(osdMap.osds ?? [])].sort((a: Json, b: Json) => a.osd - b.osd);
      if (ctx.args.filter_by && ctx.args.filter === undefined) throw new CommandFailure(EINVAL, 'you must specify filter when filter_by is given');
      const nodes = osds.map((o: Json) => {
        const s = stats.get(Number(o.osd)) ?? {};
        const c = crush.get(Number(o.osd)) ?? {};
        const kb = s.kb ?? 0;
        const kbUsed = s.kb_used ?? 0;
        return {
          id: Number(o.osd),
          device_class: c.device_class ?? '',
          name: `osd.${o.osd}`,
          type: 'osd',
          type_id: 0,
          crush_weight: c.crush_weight ?? 0,
          depth: c.depth ?? 0,
          pool_weights: {},
          reweight: Number(o.weight ?? 0),
          kb,
          kb_used: kbUsed,
          kb_used_data: s.kb_used_data ?? 0,
          kb_used_omap: s.kb_used_omap ?? 0,
          kb_used_meta: s.kb_used_meta ?? 0,
          kb_avail: s.kb_avail ?? 0,
          utilization: kb ? (kbUsed / kb) * 100 : 0,
          var: 0,
          pgs: s.num_pgs ?? 0,
          status: o.up ? 'up' : 'down',
        };
      });
      const filtered = nodes.filter((n) => {
        if (ctx.args.filter_by === 'class') return n.device_class === ctx.args.filter;
        if (ctx.args.filter_by === 'name') return n.name === ctx.args.filter;
        return true;
      });
      const sum = (k: string) => filtered.reduce((a, n: Json) => a + (n[k] ?? 0), 0);
      const totalKb = sum('kb');
      const avg = totalKb ? (sum('kb_used') / totalKb) * 100 : 0;
      for (const n of filtered) n.var = avg ? n.utilization / avg : 0;
      const withData = filtered.filter((n) => n.kb > 0);
      const vars = withData.map((n) => n.var);
      const dev = withData.length ? Math.sqrt(withData.reduce((a, n) => a + (n.utilization - avg) ** 2, 0) / withData.length) : 0;
      const summary = {
        total_kb: totalKb,
        total_kb_used: sum('kb_used'),
        total_kb_used_data: sum('kb_used_data'),
        total_kb_used_omap: sum('kb_used_omap'),
        total_kb_used_meta: sum('kb_used_meta'),
        total_kb_avail: sum('kb_avail'),
        average_utilization: avg,
        min_var: vars.length ? Math.min(...vars) : 0,
        max_var: vars.length ? Math.max(...vars) : 0,
        dev,
      };
      return out(
        ctx,
        { nodes: filtered, stray: [], summary },
        () =>
          table(
            ['ID', 'CLASS', 'WEIGHT', 'REWEIGHT', 'SIZE', 'RAW USE', 'DATA', 'OMAP', 'META', 'AVAIL', '%USE', 'VAR', 'PGS', 'STATUS'],
            filtered.map((n) => [
              n.id,
              n.device_class,
              n.crush_weight.toFixed(5),
              n.reweight.toFixed(5),
              bytes(n.kb * 1024),
              bytes(n.kb_used * 1024),
              bytes(n.kb_used_data * 1024),
              bytes(n.kb_used_omap * 1024),
              bytes(n.kb_used_meta * 1024),
              bytes(n.kb_avail * 1024),
              n.utilization.toFixed(2),
              n.var.toFixed(2),
              n.pgs,
              n.status,
            ]),
          ) +
          `TOTAL ${bytes(totalKb * 1024)} used ${bytes(summary.total_kb_used * 1024)} avail ${bytes(summary.total_kb_avail * 1024)} %USE ${avg.toFixed(2)}\nMIN/MAX VAR: ${summary.min_var.toFixed(2)}/${summary.max_var.toFixed(2)}  STDDEV: ${dev.toFixed(2)}\n`,
      );
    },
  },
  {
    cmd: 'osd pool stats name=pool_name,type=CephPoolname,req=false',
    desc: 'obtain stats from all pools, or from specified pool',
    perm: 'r',
    service: 'osd',
    async run(ctx) {
      const st = await ctx.get('osd_pool_stats');
      let pools: Json[] = st.pool_stats ?? [];
      if (ctx.args.pool_name !== undefined) {
        pools = pools.filter((p) => p.pool_name === ctx.args.pool_name);
        if (!pools.length) throw new CommandFailure(ENOENT, `unrecognized pool '${ctx.args.pool_name}'`);
      }
      return out(ctx, pools, () =>
        pools
          .map((p) => {
            const io = Object.entries(p.client_io_rate ?? {})
              .map(([k, v]) => `${k} ${v}`)
              .join(', ');
            const rec = Object.entries(p.recovery_rate ?? {})
              .map(([k, v]) => `${k} ${v}`)
              .join(', ');
            return `pool ${p.pool_name} id ${p.pool_id}\n  ${rec ? `recovery io ${rec}` : 'nothing is going on'}\n${io ? `  client io ${io}\n` : ''}`;
          })
          .join('\n'),
      );
    },
  },
  {
    cmd: 'osd ok-to-stop name=ids,type=CephString,n=N name=max,type=CephInt,req=false',
    desc: 'check whether osd(s) can be safely stopped without reducing immediate data availability',
    perm: 'r',
    service: 'osd',
    async run(ctx) {
      const { pgs, minSize, osdMap } = await pgPlacement(ctx);
      const ids = parseOsdIds(ctx, osdMap);
      const known = new Set((osdMap.osds ?? []).map((o: Json) => Number(o.osd)));
      for (const id of ids) if (!known.has(id)) throw new CommandFailure(ENOENT, `osd.${id} does not exist`);
      const stopping = new Set(ids);
      const bad: string[] = [];
      const degraded: string[] = [];
      for (const pg of pgs) {
        const acting: number[] = pg.acting ?? [];
        if (!acting.some((o) => stopping.has(o))) continue;
        const left = acting.filter((o) => !stopping.has(o) && o >= 0).length;
        const pool = Number(String(pg.pgid).split('.')[0]);
        if (!String(pg.state).includes('active') || left < (minSize.get(pool) ?? 1)) bad.push(pg.pgid);
        else degraded.push(pg.pgid);
      }
      const body = {
        ok_to_stop: bad.length === 0,
        osds: ids,
        num_ok_pgs: degraded.length,
        num_not_ok_pgs: bad.length,
        bad_become_inactive: bad,
        ok_become_degraded: degraded,
        ok_become_more_degraded: [],
      };
      const stdout = isJson(ctx) ? formatJson(ctx, body) : '';
      if (bad.length) return { retcode: EBUSY, stdout, stderr: `unsafe to stop osd(s) at this time (${bad.length} PGs are or would become offline)` };
      return ok(
        stdout,
        `OSD(s) ${ids.join(',')} are ok to stop without reducing availability or risking data, provided there are no other concurrent failures or interventions.\n${degraded.length} PGs are likely to be degraded (but remain available) as a result.`,
      );
    },
  },
  {
    cmd: 'osd safe-to-destroy name=ids,type=CephString,n=N',
    desc: 'check whether osd(s) can be safely destroyed without reducing data durability',
    perm: 'r',
    service: 'osd',
    async run(ctx) {
      const [{ pgs, osdMap }, st] = await Promise.all([pgPlacement(ctx), ctx.get('osd_stats')]);
      const ids = parseOsdIds(ctx, osdMap);
      const stats = new Map<number, Json>((st.osd_stats ?? []).map((o: Json) => [Number(o.osd), o]));
      const up = new Map<number, boolean>((osdMap.osds ?? []).map((o: Json) => [Number(o.osd), !!o.up]));
      const safe: number[] = [];
      const active: number[] = [];
      const missing: number[] = [];
      const stored: number[] = [];
      for (const id of ids) {
        if (!up.has(id)) {
          safe.push(id); // does not exist: nothing stored
          continue;
        }
        const mapped = pgs.some((p: Json) => (p.acting ?? []).includes(id) || (p.up ?? []).includes(id));
        if (up.get(id)) active.push(id);
        else if (!stats.has(id)) missing.push(id);
        else if (mapped || (stats.get(id)!.num_pgs ?? 0) > 0) stored.push(id);
        else safe.push(id);
      }
      const body = { safe_to_destroy: safe, active, missing_stats: missing, stored_pgs: stored };
      const stdout = isJson(ctx) ? formatJson(ctx, body) : '';
      if (active.length) return { retcode: EBUSY, stdout, stderr: `OSD(s) ${active.join(',')} are still up; stop them first (or check 'osd ok-to-stop').` };
      if (missing.length)
        return {
          retcode: EBUSY,
          stdout,
          stderr: `OSD(s) ${missing.join(',')} have no reported stats, and not all PGs are active+clean; we cannot draw any conclusions.`,
        };
      if (stored.length) return { retcode: EBUSY, stdout, stderr: `OSD(s) ${stored.join(',')} have pgs currently mapped to them.` };
      return ok(stdout, `OSD(s) ${safe.join(',')} are safe to destroy without reducing data durability.`);
    },
  },
  {
    cmd: 'service dump',
    desc: 'dump service map',
    perm: 'r',
    service: 'service',
    async run(ctx) {
      const map = await ctx.get('service_map');
      return ok(formatJson({ args: { format: ctx.args.format === 'json-pretty' || !isJson(ctx) ? 'json-pretty' : 'json' } }, map));
    },
  },
  {
    cmd: 'service status',
    desc: 'dump service state',
    perm: 'r',
    service: 'service',
    async run(ctx) {
      const map = await ctx.get('service_map');
      const body: Json = {};
      for (const [svc, s] of Object.entries(map.services ?? {}) as Array<[string, Json]>) {
        body[svc] = {};
        for (const [id, d] of Object.entries(s.daemons ?? {}) as Array<[string, Json]>) {
          if (id === 'summary') continue;
          body[svc][id] = { status_stamp: d.start_stamp ?? '', last_beacon: map.modified ?? '', status: d.task_status ?? {} };
        }
      }
      return ok(formatJson({ args: { format: ctx.args.format === 'json' ? 'json' : 'json-pretty' } }, body));
    },
  },
  {
    cmd: 'mgr module ls',
    desc: 'list active mgr modules',
    perm: 'r',
    service: 'mgr',
    monitor: true,
    async run(ctx) {
      const ls = await moduleLs(ctx);
      return out(ctx, ls, () =>
        table(
          ['MODULE', ''],
          [
            ...ls.always_on_modules.map((m: string) => [m, 'on (always on)']),
            ...ls.enabled_modules.map((m: string) => [m, 'on']),
            ...ls.disabled_modules.map((m: Json) => [m.name, m.can_run ? '-' : `- (cannot run: ${m.error_string})`]),
          ],
        ),
      );
    },
  },
  {
    cmd: 'mgr module enable name=module,type=CephString name=force,type=CephChoices,strings=--force,req=false',
    desc: 'enable mgr module',
    perm: 'rw',
    service: 'mgr',
    monitor: true,
    async run(ctx) {
      const r = await needStandby(ctx).enableModule(ctx.args.module, ctx.args.force === '--force');
      return ok('', r.message);
    },
  },
  {
    cmd: 'mgr module disable name=module,type=CephString',
    desc: 'disable mgr module',
    perm: 'rw',
    service: 'mgr',
    monitor: true,
    async run(ctx) {
      try {
        const r = await needStandby(ctx).disableModule(ctx.args.module);
        return ok('', r.message);
      } catch (e) {
        // MgrMonitor answers an always-on module with -EINVAL.
        const why = String((e as { details?: string }).details ?? (e as Error).message);
        if (/always-on/.test(why)) throw new CommandFailure(EINVAL, why);
        throw e;
      }
    },
  },
  {
    cmd: 'mgr services',
    desc: 'list service endpoints provided by mgr modules',
    perm: 'r',
    service: 'mgr',
    monitor: true,
    async run(ctx) {
      const m = await needStandby(ctx).getMgrMap();
      // Ceph prints this one as JSON even in plain format.
      return ok(formatJson({ args: { format: ctx.args.format === 'json' ? 'json' : 'json-pretty' } }, { ...m.services }));
    },
  },
  {
    cmd: 'mgr dump name=epoch,type=CephInt,range=0,req=false',
    desc: 'dump the latest MgrMap',
    perm: 'r',
    service: 'mgr',
    monitor: true,
    async run(ctx) {
      const m = await needStandby(ctx).getMgrMap();
      if (ctx.args.epoch !== undefined && ctx.args.epoch !== Number(m.epoch))
        throw new CommandFailure(ENOENT, `there is no map for epoch ${ctx.args.epoch} (only the latest, ${m.epoch}, is kept here)`);
      return ok(formatJson({ args: { format: ctx.args.format === 'json' ? 'json' : 'json-pretty' } }, mgrMapJson(m)), `dumped mgrmap epoch ${m.epoch}`);
    },
  },
  {
    cmd: 'mgr stat',
    desc: 'dump basic info about the mgr cluster state',
    perm: 'r',
    service: 'mgr',
    monitor: true,
    async run(ctx) {
      const m = await needStandby(ctx).getMgrMap();
      const body = { epoch: Number(m.epoch), available: m.available, active_name: m.activeName, num_standby: m.standbys.length };
      return ok(formatJson({ args: { format: ctx.args.format === 'json' ? 'json' : 'json-pretty' } }, body));
    },
  },
  {
    cmd: 'mgr fail name=who,type=CephString,req=false',
    desc: 'treat the named manager daemon as failed',
    perm: 'rw',
    service: 'mgr',
    monitor: true,
    async run(ctx) {
      const r = await needStandby(ctx).failMgr(ctx.args.who ?? '');
      return ok('', r.message);
    },
  },
  {
    cmd: 'config set name=key,type=CephString name=value,type=CephString',
    desc: 'Set a configuration option at runtime (not persistent)',
    perm: 'rw',
    service: 'config',
    async run(ctx) {
      const err = ctx.config.set(ctx.args.key, ctx.args.value);
      if (err) throw new CommandFailure(EINVAL, err);
      return ok('', '');
    },
  },
  {
    cmd: 'config show name=who,type=CephString,req=false name=key,type=CephString,req=false',
    desc: "Show running configuration (this manager's mgr-local options)",
    perm: 'r',
    service: 'config',
    async run(ctx) {
      const all = ctx.config.show();
      if (ctx.args.key !== undefined) {
        if (!(ctx.args.key in all)) throw new CommandFailure(ENOENT, `unrecognized key '${ctx.args.key}'`);
        return ok(isJson(ctx) ? formatJson(ctx, all[ctx.args.key]) : `${all[ctx.args.key]}\n`);
      }
      return out(ctx, Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { value: v, source: 'override' }])), () =>
        table(
          ['NAME', 'VALUE', 'SOURCE'],
          Object.entries(all).map(([k, v]) => [k, v, 'override']),
        ),
      );
    },
  },
  {
    cmd: 'get_command_descriptions',
    desc: 'list commands and their descriptors (for the CLI)',
    perm: 'r',
    service: 'mgr',
    async run(ctx) {
      const descs = await ctx.descriptions();
      const body: Json = {};
      descs.forEach((d, i) => {
        // Ceph's flags: 8 (FLAG_MGR) marks a manager command, 0 a monitor's.
        body[`cmd${String(i + 1).padStart(3, '0')}`] = { sig: d.cmd.split(/\s+/), help: d.desc, module: d.module, perm: d.perm, flags: d.monitor ? 0 : 8 };
      });
      return ok(JSON.stringify(body));
    },
  },
  {
    cmd: 'help',
    desc: 'list the commands this manager answers',
    perm: 'r',
    service: 'mgr',
    async run(ctx) {
      const descs = await ctx.descriptions();
      return ok(descs.map((d) => `${safeUsage(d.cmd)}\n    ${d.desc}`).join('\n') + '\n');
    },
  },
];
