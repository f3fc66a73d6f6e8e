// Starts a real InfluxDB 1.x (Debian's `influxdb` package) for a test: a
// temp config with every listener on a free loopback port, meta/data/wal in
// a temp dir, reporting and the internal monitor store off, HTTP auth on.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { freePort } from '../../../lib/testing/wait';

export const INFLUXD = process.env.INFLUXD ?? 'influxd';

/** null when influxd runs here, else why not. */
export function influxdMissing(): string | null {
  const r = spawnSync(INFLUXD, ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${INFLUXD} is not installed (Debian package 'influxdb'; .ci/run installs it): ${r.error?.message ?? r.stderr}`;
  return null;
}

export interface Influxd {
  port: number;
  url: string;
  dir: string;
  /** InfluxQL over POST /query as the admin user; throws on any error. */
  query(q: string, db?: string): Promise<any>;
  /** /debug/vars' httpd statistics (writeReq, pointsWrittenOK, ...). */
  httpStats(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export const ADMIN = { user: 'admin', password: 'admin-secret' };

export interface InfluxdOptions {
  /** Serve https with this certificate and key; the harness trusts `ca`. */
  tls?: { cert: string; key: string; ca: string };
}

/** One HTTP(S) call; the body parsed as JSON when there is one. */
function call(url: string, method: string, body: string, headers: Record<string, string>, ca?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? https : http).request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
        ca: ca ? fs.readFileSync(ca) : undefined,
        timeout: 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function startInfluxd(opts: InfluxdOptions = {}): Promise<Influxd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-influxd-'));
  let lastError = '';
  // A port taken between probing and binding makes influxd exit; try again with new ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    const [httpPort, rpcPort] = [await freePort(), await freePort()];
    const conf = path.join(dir, 'influxdb.conf');
    fs.writeFileSync(
      conf,
      [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${rpcPort}"`,
        '[meta]',
        `  dir = "${path.join(dir, 'meta')}"`,
        '[data]',
        `  dir = "${path.join(dir, 'data')}"`,
        `  wal-dir = "${path.join(dir, 'wal')}"`,
        '  query-log-enabled = false',
        '[monitor]',
        '  store-enabled = false',
        '[http]',
        '  enabled = true',
        `  bind-address = "127.0.0.1:${httpPort}"`,
        '  auth-enabled = true',
        '  log-enabled = false',
        ...(opts.tls ? ['  https-enabled = true', `  https-certificate = "${opts.tls.cert}"`, `  https-private-key = "${opts.tls.key}"`] : []),
        '[subscriber]',
        '  enabled = false',
        '[continuous_queries]',
        '  enabled = false',
        '',
      ].join('\n'),
    );
    const log = fs.openSync(path.join(dir, 'influxd.log'), 'a');
    const child: ChildProcess = spawn(INFLUXD, ['run', '-config', conf], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    let exited = false;
    child.once('exit', () => (exited = true));
    const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${httpPort}`;
    const ca = opts.tls?.ca;
    const end = Date.now() + 20000;
    let up = false;
    while (!exited && Date.now() < end) {
      try {
        if ((await call(`${url}/ping`, 'GET', '', {}, ca)).status === 204) {
          up = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!up) {
      if (!exited) child.kill('SIGKILL');
      lastError = fs.readFileSync(path.join(dir, 'influxd.log'), 'utf8').split('\n').slice(-5).join('\n');
      continue;
    }
    const auth = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
    const query = async (q: string, db?: string, withAuth = true) => {
      const body = new URLSearchParams({ q, ...(db ? { db } : {}) }).toString();
      const res = await call(
        `${url}/query`,
        'POST',
        body,
        { 'Content-Type': 'application/x-www-form-urlencoded', ...(withAuth ? { Authorization: auth } : {}) },
        ca,
      );
      const j = res.json;
      if (res.status !== 200 || j.error || (j.results ?? []).some((r: any) => r.error))
        throw new Error(`influx query '${q}' failed (${res.status}): ${JSON.stringify(j)}`);
      return j;
    };
    // With auth on and no users yet, InfluxDB allows exactly this one statement unauthenticated.
    await query(`CREATE USER ${ADMIN.user} WITH PASSWORD '${ADMIN.password}' WITH ALL PRIVILEGES`, undefined, false);
    return {
      port: httpPort,
      url,
      dir,
      query: (q, db) => query(q, db),
      async httpStats() {
        const vars = (await call(`${url}/debug/vars`, 'GET', '', { Authorization: auth }, ca)).json;
        const key = Object.keys(vars).find((k) => k.startsWith('httpd'));
        return key ? vars[key].values : {};
      },
      async stop() {
        if (!exited) {
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await gone;
          clearTimeout(t);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`influxd did not start: ${lastError}`);
}
