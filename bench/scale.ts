// Scale curve: ingest cost (CPU seconds per 1,000 absorbed reports, all
// services) and Get osd_map latency at 100, 1,000, 10,000 and 30,000 OSDs. Each size's figure is shown against
// the smallest size scaled as it should: per-report cost constant, Get
// latency linear in the map's size; a ratio below 1 is better than that.
// Writes bench/results/scale.svg (log-log chart).
import * as fs from 'fs';
import * as path from 'path';
import { BenchResult, Figure, RESULTS_DIR, SMOKE } from './harness';
import { IngestRun, SERVICES, ingestRun } from './ingest';

export function scaleSizes(): number[] {
  if (process.env.BENCH_SCALE_OSDS) return process.env.BENCH_SCALE_OSDS.split(',').map(Number);
  return SMOKE ? [20] : [100, 1000, 10000];
}

const cost = (r: IngestRun) => SERVICES.reduce((a, s) => a + r.cpuPer1000[s], 0);
const marginal = (r: IngestRun) => SERVICES.reduce((a, s) => a + r.marginalPer1000[s], 0);

export async function runScale(): Promise<BenchResult> {
  const sizes = scaleSizes();
  const runs: IngestRun[] = [];
  for (const n of sizes) runs.push(await ingestRun(n));
  const big = runs[runs.length - 1];
  let note30k = '';
  if (!SMOKE && !process.env.BENCH_SCALE_OSDS) {
    // tried either way: sustained, or the figure (and, with BENCH_CPU_PROF, the profile) that says what limits it
    runs.push(await ingestRun(30000));
    if (big.reportsPerSec < 0.95 * big.offeredPerSec)
      note30k = `${big.osds} OSDs were not sustained (${big.reportsPerSec.toFixed(0)} of ${big.offeredPerSec} reports/s)`;
  }
  const first = runs[0];
  const figures: Figure[] = [];
  for (const r of runs) {
    if (r.reportsPerSec < 1) {
      figures.push({
        name: `scale_${r.osds}_stalled`,
        value: r.cores.sim,
        unit: 'cores (load generator)',
        note: 'no report reached cluster-state: the load generator stalled; cost not measurable at this size here',
      });
    } else {
      figures.push({
        name: `scale_${r.osds}_cpu_per_1000_reports`,
        value: cost(r),
        unit: 's',
        baseline: r === first ? undefined : cost(first),
        baselineName: `constant per-report cost from ${first.osds} OSDs`,
        note: `${r.reportsPerSec.toFixed(0)} of ${r.offeredPerSec} reports/s absorbed`,
      });
      figures.push({
        name: `scale_${r.osds}_cpu_per_1000_reports_above_idle`,
        value: marginal(r),
        unit: 's',
        baseline: r === first ? undefined : marginal(first),
        baselineName: `constant per-report cost from ${first.osds} OSDs`,
      });
    }
    figures.push({
      name: `scale_${r.osds}_get_osd_map_p50`,
      value: r.getOsdMap.p50Ms,
      unit: 'ms',
      baseline: r === first ? undefined : first.getOsdMap.p50Ms * (r.osdMapBytes / first.osdMapBytes),
      baselineName: `linear growth in map bytes from ${first.osds} OSDs`,
      note: `${(r.osdMapBytes / 1e6).toFixed(2)} MB; p99 ${r.getOsdMap.p99Ms.toFixed(2)} ms`,
    });
  }
  writeChart(runs);
  return { bench: 'scale', figures, params: { sizes: runs.map((r) => r.osds), note: note30k || undefined } };
}

/** A small log-log SVG: cost per 1,000 reports and Get p50 against OSDs. */
function writeChart(runs: IngestRun[]): void {
  const W = 560;
  const H = 320;
  const m = { l: 60, r: 60, t: 30, b: 45 };
  const xs = runs.map((r) => r.osds);
  const lx = (v: number) => Math.log10(v);
  const [x0, x1] = [lx(Math.min(...xs)) - 0.1, lx(Math.max(...xs)) + 0.1];
  const X = (v: number) => m.l + ((lx(v) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const series = [
    { name: 'CPU s / 1,000 reports (all services)', color: '#1f77b4', vals: runs.map((r) => (r.reportsPerSec >= 1 ? cost(r) : NaN)) },
    { name: 'same, above idle CPU', color: '#2ca02c', vals: runs.map((r) => (r.reportsPerSec >= 1 ? marginal(r) : NaN)) },
    { name: 'Get osd_map p50 (ms)', color: '#d62728', vals: runs.map((r) => r.getOsdMap.p50Ms) },
  ];
  const all = series.flatMap((s) => s.vals).filter((v) => v > 0);
  const [y0, y1] = [Math.floor(lx(Math.min(...all))), Math.ceil(lx(Math.max(...all)))];
  const Y = (v: number) => H - m.b - ((lx(v) - y0) / Math.max(1e-9, y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">mgrpc scale curve (log-log)</text>`);
  for (let e = y0; e <= y1; e++) {
    const y = Y(10 ** e);
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${m.l - 6}" y="${y + 4}" text-anchor="end" font-size="10">${10 ** e}</text>`,
    );
  }
  for (const v of xs) parts.push(`<text x="${X(v)}" y="${H - m.b + 16}" text-anchor="middle" font-size="10">${v}</text>`);
  parts.push(`<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">OSDs</text>`);
  series.forEach((s, i) => {
    const pts = s.vals.flatMap((v, k) => (Number.isFinite(v) ? [`${X(xs[k]).toFixed(1)},${Y(Math.max(v, 10 ** y0)).toFixed(1)}`] : []));
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${s.color}"/>`);
    parts.push(`<text x="${m.l + 10}" y="${m.t + 14 + i * 14}" font-size="11" fill="${s.color}">${s.name}</text>`);
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>\n`;
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'scale.svg'), svg);
}
