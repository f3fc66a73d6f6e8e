// A Ceph message as msgr2 carries it: a MESSAGE frame whose segments are
// ceph_msg_header2 (41 bytes, packed), front, middle and data. msgr2 drops
// v1's src and footer: who sent it is known from the handshake.
// Sources: src/include/msgr.h (ceph_msg_header2), ProtocolV2.cc
// (write_message, handle_message), src/msg/Message.h (type numbers).
import { Decoder, DecodeError, Encoder } from './encoding';
import { MESSAGE_ALIGNMENTS, Tag, type Frame } from './frames';

export const MSG_HEADER2_BYTES = 41;

/** Message priorities (CEPH_MSG_PRIO_*). */
export const Priority = { LOW: 64, DEFAULT: 127, HIGH: 196, HIGHEST: 255 } as const;

/** A message: its type and encoding versions and its three payloads, plus the header fields the connection fills in. */
export interface Message {
  type: number;
  version: number;
  compatVersion: number;
  front: Buffer;
  middle?: Buffer;
  data?: Buffer;
  /** Transaction id, for requests that get replies (MMonCommand, MMonGetVersion). */
  tid?: bigint;
  priority?: number;
  /** Set by the connection: this message's sequence number on the session. */
  seq?: bigint;
  /** Set by the connection: the last sequence number received from the peer. */
  ackSeq?: bigint;
  flags?: number;
  /** Where the data segment starts in its object (for OSD ops); 0 otherwise. */
  dataOff?: number;
  dataPrePaddingLen?: number;
  reserved?: number;
}

export interface MessageHeader2 {
  seq: bigint;
  tid: bigint;
  type: number;
  priority: number;
  version: number;
  dataPrePaddingLen: number;
  dataOff: number;
  ackSeq: bigint;
  flags: number;
  compatVersion: number;
  reserved: number;
}

export function decodeHeader2(b: Buffer): MessageHeader2 {
  if (b.length !== MSG_HEADER2_BYTES) throw new DecodeError(`a message header is ${MSG_HEADER2_BYTES} bytes, this one ${b.length}`);
  const d = new Decoder(b);
  return {
    seq: d.u64(),
    tid: d.u64(),
    type: d.u16(),
    priority: d.u16(),
    version: d.u16(),
    dataPrePaddingLen: d.u32(),
    dataOff: d.u16(),
    ackSeq: d.u64(),
    flags: d.u8(),
    compatVersion: d.u16(),
    reserved: d.u16(),
  };
}

export function encodeHeader2(h: MessageHeader2): Buffer {
  return new Encoder(MSG_HEADER2_BYTES)
    .u64(h.seq)
    .u64(h.tid)
    .u16(h.type)
    .u16(h.priority)
    .u16(h.version)
    .u32(h.dataPrePaddingLen)
    .u16(h.dataOff)
    .u64(h.ackSeq)
    .u8(h.flags)
    .u16(h.compatVersion)
    .u16(h.reserved)
    .toBuffer();
}

/** Header flags Ceph sets on every message (CEPH_MSG_FOOTER_COMPLETE | CEPH_MSG_FOOTER_NOCRC: msgr2 checks frames itself). */
export const FOOTER_COMPLETE_NOCRC = 3;

/** The MESSAGE frame of a message (the connection sets seq and ackSeq). */
export function messageFrame(m: Message): Frame {
  const header = encodeHeader2({
    seq: m.seq ?? 0n,
    tid: m.tid ?? 0n,
    type: m.type,
    priority: m.priority ?? Priority.DEFAULT,
    version: m.version,
    dataPrePaddingLen: m.dataPrePaddingLen ?? 0,
    dataOff: m.dataOff ?? 0,
    ackSeq: m.ackSeq ?? 0n,
    flags: m.flags ?? FOOTER_COMPLETE_NOCRC,
    compatVersion: m.compatVersion,
    reserved: m.reserved ?? 0,
  });
  return { tag: Tag.MESSAGE, segments: [header, m.front, m.middle ?? Buffer.alloc(0), m.data ?? Buffer.alloc(0)], alignments: MESSAGE_ALIGNMENTS };
}

/** A message out of a MESSAGE frame's segments. */
export function decodeMessageFrame(segments: Buffer[]): Message {
  const h = decodeHeader2(segments[0] ?? Buffer.alloc(0));
  const empty = Buffer.alloc(0);
  return { ...h, front: segments[1] ?? empty, middle: segments[2] ?? empty, data: segments[3] ?? empty };
}

/** Message type numbers (CEPH_MSG_* and MSG_* in src/include/ceph_fs.h and src/msg/Message.h). */
export const MsgType = {
  MON_MAP: 4,
  MON_GET_MAP: 5,
  MON_SUBSCRIBE: 15,
  MON_SUBSCRIBE_ACK: 16,
  AUTH: 17,
  AUTH_REPLY: 18,
  MON_GET_VERSION: 19,
  MON_GET_VERSION_REPLY: 20,
  OSD_MAP: 41,
  FS_MAP: 45,
  MON_COMMAND: 50,
  MON_COMMAND_ACK: 51,
  LOG: 52,
  LOGACK: 53,
  KV_DATA: 54,
  CONFIG: 62,
  GET_CONFIG: 63,
  COMMAND: 97,
  COMMAND_REPLY: 98,
  MGR_OPEN: 0x700,
  MGR_CONFIGURE: 0x701,
  MGR_REPORT: 0x702,
  MGR_BEACON: 0x703,
  MGR_MAP: 0x704,
  MGR_DIGEST: 0x705,
  MON_MGR_REPORT: 0x706,
  SERVICE_MAP: 0x707,
  MGR_CLOSE: 0x708,
  MGR_COMMAND: 0x709,
  MGR_COMMAND_REPLY: 0x70a,
} as const;

const TYPE_NAMES = Object.fromEntries(Object.entries(MsgType).map(([k, v]) => [v, k])) as Record<number, string>;

export function msgTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}
