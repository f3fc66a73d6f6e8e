// `npm run bench` runs every benchmark; `npm run bench -- <name> [...]` runs
// the named ones. Each prints `name: value unit (x.xx of baseline)` lines and
// writes bench/results/<name>.json and .md.
import { BenchResult, printFigure, writeResult } from './harness';
import { runQuery } from './query';
import { runIngest } from './ingest';
import { runCommand } from './command';
import { runNotify } from './notify';

export const BENCHMARKS: Record<string, () => Promise<BenchResult>> = {
  query: () => runQuery(),
  ingest: () => runIngest(),
  command: () => runCommand(),
  notify: () => runNotify(),
};

async function main(): Promise<void> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`usage: npm run bench [-- <name>...]\nbenchmarks: ${Object.keys(BENCHMARKS).join(', ')}\nBENCH_SMOKE=1 for tiny sizes; BENCH_MEASURE_MS to change the window (default 5000)\n`);
    return;
  }
  const unknown = names.filter((n) => !BENCHMARKS[n]);
  if (unknown.length) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`);
    process.exit(2);
  }
  let failed = 0;
  for (const name of names.length ? names : Object.keys(BENCHMARKS)) {
    process.stdout.write(`# ${name}\n`);
    try {
      const res = await BENCHMARKS[name]();
      res.figures.forEach(printFigure);
      writeResult(res);
    } catch (e) {
      failed++;
      process.stderr.write(`${name} failed: ${(e as Error).stack ?? e}\n`);
    }
  }
  process.exit(failed ? 1 : 0);
}

if (require.main === module) void main();
