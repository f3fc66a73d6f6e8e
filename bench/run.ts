// `npm run bench` runs every benchmark; `npm run bench -- <name> [...]` runs
// the named ones. Each prints `name: value unit (x.xx of baseline)` lines and
// writes bench/results/<name>.json and .md.
import { BenchResult, printFigure, writeResult } from './harness';
import { runQuery } from './query';
import { runIngest } from './ingest';
import { runCommand } from './command';
import { runNotify } from './notify';
import { runMemory } from './memory';
import { runScale } from './scale';
import { runFailover } from './failover';
import { runCli } from './cli';
import { runScrape } from './scrape';
import { runMsgr2 } from './msgr2';
import { runCephMap } from './cephmap';
import { runMsgr2Churn } from './msgr2-churn';
import { runCephFailover } from './ceph-failover';
import { stopShared } from './stack';

export const BENCHMARKS: Record<string, () => Promise<BenchResult>> = {
  query: () => runQuery(),
  // scale first: it runs 100, 1,000 and 10,000 OSDs; ingest and memory reuse those runs
  scale: () => runScale(),
  ingest: () => runIngest(),
  memory: () => runMemory(),
  command: () => runCommand(),
  notify: () => runNotify(),
  cli: () => runCli(),
  failover: () => runFailover(),
  // not in the smoke test's groups: 10,000 OSDs take minutes to set up
  scrape: () => runScrape(),
  // not in the smoke test's groups either: these start a real Ceph cluster
  msgr2: () => runMsgr2(),
  cephmap: () => runCephMap(),
  'ceph-failover': () => runCephFailover(),
  // nor this one: 1,000 msgr2 sessions opened and dropped against our server side
  'msgr2-churn': () => runMsgr2Churn(),
};

async function main(): Promise<void> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(
      `usage: npm run bench [-- <name>...]\nbenchmarks: ${Object.keys(BENCHMARKS).join(', ')}\nBENCH_SMOKE=1 for tiny sizes; BENCH_MEASURE_MS to change the window (default 5000)\n`,
    );
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
    const t0 = performance.now();
    try {
      const res = await BENCHMARKS[name]();
      res.figures.forEach(printFigure);
      writeResult(res);
      process.stdout.write(`(${name} took ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    } catch (e) {
      failed++;
      process.stderr.write(`${name} failed: ${(e as Error).stack ?? e}\n`);
    }
  }
  await stopShared();
  process.exit(failed ? 1 : 0);
}

if (require.main === module) void main();
