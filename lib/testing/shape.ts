// Compares the JSON *shape* of a value with a reference (e.g. a Ceph fixture):
// same keys, same JSON types, arrays compared element by element against the
// reference's first element. Returns the differences as readable paths, so a
// test can `expect(shapeDiff(actual, fixture)).toEqual([])`.

export type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

export function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  if (t === 'boolean' || t === 'number' || t === 'string') return t;
  return 'object';
}

export interface ShapeOptions {
  /**
   * Treat objects whose keys are data (ids, pgids, daemon names) as maps: the
   * value shapes are compared, not the key sets. Paths like "$.by_osd".
   */
  mapPaths?: string[];
  /** Paths whose keys may be missing from the actual value (optional keys). */
  optionalPaths?: string[];
}

export function shapeDiff(actual: unknown, reference: unknown, opts: ShapeOptions = {}, path = '$'): string[] {
  const ta = jsonType(actual);
  const tr = jsonType(reference);
  if (ta !== tr) return [`${path}: expected ${tr}, got ${ta}`];
  if (tr === 'array') {
    const ref = reference as unknown[];
    const act = actual as unknown[];
    if (ref.length === 0 || act.length === 0) return [];
    const out: string[] = [];
    // Every actual element must look like one of the reference's elements
    // (the reference may show an optional part filled in only in some).
    for (let i = 0; i < act.length && out.length < 20; i++) {
      const diffs = ref.map((r) => shapeDiff(act[i], r, opts, `${path}[${i}]`));
      if (!diffs.some((d) => d.length === 0)) out.push(...diffs.reduce((a, b) => (b.length < a.length ? b : a)));
    }
    return out;
  }
  if (tr !== 'object') return [];
  const a = actual as Record<string, unknown>;
  const r = reference as Record<string, unknown>;
  if (opts.mapPaths?.includes(path)) {
    const sample = Object.values(r)[0];
    if (sample === undefined) return [];
    return Object.entries(a).flatMap(([k, v]) => shapeDiff(v, sample, opts, `${path}.${k}`));
  }
  const out: string[] = [];
  for (const k of Object.keys(r)) {
    if (!(k in a)) {
      if (!opts.optionalPaths?.includes(`${path}.${k}`)) out.push(`${path}.${k}: missing`);
      continue;
    }
    out.push(...shapeDiff(a[k], r[k], opts, `${path}.${k}`));
  }
  for (const k of Object.keys(a)) if (!(k in r)) out.push(`${path}.${k}: not in the reference`);
  return out;
}
