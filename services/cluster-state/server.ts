// startClusterState: opens the store, builds the state, serves
// ClusterStateService on lib/server.ts's bootstrap.
import * as prom from 'prom-client';
import { startService, RunningService, TlsOptions } from '../../lib/server';
import { ClusterStateServiceDefinition } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import { SqliteStore } from './domain/kvstore';
import { ClusterMaps } from './domain/maps';
import { ClusterState } from './domain/state';
import { clusterStateHandlers, ClusterStateServed } from './grpc';
import { forNiceGrpc } from '../../lib/raw-methods';
import { clusterStateRules } from './rules';
import { ensureKeyring } from '../../lib/auth/provision';

export interface ClusterStateOptions {
  host?: string;
  port?: number;
  dataDir: string;
  metricsPort?: number;
  /** Largest gRPC message accepted (and largest map JSON). */
  maxMessageBytes?: number;
  /** How many change events Watch keeps for watchers that reconnect. */
  watchBacklog?: number;
  /** Largest value SetStore accepts. */
  maxStoreValueBytes?: number;
  shutdownGraceMs?: number;
  logLevel?: string;
  tls?: TlsOptions;
  /**
   * The shared keyring every caller must prove a key of (made on first
   * start when missing; rules.ts says who may call what). Unset:
   * no authentication, allowed on loopback only (MGR_AUTH=none, tests).
   */
  keyringPath?: string;
}

export interface ClusterStateHandle {
  address: string;
  port: number;
  service: RunningService;
  state: ClusterState;
  stop(): Promise<void>;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_WATCH_BACKLOG = 10000;
export const DEFAULT_MAX_STORE_VALUE_BYTES = 16 * 1024 * 1024;
/** Room for the request's other fields above the map JSON itself. */
const ENVELOPE_BYTES = 64 * 1024;

export async function startClusterState(opts: ClusterStateOptions): Promise<ClusterStateHandle> {
  const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const store = new SqliteStore(opts.dataDir);
  let state: ClusterState;
  try {
    state = new ClusterState(new ClusterMaps(store), store, {
      watchBacklog: opts.watchBacklog ?? DEFAULT_WATCH_BACKLOG,
      maxKeyBytes: 1024,
      maxValueBytes: opts.maxStoreValueBytes ?? DEFAULT_MAX_STORE_VALUE_BYTES,
    });
  } catch (e) {
    store.close();
    throw e;
  }
  const service = await startService(
    {
      name: 'cluster-state',
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      metricsPort: opts.metricsPort,
      // The transport refuses messages far above the limit; PutMap itself
      // refuses map JSON above it with a message naming the setting.
      maxMessageBytes: maxMessageBytes + ENVELOPE_BYTES,
      shutdownGraceMs: opts.shutdownGraceMs,
      tls: opts.tls,
      logLevel: opts.logLevel,
      auth: opts.keyringPath ? { keyringPath: opts.keyringPath, tables: { [ClusterStateServiceDefinition.fullName]: clusterStateRules } } : null,
    },
    (server, ctx) => {
      if (opts.keyringPath) ensureKeyring(opts.keyringPath, ctx.log);
      server.add(
        forNiceGrpc(ClusterStateServed),
        clusterStateHandlers(state, { log: ctx.log, maxMapBytes: maxMessageBytes, shutdownSignal: ctx.shutdownSignal }),
      );
      registerMetrics(ctx.registry, state);
      return [ClusterStateServiceDefinition.fullName];
    },
  );
  service.onShutdown(() => {
    /* Watch streams end on the shutdown signal; the store closes after the server stops. */
  });
  const loaded = ['osd_map', 'fs_map', 'mgr_map'].map((n) => `${n}@${state.maps.epoch(n)}`).join(' ');
  service.log.info('store open', { dataDir: opts.dataDir, maps: loaded, watchBacklog: state.feed.backlog });
  if (store.opened === 'upgraded') {
    service.log.info(
      "data directory written by an earlier version: maps and the modules' store kept as they are; counter history and PG statistics come back with the daemons' next reports",
      {
        dataDir: opts.dataDir,
      },
    );
  }
  service.setServing(true);
  let stopped: Promise<void> | null = null;
  return {
    address: service.address,
    port: service.port,
    service,
    state,
    stop() {
      stopped ??= service.stop().finally(() => store.close());
      return stopped;
    },
  };
}

/** Gauges read at scrape time: nothing is counted on the hot paths. */
function registerMetrics(registry: prom.Registry, state: ClusterState): void {
  new prom.Gauge({
    name: 'mgr_cluster_state_watch_seq',
    help: 'Sequence number of the latest change event',
    registers: [registry],
    collect() {
      this.set(state.feed.lastSeq);
    },
  });
  new prom.Gauge({
    name: 'mgr_cluster_state_daemons',
    help: 'Daemons known to cluster-state',
    registers: [registry],
    collect() {
      this.set(state.daemons.daemons.size);
    },
  });
  new prom.Gauge({
    name: 'mgr_cluster_state_stale_daemons',
    help: 'Daemons marked stale',
    registers: [registry],
    collect() {
      this.set(state.daemons.staleNames().length);
    },
  });
  new prom.Gauge({
    name: 'mgr_cluster_state_pgs',
    help: 'Placement groups in the PG map',
    registers: [registry],
    collect() {
      this.set(state.pg.size);
    },
  });
  new prom.Gauge({
    name: 'mgr_cluster_state_osd_map_epoch',
    help: 'Epoch of the stored OSD map',
    registers: [registry],
    collect() {
      this.set(state.maps.epoch('osd_map'));
    },
  });
}
