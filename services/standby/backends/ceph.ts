// The ceph backend: the monitors of a real cluster are the authority (their
// MgrMonitor picks the active from the managers' beacons), and this replica
// mirrors their MgrMap for mgrpc's own clients (mgrctl, module-host, the
// Kubernetes readiness probe) in the shape the service always served. It
// subscribes to `mgrmap`, reads each manager's gRPC addresses from its
// metadata (`mgr metadata`: lib/mgrmap-ceph.ts), and turns the writes into
// the monitors' commands: FailMgr → `mgr fail`, EnableModule → `mgr module
// enable`, DisableModule → `mgr module disable`, Resign → `mgr fail <gid>`.
// Beacons are refused: managers beacon to the monitors themselves.
//
// While it has no monitor session the mirror may be stale, so GetMgrMap is
// UNAVAILABLE (unavailable()); a client that fences on the service's
// answers (module-host) then stops acting after 3/4 of the grace, which is
// the monitors' mon_mgr_beacon_grace (graceMs()).
import { CephxClient } from '../../../lib/ceph/cephx/client';
import { keyOf, type CephTarget } from '../../../lib/ceph/target';
import type { Message } from '../../../lib/ceph/message';
import { decodeMMgrMap, type MgrMap as CephMgrMap } from '../../../lib/ceph/messages/mgrmap';
import { MonClient, type MonClientOptions } from '../../../lib/ceph/monclient';
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { Logger } from '../../../lib/log';
import { mgrMapFromCeph, monitorsBeaconGraceMs } from '../../../lib/mgrmap-ceph';
import { AuthorityError } from '../domain/authority';
import { MapFeed } from '../domain/feed';
import { BackendStatus, BackendUnavailable, type ExternalAuthority, type StandbyBackend } from './backend';
import { EACCES, EINVAL, ENOENT } from '../../../lib/errno';

export interface CephBackendOptions {
  access: CephTarget;
  log: Logger;
  /** Every new mirrored map (publish it). */
  onCommitted(map: MgrMap, why: string): void;
  /** Deadline of a monitor command. */
  commandTimeoutMs: number;
  monClient?: Partial<MonClientOptions>;
}

/** Ceph's mon_mgr_beacon_grace default, until the monitors' value is read. */
const DEFAULT_GRACE_MS = 30_000;
const GRACE_REFRESH_MS = 30_000;
/** How soon a failed metadata read is tried again. */
const RETRY_MS = 1000;

export class CephBackend implements StandbyBackend {
  readonly feed = new MapFeed();
  readonly ready: Promise<void>;
  readonly mon: MonClient;
  private markReady!: () => void;
  private latest: CephMgrMap | undefined;
  /** name → the gid whose metadata we hold, and the metadata. */
  private readonly metadata = new Map<string, { gid: bigint; md: Record<string, string> }>();
  private processing: Promise<void> = Promise.resolve();
  private connected = false;
  private since = Date.now();
  private grace = DEFAULT_GRACE_MS;
  private graceTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly o: CephBackendOptions) {
    this.log = o.log.child({ backend: 'ceph' });
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.mon = new MonClient({
      monitors: o.access.monitors,
      auth: o.monClient?.auth ?? new CephxClient({ entity: o.access.entity, key: keyOf(o.access) }),
      fsid: o.access.fsid,
      logger: o.log,
      subscribe: ['mgrmap'],
      ...o.monClient,
    });
    this.mon.on('connected', () => {
      this.connected = true;
      void this.refreshGrace();
    });
    this.mon.on('disconnected', () => {
      this.connected = false;
      this.since = Date.now();
    });
    this.mon.on('map', (name: string, _epoch: number, m: Message) => {
      if (name !== 'mgrmap') return;
      const map = decodeMMgrMap(m);
      if (map.epoch === 0) return; // the null map a monitor answers a confused beacon with
      this.latest = map;
      this.processing = this.processing.then(() => this.mirror());
    });
  }

  start(): void {
    this.log.info('following the monitors\u2019 MgrMap', { monitors: this.o.access.monHost, entity: this.o.access.entity });
    // start() rejects on what no retry cures (a refused key); the monitor client keeps trying slowly and says why.
    this.mon.start().catch((e) => this.log.error('cannot follow the monitors', { error: (e as Error).message }));
  }

  /** Mirrors the newest map once every manager in it has its metadata (retried while the monitors do not answer). */
  private async mirror(): Promise<void> {
    const map = this.latest;
    if (!map || this.stopped || map.epoch <= (this.feed.latest()?.epoch ?? 0)) return;
    const names = [...(map.activeName ? [[map.activeName, map.activeGid] as const] : []), ...map.standbys.map((s) => [s.name, s.gid] as const)];
    while (!this.stopped && names.some(([n, gid]) => this.metadata.get(n)?.gid !== gid)) {
      try {
        const r = await this.mon.command({ prefix: 'mgr metadata', format: 'json' }, { timeoutMs: this.o.commandTimeoutMs });
        if (r.r !== 0) throw new Error(`mgr metadata: ${r.rs || `error ${r.r}`}`);
        const all = JSON.parse(r.data.toString('utf8') || '[]') as Array<Record<string, string>>;
        // A manager without stored metadata (none yet, or a lost write) gets none: it has no gRPC address.
        for (const [n, gid] of names) {
          const { name: _name, ...md } = all.find((x) => x.name === n) ?? { name: n };
          this.metadata.set(n, { gid, md });
        }
      } catch (e) {
        this.log.warn('cannot read the managers\u2019 metadata yet; trying again', { epoch: map.epoch, error: (e as Error).message });
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
        if (this.latest !== map) return; // a newer map will be mirrored instead
      }
    }
    for (const n of [...this.metadata.keys()]) if (!names.some(([x]) => x === n)) this.metadata.delete(n);
    const mirrored = mgrMapFromCeph(map, new Map([...this.metadata].map(([n, v]) => [n, v.md])));
    if (!this.feed.publish(mirrored)) return;
    this.log.info('new mgr map from the monitors', {
      epoch: mirrored.epoch,
      active: mirrored.activeName,
      available: mirrored.available,
      standbys: mirrored.standbys.map((s) => s.name),
    });
    this.markReady();
    this.o.onCommitted(mirrored, 'the monitors\u2019 MgrMap');
  }

  private async refreshGrace(): Promise<void> {
    clearTimeout(this.graceTimer);
    const ms = await monitorsBeaconGraceMs(this.mon).catch(() => undefined);
    if (ms && ms !== this.grace) this.log.info("the monitors' beacon grace", { mon_mgr_beacon_grace: ms / 1000 });
    if (ms) this.grace = ms;
    if (this.stopped) return;
    this.graceTimer = setTimeout(() => void this.refreshGrace(), GRACE_REFRESH_MS);
    this.graceTimer.unref();
  }

  status(): BackendStatus {
    return { backend: 'ceph', role: 'follower', leader: this.mon.status().monitor ?? '' };
  }

  graceMs(): number {
    return this.grace;
  }

  /** Why the mirror may be stale (no monitor session), or null. */
  unavailable(): string | null {
    if (this.connected) return null;
    return `the standby service has no session with the monitors (${this.o.access.monHost}) for ${Math.round((Date.now() - this.since) / 1000)} s${
      this.mon.status().lastError ? `: ${this.mon.status().lastError}` : ''
    }; the monitors' MgrMap cannot be followed; retry`;
  }

  /** Writes never run here: the monitors' MgrMonitor runs them (external). */
  write<T>(): Promise<T> {
    return Promise.reject(new BackendUnavailable('the ceph backend has no local authority'));
  }

  readonly external: ExternalAuthority = {
    beacon: async () => {
      throw new AuthorityError(
        'precondition',
        'the monitors decide who is active (this standby service runs the ceph backend): managers beacon to them as mgr.<name>; start daemon-server with --ceph-conf (MGR_CEPH_CONF)',
      );
    },
    fail: async (who) => {
      const r = await this.run({ prefix: 'mgr fail', ...(who ? { who } : {}) });
      if (/not found|no active/i.test(r.rs)) throw new AuthorityError('not_found', r.rs);
      return { map: await this.current(), message: r.rs };
    },
    resign: async (name, gid) => {
      const m = this.feed.latest();
      // Only the current active's name and gid resign (a later start of the same name must not be failed).
      if (m && m.activeName === name && m.activeGid === gid) await this.run({ prefix: 'mgr fail', who: String(gid) });
      return this.current();
    },
    enableModule: async (module, force) => {
      const r = await this.run({ prefix: 'mgr module enable', module, ...(force ? { force: '--force' } : {}) });
      return { map: await this.current(), message: r.rs };
    },
    disableModule: async (module) => {
      const r = await this.run({ prefix: 'mgr module disable', module });
      return { map: await this.current(), message: r.rs };
    },
  };

  /** Runs a monitor command; a refusal becomes the AuthorityError the contract names. */
  private async run(cmd: Record<string, string>): Promise<{ rs: string }> {
    const why = this.unavailable();
    if (why) throw new BackendUnavailable(why);
    let r;
    try {
      r = await this.mon.command(cmd, { timeoutMs: this.o.commandTimeoutMs });
    } catch (e) {
      throw new BackendUnavailable((e as Error).message);
    }
    this.log.info('monitor command', { cmd: cmd.prefix, args: cmd, r: r.r, rs: r.rs });
    if (r.r === 0) return { rs: r.rs };
    if (r.r === EACCES)
      throw new AuthorityError(
        'precondition',
        `${this.o.access.entity} may not run '${cmd.prefix}' (${r.rs || 'access denied'}): the standby service's --ceph-name needs mon 'allow *' (or 'allow profile mgr')`,
      );
    if (r.r === ENOENT) throw new AuthorityError(/cannot run/.test(r.rs) ? 'precondition' : 'not_found', r.rs);
    if (r.r === EINVAL) throw new AuthorityError(/always-on/.test(r.rs) ? 'precondition' : 'invalid', r.rs);
    throw new BackendUnavailable(`${cmd.prefix}: ${r.rs || `error ${r.r}`}`);
  }

  /** The mirror once every map that arrived before now is in (a command's new map comes before its answer). */
  private async current(): Promise<MgrMap> {
    await this.processing;
    const m = this.feed.latest();
    if (!m) throw new BackendUnavailable('no MgrMap from the monitors yet; retry');
    return m;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.graceTimer);
    this.mon.stop();
    await this.processing.catch(() => undefined);
  }
}
