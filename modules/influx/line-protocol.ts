// InfluxDB 1.x line protocol: `measurement,tag=v,... field=v,... timestamp`.
// Escaping follows InfluxDB's parser (checked against a real influxd 1.6):
//   measurement: comma and space
//   tag keys, tag values, field keys: comma, equals sign and space
//   string field values: double quote and backslash, inside double quotes
// A backslash in a tag value is NOT escaped: 1.x keeps `\\` as two
// backslashes, so escaping it would change the stored value.

export interface Point {
  measurement: string;
  /** Empty values are left out (the protocol has no empty tag value). */
  tags: Record<string, string | number>;
  /** Integers carry Influx's `i` suffix; floats are written as they are. */
  fields: Record<string, FieldValue>;
  /** Milliseconds since the epoch (the module writes with precision=ms). */
  time: number;
}

export type FieldValue = { int: number } | { float: number } | string | boolean;

const noNewlines = (s: string) => s.replace(/\r?\n/g, '\\n');

export function escapeMeasurement(s: string): string {
  return noNewlines(s).replace(/[, ]/g, (c) => `\\${c}`);
}

/** Tag keys, tag values and field keys. */
export function escapeKey(s: string): string {
  return noNewlines(s).replace(/[,= ]/g, (c) => `\\${c}`);
}

export function formatField(v: FieldValue): string | null {
  if (typeof v === 'string') return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if ('int' in v) {
    // Ceph's counters are u64; a fraction here would only come from rounding upstream.
    if (!Number.isFinite(v.int)) return null;
    return `${BigInt(Math.round(v.int)).toString()}i`;
  }
  if (!Number.isFinite(v.float)) return null; // NaN/Infinity have no line-protocol form
  return String(v.float);
}

/** One line, or null when the point has no writable field. */
export function formatPoint(p: Point): string | null {
  const fields: string[] = [];
  for (const [k, v] of Object.entries(p.fields)) {
    const f = formatField(v);
    if (f !== null) fields.push(`${escapeKey(k)}=${f}`);
  }
  if (!fields.length) return null;
  // Sorted tags are what InfluxDB recommends (cheaper series indexing).
  const tags = Object.entries(p.tags)
    .map(([k, v]) => [k, String(v)] as const)
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `,${escapeKey(k)}=${escapeKey(v)}`)
    .join('');
  return `${escapeMeasurement(p.measurement)}${tags} ${fields.join(',')} ${Math.round(p.time)}`;
}
