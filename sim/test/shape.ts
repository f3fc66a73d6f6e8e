// A shape comparer for generated JSON against the Pacific fixtures: same
// keys at every level, same JSON types; arrays compare every element with
// the fixture element they match best. Paths listed as dynamic are maps keyed by
// data (addresses, gids, ids): their keys are free, their values compared
// with the fixture's first value.

export interface ShapeOptions {
  /** Paths (dot-separated, `[]` for array elements, `*` for any key) of objects whose keys are data. */
  dynamic?: string[];
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Returns the differences (empty when the shapes agree). */
export function shapeDiff(actual: unknown, expected: unknown, opts: ShapeOptions = {}, at = '$'): string[] {
  const dynamic = new Set(opts.dynamic ?? []);
  const norm = (p: string) => p.replace(/^\$\.?/, '');
  const isDynamic = (p: string) => {
    const n = norm(p);
    for (const d of dynamic) {
      const re = new RegExp('^' + d.replace(/[.[\]]/g, (c) => '\\' + c).replace(/\*/g, '[^.]+') + '$');
      if (re.test(n)) return true;
    }
    return false;
  };
  const out: string[] = [];
  const walk = (a: unknown, e: unknown, p: string) => {
    const ka = kind(a),
      ke = kind(e);
    // integers and floats are both JSON numbers; null matches anything the fixture left null
    if (ka !== ke) {
      if (ke !== 'null') out.push(`${p}: expected ${ke}, got ${ka}`);
      return;
    }
    if (ka === 'array') {
      const ea = e as unknown[];
      if (ea.length === 0) return;
      // arrays may mix element shapes (e.g. CRUSH rule steps): compare each
      // element with the fixture element it matches best
      for (const x of a as unknown[]) {
        let best: string[] | undefined;
        for (const y of ea) {
          const d = shapeDiff(x, y, opts, `${p}[]`);
          if (!best || d.length < best.length) best = d;
          if (d.length === 0) break;
        }
        out.push(...best!);
      }
      return;
    }
    if (ka !== 'object') return;
    const ao = a as Record<string, unknown>,
      eo = e as Record<string, unknown>;
    if (isDynamic(p)) {
      const first = Object.values(eo)[0];
      if (first === undefined) return;
      for (const k of Object.keys(ao)) walk(ao[k], first, `${p}.*`);
      return;
    }
    for (const k of Object.keys(eo)) if (!(k in ao)) out.push(`${p}.${k}: missing`);
    for (const k of Object.keys(ao)) if (!(k in eo)) out.push(`${p}.${k}: not in the fixture`);
    for (const k of Object.keys(eo)) if (k in ao) walk(ao[k], eo[k], `${p}.${k}`);
  };
  walk(actual, expected, at);
  return [...new Set(out)];
}
