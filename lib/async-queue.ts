// A small async queue: what one side pushes, the other reads with
// `for await`; the request or response side of a bidi stream, or the
// messages of a raw stream's call (lib/raw-stream.ts).

export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter?: (r: IteratorResult<T>) => void;
  private ended = false;

  /** `onWait`: called when a reader finds the queue empty and waits (a raw stream then asks grpc-js for the next message). */
  constructor(private readonly onWait?: () => void) {}

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w({ value: item, done: false });
    } else this.items.push(item);
  }

  end(): void {
    this.ended = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
          this.onWait?.();
        });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
