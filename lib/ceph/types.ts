// Small types every Ceph message uses: utime_t, uuid_d, entity names and
// addresses (entity_addr_t and entity_addrvec_t in their msgr2-era
// encoding), each with its decode and encode. Sources: src/include/utime.h,
// src/include/uuid.h, src/msg/msg_types.h, src/common/entity_name.h.
import { Decoder, DecodeError, Encoder } from './encoding';

/** Entity types (CEPH_ENTITY_TYPE_*). */
export const EntityType = { MON: 0x01, MDS: 0x02, OSD: 0x04, CLIENT: 0x08, MGR: 0x10, AUTH: 0x20 } as const;
const TYPE_NAMES: Record<number, string> = { 1: 'mon', 2: 'mds', 4: 'osd', 8: 'client', 0x10: 'mgr', 0x20: 'auth' };

export function entityTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type${type}`;
}

export function entityTypeFromName(name: string): number {
  const t = Object.entries(TYPE_NAMES).find(([, n]) => n === name);
  if (!t) throw new Error(`unknown entity type '${name}': one of ${Object.values(TYPE_NAMES).join(', ')}`);
  return Number(t[0]);
}

/** A cephx entity name (EntityName: le32 type + string id), e.g. client.admin. */
export interface EntityName {
  type: number;
  id: string;
}

export function parseEntityName(s: string): EntityName {
  const dot = s.indexOf('.');
  if (dot <= 0) throw new Error(`'${s}' is not an entity name such as client.admin or mgr.x`);
  return { type: entityTypeFromName(s.slice(0, dot)), id: s.slice(dot + 1) };
}

export function formatEntityName(n: EntityName): string {
  return `${entityTypeName(n.type)}.${n.id}`;
}

export function decodeEntityName(d: Decoder): EntityName {
  return { type: d.u32(), id: d.string() };
}

export function encodeEntityName(e: Encoder, n: EntityName): void {
  e.u32(n.type).string(n.id);
}

/** utime_t: seconds and nanoseconds. */
export interface UTime {
  sec: number;
  nsec: number;
}

export function decodeUTime(d: Decoder): UTime {
  return { sec: d.u32(), nsec: d.u32() };
}

export function encodeUTime(e: Encoder, t: UTime): void {
  e.u32(t.sec).u32(t.nsec);
}

export function utimeNow(ms = Date.now()): UTime {
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

export function utimeToMs(t: UTime): number {
  return t.sec * 1000 + Math.floor(t.nsec / 1e6);
}

/** uuid_d: 16 raw bytes, shown as the usual dashed hex. */
export function decodeUuid(d: Decoder): string {
  const h = d.bytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function encodeUuid(e: Encoder, uuid: string): void {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`'${uuid}' is not a uuid`);
  e.bytes(Buffer.from(hex, 'hex'));
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** entity_addr_t types. */
export const AddrType = { NONE: 0, LEGACY: 1, MSGR2: 2, ANY: 3, CIDR: 4 } as const;

const AF_INET = 2;
const AF_INET6 = 10;

/** One address: type (msgr2, legacy...), nonce, and an IPv4/IPv6 host and port (no host: "none"). */
export interface EntityAddr {
  type: number;
  nonce: number;
  /** 'v4', 'v6' or 'none' (an empty sockaddr). */
  family: 'v4' | 'v6' | 'none';
  host: string;
  port: number;
}

export function addrToString(a: EntityAddr): string {
  const t =
    a.type === AddrType.MSGR2 ? 'v2' : a.type === AddrType.LEGACY ? 'v1' : a.type === AddrType.ANY ? 'any' : a.type === AddrType.NONE ? '-' : `t${a.type}`;
  const hp = a.family === 'v6' ? `[${a.host}]:${a.port}` : a.family === 'v4' ? `${a.host}:${a.port}` : ':0';
  return `${t}:${hp}/${a.nonce}`;
}

/** The address as Ceph's JSON and `ceph -s` print it: "v2:127.0.0.1:6800/1234". */
export function addrvecToString(v: EntityAddr[]): string {
  return v.length === 1 ? addrToString(v[0]) : `[${v.map(addrToString).join(',')}]`;
}

function decodeSockaddr(d: Decoder, elen: number): Pick<EntityAddr, 'family' | 'host' | 'port'> {
  if (elen === 0) return { family: 'none', host: '', port: 0 };
  if (elen < 2) throw new DecodeError(`sockaddr of ${elen} bytes`);
  const family = d.u16();
  const data = d.bytes(elen - 2);
  return sockaddrData(family, data);
}

function sockaddrData(family: number, data: Buffer): Pick<EntityAddr, 'family' | 'host' | 'port'> {
  if (family === AF_INET && data.length >= 6) {
    return { family: 'v4', port: data.readUInt16BE(0), host: [...data.subarray(2, 6)].join('.') };
  }
  if (family === AF_INET6 && data.length >= 22) {
    const a = data.subarray(6, 22);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(a.readUInt16BE(i).toString(16));
    return { family: 'v6', port: data.readUInt16BE(0), host: compressV6(groups) };
  }
  if (family === 0) return { family: 'none', host: '', port: 0 };
  throw new DecodeError(`unknown address family ${family}`);
}

function compressV6(groups: string[]): string {
  // the longest run of zero groups becomes '::'
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function ipv6Bytes(host: string): Buffer {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`'${host}' is not an IPv6 address`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** Decodes one entity_addr_t (new encoding, marker 1; or the legacy one, marker 0). */
export function decodeAddr(d: Decoder): EntityAddr {
  const marker = d.u8();
  if (marker === 0) return decodeLegacyAddrAfterMarker(d);
  if (marker !== 1) throw new DecodeError(`entity_addr_t marker ${marker}, expected 0 or 1`);
  return decodeAddrBody(d);
}

function decodeAddrBody(d: Decoder): EntityAddr {
  return d.struct(1, 'entity_addr_t', () => {
    const type = d.u32();
    const nonce = d.u32();
    const elen = d.u32();
    return { type, nonce, ...decodeSockaddr(d, elen) };
  });
}

function decodeLegacyAddrAfterMarker(d: Decoder): EntityAddr {
  d.skip(3); // the rest of the legacy 32-bit type field
  const nonce = d.u32();
  const ss = d.bytes(128); // sockaddr_storage, family in network byte order
  return { type: AddrType.LEGACY, nonce, ...sockaddrData(ss.readUInt16BE(0), ss.subarray(2)) };
}

/** Encodes one entity_addr_t in the msgr2-era form (marker 1 + versioned struct). */
export function encodeAddr(e: Encoder, a: EntityAddr): void {
  e.u8(1).struct(1, 1, () => {
    e.u32(a.type).u32(a.nonce);
    if (a.family === 'none') {
      e.u32(0);
      return;
    }
    if (a.family === 'v4') {
      e.u32(16).u16(AF_INET);
      const b = Buffer.alloc(14);
      b.writeUInt16BE(a.port, 0);
      a.host.split('.').forEach((x, i) => b.writeUInt8(Number(x), 2 + i));
      e.bytes(b);
      return;
    }
    e.u32(28).u16(AF_INET6);
    const b = Buffer.alloc(26);
    b.writeUInt16BE(a.port, 0);
    ipv6Bytes(a.host).copy(b, 6);
    e.bytes(b);
  });
}

/** Decodes an entity_addrvec_t (marker 2 + vector; marker 0/1: one address). */
export function decodeAddrvec(d: Decoder): EntityAddr[] {
  const marker = d.u8();
  if (marker === 0) return [decodeLegacyAddrAfterMarker(d)];
  if (marker === 1) return [decodeAddrBody(d)];
  if (marker !== 2) throw new DecodeError(`entity_addrvec_t marker ${marker}, expected 0, 1 or 2`);
  return d.list(decodeAddr, 10);
}

export function encodeAddrvec(e: Encoder, v: EntityAddr[]): void {
  e.u8(2).list(v, encodeAddr);
}

/** An msgr2 address for host:port. */
export function v2Addr(host: string, port: number, nonce = 0): EntityAddr {
  return { type: AddrType.MSGR2, nonce, family: host.includes(':') ? 'v6' : 'v4', host, port };
}

export const BLANK_ADDR: EntityAddr = { type: AddrType.NONE, nonce: 0, family: 'none', host: '', port: 0 };
