// One module's life on the host side: its worker thread, the requests in
// flight with their deadlines, its notify queue, the watchdog, and the
// transition to "failed" when anything goes wrong. One runner never waits
// for another, which is the whole point (Ceph Pacific shares one finisher).
import { Worker } from 'worker_threads';
import * as path from 'path';
import type { HostToModule, ModuleToHost, ModuleDeclaration } from './protocol';

/**
 * 'loaded': the module's code is loaded in its worker (or process) and
 * nothing of it runs: a standby manager keeps the modules that have no
 * standby part so, and promotion only has to start them (a message), not
 * spawn and load them.
 */
export type ModuleState = 'stopped' | 'loading' | 'loaded' | 'starting' | 'running' | 'standby' | 'failed' | 'cannot_run';

export class ModuleTimeout extends Error {}

/** The module stopped (failed, was disabled, or its manager stood down) while a request waited. */
export class ModuleStopped extends Error {}

/** What a module holds, in bytes, and what that is made of (for the failure message). */
export interface ModuleMemory {
  bytes: number;
  parts: string;
}

export interface RunnerDeps {
  mgrId: string;
  /** Answers a module's API call (get, setStore, ...). */
  api(module: string, method: string, args: unknown[]): Promise<unknown>;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** The module failed, was stopped, or recovered: the host recomputes health. */
  changed(runner: ModuleRunner): void;
  /**
   * The worker's V8 heap limit; maxOldGenerationSizeMb is also the bound on
   * the module's whole memory (heap plus Buffers/ArrayBuffers, checked with
   * every heartbeat).
   */
  limits: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb?: number };
  /** Heartbeat deadline: a worker that does not answer is spinning or wedged. */
  watchdogMs: number;
  notifyTimeoutMs: number;
  observeNotify?(module: string, seconds: number, queued: number): void;
  /** A notify dropped because the same (type, id) was already queued. */
  observeCoalesced?(module: string): void;
}

const MB = 1024 * 1024;

/**
 * The worker's first lines. Compiled (dist/), the worker is JavaScript and
 * so are the built-in modules; a module given as TypeScript (a module folder
 * with index.ts, MGR_MODULE_PATH), or the host itself running from source,
 * loads tsx first.
 */
function workerBoot(entry: string): string {
  const source = path.extname(__filename) === '.ts';
  const worker = path.join(__dirname, source ? 'worker.ts' : 'worker.js');
  const tsx = source || entry.endsWith('.ts') ? `require(${JSON.stringify(require.resolve('tsx/cjs'))}); ` : '';
  return `${tsx}require(${JSON.stringify(worker)});`;
}

/**
 * What a runner drives: a worker thread, or (python-runner.ts) a Python
 * process speaking the same protocol.ts messages over a pipe.
 */
export interface ModuleTransport {
  postMessage(m: HostToModule): void;
  terminate(): Promise<unknown>;
  on(event: 'message', fn: (m: ModuleToHost) => void): unknown;
  on(event: 'error', fn: (e: Error & { code?: string }) => void): unknown;
  on(event: 'exit', fn: (code: number) => void): unknown;
}

export class ModuleRunner {
  /** "typescript" or "python" (ListModules' runtime). */
  readonly runtime: string = 'typescript';
  state: ModuleState = 'stopped';
  errorString = '';
  declaration: ModuleDeclaration | null = null;
  private worker: ModuleTransport | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout }>();
  private queue: Array<{ type: string; id: string; at: number }> = [];
  private queued = new Set<string>();
  private notifying = false;
  /** The module's log lines not yet written (logLater). */
  private lines: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; msg: string }> = [];
  private watchdog: NodeJS.Timeout | null = null;
  private generation = 0;

  constructor(
    readonly name: string,
    readonly entry: string,
    protected deps: RunnerDeps,
  ) {}

  get queueDepth(): number {
    return this.queue.length;
  }

  /** Loads the module to read its declaration, then stops (for modules not enabled). */
  async probe(): Promise<ModuleDeclaration | null> {
    if (this.declaration) return this.declaration;
    await this.load();
    const d = this.declaration;
    if (this.state !== 'failed') await this.stop();
    return d;
  }

  /**
   * Loads the module (if needed) and starts its active or standby part; a
   * module with no standby part is only loaded on a standby.
   */
  async start(active: boolean, options: Record<string, unknown>): Promise<void> {
    if (this.state === 'running' || this.state === 'standby' || this.state === 'starting') return;
    if (this.state === 'loaded' && !active) return;
    if (!this.worker) await this.load();
    if (this.state === 'failed' || !this.declaration) return;
    if (active && !this.declaration.canRun[0]) {
      this.state = 'cannot_run';
      this.errorString = this.declaration.canRun[1];
      this.deps.log('warn', 'module cannot run', { module: this.name, reason: this.errorString });
      await this.terminate();
      this.deps.changed(this);
      return;
    }
    if (!active && !this.declaration.hasStandby) {
      this.state = 'loaded';
      return;
    }
    this.state = 'starting';
    this.deps.log('debug', active ? 'starting module' : 'starting module standby part', { module: this.name, runtime: this.runtime });
    try {
      await this.request({ kind: 'start', id: 0, active, mgrId: this.deps.mgrId, options }, 10000);
    } catch (e) {
      this.fail(`start failed: ${(e as Error).message}`);
      return;
    }
    if ((this.state as ModuleState) === 'failed') return;
    this.state = active ? 'running' : 'standby';
    this.errorString = '';
    this.startWatchdog();
    this.deps.log('info', active ? 'module started' : 'module standby part started', { module: this.name });
    this.deps.changed(this);
  }

  /** Asks the module to shut down, then ends its worker (bounded). */
  async stop(graceMs = 2000): Promise<void> {
    const wasRunning = this.state === 'running' || this.state === 'standby';
    if (this.worker && wasRunning) {
      await this.request({ kind: 'shutdown', id: 0 }, graceMs).catch(() => undefined);
    }
    await this.terminate();
    this.writeLines();
    if (this.state !== 'failed') this.state = 'stopped';
    if (wasRunning) {
      this.deps.log('info', 'module stopped', { module: this.name });
      this.deps.changed(this);
    }
  }

  /** Clears a failure so the module may be started again. */
  reset(): void {
    if (this.state === 'failed' || this.state === 'cannot_run') {
      this.state = 'stopped';
      this.errorString = '';
      // The declaration stays (the next load refreshes it): a module that
      // failed and was disabled still lists its commands and can_run, so it
      // can be enabled again.
    }
  }

  command(inbuf: string, cmd: Record<string, unknown>, timeoutMs: number): Promise<[number, string, string]> {
    return this.request({ kind: 'command', id: 0, inbuf, cmd }, timeoutMs) as Promise<[number, string, string]>;
  }

  selfTest(timeoutMs: number): Promise<string> {
    return this.request({ kind: 'self_test', id: 0 }, timeoutMs) as Promise<string>;
  }

  /**
   * Runs selfTest() in a fresh worker with no serve(): how `<module>
   * self-test` still answers after the module failed (as in Ceph).
   */
  async selfTestFresh(timeoutMs: number): Promise<string> {
    const Runner = this.constructor as new (name: string, entry: string, deps: RunnerDeps) => ModuleRunner;
    const fresh = new Runner(this.name, this.entry, { ...this.deps, changed: () => undefined, log: () => undefined });
    try {
      await fresh.load();
      if (fresh.state === 'failed') throw new Error(fresh.errorString);
      await fresh.request({ kind: 'start', id: 0, active: true, mgrId: this.deps.mgrId, options: {}, serve: false }, timeoutMs);
      return (await fresh.selfTest(timeoutMs)) || 'ok';
    } finally {
      await fresh.terminate();
    }
  }

  remote(method: string, args: unknown[], timeoutMs: number, kwargs?: Record<string, unknown>): Promise<unknown> {
    return this.request({ kind: 'remote', id: 0, method, args, ...(kwargs && Object.keys(kwargs).length ? { kwargs } : {}) }, timeoutMs);
  }

  configNotify(): void {
    if (this.state !== 'running') return;
    this.request({ kind: 'config_notify', id: 0, options: {} }, this.deps.notifyTimeoutMs).catch((e) =>
      this.deps.log('warn', 'config_notify failed', { module: this.name, error: (e as Error).message }),
    );
  }

  /** The host's copy of the module option `key` (null: of any) was dropped: the worker drops its own. */
  optionChanged(key: string | null): void {
    this.post({ kind: 'option_changed', id: 0, key });
  }

  /** Queues notify(type, id) unless the same pair is already waiting. */
  notify(type: string, id: string): void {
    if (this.state !== 'running' || !this.declaration?.notifyTypes.includes(type)) return;
    const key = `${type}\u0000${id}`;
    if (this.queued.has(key)) {
      this.deps.observeCoalesced?.(this.name);
      return;
    }
    this.queued.add(key);
    this.queue.push({ type, id, at: performance.now() });
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.notifying) return;
    this.notifying = true;
    try {
      while (this.queue.length && this.state === 'running') {
        const n = this.queue.shift()!;
        this.queued.delete(`${n.type}\u0000${n.id}`);
        try {
          await this.request({ kind: 'notify', id: 0, type: n.type, notifyId: n.id }, this.deps.notifyTimeoutMs);
          this.deps.observeNotify?.(this.name, (performance.now() - n.at) / 1000, this.queue.length);
        } catch (e) {
          if (e instanceof ModuleTimeout) this.deps.log('warn', 'notify did not return in time', { module: this.name, type: n.type });
          else this.deps.log('warn', 'notify raised', { module: this.name, type: n.type, error: (e as Error).message });
        }
      }
    } finally {
      this.notifying = false;
    }
  }

  /** Starts the module's worker thread (a subclass may start something else). */
  protected spawn(): ModuleTransport {
    return new Worker(workerBoot(this.entry), {
      eval: true,
      workerData: { entry: this.entry, name: this.name, mgrId: this.deps.mgrId },
      resourceLimits: this.deps.limits,
      // tsx compiles with esbuild; by default esbuild keeps a service child
      // process per thread, and a terminated worker leaves it as a zombie
      // (nobody waits for it). Synchronous one-shot runs are reaped at once.
      env: { ...process.env, ESBUILD_WORKER_THREADS: '0' },
      stdout: false,
      stderr: false,
    });
  }

  private load(): Promise<void> {
    this.state = 'loading';
    const gen = ++this.generation;
    const worker = this.spawn();
    this.worker = worker;
    return new Promise<void>((resolve) => {
      const done = () => resolve();
      worker.on('message', (m: ModuleToHost) => {
        if (gen !== this.generation) return;
        switch (m.kind) {
          case 'loaded':
            this.declaration = m.declaration;
            this.state = 'stopped';
            return done();
          case 'load_failed':
            this.fail(`failed to load: ${m.error}`);
            return done();
          default:
            this.onMessage(m);
        }
      });
      worker.on('error', (e: Error & { code?: string }) => {
        if (gen !== this.generation) return;
        const why =
          e.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `exceeded its memory limit (${this.deps.limits.maxOldGenerationSizeMb} MB) and was stopped`
            : `crashed: ${e.message}`;
        this.fail(why);
        done();
      });
      worker.on('exit', (code) => {
        if (gen !== this.generation) return;
        if (this.state !== 'failed' && this.state !== 'stopped' && this.state !== 'cannot_run') this.fail(`worker exited unexpectedly (code ${code})`);
        done();
      });
    });
  }

  private onMessage(m: ModuleToHost): void {
    switch (m.kind) {
      case 'reply': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(m.error));
        return;
      }
      case 'serve_ended':
        if (m.error) this.fail(m.error);
        return;
      case 'api':
        this.deps.api(this.name, m.method, m.args).then(
          (value) => this.post({ kind: 'api_result', id: m.id, ok: true, value }),
          (e) => this.post({ kind: 'api_result', id: m.id, ok: false, error: (e as Error).message }),
        );
        return;
      case 'log':
        this.logLater(m.level, m.msg);
        return;
    }
  }

  /**
   * A module's log line is written once the messages already waiting have
   * been handled: a command's answer usually waits right behind the line the
   * module logged while answering it, and is passed on first. Lines keep
   * their order, and are written even if the module fails meanwhile.
   */
  private logLater(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    if (!this.lines.length) setImmediate(() => this.writeLines());
    this.lines.push({ level, msg });
  }

  /** Writes the module's waiting log lines (also before the host says it failed or stopped, so they come first). */
  private writeLines(): void {
    const lines = this.lines;
    this.lines = [];
    for (const l of lines) this.deps.log(l.level, l.msg, { module: this.name, from: 'module' });
  }

  private post(m: HostToModule): void {
    try {
      this.worker?.postMessage(m);
    } catch {
      // The worker is gone; its pending requests are rejected by fail().
    }
  }

  private request(m: HostToModule, timeoutMs: number): Promise<unknown> {
    if (!this.worker) return Promise.reject(new ModuleStopped(`module '${this.name}' is not running`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ModuleTimeout(`module '${this.name}' did not answer ${m.kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.post({ ...m, id } as HostToModule);
    });
  }

  /**
   * The heartbeat: a module that does not answer within watchdogMs is
   * spinning or wedged; one whose memory (heap plus Buffers) is past its
   * limit is leaking. Either way it is stopped and failed. Sent at least
   * every second, so a leak is caught within about that.
   */
  private startWatchdog(): void {
    this.stopWatchdog();
    const every = Math.max(50, Math.min(1000, Math.floor(this.deps.watchdogMs / 2)));
    const limitMb = this.deps.limits.maxOldGenerationSizeMb;
    let inFlight = false;
    this.watchdog = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      this.request({ kind: 'heartbeat', id: 0 }, this.deps.watchdogMs).then(
        async (reply) => {
          const m = await this.memoryOf(reply);
          inFlight = false;
          if (m && m.bytes > limitMb * MB && (this.state === 'running' || this.state === 'standby')) {
            this.fail(
              `exceeded its memory limit (${limitMb} MB, MGR_MODULE_MEMORY_MB): ${Math.round(m.bytes / MB)} MB in use (${m.parts}); the module was stopped`,
            );
          }
        },
        (e) => {
          inFlight = false;
          if (e instanceof ModuleTimeout && (this.state === 'running' || this.state === 'standby')) {
            this.fail(`watchdog: no answer for ${this.deps.watchdogMs} ms (busy loop or blocked event loop); the module was stopped`);
          }
        },
      );
    }, every);
    this.watchdog.unref();
  }

  /** The module's memory from its heartbeat answer (a Python runner reads its process instead). */
  protected async memoryOf(reply: unknown): Promise<ModuleMemory | null> {
    const m = reply as { heapUsed?: unknown; external?: unknown } | null;
    if (!m || typeof m.heapUsed !== 'number' || typeof m.external !== 'number') return null;
    return { bytes: m.heapUsed + m.external, parts: `heap ${Math.round(m.heapUsed / MB)} MB, Buffers and ArrayBuffers ${Math.round(m.external / MB)} MB` };
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /** Marks the module failed and stops its worker; the others go on. */
  fail(reason: string): void {
    if (this.state === 'failed') return;
    this.writeLines();
    this.state = 'failed';
    this.errorString = reason;
    this.deps.log('error', `Module '${this.name}' has failed: ${reason}`, { module: this.name });
    void this.terminate();
    this.deps.changed(this);
  }

  private async terminate(): Promise<void> {
    this.stopWatchdog();
    const w = this.worker;
    this.worker = null;
    this.generation++;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ModuleStopped(this.state === 'failed' ? `module '${this.name}' failed: ${this.errorString}` : `module '${this.name}' stopped`));
    }
    this.pending.clear();
    this.queue = [];
    this.queued.clear();
    if (w) await w.terminate().catch(() => undefined);
  }
}
