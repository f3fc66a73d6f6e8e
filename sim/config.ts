// Ceph's configuration options as the simulated monitors know them:
// templates/config-options.json holds, per option of Pacific 16.2.15, its
// level, whether it can change at runtime, its type and the value a
// manager runs with (extracted from the fixtures mgrget-config_options.json
// and mgrget-config.json). `config set` checks names and values against it;
// the managers' get('config') is these values with the configuration
// database's global and mgr entries on top.
import * as fs from 'fs';
import * as path from 'path';
import type { SimCluster } from './cluster';

export interface ConfigOption {
  level: string;
  runtime: boolean;
  type: string;
  /** What a manager runs with when nothing overrides it. */
  value: string;
}

let table: Map<string, ConfigOption> | undefined;

export function configOptions(): Map<string, ConfigOption> {
  if (!table) {
    const raw: Record<string, [string, number, string, string]> = JSON.parse(fs.readFileSync(path.join(__dirname, 'templates', 'config-options.json'), 'utf8'));
    table = new Map(Object.entries(raw).map(([name, [level, runtime, type, value]]) => [name, { level, runtime: runtime === 1, type, value }]));
  }
  return table;
}

/** get('config'): every option's value as a manager of this cluster sees it. */
export function mgrConfig(cluster: SimCluster): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, o] of configOptions()) out[name] = o.value;
  out.fsid = cluster.fsid;
  out.mon_host = cluster
    .monMap()
    .mons.map(
      (m: { public_addrs: { addrvec: Array<{ type: string; addr: string }> } }) => `[${m.public_addrs.addrvec.map((a) => `${a.type}:${a.addr}`).join(',')}]`,
    )
    .join(',');
  for (const section of ['global', 'mgr']) {
    for (const e of cluster.configDb) if (e.section === section && !e.mask && !e.name.startsWith('mgr/')) out[e.name] = e.value;
  }
  return out;
}
