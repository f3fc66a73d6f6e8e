// The change feed behind Watch: every change gets the next sequence number
// and sits in a ring of the last N events. Watchers read the ring with their
// own cursor, so a slow watcher costs no memory and blocks nobody: when it
// falls further behind than the ring holds, it is told to resynchronise.

export interface ChangeEvent {
  seq: number;
  type: string;
  id: string;
  epoch: number;
}

export type WatchItem = { kind: 'notify'; event: ChangeEvent } | { kind: 'resync'; seq: number; message: string };

export class ChangeFeed {
  private ring: Array<ChangeEvent | undefined>;
  private seq = 0;
  private wake: { promise: Promise<void>; resolve: () => void };

  constructor(readonly backlog: number) {
    if (!(backlog >= 1)) throw new Error(`watch backlog must be at least 1, got ${backlog}`);
    this.ring = new Array(backlog);
    this.wake = ChangeFeed.deferred();
  }

  private static deferred() {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** The oldest sequence number still held (lastSeq + 1 when empty). */
  get oldestSeq(): number {
    return Math.max(1, this.seq - this.backlog + 1);
  }

  publish(type: string, id: string, epoch: number): number {
    const event: ChangeEvent = { seq: ++this.seq, type, id, epoch };
    this.ring[event.seq % this.backlog] = event;
    const wake = this.wake;
    this.wake = ChangeFeed.deferred();
    wake.resolve();
    return event.seq;
  }

  /**
   * Yields the events after afterSeq (0: only new ones) that match types
   * (empty: all), then live events, until signal aborts.
   */
  async *watch(afterSeq: number, types: string[], signal: AbortSignal): AsyncGenerator<WatchItem> {
    const wanted = types.length ? new Set(types) : null;
    let cursor = afterSeq === 0 ? this.seq : afterSeq;
    if (cursor > this.seq) {
      // The watcher saw sequence numbers this server never issued (a restart).
      yield { kind: 'resync', seq: this.seq, message: `seq ${afterSeq} is ahead of this server's last seq ${this.seq} (it restarted): re-read state with Get` };
      cursor = this.seq;
    }
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    while (!signal.aborted) {
      if (cursor < this.seq) {
        if (cursor + 1 < this.oldestSeq) {
          const missed = this.oldestSeq - cursor - 1;
          yield {
            kind: 'resync',
            seq: this.seq,
            message: `${missed} event(s) after seq ${cursor} are no longer kept (backlog ${this.backlog}): re-read state with Get`,
          };
          cursor = this.seq;
          continue;
        }
        const event = this.ring[(cursor + 1) % this.backlog]!;
        cursor = event.seq;
        if (!wanted || wanted.has(event.type)) yield { kind: 'notify', event };
        continue;
      }
      await Promise.race([this.wake.promise, aborted]);
    }
  }
}
