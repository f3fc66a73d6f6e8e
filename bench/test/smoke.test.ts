// Smoke run of every benchmark with tiny sizes and short windows
// (BENCH_SMOKE=1): each must finish and print its figure lines. The figures
// themselves are not judged here (no timing thresholds); `npm run bench`
// measures them for real.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');

/** Figure lines each benchmark must print: `name: value unit ...`. */
const EXPECTED: Record<string, RegExp[]> = {
  query: [/^get_osd_map_p50 \(\d+ OSDs, [\d.]+ MB\): [\d.]+ ms \([\d.]+ of bare/m, /^get_osd_map_typed_p99: [\d.]+ ms/m],
  // a size whose reports did not get through in the short window prints a `_stalled` line instead
  scale: [/^scale_20_(cpu_per_1000_reports: [\d.]+ s|stalled: )/m, /^scale_20_get_osd_map_p50: [\d.]+ ms/m],
  ingest: [
    /^ingest_20_reports_per_s: [\d.]+ reports\/s \([\d.]+ of offered/m,
    /^ingest_20_(cpu_per_1000_reports_daemon_server: [\d.]+ s|stalled: )/m,
    /^ingest_20_(cpu_per_1000_reports_cluster_state: [\d.]+ s|stalled: )/m,
    /^ingest_20_(services_cores: [\d.]+ cores|stalled: )/m,
    /^ingest_step_ds_decode_report: [\d.]+ us\/report/m,
    /^ingest_bare_stream_max: [\d.]+ reports\/s/m,
  ],
  memory: [
    /^memory_idle_total: [\d.]+ MB \([\d.]+ of idle Ceph Pacific manager, reference\)/m,
    /^memory_20_osds_daemon_server: [\d.]+ MB/m,
    /^memory_20_osds_daemon_server_per_session: [\d.]+ KB \([\d.]+ of a bare grpc-js server holding 20 open streams/m,
    /^memory_nice_grpc_per_stream: [\d.]+ KB \([\d.]+ of the bare grpc-js server\)/m,
  ],
  command: [
    /^command_hello_p50_c1: [\d.]+ ms \([\d.]+ of bare grpc-js unary echo/m,
    /^command_hello_p99_c64: [\d.]+ ms/m,
    /^command_hello_p50_c1_vs_ceph: [\d.]+ ms \([\d.]+ of Ceph Pacific/m,
  ],
  notify: [/^notify_ten_modules_p50: [\d.]+ ms/m, /^notify_ten_modules_p99: [\d.]+ ms/m],
  cli: [/^cli_mgrctl_hello_wall_p50: [\d.]+ ms \([\d.]+ of node -e 0/m, /^cli_mgrctl_hello_cpu_p50: [\d.]+ ms/m],
  // kill -9 on the embedded backend only: each other kind or backend costs another restart of a
  // manager or of the whole system (npm run bench measures them all; services/standby/test covers etcd)
  failover: [
    /^failover_embedded_kill9_median: [\d.]+ s \([\d.]+ of Ceph Pacific, crash of the active/m,
    /^failover_embedded_kill9_vs_grace: [\d.]+ s \([\d.]+ of the configured beacon grace\)\s+\[goal at most 0.33x: (met|not met)\]/m,
  ],
};

function runBench(names: string[], resultsDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/run.ts'), ...names], {
      cwd: ROOT,
      // Without Ceph's Python modules (about ten processes per manager): three groups side by side on a
      // busy 2-core machine must finish inside the limit; `npm run bench` measures with them.
      env: {
        ...process.env,
        BENCH_SMOKE: '1',
        BENCH_RESULTS_DIR: resultsDir,
        BENCH_FAILOVER_BACKENDS: 'embedded',
        BENCH_FAILOVER_KINDS: 'kill9',
        MGR_PYTHON_MODULES: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 150000);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

describe('benchmarks (smoke sizes)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-bench-smoke-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('every benchmark runs and prints its figures with ratios, and writes JSON and Markdown', async () => {
    // three groups side by side: ingest, scale and memory share their runs; failover runs whole systems
    const groups = [['query', 'scale', 'ingest', 'memory'], ['command', 'notify', 'cli'], ['failover']];
    const results = await Promise.all(groups.map((g, i) => runBench(g, path.join(dir, String(i)))));
    results.forEach((r, i) => {
      if (r.code !== 0) throw new Error(`bench ${groups[i].join(' ')} exited ${r.code} (null: killed after 150 s):\n${r.out}`);
    });
    const out = results.map((r) => r.out).join('\n');
    for (const [bench, lines] of Object.entries(EXPECTED)) {
      expect(out).toContain(`# ${bench}\n`);
      for (const re of lines) expect(out).toMatch(re);
      const i = groups.findIndex((g) => g.includes(bench));
      const json = JSON.parse(fs.readFileSync(path.join(dir, String(i), `${bench}.json`), 'utf8'));
      expect(json.bench).toBe(bench);
      expect(json.smoke).toBe(true);
      expect(json.figures.length).toBeGreaterThan(0);
      expect(fs.readFileSync(path.join(dir, String(i), `${bench}.md`), 'utf8')).toContain('| figure | value | baseline | ratio | note |');
    }
    expect(fs.existsSync(path.join(dir, '0', 'scale.svg'))).toBe(true);
  }, 170000);
});
