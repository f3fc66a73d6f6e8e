// Per-image RBD metrics (ceph_rbd_*), for the pools named by the
// rbd_stats_pools option as Ceph's module reads it: a comma- or
// space-separated list of pool[/namespace] entries, `*` for every pool with
// the rbd application (or every namespace). The counters come from
// get('rbd_image_stats'): in Ceph they are an OSD perf query's answer; in
// mgrpc whoever feeds cluster-state puts them (the simulator does).
import { RBD_COUNTERS, RbdImageStats } from './collect';
import type { CephJson } from '../../lib/mgr-module';

/** pool name -> namespaces to export (null: every namespace). */
export type RbdPoolSelection = Map<string, Set<string> | null>;

/** Parses rbd_stats_pools against the pools that have the rbd application; unknown pools are ignored (as Ceph does). */
export function parseRbdStatsPools(option: string, rbdPools: string[]): RbdPoolSelection {
  const out: RbdPoolSelection = new Map();
  const add = (pool: string, ns: string | null) => {
    if (ns === null || ns === '*') out.set(pool, null);
    else if (!out.has(pool)) out.set(pool, new Set([ns]));
    else out.get(pool)?.add(ns);
  };
  for (const entry of option.split(/[\s,]+/)) {
    if (!entry) continue;
    const [pool, ns] = entry.split('/', 2);
    const namespace = ns === undefined ? null : ns;
    if (pool === '*') for (const p of rbdPools) add(p, namespace);
    else if (rbdPools.includes(pool)) add(pool, namespace);
  }
  return out;
}

/** The selected images' counters, in the order collect.ts expects them. */
export function selectRbdImages(stats: CephJson, selection: RbdPoolSelection): RbdImageStats[] {
  const out: RbdImageStats[] = [];
  if (!selection.size) return out;
  for (const pool of stats?.pools ?? []) {
    const name = String(pool?.pool_name ?? '');
    if (!selection.has(name)) continue;
    const namespaces = selection.get(name);
    for (const img of pool.images ?? []) {
      const namespace = String(img?.namespace ?? '');
      if (namespaces && !namespaces.has(namespace)) continue;
      out.push({
        pool: name,
        namespace,
        image: String(img.name ?? img.id ?? ''),
        counters: RBD_COUNTERS.map((c): [number, number] => {
          const v = img[c.key];
          return Array.isArray(v) ? [Number(v[0]) || 0, Number(v[1]) || 0] : [Number(v) || 0, 0];
        }),
      });
    }
  }
  return out;
}
