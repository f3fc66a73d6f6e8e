// The MgrMap between Ceph's wire form (lib/ceph/messages/mgrmap.ts: what the
// monitors keep and the managers beacon) and mgrpc's contract
// (standby.proto): module infos both ways, and the map mgrpc's own clients
// follow when the monitors decide who is active.
//
// mgrpc's clients (mgrctl, module-host, the Kubernetes readiness probe)
// reach a manager over gRPC, and the monitors' MgrMap carries only msgr2
// addresses. Each mgrpc manager therefore puts its gRPC addresses in its
// beacon's metadata (GRPC_ADDR_METADATA); the monitors store a manager's
// metadata when it joins the map (`ceph mgr metadata <name>` prints them)
// and the standby service's ceph backend reads them back into MgrAddrs.
import type { ModuleInfo as ProtoModuleInfo, ModuleOption as ProtoModuleOption } from './gen/ceph/mgr/v1/common';
import type { MgrAddrs, MgrMap } from './gen/ceph/mgr/v1/standby';
import { OptionLevel, OptionType, type MgrMap as CephMgrMap, type ModuleInfo, type ModuleOption } from './ceph/messages/mgrmap';
import type { MonClient } from './ceph/monclient';
import { utimeToMs } from './ceph/types';

/** The beacon metadata keys that carry a manager's gRPC addresses (host:port). */
export const GRPC_ADDR_METADATA = { daemonServer: 'mgrpc_daemon_server_addr', moduleHost: 'mgrpc_module_host_addr' } as const;

/** Ceph's release number whose always-on modules apply (a Pacific monitor keys them by its own release). */
export const PACIFIC = 16;

/** Option::FLAG_RUNTIME: the only option flag a module option sets. */
const FLAG_RUNTIME = 1;

/** mgrpc's option type names (ModuleOption.type) by Ceph's Option::type_t. */
const TYPE_NAMES: Record<number, string> = {
  [OptionType.UINT]: 'uint',
  [OptionType.INT]: 'int',
  [OptionType.STR]: 'str',
  [OptionType.FLOAT]: 'float',
  [OptionType.BOOL]: 'bool',
  [OptionType.ADDR]: 'addr',
  [OptionType.ADDRVEC]: 'addrvec',
  [OptionType.UUID]: 'uuid',
  [OptionType.SIZE]: 'size',
  [OptionType.SECS]: 'secs',
  [OptionType.MILLISECS]: 'millisecs',
};
const TYPE_NUMBERS = new Map(Object.entries(TYPE_NAMES).map(([n, name]) => [name, Number(n)]));

/** A module as a beacon carries it, from what module-host reports (every option at level advanced, as Ceph's modules declare them). */
export function moduleInfoToCeph(m: ProtoModuleInfo): ModuleInfo {
  return {
    name: m.name,
    canRun: m.canRun,
    errorString: m.errorString,
    moduleOptions: m.moduleOptions.map((o): ModuleOption => ({
      name: o.name,
      type: TYPE_NUMBERS.get(o.type) ?? OptionType.STR,
      level: OptionLevel.ADVANCED,
      flags: o.runtime ? FLAG_RUNTIME : 0,
      defaultValue: o.defaultValue,
      min: o.min,
      max: o.max,
      enumAllowed: [...o.enumAllowed],
      desc: o.desc,
      longDesc: o.longDesc,
      tags: [],
      seeAlso: [],
    })),
  };
}

/** A module as the monitors' MgrMap lists it, in mgrpc's shape. */
export function moduleInfoFromCeph(m: ModuleInfo): ProtoModuleInfo {
  return {
    name: m.name,
    canRun: m.canRun,
    errorString: m.errorString,
    moduleOptions: m.moduleOptions.map((o): ProtoModuleOption => ({
      name: o.name,
      type: TYPE_NAMES[o.type] ?? 'str',
      defaultValue: o.defaultValue,
      hasDefault: o.defaultValue !== '',
      min: o.min,
      max: o.max,
      enumAllowed: [...o.enumAllowed],
      desc: o.desc,
      longDesc: o.longDesc,
      runtime: (o.flags & FLAG_RUNTIME) !== 0,
    })),
  };
}

/** A manager's gRPC addresses from its metadata (empty strings when it published none: a ceph-mgr daemon, say). */
export function grpcAddrsOf(metadata: Record<string, string> | undefined): MgrAddrs {
  return { daemonServer: metadata?.[GRPC_ADDR_METADATA.daemonServer] ?? '', moduleHost: metadata?.[GRPC_ADDR_METADATA.moduleHost] ?? '' };
}

/**
 * The monitors' MgrMap as mgrpc's clients follow it: the same epoch,
 * active (name, gid, available) and standbys, enabled and always-on
 * modules, services; addresses are the gRPC ones from each manager's
 * metadata (`metadata` by manager name). `lastFailureEpoch` is Ceph's
 * last_failure_osd_epoch (the osdmap epoch of the blocklist at the last
 * failover).
 */
export function mgrMapFromCeph(m: CephMgrMap, metadata: ReadonlyMap<string, Record<string, string>>): MgrMap {
  const alwaysOn = [...(m.alwaysOnModules.get(PACIFIC) ?? [])].sort();
  return {
    epoch: m.epoch,
    activeGid: Number(m.activeGid),
    activeName: m.activeName,
    activeAddrs: m.activeName ? grpcAddrsOf(metadata.get(m.activeName)) : { daemonServer: '', moduleHost: '' },
    available: m.available,
    activeChange: utimeToMs(m.activeChange) / 1000,
    standbys: [...m.standbys]
      .sort((a, b) => (a.gid < b.gid ? -1 : a.gid > b.gid ? 1 : 0))
      .map((s) => ({
        gid: Number(s.gid),
        name: s.name,
        addrs: grpcAddrsOf(metadata.get(s.name)),
        // A standby in the monitors' map is alive; Ceph keeps no readiness for it.
        available: true,
        availableModules: s.availableModules.map(moduleInfoFromCeph),
      })),
    modules: m.modules.filter((x) => !alwaysOn.includes(x)),
    alwaysOnModules: alwaysOn,
    availableModules: m.availableModules.map(moduleInfoFromCeph),
    services: { ...m.services },
    lastFailureEpoch: m.lastFailureOsdEpoch,
  };
}

/** The monitors' mon_mgr_beacon_grace in ms (what `ceph config get mon mon_mgr_beacon_grace` prints), or undefined when it cannot be read. */
export async function monitorsBeaconGraceMs(mon: MonClient, timeoutMs = 10_000): Promise<number | undefined> {
  const r = await mon.command({ prefix: 'config get', who: 'mon', key: 'mon_mgr_beacon_grace', format: 'json' }, { timeoutMs });
  if (r.r !== 0) return undefined;
  const s = Number(JSON.parse(r.data.toString('utf8') || 'null'));
  return s > 0 ? s * 1000 : undefined;
}
