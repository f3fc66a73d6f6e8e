// The Prometheus text exposition format (version 0.0.4), written by hand:
// metric families with HELP and TYPE lines, escaped label values, Go-style
// float values. Names follow Ceph's prometheus module: "ceph_" + the path
// with '.', '/', whitespace and '::' turned into '_', '+' into '_plus', and
// '-' into '_' (a trailing '-' into '_minus').

export type MetricType = 'counter' | 'gauge' | 'untyped' | 'histogram' | 'summary';

/** Ceph's promethize(): a counter path or metric stem to a metric name. */
export function promethize(path: string): string {
  let r = path.replace(/::|[./\s]/g, '_').replace(/\+/g, '_plus');
  r = r.endsWith('-') ? `${r.slice(0, -1).replace(/-/g, '_')}_minus` : r.replace(/-/g, '_');
  // Anything else outside [a-zA-Z0-9_:] would make the whole scrape unparsable.
  r = r.replace(/[^a-zA-Z0-9_:]/g, '_');
  return `ceph_${r}`;
}

/** A label value inside double quotes: backslash, quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and newline escaped (quotes are fine there). */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as Go's ParseFloat reads it. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One metric family: a name, its help and type, and a value per label set. */
export class Metric {
  readonly name: string;
  private readonly values = new Map<string, { labels: string[]; value: number }>();

  constructor(
    readonly type: MetricType,
    stem: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {
    this.name = promethize(stem);
    for (const l of labelNames) if (!LABEL_NAME.test(l)) throw new Error(`metric ${this.name}: '${l}' is not a valid label name`);
  }

  /** Sets the value for these label values (in labelNames order); a later set wins. */
  set(value: number, labelValues: ReadonlyArray<string | number> = []): void {
    if (labelValues.length !== this.labelNames.length) {
      throw new Error(`metric ${this.name} takes ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${labelValues.length}`);
    }
    const labels = labelValues.map((v) => String(v ?? ''));
    this.values.set(labels.join('\u0000'), { labels, value: Number(value) });
  }

  get size(): number {
    return this.values.size;
  }

  /** The family's text; empty when no value is set (Prometheus needs no empty families). */
  render(out: string[]): void {
    if (!this.values.size) return;
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`);
    for (const { labels, value } of this.values.values()) {
      if (this.labelNames.length) {
        const ls = this.labelNames.map((n, i) => `${n}="${escapeLabelValue(labels[i])}"`).join(',');
        out.push(`${this.name}{${ls}} ${formatValue(value)}\n`);
      } else {
        out.push(`${this.name} ${formatValue(value)}\n`);
      }
    }
  }
}

/** Metric families by name; asking twice for a name returns the first family. */
export class MetricSet {
  private readonly metrics = new Map<string, Metric>();

  metric(type: MetricType, stem: string, help: string, labelNames: readonly string[] = []): Metric {
    const name = promethize(stem);
    let m = this.metrics.get(name);
    if (!m) {
      m = new Metric(type, stem, help, labelNames);
      this.metrics.set(name, m);
    }
    return m;
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  names(): string[] {
    return [...this.metrics.keys()];
  }

  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return out.join('');
  }
}
