// Offline validation of the Kubernetes manifests and the compose file: every
// object against the Kubernetes schemas (kubernetes-models), every object as a
// typed literal so TypeScript's excess-property check catches misspelled
// fields, and docker-compose's own `config` for the compose file.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import * as ts from 'typescript';
import { itWith } from '../lib/testing/external';

const ROOT = path.resolve(__dirname, '..');
const K8S = path.join(ROOT, 'deploy/k8s');

// kind -> [module under kubernetes-models, type name]
const KINDS: Record<string, [string, string]> = {
  Namespace: ['v1/Namespace', 'INamespace'],
  ConfigMap: ['v1/ConfigMap', 'IConfigMap'],
  Service: ['v1/Service', 'IService'],
  Secret: ['v1/Secret', 'ISecret'],
  Deployment: ['apps/v1/Deployment', 'IDeployment'],
  StatefulSet: ['apps/v1/StatefulSet', 'IStatefulSet'],
  PodDisruptionBudget: ['policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  NetworkPolicy: ['networking.k8s.io/v1/NetworkPolicy', 'INetworkPolicy'],
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  [k: string]: unknown;
}

function loadManifests(): Array<{ file: string; obj: K8sObject }> {
  const kustomization = yaml.load(fs.readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const out: Array<{ file: string; obj: K8sObject }> = [];
  for (const file of kustomization.resources) {
    for (const doc of yaml.loadAll(fs.readFileSync(path.join(K8S, file), 'utf8'))) {
      if (doc) out.push({ file, obj: doc as K8sObject });
    }
  }
  return out;
}

describe('Kubernetes manifests', () => {
  const manifests = loadManifests();

  it('lists only files that exist and holds every workload the system needs', () => {
    const names = manifests.map(({ obj }) => `${obj.kind}/${obj.metadata?.name}`);
    for (const want of [
      'StatefulSet/cluster-state',
      'Deployment/standby',
      'StatefulSet/mgr',
      'Service/mgr',
      'PodDisruptionBudget/mgr',
      'Deployment/ceph-feed',
    ]) {
      expect(names).toContain(want);
    }
  });

  it.each(loadManifests().map(({ file, obj }) => [`${file} ${obj.kind}/${obj.metadata?.name}`, obj] as const))(
    'validates %s against the Kubernetes schema',
    async (_name, obj) => {
      const entry = KINDS[obj.kind];
      expect(entry).toBeDefined();
      const mod = await import(`kubernetes-models/${entry[0]}`);
      const Model = mod[obj.kind];
      expect(() => new Model(obj).validate()).not.toThrow();
    },
  );

  it('has no misspelled fields (TypeScript excess-property check on every object)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-k8s-'));
    const file = path.join(dir, 'manifests.ts');
    const lines: string[] = [];
    manifests.forEach(({ obj }, i) => {
      const [mod, type] = KINDS[obj.kind];
      lines.push(`import type { ${type} as T${i} } from ${JSON.stringify(path.join(ROOT, 'node_modules/kubernetes-models', mod))};`);
      lines.push(`export const o${i}: T${i} = ${JSON.stringify(obj)};`);
    });
    fs.writeFileSync(file, lines.join('\n'));
    const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true, moduleResolution: ts.ModuleResolutionKind.Node10, types: [] });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  });

  it('the excess-property check would catch a misspelled field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-k8s-'));
    const file = path.join(dir, 'bad.ts');
    fs.writeFileSync(
      file,
      `import type { IService } from ${JSON.stringify(path.join(ROOT, 'node_modules/kubernetes-models/v1/Service'))};\n` +
        `export const t: IService = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', labells: {} } };\n`,
    );
    const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true, types: [] });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(problems.join('\n')).toMatch(/labells/);
  });

  it('admits to each pod only what must reach it (NetworkPolicy): internal ports only from mgrpc pods', () => {
    const policies = manifests.filter(({ obj }) => obj.kind === 'NetworkPolicy').map(({ obj }) => obj as any);
    // Nothing enters unless admitted.
    expect(policies.some((p) => JSON.stringify(p.spec.podSelector) === '{}' && p.spec.policyTypes.includes('Ingress') && !p.spec.ingress)).toBe(true);
    const INTERNAL = new Set([7100, 7200, 7400, 7600]);
    const workloads = manifests.filter(({ obj }) => obj.kind === 'Deployment' || obj.kind === 'StatefulSet').map(({ obj }) => obj as any);
    for (const w of workloads) {
      const labels: Record<string, string> = w.spec.template.metadata.labels;
      expect(labels['app.kubernetes.io/part-of']).toBe('mgrpc');
      const selecting = policies.filter((p) => Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) && p.spec.ingress);
      for (const c of w.spec.template.spec.containers) {
        for (const { containerPort } of c.ports ?? []) {
          const rules = selecting.flatMap((p) => p.spec.ingress).filter((r: any) => r.ports.some((pt: any) => pt.port === containerPort));
          expect([w.metadata.name, containerPort, rules.length > 0]).toEqual([w.metadata.name, containerPort, true]);
          if (INTERNAL.has(containerPort)) {
            for (const r of rules)
              expect([containerPort, r.from]).toEqual([containerPort, [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'mgrpc' } } }]]);
          }
        }
      }
    }
  });

  it('routes the mgr Service by a readiness probe that follows the MgrMap', () => {
    const mgr = manifests.find(({ obj }) => obj.kind === 'StatefulSet' && obj.metadata?.name === 'mgr')!.obj as any;
    const ds = mgr.spec.template.spec.containers.find((c: any) => c.name === 'daemon-server');
    expect(ds.readinessProbe.exec.command).toEqual(['node', '/app/dist/cli/healthcheck.js', '127.0.0.1:7300', 'ceph.mgr.v1.DaemonServerService']);
    for (const c of mgr.spec.template.spec.containers) {
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(c.resources.limits.memory).toBeDefined();
    }
  });

  it('the managers and the standby replicas follow the Ceph cluster of the Secret mgrpc-ceph: stable manager names, the monitors deciding', () => {
    const find = (kind: string, name: string) => manifests.find(({ obj }) => obj.kind === kind && obj.metadata?.name === name)!.obj as any;
    const env = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
    const secretMount = (pod: any, c: any) => {
      const vol = pod.volumes.find((v: any) => v.secret?.secretName === 'mgrpc-ceph');
      return c.volumeMounts.find((m: any) => m.name === vol?.name)?.mountPath;
    };
    const mgr = find('StatefulSet', 'mgr').spec.template.spec;
    const ds = mgr.containers.find((c: any) => c.name === 'daemon-server');
    // mgr-0, mgr-1: names that survive a restart (mgr.<pod> to the monitors)
    expect(env(ds)).toMatchObject({
      MGR_NAME: 'metadata.name',
      MGR_CEPH_CONF: '/etc/ceph/ceph.conf',
      MGR_CEPH_KEYRING: '/etc/ceph/keyring',
      MGR_MSGR2_PORT: '6800',
    });
    expect(ds.ports.map((p: any) => p.containerPort)).toContain(6800);
    expect(secretMount(mgr, ds)).toBe('/etc/ceph');
    const sb = find('Deployment', 'standby').spec.template.spec;
    expect(env(sb.containers[0])).toMatchObject({ MGR_STANDBY_BACKEND: 'ceph', MGR_CEPH_CONF: '/etc/ceph/ceph.conf', MGR_CEPH_KEYRING: '/etc/ceph/keyring' });
    expect(secretMount(sb, sb.containers[0])).toBe('/etc/ceph');
  });

  it("every service authenticates its callers with mgrpc's keyring, the Secret mgrpc-keyring, reached by its Service's address", () => {
    const workloads = manifests.filter(({ obj }) => ['Deployment', 'StatefulSet'].includes(obj.kind)).map(({ obj }) => obj as any);
    const containers = workloads.flatMap((w) => w.spec.template.spec.containers.map((c: any) => ({ pod: w.spec.template.spec, c })));
    expect(containers.length).toBeGreaterThanOrEqual(5);
    for (const { pod, c } of containers) {
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
      expect({ container: c.name, keyring: env.MGR_KEYRING, auth: env.MGR_AUTH }).toEqual({
        container: c.name,
        keyring: '/etc/mgrpc/keyring/keyring',
        auth: undefined,
      });
      const vol = pod.volumes.find((v: any) => v.secret?.secretName === 'mgrpc-keyring');
      expect(c.volumeMounts.find((m: any) => m.name === vol?.name)).toMatchObject({ mountPath: '/etc/mgrpc/keyring', readOnly: true });
    }
    const audience = (name: string) => containers.find(({ c }) => c.name === name)!.c.env.find((e: any) => e.name === 'MGR_AUTH_AUDIENCE')?.value;
    expect([audience('cluster-state'), audience('standby'), audience('daemon-server')]).toEqual(['cluster-state:7100', 'standby:7200', 'mgr:7300']);
  });
});

describe('Kubernetes manifests: TLS', () => {
  const manifests = loadManifests();
  const workloads = manifests.filter(({ obj }) => ['Deployment', 'StatefulSet'].includes(obj.kind)).map(({ obj }) => obj as any);
  const containers = workloads.flatMap((w) => w.spec.template.spec.containers.map((c: any) => ({ pod: w.spec.template.spec, c })));
  const config = (manifests.find(({ obj }) => obj.kind === 'ConfigMap' && obj.metadata?.name === 'mgrpc-config')!.obj as any).data;

  it('every container serves mutual TLS with its own certificate from the Secret mgrpc-tls', () => {
    expect(config).toMatchObject({ MGR_TLS_CA: '/etc/mgrpc/tls/ca.crt', MGR_TLS_CLIENT_AUTH: 'true' });
    const certs = new Set<string>();
    for (const { pod, c } of containers) {
      expect(c.envFrom).toContainEqual({ configMapRef: { name: 'mgrpc-config' } });
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
      const name = /^\/etc\/mgrpc\/tls\/([a-z-]+)\.crt$/.exec(env.MGR_TLS_CERT ?? '')?.[1];
      expect({ container: c.name, cert: !!name, key: env.MGR_TLS_KEY }).toEqual({ container: c.name, cert: true, key: `/etc/mgrpc/tls/${name}.key` });
      certs.add(name!);
      const vol = pod.volumes.find((v: any) => v.secret?.secretName === 'mgrpc-tls');
      expect(c.volumeMounts.find((m: any) => m.name === vol?.name)).toMatchObject({ mountPath: '/etc/mgrpc/tls', readOnly: true });
    }
    // The names mgr.yaml's command makes the Secret with.
    const made = /mgrctl certs \S+ --ca-dir \S+ --namespace mgrpc ([a-z -]+)\n/
      .exec(fs.readFileSync(path.join(K8S, 'mgr.yaml'), 'utf8'))?.[1]
      .trim()
      .split(' ');
    expect(made?.sort()).toEqual([...certs].sort());
    // module-host reaches the active daemon-server by the pod IP the MgrMap names: it checks the name daemon-server's certificate carries.
    const mh = containers.find(({ c }) => c.name === 'module-host')!.c;
    const ds = containers.find(({ c }) => c.name === 'daemon-server')!.c;
    const envOf = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    expect(envOf(ds).MGR_ADVERTISE_ADDR).toBe('$(POD_IP):7300');
    expect(envOf(mh).MGR_TLS_DAEMON_SERVER_NAME).toBe('mgr');
    expect(envOf(ds).MGR_TLS_CERT).toBe('/etc/mgrpc/tls/mgr.crt');
  });

  it("probes reach health without a client certificate's help from the kubelet: exec probes with the container's own", () => {
    for (const { c } of containers) {
      for (const probe of [c.readinessProbe, c.livenessProbe].filter(Boolean)) {
        // The kubelet's native gRPC probe cannot present a client certificate: it would fail on every mutual-TLS port.
        expect({ container: c.name, grpc: probe.grpc }).toEqual({ container: c.name, grpc: undefined });
        if (probe.exec) expect(probe.exec.command.slice(0, 2)).toEqual(['node', '/app/dist/cli/healthcheck.js']);
      }
    }
  });

  it('no container reaches etcd over plain http (the manifests run the ceph backend; etcd, if used, is https)', () => {
    for (const { c } of containers) {
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
      if (env.MGR_ETCD_ENDPOINTS) expect(env.MGR_ETCD_ENDPOINTS).toMatch(/^https:\/\//);
    }
  });
});

const COMPOSE = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
})();

describe('docker-compose.yml', () => {
  itWith(!COMPOSE && 'docker-compose is not installed', "install Debian's docker-compose (.ci/run does)")('passes docker-compose config', () => {
    const bin = COMPOSE!;
    execFileSync(bin, ['-f', path.join(ROOT, 'docker-compose.yml'), 'config'], { stdio: ['ignore', 'ignore', 'pipe'] });
    // the override for a real Ceph cluster (ceph-feed instead of the simulator, the managers in its MgrMap), on top of it
    const merged = execFileSync(bin, ['-f', path.join(ROOT, 'docker-compose.yml'), '-f', path.join(ROOT, 'docker-compose.ceph.yml'), 'config'], {
      encoding: 'utf8',
      env: { ...process.env, CEPH_DIR: '/etc/ceph', MGRPC_HOST_IP: '10.0.0.5' },
    });
    type Svc = { profiles?: string[]; environment?: Record<string, string>; volumes?: Array<{ source?: string; target: string } | string> };
    const services = (yaml.load(merged) as { services: Record<string, Svc> }).services;
    expect(services['ceph-feed'].environment).toMatchObject({ MGR_CEPH_CONF: '/etc/ceph/ceph.conf', MGR_CLUSTER_STATE_ADDR: 'cluster-state:7100' });
    expect(services.sim.profiles).toEqual(['sim']);
    // The managers are reached at MGRPC_HOST_IP: the certificates name it, and still every service.
    const base = (yaml.load(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { command: string[] }> }).services;
    expect((services.certs as { command?: string[] }).command).toEqual([...base.certs.command.slice(0, 4), '--ip=10.0.0.5', ...base.certs.command.slice(4)]);
    expect(services['ceph-feed'].environment).toMatchObject({ MGR_TLS_CERT: '/var/lib/mgrpc/tls/ceph-feed.crt', MGR_TLS_CLIENT_AUTH: 'true' });
    expect(services.standby.environment).toMatchObject({ MGR_STANDBY_BACKEND: 'ceph', MGR_CEPH_CONF: '/etc/ceph/ceph.conf' });
    for (const [name, i] of [
      ['x', 0],
      ['y', 1],
    ] as const) {
      const ds = services[`daemon-server-${name}`];
      expect(ds.environment).toMatchObject({
        MGR_NAME: name,
        MGR_CEPH_CONF: '/etc/ceph/ceph.conf',
        MGR_ADVERTISE_ADDR: `10.0.0.5:${7300 + i}`,
        MGR_MSGR2_PORT: String(6800 + i),
      });
      // the keyring from CEPH_DIR, and mgr.<name>'s key kept in the keys volume
      const targets = (ds.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target));
      expect(targets).toEqual(expect.arrayContaining(['/etc/ceph', '/var/lib/mgrpc/keys']));
      expect(ds.environment!.MGR_DATA_DIR.startsWith('/var/lib/mgrpc/keys/')).toBe(true);
    }
    // without MGRPC_HOST_IP (where the cluster's daemons reach the managers) it says what to set
    expect(() =>
      execFileSync(bin, ['-f', path.join(ROOT, 'docker-compose.yml'), '-f', path.join(ROOT, 'docker-compose.ceph.yml'), 'config'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, CEPH_DIR: '/etc/ceph', MGRPC_HOST_IP: '' },
      }),
    ).toThrow(/set MGRPC_HOST_IP/);
  });

  it('every service reads the shared keyring from the keys volume; none turns authentication off', () => {
    const services = (yaml.load(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, any> }).services;
    for (const [name, svc] of Object.entries(services)) {
      if (['etcd', 'etcd-auth', 'certs'].includes(name)) continue;
      expect({ name, keyring: svc.environment.MGR_KEYRING, auth: svc.environment.MGR_AUTH }).toEqual({
        name,
        keyring: '/var/lib/mgrpc/keys/keyring',
        auth: undefined,
      });
    }
    expect(services['cluster-state'].volumes).toContain('mgrpc-keys:/var/lib/mgrpc/keys');
  });

  it('every service serves mutual TLS with its own certificate, made by the certs service; etcd is https with client certificates and its own authentication', () => {
    const services = (yaml.load(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, any> }).services;
    const made: string[] = services.certs.command.slice(3).filter((a: string) => !a.startsWith('--'));
    expect(services.certs.command.slice(0, 3)).toEqual(['dist/cli/mgrctl.js', 'certs', '/var/lib/mgrpc/tls']);
    // The CA key lives in a volume only the certs service mounts.
    expect(services.certs.command).toContain('--ca-dir=/var/lib/mgrpc/ca');
    const caUsers = Object.entries(services).filter(([, svc]) => (svc.volumes ?? []).some((v: string) => v.startsWith('mgrpc-ca:')));
    expect(caUsers.map(([n]) => n)).toEqual(['certs']);
    for (const [name, svc] of Object.entries(services)) {
      if (['etcd', 'etcd-auth', 'certs'].includes(name)) continue;
      expect({ name, env: svc.environment }).toEqual({
        name,
        env: expect.objectContaining({
          MGR_TLS_CA: '/var/lib/mgrpc/tls/ca.crt',
          MGR_TLS_CERT: `/var/lib/mgrpc/tls/${name}.crt`,
          MGR_TLS_KEY: `/var/lib/mgrpc/tls/${name}.key`,
          MGR_TLS_CLIENT_AUTH: 'true',
        }),
      });
      expect(made).toContain(name);
    }
    const etcd: string[] = services.etcd.command;
    expect(etcd).toEqual(
      expect.arrayContaining(['--listen-client-urls=https://0.0.0.0:2379', '--advertise-client-urls=https://etcd:2379', '--client-cert-auth']),
    );
    expect(etcd.filter((a) => a.startsWith('--listen-client-urls') || a.startsWith('--advertise-client-urls')).join()).not.toMatch(/http:/);
    expect(services.standby.environment).toMatchObject({
      MGR_ETCD_ENDPOINTS: 'https://etcd:2379',
      MGR_ETCD_CA: '/var/lib/mgrpc/tls/ca.crt',
      MGR_ETCD_USER: 'mgrpc-standby',
      MGR_ETCD_PASSWORD_FILE: '/var/lib/mgrpc/tls/mgrpc-standby.password',
    });
    expect(services.certs.command).toEqual(expect.arrayContaining(['--password=mgrpc-standby', '--password=etcd-root', 'etcd']));
    expect(services.standby.depends_on['etcd-auth']).toEqual({ condition: 'service_completed_successfully' });
  });

  it('publishes only what a user calls, on the host loopback only', () => {
    const services = (yaml.load(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { ports?: string[] }> }).services;
    const published = Object.fromEntries(Object.entries(services).flatMap(([name, svc]) => (svc.ports ? [[name, svc.ports]] : [])));
    expect(published).toEqual({
      'cluster-state': ['127.0.0.1:7100:7100'],
      'daemon-server-x': ['127.0.0.1:7300:7300'],
      'daemon-server-y': ['127.0.0.1:7301:7301'],
    });
  });
});
