// The system under test, as child processes so that CPU and memory can be
// attributed per service from /proc: cluster-state, module-host and
// daemon-server on 127.0.0.1 with ephemeral ports, a keyring in a temp
// folder, and the simulator (sim/main.ts) as the fake cluster.
import { keyringCredentials } from '../lib/auth/keys';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { asCredentials, CallCredentials } from '../lib/auth/proof';
import { HealthDefinition } from 'nice-grpc-server-health';
import { openChannel, makeClient } from '../lib/client';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { DaemonServerServiceDefinition } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { keyFromKeyring } from '../lib/keyring';
import { Child, cpuSeconds, rssBytes, startNode } from './harness';

/** The line lib/server.ts logs once a service listens. */
export const LISTENING_LINE = /"msg":"listening","address":"([^"]+)","metricsPort":(-?\d+)/;

export interface ServiceProc {
  name: string;
  child: Child;
  address: string;
  metricsPort: number;
  pid: number;
}

export async function startServiceProc(name: string, script: string, args: string[], env: Record<string, string> = {}): Promise<ServiceProc> {
  const child = startNode(script, args, { MGR_LOG_LEVEL: 'warn', ...env });
  // the listening line is logged at info: raise the level only for it
  const [, address, metricsPort] = await child.waitForLine(LISTENING_LINE, 60000);
  // listening is not ready: wait for grpc.health.v1 SERVING (module-host: modules loaded)
  const channel = openChannel(address);
  try {
    const health = makeClient(HealthDefinition, channel);
    await until(
      `${name} to report SERVING`,
      async () => {
        if (child.proc.exitCode !== null) throw new Error(`${name} exited with ${child.proc.exitCode}`);
        return (await health.check({ service: '' }, { deadline: 2000 })).status === 1;
      },
      90000,
      100,
    );
  } finally {
    channel.close();
  }
  return { name, child, address, metricsPort: Number(metricsPort), pid: child.proc.pid! };
}

export interface StackOptions {
  moduleHost?: boolean;
  /** Extra module folders (MGR_MODULE_PATH). */
  modulePath?: string[];
  modules?: string[];
  statsPeriod?: number;
  extraDaemonServerArgs?: string[];
}

export interface Stack {
  dir: string;
  cs: ServiceProc;
  mh?: ServiceProc;
  ds: ServiceProc;
  keyringPath: string;
  adminKey: string;
  /** The services, for CPU and memory attribution. */
  services(): ServiceProc[];
  /** Call options that make a call as client.admin. */
  asAdmin(): { credentials: CallCredentials };
  /** Call options that make a call as the manager mgr.x (module-host takes commands from managers only). */
  asManager(): { credentials: CallCredentials };
  /** Clients calling as client.admin (a call may bring other credentials). */
  csClient: ReturnType<typeof makeClient<typeof ClusterStateServiceDefinition>>;
  dsClient: ReturnType<typeof makeClient<typeof DaemonServerServiceDefinition>>;
  stop(): Promise<void>;
}

/** Starts cluster-state, (module-host,) daemon-server; every service logs at info so the listening line shows. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-bench-'));
  const keyringPath = path.join(dir, 'keyring');
  const started: ServiceProc[] = [];
  const channels: Array<{ close(): void }> = [];
  const stopAll = async () => {
    for (const c of channels) c.close();
    await Promise.all(started.map((s) => s.child.kill()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    // One keyring for every process: each call proves a key of it (docs/SECURITY.md).
    const info = { MGR_LOG_LEVEL: 'info', MGR_KEYRING: keyringPath };
    const cs = await startServiceProc(
      'cluster-state',
      'services/cluster-state/main.ts',
      ['--port', '0', '--metrics-port', '0', '--data-dir', path.join(dir, 'cs')],
      info,
    );
    started.push(cs);
    let mh: ServiceProc | undefined;
    // One host, as npm start: daemon-server's commands go over module-host's Unix-domain socket.
    const commandSocket: Record<string, string> = opts.moduleHost !== false ? { MGR_MODULE_HOST_COMMAND_SOCKET: path.join(dir, 'module-host.sock') } : {};
    if (opts.moduleHost !== false) {
      mh = await startServiceProc('module-host', 'services/module-host/main.ts', ['--port', '0', '--metrics-port', '0', '--cluster-state-addr', cs.address], {
        ...info,
        ...commandSocket,
        MGR_MODULE_PATH: (opts.modulePath ?? []).join(':'),
        ...(opts.modules ? { MGR_MODULES: opts.modules.join(',') } : {}),
      });
      started.push(mh);
    }
    const ds = await startServiceProc(
      'daemon-server',
      'services/daemon-server/main.ts',
      [
        '--port',
        '0',
        '--metrics-port',
        '0',
        '--cluster-state-addr',
        cs.address,
        '--module-host-addr',
        mh?.address ?? '',
        '--keyring',
        keyringPath,
        '--data-dir',
        dir,
        '--stats-period',
        String(opts.statsPeriod ?? 5),
        ...(opts.extraDaemonServerArgs ?? []),
      ],
      { ...info, ...commandSocket },
    );
    started.push(ds);
    const adminKey = keyFromKeyring(keyringPath, 'client.admin');
    const csChannel = openChannel(cs.address);
    const dsChannel = openChannel(ds.address);
    channels.push(csChannel, dsChannel);
    const asAdmin = () => ({ credentials: asCredentials({ entity: 'client.admin', key: adminKey }) });
    return {
      dir,
      cs,
      mh,
      ds,
      keyringPath,
      adminKey,
      services: () => started.slice(),
      asAdmin,
      asManager: () => ({ credentials: keyringCredentials(keyringPath, 'mgr.x') }),
      // client.admin unless a call brings other credentials
      csClient: makeClient(ClusterStateServiceDefinition, csChannel, asAdmin()),
      dsClient: makeClient(DaemonServerServiceDefinition, dsChannel, asAdmin()),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** Waits until `check` returns a truthy value (polling), or throws naming `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 30000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Prometheus text from a service's metrics port, as name{labels} -> value. */
export async function scrape(metricsPort: number): Promise<Map<string, number>> {
  // a loaded machine can make one fetch fail: try three times before giving up
  let text: string;
  for (let attempt = 1; ; attempt++) {
    try {
      text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(15000) })).text();
      break;
    } catch (e) {
      if (attempt >= 3) throw new Error(`metrics of the service on port ${metricsPort} not readable: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** CPU seconds and RSS of processes at one instant. */
export interface ProcSample {
  t: number;
  cpu: Record<string, number>;
  rss: Record<string, number>;
  /** Peak resident memory so far (VmHWM). */
  hwm: Record<string, number>;
}

function hwmBytes(pid: number): number {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : NaN;
}

export function sampleProcs(procs: Array<{ name: string; pid: number }>): ProcSample {
  const s: ProcSample = { t: performance.now(), cpu: {}, rss: {}, hwm: {} };
  for (const p of procs) {
    s.cpu[p.name] = cpuSeconds(p.pid);
    s.rss[p.name] = rssBytes(p.pid);
    s.hwm[p.name] = hwmBytes(p.pid);
  }
  return s;
}

export const MB = 1024 * 1024;

const shared = new Map<string, Promise<Stack>>();

/** One stack per key per process, for benchmarks that can share it; stopShared() ends them. */
export function sharedStack(key: string, start: () => Promise<Stack>): Promise<Stack> {
  let s = shared.get(key);
  if (!s) {
    s = start();
    shared.set(key, s);
    s.catch(() => shared.delete(key));
  }
  return s;
}

export async function stopShared(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(
    all.map((s) =>
      s.then(
        (x) => x.stop(),
        () => undefined,
      ),
    ),
  );
}
