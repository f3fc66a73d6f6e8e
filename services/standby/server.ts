// startStandby: loads the MgrMap (embedded file or etcd), runs the authority
// and serves StandbyService on lib/server.ts's bootstrap.
import { ensureKeyring, STANDBY_ENTITY } from '../../lib/auth/provision';
import { keyringCredentials } from '../../lib/auth/keys';
import { standbyRules } from './rules';
import * as os from 'os';
import * as prom from 'prom-client';
import { Channel } from 'nice-grpc';
import { startService, RunningService, TlsOptions } from '../../lib/server';
import { openChannel, makeClient } from '../../lib/client';
import { ALWAYS_ON_MODULES } from '../../lib/always-on-modules';
import { StandbyServiceDefinition } from '../../lib/gen/ceph/mgr/v1/standby';
import type { MgrMap } from '../../lib/gen/ceph/mgr/v1/standby';
import { ClusterStateServiceDefinition } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import { standbyHandlers } from './grpc';
import { StandbyBackend } from './backends/backend';
import { startEmbedded } from './backends/embedded';
import { EtcdAccess, EtcdBackend } from './backends/etcd';
import { CephBackend } from './backends/ceph';
import { cephTarget, type CephTargetFiles } from '../../lib/ceph/target';
import { MgrMapPublisher } from './publish';

export const DEFAULT_BEACON_INTERVAL_MS = 500;
export const DEFAULT_GRACE_MS = 3000;
/** etcd grants at least 2 s with its default election timeout; a crashed leader replica is replaced within about this. */
export const DEFAULT_ETCD_LEASE_TTL_S = 2;
export const DEFAULT_ETCD_PREFIX = '/mgrpc/standby/';
export const DEFAULT_INITIAL_MODULES = ['hello', 'selftest'];
export const DEFAULT_ALWAYS_ON_MODULES = ALWAYS_ON_MODULES;

export interface StandbyOptions {
  host?: string;
  port?: number;
  metricsPort?: number;
  maxMessageBytes?: number;
  shutdownGraceMs?: number;
  logLevel?: string;
  tls?: TlsOptions;
  /** TLS towards peers (cluster-state, the etcd leader replica). */
  peerTls?: TlsOptions;
  /** 'embedded' (default, one replica, map on local disk), 'etcd', or 'ceph' (the monitors' MgrMap, mirrored). */
  backend?: 'embedded' | 'etcd' | 'ceph';
  /** ceph: the cluster's conf and keyring (MGR_CEPH_*). */
  ceph?: CephTargetFiles;
  /** embedded: where mgrmap.json lives. */
  dataDir: string;
  /** etcd: client URLs, e.g. ['http://127.0.0.1:2379']. */
  etcdEndpoints?: string[];
  /** etcd: TLS (https endpoints) and etcd's user authentication. */
  etcdAccess?: EtcdAccess;
  etcdPrefix?: string;
  etcdLeaseTtlS?: number;
  /** etcd: this replica's address for the others to forward writes to (default: the listening address). */
  advertiseAddr?: string;
  beaconIntervalMs?: number;
  graceMs?: number;
  /** Modules enabled in a fresh map. */
  initialModules?: string[];
  alwaysOnModules?: string[];
  /** host:port of cluster-state: every new map is put there as mgr_map ('' : not published). */
  clusterStateAddr?: string;
  /**
   * The shared keyring: callers must prove a key of it (rules.ts says who
   * may call what), and this service calls cluster-state and the other
   * replicas as client.mgrpc-standby from it. Unset: no authentication,
   * loopback only (MGR_AUTH=none, tests).
   */
  keyringPath?: string;
}

export interface StandbyHandle {
  address: string;
  port: number;
  service: RunningService;
  backend: StandbyBackend;
  publisher: MgrMapPublisher | null;
  graceMs: number;
  beaconIntervalMs: number;
  stop(): Promise<void>;
}

/** The address others can reach us at when we listen on every interface. */
function reachableAddress(host: string, port: number): string {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return `${a.address}:${port}`;
  }
  return `127.0.0.1:${port}`;
}

export async function startStandby(opts: StandbyOptions): Promise<StandbyHandle> {
  const beaconIntervalMs = opts.beaconIntervalMs ?? DEFAULT_BEACON_INTERVAL_MS;
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const kind = opts.backend ?? 'embedded';
  if (!(beaconIntervalMs > 0)) throw new Error(`beacon interval must be positive, got ${beaconIntervalMs} ms (MGR_BEACON_INTERVAL_MS)`);
  if (graceMs < 2 * beaconIntervalMs)
    throw new Error(`beacon grace ${graceMs} ms must be at least twice the beacon interval ${beaconIntervalMs} ms (MGR_BEACON_GRACE_MS)`);
  if (kind !== 'embedded' && kind !== 'etcd' && kind !== 'ceph')
    throw new Error(`unknown standby backend '${kind}': embedded, etcd or ceph (MGR_STANDBY_BACKEND)`);
  // ceph: the files are read now, so a wrong path or a missing key stops the start with its name.
  const access = kind === 'ceph' ? cephTarget(opts.ceph ?? { cephConf: '', keyring: '' }) : undefined;
  const endpoints = (opts.etcdEndpoints ?? []).map((e) => e.trim()).filter(Boolean);
  if (kind === 'etcd' && !endpoints.length) throw new Error('the etcd backend needs MGR_ETCD_ENDPOINTS (e.g. http://127.0.0.1:2379)');
  const leaseTtlS = opts.etcdLeaseTtlS ?? DEFAULT_ETCD_LEASE_TTL_S;
  if (kind === 'etcd' && !(Number.isInteger(leaseTtlS) && leaseTtlS >= 1))
    throw new Error(`etcd lease TTL must be a whole number of seconds >= 1, got ${leaseTtlS} (MGR_ETCD_LEASE_TTL_S)`);
  // Checking often keeps failover close to the grace period; the check is cheap.
  const tickMs = Math.max(50, Math.min(beaconIntervalMs / 2, 250));
  const callTimeoutMs = Math.max(1000, Math.min(graceMs / 2, 5000));

  let backend: StandbyBackend | null = null;
  const service = await startService(
    {
      name: 'standby',
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      metricsPort: opts.metricsPort,
      maxMessageBytes: opts.maxMessageBytes,
      shutdownGraceMs: opts.shutdownGraceMs,
      tls: opts.tls,
      logLevel: opts.logLevel,
      auth: opts.keyringPath
        ? {
            keyringPath: opts.keyringPath,
            tables: { [StandbyServiceDefinition.fullName]: standbyRules },
            audiences: opts.advertiseAddr ? [opts.advertiseAddr] : [],
          }
        : null,
    },
    (server, ctx) => {
      if (opts.keyringPath) ensureKeyring(opts.keyringPath, ctx.log);
      const probes = new prom.Counter({
        name: 'mgr_standby_presence_probes_total',
        help: 'Probes of a manager whose MgrMap watch ended, by what its address said (refused: taken out of the map at once)',
        labelNames: ['result'],
        registers: [ctx.registry],
      });
      server.add(
        StandbyServiceDefinition,
        standbyHandlers(() => backend, {
          log: ctx.log,
          graceMs,
          beaconIntervalMs,
          forwardTimeoutMs: callTimeoutMs,
          shutdownSignal: ctx.shutdownSignal,
          probed: (result) => probes.inc({ result }),
        }),
      );
      return [StandbyServiceDefinition.fullName];
    },
  );
  const log = service.log;

  const credentials = opts.keyringPath ? keyringCredentials(opts.keyringPath, STANDBY_ENTITY) : undefined;
  let csChannel: Channel | null = null;
  let publisher: MgrMapPublisher | null = null;
  if (opts.clusterStateAddr) {
    csChannel = openChannel(opts.clusterStateAddr, opts.peerTls);
    publisher = new MgrMapPublisher(makeClient(ClusterStateServiceDefinition, csChannel, { credentials }), log.child({ peer: 'cluster-state' }));
  }
  const onCommitted = (m: MgrMap) => publisher?.publish(m);
  const initialEpoch = publisher ? () => publisher!.storedEpoch() : undefined;
  const common = {
    graceMs,
    beaconIntervalMs,
    tickMs,
    initialModules: opts.initialModules ?? DEFAULT_INITIAL_MODULES,
    alwaysOnModules: opts.alwaysOnModules ?? DEFAULT_ALWAYS_ON_MODULES,
    log,
    onCommitted,
    initialEpoch,
  };

  let etcd: EtcdBackend | null = null;
  const advertiseAddr = opts.advertiseAddr || reachableAddress(opts.host ?? '127.0.0.1', service.port);
  try {
    if (kind === 'embedded') {
      backend = await startEmbedded({ ...common, dataDir: opts.dataDir });
    } else if (access) {
      const ceph = new CephBackend({ access, log, onCommitted, commandTimeoutMs: callTimeoutMs * 2 });
      backend = ceph;
      ceph.start();
    } else {
      etcd = new EtcdBackend({
        ...common,
        endpoints,
        access: opts.etcdAccess,
        prefix: opts.etcdPrefix ?? DEFAULT_ETCD_PREFIX,
        leaseTtlS,
        advertiseAddr,
        peerTls: opts.peerTls,
        credentials,
        callTimeoutMs,
      });
      backend = etcd;
      etcd.start();
    }
  } catch (e) {
    await service.stop();
    csChannel?.close();
    throw e;
  }
  const b = backend;
  registerMetrics(service.registry, b, etcd);
  service.onShutdown(async () => {
    // Resign first (etcd: revoke the lease) so another replica takes over now.
    await b.stop();
    publisher?.stop();
  });
  log.info('standby configured', {
    backend: kind,
    // ceph: the monitors' own timing (mon_mgr_beacon_grace, mgr_tick_period) applies, not ours
    ...(access ? {} : { graceMs, beaconIntervalMs, tickMs }),
    ...(etcd
      ? { etcd: endpoints, leaseTtlS, advertise: advertiseAddr }
      : access
        ? { monitors: access.monHost, entity: access.entity }
        : { dataDir: opts.dataDir }),
    clusterState: opts.clusterStateAddr || '(not published)',
  });
  void b.ready.then(() => {
    if (!service.shutdownSignal.aborted) service.setServing(true);
  });
  let stopped: Promise<void> | null = null;
  return {
    address: service.address,
    port: service.port,
    service,
    backend: b,
    publisher,
    graceMs,
    beaconIntervalMs,
    stop() {
      stopped ??= service.stop().finally(() => csChannel?.close());
      return stopped;
    },
  };
}

/** Gauges read at scrape time. */
function registerMetrics(registry: prom.Registry, backend: StandbyBackend, etcd: EtcdBackend | null): void {
  new prom.Gauge({
    name: 'mgr_standby_mgrmap_epoch',
    help: 'Epoch of the MgrMap this replica holds',
    registers: [registry],
    collect() {
      this.set(backend.feed.latest()?.epoch ?? 0);
    },
  });
  new prom.Gauge({
    name: 'mgr_standby_active',
    help: '1 when the MgrMap names an active manager',
    registers: [registry],
    collect() {
      this.set(backend.feed.latest()?.activeName ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: 'mgr_standby_standbys',
    help: 'Standby managers in the MgrMap',
    registers: [registry],
    collect() {
      this.set(backend.feed.latest()?.standbys.length ?? 0);
    },
  });
  new prom.Gauge({
    name: 'mgr_standby_is_leader',
    help: '1 when this replica runs the authority',
    registers: [registry],
    collect() {
      this.set(backend.status().role === 'leader' ? 1 : 0);
    },
  });
  if (etcd) {
    new prom.Gauge({
      name: 'mgr_standby_fenced_writes',
      help: 'Map writes etcd refused because another replica leads',
      registers: [registry],
      collect() {
        this.set(etcd.stats.fencedWrites);
      },
    });
    new prom.Gauge({
      name: 'mgr_standby_elections_won',
      help: 'Times this replica became leader',
      registers: [registry],
      collect() {
        this.set(etcd.stats.elections);
      },
    });
  }
}
