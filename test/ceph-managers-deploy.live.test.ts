// The deployment files' manager role, run as processes against the run's
// shared live cluster (no Docker engine or Kubernetes here): the compose
// override's standby service and daemon-server-x, and the Kubernetes
// standby Deployment and mgr StatefulSet's daemon-server container, each
// with its command and environment, /etc/ceph standing for a folder with the
// cluster's ceph.conf and admin keyring, addresses mapped to loopback. The
// monitors must name the manager active (mgr.x; mgr.mgr-0 for the
// StatefulSet's first pod), the standby service mirror it with the gRPC
// address the definition advertises, and the key got from the monitors must
// be stored 0600 where the definition keeps data: that proves the variable
// names, paths and ports.
import { keyringCredentials } from '../lib/auth/keys';
import { provisionKeyring } from '../lib/auth/provision';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { waitServing } from '../cli/start';
import { StandbyClient } from '../lib/standby-client';
import { describeCeph, sharedCephCluster, type CephCluster } from '../lib/testing/ceph-cluster';
import { freePort } from '../lib/testing/wait';
import { startClusterState } from '../services/cluster-state/server';
import { ROOT, until } from './launcher';

type Json = any;

function composeBin(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

describeCeph(__filename)('the deployment files run the manager role', () => {
  jest.setTimeout(300_000);
  let cluster: CephCluster;
  let release: (() => Promise<void>) | undefined;
  let tmp: string;
  let cs: Awaited<ReturnType<typeof startClusterState>>;
  const procs: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    release = await cluster.holdManagers('test/ceph-managers-deploy.live.test.ts');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-managers-deploy-'));
  });
  beforeEach(async () => {
    cs = await startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', dataDir: fs.mkdtempSync(path.join(tmp, 'cs-')) });
  });
  afterEach(async () => {
    // daemon-server first: as the active it resigns (mgr fail <gid>) on SIGTERM
    for (const p of procs.splice(0).reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue; // already gone (e.g. it failed to start)
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
    await cs.stop();
  });
  afterAll(async () => {
    await release?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs the image's entrypoint (node --import tsx) with `args` and `env`; /etc/ceph and /var/lib/mgrpc stand for local folders. */
  const run = (args: string[], env: Record<string, string>, cephDir: string, dataRoot: string) => {
    const local = (v: string) => v.split('/etc/ceph').join(cephDir).split('/var/lib/mgrpc').join(dataRoot);
    const p = spawn(process.execPath, ['--import', 'tsx', ...args.map(local)], {
      cwd: ROOT,
      env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, local(v)])), MGR_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    logs.set(p, '');
    p.stderr!.on('data', (d) => logs.set(p, (logs.get(p) + d).slice(-4000)));
    procs.push(p);
    return p;
  };
  /** The monitors name `name` active and available, and the standby service at `standby` mirrors it with `grpc` as its address. */
  const activeEverywhere = async (name: string, grpc: string, standby: string, ds: ChildProcess, keyring: string) => {
    await until(
      `the monitors to name mgr.${name} active`,
      async () => {
        if (ds.exitCode !== null) throw new Error(`daemon-server exited with ${ds.exitCode}: ${logs.get(ds)}`);
        const d = await cluster.ceph<{ active_name: string; available: boolean }>(['mgr', 'dump']);
        return d.active_name === name && d.available;
      },
      120_000,
    );
    const sb = new StandbyClient(standby, undefined, keyringCredentials(keyring, 'client.ro'));
    try {
      const m = await until('the standby service to mirror it', async () => {
        const { map } = await sb.getMgrMap().catch(() => ({ map: undefined }));
        return map?.activeName === name && map;
      });
      expect(m.activeAddrs?.daemonServer).toBe(grpc);
    } finally {
      sb.close();
    }
  };
  const storedKey = (dir: string, name: string) => {
    const file = path.join(dir, `ceph.mgr.${name}.keyring`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toContain(`[mgr.${name}]`);
  };
  /** A folder standing for /etc/ceph, with the cluster's conf and admin keyring under `keyringName`. */
  const etcCeph = (label: string, keyringName: string) => {
    const dir = path.join(tmp, label);
    fs.mkdirSync(dir);
    fs.copyFileSync(cluster.confPath, path.join(dir, 'ceph.conf'));
    fs.copyFileSync(cluster.keyringPath, path.join(dir, keyringName));
    return dir;
  };

  it('docker-compose.ceph.yml: standby (ceph backend) and daemon-server-x, as mgr.x, with /etc/ceph and the keys volume', async () => {
    const bin = composeBin();
    if (!bin) {
      if (process.env.CI === 'true') throw new Error('docker-compose is not installed (.ci/run installs it)');
      console.warn('docker-compose is not installed: the compose half of this test is skipped (.ci/run installs it)');
      return;
    }
    const cephDir = etcCeph('compose-etc-ceph', 'ceph.client.admin.keyring');
    const merged = yaml.load(
      execFileSync(bin, ['-f', path.join(ROOT, 'docker-compose.yml'), '-f', path.join(ROOT, 'docker-compose.ceph.yml'), 'config'], {
        encoding: 'utf8',
        env: { ...process.env, CEPH_DIR: cephDir, MGRPC_HOST_IP: '127.0.0.1' },
      }),
    ) as Json;
    const sbSvc = merged.services.standby;
    const dsSvc = merged.services['daemon-server-x'];
    // docker-compose 1.x prints volumes as 'source:target:mode', 2.x as objects
    const mounts = sbSvc.volumes.map((v: Json) => (typeof v === 'string' ? v.split(':').slice(0, 2) : [v.source, v.target]));
    expect(mounts).toContainEqual([cephDir, '/etc/ceph']);
    const dataRoot = path.join(tmp, 'compose-data');
    const [sbPort, dsPort, msgr2Port] = [await freePort(), await freePort(), await freePort()];
    run(
      sbSvc.command,
      { ...sbSvc.environment, MGR_HOST: '127.0.0.1', MGR_PORT: String(sbPort), MGR_METRICS_PORT: '-1', MGR_CLUSTER_STATE_ADDR: cs.address },
      cephDir,
      dataRoot,
    );
    expect(dsSvc.environment).toMatchObject({ MGR_ADVERTISE_ADDR: '127.0.0.1:7300', MGR_MSGR2_PORT: '6800', MGR_STANDBY_ADDR: 'standby:7200' });
    const grpc = `127.0.0.1:${dsPort}`;
    const ds = run(
      dsSvc.command,
      {
        ...dsSvc.environment,
        MGR_HOST: '127.0.0.1',
        MGR_PORT: String(dsPort),
        MGR_ADVERTISE_ADDR: grpc,
        MGR_MSGR2_PORT: String(msgr2Port),
        MGR_METRICS_PORT: '-1',
        MGR_CLUSTER_STATE_ADDR: cs.address,
        MGR_STANDBY_ADDR: `127.0.0.1:${sbPort}`,
        MGR_MODULE_HOST_ADDR: '',
      },
      cephDir,
      dataRoot,
    );
    await activeEverywhere('x', grpc, `127.0.0.1:${sbPort}`, ds, path.join(dataRoot, 'keys/keyring'));
    storedKey(path.join(dataRoot, 'keys/daemon-server-x'), 'x');
    // its compose healthcheck, with the container's port mapped to the local one
    const check = (dsSvc.healthcheck.test as string[]).slice(1).map((t) => t.replace('127.0.0.1:7300', grpc));
    expect(execFileSync(check[0], check.slice(1), { cwd: ROOT, timeout: 30_000, stdio: 'ignore' })).toBeDefined();
  });

  it('deploy/k8s: the standby Deployment (ceph backend) and the mgr StatefulSet’s daemon-server, as mgr.mgr-0, with the Secret mgrpc-ceph', async () => {
    const load = (f: string) => yaml.loadAll(fs.readFileSync(path.join(ROOT, 'deploy/k8s', f), 'utf8')) as Json[];
    const configMap = load('configmap.yaml').find((o) => o.kind === 'ConfigMap').data;
    const sbC = load('standby.yaml').find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
    const sts = load('mgr.yaml').find((o) => o.kind === 'StatefulSet');
    const dsC = sts.spec.template.spec.containers.find((c: Json) => c.name === 'daemon-server');
    // the Secret as the README creates it: keys ceph.conf and keyring
    const cephDir = etcCeph('k8s-etc-ceph', 'keyring');
    const dataRoot = path.join(tmp, 'k8s-data');
    const pod = `${sts.metadata.name}-0`;
    /** A container's environment: the ConfigMap, then its env with the downward API and $(VAR) references resolved. */
    const envOf = (c: Json) => {
      const env: Record<string, string> = { ...configMap };
      for (const e of c.env) {
        const v = e.valueFrom?.fieldRef ? { 'metadata.name': pod, 'status.podIP': '127.0.0.1' }[e.valueFrom.fieldRef.fieldPath as string] : e.value;
        env[e.name] = String(v).replace(/\$\((\w+)\)/g, (_, k) => env[k]);
      }
      return env;
    };
    const [sbPort, dsPort, msgr2Port] = [await freePort(), await freePort(), await freePort()];
    const tmpDir = path.join(dataRoot, 'tmp');
    fs.mkdirSync(tmpDir, { recursive: true });
    run(
      sbC.args,
      {
        ...envOf(sbC),
        MGR_HOST: '127.0.0.1',
        MGR_PORT: String(sbPort),
        MGR_METRICS_PORT: '-1',
        MGR_CLUSTER_STATE_ADDR: cs.address,
        MGR_DATA_DIR: path.join(tmpDir, 'standby'),
        MGR_KEYRING: path.join(dataRoot, 'mgrpc-keyring'),
      },
      cephDir,
      dataRoot,
    );
    const dsEnv = envOf(dsC);
    expect(dsEnv).toMatchObject({
      MGR_NAME: 'mgr-0',
      MGR_ADVERTISE_ADDR: '127.0.0.1:7300',
      MGR_CEPH_KEYRING: '/etc/ceph/keyring',
      MGR_DATA_DIR: '/tmp/daemon-server',
    });
    const grpc = `127.0.0.1:${dsPort}`;
    // mgrpc's own keyring (the Secret mgrpc-keyring, read-only in the pod), made as the README says
    const mgrpcKeyring = path.join(dataRoot, 'mgrpc-keyring');
    provisionKeyring(mgrpcKeyring, [pod]);
    const ds = run(
      dsC.args,
      {
        ...dsEnv,
        MGR_HOST: '127.0.0.1',
        MGR_PORT: String(dsPort),
        MGR_ADVERTISE_ADDR: grpc,
        MGR_MSGR2_PORT: String(msgr2Port),
        MGR_METRICS_PORT: '-1',
        MGR_CLUSTER_STATE_ADDR: cs.address,
        MGR_STANDBY_ADDR: `127.0.0.1:${sbPort}`,
        MGR_MODULE_HOST_ADDR: '',
        MGR_KEYRING: mgrpcKeyring,
        MGR_DATA_DIR: path.join(tmpDir, 'daemon-server'),
      },
      cephDir,
      dataRoot,
    );
    await activeEverywhere(pod, grpc, `127.0.0.1:${sbPort}`, ds, mgrpcKeyring);
    storedKey(path.join(tmpDir, 'daemon-server'), pod);
    // the readiness probe: DaemonServerService SERVING on the active only
    expect(dsC.readinessProbe.grpc).toEqual({ port: 7300, service: 'ceph.mgr.v1.DaemonServerService' });
    await waitServing(grpc, 60_000, ds);
    await cluster.run(['auth', 'rm', `mgr.${pod}`]);
  });
});
