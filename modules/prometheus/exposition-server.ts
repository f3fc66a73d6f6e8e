// The module's handle on its serving thread (serve-thread.ts): start it,
// bind it, hand it each rebuilt body (the bytes move, they are not copied),
// tell it the options it answers by, stop it. The thread asks back for a
// rebuild when caching is off, and for log lines. Each ask carries a number,
// and each body the highest ask it answers (the asks that arrived before its
// collection began), so a scrape is answered only by a body begun after it.
import { Worker } from 'worker_threads';
import * as path from 'path';

/** What the serving thread answers by. */
export interface ServeState {
  cache: boolean;
  staleStrategy: string;
  /** scrape_interval, seconds: a body older than two of them is stale. */
  interval: number;
  /** The last collection error, told to scrapes that find no body yet. */
  lastError: string;
}

export type ToServeThread =
  | { type: 'listen'; addr: string; port: number }
  | { type: 'body'; body: ArrayBuffer; gz: ArrayBuffer; time: number; collectSeconds: number; answers: number }
  | { type: 'state'; state: ServeState }
  | { type: 'rebuild_failed'; answers: number }
  | { type: 'close' };

export type FromServeThread =
  | { type: 'listening'; port: number }
  | { type: 'listen_failed'; message: string }
  | { type: 'rebuild'; ask: number }
  | { type: 'log'; level: 'warn' | 'info'; message: string }
  | { type: 'closed' };

// Loaded the way module-host loads modules: the build's JavaScript, or (run from source) TypeScript through tsx.
const BOOT =
  path.extname(__filename) === '.ts'
    ? `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(__dirname, 'serve-thread.ts'))});`
    : `require(${JSON.stringify(path.join(__dirname, 'serve-thread.js'))});`;

/** An ArrayBuffer holding exactly these bytes that can be transferred (a pooled or shared one is copied first). */
function transferable(b: Buffer): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  return new Uint8Array(b).buffer as ArrayBuffer;
}

export class ExpositionServer {
  private readonly worker: Worker;
  private pendingListen: { resolve: (port: number) => void; reject: (e: Error) => void } | null = null;
  private closed: (() => void) | null = null;
  /** Set when the thread died: the module fails with it. */
  failure: Error | null = null;

  constructor(hooks: { log: (level: 'warn' | 'info' | 'error', message: string) => void; rebuild: (ask: number) => void }) {
    this.worker = new Worker(BOOT, { eval: true });
    this.worker.on('message', (m: FromServeThread) => {
      switch (m.type) {
        case 'listening':
          this.pendingListen?.resolve(m.port);
          this.pendingListen = null;
          break;
        case 'listen_failed':
          this.pendingListen?.reject(new Error(m.message));
          this.pendingListen = null;
          break;
        case 'rebuild':
          hooks.rebuild(m.ask);
          break;
        case 'log':
          hooks.log(m.level, `prometheus: ${m.message}`);
          break;
        case 'closed':
          this.closed?.();
          break;
      }
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      hooks.log('error', `prometheus: the serving thread failed: ${e.message}`);
      this.pendingListen?.reject(e);
      this.closed?.();
    });
    this.worker.on('exit', () => this.closed?.());
  }

  /** Binds; rejects with a message naming the address and why. */
  listen(addr: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pendingListen = { resolve, reject };
      this.worker.postMessage({ type: 'listen', addr, port } satisfies ToServeThread);
    });
  }

  /**
   * Hands over a rebuilt body and its gzip copy; the Buffers are unusable afterwards (their bytes moved).
   * `answers`: the highest rebuild ask that had arrived when this body's collection began.
   */
  publish(body: Buffer, gz: Buffer, time: number, collectSeconds: number, answers: number): void {
    const b = transferable(body);
    const g = transferable(gz);
    this.worker.postMessage({ type: 'body', body: b, gz: g, time, collectSeconds, answers } satisfies ToServeThread, [b, g]);
  }

  setState(state: ServeState): void {
    this.worker.postMessage({ type: 'state', state } satisfies ToServeThread);
  }

  /** A rebuild asked for by scrapes failed: the scrapes up to ask `answers` get the last body (or 503). */
  rebuildFailed(answers: number): void {
    this.worker.postMessage({ type: 'rebuild_failed', answers } satisfies ToServeThread);
  }

  /** Stops listening, closes connections, ends the thread. */
  async close(): Promise<void> {
    if (!this.failure) {
      const done = new Promise<void>((r) => (this.closed = r));
      this.worker.postMessage({ type: 'close' } satisfies ToServeThread);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    }
    await this.worker.terminate();
  }
}
