// Get(what) views: each is encoded once per change of what it is built from
// and the cached bytes are served until one of those sources changes.

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
  private cache = new Map<string, { key: string; bytes: Buffer; epoch: number }>();
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

  get(name: string): { bytes: Buffer; epoch: number } | undefined {
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
