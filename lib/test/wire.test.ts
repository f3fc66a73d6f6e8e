// The hand-written wire codecs agree with the generated ones, keep 64-bit
// values exact, and refuse what is truncated rather than reading past it.
import { WireReader, WireWriter, WireError, int64Text } from '../wire';
import type { ServiceDefinition } from 'nice-grpc';
import * as niceDefinitions from 'nice-grpc/lib/service-definitions';
import { forNiceGrpc, reusedWriterSerializer, withoutCopy } from '../raw-methods';
import { DaemonReport, ReportDaemonsRequest } from '../gen/ceph/mgr/v1/cluster_state';
import { SessionRequest } from '../gen/ceph/mgr/v1/daemon_server';
import { DaemonServerServed, decodeSessionFrame, encodePgStatsFrame } from '../session-wire';

describe('wire', () => {
  it('reads and writes 64-bit varints exactly, signed and unsigned', () => {
    for (const [lo, hi] of [
      [0, 0],
      [1, 0],
      [0xffffffff, 0x1fffff],
      [1, 0x200000],
      [0xffffffff, 0xffffffff],
    ]) {
      const w = new WireWriter(2).varint64(lo, hi);
      const r = new WireReader(w.finish());
      r.varint64();
      expect([r.lo, r.hi]).toEqual([lo, hi]);
    }
    expect(int64Text(0xffffffff, 0xffffffff, false)).toBe('18446744073709551615');
    expect(int64Text(0xffffffff, 0xffffffff, true)).toBe('-1');
    expect(int64Text(1, 0x200000, false)).toBe(String(2n ** 53n + 1n));
    const neg = new WireReader(new WireWriter().int64(-5).finish());
    neg.varint64();
    expect(int64Text(neg.lo, neg.hi, true)).toBe('-5');
  });

  it('refuses truncated input with WireError', () => {
    expect(() => new WireReader(Buffer.from([0x80, 0x80])).varint64()).toThrow(WireError);
    expect(() => new WireReader(Buffer.from([0x05, 1, 2])).bytes()).toThrow(/runs past the end/);
    expect(() => new WireReader(Buffer.from([1, 2])).double()).toThrow(WireError);
  });

  it('withoutCopy hands over a buffer that fills its ArrayBuffer, anything else as it is', () => {
    const whole = Buffer.from(new ArrayBuffer(300)).fill(7);
    expect(Buffer.from(withoutCopy(whole) as unknown as ArrayBuffer).buffer).toBe(whole.buffer);
    const part = Buffer.from([1, 2, 3]).subarray(1);
    expect(withoutCopy(part)).toBe(part);
  });

  it('a reused writer encodes each request exactly as a fresh one, a large one as its own ArrayBuffer', () => {
    const serialize = reusedWriterSerializer(ReportDaemonsRequest.encode, 64 * 1024);
    const report = (daemon: string, n: number): DaemonReport => ({
      ...DaemonReport.fromPartial({ daemon, stamp: 1.5, status: { a: 'b' } }),
      counterValues: Buffer.alloc(n, 9),
    });
    const asBuffer = (b: Uint8Array) => Buffer.from(b as unknown as ArrayBuffer);
    // large, then small (the second must not carry the first's tail), then past keepBytes, then small again
    for (const reports of [[report('osd.1', 9000), report('osd.2', 9000)], [report('osd.3', 10)], [report('osd.4', 100_000)], [report('osd.5', 20)]]) {
      const out = asBuffer(serialize({ reports }));
      expect(out.equals(Buffer.from(ReportDaemonsRequest.encode({ reports }).finish()))).toBe(true);
      expect(ReportDaemonsRequest.decode(out).reports.map((r) => r.daemon)).toEqual(reports.map((r) => r.daemon));
    }
    // a large request is handed over as the ArrayBuffer it fills (nice-grpc then only views it)
    expect(serialize({ reports: [report('osd.6', 9000)] })).toBeInstanceOf(ArrayBuffer);
    // a message that fails half-way leaves nothing behind for the next one
    expect(() => serialize({ reports: [report('osd.7', 10), { daemon: 'osd.8' } as DaemonReport] })).toThrow();
    expect(
      asBuffer(serialize({ reports: [report('osd.9', 10)] })).equals(Buffer.from(ReportDaemonsRequest.encode({ reports: [report('osd.9', 10)] }).finish())),
    ).toBe(true);
  });

  // what nice-grpc's client and server do to a definition they are given (internal to nice-grpc, so typed here)
  const { normalizeServiceDefinition } = niceDefinitions as unknown as { normalizeServiceDefinition(d: object): ServiceDefinition };

  it('forNiceGrpc: nice-grpc calls our deserializers with the bytes received, not a copy, and keeps every method as it was', () => {
    const seen: Uint8Array[] = [];
    const def = {
      ...DaemonServerServed,
      session: {
        ...DaemonServerServed.session,
        requestDeserialize: (b: Uint8Array) => {
          seen.push(b);
          return decodeSessionFrame(b);
        },
      },
    };
    const bytes = Buffer.from(SessionRequest.encode({ msg: { $case: 'close', value: {} } }).finish());
    // nice-grpc on its own takes the own form for grpc-js's and copies
    normalizeServiceDefinition(def).session.requestDeserialize(bytes);
    expect(seen[0]).not.toBe(bytes);
    const given = normalizeServiceDefinition(forNiceGrpc(def));
    expect(given.session.requestDeserialize(bytes)).toEqual({ msg: { $case: 'close', value: {} } });
    expect(seen[1]).toBe(bytes);
    for (const [key, m] of Object.entries(def)) {
      const g = given[key];
      expect([g.path, g.requestStream, g.responseStream]).toEqual([m.path, m.requestStream, m.responseStream]);
    }
    const request = { msg: { $case: 'close' as const, value: {} } };
    expect(Buffer.from(given.session.requestSerialize(request))).toEqual(Buffer.from(def.session.requestSerialize(request)));
  });

  it('session frames: pg stats stay encoded; what does not decode is an invalid frame, not an exception', () => {
    const report = Buffer.from([0x12, 0x00]);
    const frame = decodeSessionFrame(encodePgStatsFrame(42, report));
    expect(frame.msg).toEqual({ $case: 'pgStats', value: { epoch: 42, report } });
    expect(SessionRequest.decode(encodePgStatsFrame(42, report)).msg?.$case).toBe('pgStats');
    expect(decodeSessionFrame(Buffer.from([0x12, 0x7f])).msg?.$case).toBe('invalid');
    // a deprecated packed value above 2^53 does not throw out of the decoder
    const old = SessionRequest.encode({
      msg: { $case: 'open', value: { daemonName: 'osd.1', serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } },
    }).finish();
    expect(decodeSessionFrame(old).msg?.$case).toBe('open');
  });
});
