// The map feed: stands in for the monitors. It pushes the simulated
// cluster's maps to cluster-state with PutMap (epochs always growing),
// applies events (OSD down/up, pool creation) at a configurable interval and
// pushes the changed maps, and, when no fake daemons run, sends every up
// OSD's pg stats straight to cluster-state with IngestPgStats.
import type { CallCredentials } from '../lib/auth/proof';
import { Channel, ClientError, Status } from 'nice-grpc';
import { openChannel, makeClient } from '../lib/client';
import { createLogger, Logger } from '../lib/log';
import type { TlsOptions } from '../lib/server';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { SimCluster, ClusterEvent } from './cluster';
import { pgStatsReportFromJson } from '../lib/pgstats-json';
import type { PgStatsReport } from '../lib/gen/ceph/mgr/v1/pg_stats';
import { mgrConfig } from './config';

export interface FeedOptions {
  cluster: SimCluster;
  /** cluster-state address (ignored when channel is given). */
  address?: string;
  channel?: Channel;
  tls?: TlsOptions;
  /** Who the feed calls cluster-state as (client.mgrpc-feed); unset: no credentials. */
  credentials?: CallCredentials;
  logger?: Logger;
  /** Seconds between events; 0: no events (default 0). */
  eventIntervalSec?: number;
  /** Send pg stats with IngestPgStats (when no fake daemons report them). */
  pgStatsDirect?: boolean;
  /** Seconds between direct pg-stat rounds (default 5, Ceph's mgr_stats_period). */
  pgStatsPeriodSec?: number;
  /** Push a service map with an rgw daemon (when no fake daemons run, nobody else makes one). */
  serviceMap?: boolean;
  /** Retry backoff while cluster-state is unreachable, in ms (defaults 250 and 5000). */
  retry?: { initialMs?: number; maxMs?: number };
  /** OSDs per IngestPgStats call (default 500). */
  pgStatsBatch?: number;
}

/** Maps the feed owns, in the order it pushes them first. */
const MAP_ORDER = [
  'osd_metadata',
  'mds_metadata',
  'mon_metadata',
  'mon_map',
  'mon_status',
  'health_mon',
  'crush_map',
  'pg_mappings',
  'osd_map',
  'mon_config',
  'config',
  'fs_map',
  'service_map',
  'rbd_image_stats',
] as const;
type FeedMap = (typeof MAP_ORDER)[number];
// The get() name to read a map's stored epoch back.
const GET_NAME: Record<FeedMap, string> = {
  osd_metadata: 'osd_metadata',
  mds_metadata: 'mds_metadata',
  mon_metadata: 'mon_metadata',
  mon_map: 'mon_map',
  mon_status: 'mon_status',
  // not readable with get(): its stored epoch comes from PutMap's refusal
  health_mon: '',
  crush_map: 'osd_map_crush',
  pg_mappings: 'pg_mappings',
  osd_map: 'osd_map',
  mon_config: 'mon_config',
  config: 'config',
  fs_map: 'fs_map',
  service_map: 'service_map',
  rbd_image_stats: 'rbd_image_stats',
};

/** Maps a change by the monitors' commands may touch. */
export type ChangedMap = 'osd_map' | 'health_mon' | 'mon_config' | 'config' | 'fs_map';

export class MapFeed {
  readonly cluster: SimCluster;
  /** Epoch last stored per map. */
  readonly pushed = new Map<string, number>();
  /** Events applied so far. */
  readonly events: ClusterEvent[] = [];
  pgStatRounds = 0;
  private readonly log: Logger;
  private readonly ownChannel: boolean;
  private readonly channel: Channel;
  private readonly client;
  private readonly dirty = new Set<FeedMap>();
  private readonly epochs = new Map<FeedMap, number>();
  private serial: Promise<unknown> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly stopSignal = new AbortController();
  private firstMapsIn = false;
  /** The health_mon JSON last pushed: pushed again only when the monitors' health changed. */
  private lastMonHealth = '';

  constructor(private readonly opts: FeedOptions) {
    if (!opts.channel && !opts.address) throw new Error('the map feed needs a cluster-state address or a channel');
    this.cluster = opts.cluster;
    this.log = (opts.logger ?? createLogger({ component: 'sim-feed' })).child({ part: 'feed' });
    this.ownChannel = !opts.channel;
    this.channel = opts.channel ?? openChannel(opts.address!, opts.tls);
    this.client = makeClient(ClusterStateServiceDefinition, this.channel, { credentials: opts.credentials });
    for (const m of MAP_ORDER) if (m !== 'service_map' || opts.serviceMap) this.dirty.add(m);
  }

  /**
   * Pushes every map, retrying with backoff (and a log line) until
   * cluster-state answers; then starts the event and pg-stat timers.
   */
  async start(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        await this.flush();
        break;
      } catch (e) {
        const d = Math.min(this.opts.retry?.maxMs ?? 5000, (this.opts.retry?.initialMs ?? 250) * 2 ** attempt++);
        this.log.warn('cluster-state not reachable yet; retrying', { error: (e as Error).message, retryInMs: d, attempt });
        await this.sleep(d);
      }
    }
    if (this.stopped) return;
    if (this.opts.pgStatsDirect) await this.pushPgStats().catch((e) => this.log.warn('pg stats not accepted', { error: (e as Error).message }));
    const ev = this.opts.eventIntervalSec ?? 0;
    if (ev > 0) this.timers.push(setInterval(() => void this.applyEvent().catch(() => undefined), ev * 1000));
    if (this.opts.pgStatsDirect) {
      const p = (this.opts.pgStatsPeriodSec ?? 5) * 1000;
      this.timers.push(setInterval(() => void this.pushPgStats().catch((e) => this.log.warn('pg stats not accepted', { error: (e as Error).message })), p));
    }
    // maps that failed to push after an event are retried here; the monitors' health follows the OSDs' fill
    // The RBD images' counters (the answer Ceph's OSD perf query would give), at Ceph's stats period.
    this.timers.push(
      setInterval(
        () => {
          this.dirty.add('rbd_image_stats');
        },
        (this.opts.pgStatsPeriodSec ?? 5) * 1000,
      ),
    );
    this.timers.push(
      setInterval(() => {
        this.noteMonHealth();
        if (this.dirty.size) void this.flush().catch(() => undefined);
      }, 1000),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.serial.catch(() => undefined);
    if (this.ownChannel) this.channel.close();
  }

  /** Applies the next event of the rotation and pushes the changed maps. */
  applyEvent(): Promise<ClusterEvent> {
    return this.run(async () => {
      const ev = this.cluster.nextEvent();
      this.events.push(ev);
      this.log.info('event', { ...ev });
      this.dirty.add('osd_map');
      this.dirty.add('pg_mappings');
      await this.flushNow().catch((e) => this.log.warn('maps not pushed after event; will retry', { error: (e as Error).message }));
      // What the monitors would write to the cluster log.
      const message =
        ev.kind === 'osd_down'
          ? `osd.${ev.osd} failed (root=default,host=${this.cluster.hostName(this.cluster.osds[ev.osd].host)}) (connection refused)`
          : ev.kind === 'osd_up'
            ? `osd.${ev.osd} boot`
            : ev.kind === 'pool_create'
              ? `pool '${ev.name}' created`
              : `set pool ${ev.pool} ${ev.key} to ${ev.value}`;
      const channel = ev.kind === 'osd_down' || ev.kind === 'osd_up' ? 'cluster' : 'audit';
      await this.clusterLog([{ channel, priority: 'INF', message }]).catch(() => undefined);
      return ev;
    });
  }

  /** Pushes the osd map after a change made on the cluster directly (markOsdDown, createPool, ...). */
  pushOsdMap(): Promise<void> {
    return this.run(async () => {
      this.dirty.add('osd_map');
      this.dirty.add('pg_mappings');
      await this.flushNow();
    });
  }

  /**
   * Pushes what the monitors say after a change the simulator made outside
   * the event rotation (a monitor stopped or started, a pool filled, a health
   * check raised or cleared): mon_status and health_mon.
   */
  pushMonitorState(): Promise<void> {
    return this.run(async () => {
      this.dirty.add('mon_status');
      this.dirty.add('health_mon');
      await this.flushNow();
    });
  }

  /** Marks health_mon for pushing when the monitors' health changed (e.g. OSDs crossed a fullness ratio). */
  private noteMonHealth(): void {
    if (JSON.stringify(this.cluster.monHealth()) !== this.lastMonHealth) this.dirty.add('health_mon');
  }

  /** Pushes the maps that changed (all of them at first). */
  flush(): Promise<void> {
    return this.run(() => this.flushNow());
  }

  /**
   * Runs a change to the cluster (a monitor command) in turn with the feed's
   * other work, then pushes the maps it names; resolves with the change's
   * result once they are in cluster-state, so a read that follows sees them.
   */
  apply<T>(change: () => { result: T; changed: ChangedMap[] }): Promise<T> {
    return this.run(async () => {
      const { result, changed } = change();
      for (const m of changed) this.dirty.add(m);
      // The monitors' health and the PG mappings follow the osd map.
      if (changed.includes('osd_map')) {
        this.noteMonHealth();
        this.dirty.add('pg_mappings');
      }
      await this.flushNow();
      return result;
    });
  }

  /** Appends entries to the cluster log (what the monitors log). */
  async clusterLog(entries: Array<{ channel: string; priority: string; message: string }>): Promise<void> {
    const name = `mon.${this.cluster.monNames[0]}`;
    await this.client.appendClusterLog({ entries: entries.map((e) => ({ ...e, name, stamp: this.cluster.now() })) });
  }

  /** Sets (value) or removes (null) a key of cluster-state's store: the managers' module options. */
  async setStore(key: string, value: string | null): Promise<void> {
    await this.client.setStore(value === null ? { key } : { key, value });
  }

  /** Sends pg stats of every up OSD with IngestPgStats, in batches. */
  pushPgStats(): Promise<number> {
    return this.run(async () => {
      const t = this.cluster.now();
      const batch = this.opts.pgStatsBatch ?? 500;
      let applied = 0;
      let stats: Array<{ osd: number; epoch: number; stamp: number; report: PgStatsReport }> = [];
      const send = async () => {
        const res = await this.client.ingestPgStats({ stats });
        applied += res.applied;
        if (res.rejected.length) this.log.warn('cluster-state rejected pg stats', { rejected: res.rejected.slice(0, 5), count: res.rejected.length });
        stats = [];
      };
      for (const o of this.cluster.osds) {
        if (!o.up) continue;
        const s = this.cluster.osdPgStats(o.id, t);
        stats.push({
          osd: o.id,
          epoch: s.epoch,
          stamp: t,
          report: pgStatsReportFromJson(s),
        });
        if (stats.length >= batch) await send();
      }
      if (stats.length) await send();
      this.pgStatRounds++;
      this.noteMonHealth();
      if (this.dirty.has('health_mon')) await this.flushNow();
      return applied;
    });
  }

  // Everything that talks to cluster-state runs one at a time, in order.
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.serial.then(fn, fn);
    this.serial = p.catch(() => undefined);
    return p;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.stopSignal.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private async flushNow(): Promise<void> {
    for (const name of MAP_ORDER) {
      if (!this.dirty.has(name)) continue;
      await this.pushMap(name);
      this.dirty.delete(name);
    }
    if (!this.firstMapsIn) {
      this.firstMapsIn = true;
      this.log.info('first maps are in cluster-state', {
        osd_map_epoch: this.cluster.epoch,
        osds: this.cluster.osdCount,
        pools: this.cluster.pools.length,
        pgs: this.cluster.pgs.length,
      });
    }
  }

  private build(name: FeedMap, epoch: number): object {
    const c = this.cluster;
    switch (name) {
      case 'osd_map':
        return c.osdMap();
      case 'mon_config':
        return { options: c.configDb };
      case 'config':
        return mgrConfig(c);
      case 'crush_map':
        return c.crushMap();
      case 'pg_mappings':
        return c.pgMappings();
      case 'fs_map':
        return { ...c.fsMap(), epoch };
      case 'mon_map':
        return { ...c.monMap(), epoch };
      case 'mon_status':
        return c.monStatus(this.epochs.get('mon_map') ?? 1);
      case 'health_mon':
        return c.monHealth();
      case 'rbd_image_stats':
        return c.rbdImageStats();
      case 'service_map':
        return c.serviceMap(epoch, true);
      case 'osd_metadata':
        return c.osdMetadata();
      case 'mds_metadata':
        return c.mdsMetadata();
      case 'mon_metadata':
        return c.monMetadata();
    }
  }

  /** Pushes one map at the next epoch; if cluster-state holds a later one (an earlier run), moves past it. */
  private async pushMap(name: FeedMap): Promise<void> {
    for (let tries = 0; ; tries++) {
      const epoch = name === 'osd_map' || name === 'pg_mappings' ? this.cluster.epoch : (this.epochs.get(name) ?? 0) + 1;
      const body = JSON.stringify(this.build(name, epoch));
      const json = Buffer.from(body);
      try {
        const res = await this.client.putMap({ name, epoch, json });
        this.epochs.set(name, res.epoch);
        this.pushed.set(name, res.epoch);
        if (name === 'health_mon') this.lastMonHealth = body;
        this.log.debug('map pushed', { map: name, epoch: res.epoch, bytes: json.length });
        return;
      } catch (e) {
        if (!(e instanceof ClientError) || e.code !== Status.FAILED_PRECONDITION || tries > 0) throw e;
        const stored = GET_NAME[name] ? (await this.client.get({ what: GET_NAME[name] })).epoch : Number(/stored epoch (\d+)/.exec(e.details)?.[1] ?? NaN);
        if (!Number.isSafeInteger(stored)) throw e;
        this.log.info('cluster-state holds a later epoch; continuing after it', { map: name, stored });
        if (name === 'osd_map' || name === 'pg_mappings') this.cluster.advanceEpochTo(stored + 1);
        else this.epochs.set(name, stored);
      }
    }
  }
}
