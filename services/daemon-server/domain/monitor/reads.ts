// The monitors' read commands answered from cluster-state's maps, as a
// Pacific monitor answers them: the same JSON (the fixtures' key paths) and
// the same plain text. This is how the simulated cluster's monitors read;
// against a real cluster these commands go to its monitors instead
// (monitors.ts).
import type { CommandResult } from '../../../../lib/gen/ceph/mgr/v1/common';
import { ENOENT } from '../../../../lib/errno';
import { CommandFailure } from '../errors';
import { formatJson } from './format';
import { addrvec, byteU, Column, siU, textTable, weightf } from './format';
import { osdDumpPlain, osdStatJson, osdSummaryPlain, poolLine } from './osdmap-print';
import { statusJson, statusPlain } from './status';
import { parseHealth } from './health';
import { fsDumpPlain } from './fsmap-print';
import { MonitorRead, MonitorReadContext, monStatus, optional } from './context';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

function isJson(ctx: MonitorReadContext): boolean {
  return ctx.args.format === 'json' || ctx.args.format === 'json-pretty';
}

function answer(ctx: MonitorReadContext, json: unknown, plain: () => string, stderr = ''): CommandResult {
  return { retcode: 0, stdout: isJson(ctx) ? formatJson(ctx, json) : plain(), stderr };
}

// ---- health -----------------------------------------------------------------

const SEVERITY_TAG: Record<string, string> = { HEALTH_WARN: '[WRN]', HEALTH_ERR: '[ERR]' };

const health: MonitorRead = async (ctx) => {
  const h = parseHealth(await ctx.get('health'));
  const detail = ctx.args.detail === 'detail';
  const checks = Object.entries<Json>(h.checks ?? {});
  const json = {
    status: h.status,
    checks: Object.fromEntries(
      checks.map(([code, c]) => {
        const { detail: lines, ...rest } = c;
        return [code, detail ? { ...rest, detail: lines ?? [], muted: c.muted ?? false } : { ...rest, muted: c.muted ?? false }];
      }),
    ),
    mutes: h.mutes ?? [],
  };
  return answer(ctx, json, () => {
    const summary = checks.filter(([, c]) => !c.muted).map(([, c]) => c.summary?.message ?? '');
    let text = summary.length ? `${h.status} ${summary.join('; ')}\n` : `${h.status}\n`;
    if (detail) {
      for (const [code, c] of checks) {
        text += `${c.muted ? '(MUTED) ' : ''}${SEVERITY_TAG[c.severity] ?? '[WRN]'} ${code}: ${c.summary?.message ?? ''}\n`;
        for (const d of c.detail ?? []) text += `    ${d.message}\n`;
      }
    }
    return text;
  });
};

// ---- df -------------------------------------------------------------------------

/** Ceph's percentify: "0" below 0.01, else two decimals. */
function percent(ratio: number): string {
  const p = (Number(ratio) || 0) * 100;
  return p < 0.01 ? '0' : p.toFixed(2);
}

const BRIEF_POOL_STATS = ['stored', 'objects', 'kb_used', 'bytes_used', 'percent_used', 'max_avail'];

const df: MonitorRead = async (ctx) => {
  const [d, osdMap] = await Promise.all([ctx.get('df'), ctx.get('osd_map')]);
  const detail = ctx.args.detail === 'detail';
  const json = {
    stats: d.stats ?? {},
    stats_by_class: d.stats_by_class ?? {},
    pools: (d.pools ?? []).map((p: Json) => ({
      name: p.name,
      id: p.id,
      stats: detail ? p.stats : Object.fromEntries(BRIEF_POOL_STATS.map((k) => [k, p.stats?.[k] ?? 0])),
    })),
  };
  return answer(ctx, json, () => {
    const R = (header: string): Column => ({ header, align: 'right' });
    const raw = [...Object.entries<Json>(d.stats_by_class ?? {}), ['TOTAL', d.stats ?? {}] as [string, Json]].map(([cls, s]) => [
      cls,
      byteU(s.total_bytes),
      byteU(s.total_avail_bytes),
      byteU(s.total_used_bytes),
      byteU(s.total_used_raw_bytes),
      percent(s.total_used_raw_ratio),
    ]);
    const pgNum = new Map<number, number>((osdMap.pools ?? []).map((p: Json) => [p.pool, p.pg_num]));
    const cols: Column[] = [{ header: 'POOL', align: 'left' }, R('ID'), R('PGS'), R('STORED')];
    if (detail) cols.push(R('(DATA)'), R('(OMAP)'));
    cols.push(R('OBJECTS'), R('USED'));
    if (detail) cols.push(R('(DATA)'), R('(OMAP)'));
    cols.push(R('%USED'), R('MAX AVAIL'));
    if (detail) cols.push(R('QUOTA OBJECTS'), R('QUOTA BYTES'), R('DIRTY'), R('USED COMPR'), R('UNDER COMPR'));
    const pools = (d.pools ?? []).map((p: Json) => {
      const s = p.stats ?? {};
      const row: Array<string | number> = [p.name, p.id, pgNum.get(p.id) ?? 0, byteU(s.stored)];
      if (detail) row.push(byteU(s.stored_data), byteU(s.stored_omap));
      row.push(siU(s.objects), byteU(s.bytes_used));
      if (detail) row.push(byteU(s.data_bytes_used), byteU(s.omap_bytes_used));
      row.push(percent(s.percent_used), byteU(s.max_avail));
      if (detail)
        row.push(
          s.quota_objects ? siU(s.quota_objects) : 'N/A',
          s.quota_bytes ? byteU(s.quota_bytes) : 'N/A',
          'N/A',
          byteU(s.compress_bytes_used),
          byteU(s.compress_under_bytes),
        );
      return row;
    });
    return (
      '--- RAW STORAGE ---\n' +
      textTable([{ header: 'CLASS', align: 'left' }, R('SIZE'), R('AVAIL'), R('USED'), R('RAW USED'), R('%RAW USED')], raw) +
      ' \n--- POOLS ---\n' +
      textTable(cols, pools)
    );
  });
};

// ---- osd --------------------------------------------------------------------------

async function osdMapAt(ctx: MonitorReadContext): Promise<Json> {
  const m = await ctx.get('osd_map');
  if (ctx.args.epoch !== undefined && ctx.args.epoch !== m.epoch)
    throw new CommandFailure(ENOENT, `there is no map for epoch ${ctx.args.epoch} (only the latest, ${m.epoch}, is kept here)`);
  return m;
}

const osdDump: MonitorRead = async (ctx) => {
  const m = await osdMapAt(ctx);
  return answer(ctx, m, () => osdDumpPlain(m));
};

const osdStat: MonitorRead = async (ctx) => {
  const m = await ctx.get('osd_map');
  return answer(ctx, osdStatJson(m), () => osdSummaryPlain(m, ctx.now(), 0, true));
};

const osdLs: MonitorRead = async (ctx) => {
  const ids = ((await osdMapAt(ctx)).osds ?? []).map((o: Json) => o.osd);
  return answer(ctx, ids, () => ids.map((i: number) => `${i}\n`).join(''));
};

const osdTree: MonitorRead = async (ctx) => {
  if (ctx.args.epoch !== undefined) await osdMapAt(ctx);
  const tree = await ctx.get('osd_map_tree');
  const states: string[] = ctx.args.states ?? [];
  const keep = (n: Json) => {
    if (!states.length || n.type !== 'osd') return true;
    return states.some((s) => (s === 'up' || s === 'down' || s === 'destroyed' ? n.status === s : s === 'in' ? n.reweight > 0 : n.reweight === 0));
  };
  const nodes: Json[] = (tree.nodes ?? []).filter(keep);
  const stray: Json[] = (tree.stray ?? []).filter(keep);
  return answer(ctx, { nodes, stray }, () => {
    const rows = [...nodes, ...stray].map((n: Json) => {
      const osd = n.id >= 0;
      return [
        n.id,
        osd ? (n.device_class ?? '') : '',
        weightf(osd ? (n.crush_weight ?? 0) : (n.crush_weight ?? sumWeight(n, tree.nodes))),
        `${'    '.repeat(n.depth ?? depthOf(n, tree.nodes))}${osd ? n.name : `${n.type} ${n.name}`}`,
        osd ? (n.exists === 0 ? 'DNE' : n.status) : '',
        osd ? weightf(n.reweight ?? 0) : '',
        osd ? weightf(n.primary_affinity ?? 1) : '',
      ];
    });
    const R = (header: string): Column => ({ header, align: 'right' });
    return textTable(
      [R('ID'), R('CLASS'), { header: 'WEIGHT', align: 'left' }, { header: 'TYPE NAME', align: 'left' }, R('STATUS'), R('REWEIGHT'), R('PRI-AFF')],
      rows,
    );
  });
};

/** A bucket's weight: the sum of the OSDs below it (the tree JSON carries no bucket weight). */
function sumWeight(bucket: Json, nodes: Json[]): number {
  const byId = new Map<number, Json>(nodes.map((n) => [n.id, n]));
  const walk = (id: number, seen: Set<number>): number => {
    const n = byId.get(id);
    if (!n || seen.has(id)) return 0;
    seen.add(id);
    if (id >= 0) return n.crush_weight ?? 0;
    return (n.children ?? []).reduce((a: number, c: number) => a + walk(c, seen), 0);
  };
  return walk(bucket.id, new Set());
}

function depthOf(node: Json, nodes: Json[]): number {
  let depth = 0;
  let cur = node;
  for (let guard = 0; guard < 64; guard++) {
    const parent = nodes.find((n) => (n.children ?? []).includes(cur.id));
    if (!parent) break;
    depth++;
    cur = parent;
  }
  return depth;
}

const poolLs: MonitorRead = async (ctx) => {
  const pools: Json[] = (await ctx.get('osd_map')).pools ?? [];
  if (ctx.args.detail === 'detail') {
    const json = pools.map(({ pool, ...rest }) => ({ pool_id: pool, ...rest }));
    return answer(ctx, json, () => pools.map((p) => poolLine(p) + '\n').join('') + '\n');
  }
  const names = pools.map((p) => p.pool_name);
  return answer(ctx, names, () => names.map((n) => `${n}\n`).join(''));
};

// ---- mon ----------------------------------------------------------------------------

/** Ceph prints the mon map's stamps with +0000 (utime_t), the JSON with Z. */
const plainStamp = (s: unknown) => String(s ?? '').replace(/Z$/, '+0000');

const monStat: MonitorRead = async (ctx) => {
  const [monMap, st] = await Promise.all([ctx.get('mon_map'), monStatus(ctx)]);
  const mons: Json[] = monMap.mons ?? [];
  const quorum: number[] = st.quorum ?? [];
  const name = (rank: number) => mons.find((m) => m.rank === rank)?.name ?? String(rank);
  const leader = quorum.length ? quorum[0] : -1;
  const json = {
    epoch: monMap.epoch,
    min_mon_release_name: monMap.min_mon_release_name ?? '',
    num_mons: mons.length,
    leader: leader >= 0 ? name(leader) : '',
    quorum: quorum.map((rank) => ({ rank, name: name(rank) })),
  };
  return answer(
    ctx,
    json,
    () =>
      `e${monMap.epoch}: ${mons.length} mons at {${mons.map((m) => `${m.name}=${addrvec(m.public_addrs)}`).join(',')}} removed_ranks: {${monMap['removed_ranks: '] ?? ''}}, election epoch ${st.election_epoch ?? 0}, leader ${leader} ${leader >= 0 ? name(leader) : ''}, quorum ${quorum.join(',')} ${quorum.map(name).join(',')}\n`,
  );
};

const monDump: MonitorRead = async (ctx) => {
  const [m, st] = await Promise.all([ctx.get('mon_map'), monStatus(ctx)]);
  if (ctx.args.epoch !== undefined && ctx.args.epoch !== m.epoch)
    throw new CommandFailure(ENOENT, `there is no map for epoch ${ctx.args.epoch} (only the latest, ${m.epoch}, is kept here)`);
  return answer(
    ctx,
    // `mon dump` adds the quorum to the map.
    { ...m, quorum: st.quorum ?? [] },
    () =>
      [
        `epoch ${m.epoch}`,
        `fsid ${m.fsid}`,
        `last_changed ${plainStamp(m.modified)}`,
        `created ${plainStamp(m.created)}`,
        `min_mon_release ${m.min_mon_release ?? 0} (${m.min_mon_release_name ?? ''})`,
        `election_strategy: ${m.election_strategy ?? 1}`,
        ...(m.mons ?? []).map((x: Json) => `${x.rank}: ${addrvec(x.public_addrs)} mon.${x.name}`),
      ].join('\n') + '\n',
    `dumped monmap epoch ${m.epoch}`,
  );
};

const quorumStatus: MonitorRead = async (ctx) => {
  const [monMap, st] = await Promise.all([ctx.get('mon_map'), monStatus(ctx)]);
  const quorum: number[] = st.quorum ?? [];
  const name = (rank: number) => (monMap.mons ?? []).find((m: Json) => m.rank === rank)?.name ?? String(rank);
  const json = {
    election_epoch: st.election_epoch ?? 0,
    quorum,
    quorum_names: quorum.map(name),
    quorum_leader_name: quorum.length ? name(quorum[0]) : '',
    quorum_age: st.quorum_age ?? 0,
    features: { quorum_con: st.features?.quorum_con ?? '0', quorum_mon: st.features?.quorum_mon ?? [] },
    monmap: monMap,
  };
  // Ceph answers JSON even in plain format.
  return { retcode: 0, stdout: formatJson({ args: { format: ctx.args.format === 'json-pretty' ? 'json-pretty' : 'json' } }, json), stderr: '' };
};

// ---- versions ------------------------------------------------------------------------

/** The version string a manager of this project reports (it is not Ceph's ceph-mgr). */
export const MGR_VERSION = 'mgrpc 0.1.0 (mgrpc manager)';

const versions: MonitorRead = async (ctx) => {
  const [osd, mon, mds, svc, mgr] = await Promise.all([
    optional(ctx, 'osd_metadata', {}),
    optional(ctx, 'mon_metadata', {}),
    optional(ctx, 'mds_metadata', {}),
    optional(ctx, 'service_map', { services: {} }),
    ctx.mgrMap(),
  ]);
  const count = (metas: Json[]) => {
    const out: Record<string, number> = {};
    for (const m of metas) if (m?.ceph_version) out[m.ceph_version] = (out[m.ceph_version] ?? 0) + 1;
    return out;
  };
  const body: Record<string, Record<string, number>> = {
    mon: count(Object.values(mon)),
    mgr: mgr && mgr.activeName ? { [MGR_VERSION]: 1 + mgr.standbys.length } : {},
    osd: count(Object.values(osd)),
    mds: count(Object.values(mds)),
  };
  for (const [service, s] of Object.entries<Json>(svc.services ?? {})) {
    const daemons = Object.entries<Json>(s.daemons ?? {})
      .filter(([id]) => id !== 'summary')
      .map(([, d]) => d.metadata);
    const c = count(daemons);
    if (Object.keys(c).length) body[service] = c;
  }
  const overall: Record<string, number> = {};
  for (const per of Object.values(body)) for (const [v, n] of Object.entries(per)) overall[v] = (overall[v] ?? 0) + n;
  body.overall = overall;
  // Ceph prints this one as JSON in every format.
  return { retcode: 0, stdout: formatJson({ args: { format: ctx.args.format === 'json' ? 'json' : 'json-pretty' } }, body), stderr: '' };
};

// ---- log last --------------------------------------------------------------------------

const LEVELS: Record<string, number> = { debug: 0, info: 1, sec: 2, warn: 3, error: 4 };
const PRIORITY_LEVEL: Record<string, number> = { DBG: 0, INF: 1, SEC: 2, WRN: 3, ERR: 4 };

const logLast: MonitorRead = async (ctx) => {
  const [log, monMap] = await Promise.all([optional(ctx, 'cluster_log', { entries: [] }), optional(ctx, 'mon_map', { mons: [] })]);
  // A monitor's entries carry its rank ("mon.0"), as Ceph's LogEntry does.
  const rank = (name: string) => {
    const mon = (monMap.mons ?? []).find((m: Json) => `mon.${m.name}` === name);
    return mon ? `mon.${mon.rank}` : name;
  };
  const num: number = ctx.args.num ?? 20;
  const level = LEVELS[ctx.args.level ?? 'info'];
  const channel: string = ctx.args.channel ?? 'cluster';
  const matching = (log.entries ?? []).filter((e: Json) => (channel === '*' || e.channel === channel) && (PRIORITY_LEVEL[e.priority] ?? 1) >= level);
  const entries = matching.slice(Math.max(0, matching.length - num)).map((e: Json) => ({
    name: e.name,
    rank: rank(e.name),
    addrs: { addrvec: [] },
    stamp: e.stamp,
    seq: e.seq,
    channel: e.channel,
    priority: `[${e.priority}]`,
    message: e.message,
  }));
  return answer(ctx, entries, () => entries.map((e: Json) => `${e.stamp} ${e.name} (${e.rank}) ${e.seq} : ${e.channel} ${e.priority} ${e.message}\n`).join(''));
};

// ---- config dump -------------------------------------------------------------------------

/** Sections in Ceph's order: global, then daemon types, then daemons; options by name within. */
function sectionRank(section: string): number {
  if (section === 'global') return 0;
  return section.includes('.') ? 2 : 1;
}

const configDump: MonitorRead = async (ctx) => {
  const db = await optional(ctx, 'mon_config', { options: [] });
  const options: Json[] = [...(db.options ?? [])].sort(
    (a, b) => sectionRank(a.section) - sectionRank(b.section) || String(a.section).localeCompare(b.section) || String(a.name).localeCompare(b.name),
  );
  const json = options.map((o) => ({
    section: o.section,
    name: o.name,
    value: String(o.value),
    level: o.level ?? 'advanced',
    can_update_at_runtime: o.can_update_at_runtime ?? true,
    mask: o.mask ?? '',
  }));
  return answer(ctx, json, () =>
    textTable(
      ['WHO', 'MASK', 'LEVEL', 'OPTION', 'VALUE', 'RO'].map((header) => ({ header, align: 'left' as const })),
      json.map((o) => [`${'  '.repeat(sectionRank(o.section))}${o.section}`, o.mask, o.level, o.name, o.value, o.can_update_at_runtime ? '' : '*']),
    ),
  );
};

// ---- fs ------------------------------------------------------------------------------------

const fsLs: MonitorRead = async (ctx) => {
  const [fsMap, osdMap] = await Promise.all([optional(ctx, 'fs_map', { filesystems: [] }), ctx.get('osd_map')]);
  const poolName = (id: number) => (osdMap.pools ?? []).find((p: Json) => p.pool === id)?.pool_name ?? String(id);
  const list = (fsMap.filesystems ?? []).map((f: Json) => ({
    name: f.mdsmap?.fs_name,
    metadata_pool: poolName(f.mdsmap?.metadata_pool),
    metadata_pool_id: f.mdsmap?.metadata_pool,
    data_pool_ids: f.mdsmap?.data_pools ?? [],
    data_pools: (f.mdsmap?.data_pools ?? []).map(poolName),
  }));
  return answer(ctx, list, () =>
    list.length
      ? list
          .map((f: Json) => `name: ${f.name}, metadata pool: ${f.metadata_pool}, data pools: [${f.data_pools.map((p: string) => `${p} `).join('')}]\n`)
          .join('')
      : 'No filesystems enabled\n',
  );
};

const fsDump: MonitorRead = async (ctx) => {
  const m = await ctx.get('fs_map');
  if (ctx.args.epoch !== undefined && ctx.args.epoch !== m.epoch)
    throw new CommandFailure(ENOENT, `there is no map for epoch ${ctx.args.epoch} (only the latest, ${m.epoch}, is kept here)`);
  return answer(ctx, m, () => fsDumpPlain(m), `dumped fsmap epoch ${m.epoch}`);
};

// ---- status ----------------------------------------------------------------------------------

const status: MonitorRead = async (ctx) => {
  const s = await statusJson(ctx);
  return answer(ctx, s.json, () => statusPlain(s, ctx.now()));
};

/** Every read, by prefix. */
export const MONITOR_READS: Record<string, MonitorRead> = {
  health,
  df,
  'osd dump': osdDump,
  'osd stat': osdStat,
  'osd ls': osdLs,
  'osd tree': osdTree,
  'osd pool ls': poolLs,
  'mon stat': monStat,
  'mon dump': monDump,
  quorum_status: quorumStatus,
  versions,
  'log last': logLast,
  'config dump': configDump,
  'fs ls': fsLs,
  'fs dump': fsDump,
  status,
};
