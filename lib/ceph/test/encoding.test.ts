import { Decoder, DecodeError, Encoder } from '../encoding';
import { addrvecToString, decodeAddr, decodeAddrvec, decodeUuid, encodeAddr, encodeAddrvec, encodeUuid, parseEntityName, v2Addr } from '../types';

describe('encoding', () => {
  it('round-trips primitives, strings, lists, maps and optionals', () => {
    const e = new Encoder(4);
    e.u8(7)
      .u16(0xbeef)
      .u32(0xdeadbeef)
      .i32(-5)
      .u64(2n ** 64n - 1n)
      .i64(-3)
      .f64(1.5)
      .bool(true)
      .string('héllo');
    e.list([1, 2, 3], (x, v) => x.u32(v)).map(
      new Map([['a', 1]]),
      (x, k) => x.string(k),
      (x, v) => x.u64(v),
    );
    e.optional(undefined, (x, v: number) => x.u8(v)).optional(9, (x, v) => x.u8(v));
    const d = new Decoder(e.toBuffer());
    expect([d.u8(), d.u16(), d.u32(), d.i32(), d.u64(), d.i64(), d.f64(), d.bool(), d.string()]).toEqual([
      7,
      0xbeef,
      0xdeadbeef,
      -5,
      2n ** 64n - 1n,
      -3n,
      1.5,
      true,
      'héllo',
    ]);
    expect(d.list((x) => x.u32())).toEqual([1, 2, 3]);
    expect(
      d.map(
        (x) => x.string(),
        (x) => x.u64n(),
      ),
    ).toEqual(new Map([['a', 1]]));
    expect([d.optional((x) => x.u8()), d.optional((x) => x.u8())]).toEqual([undefined, 9]);
    expect(d.remaining).toBe(0);
  });

  it('skips the fields of a newer struct version and refuses an incompatible one', () => {
    const e = new Encoder();
    e.struct(5, 2, (x) => x.u32(1).u32(2).string('added in v5')).u8(0xaa);
    const d = new Decoder(e.toBuffer());
    expect(d.struct(3, 'thing', (x, v) => [v, x.u32()])).toEqual([5, 1]);
    expect(d.u8()).toBe(0xaa);
    expect(() => new Decoder(e.toBuffer()).struct(1, 'thing', () => 0)).toThrow(/thing v5 needs a decoder of v2/);
  });

  it('throws DecodeError on short buffers and hostile counts, never reads past a struct', () => {
    expect(() => new Decoder(Buffer.from([1, 2])).u32()).toThrow(DecodeError);
    expect(() => new Decoder(Buffer.from([0xff, 0xff, 0xff, 0x7f])).list((x) => x.u8())).toThrow(/does not fit/);
    const e = new Encoder();
    e.struct(1, 1, (x) => x.u8(1)).u32(99);
    const d = new Decoder(e.toBuffer());
    d.start(1);
    d.u8();
    expect(() => d.u32()).toThrow(DecodeError);
    expect(() => new Decoder(Buffer.from([0, 0, 0, 0, 0, 0, 0, 1])).u64n()).toThrow(/above 2\^53/);
  });

  it('encodes addresses as Ceph does and reads them back', () => {
    const a = v2Addr('127.0.0.1', 40200, 1234);
    const e = new Encoder();
    encodeAddr(e, a);
    const b = e.toBuffer();
    // marker, struct v1/compat1, len 28, type 2, nonce, elen 16, AF_INET, port BE
    expect(b.subarray(0, 21).toString('hex')).toBe('0101011c000000' + '02000000' + 'd2040000' + '10000000' + '0200');
    expect(b.readUInt16BE(21)).toBe(40200);
    expect(decodeAddr(new Decoder(b))).toEqual(a);
    const v6 = v2Addr('::1', 6800, 7);
    const ev = new Encoder();
    encodeAddrvec(ev, [a, v6]);
    const back = decodeAddrvec(new Decoder(ev.toBuffer()));
    expect(back).toEqual([a, v6]);
    expect(addrvecToString(back)).toBe('[v2:127.0.0.1:40200/1234,v2:[::1]:6800/7]');
  });

  it('reads uuids and entity names', () => {
    const e = new Encoder();
    encodeUuid(e, '878ce9f2-7ae8-4c08-b31d-209ddd0eafc9');
    expect(decodeUuid(new Decoder(e.toBuffer()))).toBe('878ce9f2-7ae8-4c08-b31d-209ddd0eafc9');
    expect(parseEntityName('mgr.x')).toEqual({ type: 0x10, id: 'x' });
    expect(() => parseEntityName('admin')).toThrow(/not an entity name/);
  });
});
