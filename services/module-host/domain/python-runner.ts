// A Python module's life on the host side: the same ModuleRunner (requests,
// deadlines, notify queue, watchdog, failure), driving one /usr/bin/python3
// process per module instead of a worker thread. The process runs
// python/mgr_worker.py, which speaks protocol.ts's messages as JSON lines:
// host -> worker on fd 3, worker -> host on fd 4. stdout/stderr stay free
// for the module's own prints, which are logged.
import { spawn, ChildProcess } from 'child_process';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import type { Writable, Readable } from 'stream';
import { ModuleMemory, ModuleRunner, ModuleTransport, RunnerDeps } from './module-runner';
import type { HostToModule, ModuleDeclaration } from './protocol';
import { PythonApi, PythonRuntime } from './python-api';

export const PYTHON_DIR = path.resolve(__dirname, '../python');
const WORKER = path.join(PYTHON_DIR, 'mgr_worker.py');
const PROBE = path.join(PYTHON_DIR, 'mgr_probe.py');

/** Whether the host's get() has each of `names` (answered from its cache, so polling costs no map transfers). */
export async function haveMaps(hostGet: (name: string) => Promise<boolean>, names: string[]): Promise<boolean[]> {
  return Promise.all(names.map((n) => hostGet(n).catch(() => false)));
}

/** Polls until `names` are all there (see PythonRuntime.mapsReady); false if `signal` aborts first. */
export async function waitForMaps(
  hostGet: (name: string) => Promise<boolean>,
  names: string[],
  signal: AbortSignal,
  log: RunnerDeps['log'],
  everyMs = 500,
): Promise<boolean> {
  let logged = false;
  while (!signal.aborted) {
    const have = await haveMaps(hostGet, names);
    if (have.every(Boolean)) {
      if (logged) log('info', "the cluster's maps are in cluster-state: starting Ceph's modules", { maps: names });
      return true;
    }
    if (!logged) log('info', "waiting for the cluster's maps before starting Ceph's modules (as ceph-mgr does)", { missing: names.filter((_, i) => !have[i]) });
    logged = true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, everyMs);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
  return false;
}

export interface PythonRunnerDeps extends RunnerDeps {
  python: PythonRuntime;
  /** Declarations read for many modules at once (mgr_probe.py), instead of a process each. */
  batchProbe?: () => Promise<Map<string, ModuleDeclaration>>;
}

/**
 * Reads the declarations of `modules` with one python3 (mgr_probe.py: Ceph's
 * mgr_module imported once, each module loaded in a fork()ed child). Modules
 * missing from the answer (an error, a timeout, no python3) are left to their
 * own process.
 */
export function probeMany(
  rt: Pick<PythonRuntime, 'python' | 'cephMgrDir'>,
  mgrId: string,
  modules: Array<{ name: string; dir: string }>,
  log: RunnerDeps['log'],
  timeoutMs = 60000,
): Promise<Map<string, ModuleDeclaration>> {
  const found = new Map<string, ModuleDeclaration>();
  if (!modules.length || !fs.existsSync(rt.python)) return Promise.resolve(found);
  return new Promise((resolve) => {
    const child = spawn(rt.python, [PROBE, rt.cephMgrDir, mgrId], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    const timer = setTimeout(() => {
      log('warn', 'reading Python module declarations took too long; loading the rest one process each', { timeoutMs });
      child.kill('SIGKILL');
    }, timeoutMs);
    readline.createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      try {
        const r = JSON.parse(line) as { name: string; declaration?: ModuleDeclaration; error?: string };
        if (r.declaration) found.set(r.name, r.declaration);
        else log('debug', 'python module probe failed; it will load in its own process', { module: r.name, error: r.error });
      } catch {
        // Not ours: ignored (the module's output goes to stderr).
      }
    });
    readline.createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      if (line.trim()) log('debug', line, { from: 'mgr_probe' });
    });
    const done = () => {
      clearTimeout(timer);
      resolve(found);
    };
    child.on('error', done);
    child.on('close', done);
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(JSON.stringify(modules.map((m) => [m.name, m.dir])));
  });
}

/** How long a worker may take to exit after its pipe closes before it is killed. */
const KILL_AFTER_MS = 1500;

class PythonProcess extends EventEmitter implements ModuleTransport {
  private child: ChildProcess | null = null;
  private toWorker: Writable | null = null;
  private exited: Promise<void>;

  constructor(
    private name: string,
    dir: string,
    rt: PythonRuntime,
    mgrId: string,
    log: RunnerDeps['log'],
  ) {
    super();
    let markExited!: () => void;
    this.exited = new Promise((r) => (markExited = r));
    if (!fs.existsSync(rt.python)) {
      // Not a failure of the module: it cannot run on this machine.
      const reason = `${rt.python} not found: install Debian's python3 (and ceph-mgr, python3-rados, python3-ceph-argparse)`;
      setImmediate(() =>
        this.emit('message', { kind: 'loaded', declaration: { commands: [], options: [], notifyTypes: [], canRun: [false, reason], hasStandby: false } }),
      );
      markExited();
      return;
    }
    const child = spawn(rt.python, [WORKER, name, dir, rt.cephMgrDir, mgrId], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' },
    });
    this.child = child;
    this.toWorker = child.stdio[3] as Writable;
    // A dead worker's pipe errors (EPIPE); its exit is what reports it.
    this.toWorker.on('error', () => undefined);
    const fromWorker = readline.createInterface({ input: child.stdio[4] as Readable, crlfDelay: Infinity });
    fromWorker.on('line', (line) => {
      if (!line) return;
      let m: unknown;
      try {
        m = JSON.parse(line);
      } catch {
        log('warn', 'python worker sent a line that is not JSON', { module: name, line: line.slice(0, 200) });
        return;
      }
      this.emit('message', m);
    });
    for (const [stream, level] of [
      [child.stdout!, 'info'],
      [child.stderr!, 'warn'],
    ] as const) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        if (line.trim()) log(level, line, { module: name, from: stream === child.stdout ? 'stdout' : 'stderr' });
      });
    }
    child.on('error', (e) => this.emit('error', e));
    child.on('exit', (code, signal) => {
      markExited();
      this.emit('exit', code ?? (signal ? `${signal}` : -1));
    });
  }

  postMessage(m: HostToModule): void {
    if (!this.toWorker || this.toWorker.destroyed) throw new Error(`python worker of '${this.name}' is gone`);
    this.toWorker.write(JSON.stringify(m) + '\n');
  }

  /** Closes the worker's input (it exits on EOF); kills it if it lingers. */
  async terminate(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.toWorker?.end();
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await this.exited;
      clearTimeout(timer);
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
}

/**
 * At most this many Python processes load at once at start-up: Ceph ships
 * about 27 modules, and 27 interpreters importing at the same time on a
 * small machine cost more memory and time than a queue of them.
 */
const LOAD_CONCURRENCY = 4;
let loading = 0;
const waiting: Array<() => void> = [];
async function loadSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (loading >= LOAD_CONCURRENCY) await new Promise<void>((r) => waiting.push(r));
  loading++;
  try {
    return await fn();
  } finally {
    loading--;
    waiting.shift()?.();
  }
}

export class PythonModuleRunner extends ModuleRunner {
  override readonly runtime: string = 'python';
  private rt: PythonRuntime;
  private proc: PythonProcess | null = null;
  /** An active start waiting for the cluster's maps. */
  private deferred: { options: Record<string, unknown> } | null = null;

  /** entry: the module's folder (holding __init__.py). */
  constructor(name: string, entry: string, deps: RunnerDeps) {
    const rt = (deps as PythonRunnerDeps).python;
    const api = new PythonApi(name, rt, deps.mgrId, deps.log);
    // The module's `_ceph_*` calls are served by PythonApi, on top of the
    // host API (always the host's own, so a copy of these deps wraps nothing twice).
    super(name, entry, { ...deps, api: (_module, method, args) => api.call(method, args) });
    this.rt = rt;
  }

  /**
   * An active start waits for the cluster's maps without holding up the
   * host (it serves, and runs the other modules, meanwhile); a module that
   * cannot run (no python3, a missing dependency) says so at once.
   */
  override async start(active: boolean, options: Record<string, unknown>): Promise<void> {
    this.deferred = null;
    if (!active || this.declaration?.canRun[0] === false || (await this.rt.mapsPresent())) return super.start(active, options);
    const token = (this.deferred = { options });
    void this.rt.mapsReady().then((ready) => {
      // Stopped, or started otherwise, while it waited: nothing to do. (A
      // module kept loaded from the standby is 'loaded', not 'stopped'.)
      if (!ready || this.deferred !== token || (this.state !== 'stopped' && this.state !== 'loaded')) return;
      this.deferred = null;
      return super.start(true, options);
    });
  }

  /** A Python module keeps no copy of its options (its reads go to the host each time). */
  override optionChanged(): void {}

  override async stop(graceMs?: number): Promise<void> {
    this.deferred = null;
    return super.stop(graceMs);
  }

  override async probe(): Promise<ModuleDeclaration | null> {
    if (this.declaration) return this.declaration;
    const batch = (this.deps as PythonRunnerDeps).batchProbe;
    const d = batch ? (await batch()).get(this.name) : undefined;
    if (d) {
      this.declaration = d;
      return d;
    }
    return loadSlot(() => super.probe());
  }

  protected override spawn(): ModuleTransport {
    this.proc = new PythonProcess(this.name, path.dirname(this.entry), this.rt, this.deps.mgrId, this.deps.log);
    return this.proc;
  }

  /**
   * A Python module is a process of its own: its whole memory is its
   * resident set, read from /proc (counted against the same limit).
   */
  protected override async memoryOf(): Promise<ModuleMemory | null> {
    const pid = this.proc?.pid;
    if (!pid) return null;
    try {
      const status = await fs.promises.readFile(`/proc/${pid}/status`, 'utf8');
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
      return Number.isFinite(kb) ? { bytes: kb * 1024, parts: `resident set of its Python process ${pid}` } : null;
    } catch {
      return null; // gone, or not Linux
    }
  }

  /** The worker's process id while it runs (tests kill it to check containment). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }
}
