// One `mgrctl hello` as an operator runs it: bin/mgrctl (the build,
// dist/cli/mgrctl.js) as a new process, against the shared manager of
// `command` and `notify`, until it exits. Wall time and CPU per call.
// Baseline, same run, interleaved call by call: `node -e 0`, the cost of
// starting Node at all. The goal is at most 10x. For comparison, the same
// call run from source through tsx (how mgrctl ran before the build).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchResult, Figure, ROOT, SMOKE, percentile } from './harness';
import { moduleStack } from './notify';
import { until } from './stack';

const RUNS = SMOKE ? 3 : Number(process.env.BENCH_CLI_RUNS ?? 15);

/** Wall ms and CPU ms (user + system of the process tree) of one run of `argv`. */
function timeRun(argv: string[], env: NodeJS.ProcessEnv): { wallMs: number; cpuMs: number; out: string } {
  // The shell's `times` prints its children's CPU; the command is its only child.
  const script = `"$@" >"$MGRPC_BENCH_OUT" 2>&1; rc=$?; times; exit $rc`;
  const outFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-bench-cli-')), 'out');
  const t0 = performance.now();
  const r = spawnSync('/bin/sh', ['-c', script, 'sh', ...argv], { env: { ...env, MGRPC_BENCH_OUT: outFile }, encoding: 'utf8', cwd: ROOT });
  const wallMs = performance.now() - t0;
  const out = fs.readFileSync(outFile, 'utf8');
  fs.rmSync(path.dirname(outFile), { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${out}`);
  // `times`: line 1 the shell's own user/sys, line 2 its children's, as 0m0.123s 0m0.045s.
  const child = r.stdout.trim().split('\n')[1] ?? '';
  const secs = [...child.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wallMs, cpuMs: (secs[0] + secs[1]) * 1000, out };
}

export async function runCli(): Promise<BenchResult> {
  const mgrctl = path.join(ROOT, 'bin/mgrctl');
  if (!fs.existsSync(path.join(ROOT, 'dist/cli/mgrctl.js'))) throw new Error('dist/ is not built: run `npm run build` first');
  const stack = await moduleStack();
  const env = { ...process.env, MGR_ADDR: stack.ds.address, MGR_KEYRING: stack.keyringPath };
  await until('hello to answer', async () => spawnSync(mgrctl, ['hello'], { env, encoding: 'utf8' }).stdout.includes('Hello World'), 60000, 200);
  const kinds = {
    node: [process.execPath, '-e', '0'],
    mgrctl: [mgrctl, 'hello'],
    tsx: [process.execPath, '--import', 'tsx', path.join(ROOT, 'cli/mgrctl.ts'), 'hello'],
  };
  const runs: Record<keyof typeof kinds, Array<{ wallMs: number; cpuMs: number }>> = { node: [], mgrctl: [], tsx: [] };
  timeRun(kinds.mgrctl, env); // warm the file cache
  for (let i = 0; i < RUNS; i++) {
    for (const k of Object.keys(kinds) as Array<keyof typeof kinds>) {
      const r = timeRun(kinds[k], env);
      if (k !== 'node' && !r.out.includes('Hello World')) throw new Error(`${k} answered: ${r.out}`);
      runs[k].push({ wallMs: Math.round(r.wallMs), cpuMs: Math.round(r.cpuMs) });
    }
  }
  const p50 = (k: keyof typeof kinds, f: 'wallMs' | 'cpuMs') =>
    percentile(
      runs[k].map((r) => r[f]).sort((a, b) => a - b),
      50,
    );
  const base = 'node -e 0, same run';
  const figures: Figure[] = [
    {
      name: 'cli_mgrctl_hello_wall_p50',
      value: p50('mgrctl', 'wallMs'),
      unit: 'ms',
      baseline: p50('node', 'wallMs'),
      baselineName: base,
      note: 'goal: at most 10x',
    },
    { name: 'cli_mgrctl_hello_cpu_p50', value: p50('mgrctl', 'cpuMs'), unit: 'ms', baseline: p50('node', 'cpuMs'), baselineName: base },
    {
      name: 'cli_mgrctl_hello_from_source_wall_p50',
      value: p50('tsx', 'wallMs'),
      unit: 'ms',
      baseline: p50('node', 'wallMs'),
      baselineName: base,
      note: 'the same call through tsx (before the build)',
    },
  ];
  return { bench: 'cli', figures, params: { runs: RUNS, command: 'bin/mgrctl hello', runsMs: runs } };
}
