// The Ceph map feed: keeps cluster-state's maps equal to a real cluster's.
// The monitor client follows the maps (osdmap, fsmap, monmap epochs) and the
// monitors' digests; on each new epoch the feed re-reads the JSON dumps of
// table.ts's rows for that map with monitor commands and puts them with
// PutMap. Health and configuration, which change without an epoch, are read
// every period. Epochs arriving while a round runs are coalesced into the
// next round; a map is never put at an epoch below the last one.
//
// Faults: while no monitor session exists for longer than the grace, the
// health check MGR_CEPH_MON_UNREACHABLE names the monitors and the last
// error; a refusal no other monitor will cure (a wrong key, a cluster that
// is not Pacific, v1-only monitors) raises MGR_CEPH_MON_REFUSED at once
// (the monitor client retries it slowly, never in a busy loop). One log
// line per change of state, not per attempt.
import type { CallCredentials } from '../lib/auth/proof';
import { Channel, ClientError, Status } from 'nice-grpc';
import * as prom from 'prom-client';
import { openChannel, makeClient } from '../lib/client';
import type { Logger } from '../lib/log';
import type { TlsOptions } from '../lib/server';
import type { Message } from '../lib/ceph/message';
import type { MonClient } from '../lib/ceph/monclient';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { HealthSeverity, type HealthCheck } from '../lib/gen/ceph/mgr/v1/common';
import { decodeMgrDigest } from './digest';
import { FEED_TABLE, rowCommand, type FeedRow, type Trigger } from './table';

/** The SetHealthChecks source of the feed's own checks. */
export const HEALTH_SOURCE = 'ceph-feed';

export interface CephFeedOptions {
  /** The monitor client (not yet started): the feed starts and stops it. */
  mon: MonClient;
  /** cluster-state's address (ignored when channel is given). */
  clusterState?: string;
  channel?: Channel;
  tls?: TlsOptions;
  /** Who the feed calls cluster-state as (client.mgrpc-feed of mgrpc's keyring). */
  credentials?: CallCredentials;
  logger: Logger;
  /** How often health, configuration and (without digests) mon_status are read; default 5 s, Ceph's mon_mgr_digest_period. */
  periodMs?: number;
  /** How long without a monitor session before MGR_CEPH_MON_UNREACHABLE is raised; default 10 s. */
  monGraceMs?: number;
  /** Deadline of each monitor command; default 15 s. */
  commandTimeoutMs?: number;
  /** mon_host as configured, named in health checks until a monmap is known. */
  monHost?: string;
  /** Where the feed's and the monitor client's metrics go. */
  registry?: prom.Registry;
}

export interface CephFeedStatus {
  /** Every row has been put at least once. */
  synced: boolean;
  /** The monitor session ("mon.a at v2:..."), if any. */
  monitor?: string;
  /** Last epoch put per cluster-state map. */
  epochs: Record<string, number>;
  /** Puts done. */
  puts: number;
  /** The codes of the feed's health checks now raised. */
  checks: string[];
  lastError?: string;
}

const MAP_TRIGGERS = new Set<Trigger>(['osdmap', 'fsmap', 'monmap']);

export class CephMapFeed {
  /** Resolves once every row has been put once (never rejects; see status()). */
  readonly firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  private readonly mon: MonClient;
  private readonly log: Logger;
  private readonly channel: Channel;
  private readonly ownChannel: boolean;
  private readonly cs;
  private readonly periodMs: number;
  private readonly graceMs: number;
  private readonly commandTimeoutMs: number;
  private readonly dirty = new Set<Trigger>();
  private running: Promise<void> | undefined;
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  /** Per map: the last epoch and bytes put. */
  private readonly put = new Map<string, { epoch: number; json: string }>();
  private readonly putOnce = new Set<string>();
  private puts = 0;
  private lastDigestAt = 0;
  private digestSeen = false;
  /** Since when no monitor session exists (0: one exists). */
  private noSessionSince = Date.now();
  /** A refusal the monitor client reported (start() rejected); cleared by the next session. */
  private refusal: string | undefined;
  private fsidConflict: string | undefined;
  private checksSent = '';
  private readonly warned = new Map<string, string>();
  private clusterStateDown = false;
  private lastError: string | undefined;
  private readonly metrics: { updates: prom.Counter<'map'>; epoch: prom.Gauge<'map'> } | undefined;

  constructor(private readonly o: CephFeedOptions) {
    if (!o.channel && !o.clusterState) throw new Error('the Ceph map feed needs a cluster-state address or a channel');
    this.mon = o.mon;
    this.log = o.logger.child({ component: 'ceph-feed' });
    this.ownChannel = !o.channel;
    this.channel = o.channel ?? openChannel(o.clusterState!, o.tls);
    this.cs = makeClient(ClusterStateServiceDefinition, this.channel, { credentials: o.credentials });
    this.periodMs = o.periodMs ?? 5000;
    this.graceMs = o.monGraceMs ?? 10000;
    this.commandTimeoutMs = o.commandTimeoutMs ?? 15000;
    this.firstSync = new Promise((r) => (this.resolveFirstSync = r));
    if (o.registry) this.metrics = registerMetrics(o.registry, this.mon);
  }

  /** Starts the monitor client and the feed; returns at once (firstSync tells when the maps are in). */
  start(): void {
    this.mon.subscribe('mgrdigest');
    this.mon.on('map', (name: string, epoch: number, m?: Message) => this.onMap(name, epoch, m));
    this.mon.on('connected', (label: string) => {
      this.noSessionSince = 0;
      this.refusal = undefined;
      // the maps may have moved while we were away: read them all again
      for (const t of [...MAP_TRIGGERS, 'period', 'digest'] as Trigger[]) this.dirty.add(t);
      this.kick();
      this.updateChecks();
      this.log.debug('monitor session', { monitor: label });
    });
    this.mon.on('disconnected', () => {
      if (!this.noSessionSince) this.noSessionSince = Date.now();
      this.watchRefusal();
    });
    this.watchRefusal();
    this.timers.push(
      setInterval(() => {
        this.dirty.add('period');
        // without digests (a monitor client that does not deliver them), mon_status is read as the others
        if (Date.now() - this.lastDigestAt > 2 * this.periodMs) this.dirty.add('digest');
        this.kick();
        this.updateChecks();
      }, this.periodMs),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.mon.stop();
    await this.running?.catch(() => undefined);
    if (this.ownChannel) this.channel.close();
  }

  status(): CephFeedStatus {
    return {
      synced: this.putOnce.size === FEED_TABLE.length,
      monitor: this.mon.status().monitor,
      epochs: Object.fromEntries([...this.put].map(([k, v]) => [k, v.epoch])),
      puts: this.puts,
      checks: this.currentChecks().map((c) => c.code),
      lastError: this.lastError,
    };
  }

  // ---- monitors ----

  /** start() resolves when a session is up and rejects on a refusal no monitor will cure: that is how a refusal is learnt. */
  private watchRefusal(): void {
    if (this.stopped) return;
    this.mon.start().then(
      () => undefined,
      (e: Error) => {
        if (this.stopped) return;
        this.refusal = e.message;
        this.lastError = e.message;
        this.updateChecks();
      },
    );
  }

  private onMap(name: string, epoch: number, m?: Message): void {
    if (name === 'mgrdigest') {
      if (!m) return;
      try {
        const digest = decodeMgrDigest(m);
        this.lastDigestAt = Date.now();
        if (!this.digestSeen) this.log.info('monitor digests arrive: mon_status follows them');
        this.digestSeen = true;
        const row = FEED_TABLE.find((r) => r.trigger === 'digest')!;
        void this.serial(() => this.putRow(row, digest.monStatus));
      } catch (e) {
        this.warnOnce('digest', `an MMgrDigest could not be read: ${(e as Error).message}`);
      }
      return;
    }
    if (MAP_TRIGGERS.has(name as Trigger)) {
      this.log.debug('new epoch', { map: name, epoch });
      this.dirty.add(name as Trigger);
      this.kick();
    }
  }

  // ---- the refresh loop ----

  /** Runs a round unless one runs; a round takes every trigger marked so far (bursts of epochs coalesce). */
  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.serial(async () => {
      while (this.dirty.size && !this.stopped && this.mon.status().state === 'connected') {
        const due = new Set(this.dirty);
        this.dirty.clear();
        if (due.has('digest') && this.digestSeen && Date.now() - this.lastDigestAt <= 2 * this.periodMs) due.delete('digest');
        const failed = await this.round(due);
        if (failed.size) {
          // cluster-state or the monitors did not take it: again at the next period
          for (const t of failed) this.dirty.add(t);
          break;
        }
      }
      if (!this.stopped && this.putOnce.size === FEED_TABLE.length) this.resolveFirstSync();
    }).finally(() => {
      this.running = undefined;
    });
  }

  private chain: Promise<unknown> = Promise.resolve();
  /** Everything that puts runs one at a time, in order (a digest's put and a round never interleave). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Reads and puts every row of the due triggers; returns the triggers that failed. */
  private async round(due: Set<Trigger>): Promise<Set<Trigger>> {
    const failed = new Set<Trigger>();
    // rows with their own epoch last, so a watcher that sees osd_map finds its crush map and metadata already in
    const rows = FEED_TABLE.filter((r) => due.has(r.trigger)).sort((a, b) => Number(a.ownEpoch) - Number(b.ownEpoch));
    for (const row of rows) {
      if (this.stopped) break;
      let out: unknown;
      try {
        const res = await this.mon.command(rowCommand(row), { timeoutMs: this.commandTimeoutMs });
        if (res.r !== 0) throw new Error(`the monitors answered ${res.r}: ${res.rs}`);
        out = row.transform(JSON.parse(res.data.toString('utf8')));
      } catch (e) {
        this.warnOnce(`cmd:${row.get}`, `reading ${row.get} with '${row.command.prefix}' failed: ${(e as Error).message}`);
        failed.add(row.trigger);
        continue;
      }
      this.warned.delete(`cmd:${row.get}`);
      if (!(await this.putRow(row, out))) failed.add(row.trigger);
    }
    return failed;
  }

  /** Puts one row's JSON if it is new; false when cluster-state did not take it (it is tried again later). */
  private async putRow(row: FeedRow, value: unknown): Promise<boolean> {
    const json = JSON.stringify(value);
    const last = this.put.get(row.map);
    let epoch: number;
    if (row.ownEpoch) {
      epoch = Number((value as { epoch?: unknown }).epoch);
      if (!Number.isSafeInteger(epoch) || epoch < 1) {
        this.warnOnce(`epoch:${row.map}`, `${row.get} from the monitors has no valid epoch (${String((value as { epoch?: unknown }).epoch)})`);
        return true;
      }
      if (last && epoch <= last.epoch) return this.synced(row); // never backwards; the same epoch is already in
    } else {
      if (last && last.json === json) return this.synced(row);
      // no epoch of its own: a stamp that grows even across restarts of the feed
      epoch = Math.max((last?.epoch ?? 0) + 1, Date.now());
    }
    try {
      await this.cs.putMap({ name: row.map, epoch, json: Buffer.from(json) });
    } catch (e) {
      return this.putFailed(row, epoch, json, e as Error);
    }
    if (this.clusterStateDown) this.log.info('cluster-state takes maps again');
    this.clusterStateDown = false;
    this.put.set(row.map, { epoch, json });
    this.puts++;
    this.metrics?.updates.inc({ map: row.map });
    this.metrics?.epoch.set({ map: row.map }, epoch);
    this.log.debug('map put', { map: row.map, epoch, bytes: json.length });
    return this.synced(row);
  }

  private synced(row: FeedRow): true {
    if (!this.putOnce.has(row.map)) {
      this.putOnce.add(row.map);
      if (this.putOnce.size === FEED_TABLE.length) {
        const epochs = Object.fromEntries(['osd_map', 'fs_map', 'mon_map'].map((m) => [m, this.put.get(m)?.epoch ?? 0]));
        this.log.info("the cluster's maps are in cluster-state", { ...epochs, monitor: this.mon.status().monitor, fsid: this.mon.status().fsid });
        this.resolveFirstSync();
      }
    }
    return true;
  }

  private async putFailed(row: FeedRow, epoch: number, json: string, e: Error): Promise<boolean> {
    if (e instanceof ClientError && e.code === Status.FAILED_PRECONDITION) {
      if (row.ownEpoch) {
        // cluster-state holds a later epoch: another cluster's maps, or another feed already ahead of us
        const stored = await this.cs.get({ what: row.get }).catch(() => undefined);
        const theirs = stored ? safeParse(Buffer.from(stored.json).toString('utf8')) : undefined;
        const ours = (JSON.parse(json) as { fsid?: string }).fsid;
        if (theirs?.fsid && ours && theirs.fsid !== ours) {
          this.fsidConflict = `cluster-state holds the ${row.map} of cluster ${theirs.fsid} (epoch ${stored!.epoch}), but the monitors are of cluster ${ours}: run cluster-state on an empty data directory for this cluster`;
          if (this.warnOnce('fsid', this.fsidConflict, 'error')) this.updateChecks();
          return false;
        }
        this.put.set(row.map, { epoch: stored?.epoch ?? epoch, json });
        return this.synced(row);
      }
      // a stamp below the stored one (the clock went back): move past it
      this.put.set(row.map, { epoch: epoch + 3_600_000, json: '' });
      return false;
    }
    this.lastError = `cluster-state did not take ${row.map}: ${e.message}`;
    if (!this.clusterStateDown) this.log.warn('cluster-state does not take maps; retrying every period', { map: row.map, error: e.message });
    this.clusterStateDown = true;
    return false;
  }

  // ---- health checks ----

  private currentChecks(): HealthCheck[] {
    const checks: HealthCheck[] = [];
    const st = this.mon.status();
    if (this.refusal) {
      checks.push({
        code: 'MGR_CEPH_MON_REFUSED',
        severity: HealthSeverity.HEALTH_SEVERITY_ERROR,
        summary: `the Ceph monitors refused mgrpc: ${this.refusal}`,
        count: 1,
        detail: [this.refusal],
      });
    } else if (this.noSessionSince && Date.now() - this.noSessionSince >= this.graceMs) {
      const addrs = this.candidates();
      const since = new Date(this.noSessionSince).toISOString();
      checks.push({
        code: 'MGR_CEPH_MON_UNREACHABLE',
        severity: HealthSeverity.HEALTH_SEVERITY_WARNING,
        summary: `mgrpc cannot reach the Ceph monitors (${addrs}) since ${since}`,
        count: 1,
        detail: [`monitors: ${addrs}`, `last error: ${st.lastError ?? 'none yet'}`],
      });
    }
    if (this.fsidConflict)
      checks.push({ code: 'MGR_CEPH_FSID_MISMATCH', severity: HealthSeverity.HEALTH_SEVERITY_ERROR, summary: this.fsidConflict, count: 1, detail: [] });
    return checks;
  }

  /** The monitor addresses the client hunts over, for messages. */
  private candidates(): string {
    const monmap = this.mon.getMonMap();
    if (monmap) return monmap.mons.map((m) => `mon.${m.name} ${m.addrs.map((a) => `${a.type === 2 ? 'v2' : 'v1'}:${a.host}:${a.port}`).join(',')}`).join('; ');
    return this.o.monHost ?? 'mon_host';
  }

  /** Sends the feed's checks to cluster-state when they changed (one log line per change). */
  private updateChecks(): void {
    if (this.stopped) return;
    const checks = this.currentChecks();
    const key = JSON.stringify(checks.map((c) => [c.code, c.summary]));
    if (key === this.checksSent) return;
    const before = this.checksSent;
    this.checksSent = key;
    if (checks.length) this.log.warn('health checks raised', { checks: checks.map((c) => `${c.code}: ${c.summary}`) });
    else if (before) this.log.info('health checks cleared: the monitors answer again');
    void this.serial(() => this.cs.setHealthChecks({ source: HEALTH_SOURCE, checks })).catch((e: Error) => {
      this.checksSent = ''; // sent again at the next period
      this.log.debug('health checks not sent', { error: e.message });
    });
  }

  /** Logs a warning once per distinct message under `key`; true when it was logged. */
  private warnOnce(key: string, message: string, level: 'warn' | 'error' = 'warn'): boolean {
    this.lastError = message;
    if (this.warned.get(key) === message) return false;
    this.warned.set(key, message);
    this.log[level](message);
    return true;
  }
}

function safeParse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The feed's metrics and the monitor client's counters, read at scrape time. */
function registerMetrics(registry: prom.Registry, mon: MonClient) {
  const updates = new prom.Counter({
    name: 'mgr_ceph_feed_map_updates_total',
    help: 'maps put into cluster-state, by map',
    labelNames: ['map'],
    registers: [registry],
  });
  const epoch = new prom.Gauge({ name: 'mgr_ceph_feed_map_epoch', help: 'last epoch (or stamp) put, by map', labelNames: ['map'], registers: [registry] });
  // Mirrors of the monitor client's own counters: the difference since the last scrape is added.
  const mirror = (name: string, help: string, read: () => number) => {
    let seen = 0;
    new prom.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = read();
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  const s = () => mon.status();
  mirror('mgr_ceph_mon_sessions_total', 'monitor sessions opened (the first one, then one per reconnect)', () => s().sessions);
  mirror('mgr_ceph_mon_commands_total', 'monitor commands sent', () => s().commandsSent);
  mirror('mgr_ceph_mon_command_timeouts_total', 'monitor commands that got no answer in time', () => s().commandsTimedOut);
  mirror('mgr_ceph_wire_crc_errors_total', 'msgr2 frames with a crc mismatch (the connection is dropped)', () => s().wire.crcErrors);
  mirror(
    'mgr_ceph_wire_malformed_frames_total',
    'msgr2 frames or messages that could not be decoded (the connection is dropped)',
    () => s().wire.malformedFrames,
  );
  mirror('mgr_ceph_wire_oversized_frames_total', 'msgr2 frames refused for their size', () => s().wire.oversizedFrames);
  mirror('mgr_ceph_wire_auth_failures_total', 'cephx handshakes that failed', () => s().wire.authFailures);
  mirror(
    'mgr_ceph_wire_decrypt_failures_total',
    'secure-mode frames whose AES-GCM tag did not verify (the connection is dropped)',
    () => s().wire.decryptFailures,
  );
  new prom.Gauge({
    name: 'mgr_ceph_mon_connected',
    help: '1 while a monitor session is open',
    registers: [registry],
    collect() {
      this.set(s().state === 'connected' ? 1 : 0);
    },
  });
  return { updates, epoch };
}
