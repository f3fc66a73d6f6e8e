// The MgrMap in Ceph's JSON shape (`ceph mgr dump`, a module's
// get('mgr_map')): used by standby to publish the map into cluster-state and
// by daemon-server's `mgr dump`.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import type { MgrMap } from './gen/ceph/mgr/v1/standby';

type Json = any;

/** Ceph's utime_t dump: 2026-11-25T05:36:36.054785+0000. */
export function cephTime(seconds: number): string {
  if (!seconds) return '0.000000';
  const d = new Date(seconds * 1000);
  const micro = String(Math.floor((seconds % 1) * 1e6)).padStart(6, '0');
  return `${d.toISOString().slice(0, 19)}.${micro}+0000`;
}

export function mgrMapJson(m: MgrMap): Json {
  const moduleJson = (mi: { name: string; canRun: boolean; errorString: string; moduleOptions: Array<Record<string, any>> }) => ({
    name: mi.name,
    can_run: mi.canRun,
    error_string: mi.errorString,
    module_options: Object.fromEntries(
      mi.moduleOptions.map((o) => [
        o.name,
        {
          name: o.name,
          type: o.type,
          level: 'advanced',
          flags: o.runtime ? 1 : 0,
          default_value: o.defaultValue,
          min: o.min,
          max: o.max,
          enum_allowed: o.enumAllowed,
          desc: o.desc,
          long_desc: o.longDesc,
          tags: [],
          see_also: [],
        },
      ]),
    ),
  });
  const addrvec = (a: string) => ({ addrvec: a ? [{ type: 'v2', addr: a, nonce: 0 }] : [] });
  return {
    epoch: Number(m.epoch),
    active_gid: Number(m.activeGid),
    active_name: m.activeName,
    active_addrs: addrvec(m.activeAddrs?.daemonServer ?? ''),
    active_addr: m.activeAddrs?.daemonServer ? `${m.activeAddrs.daemonServer}/0` : '',
    active_change: cephTime(m.activeChange),
    active_mgr_features: 0,
    available: m.available,
    standbys: m.standbys.map((s) => ({ gid: Number(s.gid), name: s.name, mgr_features: 0, available_modules: s.availableModules.map(moduleJson) })),
    modules: [...m.modules],
    available_modules: m.availableModules.map(moduleJson),
    services: { ...m.services },
    always_on_modules: { pacific: [...m.alwaysOnModules] },
    last_failure_osd_epoch: Number(m.lastFailureEpoch),
    active_clients: [],
  };
}
