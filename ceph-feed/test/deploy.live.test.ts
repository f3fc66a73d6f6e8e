// The deployment files' ceph-feed, run as processes against the run's shared
// live cluster (no Docker engine or Kubernetes here): the compose override's
// service with its command, environment, mounted /etc/ceph and healthcheck;
// the Kubernetes Deployment's args, ConfigMap and container environment and
// the Secrets' files. Both run mutual TLS: the certificates (as `mgrctl
// certs` makes them) stand in a folder mapped to the container's TLS path,
// and cluster-state serves TLS requiring client certificates. Each must
// bring the real osd map into cluster-state and pass its own health probe
// (over TLS, with its certificate), which proves the variable names, paths
// and ports.
import { provisionCerts } from '../../lib/auth/certs';
import { provisionKeyring } from '../../lib/auth/provision';
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { describeCeph, sharedCephCluster, type CephCluster } from '../../lib/testing/ceph-cluster';
import { freePort, until } from '../../lib/testing/wait';
import { startTestServer } from '../../services/cluster-state/test/helpers';

const ROOT = path.resolve(__dirname, '../..');
type Json = any;

describeCeph('deploy.live.test.ts')('ceph-feed as the deployment files run it', () => {
  jest.setTimeout(300000);
  let cluster: CephCluster;
  let cs: Awaited<ReturnType<typeof startTestServer>>;
  let tmp: string;
  /** The certificates of the names both deployment files use (the compose certs service's, the Secret mgrpc-tls). */
  let tlsDir: string;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ceph-feed-deploy-'));
    tlsDir = path.join(tmp, 'tls');
    provisionCerts(tlsDir, ['cluster-state', 'ceph-feed']);
  });
  beforeEach(async () => {
    // cluster-state as the deployment files run it: mutual TLS
    const file = (f: string) => path.join(tlsDir, f);
    cs = await startTestServer({ tls: { ca: file('ca.crt'), cert: file('cluster-state.crt'), key: file('cluster-state.key'), clientAuth: true } });
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
    await cs.close();
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /**
   * Runs the image's entrypoint (node --import tsx) with `args` and `env`,
   * each container path of `mounts` standing for its local folder. Returns
   * the process, its log and its environment as run (for its health probe).
   */
  const run = (args: string[], env: Record<string, string>, mounts: Record<string, string>) => {
    const local = (v: string) => Object.entries(mounts).reduce((s, [inside, dir]) => s.split(inside).join(dir), v);
    const runEnv = { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, local(v)])), MGR_LOG_LEVEL: 'warn' };
    const p = spawn(process.execPath, ['--import', 'tsx', ...args.map(local)], { cwd: ROOT, env: runEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
    procs.push(p);
    return { p, err: () => err, env: runEnv };
  };
  /** Runs a health probe (`node dist/cli/healthcheck.js ...`) until it passes, with the container's environment. */
  const probePasses = (what: string, argv: string[], env: NodeJS.ProcessEnv, err: () => string) =>
    until(what, () => spawnSync(process.execPath, argv, { cwd: ROOT, env, timeout: 20000 }).status === 0).catch((e) => {
      throw new Error(`${(e as Error).message}\n${err()}`);
    });
  const composeTls = {
    MGR_TLS_CA: '/var/lib/mgrpc/tls/ca.crt',
    MGR_TLS_CERT: '/var/lib/mgrpc/tls/ceph-feed.crt',
    MGR_TLS_KEY: '/var/lib/mgrpc/tls/ceph-feed.key',
    MGR_TLS_CLIENT_AUTH: 'true',
  };
  const osdMapIn = () =>
    until('the real osd map in cluster-state', async () => {
      const m = JSON.parse(Buffer.from((await cs.client.get({ what: 'osd_map' })).json).toString('utf8'));
      return m.fsid === cluster.fsid && m;
    });

  it('docker-compose.ceph.yml: the ceph-feed service with /etc/ceph mounted passes its healthcheck and feeds cluster-state', async () => {
    const svc = (yaml.load(fs.readFileSync(path.join(ROOT, 'docker-compose.ceph.yml'), 'utf8')) as Json).services['ceph-feed'];
    // CEPH_DIR holds what an operator has in /etc/ceph
    const cephDir = path.join(tmp, 'compose-etc-ceph');
    fs.mkdirSync(cephDir);
    fs.copyFileSync(cluster.confPath, path.join(cephDir, 'ceph.conf'));
    fs.copyFileSync(cluster.keyringPath, path.join(cephDir, 'ceph.client.admin.keyring'));
    expect(svc.volumes).toEqual(['${CEPH_DIR:-/etc/ceph}:/etc/ceph:ro', 'mgrpc-keys:/var/lib/mgrpc/keys', 'mgrpc-tls:/var/lib/mgrpc/tls:ro']);
    // the TLS volume: the certs service's CA and ceph-feed's certificate
    expect(svc.environment).toMatchObject(composeTls);
    const port = await freePort();
    const env: Record<string, string> = { ...svc.environment, MGR_HOST: '127.0.0.1', MGR_PORT: String(port), MGR_METRICS_PORT: '-1' };
    expect(env.MGR_CLUSTER_STATE_ADDR).toBe('cluster-state:7100');
    env.MGR_CLUSTER_STATE_ADDR = cs.handle.address;
    // the keys volume: mgrpc's keyring, with the feed's own entity
    expect(env.MGR_KEYRING).toBe('/var/lib/mgrpc/keys/keyring');
    env.MGR_KEYRING = path.join(tmp, 'compose-keyring');
    provisionKeyring(env.MGR_KEYRING);
    const { p, err, env: runEnv } = run(svc.command, env, { '/etc/ceph': cephDir, '/var/lib/mgrpc/tls': tlsDir });
    await osdMapIn();
    // its healthcheck, with the container's port mapped to the local one and its certificate
    const check = (svc.healthcheck.test as string[]).slice(1).map((t) => t.replace('127.0.0.1:7600', `127.0.0.1:${port}`));
    expect(check[0]).toBe('node');
    await probePasses('the compose healthcheck to pass', check.slice(1), runEnv, err);
    // it serves mutual TLS: a probe without a certificate is refused
    const noCert = spawnSync(process.execPath, check.slice(1), { cwd: ROOT, env: { ...runEnv, MGR_TLS_CERT: '', MGR_TLS_KEY: '' }, timeout: 20000 });
    expect([noCert.status, String(noCert.stdout)]).toEqual([1, expect.stringContaining('unreachable')]);
    expect(p.exitCode).toBeNull();
  });

  it('deploy/k8s/ceph-feed.yaml: the Deployment with the ConfigMap and the Secrets’ files becomes ready and feeds cluster-state', async () => {
    const load = (f: string) => yaml.loadAll(fs.readFileSync(path.join(ROOT, 'deploy/k8s', f), 'utf8')) as Json[];
    const deployment = load('ceph-feed.yaml').find((o) => o.kind === 'Deployment');
    const configMap = load('configmap.yaml').find((o) => o.kind === 'ConfigMap');
    const kustomization = yaml.load(fs.readFileSync(path.join(ROOT, 'deploy/k8s/kustomization.yaml'), 'utf8')) as Json;
    expect(kustomization.resources).toContain('ceph-feed.yaml');
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0];
    /** The Secret mounted at `mountPath` in the container. */
    const secretAt = (mountPath: string) => {
      const mount = c.volumeMounts.find((m: Json) => m.mountPath === mountPath);
      return pod.volumes.find((v: Json) => v.name === mount?.name)?.secret?.secretName;
    };
    expect(secretAt('/etc/ceph')).toBe('mgrpc-ceph');
    expect(secretAt('/etc/mgrpc/tls')).toBe('mgrpc-tls');
    // the Secret as the README creates it: keys ceph.conf and keyring
    const cephDir = path.join(tmp, 'k8s-etc-ceph');
    fs.mkdirSync(cephDir);
    fs.copyFileSync(cluster.confPath, path.join(cephDir, 'ceph.conf'));
    fs.copyFileSync(cluster.keyringPath, path.join(cephDir, 'keyring'));
    const port = await freePort();
    const env: Record<string, string> = { ...configMap.data, ...Object.fromEntries(c.env.map((e: Json) => [e.name, e.value])) };
    expect(env).toMatchObject({
      MGR_CEPH_NAME: 'client.admin',
      MGR_CEPH_CONF: '/etc/ceph/ceph.conf',
      MGR_CEPH_KEYRING: '/etc/ceph/keyring',
      MGR_CLUSTER_STATE_ADDR: 'cluster-state:7100',
      // the Secret mgrpc-tls, as `mgrctl certs` makes it (CA and client auth from the ConfigMap)
      MGR_TLS_CA: '/etc/mgrpc/tls/ca.crt',
      MGR_TLS_CERT: '/etc/mgrpc/tls/ceph-feed.crt',
      MGR_TLS_KEY: '/etc/mgrpc/tls/ceph-feed.key',
      MGR_TLS_CLIENT_AUTH: 'true',
    });
    // the readiness probe runs the image's health command with the container's certificate
    const probe = c.readinessProbe.exec.command as string[];
    expect(probe).toEqual(['node', '/app/dist/cli/healthcheck.js', `127.0.0.1:${env.MGR_PORT}`]);
    // the Secret mgrpc-keyring, as `mgrctl keyring` makes it
    expect(env.MGR_KEYRING).toBe('/etc/mgrpc/keyring/keyring');
    const keyring = path.join(tmp, 'k8s-keyring');
    provisionKeyring(keyring, ['mgr-0', 'mgr-1']);
    Object.assign(env, {
      MGR_HOST: '127.0.0.1',
      MGR_PORT: String(port),
      MGR_METRICS_PORT: '-1',
      MGR_CLUSTER_STATE_ADDR: cs.handle.address,
      MGR_KEYRING: keyring,
    });
    const { p, err, env: runEnv } = run(c.args, env, { '/etc/ceph': cephDir, '/etc/mgrpc/tls': tlsDir });
    await osdMapIn();
    await probePasses('the readiness probe to pass', [path.join(ROOT, probe[1].replace(/^\/app\//, '')), `127.0.0.1:${port}`], runEnv, err);
    expect(p.exitCode).toBeNull();
  });
});
