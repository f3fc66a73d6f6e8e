// `npm start`: the whole system on loopback, one process per service, on the
// fixed default ports: cluster-state, standby, two manager instances (x and
// y: a daemon-server and a module-host each) and the simulator. Logs go to
// <data>/logs/<process>.log; Ctrl-C stops everything cleanly; a second
// start reuses the data folder. With --ceph-conf (and --ceph-keyring,
// --ceph-name), mgrpc runs as the managers of a real Ceph cluster instead of
// the simulator: ceph-feed follows its monitors' maps, the two managers
// beacon to them as mgr.<name> (the monitors pick the active), the standby
// service mirrors their MgrMap (ceph backend), and cluster-state keeps that
// cluster's maps in a folder of their own (cluster-state-ceph-<fsid>).
import { ensureKeyring } from '../lib/auth/provision';
import { keyringCredentials } from '../lib/auth/keys';
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { HealthDefinition } from 'nice-grpc-server-health';
import * as crypto from 'crypto';
import { connect } from '../lib/client';
import { configOrExit } from '../lib/config';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { MgrctlResult, runCaptured } from './mgrctl';
import { cephSide } from '../lib/ceph/target';
import { MAX_SOCKET_PATH } from '../lib/command-socket';

/** Running the build (dist/cli/start.js) rather than the source (through tsx)? */
const COMPILED = path.extname(__filename) === '.js';
/** The repository (the working folder of every process). */
const ROOT = path.resolve(__dirname, COMPILED ? '../..' : '..');

/** node's arguments to run one of this tree's programs (`services/x/main.ts`) the way this launcher runs. */
export function nodeArgs(script: string): string[] {
  return COMPILED ? [path.join(ROOT, 'dist', script.replace(/\.ts$/, '.js'))] : ['--import', 'tsx', path.join(ROOT, script)];
}

const OPTIONS = {
  dataDir: { env: 'MGR_DATA_DIR', flag: 'data-dir', type: 'string', default: './data', desc: 'where every service keeps its state and logs' },
  host: { env: 'MGR_HOST', flag: 'host', type: 'string', default: '127.0.0.1', desc: 'loopback address every service listens on' },
  osds: { env: 'SIM_OSDS', flag: 'osds', type: 'int', default: 12, desc: 'OSDs in the simulated cluster' },
  sim: { env: 'MGR_START_SIM', flag: 'sim', type: 'bool', default: true, desc: 'start the simulator (--sim=false for none)' },
  backend: { env: 'MGR_STANDBY_BACKEND', flag: 'standby-backend', type: 'string', default: 'embedded', desc: 'standby backend: embedded or etcd' },
  etcd: { env: 'MGR_ETCD_ENDPOINTS', flag: 'etcd-endpoints', type: 'string', default: '', desc: 'etcd endpoints for the etcd backend' },
  portOffset: {
    env: 'MGR_START_PORT_OFFSET',
    flag: 'port-offset',
    type: 'int',
    default: 0,
    desc: 'added to every default port (to run a second copy, or in tests)',
  },
  readyTimeoutMs: { env: 'MGR_START_TIMEOUT_MS', flag: 'ready-timeout-ms', type: 'int', default: 60000, desc: 'how long a service may take to become ready' },
  cephConf: {
    env: 'MGR_CEPH_CONF',
    flag: 'ceph-conf',
    type: 'string',
    default: '',
    desc: "a real Ceph (Pacific) cluster's ceph.conf: follow its monitors (ceph-feed) instead of running the simulator",
  },
  cephKeyring: {
    env: 'MGR_CEPH_KEYRING',
    flag: 'ceph-keyring',
    type: 'string',
    default: '',
    desc: 'the keyring with the key of --ceph-name (default: the one ceph.conf names, else /etc/ceph/ceph.<name>.keyring)',
  },
  cephName: {
    env: 'MGR_CEPH_NAME',
    flag: 'ceph-name',
    type: 'string',
    default: 'client.admin',
    desc: 'the Ceph entity ceph-feed and the standby service authenticate as, and the managers get their mgr.<name> keys with',
  },
  managers: {
    env: 'MGR_START_MANAGERS',
    flag: 'managers',
    type: 'string',
    default: 'x,y',
    desc: "the two manager instances' names (mgr.<name> to a real cluster's monitors: pick names its ceph-mgr daemons do not use)",
  },
  cephMsMode: {
    env: 'MGR_CEPH_MS_MODE',
    flag: 'ceph-ms-mode',
    type: 'string',
    default: '',
    desc: "msgr2 connection modes towards the cluster, e.g. 'secure' (default: ceph.conf's ms_*_mode, else Pacific's)",
  },
} as const;

/** A real cluster to follow instead of the simulator. */
export interface CephTarget {
  conf: string;
  keyring: string;
  name: string;
  /** Connection modes overriding ceph.conf's ms_*_mode ('' for the file's). */
  msMode?: string;
  /** The cluster's fsid (from ceph.conf): its maps get a cluster-state folder of their own. */
  fsid?: string;
}

export interface ProcessSpec {
  name: string;
  script: string;
  env: Record<string, string>;
  /** gRPC address to wait on before starting the next process. */
  waitFor?: string;
}

/** Enabled in a fresh MgrMap by the local set-up (Ceph's always-on modules come with the map). */
export const INITIAL_MODULES = ['hello', 'selftest', 'prometheus', 'restful', 'dashboard', 'iostat'];
const CEPH_STATUS_MODULE = '/usr/share/ceph/mgr/status/module.py';
const CEPH_DASHBOARD_MODULE = '/usr/share/ceph/mgr/dashboard/module.py';

/**
 * The Python modules that replace ours of the same name: MGR_PREFER_PYTHON_MODULES
 * when set, else Ceph's own status and dashboard where Debian's packages
 * installed them (`fs status`/`osd status` and the dashboard through Ceph's
 * code; ours are the fallback without them).
 */
export function preferredPython(env: NodeJS.ProcessEnv = process.env, exists: (f: string) => boolean = fs.existsSync): string[] {
  if (env.MGR_PREFER_PYTHON_MODULES !== undefined)
    return env.MGR_PREFER_PYTHON_MODULES.split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  return [...(exists(CEPH_STATUS_MODULE) ? ['status'] : []), ...(exists(CEPH_DASHBOARD_MODULE) ? ['dashboard'] : [])];
}

/**
 * Both managers run on one host here, so each gets its own port for the
 * modules that listen (module store keys mgr/<module>/<mgr>/server_port,
 * which those modules read before their module-wide option).
 */
export function modulePorts(portOffset: number, preferPython: string[] = [], managers = MANAGERS): Record<string, string> {
  const ports: Record<string, number> = { prometheus: 9283, dashboard: 8080, restful: 8003 };
  const out: Record<string, string> = {};
  for (const [module, base] of Object.entries(ports)) {
    managers.forEach((mgr, i) => {
      out[`mgr/${module}/${mgr}/server_port`] = String(base + i + portOffset);
      // Ceph's own module of that name reads its localized option instead
      // (and would listen on every interface by default).
      if (preferPython.includes(module)) {
        out[`config/mgr/${module}/${mgr}/server_port`] = String(base + i + portOffset);
        out[`config/mgr/${module}/${mgr}/server_addr`] = '127.0.0.1';
      }
    });
  }
  // Ceph's dashboard serves HTTPS (its default) on ssl_server_port.
  if (preferPython.includes('dashboard')) ['x', 'y'].forEach((mgr, i) => (out[`config/mgr/dashboard/${mgr}/ssl_server_port`] = String(8443 + i + portOffset)));
  return out;
}

/** The two manager instances' default names. */
export const MANAGERS = ['x', 'y'];

/** The manager names of --managers: two valid names, different. */
export function managerNames(list: string): string[] {
  const names = list
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (names.length !== 2 || names[0] === names[1] || !names.every((n) => /^[A-Za-z0-9_.-]{1,64}$/.test(n)))
    throw new Error(`--managers: two different names of letters, digits, '.', '_' or '-', e.g. x,y; got '${list}'`);
  return names;
}

/** The processes of the local set-up, in start order. */
export function localProcesses(cfg: {
  dataDir: string;
  host: string;
  osds: number;
  sim: boolean;
  backend: string;
  etcd: string;
  portOffset: number;
  /** Be the managers of a real cluster (ceph-feed, the managers beaconing to its monitors) instead of running the simulator. */
  ceph?: CephTarget;
  /** The two managers' names (default x, y). */
  managers?: string[];
}): ProcessSpec[] {
  const h = cfg.host;
  const p = (port: number) => String(port + cfg.portOffset);
  const data = path.resolve(cfg.dataDir);
  const clusterState = `${h}:${p(7100)}`;
  const standby = `${h}:${p(7200)}`;
  const keyring = path.join(data, 'keyring');
  // The real cluster, as ceph-feed, the standby service and the managers take it.
  const cephEnv: Record<string, string> = cfg.ceph
    ? {
        MGR_CEPH_CONF: path.resolve(cfg.ceph.conf),
        MGR_CEPH_KEYRING: cfg.ceph.keyring ? path.resolve(cfg.ceph.keyring) : '',
        MGR_CEPH_NAME: cfg.ceph.name,
        MGR_CEPH_MS_MODE: cfg.ceph.msMode ?? '',
      }
    : {};
  const specs: ProcessSpec[] = [
    {
      name: 'cluster-state',
      script: 'services/cluster-state/main.ts',
      env: { MGR_PORT: p(7100), MGR_METRICS_PORT: p(9100), MGR_DATA_DIR: path.join(data, clusterStateDir(cfg.ceph)), MGR_KEYRING: keyring },
      waitFor: clusterState,
    },
    // the real cluster's maps are in before the managers start
    ...(cfg.ceph
      ? [
          {
            name: 'ceph-feed',
            script: 'ceph-feed/main.ts',
            env: {
              MGR_PORT: p(7600),
              MGR_METRICS_PORT: p(9600),
              MGR_CLUSTER_STATE_ADDR: clusterState,
              MGR_KEYRING: keyring,
              ...cephEnv,
            },
            waitFor: `${h}:${p(7600)}`,
          },
        ]
      : []),
    {
      name: 'standby',
      script: 'services/standby/main.ts',
      env: {
        MGR_PORT: p(7200),
        MGR_METRICS_PORT: p(9200),
        MGR_DATA_DIR: path.join(data, 'standby'),
        MGR_CLUSTER_STATE_ADDR: clusterState,
        MGR_KEYRING: keyring,
        // With a real cluster its monitors decide who is active; this mirrors their MgrMap.
        MGR_STANDBY_BACKEND: cfg.ceph ? 'ceph' : cfg.backend,
        // A fresh map enables the seed's plugins and, where Debian's Ceph
        // modules are installed, Ceph's own iostat and crash.
        MGR_INITIAL_MODULES: INITIAL_MODULES.join(','),
        ...(cfg.etcd && !cfg.ceph ? { MGR_ETCD_ENDPOINTS: cfg.etcd } : {}),
        ...cephEnv,
      },
      waitFor: standby,
    },
  ];
  (cfg.managers ?? MANAGERS).forEach((name, i) => {
    const mh = `${h}:${p(7400 + i)}`;
    const ds = `${h}:${p(7300 + i)}`;
    // On one host daemon-server sends its module commands over module-host's Unix-domain socket
    // (the fast path); a data folder too deep for a socket path keeps the gRPC stream.
    const socket = path.join(data, `module-host-${name}`, 'commands.sock');
    const commandSocket: Record<string, string> = Buffer.byteLength(socket) <= MAX_SOCKET_PATH ? { MGR_MODULE_HOST_COMMAND_SOCKET: socket } : {};
    specs.push({
      name: `module-host-${name}`,
      script: 'services/module-host/main.ts',
      env: {
        MGR_NAME: name,
        MGR_PORT: p(7400 + i),
        MGR_METRICS_PORT: p(9400 + i),
        MGR_CLUSTER_STATE_ADDR: clusterState,
        MGR_STANDBY_ADDR: standby,
        // The modules' sendCommand authenticates as mgr.<name> (daemon-server adds it to this keyring).
        MGR_KEYRING: keyring,
        MGR_DATA_DIR: path.join(data, `module-host-${name}`),
        ...commandSocket,
        // Ceph's own status and dashboard where they are installed (ours otherwise).
        MGR_PREFER_PYTHON_MODULES: preferredPython().join(','),
      },
      waitFor: mh,
    });
    specs.push({
      name: `daemon-server-${name}`,
      script: 'services/daemon-server/main.ts',
      env: {
        MGR_NAME: name,
        MGR_PORT: p(7300 + i),
        MGR_METRICS_PORT: p(9300 + i),
        MGR_CLUSTER_STATE_ADDR: clusterState,
        MGR_MODULE_HOST_ADDR: mh,
        ...commandSocket,
        MGR_STANDBY_ADDR: standby,
        // The simulated monitors' command endpoint (pool create, osd out, config set, ...).
        ...(cfg.sim && !cfg.ceph ? { MGR_MON_ADDR: `${h}:${p(7500)}` } : {}),
        MGR_KEYRING: keyring,
        MGR_DATA_DIR: path.join(data, `daemon-server-${name}`),
        // mgr.<name> to the real cluster's monitors: its key is got with MGR_CEPH_NAME and kept in the data folder.
        ...cephEnv,
      },
      waitFor: ds,
    });
  });
  if (cfg.sim && !cfg.ceph) {
    specs.push({
      name: 'sim',
      script: 'sim/main.ts',
      env: {
        MGR_CLUSTER_STATE_ADDR: clusterState,
        MGR_STANDBY_ADDR: standby,
        MGR_DAEMON_SERVER_ADDR: `${h}:${p(7300)}`,
        MGR_KEYRING: keyring,
        SIM_OSDS: String(cfg.osds),
        SIM_MON_PORT: p(7500),
      },
    });
  }
  return specs;
}

/** cluster-state's folder: the simulator's, or one per real cluster (their epochs and service maps must not mix). */
export function clusterStateDir(ceph?: CephTarget): string {
  return ceph ? `cluster-state-ceph-${ceph.fsid ?? 'unknown-fsid'}` : 'cluster-state';
}

export async function waitServing(address: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const { client: health, close } = connect(HealthDefinition, address);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before it was ready`);
      try {
        const res = await health.check({ service: '' }, { deadline: 1000 });
        if (res.status === 1) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`not ready after ${timeoutMs} ms`);
  } finally {
    close();
  }
}

async function main(): Promise<void> {
  const cfg = configOrExit('npm start: run mgrpc locally (cluster-state, standby, managers x and y, and the simulator or a real Ceph cluster)', OPTIONS);
  const data = path.resolve(cfg.dataDir);
  let managers: string[];
  try {
    managers = managerNames(cfg.managers);
  } catch (e) {
    process.stderr.write(`npm start: ${(e as Error).message}\n`);
    process.exit(2);
  }
  let ceph: CephTarget | undefined;
  if (cfg.cephConf) {
    // the Ceph side is checked before anything starts, with the error a person can act on
    try {
      const side = cephSide({ cephConf: cfg.cephConf, keyring: cfg.cephKeyring, entity: cfg.cephName, msMode: cfg.cephMsMode });
      ceph = { conf: cfg.cephConf, keyring: cfg.cephKeyring, name: cfg.cephName, msMode: cfg.cephMsMode, fsid: side.fsid };
    } catch (e) {
      process.stderr.write(`npm start: ${(e as Error).message}\n`);
      process.exit(2);
    }
  } else if (cfg.cephKeyring) {
    process.stderr.write('npm start: --ceph-keyring needs --ceph-conf (the cluster to follow)\n');
    process.exit(2);
  }
  const logs = path.join(data, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const say = (msg: string) => process.stdout.write(`[mgrpc] ${msg}\n`);
  const children: Array<{ spec: ProcessSpec; child: ChildProcess }> = [];
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    for (const { spec, child } of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode) continue;
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          say(`${spec.name} did not stop in 10 s; killing it`);
          child.kill('SIGKILL');
          resolve();
        }, 10000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  say(`data folder ${data} (logs in ${logs})`);
  // Every call between the processes is authenticated with this keyring's
  // keys (docs/SECURITY.md): made on first start; a data folder of an
  // earlier version gets the entities it lacks.
  ensureKeyring(path.join(data, 'keyring'), { info: (m) => say(m), warn: (m) => say(m) }, managers);
  if (ceph)
    say(
      `the managers of the Ceph cluster of ${path.resolve(ceph.conf)} (fsid ${ceph.fsid ?? 'not in ceph.conf'}), as mgr.${managers.join(' and mgr.')}, instead of the simulator; ${ceph.name} follows its maps`,
    );
  for (const spec of localProcesses({ ...cfg, ceph, managers })) {
    const log = fs.openSync(path.join(logs, `${spec.name}.log`), 'a');
    const child = spawn(process.execPath, nodeArgs(spec.script), {
      cwd: ROOT,
      env: { ...process.env, MGR_HOST: cfg.host, ...spec.env },
      stdio: ['ignore', log, log],
    });
    children.push({ spec, child });
    // Which pid is which service, for operators (and the failover test).
    fs.writeFileSync(path.join(data, 'pids.json'), JSON.stringify(Object.fromEntries(children.map((c) => [c.spec.name, c.child.pid])), null, 2) + '\n');
    child.on('exit', (code, signal) => {
      if (!stopping) say(`${spec.name} exited (${signal ?? `code ${code}`}); see ${path.join(logs, spec.name + '.log')}`);
    });
    if (spec.waitFor) {
      try {
        await waitServing(spec.waitFor, cfg.readyTimeoutMs, child);
        say(`${spec.name} serving on ${spec.waitFor}`);
        if (spec.name === 'cluster-state') await setModulePorts(spec.waitFor, cfg.portOffset, managers, path.join(data, 'keyring'));
      } catch (e) {
        say(`${spec.name} failed to start: ${(e as Error).message}; see ${path.join(logs, spec.name + '.log')}`);
        await stopAll(1);
        return;
      }
    } else {
      say(`${spec.name} started`);
    }
  }
  const at = (port: number) => `${cfg.host}:${port + cfg.portOffset}`;
  if (ceph) await cephManagersReady({ standby: at(7200), keyring: path.join(data, 'keyring') }, say);
  else if (cfg.sim) await pluginsReady({ standby: at(7200), keyring: path.join(data, 'keyring'), data, marker: 'plugins-initialised' }, say);
  say(
    `ready: try bin/mgrctl status  (managers ${managers[0]} ${at(7300)}, ${managers[1]} ${at(7301)}; cluster-state ${at(7100)}; standby ${at(7200)}; Ctrl-C stops everything)`,
  );
}

/** Per-manager module ports, written once (an operator's later change is kept). */
async function setModulePorts(clusterState: string, portOffset: number, managers: string[], keyring: string): Promise<void> {
  // The modules' store is the managers' own: written as the first manager.
  const { client: cs, close } = connect(ClusterStateServiceDefinition, clusterState, undefined, {
    credentials: keyringCredentials(keyring, `mgr.${managers[0]}`),
  });
  try {
    for (const [key, value] of Object.entries(modulePorts(portOffset, preferredPython(), managers))) {
      if (!(await cs.getStore({ key })).found) await cs.setStore({ key, value });
    }
  } finally {
    close();
  }
}

/** mgrctl with the local set-up's standby service and keyring, waiting up to a minute for an active manager. */
async function localCtl(o: { standby: string; keyring: string }, ...argv: string[]) {
  const env = { ...process.env, MGR_STANDBY_ADDR: o.standby, MGR_KEYRING: o.keyring, MGR_ADDR: '' };
  return runCaptured([...argv, '--wait-ms', '60000'], env);
}

/**
 * With a real cluster: once its monitors name one of our managers active
 * and available, say which, and which modules their map enables (the
 * cluster's choice: npm start enables none there).
 */
async function cephManagersReady(o: { standby: string; keyring: string }, say: (s: string) => void): Promise<void> {
  const r = await localCtl(o, 'mgr', 'dump', '--format', 'json');
  if (r.code) return say(`the monitors have named no active manager yet: ${r.stderr.trim()} (bin/mgrctl mgr stat; logs/daemon-server-*.log)`);
  const m = JSON.parse(r.stdout);
  say(`the monitors name mgr.${m.active_name} active, standbys: ${m.standbys.map((s: { name: string }) => s.name).join(', ') || 'none'} (ceph -s says so too)`);
  say(`modules the cluster enables: ${m.modules.join(', ')}; more with bin/mgrctl mgr module enable <module> (e.g. hello, then: ceph hello)`);
}

/**
 * Once the active manager is up: on a fresh data folder, give restful a
 * self-signed certificate and the dashboard an admin user (its password
 * written to <data>/dashboard-admin), then print where the plugins listen.
 */
async function pluginsReady(o: { standby: string; keyring: string; data: string; marker: string }, say: (s: string) => void): Promise<void> {
  const ctl = (...argv: string[]) => localCtl(o, ...argv);
  // per cluster-state folder: the certificate and the user live in its store
  const marker = path.join(o.data, o.marker);
  if (!fs.existsSync(marker)) {
    const cert = await ctl('restful', 'create-self-signed-cert');
    if (cert.code) say(`restful: could not create a certificate: ${cert.stderr.trim()}`);
    const password = crypto.randomBytes(12).toString('base64url');
    let user: MgrctlResult;
    if (preferredPython().includes('dashboard')) {
      // Ceph's dashboard: HTTPS with its own self-signed certificate, and the
      // password only from a file (-i), never on a command line.
      const dashCert = await ctl('dashboard', 'create-self-signed-cert');
      if (dashCert.code) say(`dashboard: could not create a certificate: ${dashCert.stderr.trim()}`);
      const pwFile = path.join(o.data, '.dashboard-password');
      fs.writeFileSync(pwFile, password, { mode: 0o600 });
      try {
        user = await ctl('dashboard', 'ac-user-create', 'admin', '-i', pwFile, 'administrator', '--force-password');
      } finally {
        fs.rmSync(pwFile, { force: true });
      }
    } else {
      user = await ctl('dashboard', 'ac-user-create', 'admin', password, 'true');
    }
    if (user.code) say(`dashboard: could not create the admin user: ${user.stderr.trim()}`);
    else fs.writeFileSync(path.join(o.data, 'dashboard-admin'), `admin ${password}\n`, { mode: 0o600 });
    fs.writeFileSync(marker, new Date().toISOString() + '\n');
  }
  // The URIs reach the MgrMap with the active's next beacons.
  const want = ['prometheus', 'restful', 'dashboard'];
  let services: Record<string, string> = {};
  for (let i = 0; i < 40; i++) {
    const r = await ctl('mgr', 'services', '--format', 'json');
    if (r.code === 0) services = JSON.parse(r.stdout || '{}');
    if (want.every((m) => services[m])) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const m of want) say(`${m}: ${services[m] ?? 'not serving yet (bin/mgrctl mgr services; bin/mgrctl status for why)'}`);
  if (services.dashboard)
    say(
      `dashboard login: admin, password in ${path.join(o.data, 'dashboard-admin')} (${preferredPython().includes('dashboard') ? "Ceph's dashboard, from ceph-mgr-dashboard" : "mgrpc's own dashboard; install ceph-mgr-dashboard for Ceph's"})`,
    );
}

if (require.main === module) void main();
