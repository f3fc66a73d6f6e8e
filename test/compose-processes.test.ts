// docker-compose.yml, run as processes: no Docker engine runs here, so this
// test reads the compose file and starts each service's command with that
// service's environment on loopback (service names mapped to 127.0.0.1, each
// container port to a free local port, volumes to temporary folders), in
// depends_on order, waiting for each healthcheck command to pass. It proves
// the wiring (variable names, ports, addresses, health commands), not just
// the syntax.
import { spawn, spawnSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { freePort, until } from '../lib/testing/wait';
import { describeWith } from '../lib/testing/external';

const ROOT = path.resolve(__dirname, '..');
const ETCD = ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => fs.existsSync(p));

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

/** Rewrites one service's command and environment for loopback. */
class LoopbackMap {
  // Promises, not numbers: the parts of a command are rewritten
  // concurrently, and all of them must get the same port for a name:port.
  private ports = new Map<string, Promise<number>>();
  constructor(
    private services: Record<string, ComposeService>,
    private tmp: string,
  ) {}

  async port(svc: string, port: number): Promise<number> {
    const key = `${svc}:${port}`;
    if (!this.ports.has(key)) this.ports.set(key, freePort());
    return this.ports.get(key)!;
  }

  /** Every `name:port` of another service, and `0.0.0.0:port` of this one. */
  async rewrite(svc: string, value: string): Promise<string> {
    const names = Object.keys(this.services).join('|');
    const re = new RegExp(`\\b(${names}|0\\.0\\.0\\.0):(\\d+)\\b`, 'g');
    const found = [...value.matchAll(re)];
    let out = value;
    for (const m of found) {
      const target = m[1] === '0.0.0.0' ? svc : m[1];
      out = out.replace(m[0], `127.0.0.1:${await this.port(target, Number(m[2]))}`);
    }
    // Volumes: a named volume's mount path becomes a shared temporary folder, a bind mount (./file) the repository's file.
    for (const v of this.services[svc].volumes ?? []) {
      const [name, mount] = v.split(':');
      out = out.split(mount).join(name.startsWith('./') ? path.join(ROOT, name) : path.join(this.tmp, 'volumes', name));
    }
    return out.split('/var/lib/mgrpc').join(path.join(this.tmp, svc));
  }
}

function order(services: Record<string, ComposeService>): string[] {
  const out: string[] = [];
  const visit = (s: string) => {
    if (out.includes(s)) return;
    for (const dep of Object.keys(services[s].depends_on ?? {})) visit(dep);
    out.push(s);
  };
  Object.keys(services).forEach(visit);
  return out;
}

/** Whether the healthcheck command passes within `deadlineMs` (run again every 300 ms until then). */
async function healthy(cmd: string[], env: NodeJS.ProcessEnv, deadlineMs: number): Promise<boolean> {
  const passes = () => spawnSync(cmd[0], cmd.slice(1), { cwd: ROOT, env, stdio: 'ignore', timeout: 10000 }).status === 0;
  return until(`healthcheck ${cmd.join(' ')}`, passes, deadlineMs, 300).then(
    () => true,
    () => false,
  );
}

const describeIfEtcd = describeWith(!ETCD && 'etcd is not installed', "install Debian's etcd-server (.ci/run does)");

describeIfEtcd('docker-compose.yml as processes on loopback', () => {
  const compose = yaml.load(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };
  // js-yaml 5 leaves YAML merge keys (`<<: *mgrpc`) as they are; docker-compose resolves them.
  const services = Object.fromEntries(
    Object.entries(compose.services).map(([name, svc]) => {
      const { '<<': base, ...own } = svc as ComposeService & { '<<'?: ComposeService | ComposeService[] };
      return [name, Object.assign({}, ...[base ?? []].flat(), own) as ComposeService];
    }),
  );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-compose-'));
  const map = new LoopbackMap(services, tmp);
  const procs: Array<{ name: string; proc: ChildProcess; log: string }> = [];
  const envOf = new Map<string, NodeJS.ProcessEnv>();

  beforeAll(() => {
    // The image runs the build; so does this test.
    if (!fs.existsSync(path.join(ROOT, 'dist/services/cluster-state/main.js')))
      throw new Error('dist/ is not built: run `npm run build` (npm ci and npm test do)');
  });

  afterAll(async () => {
    for (const { proc } of procs.reverse()) {
      if (proc.exitCode === null && !proc.signalCode) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
        if (proc.exitCode === null && !proc.signalCode) proc.kill('SIGKILL');
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('starts every service in depends_on order and each passes its healthcheck', async () => {
    fs.mkdirSync(path.join(tmp, 'volumes'), { recursive: true });
    for (const name of order(services)) {
      const svc = services[name];
      for (const v of svc.volumes ?? []) if (!v.startsWith('./')) fs.mkdirSync(path.join(tmp, 'volumes', v.split(':')[0]), { recursive: true });
      fs.mkdirSync(path.join(tmp, name), { recursive: true });
      const env: NodeJS.ProcessEnv = { ...process.env, MGR_HOST: '127.0.0.1', MGR_DATA_DIR: path.join(tmp, name), MGR_LOG_LEVEL: 'warn' };
      for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = await map.rewrite(name, String(v));
      // The ports a container listens on become free local ports.
      for (const k of ['MGR_PORT', 'MGR_METRICS_PORT', 'SIM_MON_PORT'])
        if (env[k] && svc.environment?.[k]) env[k] = String(await map.port(name, Number(svc.environment[k])));
      // Our image's entrypoint is `node`, its commands the build's JavaScript (dist/); etcd is Debian's binary;
      // a shell script in the etcd image runs with Debian's etcdctl.
      const command = await Promise.all((svc.command ?? []).map((c) => map.rewrite(name, c)));
      const argv = svc.image?.startsWith('mgrpc') ? [process.execPath, ...command] : command[0] === 'etcd' ? [ETCD!, ...command.slice(1)] : command;
      const log = path.join(tmp, `${name}.log`);
      const fd = fs.openSync(log, 'a');
      const proc = spawn(argv[0], argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', fd, fd] });
      procs.push({ name, proc, log });
      envOf.set(name, env);
      // A one-shot service (certs, etcd-auth) others wait for to complete.
      if (Object.values(services).some((s) => s.depends_on?.[name]?.condition === 'service_completed_successfully')) {
        const code = await new Promise<number | null>((resolve) => {
          const t = setTimeout(() => resolve(null), 60000);
          proc.once('exit', (c) => {
            clearTimeout(t);
            resolve(c);
          });
        });
        if (code !== 0) throw new Error(`${name} did not complete (exit ${code}); log:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
      }
      if (svc.healthcheck) {
        let test = await Promise.all(svc.healthcheck.test.slice(1).map((t) => map.rewrite(name, t)));
        if (test[0] === 'etcdctl') test = [path.join(path.dirname(ETCD!), 'etcdctl'), ...test.slice(1)];
        if (test[0] === 'node') test = [process.execPath, ...test.slice(1)];
        // In a healthcheck, 127.0.0.1:PORT is the container's own port.
        test = await Promise.all(
          test.map(async (t) => {
            const m = t.match(/127\.0\.0\.1:(\d+)/);
            return m ? t.replace(m[0], `127.0.0.1:${await map.port(name, Number(m[1]))}`) : t;
          }),
        );
        const ok = await healthy(test, env, 60000);
        if (!ok) throw new Error(`${name} did not pass its healthcheck (${test.join(' ')}); log:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
      }
    }
    expect(procs.map((p) => p.name)).toEqual(
      expect.arrayContaining(['certs', 'etcd', 'etcd-auth', 'cluster-state', 'standby', 'daemon-server-x', 'daemon-server-y', 'sim']),
    );
    expect(fs.readFileSync(path.join(tmp, 'etcd-auth.log'), 'utf8')).toContain('etcd-auth: authentication on');
  }, 240000);

  it('every service serves mutual TLS: a client without a certificate is refused, etcd is https with its own authentication', async () => {
    const cs = envOf.get('cluster-state')!;
    const address = `127.0.0.1:${cs.MGR_PORT}`;
    const health = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ['dist/cli/healthcheck.js', address], { cwd: ROOT, env, encoding: 'utf8', timeout: 15000 });
    const tlsEnv = { MGR_TLS_CA: cs.MGR_TLS_CA, MGR_TLS_CERT: cs.MGR_TLS_CERT, MGR_TLS_KEY: cs.MGR_TLS_KEY };
    expect(health({ ...process.env, ...tlsEnv }).stdout).toContain('SERVING');
    const plain = health({ ...process.env, MGR_TLS_CA: '', MGR_TLS_CERT: '', MGR_TLS_KEY: '' });
    expect([plain.status, plain.stdout]).toEqual([1, expect.stringContaining('unreachable')]);
    const noCert = health({ ...process.env, MGR_TLS_CA: cs.MGR_TLS_CA, MGR_TLS_CERT: '', MGR_TLS_KEY: '' });
    expect([noCert.status, noCert.stdout]).toEqual([1, expect.stringContaining('unreachable')]);
    // etcd: only root may list its users now.
    const sb = envOf.get('standby')!;
    expect(sb.MGR_ETCD_ENDPOINTS).toMatch(/^https:\/\//);
    const etcdctl = path.join(path.dirname(ETCD!), 'etcdctl');
    const tlsArgs = [
      `--endpoints=${sb.MGR_ETCD_ENDPOINTS}`,
      `--cacert=${sb.MGR_ETCD_CA}`,
      `--cert=${sb.MGR_ETCD_CERT}`,
      `--key=${sb.MGR_ETCD_KEY}`,
      '--command-timeout=5s',
    ];
    const asNobody = spawnSync(etcdctl, [...tlsArgs, 'user', 'list'], { encoding: 'utf8', timeout: 15000, env: { ...process.env, ETCDCTL_API: '3' } });
    expect(asNobody.status).not.toBe(0);
    expect(asNobody.stderr).toMatch(/user name not found|permission denied/);
    const password = fs.readFileSync(sb.MGR_ETCD_PASSWORD_FILE!, 'utf8').trim();
    const asStandby = spawnSync(etcdctl, [...tlsArgs, `--user=mgrpc-standby:${password}`, 'get', '--prefix', '/mgrpc/standby/', '--keys-only'], {
      encoding: 'utf8',
      timeout: 15000,
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    expect(asStandby.stdout).toContain('/mgrpc/standby/mgrmap');
  }, 60000);

  it('answers mgrctl through the wiring: one active, one standby, the simulated cluster', async () => {
    const ds = envOf.get('daemon-server-x')!;
    const env = {
      ...process.env,
      MGR_STANDBY_ADDR: ds.MGR_STANDBY_ADDR,
      MGR_CLUSTER_STATE_ADDR: ds.MGR_CLUSTER_STATE_ADDR,
      MGR_KEYRING: ds.MGR_KEYRING,
      // mgrctl inside a container: the container's own certificate.
      MGR_TLS_CA: ds.MGR_TLS_CA,
      MGR_TLS_CERT: ds.MGR_TLS_CERT,
      MGR_TLS_KEY: ds.MGR_TLS_KEY,
    };
    // bin/mgrctl runs the build (dist/cli/mgrctl.js), as in the image.
    const mgrctl = (...args: string[]) => spawnSync(path.join(ROOT, 'bin/mgrctl'), args, { cwd: ROOT, env, encoding: 'utf8', timeout: 30000 });
    const dump = await until(
      'mgr dump naming an active and a standby',
      () => {
        const r = mgrctl('mgr', 'dump', '--format', 'json');
        const d = r.status === 0 ? JSON.parse(r.stdout) : null;
        return d?.active_name && d?.standbys?.length ? d : null;
      },
      30000,
      500,
    );
    expect(dump.active_name).toMatch(/^[xy]$/);
    expect(dump.standbys.map((s: any) => s.name)).toEqual([dump.active_name === 'x' ? 'y' : 'x']);
    const osds = await until(
      'the simulated OSD map in cluster-state',
      () => {
        const r = mgrctl('get', 'osd_map');
        return r.status === 0 ? (JSON.parse(r.stdout).osds.length as number) : 0;
      },
      30000,
      500,
    );
    expect(osds).toBe(Number(services.sim.environment!.SIM_OSDS));
    const hello = mgrctl('hello');
    expect(hello.stdout + hello.stderr).toContain('Hello World');
  }, 90000);
});
