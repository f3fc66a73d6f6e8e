// BENCH_WINDOW_PROF=<dir>: a V8 CPU profile of a measurement window only,
// preloaded into each process the harness starts. Whole-process profiles
// (BENCH_CPU_PROF) include start-up and the burst of first reports, which
// misled once (bench/results/SUMMARY.md). The benchmark marks its window
// with the files windowStarted()/windowEnded() write; each process profiles
// between them and writes <dir>/<name>.<pid>.window.cpuprofile.
import * as fs from 'fs';
import * as inspector from 'inspector';
import * as path from 'path';

const START = 'window.start';
const END = 'window.end';

/** Marks the window's start for every profiled process (the benchmark calls it). */
export function windowStarted(): void {
  const dir = process.env.BENCH_WINDOW_PROF;
  if (!dir) return;
  fs.rmSync(path.join(dir, END), { force: true });
  fs.writeFileSync(path.join(dir, START), '');
}

/** Marks its end: each process writes its profile. */
export function windowEnded(): void {
  const dir = process.env.BENCH_WINDOW_PROF;
  if (!dir) return;
  fs.rmSync(path.join(dir, START), { force: true });
  fs.writeFileSync(path.join(dir, END), '');
}

/** In a profiled process (the harness preloads this file there): profile between the marks. */
function profileWindow(dir: string): void {
  const script = process.argv.find((a) => a.endsWith('.ts')) ?? 'node';
  const name = /services\/([a-z-]+)\/main\.ts$/.exec(script)?.[1] ?? path.basename(script, '.ts');
  const session = new inspector.Session();
  session.connect();
  let profiling = false;
  const poll = setInterval(() => {
    if (!profiling && fs.existsSync(path.join(dir, START))) {
      profiling = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
    } else if (profiling && fs.existsSync(path.join(dir, END))) {
      profiling = false;
      session.post('Profiler.stop', (err, res) => {
        if (!err) fs.writeFileSync(path.join(dir, `${name}.${process.pid}.window.cpuprofile`), JSON.stringify(res.profile));
      });
    }
  }, 50);
  poll.unref();
}

if (process.env.BENCH_WINDOW_PROF_CHILD) profileWindow(process.env.BENCH_WINDOW_PROF_CHILD);
else if (process.env.BENCH_WINDOW_PROF) {
  // the benchmark's own process: marks an earlier run left (stopped mid-window) go before any process starts
  for (const f of [START, END]) fs.rmSync(path.join(process.env.BENCH_WINDOW_PROF, f), { force: true });
}
