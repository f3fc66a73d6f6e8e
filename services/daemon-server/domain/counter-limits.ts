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
// The daemons refused in the last minute are the health check
// DAEMON_COUNTER_LIMIT, naming each with its reason; the active manager
// keeps cluster-state's copy current (startCounterLimitHealth).
import { HealthSeverity, type HealthCheck } from '../../../lib/gen/ceph/mgr/v1/common';
import type { Logger } from '../../../lib/log';

export interface CounterLimitSettings {
  /** Most counters one session may declare. */
  perSession: number;
  /** Most counters all open sessions may have declared together. */
  total: number;
  /** Longest counter path or nick, in bytes (a description may take four times this). */
  nameBytes: number;
}

/**
 * The defaults: a real OSD declares 37 counters at Ceph's default threshold
 * (the simulator's, 224); 8,000,000 in all leaves room for 30,000 of the
 * simulator's OSDs, the largest size the benchmarks run.
 */
export const DEFAULT_COUNTER_LIMITS: CounterLimitSettings = { perSession: 8192, total: 8_000_000, nameBytes: 256 };

export const COUNTER_LIMIT_CHECK = 'DAEMON_COUNTER_LIMIT';
/** How long a refusal stays in the health check. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Daemons the health check remembers (the newest refusals). */
const REFUSALS_KEPT = 100;

/** A declared counter as both doors have it. */
export interface DeclaredCounter {
  path: string;
  nick: string;
  description: string;
}

/**
 * Declarations whose names were found within a `nameBytes` bound, by the
 * declaration: lib/session-wire.ts gives daemons declaring the same bytes
 * one frozen array, checked once. Weak: it goes with the array.
 */
const namesWithin = new WeakMap<readonly DeclaredCounter[], number>();

/** Shared by every session of both doors: the limits and the count of counters declared now. */
export class CounterLimits {
  private declared = 0;
  /** The latest refusal of each daemon refused lately, oldest first. */
  private readonly refusals = new Map<string, { reason: string; at: number }>();

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
    const reason = this.check(daemon, from, to, declare);
    if (reason === null) {
      this.declared += to - from;
      return null;
    }
    this.refusals.delete(daemon);
    this.refusals.set(daemon, { reason, at: Date.now() });
    if (this.refusals.size > REFUSALS_KEPT) this.refusals.delete(this.refusals.keys().next().value!);
    return reason;
  }

  private check(daemon: string, from: number, to: number, declare: readonly DeclaredCounter[]): string | null {
    const { perSession, total, nameBytes } = this.settings;
    if (namesWithin.get(declare) !== nameBytes) {
      const problem = this.checkNames(daemon, declare);
      if (problem) return problem;
      if (Object.isFrozen(declare)) namesWithin.set(declare, nameBytes);
    }
    if (to > perSession)
      return `${daemon} declares ${to} counters, more than the ${perSession} a session may (MGR_MAX_COUNTERS; or raise mgr_stats_threshold so it declares fewer)`;
    if (to > from && this.declared - from + to > total)
      return `${daemon} declares ${to} counters: all sessions would hold ${this.declared - from + to}, more than ${total} (MGR_MAX_COUNTERS_TOTAL)`;
    return null;
  }

  /** Why a declared counter's path, nick or description is too long, if one is. */
  private checkNames(daemon: string, declare: readonly DeclaredCounter[]): string | null {
    const { nameBytes } = this.settings;
    for (const t of declare) {
      const name = Math.max(Buffer.byteLength(t.path), Buffer.byteLength(t.nick));
      if (name > nameBytes)
        return `${daemon} declares counter '${t.path.slice(0, 64)}${t.path.length > 64 ? '...' : ''}' with a path or nick of ${name} bytes, more than ${nameBytes} (MGR_MAX_COUNTER_NAME_BYTES)`;
      const description = Buffer.byteLength(t.description);
      if (description > 4 * nameBytes)
        return `${daemon} declares counter '${t.path}' with a description of ${description} bytes, more than ${4 * nameBytes} (4 x MGR_MAX_COUNTER_NAME_BYTES)`;
    }
    return null;
  }

  /** DAEMON_COUNTER_LIMIT naming the daemons refused in the last minute; none when there were none. */
  healthChecks(now = Date.now()): HealthCheck[] {
    for (const [daemon, r] of this.refusals) if (now - r.at > REFUSAL_WINDOW_MS) this.refusals.delete(daemon);
    const n = this.refusals.size;
    if (!n) return [];
    return [
      {
        code: COUNTER_LIMIT_CHECK,
        severity: HealthSeverity.HEALTH_SEVERITY_WARNING,
        summary: `${n} daemon${n > 1 ? 's' : ''} refused: more perf counters declared than this manager allows`,
        count: n,
        detail: [...this.refusals.values()].map((r) => r.reason),
      },
    ];
  }

  /** A session with `n` counters ended. */
  release(n: number): void {
    this.declared = Math.max(0, this.declared - n);
  }
}

/**
 * Keeps cluster-state's DAEMON_COUNTER_LIMIT current while this manager is
 * active: every `everyMs` the checks are sent when they changed, and at
 * least every 30 s (a cluster-state that restarted forgot them). A newly
 * active manager's first send replaces what the one before left.
 * Returns how to stop.
 */
export function startCounterLimitHealth(
  limits: CounterLimits,
  d: { push(checks: HealthCheck[]): Promise<unknown>; active(): boolean; log: Logger },
  everyMs = 2000,
): () => void {
  let last: string | null = null;
  let lastAt = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !d.active()) {
      if (!d.active()) last = null; // when it is active again, send at once
      return;
    }
    const checks = limits.healthChecks();
    const text = JSON.stringify(checks);
    if (text === last && Date.now() - lastAt < 30_000) return;
    busy = true;
    d.push(checks)
      .then(
        () => {
          if (checks.length && text !== last) d.log.warn('daemons refused for their counters', { daemons: checks[0].count });
          last = text;
          lastAt = Date.now();
        },
        (e) => d.log.debug('counter limit health check not sent yet', { error: (e as Error).message }),
      )
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
