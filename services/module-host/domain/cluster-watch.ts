// cluster-state's Watch drives the modules' notify() and the get() cache:
// each event names what changed; a resync (the watcher fell too far behind)
// invalidates everything. The stream resumes after the last sequence it saw
// when it breaks, with backoff (200 ms doubling to 2 s).
import type { ModuleHost } from './host';

export interface ClusterEvent {
  seq: number;
  /** True: changes were missed, drop every cache. */
  resync: boolean;
  reason: string;
  /** What changed (osd_map, pg_summary, ...) and which one. */
  type: string;
  id: string;
}

export interface ClusterEvents {
  /** Events after `afterSeq`, until the stream breaks or `signal` aborts. */
  watch(afterSeq: number, signal: AbortSignal): AsyncIterable<ClusterEvent>;
}

export type WatchLog = (level: 'debug' | 'info', msg: string, fields?: Record<string, unknown>) => void;

/** Follows the events until `signal` aborts. */
export async function followClusterEvents(
  events: ClusterEvents,
  host: Pick<ModuleHost, 'onResync' | 'refreshHealth' | 'onClusterEvent' | 'onWatchBroken'>,
  log: WatchLog,
  signal: AbortSignal,
): Promise<void> {
  let after = 0;
  let backoff = 200;
  while (!signal.aborted) {
    try {
      for await (const ev of events.watch(after, signal)) {
        backoff = 200;
        if (ev.resync) {
          log('info', 'cluster-state watch resynchronised', { reason: ev.reason });
          host.onResync();
          host.refreshHealth();
        } else {
          host.onClusterEvent(ev.type, ev.id);
        }
        after = ev.seq;
      }
    } catch (e) {
      if (signal.aborted) break;
      host.onWatchBroken();
      log('debug', 'cluster-state watch broke; reconnecting', { error: (e as Error).message, afterSeq: after });
    }
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 2000);
  }
}
