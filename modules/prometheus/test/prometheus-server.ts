// A real Prometheus (Debian's `prometheus`) for the tests: a config written
// to a temp folder (scrape and rule evaluation every second), its own free
// loopback port, and small helpers over its HTTP API.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { freePort, until } from '../../../lib/testing/wait';

export const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';
export const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';

/** Why Prometheus cannot run here (null when it can). */
export function prometheusMissing(): string | null {
  for (const bin of [PROMETHEUS, PROMTOOL]) {
    if (!fs.existsSync(bin) || spawnSync(bin, ['--version']).status !== 0) return `${bin} is missing (Debian's prometheus package; .ci/run installs it)`;
  }
  return null;
}

// describeWith (a missing program skips, or fails under CI=true) is lib/testing/external.ts's.
export { describeWith } from '../../../lib/testing/external';

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  url: string;
  dir: string;
  /** An instant query; throws with Prometheus' error on a bad one. */
  query(q: string): Promise<Sample[]>;
  /** /api/v1/series?match[]=... */
  series(match: string): Promise<Array<Record<string, string>>>;
  /** /api/v1/rules: the rule groups as Prometheus loaded them. */
  rules(): Promise<any[]>;
  log(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port of the mgrpc prometheus module (job "ceph", as Ceph's rules expect). */
  target: string;
  /** Rule files loaded unchanged. */
  ruleFiles?: string[];
  /** Labels added to every scraped series (e.g. cluster). */
  targetLabels?: Record<string, string>;
}

/** The scrape config Ceph's docs give for the mgr exporter: job "ceph", honor_labels so its own `instance` labels stay. */
export function prometheusConfig(o: PrometheusOptions): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    ...(o.ruleFiles?.length ? ['rule_files:', ...o.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:',
    '  - job_name: ceph',
    '    scrape_interval: 1s',
    '    scrape_timeout: 1s',
    '    honor_labels: true',
    '    static_configs:',
    `      - targets: ['${o.target}']`,
    ...(o.targetLabels ? ['        labels:', ...Object.entries(o.targetLabels).map(([k, v]) => `          ${k}: ${JSON.stringify(v)}`)] : []),
    '',
  ].join('\n');
}

export async function startPrometheus(dir: string, o: PrometheusOptions): Promise<PrometheusServer> {
  fs.mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, prometheusConfig(o));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const api = async (p: string): Promise<any> => {
    const res = await fetch(`${url}${p}`);
    const body = (await res.json()) as any;
    if (body.status !== 'success') throw new Error(`${p}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const server: PrometheusServer = {
    url,
    dir,
    query: async (q) => (await api(`/api/v1/query?query=${encodeURIComponent(q)}`)).result,
    series: (match) => api(`/api/v1/series?match[]=${encodeURIComponent(match)}`),
    rules: async () => (await api('/api/v1/rules')).groups,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
  await until('Prometheus ready', async () => (await fetch(`${url}/-/ready`)).ok, 30000, 200).catch(async (e) => {
    await server.stop();
    throw new Error(`${(e as Error).message}\nprometheus said:\n${log}`);
  });
  return server;
}
