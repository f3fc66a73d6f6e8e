// One copy of each counter schema, however many daemons declare it: 10,000
// OSDs declare the same ~224 counters, and holding their paths and
// descriptions once per daemon cost tens of kilobytes each (Ceph's manager
// shares its PerfCounterTypes the same way). A registry maps a schema's
// content to one shared, immutable value; entries go away with the last
// daemon that used them (weak references), so a hostile client declaring
// ever-new schemas cannot grow it for long.
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

  /** Distinct values alive (for tests). */
  get size(): number {
    let n = 0;
    for (const ref of this.entries.values()) if (ref.deref()) n++;
    return n;
  }
}
