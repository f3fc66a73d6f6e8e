// module-host's peers as its domain sees them: cluster-state (the modules'
// get(), daemon queries, store, health, cluster log, the progress events it
// reports, and the Watch stream)
// over a client of the one factory (lib/client.ts).
import { callFailure, PeerClient } from '../../lib/client';
import { ClusterStateServiceDefinition, DaemonQueryKind, WatchEventKind } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import type { ClusterStateApi } from './domain/cluster-api';
import type { ClusterEvents } from './domain/cluster-watch';

type ClusterStateClient = PeerClient<typeof ClusterStateServiceDefinition>;

const QUERY_KINDS: Record<string, DaemonQueryKind> = {
  server: DaemonQueryKind.DAEMON_QUERY_KIND_SERVER,
  list_servers: DaemonQueryKind.DAEMON_QUERY_KIND_LIST_SERVERS,
  metadata: DaemonQueryKind.DAEMON_QUERY_KIND_METADATA,
  status: DaemonQueryKind.DAEMON_QUERY_KIND_STATUS,
  perf_schema: DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA,
  counter: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER,
  latest_counter: DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER,
  all_perf_counters: DaemonQueryKind.DAEMON_QUERY_KIND_ALL_PERF_COUNTERS,
  health_metrics: DaemonQueryKind.DAEMON_QUERY_KIND_HEALTH_METRICS,
};

/** The calls modules' API makes, over cluster-state's client (its default deadline applies). */
export function clusterStatePeer(cs: ClusterStateClient, mgrName: string): ClusterStateApi {
  return {
    async get(what) {
      try {
        const res = await cs.get({ what });
        return { json: Buffer.from(res.json).toString('utf8'), epoch: res.epoch };
      } catch (e) {
        // Ceph's get() answers None for unknown names and missing data. An
        // unreachable cluster-state is an error (domain/outage.ts waits it
        // out), not None: a module must not take an outage for "no data".
        if (callFailure(e).kind === 'not_found') return null;
        throw e;
      }
    },
    async queryDaemons(kind, a) {
      const res = await cs.queryDaemons({
        kind: QUERY_KINDS[kind],
        svcType: a.svcType ?? '',
        svcId: a.svcId ?? '',
        hostname: a.hostname ?? '',
        path: a.path ?? '',
        prioLimit: a.prioLimit,
        services: a.services ?? [],
      });
      return JSON.parse(Buffer.from(res.json).toString('utf8'));
    },
    async getStore(key) {
      const res = await cs.getStore({ key });
      return res.found ? res.value : null;
    },
    async setStore(key, value) {
      await cs.setStore(value === null ? { key } : { key, value });
    },
    async listStore(prefix) {
      return (await cs.listStore({ prefix })).entries;
    },
    async setHealthChecks(checks) {
      return { refused: (await cs.setHealthChecks({ source: 'module-host', checks })).refused };
    },
    async putReport(name, json) {
      // Epochs grow from what is stored (another manager may have reported
      // before us); one retry if another report lands in between.
      for (let tries = 0; ; tries++) {
        let epoch = 1;
        try {
          epoch = (await cs.get({ what: name })).epoch + 1;
        } catch (e) {
          if (callFailure(e).kind !== 'not_found') throw e;
        }
        try {
          await cs.putMap({ name, epoch, json: Buffer.from(json) });
          return;
        } catch (e) {
          if (tries > 0 || callFailure(e).kind !== 'precondition') throw e;
        }
      }
    },
    async clusterLog(channel, priority, message) {
      await cs.appendClusterLog({ entries: [{ channel, priority, name: `mgr.${mgrName}`, message, stamp: Date.now() / 1000 }] });
    },
  };
}

/** cluster-state's Watch stream, as the events the host reacts to. */
export function clusterEvents(cs: ClusterStateClient): ClusterEvents {
  return {
    async *watch(afterSeq, signal) {
      for await (const ev of cs.watch({ afterSeq, types: [] }, { signal })) {
        if (ev.kind === WatchEventKind.WATCH_EVENT_KIND_RESYNC) yield { seq: ev.seq, resync: true, reason: ev.message, type: '', id: '' };
        else yield { seq: ev.seq, resync: false, reason: '', type: ev.type, id: ev.id };
      }
    },
  };
}
