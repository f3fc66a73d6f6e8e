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
// names, paths and ports. Every service runs mutual TLS as the files set it:
// the certificates (as `mgrctl certs` makes them, with the names each file
// uses) stand in a folder mapped to the container's TLS path, cluster-state
// serves TLS requiring client certificates, and the health probes run with
// the container's own certificate.
import { provisionCerts } from '../lib/auth/certs';
import { keyringCredentials } from '../lib/auth/keys';
import { provisionKeyring } from '../lib/auth/provision';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import type { TlsOptions } from '../lib/server';
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
  /** cluster-state as the deployment files run it: mutual TLS with the certificates in `tlsDir`. */
  const startCs = async (tlsDir: string) => {
    const file = (f: string) => path.join(tlsDir, f);
    const tls = { ca: file('ca.crt'), cert: file('cluster-state.crt'), key: file('cluster-state.key'), clientAuth: true };
    cs = await startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', tls, dataDir: fs.mkdtempSync(path.join(tmp, 'cs-')) });
  };
  afterEach(async () => {
    // daemon-server first: as the active it resigns (mgr fail <gid>) on SIGTERM
    for (const p of procs.splice(0).reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue; // already gone (e.g. it failed to start)
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
    await cs?.stop();
  });
  afterAll(async () => {
    await release?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A container's environment with each container path of `mounts` (e.g. /etc/ceph) standing for its local folder. */
  const localEnv = (env: Record<string, string>, mounts: Record<string, string>): NodeJS.ProcessEnv => {
    const local = (v: string) => Object.entries(mounts).reduce((s, [inside, dir]) => s.split(inside).join(dir), v);
    return { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, local(v)])), MGR_LOG_LEVEL: 'warn' };
  };
  /** Runs the image's entrypoint (node --import tsx) with `args` and `env`, `mounts` mapped as localEnv does. */
  const run = (args: string[], env: Record<string, string>, mounts: Record<string, string>) => {
    const p = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: localEnv(env, mounts), stdio: ['ignore', 'ignore', 'pipe'] });
    logs.set(p, '');
    p.stderr!.on('data', (d) => logs.set(p, (logs.get(p) + d).slice(-4000)));
    procs.push(p);
    return p;
  };
  /** A container's TLS settings as a client uses them (its own certificate). */
  const tlsOf = (env: NodeJS.ProcessEnv): TlsOptions => ({ ca: env.MGR_TLS_CA, cert: env.MGR_TLS_CERT, key: env.MGR_TLS_KEY });
  /** Runs a health probe (`node dist/cli/healthcheck.js ...`) until it passes, with the container's environment. */
  const probePasses = (what: string, argv: string[], env: NodeJS.ProcessEnv, p: ChildProcess) =>
    until(
      what,
      () => {
        if (p.exitCode !== null) throw new Error(`exited with ${p.exitCode}: ${logs.get(p)}`);
        return spawnSync(process.execPath, argv, { cwd: ROOT, env, timeout: 20_000 }).status === 0;
      },
      60_000,
    );
  /** The monitors name `name` active and available, and the standby service at `standby` mirrors it with `grpc` as its address. */
  const activeEverywhere = async (name: string, grpc: string, standby: string, ds: ChildProcess, keyring: string, tls: TlsOptions) => {
    await until(
      `the monitors to name mgr.${name} active`,
      async () => {
        if (ds.exitCode !== null) throw new Error(`daemon-server exited with ${ds.exitCode}: ${logs.get(ds)}`);
        const d = await cluster.ceph<{ active_name: string; available: boolean }>(['mgr', 'dump']);
        return d.active_name === name && d.available;
      },
      120_000,
    );
    const sb = new StandbyClient(standby, tls, keyringCredentials(keyring, 'client.ro'));
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
    // the TLS volume the certs service fills: its CA and one certificate per service name
    for (const svc of [sbSvc, dsSvc]) {
      const m = svc.volumes.map((v: Json) => (typeof v === 'string' ? v.split(':').slice(0, 2) : [v.source, v.target]));
      expect(m).toContainEqual(['mgrpc-tls', '/var/lib/mgrpc/tls']);
    }
    const tlsEnv = (name: string) => ({
      MGR_TLS_CA: '/var/lib/mgrpc/tls/ca.crt',
      MGR_TLS_CERT: `/var/lib/mgrpc/tls/${name}.crt`,
      MGR_TLS_KEY: `/var/lib/mgrpc/tls/${name}.key`,
      MGR_TLS_CLIENT_AUTH: 'true',
    });
    expect(sbSvc.environment).toMatchObject(tlsEnv('standby'));
    expect(dsSvc.environment).toMatchObject(tlsEnv('daemon-server-x'));
    const names = ['cluster-state', 'standby', 'daemon-server-x'];
    expect(merged.services.certs.command.slice(0, 3)).toEqual(['dist/cli/mgrctl.js', 'certs', '/var/lib/mgrpc/tls']);
    expect(merged.services.certs.command).toEqual(expect.arrayContaining(names));
    const dataRoot = path.join(tmp, 'compose-data');
    provisionCerts(path.join(dataRoot, 'tls'), names);
    await startCs(path.join(dataRoot, 'tls'));
    const composeMounts = { '/etc/ceph': cephDir, '/var/lib/mgrpc': dataRoot };
    const [sbPort, dsPort, msgr2Port] = [await freePort(), await freePort(), await freePort()];
    run(
      sbSvc.command,
      { ...sbSvc.environment, MGR_HOST: '127.0.0.1', MGR_PORT: String(sbPort), MGR_METRICS_PORT: '-1', MGR_CLUSTER_STATE_ADDR: cs.address },
      composeMounts,
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
      composeMounts,
    );
    const dsEnv = localEnv(dsSvc.environment, composeMounts);
    await activeEverywhere('x', grpc, `127.0.0.1:${sbPort}`, ds, path.join(dataRoot, 'keys/keyring'), tlsOf(dsEnv));
    storedKey(path.join(dataRoot, 'keys/daemon-server-x'), 'x');
    // its compose healthcheck, with the container's port mapped to the local one and its certificate
    const check = (dsSvc.healthcheck.test as string[]).slice(1).map((t) => t.replace('127.0.0.1:7300', grpc));
    expect(check[0]).toBe('node');
    await probePasses('the compose healthcheck to pass', check.slice(1), dsEnv, ds);
    // it serves mutual TLS: the same probe without a certificate is refused
    const noCert = spawnSync(process.execPath, check.slice(1), { cwd: ROOT, env: { ...dsEnv, MGR_TLS_CERT: '', MGR_TLS_KEY: '' }, timeout: 20_000 });
    expect([noCert.status, String(noCert.stdout)]).toEqual([1, expect.stringContaining('unreachable')]);
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
    // the Secret mgrpc-tls, made as mgr.yaml says (`mgrctl certs`), mounted at /etc/mgrpc/tls in every pod
    const tlsDir = path.join(tmp, 'k8s-tls');
    provisionCerts(tlsDir, ['cluster-state', 'standby', 'mgr'], { namespace: 'mgrpc' });
    await startCs(tlsDir);
    const mounts = { '/etc/ceph': cephDir, '/var/lib/mgrpc': dataRoot, '/etc/mgrpc/tls': tlsDir };
    for (const [c, spec, name] of [
      [sbC, load('standby.yaml').find((o) => o.kind === 'Deployment').spec.template.spec, 'standby'],
      [dsC, sts.spec.template.spec, 'mgr'],
    ]) {
      const mount = c.volumeMounts.find((m: Json) => m.mountPath === '/etc/mgrpc/tls');
      expect(spec.volumes.find((v: Json) => v.name === mount?.name)?.secret?.secretName).toBe('mgrpc-tls');
      expect(envOf(c)).toMatchObject({
        MGR_TLS_CA: '/etc/mgrpc/tls/ca.crt',
        MGR_TLS_CERT: `/etc/mgrpc/tls/${name}.crt`,
        MGR_TLS_KEY: `/etc/mgrpc/tls/${name}.key`,
        MGR_TLS_CLIENT_AUTH: 'true',
      });
    }
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
      mounts,
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
      mounts,
    );
    const dsLocal = localEnv(dsEnv, mounts);
    await activeEverywhere(pod, grpc, `127.0.0.1:${sbPort}`, ds, mgrpcKeyring, tlsOf(dsLocal));
    storedKey(path.join(tmpDir, 'daemon-server'), pod);
    // the readiness probe: DaemonServerService SERVING on the active only, run in the container with its certificate
    const probe = dsC.readinessProbe.exec.command as string[];
    expect(probe).toEqual(['node', '/app/dist/cli/healthcheck.js', '127.0.0.1:7300', 'ceph.mgr.v1.DaemonServerService']);
    await probePasses('the readiness probe to pass', [path.join(ROOT, probe[1].replace(/^\/app\//, '')), grpc, probe[3]], dsLocal, ds);
    await cluster.run(['auth', 'rm', `mgr.${pod}`]);
  });
});
