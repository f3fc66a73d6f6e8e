// The cluster log: MLog carries log entries to the monitors (`ceph -w`,
// `ceph log last`), MLogAck acknowledges them up to a sequence number.
// Sources: src/messages/MLog.h, src/messages/MLogAck.h, src/common/LogEntry.{h,cc}.
import { Decoder, DecodeError, Encoder } from '../encoding';
import { MsgType, type Message } from '../message';
import {
  decodeAddrvec,
  decodeEntityName,
  decodeUTime,
  decodeUuid,
  encodeAddrvec,
  encodeEntityName,
  encodeUTime,
  encodeUuid,
  type EntityAddr,
  type EntityName,
  type UTime,
} from '../types';

/** clog_type: a log entry's priority. */
export const LogPriority = { DEBUG: 0, INFO: 1, SEC: 2, WARN: 3, ERROR: 4 } as const;

export interface LogEntry {
  /** The cephx entity that logged it (mgr.x). */
  name: EntityName;
  /** entity_name_t: type and number (a daemon's rank or a client's global id). */
  rank: { type: number; num: bigint };
  addrs: EntityAddr[];
  stamp: UTime;
  seq: bigint;
  priority: number;
  msg: string;
  /** "cluster" or "audit". */
  channel: string;
}

function decodeLogEntry(d: Decoder): LogEntry {
  return d.struct(5, 'LogEntry', () => ({
    name: decodeEntityName(d),
    rank: { type: d.u8(), num: d.i64() },
    addrs: decodeAddrvec(d),
    stamp: decodeUTime(d),
    seq: d.u64(),
    priority: d.u16(),
    msg: d.string(),
    channel: d.string(),
  }));
}

function encodeLogEntry(e: Encoder, l: LogEntry): void {
  e.struct(5, 5, () => {
    encodeEntityName(e, l.name);
    e.u8(l.rank.type).i64(l.rank.num);
    encodeAddrvec(e, l.addrs);
    encodeUTime(e, l.stamp);
    e.u64(l.seq).u16(l.priority).string(l.msg).string(l.channel);
  });
}

/** MLog: a PaxosServiceMessage header (its version: the sender's last log version, 0 from a daemon), the fsid and the entries. */
export function mLog(fsid: string, entries: LogEntry[], version = 0n): Message {
  const e = new Encoder().u64(version).u16(0xffff).u64(0);
  encodeUuid(e, fsid);
  e.list(entries, encodeLogEntry);
  return { type: MsgType.LOG, version: 1, compatVersion: 1, front: e.toBuffer() };
}

export function decodeMLog(m: Message): { fsid: string; entries: LogEntry[]; version: bigint } {
  if (m.type !== MsgType.LOG) throw new DecodeError(`expected MLog (type ${MsgType.LOG}), got type ${m.type}`);
  const d = new Decoder(m.front);
  const version = d.u64();
  d.skip(2 + 8); // the rest of the paxos header
  return { fsid: decodeUuid(d), entries: d.list(decodeLogEntry, 60), version };
}

/** MLogAck: the entries up to `last` of `channel` are logged. */
export function decodeMLogAck(m: Message): { fsid: string; last: bigint; channel: string } {
  if (m.type !== MsgType.LOGACK) throw new DecodeError(`expected MLogAck (type ${MsgType.LOGACK}), got type ${m.type}`);
  const d = new Decoder(m.front);
  const fsid = decodeUuid(d);
  const last = d.u64();
  return { fsid, last, channel: d.remaining ? d.string() : '' };
}

export function mLogAck(fsid: string, last: bigint, channel: string): Message {
  const e = new Encoder();
  encodeUuid(e, fsid);
  e.u64(last).string(channel);
  return { type: MsgType.LOGACK, version: 1, compatVersion: 1, front: e.toBuffer() };
}
