// Shared by the system-level tests: `npm start` (cli/start.ts) as a child
// process on an offset of the default ports, and a polling wait.
import { execFileSync, spawn, ChildProcess } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import { localProcesses, waitServing } from '../cli/start';
import { until as waitUntil } from '../lib/testing/wait';

/** Polls until `fn` is truthy (30 s by default, every 300 ms: these wait on whole processes). */
export const until = <T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 30000): Promise<T> =>
  waitUntil(what, fn, timeoutMs, 300);

export const ROOT = path.resolve(__dirname, '..');

/**
 * Every port the local set-up uses (cli/start.ts), before the offset; 7210/9210: a second standby
 * replica; 7500: the simulator's monitor endpoint; 7600/9600: ceph-feed; 8443/8444: Ceph's
 * dashboard (HTTPS).
 */
const BASE_PORTS = [
  7100, 7200, 7210, 7300, 7301, 7400, 7401, 7500, 7600, 9100, 9200, 9210, 9300, 9301, 9400, 9401, 9600, 8003, 8004, 8080, 8081, 8443, 8444, 9283, 9284,
];

/**
 * An offset for the local set-up's ports that parallel test files and a
 * running `npm start` are not using: random in 10000..19999, so every port
 * stays below the kernel's ephemeral range (32768+) where port-0 sockets of
 * other tests land, and checked free port by port (different offsets can
 * overlap: 7400 + a = 7300 + a + 100). Synchronous (a short child process)
 * because test files compute their addresses at load time.
 */
export function randomPortOffset(): number {
  const script = `
    const net = require('net');
    const ports = ${JSON.stringify(BASE_PORTS)};
    const free = (p) => new Promise((r) => { const s = net.createServer(); s.once('error', () => r(false)); s.listen(p, '127.0.0.1', () => s.close(() => r(true))); });
    (async () => {
      for (let i = 0; i < 200; i++) {
        const off = 10000 + Math.floor(Math.random() * 10000);
        if ((await Promise.all(ports.map((p) => free(p + off)))).every(Boolean)) { process.stdout.write(String(off)); return; }
      }
      process.exit(1);
    })();`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 }));
}

export interface Launcher {
  proc: ChildProcess;
  ready: Promise<void>;
  lines: string[];
}

export function startLauncher(dataDir: string, offset: number, extraArgs: string[] = []): Launcher {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'cli/start.ts'), '--data-dir', dataDir, '--port-offset', String(offset), '--osds', '12', ...extraArgs],
    {
      cwd: ROOT,
      env: { ...process.env, MGR_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      lines.push(l);
      if (l.includes('] ready:')) resolve();
    });
    readline.createInterface({ input: proc.stderr! }).on('line', (l) => lines.push(l));
    proc.once('exit', (code) => reject(new Error(`launcher exited with ${code}:\n${lines.join('\n')}`)));
  });
  return { proc, ready, lines };
}

export async function stopLauncher(l: Launcher | undefined): Promise<void> {
  if (!l || l.proc.exitCode !== null || l.proc.signalCode !== null) return;
  const exited = new Promise((r) => l.proc.once('exit', r));
  l.proc.kill('SIGINT');
  await exited;
}

/**
 * The local set-up's processes (cli/start.ts's list) started one by one,
 * so a test can kill -9, SIGTERM and restart a single service.
 */
export class ProcessSet {
  readonly procs = new Map<string, ChildProcess>();
  readonly output = new Map<string, string[]>();

  constructor(
    private readonly specs: Array<{ name: string; script: string; env: Record<string, string>; waitFor?: string }>,
    private readonly baseEnv: Record<string, string> = {},
  ) {}

  start(name: string): ChildProcess {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) throw new Error(`no process named ${name}`);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, spec.script)], {
      cwd: ROOT,
      env: { ...process.env, MGR_LOG_LEVEL: 'info', ...this.baseEnv, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    this.output.set(name, lines);
    for (const s of [child.stdout!, child.stderr!]) readline.createInterface({ input: s }).on('line', (l) => lines.push(l));
    this.procs.set(name, child);
    return child;
  }

  /** Starts them in order, each after the one before is serving (as `npm start` does). */
  async startAll(timeoutMs = 90000): Promise<void> {
    for (const s of this.specs) {
      const child = this.start(s.name);
      if (s.waitFor)
        await waitServing(s.waitFor, timeoutMs, child).catch((e) => Promise.reject(new Error(`${s.name}: ${(e as Error).message}\n${this.tail(s.name)}`)));
    }
  }

  /** Sends `signal` and waits for the exit; resolves with the exit code (null when killed by a signal). */
  async kill(name: string, signal: NodeJS.Signals): Promise<number | null> {
    const child = this.procs.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return exited;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.procs.keys()].map(async (n) => {
        const child = this.procs.get(n)!;
        const t = setTimeout(() => child.kill('SIGKILL'), 10000);
        await this.kill(n, 'SIGTERM');
        clearTimeout(t);
      }),
    );
  }

  /** The last lines a process printed, for failure messages. */
  tail(name: string, n = 30): string {
    return (this.output.get(name) ?? []).slice(-n).join('\n');
  }
}

/**
 * `npm start --ceph-conf`'s process list for a test Ceph cluster (its admin
 * keyring makes each manager's mgr.<name> key): cluster-state, ceph-feed,
 * standby on its ceph backend, and each manager's module-host and daemon-server.
 */
export function cephProcesses(
  dataDir: string,
  portOffset: number,
  cluster: { confPath: string; keyringPath: string; fsid: string },
  managers: string[],
): ReturnType<typeof localProcesses> {
  return localProcesses({
    dataDir,
    host: '127.0.0.1',
    osds: 0,
    sim: false,
    backend: 'embedded',
    etcd: '',
    portOffset,
    ceph: { conf: cluster.confPath, keyring: cluster.keyringPath, name: 'client.admin', fsid: cluster.fsid },
    managers,
  });
}
