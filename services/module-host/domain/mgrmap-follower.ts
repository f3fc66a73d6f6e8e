// Follows the MgrMap: modules run while the map names this manager instance
// active and the standby service answered within the fence (lib/fence.ts,
// the same fence daemon-server applies); the enabled set and the active's
// module URIs and daemon-server address (for sendCommand) come from the map.
// The map arrives by the watch stream at once and by a fetch every 500 ms,
// whose answers keep the fence fresh.
import { withinFence } from '../../../lib/fence';
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { ModuleHost } from './host';

/** The standby service as the follower uses it (lib/standby-client.ts's StandbyClient is one). */
export interface MgrMapSource {
  getMgrMap(timeoutMs: number): Promise<{ map: MgrMap; graceMs: number }>;
  watch(onMap: (map: MgrMap) => void, signal: AbortSignal): void;
}

export interface FollowerDeps {
  source: MgrMapSource;
  host: Pick<ModuleHost, 'setEnabledModules' | 'setActiveServices' | 'setActive'>;
  /** This manager instance's name. */
  name: string;
  /** The active's daemon-server address ("" when none): where sendCommand goes. */
  onActiveAddr(addr: string): void;
  log: { info(m: string, f?: object): void; warn(m: string, f?: object): void };
}

/** Follows the map until `signal` aborts. */
export function followMgrMap(d: FollowerDeps, signal: AbortSignal): void {
  const { source, host, name, log } = d;
  let map: MgrMap | undefined;
  let graceMs = 3000;
  let lastAnswerSentAt = -Infinity;
  let lastActive: boolean | null = null;
  const take = (m: MgrMap | undefined) => {
    if (m && (!map || m.epoch >= map.epoch)) map = m;
  };
  const apply = () => {
    if (signal.aborted || !map) return;
    const fresh = withinFence(lastAnswerSentAt, graceMs, Date.now());
    const active = map.activeName === name && fresh;
    if (active !== lastActive) {
      if (active || lastActive !== null)
        log.info(active ? 'the MgrMap names this manager active' : 'this manager is not active', { name, epoch: map.epoch, active: map.activeName, fresh });
      lastActive = active;
    }
    void host.setEnabledModules([...map.modules, ...map.alwaysOnModules]);
    host.setActiveServices({ ...map.services });
    // sendCommand goes to the active manager's daemon-server (ours, while we are active).
    // Not waiting for `available`: modules start (and may send) before the map says so.
    d.onActiveAddr(map.activeName ? (map.activeAddrs?.daemonServer ?? '') : '');
    void host.setActive(active);
  };
  source.watch((m) => {
    take(m);
    apply();
  }, signal);
  void (async () => {
    let failing = false;
    while (!signal.aborted) {
      const sentAt = Date.now();
      try {
        const r = await source.getMgrMap(2000);
        take(r.map);
        if (r.graceMs > 0) graceMs = r.graceMs;
        lastAnswerSentAt = sentAt;
        if (failing) log.info('standby service reachable again');
        failing = false;
      } catch (e) {
        if (!failing) log.warn('cannot reach the standby service', { error: (e as Error).message });
        failing = true;
      }
      apply();
      await new Promise((r) => setTimeout(r, Math.max(0, 500 - (Date.now() - sentAt))).unref());
    }
  })();
}
