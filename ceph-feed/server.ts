// Start-up of the Ceph map feed: reads the Ceph side (lib/ceph/target.ts:
// ceph.conf or mon_host, the keyring of the entity), builds the monitor client, serves gRPC health
// (SERVING once the cluster's maps are in cluster-state) and /metrics.
import { keyringCredentials } from '../lib/auth/keys';
import { FEED_ENTITY } from '../lib/auth/provision';
import * as os from 'os';
import { startService, type RunningService, type TlsOptions } from '../lib/server';
import { CephxClient } from '../lib/ceph/cephx/client';
import { WireCounters } from '../lib/ceph/connection';
import { MonClient } from '../lib/ceph/monclient';
import { modeName } from '../lib/ceph/modes';
import { cephSide } from '../lib/ceph/target';
import { CephMapFeed } from './feed';
import { KvMirror } from './kv-mirror';
import { OptionsMirror } from './options-mirror';
import { makeClient, openChannel } from '../lib/client';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';

export interface CephFeedConfig {
  /** ceph.conf to read mon_host (and fsid, keyring) from; '' when monHost is given. */
  cephConf: string;
  /** Overrides ceph.conf's mon_host. */
  monHost?: string;
  /** Keyring file; '' for the one ceph.conf names for the entity, else /etc/ceph/ceph.<entity>.keyring. */
  keyring: string;
  /** The Ceph entity to authenticate as; default client.admin. */
  entity?: string;
  /**
   * Connection modes for every msgr2 session ('secure', 'crc', 'secure crc'), overriding the ceph.conf's ms_*_mode settings;
   * '' for the file's (else Pacific's defaults).
   */
  msMode?: string;
  clusterState: string;
  /** mgrpc's shared keyring: the feed calls cluster-state as client.mgrpc-feed from it (unset: no credentials). */
  mgrKeyring?: string;
  host?: string;
  /** gRPC port of the feed's health endpoint (0: a free one). */
  port?: number;
  metricsPort?: number;
  periodMs?: number;
  monGraceMs?: number;
  /** Retry after a refusal (wrong key, not Pacific); the monitor client's default is 30 s. */
  fatalRetryMs?: number;
  /** Backoff between rounds of unreachable monitors (monitor client defaults 500 ms to 10 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  logLevel?: string;
  /** TLS towards cluster-state (and served by the health endpoint). */
  tls?: TlsOptions;
  serverTls?: TlsOptions;
}

export interface CephFeedHandle {
  address: string;
  port: number;
  feed: CephMapFeed;
  mon: MonClient;
  service: RunningService;
  stop(): Promise<void>;
}

/** How long SERVING waits for the monitors' copy of the modules' store after the maps are in. */
const STORE_WAIT_MS = 15_000;

export async function startCephFeed(cfg: CephFeedConfig): Promise<CephFeedHandle> {
  const side = cephSide(cfg);
  const service = await startService(
    {
      name: 'ceph-feed',
      host: cfg.host ?? '127.0.0.1',
      port: cfg.port ?? 0,
      metricsPort: cfg.metricsPort,
      logLevel: cfg.logLevel,
      tls: cfg.serverTls,
      auth: null,
    },
    () => [],
  );
  const log = service.log;
  const mon = new MonClient({
    monitors: side.monitors,
    auth: new CephxClient({ entity: side.entity, key: side.key }),
    logger: log,
    fsid: side.fsid,
    modes: side.modes,
    hostname: os.hostname(),
    counters: new WireCounters(),
    fatalRetryMs: cfg.fatalRetryMs,
    backoffMs: cfg.backoffMs,
    maxBackoffMs: cfg.maxBackoffMs,
  });
  const feed = new CephMapFeed({
    mon,
    clusterState: cfg.clusterState,
    tls: cfg.tls,
    credentials: cfg.mgrKeyring ? keyringCredentials(cfg.mgrKeyring, FEED_ENTITY) : undefined,
    logger: log,
    periodMs: cfg.periodMs,
    monGraceMs: cfg.monGraceMs,
    monHost: side.monHost,
    registry: service.registry,
  });
  log.info('following the Ceph cluster', {
    monitors: side.monitors.map((m) => `v2:${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}`),
    entity: side.entity,
    fsid: side.fsid,
    monMode: side.modes.ms_mon_client_mode.map(modeName).join(' '),
    clusterState: cfg.clusterState,
  });
  feed.start();
  // The modules' store, also where ceph-mgr keeps it (the monitors' config-key mgr/...).
  const storeChannel = openChannel(cfg.clusterState, cfg.tls);
  const storeClient = makeClient(ClusterStateServiceDefinition, storeChannel, {
    credentials: cfg.mgrKeyring ? keyringCredentials(cfg.mgrKeyring, FEED_ENTITY) : undefined,
  });
  const kvMirror = new KvMirror({ mon, cs: storeClient, log: log.child({ component: 'kv-mirror' }) });
  // The modules' options, also where ceph-mgr keeps them (the monitors' config database, `config set mgr mgr/...`).
  const optionsMirror = new OptionsMirror({ mon, cs: storeClient, log: log.child({ component: 'options-mirror' }), periodMs: cfg.periodMs });
  kvMirror.start();
  optionsMirror.start();
  service.onShutdown(async () => {
    kvMirror.stop();
    optionsMirror.stop();
    storeChannel.close();
  });
  // SERVING once the maps are in, and the modules' store (so a module starting then finds what ceph-mgr left);
  // not waiting forever for a store the monitors do not send (an entity without the caps).
  const storeIn = new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      log.warn("the monitors' config-key store under mgr/ has not arrived; serving without it (does the entity have mon 'allow *'?)", {
        waitedMs: STORE_WAIT_MS,
      });
      resolve();
    }, STORE_WAIT_MS);
    t.unref();
    void kvMirror.firstCopy.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
  void Promise.all([feed.firstSync, storeIn]).then(() => service.setServing(true, "the cluster's maps and the modules' store are in cluster-state"));
  service.onShutdown(() => feed.stop());
  return { address: service.address, port: service.port, feed, mon, service, stop: () => service.stop() };
}
