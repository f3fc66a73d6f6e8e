// What this manager tells the monitors in its MMgrBeacon (v11), every
// mgr_tick_period, as Ceph's MgrStandby::send_beacon does: its msgr2
// address (only once available), gid, availability, every module with its
// options, the command descriptions of the manager's own commands (native
// and modules', never the monitors' commands mgrctl also answers) in the
// beacons that announce availability, and the metadata `ceph mgr metadata`
// and `ceph versions` print. The metadata also carries this manager's gRPC
// addresses (lib/mgrmap-ceph.ts), which is how mgrpc's own clients find it.
import * as fs from 'fs';
import * as os from 'os';
import type { CommandDescriptor, ModuleInfo } from '../../../lib/gen/ceph/mgr/v1/common';
import type { MgrAddrs } from '../../../lib/gen/ceph/mgr/v1/standby';
import { CommandFlag, mMgrBeacon, type CommandDesc } from '../../../lib/ceph/messages/mgrmap';
import type { Message } from '../../../lib/ceph/message';
import type { EntityAddr } from '../../../lib/ceph/types';
import { GRPC_ADDR_METADATA, moduleInfoToCeph } from '../../../lib/mgrmap-ceph';
import { version as MGRPC_VERSION } from '../../../package.json';

/** The Ceph release whose protocol mgrpc speaks. */
export const CEPH_VERSION_SHORT = '16.2.15';
/** The manager features Pacific's ceph-mgr announces (CEPH_FEATURES_ALL of 16.2.15). */
export const MGR_FEATURES = 4540138314316775423n;

/**
 * `ceph_version` as Ceph's tools read it: `ceph version <x.y.z> (<build>)
 * <release> (<stability>)`. The build slot holds no space, since the
 * dashboard splits the string on spaces.
 */
export function cephVersionString(mgrpcVersion = MGRPC_VERSION): string {
  return `ceph version ${CEPH_VERSION_SHORT} (mgrpc-${mgrpcVersion}) pacific (stable)`;
}

/** /etc/os-release as key → value, {} when unreadable. */
function osRelease(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const line of fs.readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim());
      if (m) out[m[1]] = m[3];
    }
    return out;
  } catch {
    return {};
  }
}

function swapKb(): string {
  try {
    const m = /^SwapTotal:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    return m ? m[1] : '0';
  } catch {
    return '0';
  }
}

/**
 * The metadata a beacon carries: the keys Ceph's collect_sys_info fills
 * (hostname, os, distro, kernel, cpu, memory, versions) plus this
 * manager's gRPC addresses.
 */
export function managerMetadata(o: { hostname?: string; grpc: MgrAddrs }): Record<string, string> {
  const rel = osRelease();
  const host = o.hostname || os.hostname();
  const md: Record<string, string> = {
    // Ceph's is the IP of its client messenger; ours, the IP our gRPC address names.
    addr: o.grpc.daemonServer.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'),
    arch: os.machine(),
    ceph_release: 'pacific',
    ceph_version: cephVersionString(),
    ceph_version_short: CEPH_VERSION_SHORT,
    cpu: os.cpus()[0]?.model ?? '',
    distro: rel.ID ?? '',
    distro_description: rel.PRETTY_NAME ?? '',
    distro_version: rel.VERSION_ID ?? '',
    hostname: host,
    kernel_description: os.version(),
    kernel_version: os.release(),
    mem_swap_kb: swapKb(),
    mem_total_kb: String(Math.floor(os.totalmem() / 1024)),
    mgrpc_version: MGRPC_VERSION,
    os: os.type(),
  };
  md[GRPC_ADDR_METADATA.daemonServer] = o.grpc.daemonServer;
  if (o.grpc.moduleHost) md[GRPC_ADDR_METADATA.moduleHost] = o.grpc.moduleHost;
  return md;
}

/** A native command as the command table lists it (domain/native.ts). */
export interface NativeDescription {
  cmd: string;
  desc: string;
  perm: string;
  /** The MgrCap service group: Ceph's `module` field of a native command. */
  service: string;
}

/**
 * The command descriptions of a beacon, as ceph-mgr lists them: the native
 * commands first (module = their service group, flags 0), then the
 * modules' (module "mgr", FLAG_MGR, plus FLAG_POLL when the CLI may poll
 * them). The monitors mark every one FLAG_MGR when they store them, and the
 * `ceph` CLI then sends a matching command to the active manager.
 */
export function commandDescs(native: NativeDescription[], modules: CommandDescriptor[]): CommandDesc[] {
  return [
    ...native.map((c) => ({ cmdstring: c.cmd, helpstring: c.desc, module: c.service, perm: c.perm, flags: 0n })),
    ...modules.map((c) => ({
      cmdstring: c.cmd,
      helpstring: c.desc,
      module: 'mgr',
      perm: c.perm,
      flags: BigInt(CommandFlag.MGR | (c.poll ? CommandFlag.POLL : 0)),
    })),
  ];
}

export interface BeaconContent {
  name: string;
  gid: bigint;
  fsid: string;
  /** The msgr2 front door's addresses; sent only while available, as Ceph does. */
  serverAddrs: EntityAddr[];
  available: boolean;
  /** What module-host reports (ListModules). */
  modules: ModuleInfo[];
  /** Only in the beacons that announce availability; empty otherwise. */
  commands: CommandDesc[];
  metadata: Record<string, string>;
  /** The active's module URIs (module → URI); sent only while available. */
  services: Record<string, string>;
}

export function beaconMessage(b: BeaconContent): Message {
  return mMgrBeacon({
    serverAddrs: b.available ? b.serverAddrs : [],
    gid: b.gid,
    available: b.available,
    name: b.name,
    fsid: b.fsid,
    commandDescs: b.commands,
    metadata: b.metadata,
    services: b.available ? b.services : {},
    modules: b.modules.map(moduleInfoToCeph),
    mgrFeatures: MGR_FEATURES,
    // mgrpc opens no RADOS clients the monitors should blocklist on failover.
    clients: [],
  });
}
