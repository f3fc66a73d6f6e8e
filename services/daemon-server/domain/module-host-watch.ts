// Is this manager's module-host up? Followed through its gRPC health Watch
// stream rather than polled: a module-host whose process dies drops the
// connection, so the stream ends within milliseconds; one that is starting
// or shutting down reports NOT_SERVING on it. What daemon-server does with
// the answer (stop saying it is available, resign as active so a standby
// takes over) is in beacon.ts; this file only keeps the state.
export type ModuleHostState = 'up' | 'not_ready' | 'down';

export interface ModuleHostWatchDeps {
  /**
   * module-host's health, as a stream of "serving?" answers, until `signal`
   * aborts; throws (or ends) when the connection is lost.
   */
  watch(signal: AbortSignal): AsyncIterable<boolean>;
  /** Each change of state, with why. */
  onChange(state: ModuleHostState, why: string): void;
}

export class ModuleHostWatch {
  private current: ModuleHostState = 'down';
  private why = 'no answer from module-host yet';

  constructor(private readonly d: ModuleHostWatchDeps) {}

  get state(): ModuleHostState {
    return this.current;
  }

  /** Why it is not up ('' when it is). */
  get reason(): string {
    return this.current === 'up' ? '' : this.why;
  }

  /** Follows the stream until `signal` aborts, reconnecting at once and then with backoff (100 ms doubling to 1 s). */
  start(signal: AbortSignal): void {
    void (async () => {
      let backoff = 0;
      while (!signal.aborted) {
        try {
          for await (const serving of this.d.watch(signal)) {
            backoff = 0;
            this.set(serving ? 'up' : 'not_ready', serving ? '' : 'module-host reports NOT_SERVING (starting, or shutting down)');
          }
          if (!signal.aborted) this.set('down', 'module-host ended its health stream');
        } catch (e) {
          if (signal.aborted) break;
          // The first failure after a stream that worked is tried again at
          // once: only a module-host that cannot be reached is down.
          if (backoff > 0) this.set('down', `module-host is unreachable: ${(e as Error).message}`);
        }
        if (backoff) await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = backoff ? Math.min(backoff * 2, 1000) : 100;
      }
    })();
  }

  private set(state: ModuleHostState, why: string): void {
    this.why = why;
    if (state === this.current) return;
    this.current = state;
    this.d.onChange(state, why);
  }
}
