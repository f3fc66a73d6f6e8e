// The OSD map in Ceph's plain text (OSDMap::print, pg_pool_t's and the OSD
// lines' operator<<, OSDMap::print_summary), built from the osd map's JSON
// (`ceph osd dump -f json`, get('osd_map')).
import { addrvec, cppDouble, timespan } from './format';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** Flags every Pacific map carries; summaries leave them out (CEPH_OSDMAP_SEMIHIDDEN_FLAGS). */
const SEMIHIDDEN_FLAGS = new Set(['sortbitwise', 'recovery_deletes', 'purged_snapdirs', 'pglog_hardlimit', 'require_jewel_osds', 'require_kraken_osds']);

/** The map's flags an operator set (noout, pauserd, ...), in the map's order. */
export function importantFlags(osdMap: Json): string[] {
  return String(osdMap?.flags ?? '')
    .split(',')
    .filter((f) => f && !SEMIHIDDEN_FLAGS.has(f));
}

/** Ceph's timestamp ("2026-11-25T05:37:55.545474+0000") as seconds since the epoch; 0 when it does not parse. */
export function stampSeconds(stamp: unknown): number {
  if (typeof stamp !== 'string' || !stamp) return 0;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d{4})?$/.exec(stamp);
  if (!m) return 0;
  const zone = !m[3] || m[3] === 'Z' ? 'Z' : `${m[3].slice(0, 3)}:${m[3].slice(3)}`;
  const whole = Date.parse(`${m[1]}${zone}`);
  if (Number.isNaN(whole)) return 0;
  return whole / 1000 + (m[2] ? Number(`0.${m[2]}`) : 0);
}

/** The OSD map summary JSON (`ceph osd stat -f json`, and `status`'s osdmap). */
export function osdStatJson(osdMap: Json): Json {
  const osds: Json[] = osdMap?.osds ?? [];
  return {
    epoch: osdMap?.epoch ?? 0,
    num_osds: osds.length,
    num_up_osds: osds.filter((o) => o.up).length,
    osd_up_since: Math.floor(stampSeconds(osdMap?.last_up_change)),
    num_in_osds: osds.filter((o) => o.in).length,
    osd_in_since: Math.floor(stampSeconds(osdMap?.last_in_change)),
    num_remapped_pgs: (osdMap?.pg_temp ?? []).length,
  };
}

/**
 * OSDMap::print_summary: "3 osds: 3 up (since 21s), 3 in (since 24s); 89
 * remapped pgs", then a "flags noout" line indented by `indent` spaces.
 */
export function osdSummaryPlain(osdMap: Json, now: number, indent: number, withEpoch: boolean): string {
  const s = osdStatJson(osdMap);
  const since = (t: number) => (t ? ` (since ${timespan(now - t)})` : '');
  let line = `${s.num_osds} osds: ${s.num_up_osds} up${since(s.osd_up_since)}, ${s.num_in_osds} in${since(s.osd_in_since)}`;
  if (withEpoch) line += `; epoch: e${s.epoch}`;
  if (s.num_remapped_pgs) line += `; ${s.num_remapped_pgs} remapped pgs`;
  const flags = importantFlags(osdMap);
  return line + '\n' + (flags.length ? `${' '.repeat(indent)}flags ${flags.join(',')}\n` : '');
}

const POOL_TYPES: Record<number, string> = { 1: 'replicated', 3: 'erasure' };
const OBJECT_HASHES: Record<number, string> = { 0: 'linux', 1: 'rjenkins', 2: 'rjenkins' };

/** One pool as pg_pool_t's operator<< prints it ("pool 1 'rbd' replicated size 3 ..."). */
export function poolLine(p: Json): string {
  const parts = [`pool ${p.pool} '${p.pool_name}' ${POOL_TYPES[p.type] ?? 'unknown'}`];
  if (p.type === 3) parts.push(`profile ${p.erasure_code_profile ?? ''}`);
  parts.push(
    `size ${p.size} min_size ${p.min_size} crush_rule ${p.crush_rule} object_hash ${OBJECT_HASHES[p.object_hash] ?? 'unknown'} pg_num ${p.pg_num} pgp_num ${p.pg_placement_num}`,
  );
  if (p.pg_num_target !== undefined && p.pg_num_target !== p.pg_num) parts.push(`pg_num_target ${p.pg_num_target}`);
  if (p.pg_placement_num_target !== undefined && p.pg_placement_num_target !== p.pg_placement_num) parts.push(`pgp_num_target ${p.pg_placement_num_target}`);
  if (p.pg_num_pending !== undefined && p.pg_num_pending !== p.pg_num) parts.push(`pg_num_pending ${p.pg_num_pending}`);
  if (p.pg_autoscale_mode) parts.push(`autoscale_mode ${p.pg_autoscale_mode}`);
  parts.push(`last_change ${p.last_change}`);
  if (Number(p.last_force_op_resend) || Number(p.last_force_op_resend_prenautilus) || Number(p.last_force_op_resend_preluminous))
    parts.push(`lfor ${p.last_force_op_resend ?? 0}/${p.last_force_op_resend_prenautilus ?? 0}/${p.last_force_op_resend_preluminous ?? 0}`);
  if (p.flags_names) parts.push(`flags ${p.flags_names}`);
  if (p.quota_max_bytes) parts.push(`max_bytes ${p.quota_max_bytes}`);
  if (p.quota_max_objects) parts.push(`max_objects ${p.quota_max_objects}`);
  parts.push(`stripe_width ${p.stripe_width ?? 0}`);
  for (const [k, v] of Object.entries<Json>(p.options ?? {})) parts.push(`${k} ${typeof v === 'number' ? cppDouble(v) : v}`);
  const apps = Object.keys(p.application_metadata ?? {});
  if (apps.length) parts.push(`application ${apps.join(',')}`);
  return parts.join(' ');
}

/** One OSD as OSDMap::print lists it. */
function osdLine(o: Json): string {
  const parts = [`osd.${o.osd} ${o.up ? 'up  ' : 'down'} ${o.in ? 'in ' : 'out'} weight ${cppDouble(o.weight ?? 0)}`];
  if (o.primary_affinity !== undefined && o.primary_affinity !== 1) parts.push(`primary_affinity ${cppDouble(o.primary_affinity)}`);
  parts.push(
    `up_from ${o.up_from ?? 0} up_thru ${o.up_thru ?? 0} down_at ${o.down_at ?? 0} last_clean_interval [${o.last_clean_begin ?? 0},${o.last_clean_end ?? 0})`,
  );
  parts.push(addrvec(o.public_addrs), addrvec(o.cluster_addrs));
  parts.push((o.state ?? []).join(','));
  if (o.uuid && !/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(o.uuid)) parts.push(o.uuid);
  return parts.join(' ');
}

/** `ceph osd dump` in plain text. */
export function osdDumpPlain(m: Json): string {
  const lines = [
    `epoch ${m.epoch}`,
    `fsid ${m.fsid}`,
    `created ${m.created}`,
    `modified ${m.modified}`,
    `flags ${m.flags ?? ''}`,
    `crush_version ${m.crush_version ?? 0}`,
    `full_ratio ${cppDouble(m.full_ratio ?? 0)}`,
    `backfillfull_ratio ${cppDouble(m.backfillfull_ratio ?? 0)}`,
    `nearfull_ratio ${cppDouble(m.nearfull_ratio ?? 0)}`,
    `require_min_compat_client ${m.require_min_compat_client ?? ''}`,
    `min_compat_client ${m.min_compat_client ?? ''}`,
    `require_osd_release ${m.require_osd_release ?? ''}`,
    `stretch_mode_enabled ${m.stretch_mode?.stretch_mode_enabled ? 'true' : 'false'}`,
    ...(m.pools ?? []).map(poolLine),
    `max_osd ${m.max_osd ?? (m.osds ?? []).length}`,
    ...(m.osds ?? []).map(osdLine),
    ...(m.pg_upmap ?? []).map((u: Json) => `pg_upmap ${u.pgid} [${(u.osds ?? []).join(',')}]`),
    ...(m.pg_upmap_items ?? []).map((u: Json) => `pg_upmap_items ${u.pgid} [${(u.mappings ?? []).flatMap((x: Json) => [x.from, x.to]).join(',')}]`),
    ...(m.pg_temp ?? []).map((t: Json) => `pg_temp ${t.pgid} [${(t.osds ?? []).join(',')}]`),
    ...(m.primary_temp ?? []).map((t: Json) => `primary_temp ${t.pgid} ${t.osd}`),
    ...Object.entries<Json>(m.blocklist ?? {}).map(([addr, until]) => `blocklist ${addr} expires ${until}`),
  ];
  return lines.join('\n') + '\n';
}
