// Runs the authority for whoever owns it (the embedded replica, or the etcd
// leader): one operation at a time, and a changed map is made durable
// before the call that changed it is answered. If the write fails the
// authority goes back to the last durable map, so nothing that was never
// stored is ever seen.
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import { MgrMapAuthority, AuthorityOptions } from './authority';

export interface DurableStore {
  /** Stores the map; rejects if it could not (or, on etcd, if we are no longer leader). */
  save(map: MgrMap): Promise<void>;
  /**
   * Proves the owner may still answer for the map (etcd: still leader),
   * used before answering a beacon that changed nothing. Optional.
   */
  confirm?(): Promise<void>;
}

export interface RunnerOptions extends Omit<AuthorityOptions, 'onChange'> {
  /** Every durable new map and why it changed. */
  onCommitted(map: MgrMap, why: string): void;
}

export class AuthorityRunner {
  readonly authority: MgrMapAuthority;
  private queue: Promise<unknown> = Promise.resolve();
  private durable: MgrMap;
  private why = '';
  private timer: NodeJS.Timeout | null = null;
  private tickQueued = false;
  private stopped = false;

  constructor(
    map: MgrMap,
    private store: DurableStore,
    private opts: RunnerOptions,
  ) {
    this.durable = map;
    this.authority = new MgrMapAuthority(structuredClone(map), {
      graceMs: opts.graceMs,
      beaconIntervalMs: opts.beaconIntervalMs,
      now: opts.now,
      wallNow: opts.wallNow,
      onChange: (_m, why) => {
        this.why = why;
      },
    });
  }

  current(): MgrMap {
    return this.durable;
  }

  /** Runs `op` after every earlier one; stores the map if it changed. */
  run<T>(op: (a: MgrMapAuthority) => T, confirm = false): Promise<T> {
    const p = this.queue.then(() => this.apply(op, confirm));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async apply<T>(op: (a: MgrMapAuthority) => T, confirm: boolean): Promise<T> {
    if (this.stopped) throw new RunnerStopped();
    const before = this.authority.current();
    const result = op(this.authority);
    const after = this.authority.current();
    if (after !== before) {
      try {
        await this.store.save(after);
      } catch (e) {
        this.authority.restore(this.durable);
        throw e;
      }
      this.durable = after;
      this.opts.onCommitted(after, this.why);
    } else if (confirm && this.store.confirm) {
      await this.store.confirm();
    }
    return result;
  }

  /** Ticks every `periodMs` (never more than one queued). */
  startTicking(periodMs: number, onError: (e: unknown) => void): void {
    this.timer = setInterval(() => {
      if (this.tickQueued || this.stopped) return;
      this.tickQueued = true;
      this.run((a) => a.tick())
        .catch(onError)
        .finally(() => {
          this.tickQueued = false;
        });
    }, periodMs);
    this.timer.unref();
  }

  /** Stops ticking; waits for the operation in progress. Later calls reject. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const last = this.queue;
    this.stopped = true;
    await last;
  }
}

export class RunnerStopped extends Error {
  constructor() {
    super('the authority on this replica has stopped (shutting down or no longer leader)');
  }
}
