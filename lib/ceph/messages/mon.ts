// The messages a monitor client sends and receives, with the versions
// Pacific uses (checked on the captures). Maps are decoded only as far as
// a client needs: epochs, and the monitors' names and addresses (the whole
// MgrMap and ServiceMap are in mgrmap.ts and service-map.ts). Sources: src/messages/MMon*.h, MOSDMap.h, MFSMap.h, MMgrMap.h,
// MAuth.h, MAuthReply.h, MConfig.h; src/mon/MonMap.cc, src/mon/MgrMap.h.
import { Decoder, DecodeError, Encoder } from '../encoding';
import { MsgType, type Message } from '../message';
import { decodeAddrvec, decodeUuid, encodeAddrvec, encodeUTime, encodeUuid, ZERO_UUID, type EntityAddr, type UTime } from '../types';

/** The version number of each Ceph release (ceph_release_t), as monmap's min_mon_release carries it. */
export const CephRelease = { NAUTILUS: 14, OCTOPUS: 15, PACIFIC: 16, QUINCY: 17, REEF: 18, SQUID: 19 } as const;
const RELEASE_NAMES: Record<number, string> = { 14: 'nautilus', 15: 'octopus', 16: 'pacific', 17: 'quincy', 18: 'reef', 19: 'squid' };

export function releaseName(r: number): string {
  return RELEASE_NAMES[r] ?? `release ${r}`;
}

function expectType(m: Message, type: number, name: string): Decoder {
  if (m.type !== type) throw new DecodeError(`expected ${name} (type ${type}), got type ${m.type}`);
  return new Decoder(m.front);
}

// PaxosServiceMessage's header, before the fields of MMonCommand, MAuth...:
// le64 version, le16 deprecated_session_mon (-1), le64 deprecated_session_mon_tid.
function encodePaxos(e: Encoder, version = 0n): Encoder {
  return e.u64(version).u16(0xffff).u64(0);
}

function skipPaxos(d: Decoder): bigint {
  const version = d.u64();
  d.skip(2 + 8);
  return version;
}

// --- MMonGetMap / MMonMap -------------------------------------------------

export function mMonGetMap(): Message {
  return { type: MsgType.MON_GET_MAP, version: 1, compatVersion: 1, front: Buffer.alloc(0) };
}

export interface MonInfo {
  name: string;
  addrs: EntityAddr[];
}

/** The parts of a MonMap a client uses. */
export interface MonMap {
  fsid: string;
  epoch: number;
  /** The monitors, in the map's (name) order. */
  mons: MonInfo[];
  /** The oldest release any monitor in the quorum runs (CephRelease); 0 if the map is older than Nautilus. */
  minMonRelease: number;
  /** MonMap's struct version (Pacific writes 9). */
  structVersion: number;
}

/** Decodes an encoded MonMap (MonMap::encode, struct v6 and later). */
export function decodeMonMap(buf: Buffer): MonMap {
  const d = new Decoder(buf);
  return d.struct(9, 'MonMap', (_, v) => {
    if (v < 6) throw new DecodeError(`MonMap v${v} predates Nautilus; a Pacific monitor writes v9`);
    const fsid = decodeUuid(d);
    const epoch = d.u32();
    d.skip(16); // last_changed, created
    d.struct(1, 'mon_feature_t', () => undefined); // persistent_features
    d.struct(1, 'mon_feature_t', () => undefined); // optional_features
    const infos = d.map(
      (x) => x.string(),
      (x) => x.struct(6, 'mon_info_t', () => ({ name: x.string(), addrs: decodeAddrvec(x) })),
      10,
    );
    d.list((x) => x.string(), 4); // ranks
    const minMonRelease = v >= 7 ? d.u8() : 0;
    return { fsid, epoch, mons: [...infos.values()], minMonRelease, structVersion: v };
  });
}

/**
 * Encodes a MonMap as a Pacific monitor does (struct v9: features 0xff
 * persistent, ranks in name order, election strategy classic, no stretch
 * mode). For test monitors; a real cluster's map comes from its monitors.
 */
export function encodeMonMap(m: Pick<MonMap, 'fsid' | 'epoch' | 'mons' | 'minMonRelease'>, created: UTime = { sec: 0, nsec: 0 }): Buffer {
  const e = new Encoder();
  const mons = [...m.mons].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  e.struct(9, 6, () => {
    encodeUuid(e, m.fsid);
    e.u32(m.epoch);
    encodeUTime(e, created); // last_changed
    encodeUTime(e, created);
    e.struct(1, 1, () => e.u64(0xffn)); // persistent_features: every monitor feature up to Pacific
    e.struct(1, 1, () => e.u64(0n)); // optional_features
    e.map(
      mons.map((x) => [x.name, x] as const),
      (x, k) => x.string(k),
      (x, v) =>
        x.struct(5, 1, () => {
          x.string(v.name);
          encodeAddrvec(x, v.addrs);
          x.u16(0).u16(0); // priority, weight
          x.u32(0); // crush_loc
        }),
    );
    e.list(mons, (x, v) => x.string(v.name)); // ranks
    e.u8(m.minMonRelease);
    e.u32(0); // removed_ranks
    e.u8(1); // election strategy: classic
    e.u32(0); // disallowed_leaders
    e.bool(false); // stretch_mode_enabled
    e.string(''); // tiebreaker_mon
    e.u32(0); // stretch_marked_down_mons
  });
  return e.toBuffer();
}

export function mMonMap(monmap: Buffer): Message {
  return { type: MsgType.MON_MAP, version: 1, compatVersion: 1, front: new Encoder().blob(monmap).toBuffer(), priority: 196 };
}

export interface MMonMap {
  monmap: MonMap;
  /** The encoded map as received. */
  raw: Buffer;
}

export function decodeMMonMap(m: Message): MMonMap {
  const d = expectType(m, MsgType.MON_MAP, 'MMonMap');
  const raw = d.blob();
  return { monmap: decodeMonMap(raw), raw };
}

// --- MMonSubscribe ---------------------------------------------------------

/** One subscription: the first epoch wanted (0: the latest), and whether it ends after one map. */
export interface SubscribeItem {
  start: number;
  onetime?: boolean;
}

const SUB_ONETIME = 1;

/** MMonSubscribe v3: map<string, {le64 start, u8 flags}> and the client's hostname. */
export function mMonSubscribe(what: Record<string, SubscribeItem>, hostname = ''): Message {
  const e = new Encoder();
  e.map(
    Object.entries(what),
    (x, k) => x.string(k),
    (x, v) => x.u64(v.start).u8(v.onetime ? SUB_ONETIME : 0),
  );
  e.string(hostname);
  return { type: MsgType.MON_SUBSCRIBE, version: 3, compatVersion: 1, front: e.toBuffer() };
}

export function decodeMMonSubscribe(m: Message): { what: Record<string, SubscribeItem>; hostname: string } {
  const d = expectType(m, MsgType.MON_SUBSCRIBE, 'MMonSubscribe');
  const what: Record<string, SubscribeItem> = {};
  for (const [k, v] of d.map(
    (x) => x.string(),
    (x) => ({ start: x.u64n(), flags: x.u8() }),
    13,
  ))
    what[k] = { start: v.start, onetime: (v.flags & SUB_ONETIME) !== 0 };
  const hostname = m.version >= 3 ? d.string() : '';
  return { what, hostname };
}

// --- map updates -----------------------------------------------------------

/** MOSDMap: which epochs it carries (the maps themselves stay encoded). */
export interface MOSDMap {
  fsid: string;
  /** Epochs of the incremental maps it holds. */
  incrementals: number[];
  /** Epochs of the full maps it holds. */
  full: number[];
  oldest: number;
  newest: number;
}

export function decodeMOSDMap(m: Message): MOSDMap {
  const d = expectType(m, MsgType.OSD_MAP, 'MOSDMap');
  const fsid = decodeUuid(d);
  const epochs = () =>
    [
      ...d
        .map(
          (x) => x.u32(),
          (x) => x.skip(x.u32()),
          8,
        )
        .keys(),
    ].sort((a, b) => a - b);
  const incrementals = epochs();
  const full = epochs();
  const oldest = m.version >= 2 ? d.u32() : 0;
  const newest = m.version >= 2 ? d.u32() : 0;
  return { fsid, incrementals, full, oldest, newest };
}

/** An MOSDMap carrying the given encoded maps by epoch (v4, as Pacific sends it), for test monitors. */
export function mOSDMap(fsid: string, maps: { incrementals?: Map<number, Buffer>; full?: Map<number, Buffer>; oldest: number; newest: number }): Message {
  const e = new Encoder();
  encodeUuid(e, fsid);
  for (const m of [maps.incrementals ?? new Map<number, Buffer>(), maps.full ?? new Map<number, Buffer>()])
    e.map(
      m,
      (x, k) => x.u32(k),
      (x, v) => x.blob(v),
    );
  e.u32(maps.oldest).u32(maps.newest);
  e.u32(0); // gap_removed_snaps (v4): none
  return { type: MsgType.OSD_MAP, version: 4, compatVersion: 3, front: e.toBuffer(), priority: 196 };
}

/** The highest epoch an MOSDMap brings. */
export function osdMapEpoch(m: MOSDMap): number {
  return Math.max(0, ...m.incrementals, ...m.full);
}

/** MFSMap: le32 epoch, then the FSMap (not decoded). */
export function decodeMFSMap(m: Message): { epoch: number } {
  const d = expectType(m, MsgType.FS_MAP, 'MFSMap');
  return { epoch: d.u32() };
}

/**
 * The epoch of an MMgrMap: the first field of the MgrMap. The monitor
 * client needs no more; mgrmap.ts decodes the whole map.
 */
export function mgrMapEpoch(m: Message): number {
  const d = expectType(m, MsgType.MGR_MAP, 'MMgrMap');
  return d.struct(14, 'MgrMap', () => d.u32());
}

/** The epoch of an MServiceMap: the first field of the ServiceMap (service-map.ts decodes the whole map). */
export function serviceMapEpoch(m: Message): number {
  const d = expectType(m, MsgType.SERVICE_MAP, 'MServiceMap');
  return d.struct(1, 'ServiceMap', () => d.u32());
}

/** MConfig: the configuration the monitors hold for this entity. */
export function decodeMConfig(m: Message): Map<string, string> {
  const d = expectType(m, MsgType.CONFIG, 'MConfig');
  return d.map(
    (x) => x.string(),
    (x) => x.string(),
    8,
  );
}

// --- commands ----------------------------------------------------------------

/** MMonCommand: one JSON command (the CLI sends one string) for the monitors, and its input. */
export function mMonCommand(tid: bigint, cmd: string[], inbuf?: Buffer, fsid = ZERO_UUID): Message {
  const e = encodePaxos(new Encoder());
  encodeUuid(e, fsid);
  e.list(cmd, (x, s) => x.string(s));
  return { type: MsgType.MON_COMMAND, version: 1, compatVersion: 1, front: e.toBuffer(), data: inbuf, tid };
}

export function decodeMMonCommand(m: Message): { fsid: string; cmd: string[]; inbuf: Buffer } {
  const d = expectType(m, MsgType.MON_COMMAND, 'MMonCommand');
  skipPaxos(d);
  return { fsid: decodeUuid(d), cmd: d.list((x) => x.string(), 4), inbuf: m.data ?? Buffer.alloc(0) };
}

export interface MonCommandAck {
  tid: bigint;
  r: number;
  rs: string;
  cmd: string[];
  /** The command's output (the data segment). */
  data: Buffer;
}

export function decodeMMonCommandAck(m: Message): MonCommandAck {
  const d = expectType(m, MsgType.MON_COMMAND_ACK, 'MMonCommandAck');
  skipPaxos(d);
  const r = d.i32();
  const rs = d.string();
  const cmd = d.list((x) => x.string(), 4);
  return { tid: m.tid ?? 0n, r, rs, cmd, data: m.data ?? Buffer.alloc(0) };
}

export function mMonCommandAck(tid: bigint, r: number, rs: string, cmd: string[], data?: Buffer): Message {
  const e = encodePaxos(new Encoder()).i32(r).string(rs);
  e.list(cmd, (x, s) => x.string(s));
  return { type: MsgType.MON_COMMAND_ACK, version: 1, compatVersion: 1, front: e.toBuffer(), data, tid };
}

// --- versions ----------------------------------------------------------------

/** MMonGetVersion: the newest epoch of one map ("osdmap", "fsmap", "mgrmap", "monmap"...). */
export function mMonGetVersion(tid: bigint, what: string): Message {
  return { type: MsgType.MON_GET_VERSION, version: 1, compatVersion: 1, front: new Encoder().u64(tid).string(what).toBuffer(), tid };
}

export function decodeMMonGetVersionReply(m: Message): { handle: bigint; version: number; oldest: number } {
  const d = expectType(m, MsgType.MON_GET_VERSION_REPLY, 'MMonGetVersionReply');
  const handle = d.u64();
  const version = d.u64n();
  const oldest = m.version >= 2 ? d.u64n() : 0;
  return { handle, version, oldest };
}

// --- authentication after the handshake -------------------------------------

/** MAuth: an auth protocol payload for the monitors (ticket renewal, rotating keys), built by cephx. */
export function mAuth(protocol: number, payload: Buffer, monmapEpoch = 0): Message {
  const e = encodePaxos(new Encoder()).u32(protocol).blob(payload).u32(monmapEpoch);
  return { type: MsgType.AUTH, version: 1, compatVersion: 1, front: e.toBuffer() };
}

export function decodeMAuth(m: Message): { protocol: number; payload: Buffer; monmapEpoch: number } {
  const d = expectType(m, MsgType.AUTH, 'MAuth');
  skipPaxos(d);
  const protocol = d.u32();
  const payload = d.blob();
  return { protocol, payload, monmapEpoch: d.remaining >= 4 ? d.u32() : 0 };
}

export interface MAuthReply {
  protocol: number;
  /** 0 or a negative errno. */
  result: number;
  globalId: bigint;
  payload: Buffer;
  message: string;
}

export function decodeMAuthReply(m: Message): MAuthReply {
  const d = expectType(m, MsgType.AUTH_REPLY, 'MAuthReply');
  return { protocol: d.u32(), result: d.i32(), globalId: d.u64(), payload: d.blob(), message: d.string() };
}

export function mAuthReply(r: MAuthReply): Message {
  const e = new Encoder().u32(r.protocol).i32(r.result).u64(r.globalId).blob(r.payload).string(r.message);
  return { type: MsgType.AUTH_REPLY, version: 1, compatVersion: 1, front: e.toBuffer() };
}
