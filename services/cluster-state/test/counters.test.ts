// The counter store (domain/counters.ts) and Ceph's packed layout
// (lib/counter-values.ts): every value comes back exactly as it went in,
// 2^64-1 included, through pushes, the 20-sample window, and schema changes.
import { CounterLayout, checkPacked, writeHeader, writeU64, u64Text, comparePaths } from '../../../lib/counter-values';
import { CounterStore, SAMPLES_KEPT } from '../domain/counters';

const MAX = 2n ** 64n - 1n;

function packed(layout: CounterLayout, values: Record<string, bigint | [bigint, bigint]>): Buffer {
  const b = Buffer.alloc(layout.byteLength);
  writeHeader(b, layout.slots);
  layout.paths.forEach((p, i) => {
    const v = values[p] ?? 0n;
    const off = layout.offsets[i];
    if (Array.isArray(v)) {
      writeU64(b, off, v[0]);
      writeU64(b, off + 8, v[1]);
      writeU64(b, off + 16, v[1]);
    } else writeU64(b, off, v);
  });
  return b;
}

describe('Ceph packed counter layout', () => {
  it('orders paths byte-wise and gives averages three values', () => {
    const l = new CounterLayout([
      ['osd.op_w', 10],
      ['osd.op_latency', 5],
      ['AsyncMessenger::Worker-0.msgr_recv_bytes', 10],
      ['osd.numpg', 2],
    ]);
    expect(l.paths).toEqual(['AsyncMessenger::Worker-0.msgr_recv_bytes', 'osd.numpg', 'osd.op_latency', 'osd.op_w']);
    expect(l.slots).toBe(6);
    expect(Array.from(l.offsets)).toEqual([6, 14, 22, 46]);
    expect(l.byteLength).toBe(6 + 6 * 8);
    expect(comparePaths('a.b', 'a_b')).toBeLessThan(0);
    expect(comparePaths('é', 'z')).toBeGreaterThan(0); // UTF-8 bytes, not UTF-16 units
  });

  it('checks the header and the length against the schema', () => {
    const l = new CounterLayout([['a', 2]]);
    expect(checkPacked(packed(l, { a: 1n }), 1)).toBeNull();
    expect(checkPacked(Buffer.from([1, 1, 8, 0]), 1)).toMatch(/shorter than its 6-byte header/);
    expect(checkPacked(packed(l, { a: 1n }), 2)).toMatch(/carries 1 values but the declared schema needs 2/);
    const bad = packed(l, { a: 1n });
    bad[2] = 9;
    expect(checkPacked(bad, 1)).toMatch(/header says 9 bytes but 8 follow/);
    bad[2] = 8;
    bad[1] = 2;
    expect(checkPacked(bad, 1)).toMatch(/struct_compat 2/);
    // a newer struct_v may carry more than we read, as Ceph's DECODE_START allows
    const newer = Buffer.concat([packed(l, { a: 1n }), Buffer.alloc(8)]);
    newer[0] = 2;
    newer.writeUInt32LE(16, 2);
    expect(checkPacked(newer, 1)).toBeNull();
  });

  it('writes and reads 64-bit values exactly', () => {
    const b = Buffer.alloc(8);
    for (const v of [0n, 1n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n, MAX]) {
      writeU64(b, 0, v);
      expect(u64Text(b, 0)).toBe(v.toString());
    }
    writeU64(b, 0, 123456789012);
    expect(u64Text(b, 0)).toBe('123456789012');
  });
});

describe('CounterStore', () => {
  const layout = new CounterLayout([
    ['osd.op_w', 10],
    ['osd.op_latency', 5],
    ['osd.big', 2],
  ]);

  it('keeps the last 20 samples of every counter exactly, averages with their count', () => {
    const s = new CounterStore(layout);
    const values = (k: number) => ({
      'osd.op_w': BigInt(1000 + k * k * 37),
      'osd.op_latency': [BigInt(k) * 987654321n, BigInt(k * 3)] as [bigint, bigint],
      // near 2^64, wobbling up and down: differences wrap around
      'osd.big': k % 2 ? MAX - BigInt(k) : 2n ** 53n + BigInt(k),
    });
    for (let k = 1; k <= 30; k++) s.push(packed(layout, values(k)), 1000 + k * 5);
    expect(s.count).toBe(SAMPLES_KEPT);
    const opw = s.series(layout.indexOf('osd.op_w'));
    expect(opw).toHaveLength(20);
    expect(opw.map((x) => x.v)).toEqual(Array.from({ length: 20 }, (_, i) => values(11 + i)['osd.op_w'].toString()));
    expect(opw.map((x) => x.t)).toEqual(Array.from({ length: 20 }, (_, i) => 1000 + (11 + i) * 5));
    const lat = s.series(layout.indexOf('osd.op_latency'));
    expect(lat.map((x) => [x.v, x.c])).toEqual(Array.from({ length: 20 }, (_, i) => values(11 + i)['osd.op_latency'].map(String)));
    const big = s.series(layout.indexOf('osd.big'));
    expect(big.map((x) => x.v)).toEqual(Array.from({ length: 20 }, (_, i) => String(values(11 + i)['osd.big'])));
    expect(s.latestOf(layout.indexOf('osd.big'))!.v).toBe((2n ** 53n + 30n).toString());
    // small differences take little room: well under 8 bytes a value
    expect(s.bytes).toBeLessThan(layout.byteLength * 20);
  });

  it('holds its history at about its encoded size, through many samples', () => {
    // 100 counters moving by one a sample: each record is 100 one-byte differences
    const many = new CounterLayout(Array.from({ length: 100 }, (_, i) => [`c.n${String(i).padStart(3, '0')}`, 2] as [string, number]));
    const s = new CounterStore(many);
    const at = (k: number) => Object.fromEntries(many.paths.map((p, i) => [p, BigInt(i * 1000 + k)]));
    for (let k = 1; k <= 200; k++) s.push(packed(many, at(k)), k);
    // 19 records of 100 bytes plus room for two more, the newest sample, 20 stamps: no worst-case room (10 bytes a value)
    expect(s.bytes).toBeLessThanOrEqual(21 * 100 + many.byteLength + 20 * 8);
    expect(s.series(many.indexOf('c.n042')).map((x) => x.v)).toEqual(Array.from({ length: 20 }, (_, i) => String(42000 + 181 + i)));
    // a sample whose differences are larger than the room kept: the arena grows, nothing is lost
    s.push(packed(many, Object.fromEntries(many.paths.map((p) => [p, MAX]))), 201);
    expect(
      s
        .series(many.indexOf('c.n042'))
        .slice(-2)
        .map((x) => x.v),
    ).toEqual(['42200', MAX.toString()]);
  });

  it('round-trips 2^64-1', () => {
    const s = new CounterStore(layout);
    s.push(packed(layout, { 'osd.big': MAX }), 1);
    s.push(packed(layout, { 'osd.big': 0n }), 2);
    s.push(packed(layout, { 'osd.big': MAX }), 3);
    expect(s.series(layout.indexOf('osd.big')).map((x) => x.v)).toEqual([MAX.toString(), '0', MAX.toString()]);
  });

  it('moves its history to a new layout: kept counters keep their samples, new ones start empty', () => {
    const s = new CounterStore(layout);
    for (let k = 1; k <= 5; k++) s.push(packed(layout, { 'osd.op_w': BigInt(k), 'osd.big': MAX - BigInt(k) }), k);
    const next = new CounterLayout([
      ['osd.op_w', 10],
      ['osd.big', 2],
      ['osd.new', 2],
    ]);
    const t = new CounterStore(next);
    s.replayInto(t, () => true);
    expect(t.series(next.indexOf('osd.op_w')).map((x) => x.v)).toEqual(['1', '2', '3', '4', '5']);
    expect(t.series(next.indexOf('osd.big')).map((x) => x.v)).toEqual([1n, 2n, 3n, 4n, 5n].map((k) => String(MAX - k)));
    expect(t.series(next.indexOf('osd.new'))).toEqual([]);
    t.push(packed(next, { 'osd.op_w': 6n, 'osd.new': 60n }), 6);
    expect(t.series(next.indexOf('osd.new')).map((x) => x.v)).toEqual(['60']);
    expect(t.series(next.indexOf('osd.op_w'))).toHaveLength(6);
    // a counter that changed kind does not carry over
    const u = new CounterStore(next);
    s.replayInto(u, (p) => p !== 'osd.big');
    expect(u.series(next.indexOf('osd.big'))).toEqual([]);
  });
});
