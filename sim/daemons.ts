// Fake daemons: every OSD of the simulated cluster, the MDS, the mons and an
// rgw service daemon, each a session to daemon-server: the OSDs replay
// pre-encoded reports (sim/replay.ts: only the values change), the others use
// the full client (lib/mgr-client.ts). Thousands of OSDs share a few gRPC
// channels (one per `daemonsPerChannel` sessions), and their reports are
// spread evenly over the period so that the server sees a steady stream
// rather than bursts.
import { Channel } from 'nice-grpc';
import { openChannel } from '../lib/client';
import { createLogger, Logger } from '../lib/log';
import type { TlsOptions } from '../lib/server';
import { MgrClient, CounterSource } from '../lib/mgr-client';
import { SimCluster } from './cluster';
import { OsdPgReportEncoder } from './pg-report';
import { ReplaySession } from './replay';

/** A simulated daemon's session: the full client (MgrClient) or, for OSDs, the replayed one. */
export type SimSession = MgrClient | ReplaySession;
import { osdPerfSchema, mdsPerfSchema, monPerfSchema, rgwPerfSchema, PerfValueGenerator } from './perf';

export interface DaemonsOptions {
  cluster: SimCluster;
  /** daemon-server address. */
  address: string;
  tls?: TlsOptions;
  /** Who the daemons call as: each call carries a proof made with this key, never the key. */
  auth?: { entity: string; key: string };
  logger?: Logger;
  /** Sessions per gRPC channel (default 1000). */
  daemonsPerChannel?: number;
  /** Also run the MDS, the mons and the rgw daemon (default true). */
  others?: boolean;
  backoff?: { initialMs?: number; maxMs?: number };
}

function generated(schema: ReturnType<typeof osdPerfSchema>, seed: number, start: number): CounterSource {
  const gen = new PerfValueGenerator(schema, seed);
  return { schema, values: (t) => gen.values(t - start, 1) };
}

export class FakeDaemons {
  readonly clients: SimSession[] = [];
  private channels: Channel[] = [];
  private readonly log: Logger;
  private connected = 0;
  private announced = false;

  constructor(private readonly opts: DaemonsOptions) {
    this.log = (opts.logger ?? createLogger({ component: 'sim-daemons' })).child({ part: 'daemons' });
  }

  /** How many sessions have their configure. */
  get connectedCount(): number {
    return this.connected;
  }

  /** Channels in use (OSDs share them). */
  get channelCount(): number {
    return this.channels.length;
  }

  start(): this {
    const { cluster } = this.opts;
    const perChannel = Math.max(1, this.opts.daemonsPerChannel ?? 1000);
    const total = cluster.osdCount + (this.opts.others === false ? 0 : 1 + cluster.monNames.length + 1);
    const channelFor = (i: number) => {
      const k = Math.floor(i / perChannel);
      while (this.channels.length <= k) this.channels.push(openChannel(this.opts.address, this.opts.tls));
      return this.channels[k];
    };
    const common = { auth: this.opts.auth, logger: this.log, backoff: this.opts.backoff, now: cluster.now };
    const osdSchema = osdPerfSchema();
    // OSDs: replayed sessions (sim/replay.ts), cheap enough for 10,000 in one process
    for (const osd of cluster.osds) {
      const id = osd.id;
      const pgReport = new OsdPgReportEncoder(cluster, id);
      const client = this.add(
        new ReplaySession({
          daemonName: `osd.${id}`,
          channel: channelFor(this.clients.length),
          auth: this.opts.auth,
          logger: this.log,
          backoff: this.opts.backoff,
          now: cluster.now,
          metadata: cluster.osdMetadataOf(id),
          // even spread of the reports over the period
          phase: id / cluster.osdCount,
          schema: osdSchema,
          values: (t) => cluster.osdPerfValues(id, t),
          healthMetrics: () => cluster.daemonHealthMetrics(`osd.${id}`),
          pgStats: () => {
            if (!cluster.osds[id].up) return undefined; // a down OSD has nothing to say
            return { epoch: cluster.epoch, report: pgReport.encode(cluster.now()) };
          },
        }),
      );
      // The manager's MOSDScrub2: scrub the PGs this OSD is primary of; the next pg stats carry the stamps.
      client.on('scrub', (m: { deep: boolean; repair: boolean }) => {
        const n = cluster.scrubOsd(id, m.deep || m.repair);
        this.log.info('osd scrubbed', { osd: id, pgs: n, deep: m.deep, repair: m.repair });
      });
    }
    if (this.opts.others !== false) {
      const start = cluster.createdAt;
      const mds = cluster.mdsMetadata();
      for (const [name, md] of Object.entries(mds)) {
        this.add(
          new MgrClient({
            ...common,
            daemonName: `mds.${name}`,
            channel: channelFor(this.clients.length),
            metadata: md,
            counters: generated(mdsPerfSchema(), 11, start),
          }),
        );
      }
      for (const [name, md] of Object.entries(cluster.monMetadata())) {
        this.add(
          new MgrClient({
            ...common,
            daemonName: `mon.${name}`,
            channel: channelFor(this.clients.length),
            metadata: md,
            healthMetrics: () => cluster.daemonHealthMetrics(`mon.${name}`),
            counters: generated(monPerfSchema(), 13, start),
          }),
        );
      }
      this.add(
        new MgrClient({
          ...common,
          daemonName: 'rgw.gw1',
          serviceName: 'rgw',
          serviceDaemon: true,
          channel: channelFor(this.clients.length),
          metadata: cluster.rgwMetadata(),
          daemonStatus: { current_sync: '[]', zone: 'default' },
          counters: generated(rgwPerfSchema(), 17, start),
        }),
      );
    }
    this.log.info('starting fake daemons', { daemons: total, channels: this.channels.length, address: this.opts.address });
    for (const c of this.clients) c.start();
    return this;
  }

  private add<T extends SimSession>(c: T): T {
    c.on('connected', () => {
      this.connected++;
      if (!this.announced && this.connected === this.clients.length) {
        this.announced = true;
        this.log.info('all daemons connected to daemon-server', { daemons: this.connected, channels: this.channels.length });
      }
    });
    c.on('disconnected', () => this.connected--);
    this.clients.push(c);
    return c;
  }

  /** Moves every session to another daemon-server (a new active manager). */
  setAddress(address: string): void {
    const old = this.channels;
    this.opts.address = address;
    this.channels = old.map(() => openChannel(address, this.opts.tls));
    const perChannel = Math.max(1, this.opts.daemonsPerChannel ?? 1000);
    this.clients.forEach((c, i) => c.setChannel(this.channels[Math.floor(i / perChannel)]));
    for (const ch of old) ch.close();
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.stop()));
    for (const ch of this.channels) ch.close();
    this.channels = [];
  }
}
