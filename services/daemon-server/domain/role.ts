// Whether this instance acts as the active manager right now: the MgrMap
// names it and the fence holds (activity.ts), cluster-state has answered,
// and it is not stopping. Without a standby service it is always active.
// update() is called whenever any of that may have changed; it publishes the
// answer (the named gRPC health status), logs each change, and ends the
// daemons' sessions when this instance stops being active, so they move on.
import type { Logger } from '../../../lib/log';
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';

/**
 * Who decides whether this instance is active: the standby service's
 * MgrMap and fence (activity.ts), or the monitors' (ceph/fence.ts).
 */
export interface ActivitySource {
  readonly name: string;
  readonly gid: number;
  /** The MgrMap the decision was taken from (for log lines). */
  current(): MgrMap | undefined;
  isActive(): boolean;
  whyNotActive(): string | null;
}

export interface RoleDeps {
  log: Logger;
  /** Called on every update with the current answer (not only on changes). */
  publish(active: boolean): void;
  /** Called once each time this instance stops being active. */
  deactivated(why: string): void;
}

export class ManagerRole {
  private clusterStateReady = false;
  private stopping = false;
  private wasActive: boolean;

  constructor(
    private readonly activity: ActivitySource | null,
    private readonly d: RoleDeps,
  ) {
    this.wasActive = !activity;
  }

  /** Whether this instance acts as the active manager now. */
  isActing(): boolean {
    return !this.activity || (this.activity.isActive() && this.clusterStateReady && !this.stopping);
  }

  /** null while acting as active; otherwise why not, naming the active (for UNAVAILABLE answers). */
  whyNot(): string | null {
    return this.whyNotCommanding();
  }

  /**
   * Why commands are refused now, or null: the map and fence's answer, and a
   * stopping instance refuses at once, before the map that names the new
   * active reaches it (it has handed over: two managers never both answer).
   * cluster-state's readiness is not asked (native commands answer without it).
   */
  whyNotCommanding(): string | null {
    if (!this.activity) return null;
    if (this.stopping) return `mgr.${this.activity.name} is shutting down and has handed over the active role; retry to reach the new active`;
    return this.activity.whyNotActive();
  }

  /** What a beacon says about this instance, before its module-host's part. */
  get ready(): boolean {
    return this.clusterStateReady && !this.stopping;
  }

  clusterStateAnswered(): void {
    this.clusterStateReady = true;
    this.update();
  }

  /** The server is stopping: no longer available, no longer active (from the next update()). */
  markStopping(): void {
    this.stopping = true;
  }

  update(): void {
    const activity = this.activity;
    if (!activity) return;
    const active = this.isActing();
    this.d.publish(active);
    if (active === this.wasActive) return;
    this.wasActive = active;
    const m = activity.current();
    if (active) this.d.log.info('this manager is now active', { name: activity.name, gid: activity.gid, epoch: m?.epoch });
    else {
      const why = activity.whyNotActive();
      this.d.log.warn('this manager is not active', { name: activity.name, gid: activity.gid, epoch: m?.epoch, why });
      this.d.deactivated(why ?? 'no longer active');
    }
  }
}
