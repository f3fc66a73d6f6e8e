// The file-system map in Ceph's plain text (FSMap::print and
// MDSMap::print), built from its JSON (`ceph fs dump -f json`, get('fs_map')).
import { addrvec } from './format';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** CompatSet's print: "compat={},rocompat={},incompat={1=base v0.20,...}". */
function compatSet(c: Json): string {
  const part = (o: Json) =>
    `{${Object.entries<string>(o ?? {})
      .map(([k, v]) => `${k.replace(/^feature_/, '')}=${v}`)
      .join(',')}}`;
  return `compat=${part(c?.compat)},rocompat=${part(c?.ro_compat)},incompat=${part(c?.incompat)}`;
}

/** An MDS's compat as bit masks: "{c=[1],r=[1],i=[7ff]}" (bit 0 is always set). */
function compatMask(c: Json): string {
  const mask = (o: Json) =>
    Object.keys(o ?? {})
      .map((k) => Number(k.replace(/^feature_/, '')))
      .filter((n) => Number.isInteger(n) && n >= 0 && n < 53)
      .reduce((a, n) => a + 2 ** n, 0);
  const hex = (o: Json) => (mask(o) | 1).toString(16);
  return `{c=[${hex(c?.compat)}],r=[${hex(c?.ro_compat)}],i=[${hex(c?.incompat)}]}`;
}

function mdsLine(info: Json): string {
  return `[mds.${info.name}{${info.rank}:${info.gid}} state ${info.state} seq ${info.state_seq} addr ${addrvec(info.addrs)} compat ${compatMask(info.compat)}]`;
}

const list = (v: Json) => (Array.isArray(v) ? v.join(',') : '');

/** `ceph fs dump` in plain text. */
export function fsDumpPlain(m: Json): string {
  const flags = m.feature_flags ?? {};
  const out = [
    `e${m.epoch}`,
    `enable_multiple, ever_enabled_multiple: ${flags.enable_multiple ? 1 : 0},${flags.ever_enabled_multiple ? 1 : 0}`,
    `default compat: ${compatSet(m.compat)}`,
    `legacy client fscid: ${m.default_fscid ?? -1}`,
    ' ',
  ];
  for (const f of m.filesystems ?? []) {
    const d = f.mdsmap ?? {};
    const up = Object.entries<number>(d.up ?? {})
      .map(([rank, gid]) => `${rank.replace(/^mds_/, '')}=${gid}`)
      .join(',');
    out.push(
      `Filesystem '${d.fs_name}' (${f.id})`,
      `fs_name\t${d.fs_name}`,
      `epoch\t${d.epoch}`,
      `flags\t${Number(d.flags ?? 0).toString(16)}`,
      `created\t${d.created}`,
      `modified\t${d.modified}`,
      `tableserver\t${d.tableserver ?? 0}`,
      `root\t${d.root ?? 0}`,
      `session_timeout\t${d.session_timeout ?? 60}`,
      `session_autoclose\t${d.session_autoclose ?? 300}`,
      `max_file_size\t${d.max_file_size ?? 0}`,
      `required_client_features\t{}`,
      `last_failure\t${d.last_failure ?? 0}`,
      `last_failure_osd_epoch\t${d.last_failure_osd_epoch ?? 0}`,
      `compat\t${compatSet(d.compat)}`,
      `max_mds\t${d.max_mds ?? 1}`,
      `in\t${list(d.in)}`,
      `up\t{${up}}`,
      `failed\t${list(d.failed)}`,
      `damaged\t${list(d.damaged)}`,
      `stopped\t${list(d.stopped)}`,
      `data_pools\t[${list(d.data_pools)}]`,
      `metadata_pool\t${d.metadata_pool}`,
      `inline_data\t${d.inline_data_enabled ? 'enabled' : 'disabled'}`,
      `balancer\t${d.balancer ?? ''}`,
      `standby_count_wanted\t${d.standby_count_wanted ?? 0}`,
      ...Object.values<Json>(d.info ?? {}).map(mdsLine),
      ' ',
      ' ',
    );
  }
  const standbys: Json[] = m.standbys ?? [];
  if (standbys.length) out.push('Standby daemons:', ' ', ...standbys.map(mdsLine));
  return out.join('\n') + '\n';
}
