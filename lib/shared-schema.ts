// One copy of each counter schema, however many daemons declare it: 10,000
// OSDs declare the same ~224 counters, and holding their paths and
// descriptions once per daemon cost tens of kilobytes each (Ceph's manager
// shares its PerfCounterTypes the same way). A registry maps a schema's
// content to one shared, immutable value; entries go away with the last
// daemon that used them (weak references), so a hostile client declaring
// ever-new schemas cannot grow it for long.
import { createHash } from 'crypto';

/** What a counter's hash covers (a subset of PerfCounterType). */
export interface CounterTypeFields {
  path: string;
  type: number;
  priority: number;
  units: number;
  nick: string;
  description: string;
}

/** One counter as its schema key and hash see it: its fields joined by NUL. */
export const counterTypeKey = (t: CounterTypeFields) => `${t.path}\u0000${t.type}\u0000${t.priority}\u0000${t.units}\u0000${t.nick}\u0000${t.description}`;

/**
 * A counter schema's content hash, as SessionReport.schema_hash and
 * DaemonReport.schema_hash name it: SHA-256 over the counters in declaration
 * order, each as counterTypeKey() followed by 0x01, UTF-8.
 */
export function counterSchemaHash(types: Iterable<CounterTypeFields>): Buffer {
  const h = createHash('sha256');
  for (const t of types) h.update(`${counterTypeKey(t)}\u0001`);
  return h.digest();
}

/** A schema hash as the key the registries hold it under (hex). */
export function schemaHashKey(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.length).toString('hex');
}

export class SharedRegistry<T extends object> {
  private entries = new Map<string, WeakRef<T>>();
  private readonly finalizer = new FinalizationRegistry<string>((key) => {
    const ref = this.entries.get(key);
    if (ref && ref.deref() === undefined) this.entries.delete(key);
  });

  /** The shared value for `key`, made by `make()` when there is none. */
  get(key: string, make: () => T): T {
    const hit = this.entries.get(key)?.deref();
    if (hit) return hit;
    const value = make();
    this.entries.set(key, new WeakRef(value));
    this.finalizer.register(value, key);
    return value;
  }

  /** The shared value for `key`, if one is alive. */
  find(key: string): T | undefined {
    return this.entries.get(key)?.deref();
  }

  /** Distinct values alive (for tests). */
  get size(): number {
    let n = 0;
    for (const ref of this.entries.values()) if (ref.deref()) n++;
    return n;
  }
}
