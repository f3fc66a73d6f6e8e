// The active/standby decision and its fence, with an injected clock.
import { FENCE_FRACTION } from '../../../lib/fence';
import { Activity } from '../domain/activity';
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';

function map(epoch: number, activeName: string, activeGid: number): MgrMap {
  return {
    epoch,
    activeGid,
    activeName,
    activeAddrs: { daemonServer: activeName ? `127.0.0.1:73${epoch}` : '', moduleHost: '' },
    available: !!activeName,
    activeChange: 0,
    standbys: [],
    modules: [],
    alwaysOnModules: [],
    availableModules: [],
    services: {},
    lastFailureEpoch: 0,
  };
}

describe('Activity', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('is active only while the map names this start (name and gid) and the authority answered recently', () => {
    const a = new Activity('x', 7, clock);
    expect(a.isActive()).toBe(false);
    expect(a.whyNotActive()).toMatch(/no manager is active yet/);
    a.beaconAnswered(now, map(2, 'x', 7), 3000);
    expect(a.isActive()).toBe(true);
    expect(a.whyNotActive()).toBeNull();
    // Same name, another gid: an older start of this instance, not us.
    a.takeMap(map(3, 'x', 8));
    expect(a.isActive()).toBe(false);
  });

  it('names the active manager and its address when it is a standby', () => {
    const a = new Activity('y', 9, clock);
    a.beaconAnswered(now, map(4, 'x', 7), 3000);
    expect(a.whyNotActive()).toBe('mgr.y is a standby; the active manager is mgr.x at 127.0.0.1:734');
  });

  it('fences itself before the authority may promote another (from the send time of the last answered beacon)', () => {
    const a = new Activity('x', 7, clock);
    const sentAt = now;
    now += 200; // the answer took 200 ms
    a.beaconAnswered(sentAt, map(2, 'x', 7), 3000);
    now = sentAt + 3000 * FENCE_FRACTION - 1;
    expect(a.isActive()).toBe(true);
    now = sentAt + 3000 * FENCE_FRACTION;
    expect(a.isActive()).toBe(false);
    expect(a.whyNotActive()).toMatch(/fenced/);
    // The authority could only promote at sentAt + grace or later.
    expect(sentAt + 3000 * FENCE_FRACTION).toBeLessThan(sentAt + 3000);
    // A new answer lifts the fence.
    a.beaconAnswered(now, map(2, 'x', 7), 3000);
    expect(a.isActive()).toBe(true);
  });

  it('ignores maps older than the one it has', () => {
    const a = new Activity('x', 7, clock);
    a.beaconAnswered(now, map(5, 'y', 3), 3000);
    a.takeMap(map(4, 'x', 7));
    expect(a.current()!.epoch).toBe(5);
    expect(a.isActive()).toBe(false);
  });
});
