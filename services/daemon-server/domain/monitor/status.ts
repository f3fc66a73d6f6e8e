// `ceph status` (`ceph -s`), as Monitor::get_cluster_status builds it: the
// JSON of the fixture status.json and the plain text an operator reads
// (cluster, services with mon/mgr/mds/osd/rgw..., data, io, progress).
import type { MgrMap } from '../../../../lib/gen/ceph/mgr/v1/standby';
import { byteU, siU, timespan } from './format';
import { parseHealth } from './health';
import { osdStatJson, osdSummaryPlain } from './osdmap-print';
import { MonitorReadContext, monStatus, optional } from './context';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export interface Status {
  /** `ceph status -f json`. */
  json: Json;
  // What the plain text needs beyond the JSON.
  osdMap: Json;
  fsMap: Json;
  mgrMap: MgrMap | null;
  /** Every monitor's name, in rank order. */
  monNames: string[];
}

/**
 * The pg_status keys Ceph's status carries (pgs_by_pool_state is not one).
 * As ceph-mgr does, every pool of the osd map counts, and its PGs no OSD has
 * reported on yet are `unknown` (all of them while a real cluster's daemons
 * report to another manager).
 */
function pgmapJson(pg: Json, osdMap: Json): Json {
  const pools: Json[] = osdMap.pools ?? [];
  const unknownPgs = Math.max(0, pools.reduce((n, p) => n + (Number(p.pg_num) || 0), 0) - (pg.num_pgs ?? 0));
  const out: Json = {
    pgs_by_state: [...(pg.pgs_by_state ?? []), ...(unknownPgs ? [{ state_name: 'unknown', count: unknownPgs }] : [])],
    num_pgs: (pg.num_pgs ?? 0) + unknownPgs,
    num_pools: Math.max(pg.num_pools ?? 0, pools.length),
    num_objects: pg.num_objects ?? 0,
    data_bytes: pg.data_bytes ?? 0,
    bytes_used: pg.bytes_used ?? 0,
    bytes_avail: pg.bytes_avail ?? 0,
    bytes_total: pg.bytes_total ?? 0,
  };
  const count = (pred: (s: string) => boolean) => out.pgs_by_state.filter((x: Json) => pred(x.state_name)).reduce((a: number, x: Json) => a + x.count, 0);
  const unknown = count((s) => s.split('+').includes('unknown'));
  const inactive = out.num_pgs - count((s) => s.split('+').includes('active')) - unknown;
  if (out.num_pgs && inactive > 0) out.inactive_pgs_ratio = Math.fround(inactive / out.num_pgs);
  if (out.num_pgs && unknown > 0) out.unknown_pgs_ratio = Math.fround(unknown / out.num_pgs);
  for (const [k, v] of Object.entries(pg)) if (!(k in out) && k !== 'pgs_by_pool_state') out[k] = v;
  return out;
}

export async function statusJson(ctx: MonitorReadContext): Promise<Status> {
  const [health, monMap, mon, osdMap, pg, fsMap, serviceMap, mgrMap, progress] = await Promise.all([
    optional(ctx, 'health', {}),
    optional(ctx, 'mon_map', {}),
    monStatus(ctx),
    ctx.get('osd_map'),
    ctx.get('pg_status'),
    optional(ctx, 'fs_map', { epoch: 0, filesystems: [], standbys: [] }),
    optional(ctx, 'service_map', { epoch: 0, modified: '', services: {} }),
    ctx.mgrMap(),
    optional(ctx, 'progress_events', {}),
  ]);
  const quorum: number[] = mon.quorum ?? [];
  const monName = (rank: number) => (monMap.mons ?? []).find((m: Json) => m.rank === rank)?.name ?? String(rank);
  const fs0 = (fsMap.filesystems ?? [])[0];
  const infos = (f: Json): Json[] => Object.values(f?.mdsmap?.info ?? {});
  const ranked = (fsMap.filesystems ?? []).flatMap((f: Json) =>
    infos(f)
      .filter((m) => m.rank >= 0)
      .map((m) => ({ f, m })),
  );
  const json = {
    fsid: osdMap.fsid ?? monMap.fsid ?? '',
    health: parseHealth(health),
    election_epoch: mon.election_epoch ?? 0,
    quorum,
    quorum_names: quorum.map(monName),
    quorum_age: mon.quorum_age ?? 0,
    monmap: { epoch: monMap.epoch ?? 0, min_mon_release_name: monMap.min_mon_release_name ?? '', num_mons: (monMap.mons ?? []).length },
    osdmap: osdStatJson(osdMap),
    pgmap: pgmapJson(pg, osdMap),
    fsmap: {
      epoch: fsMap.epoch ?? 0,
      // Ceph writes these per file system, so only when there is one.
      ...(fs0
        ? {
            id: fs0.id,
            up: ranked.filter(({ m }: Json) => String(m.state).startsWith('up:')).length,
            in: (fsMap.filesystems ?? []).reduce((a: number, f: Json) => a + (f.mdsmap?.in ?? []).length, 0),
            max: (fsMap.filesystems ?? []).reduce((a: number, f: Json) => a + (f.mdsmap?.max_mds ?? 0), 0),
          }
        : {}),
      by_rank: ranked.map(({ f, m }: Json) => ({ filesystem_id: f.id, rank: m.rank, name: m.name, status: m.state, gid: m.gid })),
      'up:standby': (fsMap.standbys ?? []).length,
    },
    mgrmap: {
      available: mgrMap?.available ?? false,
      num_standbys: mgrMap?.standbys.length ?? 0,
      modules: [...(mgrMap?.modules ?? [])],
      services: { ...(mgrMap?.services ?? {}) },
    },
    servicemap: serviceMap,
    progress_events: progress,
  };
  return { json, osdMap, fsMap, mgrMap, monNames: (monMap.mons ?? []).map((m: Json) => m.name) };
}

/** Entities Ceph lists on their own lines, not as service-map services. */
const NORMAL_ENTITIES = new Set(['mon', 'mgr', 'osd', 'mds', 'client']);

/** ServiceMap::Service::get_summary: "1 daemon active (1 hosts, 1 zones)". */
function serviceSummary(service: Json): string {
  if (service.summary) return service.summary;
  const daemons = Object.entries<Json>(service.daemons ?? {})
    .filter(([id]) => id !== 'summary')
    .map(([, d]) => d);
  if (!daemons.length) return 'no daemons active';
  const hosts = new Set(daemons.map((d) => d.metadata?.hostname).filter(Boolean));
  const zones = new Set(daemons.map((d) => d.metadata?.zone_name).filter(Boolean));
  let s = `${daemons.length} daemon${daemons.length > 1 ? 's' : ''} active`;
  if (hosts.size) s += ` (${hosts.size} hosts${zones.size ? `, ${zones.size} zones` : ''})`;
  return s;
}

/** The mgr line: "x(active, since 25s), standbys: y". */
function mgrSummary(m: MgrMap | null, now: number): string {
  if (!m || !m.activeName) return 'no daemons active';
  const since = m.activeChange ? `, since ${timespan(now - m.activeChange)}` : '';
  let s = `${m.activeName}(active${m.available ? '' : ', starting'}${since})`;
  if (m.standbys.length) s += `, standbys: ${m.standbys.map((x) => x.name).join(', ')}`;
  return s;
}

/** PGMapDigest::print_summary's pgs lines, indented under "pgs:". */
function pgLines(pg: Json): string[] {
  const lines: string[] = [];
  const pct = (r: number) => `${(r * 100).toFixed(3)}%`;
  if (pg.unknown_pgs_ratio) lines.push(`${pct(pg.unknown_pgs_ratio)} pgs unknown`);
  if (pg.inactive_pgs_ratio) lines.push(`${pct(pg.inactive_pgs_ratio)} pgs not active`);
  for (const what of ['degraded', 'misplaced', 'unfound']) {
    if (pg[`${what}_objects`]) lines.push(`${pg[`${what}_objects`]}/${pg[`${what}_total`]} objects ${what} (${pct(pg[`${what}_ratio`])})`);
  }
  const states = [...(pg.pgs_by_state ?? [])].sort((a: Json, b: Json) => b.count - a.count || String(b.state_name).localeCompare(a.state_name));
  const width = Math.max(1, ...states.map((s: Json) => String(s.count).length));
  for (const s of states) lines.push(`${String(s.count).padEnd(width)} ${s.state_name}`);
  return lines;
}

/** The io section's lines (client, recovery), empty when nothing moves. */
function ioLines(pg: Json): string[] {
  const lines: string[] = [];
  if (pg.read_op_per_sec || pg.write_op_per_sec || pg.read_bytes_sec || pg.write_bytes_sec) {
    let s = '';
    if (pg.read_bytes_sec) s += `${byteU(pg.read_bytes_sec)}/s rd, `;
    if (pg.write_bytes_sec) s += `${byteU(pg.write_bytes_sec)}/s wr, `;
    s += `${siU(pg.read_op_per_sec ?? 0)} op/s rd, ${siU(pg.write_op_per_sec ?? 0)} op/s wr`;
    lines.push(`    client:   ${s}`);
  }
  if (pg.recovering_objects_per_sec || pg.recovering_bytes_per_sec) {
    let s = `${byteU(pg.recovering_bytes_per_sec ?? 0)}/s, ${siU(pg.recovering_objects_per_sec ?? 0)} objects/s`;
    if (pg.recovering_keys_per_sec) s += `, ${siU(pg.recovering_keys_per_sec)} keys/s`;
    lines.push(`    recovery: ${s}`);
  }
  return lines;
}

/** `ceph -s` in plain text. */
export function statusPlain(s: Status, now: number): string {
  const j = s.json;
  const checks = Object.values<Json>(j.health.checks ?? {}).filter((c) => !c.muted);
  const out: string[] = ['  cluster:', `    id:     ${j.fsid}`, `    health: ${j.health.status}`];
  for (const c of checks) out.push(`            ${c.summary?.message ?? ''}`);
  out.push(' ', '  services:');
  const services: Array<[string, string]> = [];
  const outOfQuorum = s.monNames.filter((n) => !j.quorum_names.includes(n));
  services.push([
    'mon',
    `${j.monmap.num_mons} daemons, quorum ${j.quorum_names.join(',')} (age ${timespan(j.quorum_age)})${outOfQuorum.length ? `, out of quorum: ${outOfQuorum.join(', ')}` : ''}`,
  ]);
  services.push(['mgr', mgrSummary(s.mgrMap, now)]);
  const filesystems: Json[] = s.fsMap.filesystems ?? [];
  const standbys = (s.fsMap.standbys ?? []).length;
  if (filesystems.length || standbys) {
    services.push(['mds', `${j.fsmap.up}/${j.fsmap.in} daemons up${standbys ? `, ${standbys} standby` : ''}`]);
  }
  const osdText = osdSummaryPlain(s.osdMap, now, 4 + 'osd: '.length, false).replace(/\n$/, '');
  services.push(['osd', osdText]);
  for (const [name, svc] of Object.entries<Json>(j.servicemap.services ?? {})) {
    if (NORMAL_ENTITIES.has(name)) continue;
    services.push([name, serviceSummary(svc)]);
  }
  const width = Math.max(3, ...services.map(([n]) => n.length));
  for (const [name, text] of services) out.push(`    ${name}: ${' '.repeat(width - name.length)}${text}`);
  out.push(' ', '  data:');
  if (filesystems.length) {
    const healthy = filesystems.filter((f) => (f.mdsmap?.failed ?? []).length === 0 && (f.mdsmap?.damaged ?? []).length === 0).length;
    out.push(`    volumes: ${healthy}/${filesystems.length} healthy`);
  }
  const pg = j.pgmap;
  out.push(
    `    pools:   ${pg.num_pools} pools, ${pg.num_pgs} pgs`,
    `    objects: ${siU(pg.num_objects)} objects, ${byteU(pg.data_bytes)}`,
    `    usage:   ${byteU(pg.bytes_used)} used, ${byteU(pg.bytes_avail)} / ${byteU(pg.bytes_total)} avail`,
  );
  pgLines(pg).forEach((l, i) => out.push(`${i === 0 ? '    pgs:     ' : '             '}${l}`));
  const io = ioLines(pg);
  if (io.length) out.push(' ', '  io:', ...io);
  // MgrStatMonitor: the events a module asked to show here (their message carries its own bar).
  const shown = Object.values<Json>(j.progress_events ?? {}).filter((e) => e.add_to_ceph_s);
  if (shown.length) out.push(' ', '  progress:', ...shown.map((e) => `    ${e.message}`));
  out.push(' ');
  return out.join('\n') + '\n';
}
