// DaemonServerService.Session on the wire, for both ends of a daemon's
// session. The messages are the contract's (proto/ceph/mgr/v1/
// daemon_server.proto); what differs from the generated codec is where pg
// stats stop being bytes:
//
// - daemon-server decodes a SessionRequest without decoding the
//   PgStatsReport inside it (it forwards those bytes untouched), and a
//   message it cannot decode becomes an `invalid` frame with the reason (the
//   handler answers INVALID_ARGUMENT) instead of an INTERNAL failure of the
//   whole stream;
// - a daemon may send a request it encoded itself (e.g. a report whose
//   values it patches in place every period) as bytes.
import type { PerfCounterType } from './gen/ceph/mgr/v1/cluster_state';
import { SessionClose, SessionOpen, SessionReport, SessionRequest } from './gen/ceph/mgr/v1/daemon_server';
import { DaemonServerServiceDefinition } from './gen/ceph/mgr/v1/daemon_server';
import { normalized } from './raw-methods';
import { varintSize, WireError, WireReader, WireWriter, WIRE_LEN, WIRE_VARINT } from './wire';

/** SessionPgStats with its report left encoded. */
export interface PgStatsFrame {
  epoch: number;
  /** An encoded PgStatsReport (a copy of the received bytes, in memory of its own). */
  report?: Uint8Array;
  /** The deprecated JSON form, if a daemon sent it. */
  json?: Uint8Array;
}

/** A SessionRequest as daemon-server reads it. */
export interface SessionFrame {
  msg:
    | { $case: 'open'; value: SessionOpen }
    | { $case: 'report'; value: SessionReport }
    | { $case: 'pgStats'; value: PgStatsFrame }
    | { $case: 'close'; value: SessionClose }
    | { $case: 'invalid'; value: string }
    | undefined;
}

/** Decodes a SessionRequest, leaving pg stats encoded; never throws. */
export function decodeSessionFrame(bytes: Uint8Array): SessionFrame {
  try {
    const r = new WireReader(bytes);
    let frame: SessionFrame = { msg: undefined };
    while (!r.done) {
      const tag = r.tag();
      const field = tag >>> 3;
      if ((tag & 7) !== WIRE_LEN || field < 1 || field > 4) {
        r.skip(tag & 7);
        continue;
      }
      const body = r.bytes();
      // a oneof: the last member present wins, as protobuf decoders do
      if (field === 1) frame = { msg: { $case: 'open', value: SessionOpen.decode(body) } };
      else if (field === 2) frame = { msg: { $case: 'report', value: ownValues(decodeReport(body)) } };
      else if (field === 3) frame = { msg: { $case: 'pgStats', value: decodePgStatsFrame(body) } };
      else frame = { msg: { $case: 'close', value: {} } };
    }
    return frame;
  } catch (e) {
    return { msg: { $case: 'invalid', value: `the session message does not decode: ${(e as Error).message}` } };
  }
}

/**
 * Declarations seen lately, by their bytes. Daemons of one version declare
 * the same counters (a simulated OSD's first report carries 17 KB of them):
 * the same bytes again are not decoded again, and every session declaring
 * them gets the one frozen array, so the schema built from it is built once
 * too (services/daemon-server/domain/session.ts). Bounded in count and size:
 * a client sending ever-new declarations only turns the oldest out.
 */
const DECLARATIONS_KEPT = 16;
const DECLARATION_BYTES_KEPT = 256 * 1024;
const declarations = new Map<string, readonly PerfCounterType[]>();

/** SessionReport.declare_types entries (field 1, length-delimited). */
const DECLARE_TAG = (1 << 3) | WIRE_LEN;

/** A SessionReport; its declaration shared with earlier identical ones (see above). */
function decodeReport(body: Uint8Array): SessionReport {
  // Encoders write fields in number order, so a report declaring counters starts with them; almost
  // every report (values only) does not, and is decoded without looking for them
  if (body[0] !== DECLARE_TAG) return SessionReport.decode(body);
  // where the declare_types entries are, when they are one run (as every encoder writes them)
  const r = new WireReader(body);
  let start = -1;
  let end = -1;
  while (!r.done) {
    const at = r.pos;
    const tag = r.tag();
    if (tag !== DECLARE_TAG) {
      r.skip(tag & 7);
      continue;
    }
    r.bytes();
    if (start < 0) start = at;
    else if (at !== end) return SessionReport.decode(body); // interleaved with other fields: decoded as it is
    end = r.pos;
  }
  if (start < 0 || end - start > DECLARATION_BYTES_KEPT) return SessionReport.decode(body);
  const run = body.subarray(start, end);
  const key = Buffer.from(run.buffer, run.byteOffset, run.length).toString('latin1');
  let declared = declarations.get(key);
  if (declared) {
    // the most recently used last: the oldest goes first
    declarations.delete(key);
  } else {
    declared = Object.freeze(SessionReport.decode(run).declareTypes.map((t) => Object.freeze(t)));
    if (declarations.size >= DECLARATIONS_KEPT) declarations.delete(declarations.keys().next().value!);
  }
  declarations.set(key, declared);
  const report = SessionReport.decode(start === 0 && end === body.length ? new Uint8Array(0) : Buffer.concat([body.subarray(0, start), body.subarray(end)]));
  report.declareTypes = declared as PerfCounterType[];
  return report;
}

/**
 * `bytes` in memory of their own. The decoders' bytes are slices of a larger
 * buffer (a small message is a slice of Node's shared 8 KB buffer pool): a
 * daemon's last counter values or pg stats, waiting to be forwarded (one per
 * session), kept a whole slab alive, 8 KB a session for 2-3 KB of data.
 */
function ownBytes<T extends Uint8Array>(bytes: T): T {
  if (bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  own.set(bytes);
  return own as unknown as T;
}

function ownValues(report: SessionReport): SessionReport {
  if (report.counterValues) report.counterValues = ownBytes(report.counterValues);
  return report;
}

function decodePgStatsFrame(bytes: Uint8Array): PgStatsFrame {
  const r = new WireReader(bytes);
  const out: PgStatsFrame = { epoch: 0 };
  while (!r.done) {
    const tag = r.tag();
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === WIRE_VARINT) out.epoch = r.uint64Number();
    else if (f === 2 && wt === WIRE_LEN) out.json = r.bytes();
    else if (f === 3 && wt === WIRE_LEN) out.report = ownBytes(r.bytes());
    else r.skip(wt);
  }
  if (out.epoch > 0xffffffff) throw new WireError(`pg stats epoch ${out.epoch} is not a Ceph epoch (32 bits)`);
  return out;
}

/** A SessionRequest carrying pg stats whose report is already encoded (one allocation, the report copied once). */
export function encodePgStatsFrame(epoch: number, report: Uint8Array): Buffer {
  const inner = 1 + varintSize(epoch) + 1 + varintSize(report.length) + report.length;
  // room for the writer's worst-case varint checks, so it never grows
  const w = new WireWriter(1 + varintSize(inner) + inner + 10);
  w.tag(3, WIRE_LEN).varint32(inner).tag(1, WIRE_VARINT).varint32(epoch).bytesField(3, report);
  return w.buf.subarray(0, w.pos);
}

const generated = normalized(DaemonServerServiceDefinition);

/** The service as daemon-server serves it: Session frames decoded by decodeSessionFrame. */
export const DaemonServerServed = {
  ...generated,
  session: { ...generated.session, requestDeserialize: decodeSessionFrame },
};

/** The service as daemons call it: a session message may be given already encoded. */
export const DaemonServerClientDefinition = {
  ...generated,
  session: {
    ...generated.session,
    requestSerialize: (m: SessionRequest | Uint8Array): Uint8Array => (m instanceof Uint8Array ? m : SessionRequest.encode(m).finish()),
  },
};
