// What a manager's beacon says about its module-host (domain/beacon.ts's
// moduleHostState), from what module-host's ListModules answers.
import { moduleHostState, ModuleHostStatusApi } from '../domain/beacon';

const answering = (loaded: boolean): ModuleHostStatusApi => ({ status: async () => ({ loaded, modules: [], services: {} }) });

describe("a standby's readiness in its beacon", () => {
  it('is ready once module-host has loaded its modules with no load under way', async () => {
    expect((await moduleHostState(answering(true), false, 1000, false)).loaded).toBe(true);
  });

  it('is not ready while module-host is still loading, so another manager is active and a promotion would wait behind the load', async () => {
    expect((await moduleHostState(answering(false), false, 1000, false)).loaded).toBe(false);
  });

  it('with nobody active, is ready while its modules still load (an active sooner rather than none)', async () => {
    expect((await moduleHostState(answering(false), false, 1000, true)).loaded).toBe(true);
  });
});
