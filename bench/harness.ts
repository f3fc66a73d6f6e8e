// What every benchmark shares: timed loops with warm-up, percentiles, child
// processes for servers, and the report (one line per figure with its ratio
// against a baseline measured in the same run, plus JSON and Markdown under
// bench/results/). BENCH_SMOKE=1 shrinks sizes and durations so the test
// suite can run each benchmark in seconds.
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';

export const SMOKE = process.env.BENCH_SMOKE === '1';
export const ROOT = path.resolve(__dirname, '..');
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? path.join(ROOT, 'bench/results');

/** Measurement window: at least 5 s for real runs (shorter runs read low). */
export const MEASURE_MS = SMOKE ? 300 : Number(process.env.BENCH_MEASURE_MS ?? 5000);
export const WARMUP_MS = SMOKE ? 100 : Number(process.env.BENCH_WARMUP_MS ?? 1500);

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The baseline's value in the same unit, measured in this run. */
  baseline?: number;
  baselineName?: string;
  /** For reference figures quoted from elsewhere (e.g. Ceph's own). */
  reference?: boolean;
  note?: string;
}

export interface BenchResult {
  bench: string;
  figures: Figure[];
  params: Record<string, unknown>;
}

export interface LoopStats {
  ops: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Runs `op` from `concurrency` loops: warm-up, then a measured window (one turn of interleavedLoops). */
export async function timedLoop(op: () => Promise<unknown>, opts: { concurrency?: number; measureMs?: number; warmupMs?: number } = {}): Promise<LoopStats> {
  return (await interleavedLoops({ op }, { ...opts, turnMs: opts.measureMs ?? MEASURE_MS })).op;
}

/**
 * Measures several ops in turns (each `turnMs` at a time, round after round,
 * for `measureMs` each in all, after one warm-up turn each), so a change in
 * the machine's load falls on all of them alike: on a shared machine two
 * windows measured one after the other can differ by 2x on their own.
 */
export async function interleavedLoops(
  ops: Record<string, () => Promise<unknown>>,
  opts: { concurrency?: number; measureMs?: number; turnMs?: number; warmupMs?: number } = {},
): Promise<Record<string, LoopStats>> {
  const concurrency = opts.concurrency ?? 1;
  const measureMs = opts.measureMs ?? MEASURE_MS;
  const turnMs = Math.min(opts.turnMs ?? 500, measureMs);
  const names = Object.keys(ops);
  const lat: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const spent: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const turn = async (name: string, ms: number, record: boolean) => {
    const start = performance.now();
    const end = start + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          await ops[name]();
          if (record) lat[name].push(performance.now() - t0);
        }
      }),
    );
    if (record) spent[name] += performance.now() - start;
  };
  for (const n of names) await turn(n, opts.warmupMs ?? WARMUP_MS, false);
  for (let t = 0; t * turnMs < measureMs; t++) for (const n of names) await turn(n, turnMs, true);
  const out: Record<string, LoopStats> = {};
  for (const n of names) {
    const sorted = lat[n].sort((a, b) => a - b);
    const seconds = spent[n] / 1000;
    out[n] = { ops: sorted.length, seconds, perSecond: sorted.length / seconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
  }
  return out;
}

export function ratio(f: Figure): string {
  if (f.baseline === undefined || !Number.isFinite(f.baseline) || f.baseline === 0) return '';
  return ` (${(f.value / f.baseline).toFixed(2)} of ${f.baselineName ?? 'baseline'}${f.reference ? ', reference' : ''})`;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export function printFigure(f: Figure): void {
  process.stdout.write(`${f.name}: ${fmt(f.value)} ${f.unit}${ratio(f)}${f.note ? `  [${f.note}]` : ''}\n`);
}

/** Writes bench/results/<bench>.json and .md. */
export function writeResult(res: BenchResult): void {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const when = new Date().toISOString();
  // the machine is shared: the load average says how noisy the run was
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  fs.writeFileSync(
    path.join(RESULTS_DIR, `${res.bench}.json`),
    JSON.stringify({ ...res, when, smoke: SMOKE, loadavg: os.loadavg(), cpus: os.cpus().length }, null, 2) + '\n',
  );
  const rows = res.figures.map(
    (f) =>
      `| ${f.name} | ${fmt(f.value)} ${f.unit} | ${f.baseline !== undefined ? `${fmt(f.baseline)} ${f.unit} (${f.baselineName ?? 'baseline'}${f.reference ? ', reference' : ''})` : ''} | ${f.baseline ? (f.value / f.baseline).toFixed(2) : ''} | ${f.note ?? ''} |`,
  );
  const md = [
    `# ${res.bench}`,
    '',
    `Measured ${when}${SMOKE ? ' (smoke sizes: not a real measurement)' : ''} on ${os.cpus().length} CPUs, load average ${load}.`,
    '',
    `Parameters: \`${JSON.stringify(res.params)}\`.`,
    '',
    '| figure | value | baseline | ratio | note |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(RESULTS_DIR, `${res.bench}.md`), md);
}

export interface Child {
  proc: ChildProcess;
  /** Resolves with the first stdout/stderr line matching. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The last lines it printed (up to 200), for a failure's message. */
  tail(): string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node --import tsx <script>` and watches its output lines. */
export function startNode(script: string, args: string[] = [], env: Record<string, string> = {}): Child {
  // BENCH_CPU_PROF=<dir>: every service writes a V8 CPU profile there when it exits.
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
  // BENCH_HEAP_SNAPSHOT=<dir>: SIGUSR2 makes a service write a V8 heap snapshot there (heapSnapshots() sends it).
  const heap = process.env.BENCH_HEAP_SNAPSHOT ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${path.resolve(process.env.BENCH_HEAP_SNAPSHOT)}`] : [];
  // BENCH_WINDOW_PROF=<dir>: every process profiles the benchmark's measurement window only (bench/window-profile.ts).
  const windowDir = process.env.BENCH_WINDOW_PROF ? path.resolve(process.env.BENCH_WINDOW_PROF) : '';
  const windowProf = windowDir ? ['--import', path.join(ROOT, 'bench/window-profile.ts')] : [];
  const proc = spawn(process.execPath, [...prof, ...heap, '--import', 'tsx', ...windowProf, path.join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, MGR_LOG_LEVEL: process.env.MGR_LOG_LEVEL ?? 'info', ...(windowDir ? { BENCH_WINDOW_PROF_CHILD: windowDir } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 200) tail.shift();
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = line.match(waiters[i].re);
      if (m) {
        waiters[i].resolve(m);
        waiters.splice(i, 1);
      }
    }
  };
  readline.createInterface({ input: proc.stdout! }).on('line', onLine);
  readline.createInterface({ input: proc.stderr! }).on('line', onLine);
  return {
    proc,
    tail: () => tail.slice(),
    waitForLine(re, timeoutMs = 30000) {
      return new Promise((resolve, reject) => {
        // A line printed before anyone waited still counts.
        for (const line of tail) {
          const m = line.match(re);
          if (m) return resolve(m);
        }
        const t = setTimeout(() => reject(new Error(`${script}: no line matching ${re} within ${timeoutMs} ms; last output:\n${tail.join('\n')}`)), timeoutMs);
        waiters.push({
          re,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
        proc.once('exit', (code) => {
          clearTimeout(t);
          reject(new Error(`${script} exited with ${code} before printing ${re}; last output:\n${tail.join('\n')}`));
        });
      });
    },
    kill(signal = 'SIGTERM') {
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      });
    },
  };
}

/** Resident memory of a process in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/**
 * With BENCH_HEAP_SNAPSHOT=<dir>: each process (started by startNode) writes a V8 heap snapshot
 * there, one after the other (a snapshot pauses the process and about doubles its memory for a
 * while); resolves with the files once each is complete. Without it: nothing.
 */
export async function heapSnapshots(procs: Array<{ name: string; pid: number }>): Promise<string[]> {
  const dir = process.env.BENCH_HEAP_SNAPSHOT;
  if (!dir) return [];
  const files: string[] = [];
  for (const p of procs) {
    const before = new Set(fs.readdirSync(dir));
    process.kill(p.pid, 'SIGUSR2');
    // Node names it Heap.<date>.<time>.<pid>.<tid>.<seq>.heapsnapshot and writes it as it walks the heap
    const mine = (f: string) => !before.has(f) && f.endsWith('.heapsnapshot') && f.includes(`.${p.pid}.`);
    let file = '';
    let size = -1;
    for (let stable = 0, waited = 0; stable < 3 && waited < 300000; waited += 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      file ||= fs.readdirSync(dir).find(mine) ?? '';
      if (!file) continue;
      const now = fs.statSync(path.join(dir, file)).size;
      stable = now === size && now > 0 ? stable + 1 : 0;
      size = now;
    }
    if (file) {
      const to = path.join(dir, `${p.name}.${p.pid}.heapsnapshot`);
      fs.renameSync(path.join(dir, file), to);
      files.push(to);
    }
  }
  return files;
}
