// Ingest: sessions' reports are coalesced per daemon and forwarded to
// cluster-state in batches; pg stats wait one snapshot per OSD (a newer one
// from the same OSD replaces the one waiting, as Ceph's PGMap keeps only an
// OSD's latest stats), at most maxPendingPgStats OSDs at once. One flush (a
// report batch and a pg-stats batch, side by side) is in flight at a time;
// a failed flush is retried with whatever arrived meanwhile merged on top
// (newest values win). cluster-state keeps sessions' counter
// schemas in memory only: when it answers from a new run (a restart), every
// open session is declared again on the daemons' behalf (`redeclare`), so
// their next values are taken without the daemons reconnecting.
import type { DaemonReport } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { schemaHashKey } from '../../../lib/shared-schema';
import { entryBytes, PgStatsEntry } from './forward';

export interface IngestSink {
  /** instance: cluster-state's run (ReportDaemonsResponse.instance); unknownSchemas: hashes it does not hold. */
  reportDaemons(reports: DaemonReport[]): Promise<{ applied: number; rejected: string[]; instance?: string; unknownSchemas?: Uint8Array[] }>;
  /** The entries' reports go on as they came (domain/forward.ts). */
  ingestPgStats(stats: PgStatsEntry[]): Promise<{ applied: number; rejected: string[] }>;
  setDaemonsStale(stale: string[], fresh: string[]): Promise<void>;
}

export interface IngestCounters {
  coalesced(n: number): void;
  /** Pg-stats snapshots replaced by a newer one from the same OSD before they were forwarded. */
  pgStatsReplaced(n: number): void;
  forwarded(kind: 'reports' | 'pg_stats', n: number): void;
  rejectedUpstream(kind: 'reports' | 'pg_stats', n: number): void;
  flushFailed(): void;
}

export interface IngestOptions {
  sink: IngestSink;
  flushIntervalMs: number;
  /** Flush at once when this many daemons have pending reports. */
  flushAtPending: number;
  /** OSDs whose pg stats may wait at once; beyond, a new OSD's session is held back (an OSD already waiting replaces its snapshot). */
  maxPendingPgStats: number;
  /**
   * Bounds on one forwarding call (default 512 daemons / 4 MB of reports,
   * 256 pg-stats entries / 4 MB): what is left goes in the next call at once. One
   * huge call (10,000 sessions declaring their counters at start is ~40 MB)
   * would take longer than the keepalive and fail whole, again and again.
   */
  maxBatchDaemons?: number;
  maxBatchBytes?: number;
  maxBatchPgStats?: number;
  counters?: IngestCounters;
  /**
   * Every open session as a new one (opened, its metadata and status,
   * every counter it declared, no values): sent when cluster-state has
   * restarted and forgotten them.
   */
  redeclare?: () => DaemonReport[];
  onWarn?: (msg: string, fields: Record<string, unknown>) => void;
  now?: () => number;
}

/** A cheap upper estimate of a report's encoded size, for batch bounds (`named`: its schema goes as the hash alone). */
function approxReportBytes(r: DaemonReport, named: boolean): number {
  let n = 64 + r.daemon.length + r.values.length * 11 + (r.counterValues?.length ?? 0) + (r.schemaHash?.length ?? 0);
  if (!named) for (const d of r.declare) n += 32 + d.path.length + d.description.length + d.nick.length;
  for (const [k, v] of Object.entries(r.metadata)) n += 8 + k.length + v.length;
  return n;
}

export function emptyReport(daemon: string): DaemonReport {
  return {
    daemon,
    opened: false,
    serviceName: '',
    serviceDaemon: false,
    metadata: {},
    declare: [],
    undeclare: [],
    values: [],
    stamp: 0,
    status: {},
    hasStatus: false,
    taskStatus: {},
    healthMetrics: [],
    closed: false,
  };
}

/**
 * Folds `newer` onto `older` when the result means the same as applying both
 * in order; returns null when they must stay separate (an undeclare, or a
 * re-open after other changes, where order matters).
 */
export function mergeReports(older: DaemonReport, newer: DaemonReport): DaemonReport | null {
  if (newer.opened) return { ...newer }; // a new session forgets all that came before
  if (older.closed) return null;
  if (older.undeclare.length || newer.undeclare.length) return null;
  const newerValues = !!newer.counterValues?.length || newer.values.length > 0;
  const olderValues = !!older.counterValues?.length || older.values.length > 0;
  // older values fit only the older schema: new declares without values stay apart
  if (newer.declare.length && !newerValues && olderValues) return null;
  // a schema named whole by its hash replaces what came before: it follows only an open
  if (newer.schemaHash?.length && older.declare.length) return null;
  return {
    ...older,
    // declares appended to a whole schema are no longer what its hash names
    schemaHash: newer.schemaHash?.length ? newer.schemaHash : newer.declare.length ? undefined : older.schemaHash,
    metadata: Object.keys(newer.metadata).length ? newer.metadata : older.metadata,
    declare: [...older.declare, ...newer.declare],
    values: newerValues ? newer.values : older.values,
    counterValues: newerValues ? newer.counterValues : older.counterValues,
    stamp: newerValues ? newer.stamp : older.stamp,
    status: newer.hasStatus ? newer.status : older.status,
    hasStatus: older.hasStatus || newer.hasStatus,
    taskStatus: Object.keys(newer.taskStatus).length ? newer.taskStatus : older.taskStatus,
    healthMetrics: newer.healthMetrics.length ? newer.healthMetrics : older.healthMetrics,
    closed: newer.closed,
  };
}

export class Ingest {
  /** Per daemon, the reports still to send (normally one). */
  private pending = new Map<string, DaemonReport[]>();
  /** Per OSD, the newest pg stats waiting (oldest waiting first: a replaced snapshot keeps its place). */
  private pgQueue = new Map<number, PgStatsEntry>();
  private pgWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private stopped = false;
  /** When each connected daemon was last heard from (ms), for staleness. */
  private lastHeard = new Map<string, number>();
  private stale = new Set<string>();
  /** The cluster-state run last heard from. */
  private upstreamInstance = '';
  /**
   * Schema hashes (hex) that run took in full: reports naming them go with
   * the hash alone (10,000 OSDs of one version: one 17 KB declaration, not
   * 10,000). Forgotten on a new run or when it says it does not hold one.
   */
  private upstreamSchemas = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly opts: IngestOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  get pendingDaemons(): number {
    return this.pending.size;
  }

  get pendingPgStats(): number {
    return this.pgQueue.size;
  }

  /** Queues a daemon report (open, report or close), coalescing with what waits. */
  addReport(report: DaemonReport): void {
    this.heard(report.daemon, report.closed);
    const list = this.pending.get(report.daemon);
    if (!list) {
      this.pending.set(report.daemon, [report]);
    } else {
      const last = list[list.length - 1];
      const merged = mergeReports(last, report);
      if (merged) {
        if ((last.values.length || last.counterValues?.length) && (report.values.length || report.counterValues?.length)) this.opts.counters?.coalesced(1);
        if (report.opened) list.splice(0, list.length, merged);
        else list[list.length - 1] = merged;
      } else list.push(report);
    }
    if (this.pending.size >= this.opts.flushAtPending) void this.flush();
  }

  /** Whether pg stats (from `osd`, if given: one already waiting is replaced, so it always has room) can be queued now. */
  hasPgRoom(osd?: number): boolean {
    return this.pgQueue.size < this.opts.maxPendingPgStats || (osd !== undefined && this.pgQueue.has(osd));
  }

  /** Queues an OSD's pg stats, replacing any still waiting from it; the caller checks hasPgRoom(osd) (or waits with waitForPgRoom) first. */
  addPgStats(stats: PgStatsEntry): void {
    this.heard(`osd.${stats.osd}`, false);
    if (this.pgQueue.has(stats.osd)) this.opts.counters?.pgStatsReplaced(1);
    this.pgQueue.set(stats.osd, stats);
    if (this.pgQueue.size >= Math.max(1, Math.floor(this.opts.maxPendingPgStats / 4))) void this.flush();
  }

  /** Resolves true when there is room, false after `timeoutMs` or when aborted. */
  waitForPgRoom(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.hasPgRoom()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        this.pgWaiters = this.pgWaiters.filter((w) => w !== wake);
        resolve(ok);
      };
      const wake = () => {
        if (this.hasPgRoom()) done(true);
      };
      const onAbort = () => done(false);
      const t = setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener('abort', onAbort);
      this.pgWaiters.push(wake);
    });
  }

  private heard(daemon: string, closed: boolean): void {
    if (closed) this.lastHeard.delete(daemon);
    else this.lastHeard.set(daemon, this.now());
  }

  /** Sends what is pending; one flush at a time. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.pending.size && !this.pgQueue.size) return Promise.resolve();
    this.flushing = this.doFlush().then(
      (r) => {
        this.flushing = null;
        // A batch was cut short, or more piled up while it was in flight:
        // send it now rather than at the next tick.
        if (r.ok && !this.stopped && (r.more || !this.hasPgRoom() || this.pending.size >= this.opts.flushAtPending)) void this.flush();
      },
      () => {
        this.flushing = null;
      },
    );
    return this.flushing;
  }

  /** Takes the oldest pending daemons' reports, up to the batch bounds. */
  private takeBatch(): Map<string, DaemonReport[]> {
    const maxDaemons = this.opts.maxBatchDaemons ?? 512;
    const maxBytes = this.opts.maxBatchBytes ?? 4 * 1024 * 1024;
    const batch = new Map<string, DaemonReport[]>();
    let bytes = 0;
    for (const [daemon, list] of this.pending) {
      const size = list.reduce((n, r) => n + approxReportBytes(r, !!r.schemaHash?.length && this.upstreamSchemas.has(schemaHashKey(r.schemaHash))), 0);
      if (batch.size && (batch.size >= maxDaemons || bytes + size > maxBytes)) break;
      batch.set(daemon, list);
      bytes += size;
    }
    for (const daemon of batch.keys()) this.pending.delete(daemon);
    return batch;
  }

  /** Takes the longest-waiting OSDs' pg stats, up to the batch bounds (entries and bytes). */
  private takePgBatch(): PgStatsEntry[] {
    const maxEntries = this.opts.maxBatchPgStats ?? 256;
    const maxBytes = this.opts.maxBatchBytes ?? 4 * 1024 * 1024;
    const batch: PgStatsEntry[] = [];
    let bytes = 0;
    for (const e of this.pgQueue.values()) {
      if (batch.length >= maxEntries) break;
      bytes += entryBytes(e);
      if (batch.length && bytes > maxBytes) break;
      batch.push(e);
    }
    for (const e of batch) this.pgQueue.delete(e.osd);
    return batch;
  }

  /**
   * ok: false when cluster-state could not be reached; more: a bound left
   * something for the next call. Reports and pg stats go in two calls side by
   * side (cluster-state takes pg stats from any OSD, open session or not): one
   * after the other, at 10,000 OSDs the pg stats waited behind every report
   * batch and their queue never drained.
   */
  private async doFlush(): Promise<{ ok: boolean; more: boolean }> {
    const batch = this.takeBatch();
    const pg = this.takePgBatch();
    const more = this.pending.size > 0 || this.pgQueue.size > 0;
    const [reportsOk, pgOk] = await Promise.all([this.sendReports(batch), this.sendPgStats(pg)]);
    if (this.hasPgRoom()) for (const w of [...this.pgWaiters]) w();
    return { ok: reportsOk && pgOk, more };
  }

  /**
   * The batch as sent: a schema cluster-state already holds goes as its
   * hash alone, one it does not as the first report naming it in full.
   * Returns the hashes sent in full.
   */
  private nameSchemas(reports: DaemonReport[]): { out: DaemonReport[]; full: Set<string> } {
    const full = new Set<string>();
    const out = reports.map((r) => {
      if (!r.schemaHash?.length || !r.declare.length) return r;
      const h = schemaHashKey(r.schemaHash);
      if (this.upstreamSchemas.has(h) || full.has(h)) return { ...r, declare: [] };
      full.add(h);
      return r;
    });
    return { out, full };
  }

  private async sendReports(batch: Map<string, DaemonReport[]>): Promise<boolean> {
    const reports = [...batch.values()].flat();
    if (!reports.length) return true;
    try {
      const { out, full } = this.nameSchemas(reports);
      const res = await this.opts.sink.reportDaemons(out);
      if (res.instance && res.instance !== this.upstreamInstance) {
        this.upstreamSchemas.clear();
        if (this.upstreamInstance) this.redeclare(res.instance);
        this.upstreamInstance = res.instance;
      }
      const unknown = new Set((res.unknownSchemas ?? []).map(schemaHashKey));
      for (const h of full) if (!unknown.has(h)) this.upstreamSchemas.add(h);
      if (unknown.size) {
        // cluster-state no longer holds them (its last daemon of that schema left): those
        // reports go again, their schema in full
        for (const h of unknown) this.upstreamSchemas.delete(h);
        const again = new Map<string, DaemonReport[]>();
        out.forEach((r, i) => {
          if (r.schemaHash?.length && !r.declare.length && unknown.has(schemaHashKey(r.schemaHash)))
            again.set(r.daemon, [...(again.get(r.daemon) ?? []), reports[i]]);
        });
        this.opts.onWarn?.('cluster-state does not hold a counter schema named by hash; declaring it in full', { schemas: unknown.size, daemons: again.size });
        this.restoreReports(again);
      }
      this.opts.counters?.forwarded('reports', res.applied);
      if (res.rejected.length) {
        this.opts.counters?.rejectedUpstream('reports', res.rejected.length);
        this.opts.onWarn?.('cluster-state refused daemon reports', { rejected: res.rejected.slice(0, 10) });
      }
      return true;
    } catch (e) {
      this.opts.counters?.flushFailed();
      this.opts.onWarn?.('forwarding daemon reports failed; will retry', { error: (e as Error).message, daemons: batch.size });
      this.restoreReports(batch);
      return false;
    }
  }

  private async sendPgStats(pg: PgStatsEntry[]): Promise<boolean> {
    if (!pg.length) return true;
    try {
      const res = await this.opts.sink.ingestPgStats(pg);
      this.opts.counters?.forwarded('pg_stats', res.applied);
      if (res.rejected.length) {
        this.opts.counters?.rejectedUpstream('pg_stats', res.rejected.length);
        this.opts.onWarn?.('cluster-state refused pg stats', { rejected: res.rejected.slice(0, 10) });
      }
      return true;
    } catch (e) {
      this.opts.counters?.flushFailed();
      this.opts.onWarn?.('forwarding pg stats failed; will retry', { error: (e as Error).message, entries: pg.length });
      // kept ahead of what waits, unless the same OSD sent newer stats meanwhile
      const back = new Map<number, PgStatsEntry>();
      for (const e of pg) if (!this.pgQueue.has(e.osd)) back.set(e.osd, e);
      for (const [osd, e] of this.pgQueue) back.set(osd, e);
      this.pgQueue = back;
      return false;
    }
  }

  /** cluster-state restarted: every open session goes to it again ahead of what waits, and is sent at once. */
  private redeclare(instance: string): void {
    const reports = this.opts.redeclare?.() ?? [];
    this.opts.onWarn?.('cluster-state restarted (a new run): declaring every open session again', { sessions: reports.length, instance });
    this.restoreReports(new Map(reports.map((r) => [r.daemon, [r]])));
  }

  /** Puts a failed batch back under whatever arrived since. */
  private restoreReports(failed: Map<string, DaemonReport[]>): void {
    for (const [daemon, older] of failed) {
      const newer = this.pending.get(daemon) ?? [];
      const list: DaemonReport[] = [];
      for (const r of [...older, ...newer]) {
        const last = list[list.length - 1];
        const merged = last ? mergeReports(last, r) : null;
        if (merged) {
          if (r.opened) list.splice(0, list.length, merged);
          else list[list.length - 1] = merged;
        } else list.push(r);
      }
      this.pending.set(daemon, list);
    }
  }

  /**
   * Marks daemons not heard from for `graceMs` stale, and stale daemons heard
   * from again fresh. Returns what changed.
   */
  async checkStale(graceMs: number): Promise<{ stale: string[]; fresh: string[] }> {
    const now = this.now();
    const stale: string[] = [];
    const fresh: string[] = [];
    for (const [daemon, at] of this.lastHeard) {
      const isStale = now - at > graceMs;
      if (isStale && !this.stale.has(daemon)) stale.push(daemon);
      if (!isStale && this.stale.has(daemon)) fresh.push(daemon);
    }
    for (const d of this.stale) if (!this.lastHeard.has(d)) fresh.push(d); // closed since
    if (!stale.length && !fresh.length) return { stale, fresh };
    await this.opts.sink.setDaemonsStale(stale, fresh);
    for (const d of stale) this.stale.add(d);
    for (const d of fresh) this.stale.delete(d);
    return { stale, fresh };
  }

  /** Stops the timer and sends what is pending (best effort). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch(() => undefined);
    for (const w of [...this.pgWaiters]) w();
  }
}
