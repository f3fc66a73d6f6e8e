// The fence that keeps two managers from acting as active at once: an
// instance acts as active only while its last answered call to the standby
// service (a beacon, a MgrMap fetch) was *sent* less than FENCE_FRACTION of
// the authority's grace period ago.
//
// Why that is safe: the authority promotes only after `grace` ms with no
// beacon *received*; we measure from when our last answered call was
// *sent*, which is earlier. So we stop at sent + 0.75 * grace, and the
// authority acts at received + grace >= sent + grace: a quarter of the
// grace period (750 ms by default) is left for clock-rate differences and
// for in-flight calls to finish. A new authority (an etcd leader change,
// a restart) gives everyone a full grace period, so the argument holds.
// daemon-server (domain/activity.ts) and module-host (domain/mgrmap-follower.ts)
// both apply it.
export const FENCE_FRACTION = 0.75;

/** Whether an answer to a call sent at `sentAt` still lets this instance act as active at `now`. */
export function withinFence(sentAt: number, graceMs: number, now: number): boolean {
  return now - sentAt < graceMs * FENCE_FRACTION;
}
