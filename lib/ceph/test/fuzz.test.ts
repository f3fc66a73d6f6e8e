// Hostile input: the captured frames with bytes flipped, cut short or
// lengthened (a fixed seed, a bounded number of cases) go through the
// decoders, which must answer with a DecodeError and nothing else (no
// RangeError, no allocation a length field asks for), and through a
// server connection, which must end that connection only.
import * as net from 'net';
import { authNoneServer } from '../authnone';
import { Connection, WireCounters } from '../connection';
import { decodeControl } from '../control';
import { DecodeError } from '../encoding';
import { CrcCodec, encodeBanner, Tag } from '../frames';
import { decodeMessageFrame, MsgType, type Message } from '../message';
import * as M from '../messages/mon';
import { readVector } from '../testing/pcap';
import { EntityType, v2Addr } from '../types';
import { createLogger } from '../../log';
import { seededRandom } from '../../seeded-random';
import { until } from '../../testing/wait';

function mutate(b: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(b);
  const kind = Math.floor(rnd() * 3);
  if (kind === 0 && out.length) {
    for (let i = 0; i < 1 + Math.floor(rnd() * 4); i++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
    return out;
  }
  if (kind === 1) return out.subarray(0, Math.floor(rnd() * out.length));
  // a length or count field made huge
  if (out.length >= 4) out.writeUInt32LE(0xfffffff0, Math.floor(rnd() * (out.length - 3)));
  return out;
}

const decoders: Record<number, (m: Message) => unknown> = {
  [MsgType.MON_MAP]: M.decodeMMonMap,
  [MsgType.OSD_MAP]: M.decodeMOSDMap,
  [MsgType.FS_MAP]: M.decodeMFSMap,
  [MsgType.MGR_MAP]: M.mgrMapEpoch,
  [MsgType.CONFIG]: M.decodeMConfig,
  [MsgType.MON_COMMAND_ACK]: M.decodeMMonCommandAck,
  [MsgType.MON_SUBSCRIBE]: M.decodeMMonSubscribe,
  [MsgType.AUTH_REPLY]: M.decodeMAuthReply,
};

describe('hostile input', () => {
  const frames = readVector('05-mon-commands').flatMap((c) => [...c.client.frames, ...c.server.frames]);

  it('control frame and message decoders throw DecodeError only', () => {
    const rnd = seededRandom(12);
    let cases = 0;
    let refused = 0;
    for (const f of frames) {
      for (let i = 0; i < 12; i++) {
        cases++;
        try {
          if (f.tag !== Tag.MESSAGE) decodeControl(f.tag, mutate(f.segments[0], rnd));
          else {
            const m = decodeMessageFrame(f.segments);
            const decode = decoders[m.type];
            if (!decode) continue;
            decode({ ...m, front: mutate(m.front, rnd) });
          }
        } catch (e) {
          if (!(e instanceof DecodeError))
            throw new Error(`${f.tag === Tag.MESSAGE ? 'a message' : 'a control frame'} made ${(e as Error).constructor.name}: ${(e as Error).message}`);
          refused++;
        }
      }
    }
    expect(cases).toBeGreaterThan(2000);
    expect(refused).toBeGreaterThan(cases / 4);
  });

  it('a server connection fed mangled frames ends that connection, counted, and keeps accepting', async () => {
    const logger = createLogger({ test: 'fuzz' }, 'error');
    const counters = new WireCounters();
    const srv = net.createServer((s) =>
      Connection.accept(s, { logger, entityType: EntityType.MGR, auth: () => authNoneServer(), myAddrs: [v2Addr('127.0.0.1', 1)], counters }),
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const codec = new CrcCodec();
    const rnd = seededRandom(34);
    const hello = codec.encode({ tag: Tag.HELLO, segments: [frames.find((f) => f.tag === Tag.HELLO)!.segments[0]] });
    const ended: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      const f = frames[Math.floor(rnd() * frames.length)];
      // a valid frame around a mangled payload (so it passes the crcs), or mangled wire bytes
      const bytes = rnd() < 0.5 ? codec.encode({ tag: f.tag, segments: f.segments.map((s, k) => (k === 0 ? mutate(s, rnd) : s)) }) : mutate(f.wire, rnd);
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(Buffer.concat([encodeBanner({ supported: 1n, required: 0n }), hello, bytes]));
      ended.push(new Promise((r) => s.on('close', () => r())));
      setTimeout(() => s.destroy(), 2000).unref(); // a frame cut short just waits: end it
    }
    await Promise.all(ended);
    await until('the server counted bad frames', () => counters.malformedFrames + counters.crcErrors + counters.oversizedFrames > 10);
    // and it still serves
    const ok = net.connect(port, '127.0.0.1');
    const got = await new Promise<Buffer>((r) => ok.once('data', r));
    expect(got.subarray(0, 8).toString()).toBe('ceph v2\n');
    ok.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });
});
