// Is this manager the active one, when the monitors decide? The monitors'
// MgrMap (from our own mgr.<name> session) must name our gid active, and
// the monitors must have read one of our beacons recently enough that they
// cannot have replaced us yet. A beacon has no answer; a keepalive sent
// after it on the same connection does, and frames are read in order, so
// its answer proves the monitor read the beacon (MonClient.sendConfirmed).
//
// Why that is safe: the leader monitor fails an active whose last beacon it
// *received* more than mon_mgr_beacon_grace (G) ago, checked on its tick.
// We stop acting at s + FENCE_FRACTION·G, where s is when we *sent* the last
// beacon a monitor confirmed; the leader received it at r ≥ s (later still
// if a peon forwarded it), so it cannot promote another manager before
// r + G ≥ s + G. A quarter of G (7.5 s of Ceph's default 30 s) is left for
// clock-rate differences and for the operations under way to finish. A new
// leader (an election) resets every beacon timer, so the argument holds
// across monitor failures. services/standby/README.md has the whole
// argument, with the cases it does not cover (`mgr fail`).
import type { MgrMap as CephMgrMap } from '../../../lib/ceph/messages/mgrmap';
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import { mgrMapFromCeph } from '../../../lib/mgrmap-ceph';

export const FENCE_FRACTION = 0.75;
/** Ceph's mon_mgr_beacon_grace default, until the monitors' own value is read. */
export const DEFAULT_BEACON_GRACE_MS = 30_000;

export class MonitorFence {
  private map: CephMgrMap | undefined;
  private ownGid = 0n;
  private lastConfirmedSentAt = -Infinity;
  graceMs = DEFAULT_BEACON_GRACE_MS;

  constructor(
    readonly name: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A MgrMap from the monitors; older epochs are ignored. */
  takeMap(map: CephMgrMap): void {
    if (!this.map || map.epoch >= this.map.epoch) this.map = map;
  }

  /** The global id of our monitor session: our gid in the map. */
  setGid(gid: bigint): void {
    this.ownGid = gid;
  }

  /** Our gid in the map (for log lines); 0 before the monitor session. */
  get gid(): number {
    return Number(this.ownGid);
  }

  /** A beacon sent at `sentAt` was read by a monitor. */
  confirmed(sentAt: number): void {
    this.lastConfirmedSentAt = Math.max(this.lastConfirmedSentAt, sentAt);
  }

  cephMap(): CephMgrMap | undefined {
    return this.map;
  }

  /** The map in mgrpc's shape (for logs: epoch, active name). */
  current(): MgrMap | undefined {
    return this.map && mgrMapFromCeph(this.map, new Map());
  }

  /** Whether the monitors' map names this manager (this session of it) active. */
  namedActive(): boolean {
    return !!this.map && this.ownGid !== 0n && this.map.activeGid === this.ownGid;
  }

  /** Whether the map says we are available (the monitors took our announcement). */
  availableInMap(): boolean {
    return this.namedActive() && !!this.map?.available;
  }

  /** Whether a monitor read one of our beacons recently enough for us to act. */
  fresh(): boolean {
    return this.now() - this.lastConfirmedSentAt < this.graceMs * FENCE_FRACTION;
  }

  isActive(): boolean {
    return this.namedActive() && this.fresh();
  }

  /** null when active; otherwise why not, naming the active, for UNAVAILABLE answers. */
  whyNotActive(): string | null {
    if (this.isActive()) return null;
    const m = this.map;
    if (this.namedActive()) {
      const since = this.lastConfirmedSentAt === -Infinity ? 'ever' : `${this.now() - this.lastConfirmedSentAt} ms`;
      return `mgr.${this.name} has had no beacon read by the monitors for ${since} (mon_mgr_beacon_grace ${this.graceMs} ms) and has stopped acting as active (fenced)`;
    }
    if (!m) return `mgr.${this.name} has no MgrMap from the monitors yet; retry shortly`;
    if (!m.activeName) return `mgr.${this.name} is a standby and the monitors name no active manager yet (MgrMap epoch ${m.epoch}); retry shortly`;
    return `mgr.${this.name} is a standby; the monitors name mgr.${m.activeName} active (MgrMap epoch ${m.epoch})`;
  }
}
