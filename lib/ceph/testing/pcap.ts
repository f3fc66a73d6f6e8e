// Offline capture reader for tests: msgr2 conversations out of a tcpdump
// file (classic pcap, Ethernet / Linux cooked / raw IPv4 or IPv6 links).
//
//   import { readCapture } from '../testing/pcap';
//   for (const c of readCapture('.../01-bringup.pcap')) {
//     c.client.frames   // what the connecting side sent, in order: { tag, segments, wire, offset }
//     c.server.bytes    // every byte the accepting side sent (banner included)
//   }
//
// `readCapture(file)` returns one Conversation per TCP connection, in the
// order the connections started. Each has `client` (the side that sent
// the SYN, or for a connection already open when the capture started, the
// side with the higher port) and `server`, each a Direction with:
//   - `bytes`: the reassembled byte stream of that direction;
//   - `banner`: the msgr2 banner, if the stream starts with one;
//   - `frames`: the frames in order, each with `tag`, `segments` (Buffers,
//     crc-checked), `alignments`, `offset` and `wire` (its bytes, a view
//     into `bytes`): `bytes.subarray(0, f.offset)` is everything that
//     direction sent before frame f (what AUTH_SIGNATURE signs);
//   - `crcErrors`, and `error` if the stream stopped decoding;
//   - `midstream`: the capture began after the connection did, so
//     decoding starts at the first preamble whose crc checks.
// `readVector('01-bringup')` reads one of the shared captures
// (shared/ceph-wire/vectors/), cached for the test file.
// Crc mode only: a secure-mode stream stops at its first encrypted frame
// (with `error` set). Retransmissions and out-of-order segments are
// handled by sequence number.
import * as fs from 'fs';
import * as path from 'path';
import { BANNER_PREFIX, ByteQueue, CrcCodec, FrameError, FrameReader, PREAMBLE_BYTES, readBanner, type Banner } from '../frames';

/** One frame of a capture. */
export interface CapturedFrame {
  tag: number;
  segments: Buffer[];
  alignments: number[];
  flags: number;
  /** Where the frame starts in its direction's `bytes`. */
  offset: number;
  /** The frame's bytes on the wire. */
  wire: Buffer;
}

/** One direction of a TCP connection. */
export interface Direction {
  /** "127.0.0.1:40200" */
  from: string;
  to: string;
  bytes: Buffer;
  midstream: boolean;
  banner?: Banner;
  frames: CapturedFrame[];
  crcErrors: number;
  /** Why decoding stopped before the end of `bytes`, if it did. */
  error?: string;
}

/** One TCP connection. */
export interface Conversation {
  /** Capture time of the first packet, in seconds. */
  start: number;
  client: Direction;
  server: Direction;
}

interface Packet {
  time: number;
  src: string;
  dst: string;
  seq: number;
  syn: boolean;
  payload: Buffer;
}

function* packets(file: string): Generator<Packet> {
  const buf = fs.readFileSync(file);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file} is not a pcap file (pcapng is not read)`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const nano = (le ? magic : buf.readUInt32BE(0)) === 0xa1b23c4d;
  const link = u32(20);
  let at = 24;
  while (at + 16 <= buf.length) {
    const time = u32(at) + u32(at + 4) / (nano ? 1e9 : 1e6);
    const incl = u32(at + 8);
    const pkt = buf.subarray(at + 16, at + 16 + incl);
    at += 16 + incl;
    const ipAt = link === 1 ? 14 : link === 113 ? 16 : link === 276 ? 20 : 0; // Ethernet, Linux cooked v1/v2, raw
    const p = tcpOf(pkt.subarray(ipAt), time);
    if (p) yield p;
  }
}

function tcpOf(ip: Buffer, time: number): Packet | undefined {
  if (ip.length < 20) return undefined;
  let src: string, dst: string, tcp: Buffer;
  if (ip[0] >> 4 === 4) {
    if (ip[9] !== 6) return undefined;
    const ihl = (ip[0] & 15) * 4;
    src = [...ip.subarray(12, 16)].join('.');
    dst = [...ip.subarray(16, 20)].join('.');
    tcp = ip.subarray(ihl, ip.readUInt16BE(2));
  } else if (ip[0] >> 4 === 6) {
    if (ip[6] !== 6) return undefined; // extension headers are not followed
    const hex = (b: Buffer) => `[${b.toString('hex').replace(/(.{4})(?!$)/g, '$1:')}]`;
    src = hex(ip.subarray(8, 24));
    dst = hex(ip.subarray(24, 40));
    tcp = ip.subarray(40, 40 + ip.readUInt16BE(4));
  } else return undefined;
  if (tcp.length < 20) return undefined;
  const doff = (tcp[12] >> 4) * 4;
  return {
    time,
    src: `${src}:${tcp.readUInt16BE(0)}`,
    dst: `${dst}:${tcp.readUInt16BE(2)}`,
    seq: tcp.readUInt32BE(4),
    syn: (tcp[13] & 2) !== 0,
    payload: tcp.subarray(doff),
  };
}

/** Reassembles one direction by sequence number. */
class Reassembly {
  next: number | undefined;
  midstream = false;
  sawSyn = false;
  private readonly parts: Buffer[] = [];
  private readonly pending = new Map<number, Buffer>();

  constructor(
    readonly from: string,
    readonly to: string,
  ) {}

  add(p: Packet): void {
    if (p.syn) {
      this.sawSyn = true;
      this.next = (p.seq + 1) >>> 0;
      return;
    }
    if (!p.payload.length) return;
    if (this.next === undefined) {
      this.next = p.seq;
      this.midstream = true;
    }
    const behind = (this.next - p.seq) >>> 0;
    if (behind > 0 && behind < 0x80000000) {
      // a retransmission, maybe overlapping new bytes
      if (behind < p.payload.length) this.append(p.payload.subarray(behind));
    } else if (behind === 0) this.append(p.payload);
    else this.pending.set(p.seq, p.payload);
    for (let d = this.pending.get(this.next as number); d; d = this.pending.get(this.next as number)) {
      this.pending.delete(this.next as number);
      this.append(d);
    }
  }

  private append(b: Buffer): void {
    this.parts.push(b);
    this.next = ((this.next as number) + b.length) >>> 0;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Decodes one direction's bytes as msgr2 crc-mode frames. */
export function decodeDirection(from: string, to: string, bytes: Buffer, midstream: boolean): Direction {
  const dir: Direction = { from, to, bytes, midstream, frames: [], crcErrors: 0 };
  const codec = new CrcCodec();
  let start: number;
  if (bytes.subarray(0, 8).equals(BANNER_PREFIX)) {
    const q = new ByteQueue();
    q.push(bytes);
    const b = readBanner(q);
    if (b) dir.banner = { supported: b.supported, required: b.required };
    start = bytes.length - q.length;
  } else if (midstream) {
    start = -1;
    for (let i = 0; i + PREAMBLE_BYTES <= Math.min(bytes.length, 1 << 20); i++) {
      try {
        codec.decodePreamble(bytes.subarray(i, i + PREAMBLE_BYTES));
        start = i;
        break;
      } catch {
        // not a preamble here
      }
    }
    if (start < 0) {
      dir.error = 'no msgr2 preamble found';
      return dir;
    }
  } else {
    dir.error = bytes.length ? 'no msgr2 banner' : undefined;
    return dir;
  }
  const q = new ByteQueue();
  q.push(bytes.subarray(start));
  const reader = new FrameReader(q, codec, Number.MAX_SAFE_INTEGER);
  for (;;) {
    const offset = bytes.length - q.length;
    try {
      const f = reader.next();
      if (!f) break;
      dir.frames.push({
        tag: f.tag,
        segments: f.segments,
        alignments: f.alignments ?? [],
        flags: f.flags ?? 0,
        offset,
        wire: bytes.subarray(offset, offset + f.wire.length),
      });
    } catch (e) {
      if (e instanceof FrameError && e.kind === 'crc' && !/preamble/.test(e.message)) {
        dir.crcErrors++; // the frame's extent is known: go on after it
        continue;
      }
      dir.error = `at byte ${offset}: ${(e as Error).message}`;
      break;
    }
  }
  return dir;
}

/** Every TCP connection of a pcap file, its two directions decoded as msgr2. */
export function readCapture(file: string): Conversation[] {
  type Conn = { start: number; openedBySyn: boolean; a: Reassembly; b: Reassembly };
  const conns = new Map<string, Conn>();
  const done: Conn[] = [];
  for (const p of packets(file)) {
    const key = p.src < p.dst ? `${p.src}|${p.dst}` : `${p.dst}|${p.src}`;
    let c = conns.get(key);
    const isNewSyn = p.syn && c && (c.a.from === p.src ? c.a : c.b).sawSyn && (c.a.from === p.src ? c.a : c.b).next !== (p.seq + 1) >>> 0;
    if (!c || isNewSyn) {
      if (c) done.push(c); // the 4-tuple was reused by a new connection
      c = { start: p.time, openedBySyn: p.syn, a: new Reassembly(p.src, p.dst), b: new Reassembly(p.dst, p.src) };
      conns.set(key, c);
    }
    (c.a.from === p.src ? c.a : c.b).add(p);
  }
  done.push(...conns.values());
  done.sort((x, y) => x.start - y.start);
  return done.map(({ start, openedBySyn, a, b }) => {
    // the client sent the first SYN; without one, the side with the higher (ephemeral) port
    const port = (s: string) => Number(s.slice(s.lastIndexOf(':') + 1));
    const aIsClient = openedBySyn || port(a.from) > port(a.to);
    const [cl, sv] = aIsClient ? [a, b] : [b, a];
    return {
      start,
      client: decodeDirection(cl.from, cl.to, cl.bytes(), cl.midstream),
      server: decodeDirection(sv.from, sv.to, sv.bytes(), sv.midstream),
    };
  });
}

/** Where the shared captures of a real Pacific cluster are. */
export const VECTORS = path.join(__dirname, '../../../../shared/ceph-wire/vectors');
const vectors = new Map<string, Conversation[]>();

/** One of the shared captures by name ('01-bringup', ...), read once per process. */
export function readVector(name: string): Conversation[] {
  let c = vectors.get(name);
  if (!c) {
    c = readCapture(path.join(VECTORS, `${name}.pcap`));
    vectors.set(name, c);
  }
  return c;
}
