// Get(what) views: each is encoded once per change of what it is built from
// and the cached bytes are served until one of those sources changes.
import { WireWriter, WIRE_LEN, WIRE_VARINT } from '../../../lib/wire';

export interface View {
  /** A key naming the versions of every source; the cache holds while it is unchanged. */
  key(): string;
  /** The epoch (or change counter) reported with the JSON. */
  epoch(): number;
  /** Builds the bytes; called at most once per key. */
  build(): Buffer;
}

export class ViewCache {
  private views = new Map<string, View>();
  private cache = new Map<string, { key: string; bytes: Buffer; epoch: number; response?: Buffer }>();
  /** How many times each view was built (for tests and metrics). */
  readonly builds = new Map<string, number>();

  define(name: string, view: View): void {
    this.views.set(name, view);
  }

  names(): string[] {
    return [...this.views.keys()].sort();
  }

  has(name: string): boolean {
    return this.views.has(name);
  }

  /** The view's GetResponse, encoded once per version. */
  response(name: string): Buffer | undefined {
    const entry = this.get(name);
    if (!entry) return undefined;
    entry.response ??= encodeGetResponse(entry.bytes, entry.epoch);
    return entry.response;
  }

  get(name: string): { bytes: Buffer; epoch: number; response?: Buffer } | undefined {
    const view = this.views.get(name);
    if (!view) return undefined;
    const key = view.key();
    const hit = this.cache.get(name);
    if (hit && hit.key === key) return hit;
    const entry = { key, bytes: view.build(), epoch: view.epoch() };
    this.cache.set(name, entry);
    this.builds.set(name, (this.builds.get(name) ?? 0) + 1);
    return entry;
  }
}

export const jsonBytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

/**
 * A view's GetResponse {json = 1, epoch = 2}, encoded once per version into
 * a buffer of its own (lib/raw-methods.ts's withoutCopy can then send it
 * without another copy): a 12 MB osd map is never encoded per call.
 */
export function encodeGetResponse(json: Buffer, epoch: number): Buffer {
  const head = new WireWriter(8).tag(1, WIRE_LEN).varint32(json.length).view();
  const tail = new WireWriter(16).tag(2, WIRE_VARINT).int64(epoch).view();
  const out = Buffer.from(new ArrayBuffer(head.length + json.length + (epoch ? tail.length : 0)));
  head.copy(out, 0);
  json.copy(out, head.length);
  if (epoch) tail.copy(out, head.length + json.length);
  return out;
}
