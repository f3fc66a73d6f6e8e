// The deployment files' ceph-feed, run as processes against the run's shared
// live cluster (no Docker engine or Kubernetes here): the compose override's
// service with its command, environment, mounted /etc/ceph and healthcheck;
// the Kubernetes Deployment's args, ConfigMap and container environment and
// the Secret's files. Each must bring the real osd map into cluster-state
// and report SERVING, which proves the variable names, paths and ports.
import { provisionKeyring } from '../../lib/auth/provision';
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { waitServing } from '../../cli/start';
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
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ceph-feed-deploy-'));
  });
  beforeEach(async () => {
    cs = await startTestServer();
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

  /** Runs the image's entrypoint (node --import tsx) with `args` and `env`, with /etc/ceph standing for `cephDir`. */
  const run = (args: string[], env: Record<string, string>, cephDir: string) => {
    const local = (v: string) => v.split('/etc/ceph').join(cephDir);
    const p = spawn(process.execPath, ['--import', 'tsx', ...args.map(local)], {
      cwd: ROOT,
      env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, local(v)])), MGR_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
    procs.push(p);
    return { p, err: () => err };
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
    expect(svc.volumes).toEqual(['${CEPH_DIR:-/etc/ceph}:/etc/ceph:ro', 'mgrpc-keys:/var/lib/mgrpc/keys']);
    const port = await freePort();
    const env: Record<string, string> = { ...svc.environment, MGR_HOST: '127.0.0.1', MGR_PORT: String(port), MGR_METRICS_PORT: '-1' };
    expect(env.MGR_CLUSTER_STATE_ADDR).toBe('cluster-state:7100');
    env.MGR_CLUSTER_STATE_ADDR = cs.handle.address;
    // the keys volume: mgrpc's keyring, with the feed's own entity
    expect(env.MGR_KEYRING).toBe('/var/lib/mgrpc/keys/keyring');
    env.MGR_KEYRING = path.join(tmp, 'compose-keyring');
    provisionKeyring(env.MGR_KEYRING);
    const { p, err } = run(svc.command, env, cephDir);
    await osdMapIn();
    // its healthcheck, with the container's port mapped to the local one
    const check = (svc.healthcheck.test as string[]).slice(1).map((t) => t.replace('127.0.0.1:7600', `127.0.0.1:${port}`));
    await until('the compose healthcheck to pass', () => spawnSync(process.execPath, check.slice(1), { cwd: ROOT, timeout: 20000 }).status === 0).catch((e) => {
      throw new Error(`${(e as Error).message}\n${err()}`);
    });
    expect(p.exitCode).toBeNull();
  });

  it('deploy/k8s/ceph-feed.yaml: the Deployment with the ConfigMap and the Secret’s files becomes ready and feeds cluster-state', async () => {
    const load = (f: string) => yaml.loadAll(fs.readFileSync(path.join(ROOT, 'deploy/k8s', f), 'utf8')) as Json[];
    const deployment = load('ceph-feed.yaml').find((o) => o.kind === 'Deployment');
    const configMap = load('configmap.yaml').find((o) => o.kind === 'ConfigMap');
    const kustomization = yaml.load(fs.readFileSync(path.join(ROOT, 'deploy/k8s/kustomization.yaml'), 'utf8')) as Json;
    expect(kustomization.resources).toContain('ceph-feed.yaml');
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0];
    const secret = pod.volumes.find((v: Json) => v.secret).secret.secretName;
    expect(secret).toBe('mgrpc-ceph');
    expect(c.volumeMounts.find((m: Json) => m.name === pod.volumes.find((v: Json) => v.secret).name).mountPath).toBe('/etc/ceph');
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
    });
    expect(c.readinessProbe.grpc.port).toBe(Number(env.MGR_PORT));
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
    const { p } = run(c.args, env, cephDir);
    await osdMapIn();
    await waitServing(`127.0.0.1:${port}`, 60000, p);
  });
});
