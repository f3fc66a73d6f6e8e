// ManagerRole: whether this instance acts as the active, and why not.
import { ManagerRole, type ActivitySource } from '../domain/role';
import { createLogger } from '../../../lib/log';

describe('ManagerRole', () => {
  const named = (active: boolean): ActivitySource => ({
    name: 'x',
    gid: 7,
    current: () => undefined,
    isActive: () => active,
    whyNotActive: () => (active ? null : 'mgr.x is a standby; the active manager is mgr.y at 127.0.0.1:1'),
  });
  const role = (activity: ActivitySource | null) =>
    new ManagerRole(activity, { log: createLogger({ test: 'role' }, 'error'), publish: () => undefined, deactivated: () => undefined });

  it('refuses commands once stopping, though the map still names it active', () => {
    const r = role(named(true));
    r.clusterStateAnswered();
    expect(r.whyNotCommanding()).toBeNull();
    expect(r.isActing()).toBe(true);
    r.markStopping();
    expect(r.isActing()).toBe(false);
    expect(r.whyNotCommanding()).toBe('mgr.x is shutting down and has handed over the active role; retry to reach the new active');
    expect(r.whyNot()).toBe(r.whyNotCommanding());
  });

  it("names the active when it is a standby, and takes commands without cluster-state's readiness", () => {
    expect(role(named(false)).whyNotCommanding()).toContain('the active manager is mgr.y');
    expect(role(named(true)).whyNotCommanding()).toBeNull();
  });

  it('without a standby service it always takes commands', () => {
    const r = role(null);
    r.markStopping();
    expect(r.whyNotCommanding()).toBeNull();
  });
});
