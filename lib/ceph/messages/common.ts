// Small encodings the manager's messages share and encoding.ts, types.ts
// and message.ts do not have (yet): the type check every decoder starts
// with, PaxosServiceMessage's header, float32, Ceph's std::set<string>
// (sorted by bytes, as std::string compares), maps of strings, and a
// versioned struct kept as its raw bytes. Candidates to move into those
// files.
import { Decoder, DecodeError, Encoder } from '../encoding';
import { msgTypeName, type Message } from '../message';

/** A decoder over the front of `m`, after checking its type. */
export function frontOf(m: Message, type: number): Decoder {
  if (m.type !== type) throw new DecodeError(`expected ${msgTypeName(type)} (type 0x${type.toString(16)}), got ${msgTypeName(m.type)}`);
  return new Decoder(m.front);
}

/**
 * PaxosServiceMessage's header: le64 version, le16 deprecated_session_mon
 * (-1 from anyone but a monitor), le64 deprecated_session_mon_tid.
 */
export interface PaxosHeader {
  version: bigint;
  sessionMon: number;
  sessionMonTid: bigint;
}

export const NO_PAXOS: PaxosHeader = { version: 0n, sessionMon: -1, sessionMonTid: 0n };

export function decodePaxos(d: Decoder): PaxosHeader {
  const version = d.u64();
  const sessionMon = d.u16();
  return { version, sessionMon: sessionMon === 0xffff ? -1 : sessionMon, sessionMonTid: d.u64() };
}

export function encodePaxos(e: Encoder, h: PaxosHeader = NO_PAXOS): Encoder {
  return e
    .u64(h.version)
    .u16(h.sessionMon & 0xffff)
    .u64(h.sessionMonTid);
}

export function readF32(d: Decoder): number {
  return d.bytes(4).readFloatLE(0);
}

export function writeF32(e: Encoder, v: number): Encoder {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v, 0);
  return e.bytes(b);
}

export function readString(d: Decoder): string {
  return d.string();
}

export function writeString(e: Encoder, s: string): void {
  e.string(s);
}

/** std::string's order: by bytes, not by UTF-16 code units. */
export function compareBytes(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A std::set<std::string>: sorted and unique, whatever order it is given in. */
export function sortedSet(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareBytes);
}

export function readStringList(d: Decoder): string[] {
  return d.list(readString, 4);
}

export function writeStringList(e: Encoder, values: readonly string[]): void {
  e.list(values, writeString);
}

/** Encodes a std::set<std::string> (sorted by bytes on the way out). */
export function writeStringSet(e: Encoder, values: Iterable<string>): void {
  e.list(sortedSet(values), writeString);
}

/** map<string,string> as an object without a prototype (so a key such as "__proto__" is just a key), keys in wire order. */
export function readStringMap(d: Decoder): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of d.map(readString, readString, 8)) out[k] = v;
  return out;
}

/** Encodes a std::map<string,string> (keys sorted by bytes, as std::map holds them). */
export function writeStringMap(e: Encoder, m: Record<string, string>): void {
  e.map(
    Object.keys(m)
      .sort(compareBytes)
      .map((k) => [k, m[k]] as const),
    writeString,
    writeString,
  );
}

/** A versioned struct (ENCODE_START envelope included) kept as its bytes: for fields mgrpc forwards or ignores. */
export function readRawStruct(d: Decoder, what: string): Buffer {
  const at = d.offset;
  d.start(255, what);
  d.finish();
  return d.buf.subarray(at, d.offset);
}
