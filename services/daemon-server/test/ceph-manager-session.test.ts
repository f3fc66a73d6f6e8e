// The manager's monitor session and beacon (ceph/manager.ts) against a
// monitor in miniature (lib/testing/mini-monitor.ts: our msgr2 server,
// MgrMonitor's first rules): what it beacons before and after the map names
// it active, and what no shared cluster lets a test do: the monitors
// vanish, and the manager stops acting as active within their grace
// although no map ever said it was replaced. The same against real
// monitors: test/ceph-managers.live.test.ts.
import { authNoneMonProvider } from '../../../lib/ceph/authnone';
import { EntityType, v2Addr } from '../../../lib/ceph/types';
import { newKey } from '../../../lib/keyring';
import { createLogger } from '../../../lib/log';
import { startMiniMonitor, type MiniMonitor } from '../../../lib/testing/mini-monitor';
import { until } from '../../../lib/testing/wait';
import { CephManager, type ManagerState } from '../ceph/manager';

const logger = createLogger({ test: 'ceph-manager-session' }, 'error');

describe('the manager against a monitor in miniature', () => {
  let mon: MiniMonitor;
  let mgr: CephManager | undefined;
  let state: ManagerState;
  let changes = 0;
  /** A manager; `own` gives it a state of its own rather than the test's shared one. */
  const manager = (name: string, own?: () => ManagerState) => {
    const m = new CephManager({
      name,
      monitors: [{ host: '127.0.0.1', port: mon.port }],
      key: newKey(),
      log: logger,
      tickMs: 200,
      connectTimeoutMs: 10_000,
      monClient: { auth: authNoneMonProvider({ type: EntityType.MGR, id: name }), backoffMs: 50, maxBackoffMs: 200 },
    });
    m.attach({
      metadata: { mgrpc_daemon_server_addr: '127.0.0.1:7300' },
      state: async () => own?.() ?? state,
      nativeCommands: [{ cmd: 'pg stat', desc: 'show placement group status.', perm: 'r', service: 'pg' }],
      moduleCommands: async () => [{ cmd: 'hello', desc: 'Say hello', perm: 'r', module: 'hello', poll: false }],
      onChange: () => changes++,
    });
    return m;
  };

  beforeEach(async () => {
    mon = await startMiniMonitor({ logger, graceS: 4 });
    state = { serving: true, modulesUp: false, modules: [], services: {} };
  });
  afterEach(async () => {
    await mgr?.stop();
    mgr = undefined;
    await mon.close();
  });

  it('beacons as a standby until named active; announces availability with the commands once its modules are up; then without them', async () => {
    mgr = manager('x');
    await mgr.start();
    expect(mgr.globalId).toBe(4100n);
    expect(mon.commands.map((c) => c.prefix)).toEqual(expect.arrayContaining(['auth get', 'config get']));
    // the monitors name the first beaconing manager active: not available while its modules start, nor without the front door
    await until('named active', () => mgr!.fence.namedActive(), 10_000);
    await until('the monitors grace read', () => mgr!.fence.graceMs === 4000, 10_000);
    const before = mon.beacons.length;
    await until('two more beacons', () => mon.beacons.length >= before + 2, 10_000);
    expect(mon.beacons.slice(before).every((b) => !b.available && !b.serverAddrs.length && !b.commandDescs.length)).toBe(true);
    mgr.setServerAddrs([v2Addr('127.0.0.1', 6800, 77)]);
    state = { ...state, modulesUp: true };
    const announce = await until('a beacon announcing availability', () => mon.beacons.find((b) => b.available), 10_000);
    expect(announce).toMatchObject({ name: 'x', gid: 4100n, fsid: mon.fsid, serverAddrs: [expect.objectContaining({ port: 6800, nonce: 77 })] });
    expect(announce.commandDescs.map((c) => [c.cmdstring, c.module, c.flags])).toEqual([
      ['pg stat', 'pg', 0n],
      ['hello', 'mgr', 8n],
    ]);
    await until('the map to say available', () => mon.map.available, 10_000);
    const after = mon.beacons.length;
    await until('two more beacons', () => mon.beacons.length >= after + 2, 10_000);
    expect(mon.beacons.slice(after).every((b) => b.available && !b.commandDescs.length)).toBe(true);
    // a module that starts later does not withdraw the availability the map holds
    state = { ...state, modulesUp: false };
    const later = mon.beacons.length;
    await until('two more beacons', () => mon.beacons.length >= later + 2, 10_000);
    expect(mon.beacons.slice(later).every((b) => b.available)).toBe(true);
    expect(mgr.fence.isActive()).toBe(true);
    expect(mgr.stats.beaconsConfirmed).toBeGreaterThan(0);
  });

  it('the monitors vanish: it stops acting as active by itself (its fence), though no map replaced it', async () => {
    mgr = manager('x');
    state = { ...state, modulesUp: true };
    mgr.setServerAddrs([v2Addr('127.0.0.1', 6800, 1)]);
    await mgr.start();
    await until('active', () => mgr!.fence.isActive() && mgr!.fence.graceMs === 4000, 10_000);
    const changesBefore = changes;
    await mon.close();
    await until('no longer acting as active', () => !mgr!.fence.isActive(), 10_000);
    // the last map still names it: only the fence stopped it, and the owner was told
    expect(mgr.fence.namedActive()).toBe(true);
    expect(mgr.fence.whyNotActive()).toMatch(
      /^mgr\.x has had no beacon read by the monitors for \d+ ms \(mon_mgr_beacon_grace 4000 ms\) and has stopped acting as active \(fenced\)$/,
    );
    expect(changes).toBeGreaterThan(changesBefore);
  });

  it('a standby is never active; stopping the active asks the monitors to fail its own gid, and the standby is promoted', async () => {
    state = { ...state, modulesUp: true };
    mgr = manager('x');
    mgr.setServerAddrs([v2Addr('127.0.0.1', 6800, 1)]);
    await mgr.start();
    await until('x active', () => mgr!.fence.isActive(), 10_000);
    const y = manager('y');
    y.setServerAddrs([v2Addr('127.0.0.1', 6801, 2)]);
    try {
      await y.start();
      await until('y standing by', () => mon.map.standbys.some((s) => s.name === 'y'), 10_000);
      expect(y.fence.isActive()).toBe(false);
      expect(y.fence.whyNotActive()).toMatch(/^mgr\.y is a standby; the monitors name mgr\.x active/);
      await mgr.stop();
      expect(mon.commands).toContainEqual({ prefix: 'mgr fail', who: '4100' });
      await until('y active', () => y.fence.isActive(), 10_000);
      expect(mon.map).toMatchObject({ activeName: 'y', available: true });
    } finally {
      await y.stop();
    }
  });

  it('its module-host down while active: it stays without a standby; with one it fails its own gid and stands by, once per grace', async () => {
    state = { ...state, modulesUp: true };
    mgr = manager('x');
    mgr.setServerAddrs([v2Addr('127.0.0.1', 6800, 1)]);
    await mgr.start();
    await until('x active', () => mgr!.fence.isActive() && mgr!.fence.graceMs === 4000, 10_000);
    state = { ...state, moduleHostDown: 'its module-host at 127.0.0.1:7400 is down (test)' };
    mgr.changed();
    const before = mon.beacons.length;
    await until('two more beacons', () => mon.beacons.length >= before + 2, 10_000);
    // no standby to run the modules: it stays
    expect(mon.commands.filter((c) => c.prefix === 'mgr fail')).toEqual([]);
    expect(mgr.fence.namedActive()).toBe(true);
    let yState: ManagerState = { serving: true, modulesUp: true, modules: [], services: {} };
    const y = manager('y', () => yState);
    y.setServerAddrs([v2Addr('127.0.0.1', 6801, 2)]);
    try {
      await y.start();
      await until('y active', () => y.fence.isActive(), 10_000);
      expect(mon.commands.filter((c) => c.prefix === 'mgr fail')).toEqual([{ prefix: 'mgr fail', who: '4100' }]);
      // its beacons go on: a standby under the same gid
      await until('x a standby', () => mon.map.standbys.some((s) => s.gid === 4100n), 10_000);
      expect(mgr.fence.namedActive()).toBe(false);
      // y's module-host goes down too: y resigns, x is named active again with y standing by, and within the grace x does not hand it back
      yState = { ...yState, moduleHostDown: 'its module-host at 127.0.0.1:7401 is down (test)' };
      y.changed();
      await until('x named active again', () => mgr!.fence.namedActive(), 10_000);
      await until('y a standby', () => mon.map.standbys.some((s) => s.gid === y.globalId), 10_000);
      const again = mon.beacons.length;
      await until('three more beacons', () => mon.beacons.length >= again + 3, 10_000);
      expect(mon.commands.filter((c) => c.prefix === 'mgr fail')).toEqual([
        { prefix: 'mgr fail', who: '4100' },
        { prefix: 'mgr fail', who: String(y.globalId) },
      ]);
      expect(mgr.fence.namedActive()).toBe(true);
    } finally {
      await y.stop();
    }
  });

  it('caps that cannot beacon stop the start with what to run', async () => {
    await mon.close();
    mon = await startMiniMonitor({ logger, caps: 'allow r' });
    mgr = manager('x');
    await expect(mgr.start()).rejects.toThrow(
      "mgr.x has mon caps 'allow r', which do not let it act as a manager: the monitors ignore the beacons of an entity without mon 'allow profile mgr'. Fix it with: ceph auth caps mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *'",
    );
    expect(mon.beacons).toEqual([]);
    mgr = undefined;
  });
});
