// A sleep that can be ended early: modules' serve() loops (exported by the
// SDK, lib/mgr-module.ts) and the services' own periodic loops use it.
/**
 * A sleep that wake() ends early, for serve() loops: shutdown() and
 * configNotify() call wake(). A wake() while nobody sleeps is kept, so the
 * next wait() returns at once and no wake-up is lost.
 */
export class Waiter {
  private wakeFn: (() => void) | null = null;
  private pending = false;

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeFn = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeFn = done;
    });
  }

  wake(): void {
    if (this.wakeFn) this.wakeFn();
    else this.pending = true;
  }
}
