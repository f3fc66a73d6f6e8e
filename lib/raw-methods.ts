// Service definitions where a few hot methods carry bytes instead of
// decoded messages: the side that only passes a message on (daemon-server
// forwarding pg stats) or decodes it straight into its storage
// (cluster-state) or serves bytes it encoded once (Get) takes the bytes as
// they are. The wire format stays the contract's (proto/); only who turns
// bytes into values changes, and tests check both codecs agree.
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { MethodDefinition, ServiceDefinition, TsProtoServiceDefinition } from 'nice-grpc';
import type { FromTsProtoServiceDefinition } from 'nice-grpc/lib/service-definitions/ts-proto';

/** A ts-proto definition in nice-grpc's own form (what nice-grpc does internally), so methods can be overridden. */
export function normalized<D extends TsProtoServiceDefinition>(def: D): FromTsProtoServiceDefinition<D> {
  const out: Record<string, MethodDefinition<unknown, unknown, unknown, unknown>> = {};
  for (const [key, m] of Object.entries(def.methods)) {
    const req = m.requestType;
    const res = m.responseType;
    out[key] = {
      path: `/${def.fullName}/${m.name}`,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: (v) => req.encode(req.fromPartial ? req.fromPartial(v) : v).finish(),
      requestDeserialize: (b) => req.decode(b),
      responseSerialize: (v) => res.encode(res.fromPartial ? res.fromPartial(v) : v).finish(),
      responseDeserialize: (b) => res.decode(b),
      options: m.options,
    };
  }
  return out as FromTsProtoServiceDefinition<D>;
}

/**
 * A definition in nice-grpc's own form, handed to nice-grpc in ts-proto's
 * shape so that it calls our deserializers as they are. nice-grpc cannot
 * tell its own form from grpc-js's (both give each method a path), so it
 * takes an own-form definition for grpc-js's and wraps every deserializer
 * in Buffer.from(): a copy of every message received (every daemon report
 * at daemon-server, every batch at cluster-state). grpc-js hands
 * deserializers Buffers already. The types stay the own form's.
 */
export function forNiceGrpc<D extends ServiceDefinition>(def: D): D {
  let fullName = '';
  const methods: Record<string, unknown> = {};
  for (const [key, m] of Object.entries(def)) {
    const slash = m.path.lastIndexOf('/');
    const service = m.path.slice(1, slash);
    if (fullName && service !== fullName) throw new Error(`${m.path} is not a method of ${fullName}`);
    fullName = service;
    methods[key] = {
      name: m.path.slice(slash + 1),
      requestType: { encode: (v: unknown) => ({ finish: () => m.requestSerialize(v) }), decode: m.requestDeserialize },
      requestStream: m.requestStream,
      responseType: { encode: (v: unknown) => ({ finish: () => m.responseSerialize(v) }), decode: m.responseDeserialize },
      responseStream: m.responseStream,
      options: m.options,
    };
  }
  return { name: fullName.slice(fullName.lastIndexOf('.') + 1), fullName, methods } as unknown as D;
}

/** The message bytes as they are, both ways. */
export const asBytes = (b: Uint8Array): Uint8Array => b;

/**
 * Bytes a response serializer can hand to nice-grpc without the copy it
 * would make: nice-grpc wraps what a serializer returns in Buffer.from(),
 * which copies a Uint8Array but only views an ArrayBuffer. A buffer that
 * fills its own ArrayBuffer goes as that ArrayBuffer (grpc-js still copies
 * it once into its frame, as for any message); anything else as it is.
 */
export function withoutCopy(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? (bytes.buffer as unknown as Uint8Array)
    : bytes;
}

/**
 * A serializer for a large request sent often (daemon-server's forwarded
 * report batches): ts-proto's encode into one writer kept between calls, so
 * its buffer grows once instead of doubling up from 128 bytes every call,
 * then one copy at the exact size handed on without nice-grpc's copy
 * (withoutCopy); grpc-js copies it once more into its frame. Each copy of a
 * large message is an ArrayBuffer outside V8's heap, and their churn is what
 * made daemon-server run a full GC every second or so under ingest
 * (bench/results/SUMMARY.md). The message must be complete, as its type
 * says: it is encoded as it is, without fromPartial's copy. A writer grown
 * past `keepBytes` is dropped after its call, so a rare burst does not stay.
 */
export function reusedWriterSerializer<T>(encode: (message: T, writer: BinaryWriter) => BinaryWriter, keepBytes = 1 << 20): (message: T) => Uint8Array {
  let writer = new BinaryWriter();
  return (message) => {
    let bytes: Uint8Array;
    try {
      bytes = encode(message, writer).finish();
    } catch (e) {
      // a half-written message must not prefix the next one
      writer = new BinaryWriter();
      throw e;
    }
    if (bytes.length > keepBytes) writer = new BinaryWriter();
    return withoutCopy(bytes);
  };
}
