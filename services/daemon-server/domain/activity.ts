// Is this manager instance the active one? Decided from the MgrMap (beacon
// answers and the map watch) and fenced by time: an instance that has had
// no beacon answer for FENCE_FRACTION of the authority's grace period stops
// acting as active on its own, before the authority can promote a standby
// (lib/fence.ts has the argument).
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import { withinFence } from '../../../lib/fence';

export class Activity {
  private map: MgrMap | undefined;
  private graceMs = 3000;
  private lastAnsweredSentAt = -Infinity;

  constructor(
    readonly name: string,
    readonly gid: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A beacon sent at `sentAt` was answered with this map. */
  beaconAnswered(sentAt: number, map: MgrMap | undefined, graceMs: number): void {
    if (graceMs > 0) this.graceMs = graceMs;
    this.lastAnsweredSentAt = Math.max(this.lastAnsweredSentAt, sentAt);
    this.takeMap(map);
  }

  /** A map from the watch stream (or any other source). Older epochs are ignored. */
  takeMap(map: MgrMap | undefined): void {
    if (map && (!this.map || map.epoch >= this.map.epoch)) this.map = map;
  }

  current(): MgrMap | undefined {
    return this.map;
  }

  /** Whether the map names this instance (this start of it) active. */
  namedActive(): boolean {
    return !!this.map && this.map.activeName === this.name && this.map.activeGid === this.gid;
  }

  /** Whether the authority has answered recently enough for us to act. */
  fresh(): boolean {
    return withinFence(this.lastAnsweredSentAt, this.graceMs, this.now());
  }

  isActive(): boolean {
    return this.namedActive() && this.fresh();
  }

  /** null when active; otherwise a message for the client, naming the active. */
  whyNotActive(): string | null {
    if (this.isActive()) return null;
    const m = this.map;
    if (this.namedActive())
      return `mgr.${this.name} has not reached the standby service for ${this.now() - this.lastAnsweredSentAt} ms and has stopped acting as active (fenced)`;
    if (!m || !m.activeName) return `mgr.${this.name} is a standby and no manager is active yet; retry shortly`;
    return `mgr.${this.name} is a standby; the active manager is mgr.${m.activeName} at ${m.activeAddrs?.daemonServer ?? '?'}`;
  }
}
