// The latest MgrMap and the few before it, for GetMgrMap and WatchMgrMap:
// a watcher gets every epoch in order, or the newest map at once if it fell
// further behind than the history (each map is complete, so nothing is lost
// but intermediate states).
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';

export const FEED_HISTORY = 64;

export class MapFeed {
  private history: MgrMap[] = [];
  private waiters = new Set<() => void>();

  latest(): MgrMap | undefined {
    return this.history[this.history.length - 1];
  }

  /** Records a map; older or equal epochs are ignored. Returns whether it was new. */
  publish(map: MgrMap): boolean {
    const cur = this.latest();
    if (cur && map.epoch <= cur.epoch) return false;
    this.history.push(map);
    if (this.history.length > FEED_HISTORY) this.history.splice(0, this.history.length - FEED_HISTORY);
    const w = [...this.waiters];
    this.waiters.clear();
    for (const wake of w) wake();
    return true;
  }

  /** The map a watcher that has seen `lastSent` should get next, if any. */
  private next(lastSent: number): MgrMap | undefined {
    const cur = this.latest();
    if (!cur || cur.epoch <= lastSent) return undefined;
    if (lastSent === 0) return cur;
    const following = this.history.find((m) => m.epoch === lastSent + 1);
    return following ?? cur;
  }

  /** The current map (if newer than afterEpoch), then every new epoch, until aborted. */
  async *watch(afterEpoch: number, signal: AbortSignal): AsyncGenerator<MgrMap> {
    let lastSent = afterEpoch;
    while (!signal.aborted) {
      const m = this.next(lastSent);
      if (m) {
        lastSent = m.epoch;
        yield m;
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }
}
