// The audit lines on their way to the cluster log. A command never waits
// for its audit line: lines are queued and sent in batches, one
// AppendClusterLog call at a time, after a short delay (as Ceph's LogClient
// queues its entries and sends them together). So the answer goes out
// first, and under load one call carries many lines instead of one call
// per command. Memory is bounded: past `maxQueued` the oldest lines are
// dropped and counted.
import type { AuditPriority } from './command-path';

/** One line as cluster-state's AppendClusterLog takes it. */
export interface AuditEntry {
  message: string;
  priority: AuditPriority;
  /** When it happened (s since the epoch), taken when queued, not when sent. */
  stamp: number;
}

export interface AuditLogOptions {
  /** Sends a batch to the cluster log (cluster-state's AppendClusterLog). */
  send(entries: AuditEntry[]): Promise<void>;
  /** A batch that could not be sent, or lines dropped: said, never thrown. */
  onLost(count: number, reason: string): void;
  /** How long a line may wait for others to go with it (ms). */
  delayMs?: number;
  /** Most lines in one call. */
  maxBatch?: number;
  /** Most lines waiting; beyond it the oldest are dropped. */
  maxQueued?: number;
  now?: () => number;
}

export const AUDIT_DELAY_MS = 20;
export const AUDIT_MAX_BATCH = 500;
export const AUDIT_MAX_QUEUED = 10_000;

export class AuditLog {
  private queue: AuditEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private readonly delayMs: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly now: () => number;

  constructor(private readonly opts: AuditLogOptions) {
    this.delayMs = opts.delayMs ?? AUDIT_DELAY_MS;
    this.maxBatch = opts.maxBatch ?? AUDIT_MAX_BATCH;
    this.maxQueued = opts.maxQueued ?? AUDIT_MAX_QUEUED;
    this.now = opts.now ?? Date.now;
  }

  /** Queues one line; it is sent within about delayMs (later while a call is in flight). */
  append(message: string, priority: AuditPriority): void {
    this.queue.push({ message, priority, stamp: this.now() / 1000 });
    if (this.queue.length > this.maxQueued) {
      const dropped = this.queue.length - this.maxQueued;
      this.queue.splice(0, dropped);
      this.opts.onLost(dropped, `more than ${this.maxQueued} audit lines waiting (is cluster-state slow?)`);
    }
    this.schedule();
  }

  /** Lines waiting to be sent (for tests and shutdown). */
  get pending(): number {
    return this.queue.length;
  }

  /** Sends everything queued now and waits for it, at most `maxWaitMs` (shutdown: a silent cluster-state must not hold it up). */
  async flush(maxWaitMs: number): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let timeout: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(true), maxWaitMs)));
    try {
      while (this.sending || this.queue.length) {
        if (await Promise.race([this.sendBatch().then(() => false), gaveUp])) {
          if (this.queue.length) this.opts.onLost(this.queue.length, `cluster-state did not take them within ${maxWaitMs} ms of shutdown`);
          this.queue = [];
          return;
        }
      }
    } finally {
      clearTimeout(timeout);
    }
  }

  private schedule(): void {
    if (this.timer || this.sending) return; // the call in flight sends the rest when it ends
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sendBatch();
    }, this.delayMs);
    this.timer.unref();
  }

  private sendBatch(): Promise<void> {
    if (this.sending) return this.sending; // one call at a time: its end sends what came meanwhile
    const batch = this.queue.splice(0, this.maxBatch);
    if (!batch.length) return Promise.resolve();
    this.sending = this.opts
      .send(batch)
      .catch((e) => this.opts.onLost(batch.length, (e as Error)?.message ?? String(e)))
      .finally(() => {
        this.sending = null;
        if (this.queue.length) this.schedule();
      });
    return this.sending;
  }
}
