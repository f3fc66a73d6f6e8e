// The active manager's cluster log, to the monitors: what this manager and
// its modules write to the cluster log (a module's cluster_log(), the audit
// entries of commands) goes to the monitors as MLog, as Ceph's LogClient
// sends a daemon's clog, so `ceph log last` and `ceph -w` show it. The
// entries are cluster-state's (`cluster_log`), those named mgr.<name>;
// entries the monitors wrote are never sent back. Entries stay queued until
// a monitor acknowledges them (MLogAck) and are sent again after 10 s
// unacknowledged or a new session (the monitors drop what they already
// logged: same name, stamp and seq). Entries written while standby are not
// sent when it becomes active, as a standby ceph-mgr has no cluster log.
import type { Message } from '../../../lib/ceph/message';
import { LogPriority, mLog, type LogEntry } from '../../../lib/ceph/messages/log';
import { EntityType, type EntityAddr, type UTime } from '../../../lib/ceph/types';
import type { Logger } from '../../../lib/log';

/** How many entries wait for an acknowledgement; older ones are dropped first (Ceph's LogClient keeps a bounded queue too). */
export const MAX_QUEUED = 1000;
/** Entries per MLog (Ceph's mon_client_max_log_entries_per_message). */
export const MAX_PER_MESSAGE = 1000;
/** Unacknowledged entries are sent again after this long. */
export const RESEND_MS = 10_000;

const PRIORITY: Record<string, number> = { DBG: LogPriority.DEBUG, INF: LogPriority.INFO, SEC: LogPriority.SEC, WRN: LogPriority.WARN, ERR: LogPriority.ERROR };

/** cluster-state's `cluster_log` view. */
interface ClusterLogView {
  entries: Array<{ seq: number; channel: string; priority: string; name: string; message: string; stamp: string }>;
}

/** "2026-11-29T13:48:23.123456+0000" → utime. */
function stampOf(s: string, fallbackMs: number): UTime {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?/.exec(s);
  const sec = m ? Date.parse(`${m[1]}Z`) / 1000 : NaN;
  if (!Number.isFinite(sec)) return { sec: Math.floor(fallbackMs / 1000), nsec: (fallbackMs % 1000) * 1e6 };
  return { sec, nsec: m![2] ? Number(m![2].padEnd(9, '0')) : 0 };
}

export class ClusterLogForwarder {
  /** cluster-state's seq of the last entry taken; undefined until the first look as active. */
  private seen: number | undefined;
  private nextSeq = 1n;
  /** sentAt 0: never sent; due: to be sent again now (a new session). */
  private queue: Array<{ entry: LogEntry; sentAt: number; due?: boolean }> = [];
  readonly stats = { entriesSent: 0, entriesAcked: 0, dropped: 0 };

  constructor(
    private readonly source: { getView(what: string): Promise<unknown> },
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The MLog to send now, or undefined. `me` is this manager (mgr.<name>,
   * its gid and msgr2 addresses, which Ceph's log entries carry).
   */
  async next(active: boolean, me: { name: string; gid: bigint; addrs: EntityAddr[]; fsid: string }): Promise<Message | undefined> {
    if (!active) {
      this.seen = undefined;
      return undefined;
    }
    let view: ClusterLogView;
    try {
      view = (await this.source.getView('cluster_log')) as ClusterLogView;
    } catch (e) {
      this.log.debug('cluster log not read from cluster-state this period', { error: (e as Error).message });
      return this.due(me.fsid);
    }
    const entries = Array.isArray(view?.entries) ? view.entries : [];
    const newest = entries.length ? entries[entries.length - 1].seq : 0;
    // just active: what was logged before is not ours to send
    if (this.seen === undefined) this.seen = newest;
    // cluster-state restarted (its seq began again): take its entries from the start
    if (newest < this.seen) this.seen = 0;
    const who = `mgr.${me.name}`;
    for (const e of entries) {
      if (e.seq <= this.seen || e.name !== who) continue;
      this.queue.push({
        entry: {
          name: { type: EntityType.MGR, id: me.name },
          rank: { type: EntityType.MGR, num: me.gid },
          addrs: me.addrs,
          stamp: stampOf(e.stamp, this.now()),
          seq: this.nextSeq++,
          priority: PRIORITY[e.priority] ?? LogPriority.INFO,
          msg: e.message,
          channel: e.channel || 'cluster',
        },
        sentAt: 0,
      });
    }
    this.seen = newest;
    if (this.queue.length > MAX_QUEUED) {
      const n = this.queue.length - MAX_QUEUED;
      this.queue.splice(0, n);
      this.stats.dropped += n;
      this.log.warn('cluster log entries dropped: the monitors did not acknowledge them', { dropped: n });
    }
    return this.due(me.fsid);
  }

  /** The entries never sent or unacknowledged for RESEND_MS, as one MLog. */
  private due(fsid: string): Message | undefined {
    const t = this.now();
    const due = this.queue.filter((q) => !q.sentAt || q.due || t - q.sentAt >= RESEND_MS).slice(0, MAX_PER_MESSAGE);
    if (!due.length) return undefined;
    for (const q of due) {
      if (!q.sentAt) this.stats.entriesSent++;
      q.sentAt = t;
      q.due = false;
    }
    return mLog(
      fsid,
      due.map((q) => q.entry),
    );
  }

  /** A monitor logged our entries up to `last` (MLogAck). */
  acked(last: bigint): void {
    const before = this.queue.length;
    this.queue = this.queue.filter((q) => q.entry.seq > last);
    this.stats.entriesAcked += before - this.queue.length;
  }

  /** A new monitor session: everything unacknowledged goes again. */
  reconnected(): void {
    for (const q of this.queue) q.due = true;
  }

  /** Entries waiting for an acknowledgement. */
  get pending(): number {
    return this.queue.length;
  }
}
