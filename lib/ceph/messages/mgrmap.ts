// Who the managers are: the MgrMap the monitors keep (MMgrMap, monitors →
// everyone subscribed to "mgrmap") and the beacon each manager sends them
// every mgr_tick_period (MMgrBeacon, manager → monitors). A beacon names
// the manager (its gid is the global id of its monitor session), its msgr2
// address, whether it is available, its modules with their options, and
// once after it becomes active the command descriptions that tell the CLI
// which commands go to a manager. The monitors turn beacons into the
// MgrMap: first beacon → standby, or active when none is. This file has
// the whole map (mon.ts reads only its first fields) in Pacific's encodings:
// MgrMap v12, MMgrBeacon v11.
// Sources: src/mon/MgrMap.h, src/messages/MMgrBeacon.h, MMgrMap.h,
// src/mon/MonCommand.h, src/mon/MgrMonitor.cc.
import { Decoder, DecodeError, Encoder } from '../encoding';
import { MsgType, Priority, type Message } from '../message';
import { decodeAddrvec, decodeUTime, decodeUuid, encodeAddrvec, encodeUTime, encodeUuid, type EntityAddr, type UTime } from '../types';
import {
  decodePaxos,
  encodePaxos,
  frontOf,
  readString,
  readStringList,
  readStringMap,
  sortedSet,
  writeString,
  writeStringList,
  writeStringMap,
  writeStringSet,
  type PaxosHeader,
} from './common';

// --- modules -----------------------------------------------------------------

/** Option::type_t: a module option's type. */
export const OptionType = { UINT: 0, INT: 1, STR: 2, FLOAT: 3, BOOL: 4, ADDR: 5, ADDRVEC: 6, UUID: 7, SIZE: 8, SECS: 9, MILLISECS: 10 } as const;
/** Option::level_t. */
export const OptionLevel = { BASIC: 0, ADVANCED: 1, DEV: 2, UNKNOWN: 3 } as const;

/** MgrMap::ModuleOption v1: one option a module declares (`ceph config set mgr mgr/<module>/<name>`). */
export interface ModuleOption {
  name: string;
  type: number;
  level: number;
  flags: number;
  defaultValue: string;
  min: string;
  max: string;
  enumAllowed: string[];
  desc: string;
  longDesc: string;
  tags: string[];
  seeAlso: string[];
}

function decodeModuleOption(d: Decoder): ModuleOption {
  return d.struct(1, 'ModuleOption', () => ({
    name: d.string(),
    type: d.u8(),
    level: d.u8(),
    flags: d.u32(),
    defaultValue: d.string(),
    min: d.string(),
    max: d.string(),
    enumAllowed: readStringList(d),
    desc: d.string(),
    longDesc: d.string(),
    tags: readStringList(d),
    seeAlso: readStringList(d),
  }));
}

function encodeModuleOption(e: Encoder, o: ModuleOption): void {
  e.struct(1, 1, () => {
    writeString(e, o.name);
    e.u8(o.type).u8(o.level).u32(o.flags);
    writeString(e, o.defaultValue);
    writeString(e, o.min);
    writeString(e, o.max);
    writeStringSet(e, o.enumAllowed);
    writeString(e, o.desc);
    writeString(e, o.longDesc);
    writeStringSet(e, o.tags);
    writeStringSet(e, o.seeAlso);
  });
}

/** MgrMap::ModuleInfo v2: a module a manager has, whether it can run (and why not), its options by name. */
export interface ModuleInfo {
  name: string;
  canRun: boolean;
  errorString: string;
  /** option name → option (a std::map: encoded in name order). */
  moduleOptions: ModuleOption[];
}

function decodeModuleInfo(d: Decoder): ModuleInfo {
  return d.struct(2, 'ModuleInfo', (_, v) => ({
    name: d.string(),
    canRun: d.bool(),
    errorString: d.string(),
    moduleOptions: v >= 2 ? [...d.map(readString, decodeModuleOption, 50).values()] : [],
  }));
}

function encodeModuleInfo(e: Encoder, m: ModuleInfo): void {
  e.struct(2, 1, () => {
    writeString(e, m.name);
    e.bool(m.canRun);
    writeString(e, m.errorString);
    const byName = new Map(m.moduleOptions.map((o) => [o.name, o]));
    e.map(
      sortedSet(byName.keys()).map((k) => [k, byName.get(k) as ModuleOption] as const),
      writeString,
      encodeModuleOption,
    );
  });
}

// --- command descriptions ------------------------------------------------------

/** MonCommand flags. */
export const CommandFlag = { NOFORWARD: 1, OBSOLETE: 2, DEPRECATED: 4, MGR: 8, POLL: 16, HIDDEN: 32 } as const;

/**
 * A command description (MonCommand v1), as a manager lists its commands in
 * its first beacon as active: the CLI sends a command to the manager when
 * a description of the active manager matches it.
 */
export interface CommandDesc {
  /** "name=prefix,type=CephChoices,strings=hello name=person_name,type=CephString,req=false" style signature. */
  cmdstring: string;
  helpstring: string;
  /** "mgr", or the module's name. */
  module: string;
  /** "r", "rw", "rwx"... */
  perm: string;
  flags: bigint;
  /** A removed field, still encoded ("cli,rest"). */
  availability?: string;
}

function decodeCommandDesc(d: Decoder): CommandDesc {
  return d.struct(1, 'MonCommand', () => ({
    cmdstring: d.string(),
    helpstring: d.string(),
    module: d.string(),
    perm: d.string(),
    availability: d.string(),
    flags: d.u64(),
  }));
}

function encodeCommandDesc(e: Encoder, c: CommandDesc): void {
  e.struct(1, 1, () => {
    for (const s of [c.cmdstring, c.helpstring, c.module, c.perm, c.availability ?? 'cli,rest']) writeString(e, s);
    e.u64(c.flags);
  });
}

// --- MgrMap ------------------------------------------------------------------

/** A standby manager (StandbyInfo v4). */
export interface StandbyInfo {
  gid: bigint;
  name: string;
  availableModules: ModuleInfo[];
  mgrFeatures: bigint;
}

/** The MgrMap (v12 in Pacific). */
export interface MgrMap {
  epoch: number;
  activeAddrs: EntityAddr[];
  /** The active manager's gid; 0 when none. */
  activeGid: bigint;
  /** The active manager has started serving. */
  available: boolean;
  activeName: string;
  /** Standbys by gid, in gid order. */
  standbys: StandbyInfo[];
  /** Enabled modules. */
  modules: string[];
  /** What the active manager's modules serve: module → URI. */
  services: Record<string, string>;
  /** The modules the active manager has. */
  availableModules: ModuleInfo[];
  /** When the active manager became active (or the last one was lost). */
  activeChange: UTime;
  /** Release number (16 pacific) → modules always on for it. */
  alwaysOnModules: Map<number, string[]>;
  activeMgrFeatures: bigint;
  lastFailureOsdEpoch: number;
  /** The active manager's RADOS clients (blocklisted when it fails), with their names. */
  clients: { name: string; addrs: EntityAddr[] }[];
}

function decodeStandby(d: Decoder): StandbyInfo {
  return d.struct(4, 'StandbyInfo', (_, v) => {
    const gid = d.u64();
    const name = d.string();
    let availableModules: ModuleInfo[] = [];
    if (v >= 2) {
      const names = readStringList(d); // the module names alone, before v3
      if (v < 3) availableModules = names.map((n) => ({ name: n, canRun: true, errorString: '', moduleOptions: [] }));
    }
    if (v >= 3) availableModules = d.list(decodeModuleInfo, 16);
    const mgrFeatures = v >= 4 ? d.u64() : 0n;
    return { gid, name, availableModules, mgrFeatures };
  });
}

function encodeStandby(e: Encoder, s: StandbyInfo): void {
  e.struct(4, 1, () => {
    e.u64(s.gid);
    writeString(e, s.name);
    writeStringSet(
      e,
      s.availableModules.map((m) => m.name),
    );
    e.list(s.availableModules, encodeModuleInfo);
    e.u64(s.mgrFeatures);
  });
}

/** Decodes an encoded MgrMap (struct v6 and later: Nautilus on). */
export function decodeMgrMap(d: Decoder): MgrMap {
  return d.struct(12, 'MgrMap', (_, v) => {
    if (v < 6) throw new DecodeError(`MgrMap v${v} predates Nautilus`);
    const map: MgrMap = {
      epoch: d.u32(),
      activeAddrs: decodeAddrvec(d),
      activeGid: d.u64(),
      available: d.bool(),
      activeName: d.string(),
      standbys: [...d.map((x) => x.u64(), decodeStandby, 14).values()],
      modules: readStringList(d),
      services: readStringMap(d),
      availableModules: d.list(decodeModuleInfo, 16),
      activeChange: { sec: 0, nsec: 0 },
      alwaysOnModules: new Map(),
      activeMgrFeatures: 0n,
      lastFailureOsdEpoch: 0,
      clients: [],
    };
    if (v >= 7) map.activeChange = decodeUTime(d);
    if (v >= 8) map.alwaysOnModules = d.map((x) => x.u32(), readStringList, 8);
    if (v >= 9) map.activeMgrFeatures = d.u64();
    if (v >= 10) map.lastFailureOsdEpoch = d.u32();
    if (v >= 11) {
      const addrs = d.list(decodeAddrvec, 5);
      const names = v >= 12 ? readStringList(d) : addrs.map(() => '');
      if (names.length !== addrs.length) throw new DecodeError(`MgrMap lists ${addrs.length} client addresses but ${names.length} client names`);
      map.clients = addrs.map((a, i) => ({ name: names[i], addrs: a }));
    }
    return map;
  });
}

/** Encodes an MgrMap as a Pacific monitor does (v12, compat 6), for test monitors and the standby service's mirror. */
export function encodeMgrMap(e: Encoder, m: MgrMap): void {
  e.struct(12, 6, () => {
    e.u32(m.epoch);
    encodeAddrvec(e, m.activeAddrs);
    e.u64(m.activeGid).bool(m.available);
    writeString(e, m.activeName);
    const standbys = [...m.standbys].sort((a, b) => (a.gid < b.gid ? -1 : a.gid > b.gid ? 1 : 0));
    e.map(
      standbys.map((s) => [s.gid, s] as const),
      (x, k) => x.u64(k),
      encodeStandby,
    );
    writeStringSet(e, m.modules);
    writeStringMap(e, m.services);
    e.list(m.availableModules, encodeModuleInfo);
    encodeUTime(e, m.activeChange);
    e.map(
      [...m.alwaysOnModules].sort(([a], [b]) => a - b),
      (x, k) => x.u32(k),
      writeStringSet,
    );
    e.u64(m.activeMgrFeatures).u32(m.lastFailureOsdEpoch);
    e.list(m.clients, (x, c) => encodeAddrvec(x, c.addrs));
    writeStringList(
      e,
      m.clients.map((c) => c.name),
    );
  });
}

/** MMgrMap: the MgrMap, as the whole front. */
export function decodeMMgrMap(m: Message): MgrMap {
  return decodeMgrMap(frontOf(m, MsgType.MGR_MAP));
}

export function mMgrMap(map: MgrMap): Message {
  const e = new Encoder(4096);
  encodeMgrMap(e, map);
  return { type: MsgType.MGR_MAP, version: 1, compatVersion: 1, front: e.toBuffer(), priority: Priority.HIGH };
}

// --- MMgrBeacon --------------------------------------------------------------

/** MMgrBeacon v11 (compat 8). */
export interface MMgrBeacon {
  paxos: PaxosHeader;
  /** The manager's msgr2 address (where daemons and the CLI connect). */
  serverAddrs: EntityAddr[];
  /** The global id of the manager's monitor session. */
  gid: bigint;
  /** The manager is serving (as active); false while it starts. */
  available: boolean;
  /** "x" for mgr.x. */
  name: string;
  fsid: string;
  /** Sent once, in the first beacon as active; empty otherwise. */
  commandDescs: CommandDesc[];
  /** Daemon metadata (`ceph mgr metadata`): ceph_version, hostname, addrs... */
  metadata: Record<string, string>;
  /** Module → URI, from the active manager. */
  services: Record<string, string>;
  /** The modules this manager has (the monitors build `ceph mgr module ls` from them). */
  modules: ModuleInfo[];
  mgrFeatures: bigint;
  /** The manager's RADOS clients, by name. */
  clients: { name: string; addrs: EntityAddr[] }[];
}

export function decodeMMgrBeacon(m: Message): MMgrBeacon {
  const d = frontOf(m, MsgType.MGR_BEACON);
  if (m.version < 8) throw new DecodeError(`MMgrBeacon v${m.version} predates Nautilus`);
  const paxos = decodePaxos(d);
  const serverAddrs = decodeAddrvec(d);
  const gid = d.u64();
  const available = d.bool();
  const name = d.string();
  const fsid = decodeUuid(d);
  readStringList(d); // the module names again, for monitors older than ModuleInfo
  const commandDescs = d.list(decodeCommandDesc, 30);
  const metadata = readStringMap(d);
  const services = readStringMap(d);
  const modules = d.list(decodeModuleInfo, 16);
  const mgrFeatures = m.version >= 9 ? d.u64() : 0n;
  let clients: MMgrBeacon['clients'] = [];
  if (m.version >= 10) {
    const addrs = d.list(decodeAddrvec, 5);
    const names = m.version >= 11 ? readStringList(d) : addrs.map(() => '');
    if (names.length !== addrs.length) throw new DecodeError(`MMgrBeacon lists ${addrs.length} client addresses but ${names.length} client names`);
    clients = addrs.map((a, i) => ({ name: names[i], addrs: a }));
  }
  return { paxos, serverAddrs, gid, available, name, fsid, commandDescs, metadata, services, modules, mgrFeatures, clients };
}

export function mMgrBeacon(b: Omit<MMgrBeacon, 'paxos'> & { paxos?: PaxosHeader }): Message {
  const e = new Encoder(8192);
  encodePaxos(e, b.paxos);
  encodeAddrvec(e, b.serverAddrs);
  e.u64(b.gid).bool(b.available);
  writeString(e, b.name);
  encodeUuid(e, b.fsid);
  writeStringSet(
    e,
    b.modules.map((m) => m.name),
  );
  e.list(b.commandDescs, encodeCommandDesc);
  writeStringMap(e, b.metadata);
  writeStringMap(e, b.services);
  e.list(b.modules, encodeModuleInfo);
  e.u64(b.mgrFeatures);
  e.list(b.clients, (x, c) => encodeAddrvec(x, c.addrs));
  writeStringList(
    e,
    b.clients.map((c) => c.name),
  );
  return { type: MsgType.MGR_BEACON, version: 11, compatVersion: 8, front: e.toBuffer() };
}
