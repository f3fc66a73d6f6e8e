// Service definitions where a few hot methods carry bytes instead of
// decoded messages: the side that only passes a message on (daemon-server
// forwarding pg stats) or decodes it straight into its storage
// (cluster-state) or serves bytes it encoded once (Get) takes the bytes as
// they are. The wire format stays the contract's (proto/); only who turns
// bytes into values changes, and tests check both codecs agree.
import type { MethodDefinition, TsProtoServiceDefinition } from 'nice-grpc';
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
