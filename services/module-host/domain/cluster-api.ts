// What module-host's domain needs from cluster-state: server.ts adapts the
// client to it; modules' get(), daemon queries, store, health and cluster log
// all go through it.
import type { HealthCheck } from '../../../lib/gen/ceph/mgr/v1/common';
import type { RefusedCheck } from '../../../lib/health-checks';

/** What the host needs from cluster-state (a thin adapter over its client). */
export interface ClusterStateApi {
  get(what: string): Promise<{ json: string; epoch: number } | null>;
  queryDaemons(
    kind: string,
    args: { svcType?: string; svcId?: string; hostname?: string; path?: string; prioLimit?: number; services?: string[] },
  ): Promise<unknown>;
  getStore(key: string): Promise<string | null>;
  setStore(key: string, value: string | null): Promise<void>;
  listStore(prefix: string): Promise<Record<string, string>>;
  /** Replaces module-host's checks; resolves with the ones cluster-state refused. */
  setHealthChecks(checks: HealthCheck[]): Promise<{ refused: RefusedCheck[] }>;
  clusterLog(channel: string, priority: string, message: string): Promise<void>;
  /** Puts a map this manager reports (progress_events) at the epoch after the stored one. */
  putReport(name: string, json: string): Promise<void>;
}
