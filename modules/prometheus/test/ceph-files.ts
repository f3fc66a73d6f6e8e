// Ceph's own monitoring files, as Debian installs them: the alert rules
// (ceph-prometheus-alerts) and the Grafana dashboards
// (ceph-grafana-dashboards), and every PromQL expression in them with where it
// came from. The tests read the installed files, never a copy: what an
// operator deploys is what is checked.
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';

export const ALERTS_FILE = process.env.CEPH_ALERTS_FILE ?? '/etc/prometheus/ceph/ceph_default_alerts.yml';
export const DASHBOARDS_DIR = process.env.CEPH_DASHBOARDS_DIR ?? '/etc/grafana/dashboards/ceph-dashboard';

/** Why the files cannot be read here (null when they can). */
export function cephFilesMissing(): string | null {
  const missing: string[] = [];
  if (!fs.existsSync(ALERTS_FILE)) missing.push(`${ALERTS_FILE} (Debian package ceph-prometheus-alerts)`);
  if (!fs.existsSync(DASHBOARDS_DIR) || !fs.readdirSync(DASHBOARDS_DIR).some((f) => f.endsWith('.json')))
    missing.push(`${DASHBOARDS_DIR}/*.json (Debian package ceph-grafana-dashboards)`);
  return missing.length ? `missing ${missing.join(' and ')}; .ci/run installs them` : null;
}

export interface AlertRule {
  group: string;
  alert: string;
  expr: string;
  /** Seconds the condition must hold before firing (0: at once). */
  forSeconds: number;
  labels: Record<string, string>;
  /** The queries of its annotation templates (`query "..."`). */
  annotationQueries: string[];
}

/** Prometheus' duration syntax as the rules use it: 30s, 1m, 5m, 15m, 1h. */
export function durationSeconds(d: string | undefined): number {
  if (!d) return 0;
  let total = 0;
  for (const m of String(d).matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2] as 'ms'];
  }
  return total;
}

export function readAlertRules(file = ALERTS_FILE): AlertRule[] {
  const doc = yaml.load(fs.readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: any[] }> };
  const out: AlertRule[] = [];
  for (const g of doc.groups ?? []) {
    for (const r of g.rules ?? []) {
      if (!r.alert) continue;
      const annotations = Object.values<string>(r.annotations ?? {}).join('\n');
      out.push({
        group: g.name,
        alert: r.alert,
        expr: String(r.expr).trim(),
        forSeconds: durationSeconds(r.for),
        labels: r.labels ?? {},
        annotationQueries: [...annotations.matchAll(/query "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\"/g, '"')),
      });
    }
  }
  return out;
}

export interface DashboardQuery {
  dashboard: string;
  /** The panel's title, or `variable <name>` for a templating query. */
  where: string;
  /** A PromQL expression (targets), or a Grafana label_values(...) call (variables). */
  expr: string;
  variable: boolean;
}

/** Every panel target and templating query of every dashboard (rows and nested panels included). */
export function readDashboardQueries(dir = DASHBOARDS_DIR): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const d = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const panels = (list: any[] | undefined, title = ''): void => {
      for (const p of list ?? []) {
        for (const t of p.targets ?? [])
          if (typeof t.expr === 'string' && t.expr.trim()) out.push({ dashboard: f, where: p.title ?? title, expr: t.expr, variable: false });
        panels(p.panels, p.title);
      }
    };
    panels(d.panels);
    for (const row of d.rows ?? []) panels(row.panels, row.title);
    for (const v of d.templating?.list ?? []) {
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      if (v.type === 'query' && typeof q === 'string' && q.trim()) out.push({ dashboard: f, where: `variable ${v.name}`, expr: q, variable: true });
    }
  }
  return out;
}

export function dashboardFiles(dir = DASHBOARDS_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort();
}

/** Grafana's label_values(metric{...}, label) / label_values(label): the selector (may be empty) and the label. */
export function parseLabelValues(q: string): { selector: string; label: string } | null {
  const m = /^\s*label_values\(\s*(?:(.*),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(q);
  return m ? { selector: (m[1] ?? '').trim(), label: m[2] } : null;
}
