// How Ceph prints numbers, times and tables in its plain output: byte_u_t
// and si_u_t (src/common/types.cc's format_u), weightf_t, timespan_str and
// TextTable (left or right aligned columns, two spaces apart, every cell
// padded). The monitor commands' plain output is built from these so it
// reads exactly as `ceph` prints it.

/** format_u: whole multiples print bare, others with the most decimals that fit in 7 characters. */
function formatUnits(v: number, mult: number, n: number, index: number, unit: string): string {
  if (index === 0) return `${Math.trunc(v)}${unit}`;
  if (v % mult === 0) return `${n}${unit}`;
  let s = '';
  for (let digits = 2; digits >= 0; digits--) {
    s = `${(v / mult).toFixed(digits)}${unit}`;
    if (s.length <= 7) break;
  }
  return s;
}

/** Ceph's byte_u_t: "0 B", "3 GiB", "2.3 KiB", "972 MiB". */
export function byteU(value: number): string {
  const v = Math.max(0, Math.trunc(Number(value) || 0));
  const units = [' B', ' KiB', ' MiB', ' GiB', ' TiB', ' PiB', ' EiB'];
  let n = v;
  let index = 0;
  while (n >= 1024 && index < 6) {
    n = Math.floor(n / 1024);
    index++;
  }
  return formatUnits(v, 1024 ** index, n, index, units[index]);
}

/** Ceph's si_u_t (counts): "25", "14k", "14.43k". */
export function siU(value: number): string {
  const v = Math.max(0, Math.trunc(Number(value) || 0));
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let n = v;
  let index = 0;
  while (n >= 1000 && index < 6) {
    n = Math.floor(n / 1000);
    index++;
  }
  return formatUnits(v, 1000 ** index, n, index, units[index]);
}

/** Ceph's weightf_t: "-" below -0.01, "0" near zero, else five decimals. */
export function weightf(w: number): string {
  if (w < -0.01) return '-';
  if (w < 0.000001) return '0';
  return w.toFixed(5);
}

/** Ceph's timespan_str for ages: "31s", "4m", "3h", "2d", "5w", "3M", "1y". */
export function timespan(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 2) return `${Number(s.toPrecision(6))}s`;
  const sec = Math.floor(s);
  if (sec < 120) return `${sec}s`;
  const min = Math.floor(sec / 60);
  if (min < 120) return `${min}m`;
  const hr = Math.floor(min / 60);
  if (hr < 48) return `${hr}h`;
  const day = Math.floor(hr / 24);
  if (day < 14) return `${day}d`;
  const wk = Math.floor(day / 7);
  if (wk < 12) return `${wk}w`;
  const mn = Math.floor(day / 30);
  if (mn < 24) return `${mn}M`;
  return `${Math.floor(day / 365)}y`;
}

/** Ceph's default ostream print of a double: up to 6 significant digits, no trailing zeros. */
export function cppDouble(v: number): string {
  const n = Number(v) || 0;
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(6)));
}

export interface Column {
  header: string;
  /** Ceph's TextTable alignment of the column (header and cells alike). */
  align: 'left' | 'right';
}

/** Ceph's TextTable: each cell padded to its column's width, columns two spaces apart. */
export function textTable(columns: Column[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => columns.map((_, i) => String(r[i] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (columns[i].align === 'right' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** Ceph's entity_addrvec_t print: "[v2:127.0.0.1:6800/123,v1:127.0.0.1:6801/123]" (one address: bare). */
export function addrvec(addrs: { addrvec?: Array<{ type?: string; addr?: string; nonce?: number }> } | undefined): string {
  const list = (addrs?.addrvec ?? []).map((a) => `${a.type}:${a.addr}/${a.nonce ?? 0}`);
  return list.length === 1 ? list[0] : `[${list.join(',')}]`;
}

/** A command's JSON output: `--format json-pretty` indented by 4, as Ceph prints it; otherwise compact. */
export function formatJson(ctx: { args: Record<string, unknown> }, value: unknown): string {
  return ctx.args.format === 'json-pretty' ? JSON.stringify(value, null, 4) + '\n' : JSON.stringify(value);
}
