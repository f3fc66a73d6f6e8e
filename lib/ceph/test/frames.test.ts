// Framing against the captures of a real Pacific cluster: every frame of
// pcaps 01-05 decodes with its crcs checked, and re-encodes byte for byte.
import { ByteQueue, CrcCodec, FrameError, FrameReader, Tag, cephCrc32c, encodeBanner, readBanner, tagName } from '../frames';
import { readVector as capture } from '../testing/pcap';

const CAPTURES = ['01-bringup', '02-steady-30s', '03-tell-mgr', '04-mgr-commands', '05-mon-commands'];

describe('cephCrc32c', () => {
  it('is crc32c with a raw seed and no final xor', () => {
    // the standard check value of crc32c("123456789") is e3069283 (seed ~0, final xor)
    expect(~cephCrc32c(0xffffffff, Buffer.from('123456789')) >>> 0).toBe(0xe3069283);
    expect(cephCrc32c(0, Buffer.alloc(0))).toBe(0);
  });
});

describe('captures 01-05', () => {
  it.each(CAPTURES)('%s: every frame decodes with zero crc errors and re-encodes byte for byte', (name) => {
    const codec = new CrcCodec();
    let frames = 0;
    for (const c of capture(name)) {
      for (const d of [c.client, c.server]) {
        expect({ stream: `${d.from}->${d.to}`, error: d.error, crcErrors: d.crcErrors }).toEqual({
          stream: `${d.from}->${d.to}`,
          error: undefined,
          crcErrors: 0,
        });
        for (const f of d.frames) {
          frames++;
          const again = codec.encode({ tag: f.tag, segments: f.segments, alignments: f.alignments, flags: f.flags });
          if (!again.equals(f.wire)) throw new Error(`${name} ${d.from}->${d.to} ${tagName(f.tag)} at ${f.offset} re-encodes differently`);
        }
      }
    }
    expect(frames).toBeGreaterThan(100);
  });

  it('pcap 01 holds whole handshakes: both banners are msgr2.1 (supported 1, required 0)', () => {
    const conv = capture('01-bringup').filter((c) => c.client.banner && c.client.frames.length && c.server.frames.length);
    expect(conv.length).toBeGreaterThan(100);
    for (const c of conv) {
      expect(c.client.banner).toEqual({ supported: 1n, required: 0n });
      expect(c.client.frames[0].tag).toBe(Tag.HELLO);
      expect(c.server.frames[0].tag).toBe(Tag.HELLO);
    }
  });

  it('pcap 02 started mid-connection and still decodes (resynchronised on a preamble crc)', () => {
    const mid = capture('02-steady-30s').filter((c) => c.client.midstream && c.client.frames.length);
    expect(mid.length).toBeGreaterThan(10);
  });
});

describe('FrameReader', () => {
  const codec = new CrcCodec();
  const frame = codec.encode({ tag: Tag.MESSAGE, segments: [Buffer.alloc(41, 1), Buffer.from('front'), Buffer.alloc(0), Buffer.from('data')] });

  it('cuts frames out of a stream that arrives a byte at a time', () => {
    const q = new ByteQueue();
    const r = new FrameReader(q, codec, 1 << 20);
    const got = [];
    for (const b of Buffer.concat([frame, frame])) {
      q.push(Buffer.from([b]));
      for (let f = r.next(); f; f = r.next()) got.push(f);
    }
    expect(got.map((f) => f.segments.map((s) => s.toString('latin1')))).toEqual([
      [Buffer.alloc(41, 1).toString('latin1'), 'front', '', 'data'],
      [Buffer.alloc(41, 1).toString('latin1'), 'front', '', 'data'],
    ]);
    expect(got[0].wire.equals(frame)).toBe(true);
  });

  it('refuses a frame over the limit from its preamble alone', () => {
    const q = new ByteQueue();
    q.push(frame.subarray(0, 32));
    expect(() => new FrameReader(q, codec, 40).next()).toThrow(expect.objectContaining({ kind: 'oversized' }));
  });

  it('refuses a flipped bit in the preamble, a segment or the epilogue as a crc error', () => {
    for (const at of [5, 40, 80, frame.length - 2]) {
      const bad = Buffer.from(frame);
      bad[at] ^= 0x10;
      const q = new ByteQueue();
      q.push(bad);
      let err: unknown;
      try {
        new FrameReader(q, codec, 1 << 20).next();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FrameError);
      expect((err as FrameError).kind).toBe('crc');
    }
  });

  it('refuses a preamble announcing no segments or an empty last segment', () => {
    const pre = Buffer.from(frame.subarray(0, 32));
    pre[1] = 0;
    pre.writeUInt32LE(cephCrc32c(0, pre.subarray(0, 28)), 28);
    expect(() => codec.decodePreamble(pre)).toThrow(/0 segments/);
    const pre2 = Buffer.from(frame.subarray(0, 32));
    pre2.writeUInt32LE(0, 2 + 6 * 3);
    pre2.writeUInt32LE(cephCrc32c(0, pre2.subarray(0, 28)), 28);
    expect(() => codec.decodePreamble(pre2)).toThrow(/last segment/);
  });

  it('drops trailing empty segments when encoding (a control frame has one)', () => {
    const f = codec.encode({ tag: Tag.ACK, segments: [Buffer.alloc(8)] });
    expect(f.length).toBe(32 + 8 + 4);
    expect(f[1]).toBe(1);
    const m = codec.encode({ tag: Tag.MESSAGE, segments: [Buffer.alloc(41), Buffer.alloc(3), Buffer.alloc(0), Buffer.alloc(0)] });
    expect(m[1]).toBe(2);
  });
});

describe('banner', () => {
  it('round-trips and waits for all of it', () => {
    const b = encodeBanner({ supported: 1n, required: 0n });
    const q = new ByteQueue();
    q.push(b.subarray(0, 12));
    expect(readBanner(q)).toBeUndefined();
    q.push(b.subarray(12));
    expect(readBanner(q)).toEqual({ supported: 1n, required: 0n, wire: b });
    expect(q.length).toBe(0);
  });

  it('names msgr v1 when a peer answers with its banner', () => {
    const q = new ByteQueue();
    q.push(Buffer.from('ceph v027\x00\x00\x00', 'latin1'));
    expect(() => readBanner(q)).toThrow(/msgr v1/);
  });

  it('refuses something that is not Ceph', () => {
    const q = new ByteQueue();
    q.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n'));
    expect(() => readBanner(q)).toThrow(/not a Ceph msgr2 banner/);
  });
});
