// A module's calls to cluster-state wait out a short outage (cluster-state
// restarting, a connection being re-established): a transient failure is
// tried again with backoff (100 ms doubling to 2 s) for up to a time budget
// (MGR_CLUSTER_STATE_RETRY_MS), and only then reaches the module. Without
// this, one UNAVAILABLE during a restart made a module's serve() throw and
// left it failed for good. Done here, once, rather than in every module.
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { ClusterStateApi } from './cluster-api';

export interface OutagePolicy {
  /** How long one call may keep trying (ms). */
  budgetMs: number;
  /** Whether a failure is worth another attempt (cluster-state unreachable). */
  isTransient(e: unknown): boolean;
  /** Told when a call starts waiting, and when it gave up or got through after waiting. */
  log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void;
}

/** The same calls, each waiting out a transient failure within the budget. */
export function waitingOutOutages(api: ClusterStateApi, p: OutagePolicy): ClusterStateApi {
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      // One policy per call, so its retry events are this call's own.
      const policy = retry(
        handleWhen((e) => p.isTransient(e)),
        { maxAttempts: Number.POSITIVE_INFINITY, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) },
      ).dangerouslyUnref();
      const started = performance.now();
      let waited = false;
      policy.onRetry(() => {
        if (!waited) p.log('info', 'cluster-state unavailable; the call waits for it', { call: name, budgetMs: p.budgetMs });
        waited = true;
      });
      try {
        const r = await policy.execute(() => fn(...args), AbortSignal.timeout(p.budgetMs));
        if (waited) p.log('info', 'cluster-state answered again', { call: name, waitedMs: Math.round(performance.now() - started) });
        return r;
      } catch (e) {
        if (waited) p.log('warn', 'cluster-state stayed unavailable; the call fails', { call: name, waitedMs: Math.round(performance.now() - started) });
        throw e;
      }
    };
  return {
    get: wrap('get', api.get.bind(api)),
    queryDaemons: wrap('queryDaemons', api.queryDaemons.bind(api)),
    getStore: wrap('getStore', api.getStore.bind(api)),
    setStore: wrap('setStore', api.setStore.bind(api)),
    listStore: wrap('listStore', api.listStore.bind(api)),
    setHealthChecks: wrap('setHealthChecks', api.setHealthChecks.bind(api)),
    clusterLog: wrap('clusterLog', api.clusterLog.bind(api)),
    putReport: wrap('putReport', api.putReport.bind(api)),
  };
}
