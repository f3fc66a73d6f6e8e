// Limits on the perf counters daemons declare, the same on both doors (the
// gRPC Session and msgr2's MMgrReport). A daemon declares its counters once
// per session and every later report carries a value for each, so what one
// session declares is what cluster-state keeps samples of and module-host
// reads: one session declaring 100,000 counters once took cluster-state
// from 130 MB to 1.9 GB. Checked before anything is forwarded:
//   - per session: how many counters (MGR_MAX_COUNTERS);
//   - names: a counter's path and nick (MGR_MAX_COUNTER_NAME_BYTES), its
//     description (four times that);
//   - all sessions together (MGR_MAX_COUNTERS_TOTAL).
// A declaration past a limit ends its session with the reason: the daemon
// reconnects and declares again, and is refused again until what it
// declares fits (Ceph's mgr_stats_threshold makes a daemon declare fewer).

export interface CounterLimitSettings {
  /** Most counters one session may declare. */
  perSession: number;
  /** Most counters all open sessions may have declared together. */
  total: number;
  /** Longest counter path or nick, in bytes (a description may take four times this). */
  nameBytes: number;
}

export const DEFAULT_COUNTER_LIMITS: CounterLimitSettings = { perSession: 8192, total: 4_000_000, nameBytes: 256 };

/** A declared counter as both doors have it. */
export interface DeclaredCounter {
  path: string;
  nick: string;
  description: string;
}

/** Shared by every session of both doors: the limits and the count of counters declared now. */
export class CounterLimits {
  private declared = 0;

  constructor(readonly settings: CounterLimitSettings = DEFAULT_COUNTER_LIMITS) {}

  /** Counters declared by all open sessions. */
  get total(): number {
    return this.declared;
  }

  /**
   * A session of `daemon` with `from` counters declaring `declare` to have
   * `to`: null when it fits (and is counted), else why not, naming the
   * setting to raise.
   */
  admit(daemon: string, from: number, to: number, declare: readonly DeclaredCounter[]): string | null {
    const { perSession, total, nameBytes } = this.settings;
    for (const t of declare) {
      const name = Math.max(Buffer.byteLength(t.path), Buffer.byteLength(t.nick));
      if (name > nameBytes)
        return `${daemon} declares counter '${t.path.slice(0, 64)}${t.path.length > 64 ? '...' : ''}' with a path or nick of ${name} bytes, more than ${nameBytes} (MGR_MAX_COUNTER_NAME_BYTES)`;
      const description = Buffer.byteLength(t.description);
      if (description > 4 * nameBytes)
        return `${daemon} declares counter '${t.path}' with a description of ${description} bytes, more than ${4 * nameBytes} (4 x MGR_MAX_COUNTER_NAME_BYTES)`;
    }
    if (to > perSession)
      return `${daemon} declares ${to} counters, more than the ${perSession} a session may (MGR_MAX_COUNTERS; or raise mgr_stats_threshold so it declares fewer)`;
    if (to > from && this.declared - from + to > total)
      return `${daemon} declares ${to} counters: all sessions would hold ${this.declared - from + to}, more than ${total} (MGR_MAX_COUNTERS_TOTAL)`;
    this.declared += to - from;
    return null;
  }

  /** A session with `n` counters ended. */
  release(n: number): void {
    this.declared = Math.max(0, this.declared - n);
  }
}
