// Length-prefixed frames (lib/length-prefixed.ts): cut from a stream's chunks
// whatever their boundaries, and a length above the bound refused before its
// bytes are buffered.
import { frame, FrameError, FrameReader } from '../length-prefixed';

describe('length-prefixed frames', () => {
  const bodies = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70000, 7), Buffer.from('last frame')];
  const stream = Buffer.concat(bodies.map(frame));

  it('puts a 4-byte big-endian length before the body', () => {
    expect(frame(Buffer.from('abc'))).toEqual(Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63]));
  });

  it('reads the same frames whatever the chunks: all at once, a byte at a time, or cut anywhere', () => {
    for (const size of [stream.length, 1, 2, 3, 5, 4096, 65536]) {
      const reader = new FrameReader(1 << 20);
      const got: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) got.push(...reader.push(stream.subarray(at, at + size)));
      expect(got.map((b) => Buffer.from(b))).toEqual(bodies);
    }
  });

  it('refuses a length above the bound as soon as the length is in, its bytes not yet sent', () => {
    const reader = new FrameReader(1024);
    expect(reader.push(frame(Buffer.alloc(1024)))).toHaveLength(1);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    expect(() => reader.push(header.subarray(0, 2))).not.toThrow();
    expect(() => reader.push(header.subarray(2))).toThrow(new FrameError('a frame of 1025 bytes, above the bound of 1024'));
  });

  it('refuses a frame above the bound that follows a good one in the same chunk', () => {
    const reader = new FrameReader(8);
    const big = Buffer.alloc(4);
    big.writeUInt32BE(0xffffffff);
    expect(() => reader.push(Buffer.concat([frame(Buffer.from('ok')), big]))).toThrow(FrameError);
  });
});
