// The etcd backend: several stateless replicas share one etcd 3 cluster.
//
//   <prefix>leader  {address, since}, attached to the leader's lease: created
//                   only if absent (a transaction on its create revision).
//   <prefix>mgrmap  the MgrMap (proto JSON), written only by the leader.
//
// Only the leader runs the authority (ticks and writes). Every map write is
// a transaction that holds only if the leader key still has the create
// revision we created it with and the map key has the revision we last
// wrote: a replica whose lease expired (and whose key is gone, or is someone
// else's now) cannot write, whatever it believes. A beacon that changes
// nothing is answered only after the same comparison succeeds, so an answer
// always comes from a replica that was leader when it was given.
//
// Every replica watches the prefix: followers answer reads from the map they
// watch and forward writes to the leader's address. A new leader reads the
// map from etcd and gives every manager a full grace period.
import * as fs from 'fs';
import { Etcd3, IOptions, Lease, Watcher, IKeyValue } from 'etcd3';
import { ExponentialBackoff, noop } from 'cockatiel';
import { ClientError, Status, Channel } from 'nice-grpc';
import { MgrMap, StandbyServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/standby';
import { openChannel, makeClient } from '../../../lib/client';
import type { CallCredentials } from '../../../lib/auth/proof';
import type { TlsOptions } from '../../../lib/server';
import type { Logger } from '../../../lib/log';
import { emptyMap, MgrMapAuthority } from '../domain/authority';
import { MapFeed } from '../domain/feed';
import { AuthorityRunner, RunnerStopped } from '../domain/runner';
import { BackendStatus, BackendUnavailable, StandbyBackend, StandbyClient } from './backend';

/** How a replica reaches etcd securely: TLS (https endpoints) and etcd's own user authentication. */
export interface EtcdAccess {
  /** PEM CA that signed etcd's server certificate (MGR_ETCD_CA; default: the system's CAs). */
  ca?: string;
  /** PEM client certificate and key, for an etcd started with --client-cert-auth (MGR_ETCD_CERT, MGR_ETCD_KEY). */
  cert?: string;
  key?: string;
  /** etcd user (MGR_ETCD_USER), with its password read from passwordFile (MGR_ETCD_PASSWORD_FILE). */
  user?: string;
  passwordFile?: string;
}

/**
 * etcd3's `credentials` and `auth` options for `access`, files read now so a
 * wrong path stops the start with its name. TLS settings need https
 * endpoints (and https endpoints get TLS even without them: the system's CAs).
 */
export function etcdConnectOptions(endpoints: string[], access: EtcdAccess = {}): Pick<IOptions, 'credentials' | 'auth'> {
  const https = endpoints.filter((e) => e.startsWith('https://'));
  if (https.length && https.length !== endpoints.length)
    throw new Error(`etcd endpoints mix https and plain http: ${endpoints.join(',')} (MGR_ETCD_ENDPOINTS)`);
  const wantsTls = !!(access.ca || access.cert || access.key);
  if (wantsTls && !https.length) throw new Error('MGR_ETCD_CA/CERT/KEY are set but the etcd endpoints are not https:// (MGR_ETCD_ENDPOINTS)');
  if (!!access.cert !== !!access.key) throw new Error('etcd client TLS needs both MGR_ETCD_CERT and MGR_ETCD_KEY');
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Error(`cannot read ${what} ${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  const out: Pick<IOptions, 'credentials' | 'auth'> = {};
  if (wantsTls) {
    out.credentials = {
      rootCertificate: access.ca ? read(access.ca, 'the etcd CA (MGR_ETCD_CA)') : (null as unknown as Buffer),
      ...(access.cert && access.key
        ? { certChain: read(access.cert, 'the etcd client certificate (MGR_ETCD_CERT)'), privateKey: read(access.key, 'the etcd client key (MGR_ETCD_KEY)') }
        : {}),
    };
  }
  if (access.user || access.passwordFile) {
    if (!access.user || !access.passwordFile) throw new Error('etcd authentication needs both MGR_ETCD_USER and MGR_ETCD_PASSWORD_FILE');
    const password = read(access.passwordFile, 'the etcd password file (MGR_ETCD_PASSWORD_FILE)')
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (!password) throw new Error(`the etcd password file ${access.passwordFile} is empty (MGR_ETCD_PASSWORD_FILE)`);
    out.auth = { username: access.user, password, callOptions: {} };
  }
  return out;
}

export interface EtcdOptions {
  endpoints: string[];
  /** TLS and user authentication towards etcd. */
  access?: EtcdAccess;
  /** Key prefix, e.g. "/mgrpc/standby/". */
  prefix: string;
  /** The leader's lease TTL in seconds: a dead leader is replaced within about this. */
  leaseTtlS: number;
  /** The address other replicas forward writes to (this replica's gRPC address). */
  advertiseAddr: string;
  graceMs: number;
  beaconIntervalMs: number;
  tickMs: number;
  initialModules: string[];
  alwaysOnModules: string[];
  log: Logger;
  /** TLS for forwarding to the leader. */
  peerTls?: TlsOptions;
  /** Who this replica calls the leader as (client.mgrpc-standby). */
  credentials?: CallCredentials;
  /** Deadline of a call forwarded to the leader, and of etcd calls. */
  callTimeoutMs: number;
  /** Every durable new map this replica wrote as leader (publish it). */
  onCommitted(map: MgrMap, why: string): void;
  /** For a fresh map: the epoch to start after (cluster-state's copy), if known. */
  initialEpoch?: () => Promise<number>;
}

/** The leader's writes were refused by etcd: another replica leads now. */
export class Fenced extends Error {}

export class EtcdBackend implements StandbyBackend {
  readonly feed = new MapFeed();
  readonly ready: Promise<void>;
  /** Counters for tests and metrics. */
  readonly stats = { elections: 0, fencedWrites: 0, forwarded: 0 };
  private client: Etcd3;
  private role: BackendStatus['role'] = 'candidate';
  private leaderAddr = '';
  private lease: Lease | null = null;
  private fence: { createRev: string; mapModRev: string } | null = null;
  private runner: AuthorityRunner | null = null;
  private watcher: Watcher | null = null;
  private campaigning = false;
  private stopped = false;
  private ignoreLeaseLoss = false;
  private timers: NodeJS.Timeout[] = [];
  private peers = new Map<string, { channel: Channel; client: StandbyClient }>();
  private resolveReady!: () => void;
  private readonly leaderKey: string;
  private readonly mapKey: string;

  constructor(private opts: EtcdOptions) {
    this.leaderKey = `${opts.prefix}leader`;
    this.mapKey = `${opts.prefix}mgrmap`;
    this.ready = new Promise((r) => (this.resolveReady = r));
    this.client = new Etcd3({
      hosts: opts.endpoints,
      ...etcdConnectOptions(opts.endpoints, opts.access),
      dialTimeout: opts.callTimeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + opts.callTimeoutMs }),
      // No hidden retries (a retried transaction is ambiguous) and no circuit
      // breaker (it would refuse calls for seconds after a blip): our own
      // loops retry.
      faultHandling: { host: () => noop, global: noop, watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }).next() },
    });
  }

  status(): BackendStatus {
    return { backend: 'etcd', role: this.role, leader: this.role === 'leader' ? this.opts.advertiseAddr : this.leaderAddr };
  }

  /** Connects, syncs the prefix and starts watching; campaigns when there is no leader. */
  start(): void {
    void this.sync();
    const t = setInterval(() => {
      // Safety net: a missed delete event must not leave us leaderless.
      if (!this.stopped && this.role !== 'leader' && !this.leaderAddr) void this.campaign();
    }, this.opts.leaseTtlS * 1000);
    t.unref();
    this.timers.push(t);
  }

  private async sync(): Promise<void> {
    let delay = 100;
    while (!this.stopped) {
      try {
        const res = await this.client.getAll().prefix(this.opts.prefix).exec();
        for (const kv of res.kvs) this.apply(kv);
        const w = await this.client
          .watch()
          .prefix(this.opts.prefix)
          .startRevision(String(BigInt(res.header.revision) + 1n))
          .create();
        if (this.stopped) {
          await w.cancel();
          return;
        }
        this.watcher = w;
        w.on('put', (kv) => this.apply(kv));
        w.on('delete', (kv) => this.applyDelete(kv));
        w.on('disconnected', (e) => this.opts.log.warn('etcd watch disconnected; reconnecting', { error: e.message }));
        w.on('connected', () => this.opts.log.debug('etcd watch connected'));
        this.opts.log.info('etcd connected', {
          endpoints: this.opts.endpoints,
          prefix: this.opts.prefix,
          revision: res.header.revision,
          leader: this.leaderAddr || '(none)',
        });
        if (!this.leaderAddr) void this.campaign();
        return;
      } catch (e) {
        this.opts.log.warn('etcd not reachable; retrying', { endpoints: this.opts.endpoints, error: (e as Error).message, retryMs: delay });
        await sleep(delay);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  private apply(kv: IKeyValue): void {
    const key = kv.key.toString();
    if (key === this.leaderKey) {
      try {
        this.leaderAddr = JSON.parse(kv.value.toString()).address ?? '';
      } catch {
        this.leaderAddr = '';
      }
      if (this.role === 'leader') {
        // Someone else's key: our lease expired and another replica won.
        if (this.fence && kv.create_revision !== this.fence.createRev && !this.ignoreLeaseLoss) void this.abdicate('another replica holds the leader key');
      } else {
        this.role = 'follower';
      }
    } else if (key === this.mapKey) {
      try {
        const map = MgrMap.fromJSON(JSON.parse(kv.value.toString()));
        if (this.feed.publish(map)) this.resolveReady();
      } catch (e) {
        this.opts.log.error('unreadable mgr map in etcd', { key, error: (e as Error).message });
      }
    }
  }

  private applyDelete(kv: IKeyValue): void {
    if (kv.key.toString() !== this.leaderKey) return;
    this.leaderAddr = '';
    if (this.role === 'leader') {
      if (!this.ignoreLeaseLoss) void this.abdicate('the leader key was deleted (lease expired or revoked)');
      return;
    }
    this.role = 'candidate';
    void this.campaign();
  }

  /** Tries once to become leader: create the leader key under a fresh lease if it is absent. */
  private async campaign(): Promise<void> {
    if (this.campaigning || this.stopped || this.role === 'leader') return;
    this.campaigning = true;
    let lease: Lease | null = null;
    try {
      lease = this.client.lease(this.opts.leaseTtlS, { autoKeepAlive: true });
      const leaseId = await lease.grant();
      const value = JSON.stringify({ address: this.opts.advertiseAddr, since: new Date().toISOString(), pid: process.pid });
      const res = await this.client
        .if(this.leaderKey, 'Create', '==', 0)
        .then(this.client.put(this.leaderKey).value(value).lease(leaseId))
        .else(this.client.get(this.leaderKey))
        .commit();
      if (this.stopped) throw new Error('stopped');
      if (!res.succeeded) {
        const kv = res.responses[0]?.response_range?.kvs?.[0];
        if (kv) this.apply(kv);
        await lease.revoke().catch(() => undefined);
        return;
      }
      const l = lease;
      lease = null;
      this.lease = l;
      l.on('lost', (e) => {
        if (this.lease === l && !this.ignoreLeaseLoss) void this.abdicate(`lease lost: ${e.message}`);
      });
      await this.becomeLeader(res.header.revision);
    } catch (e) {
      if (!this.stopped) this.opts.log.warn('campaign failed; will retry', { error: (e as Error).message });
      if (lease) await lease.revoke().catch(() => undefined);
      // (becomeLeader may have set the role before failing)
      if ((this.role as string) === 'leader') await this.abdicate(`could not take over: ${(e as Error).message}`);
    } finally {
      this.campaigning = false;
    }
  }

  private async becomeLeader(createRev: string): Promise<void> {
    this.role = 'leader';
    this.leaderAddr = this.opts.advertiseAddr;
    this.fence = { createRev, mapModRev: '0' };
    this.stats.elections++;
    const got = await this.client.get(this.mapKey).exec();
    const kv = got.kvs[0];
    let map: MgrMap;
    if (kv) {
      map = MgrMap.fromJSON(JSON.parse(kv.value.toString()));
      this.fence.mapModRev = kv.mod_revision;
      const alwaysOn = [...new Set(this.opts.alwaysOnModules)].sort();
      if (JSON.stringify(alwaysOn) !== JSON.stringify(map.alwaysOnModules)) {
        map = { ...map, epoch: map.epoch + 1, alwaysOnModules: alwaysOn, modules: map.modules.filter((m) => !alwaysOn.includes(m)) };
        await this.save(map);
      }
    } else {
      map = emptyMap(this.opts.initialModules, this.opts.alwaysOnModules);
      const after = this.opts.initialEpoch ? await this.opts.initialEpoch().catch(() => 0) : 0;
      if (after >= map.epoch) map.epoch = after + 1;
      await this.save(map);
    }
    if (this.role !== 'leader' || this.stopped) return;
    this.feed.publish(map);
    this.resolveReady();
    // A fresh authority: everyone in the map gets a full grace period.
    const runner = new AuthorityRunner(
      map,
      { save: (m) => this.save(m), confirm: () => this.confirm() },
      {
        graceMs: this.opts.graceMs,
        beaconIntervalMs: this.opts.beaconIntervalMs,
        onCommitted: (m, why) => {
          this.feed.publish(m);
          this.opts.log.info('new mgr map', { epoch: m.epoch, active: m.activeName, standbys: m.standbys.map((s) => s.name), why });
          this.opts.onCommitted(m, why);
        },
      },
    );
    this.runner = runner;
    runner.startTicking(this.opts.tickMs, (e) => {
      if (!(e instanceof Fenced) && !(e instanceof RunnerStopped)) this.opts.log.warn('tick failed', { error: (e as Error).message });
    });
    this.opts.log.info('elected standby leader', { address: this.opts.advertiseAddr, epoch: map.epoch, active: map.activeName, graceMs: this.opts.graceMs });
    this.opts.onCommitted(map, 'leader elected');
  }

  /** The fenced write of a new map. */
  private async save(map: MgrMap): Promise<void> {
    const fence = this.fence;
    if (!fence || this.role !== 'leader') throw new Fenced('not the leader');
    let res;
    try {
      res = await this.client
        .if(this.leaderKey, 'Create', '==', fence.createRev)
        .and(this.mapKey, 'Mod', '==', fence.mapModRev)
        .then(this.client.put(this.mapKey).value(JSON.stringify(MgrMap.toJSON(map))))
        .commit();
    } catch (e) {
      // We cannot know whether it was applied: step down and let the next
      // leader (maybe us again) start from what etcd holds.
      void this.abdicate(`map write failed: ${(e as Error).message}`);
      throw new BackendUnavailable(`could not write the MgrMap to etcd (${(e as Error).message}); retry`);
    }
    if (!res.succeeded) {
      this.stats.fencedWrites++;
      void this.abdicate('etcd refused our map write: another replica leads now');
      throw new Fenced('etcd refused the write: this replica is no longer the leader');
    }
    fence.mapModRev = res.header.revision;
  }

  /** Proves we are still the leader (a compare-only transaction). */
  private async confirm(): Promise<void> {
    const fence = this.fence;
    if (!fence || this.role !== 'leader') throw new Fenced('not the leader');
    let res;
    try {
      res = await this.client.if(this.leaderKey, 'Create', '==', fence.createRev).commit();
    } catch (e) {
      throw new BackendUnavailable(`etcd not reachable to confirm leadership (${(e as Error).message}); retry`);
    }
    if (!res.succeeded) {
      this.stats.fencedWrites++;
      void this.abdicate('leadership check refused by etcd: another replica leads now');
      throw new Fenced('this replica is no longer the leader');
    }
  }

  /** Stops acting as leader; revokes the lease so another replica can take over at once. */
  private async abdicate(reason: string): Promise<void> {
    if (this.role !== 'leader') return;
    this.opts.log.warn('stepping down as standby leader', { reason });
    this.role = 'candidate';
    this.fence = null;
    const runner = this.runner;
    this.runner = null;
    void runner?.stop();
    const lease = this.lease;
    this.lease = null;
    if (lease) {
      try {
        await lease.revoke();
      } catch {
        lease.release();
      }
    }
    if (!this.stopped) {
      const t = setTimeout(() => void this.campaign(), 100);
      t.unref();
    }
  }

  async write<T>(local: (a: MgrMapAuthority) => T, forward: (leader: StandbyClient) => Promise<T>, forwarded: boolean, confirm = false): Promise<T> {
    const runner = this.runner;
    if (this.role === 'leader' && runner) {
      try {
        return await runner.run(local, confirm);
      } catch (e) {
        // Deposed while serving: let the new leader answer.
        if (!(e instanceof Fenced) && !(e instanceof RunnerStopped)) throw e;
      }
    }
    if (forwarded)
      throw new BackendUnavailable(`standby replica ${this.opts.advertiseAddr} is not the leader (a call forwarded to it); leadership is changing, retry`);
    const addr = this.leaderAddr;
    if (!addr || addr === this.opts.advertiseAddr) throw new BackendUnavailable(`no standby leader elected yet (etcd ${this.opts.endpoints.join(',')}); retry`);
    this.stats.forwarded++;
    try {
      return await forward(this.peer(addr));
    } catch (e) {
      if (e instanceof ClientError && (e.code === Status.UNAVAILABLE || e.code === Status.DEADLINE_EXCEEDED || e.code === Status.CANCELLED)) {
        throw new BackendUnavailable(`standby leader ${addr} did not answer (${e.details}); retry`);
      }
      throw e;
    }
  }

  private peer(addr: string): StandbyClient {
    let p = this.peers.get(addr);
    if (!p) {
      const channel = openChannel(addr, this.opts.peerTls);
      p = { channel, client: makeClient(StandbyServiceDefinition, channel, { credentials: this.opts.credentials }) };
      this.peers.set(addr, p);
    }
    return p.client;
  }

  /**
   * For tests: stop renewing the lease without telling anyone and without
   * noticing, as a leader cut off from etcd (or paused) would. Its later
   * writes must be refused by etcd once another replica leads.
   */
  suspendLeaseRenewalForTest(): void {
    this.ignoreLeaseLoss = true;
    this.lease?.release();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    const runner = this.runner;
    this.runner = null;
    if (runner) await runner.stop();
    const lease = this.lease;
    this.lease = null;
    this.role = 'candidate';
    // Revoking deletes the leader key: another replica takes over at once.
    if (lease) await lease.revoke().catch(() => lease.release());
    await this.watcher?.cancel().catch(() => undefined);
    for (const p of this.peers.values()) p.channel.close();
    this.peers.clear();
    this.client.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
