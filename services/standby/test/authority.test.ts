// The MgrMap rules with an injected clock: no I/O, no timers.
import { MgrMapAuthority, AuthorityError, emptyMap } from '../domain/authority';
import type { BeaconRequest, MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { ModuleInfo } from '../../../lib/gen/ceph/mgr/v1/common';

const GRACE = 3000;
const INTERVAL = 500;

function mod(name: string, canRun = true, errorString = ''): ModuleInfo {
  return { name, canRun, errorString, moduleOptions: [] };
}

const MODULES = [mod('hello'), mod('selftest'), mod('status'), mod('iostat')];

function beacon(name: string, gid: number, extra: Partial<BeaconRequest> = {}): BeaconRequest {
  return {
    name,
    gid,
    addrs: { daemonServer: `127.0.0.1:${7000 + gid}`, moduleHost: `127.0.0.1:${8000 + gid}` },
    available: true,
    availableModules: MODULES,
    services: {},
    metadata: {},
    ...extra,
  };
}

function setup(map: MgrMap = emptyMap(['hello', 'selftest'], ['status'])) {
  let t = 1_000_000;
  const changes: Array<{ epoch: number; why: string }> = [];
  const a = new MgrMapAuthority(map, {
    graceMs: GRACE,
    beaconIntervalMs: INTERVAL,
    now: () => t,
    onChange: (m, why) => changes.push({ epoch: m.epoch, why }),
  });
  return {
    a,
    changes,
    /** Moves the clock in beacon-interval steps, ticking (and beaconing `alive`) on each. */
    advance(ms: number, alive: BeaconRequest[] = []) {
      for (let done = 0; done < ms; done += INTERVAL) {
        t += Math.min(INTERVAL, ms - done);
        for (const b of alive) a.beacon(b);
        a.tick();
      }
    },
    jump(ms: number) {
      t += ms;
    },
  };
}

function kind(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuthorityError) return `${e.kind}: ${e.message}`;
    throw e;
  }
  throw new Error('expected an AuthorityError');
}

describe('election', () => {
  test('a fresh map: epoch 1, initial modules, always-on kept apart', () => {
    const m = emptyMap(['selftest', 'hello', 'status'], ['status']);
    expect(m.epoch).toBe(1);
    expect(m.modules).toEqual(['hello', 'selftest']);
    expect(m.alwaysOnModules).toEqual(['status']);
    expect(m.activeName).toBe('');
  });

  test('two instances: the first available beacon becomes active, the second stands by', () => {
    const { a, changes } = setup();
    const m1 = a.beacon(beacon('x', 11));
    expect(m1.epoch).toBe(2);
    expect(m1.activeName).toBe('x');
    expect(m1.activeGid).toBe(11);
    // Not available until it beacons as the active (its modules started).
    expect(m1.available).toBe(false);
    expect(m1.activeAddrs).toEqual({ daemonServer: '127.0.0.1:7011', moduleHost: '127.0.0.1:8011' });
    expect(m1.availableModules.map((x) => x.name)).toEqual(['hello', 'iostat', 'selftest', 'status']);
    const m1b = a.beacon(beacon('x', 11));
    expect(m1b.epoch).toBe(3);
    expect(m1b.available).toBe(true);
    const m2 = a.beacon(beacon('y', 12));
    expect(m2.epoch).toBe(4);
    expect(m2.activeName).toBe('x');
    expect(m2.standbys.map((s) => s.name)).toEqual(['y']);
    // The same beacons again change nothing: no new epoch.
    expect(a.beacon(beacon('x', 11)).epoch).toBe(4);
    expect(a.beacon(beacon('y', 12)).epoch).toBe(4);
    expect(changes.map((c) => c.epoch)).toEqual([2, 3, 4]);
  });

  test('a beacon sent as a standby (as_active false) never makes a just-promoted active available; one sent as the active does', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11, { asActive: true }));
    a.beacon(beacon('y', 12, { asActive: false }));
    const promoted = a.fail('x').map;
    expect([promoted.activeName, promoted.available]).toEqual(['y', false]);
    // y's beacon from before it heard of its promotion, arriving late: ready to be promoted, not started.
    expect(a.beacon(beacon('y', 12, { available: true, asActive: false })).available).toBe(false);
    expect(a.beacon(beacon('y', 12, { available: false, asActive: true })).available).toBe(false);
    expect(a.beacon(beacon('y', 12, { available: true, asActive: true })).available).toBe(true);
    // Older senders (no as_active): available is taken as it is.
    expect(a.beacon(beacon('y', 12, { available: false, asActive: undefined })).available).toBe(false);
  });

  test('a beacon the replaced active sent as the active, arriving late, does not make it an available standby', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12));
    expect(a.beacon(beacon('x', 11, { available: true, asActive: true })).activeName).toBe('x');
    const after = a.fail('x').map;
    expect(after.activeName).toBe('y');
    const late = a.beacon(beacon('x', 11, { available: true, asActive: true }));
    expect(late.standbys.find((s) => s.name === 'x')?.available).toBe(false);
    // its next beacon, as a standby, says what it can do
    expect(a.beacon(beacon('x', 11, { available: true, asActive: false })).standbys.find((s) => s.name === 'x')?.available).toBe(true);
  });

  test('an instance that is not available yet is not promoted', () => {
    const { a } = setup();
    const m = a.beacon(beacon('x', 11, { available: false }));
    expect(m.activeName).toBe('');
    expect(m.standbys.map((s) => [s.name, s.available])).toEqual([['x', false]]);
    expect(a.beacon(beacon('y', 12)).activeName).toBe('y');
    // x becoming available does not unseat y.
    const m3 = a.beacon(beacon('x', 11));
    expect(m3.activeName).toBe('y');
    expect(m3.standbys[0]).toMatchObject({ name: 'x', available: true });
  });

  test('three instances: the standby with the lowest gid is promoted', () => {
    const { a } = setup();
    a.beacon(beacon('x', 30));
    a.beacon(beacon('z', 25));
    a.beacon(beacon('y', 20));
    expect(a.current().standbys.map((s) => s.name)).toEqual(['y', 'z']);
    const { map, message } = a.fail('x');
    expect(map.activeName).toBe('y');
    expect(message).toBe('Manager daemon x failed; y is now active');
    expect(map.standbys.map((s) => s.name)).toEqual(['z']);
    expect(map.lastFailureEpoch).toBe(map.epoch);
    // x comes back (same process still beaconing) as a standby.
    const back = a.beacon(beacon('x', 30));
    expect(back.activeName).toBe('y');
    expect(back.standbys.map((s) => s.name)).toEqual(['z', 'x']);
  });

  test('the active restarting (same name, new gid) is replaced at once', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12));
    const before = a.current().epoch;
    const m = a.beacon(beacon('x', 13, { available: false }));
    expect(m.epoch).toBe(before + 1);
    expect(m.activeName).toBe('y');
    expect(m.standbys.map((s) => [s.name, s.gid])).toEqual([['x', 13]]);
    expect(m.lastFailureEpoch).toBe(m.epoch);
    // A late beacon from the replaced instance is refused, and changes nothing.
    expect(kind(() => a.beacon(beacon('x', 11)))).toMatch(/^precondition: mgr.x gid 11 was replaced/);
    expect(a.current().epoch).toBe(m.epoch);
  });

  test('the only active restarting becomes active again with its new gid', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    const m = a.beacon(beacon('x', 12));
    expect(m.activeName).toBe('x');
    expect(m.activeGid).toBe(12);
  });

  test('a standby restarting replaces its entry', () => {
    const { a, changes } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12));
    const m = a.beacon(beacon('y', 14));
    expect(m.standbys.map((s) => s.gid)).toEqual([14]);
    expect(changes.at(-1)!.why).toMatch(/standby mgr.y restarted/);
  });

  test('the first beacon that makes its sender active brings its services', () => {
    const { a } = setup();
    expect(a.beacon(beacon('x', 11, { services: { dashboard: 'http://x:8443/' } })).services).toEqual({ dashboard: 'http://x:8443/' });
  });

  test("the active publishes services and module changes; a standby's services are ignored", () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12, { services: { dashboard: 'http://y:8080/' } }));
    const m = a.beacon(beacon('x', 11, { services: { prometheus: 'http://x:9283/' }, available: false }));
    expect(m.services).toEqual({ prometheus: 'http://x:9283/' });
    expect(m.available).toBe(false);
    expect(m.activeName).toBe('x');
  });
});

describe('beacon validation', () => {
  test.each([
    [{ name: '' }, /name must be/],
    [{ name: 'a b' }, /name must be/],
    [{ gid: 0 }, /gid must be a positive/],
    [{ gid: 1.5 }, /gid must be a positive/],
    [{ addrs: undefined }, /addrs.daemon_server is required/],
    [{ addrs: { daemonServer: 'nohost', moduleHost: '' } }, /must be host:port/],
    [{ addrs: { daemonServer: '127.0.0.1:1', moduleHost: 'x y' } }, /module_host must be host:port/],
    [{ availableModules: [mod('a'), mod('a')] }, /listed twice/],
  ])('%j is refused', (bad, msg) => {
    const { a } = setup();
    const k = kind(() => a.beacon({ ...beacon('x', 1), ...bad } as BeaconRequest));
    expect(k.startsWith('invalid: ')).toBe(true);
    expect(k).toMatch(msg);
    expect(a.current().epoch).toBe(1);
  });

  test('an IPv6 address is accepted', () => {
    const { a } = setup();
    expect(a.beacon(beacon('x', 1, { addrs: { daemonServer: '[::1]:7300', moduleHost: '[::1]:7400' } })).activeName).toBe('x');
  });
});

describe('grace (injected clock)', () => {
  test('an active that stops beaconing is replaced after the grace period, not before', () => {
    const { a, advance, changes } = setup();
    const x = beacon('x', 11);
    const y = beacon('y', 12);
    a.beacon(x);
    a.beacon(y);
    // Both beacon: nothing happens however long.
    advance(10 * GRACE, [x, y]);
    expect(a.current().activeName).toBe('x');
    const epoch = a.current().epoch;
    // x goes quiet: still active just inside the grace...
    advance(GRACE, [y]);
    expect(a.current().activeName).toBe('x');
    expect(a.current().epoch).toBe(epoch);
    // ...and replaced once it is exceeded.
    advance(INTERVAL, [y]);
    const m = a.current();
    expect(m.activeName).toBe('y');
    expect(m.epoch).toBe(epoch + 1);
    expect(m.standbys).toEqual([]);
    expect(changes.at(-1)!.why).toBe('Manager daemon x is unresponsive, replacing it with standby daemon y');
  });

  test('with no standby, the silent active is dropped and the map says nobody is active', () => {
    const { a, advance, changes } = setup();
    a.beacon(beacon('x', 11));
    advance(GRACE + INTERVAL);
    expect(a.current().activeName).toBe('');
    expect(a.current().available).toBe(false);
    expect(changes.at(-1)!.why).toMatch(/no standby is available/);
    // It comes back: active again.
    expect(a.beacon(beacon('x', 11)).activeName).toBe('x');
  });

  test('silent standbys are dropped', () => {
    const { a, advance } = setup();
    const x = beacon('x', 11);
    a.beacon(x);
    a.beacon(beacon('y', 12));
    advance(GRACE + INTERVAL, [x]);
    expect(a.current().standbys).toEqual([]);
    expect(a.current().activeName).toBe('x');
  });

  test('a stalled authority resets the timers instead of failing everybody', () => {
    const { a, jump, advance } = setup();
    const x = beacon('x', 11);
    a.beacon(x);
    a.beacon(beacon('y', 12));
    const epoch = a.current().epoch;
    jump(5 * GRACE);
    a.tick();
    expect(a.current().epoch).toBe(epoch);
    // After the reset, normal rules again: y is silent and is dropped.
    advance(GRACE + INTERVAL, [x]);
    expect(a.current().standbys).toEqual([]);
  });

  test('a new authority over a stored map gives everyone a full grace period', () => {
    const first = setup();
    first.a.beacon(beacon('x', 11));
    first.a.beacon(beacon('y', 12));
    const stored = structuredClone(first.a.current());
    const second = setup(stored);
    second.advance(GRACE, []);
    expect(second.a.current().activeName).toBe('x');
    expect(second.a.current().standbys.length).toBe(1);
    second.advance(INTERVAL, [beacon('y', 12)]);
    expect(second.a.current().activeName).toBe('y');
    expect(second.a.current().epoch).toBe(stored.epoch + 1);
  });
});

describe('fail and resign', () => {
  test('fail with no name fails the active; by gid works too', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12));
    expect(a.fail('').map.activeName).toBe('y');
    a.beacon(beacon('x', 11));
    const { map } = a.fail('12');
    expect(map.activeName).toBe('x');
  });

  test('failing a standby removes it; an unknown name is not found', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12));
    const r = a.fail('y');
    expect(r.message).toBe('Standby manager daemon y removed');
    expect(r.map.standbys).toEqual([]);
    expect(r.map.activeName).toBe('x');
    expect(kind(() => a.fail('nobody'))).toBe("not_found: Daemon not found 'nobody', already failed?");
  });

  test('fail with nobody active is not found', () => {
    const { a } = setup();
    expect(kind(() => a.fail(''))).toBe('not_found: no active manager to fail');
  });

  test('failing the only active leaves no active until someone beacons', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    const r = a.fail('x');
    expect(r.map.activeName).toBe('');
    expect(r.message).toBe('Manager daemon x failed; no standby to promote');
  });

  test('resign promotes a standby at once; a wrong name or gid is ignored', () => {
    const { a, changes } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12));
    const epoch = a.current().epoch;
    expect(a.resign('x', 99)).toEqual({ map: a.current(), resigned: false });
    expect(a.resign('y', 13).resigned).toBe(false);
    expect(a.resign('', 12).resigned).toBe(false);
    expect(a.current().epoch).toBe(epoch);
    const r = a.resign('x', 11, 'shutting down');
    expect(r.resigned).toBe(true);
    expect(r.map.activeName).toBe('y');
    expect(r.map.epoch).toBe(epoch + 1);
    expect(r.map.standbys).toEqual([]);
    expect(changes[changes.length - 1].why).toBe('mgr.x resigned (shutting down); mgr.y is now active');
  });

  test('a standby that resigns (or is found gone) leaves the map at once and is never promoted; alive, it comes back with its next beacon', () => {
    const { a, changes } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12));
    const r = a.resign('y', 12, 'gone: its connection closed and 127.0.0.1:7012 refuses connections');
    expect(r.resigned).toBe(true);
    expect(r.map.standbys).toEqual([]);
    expect(changes[changes.length - 1].why).toMatch(/^standby mgr.y resigned \(gone: /);
    // The active fails now: nobody to promote (the gone standby is not in the map).
    expect(a.fail('x').map.activeName).toBe('');
    a.beacon(beacon('y', 12));
    expect(a.current().activeName).toBe('y');
  });
});

describe('modules', () => {
  test('enable a module every manager knows; enabling again says so', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12));
    const r = a.enableModule('iostat', false);
    expect(r.map.modules).toEqual(['hello', 'iostat', 'selftest']);
    expect(a.enableModule('iostat', false)).toEqual({ map: r.map, message: "module 'iostat' is already enabled" });
    expect(a.enableModule('status', false).message).toBe("module 'status' is already enabled (always on)");
  });

  test('an unknown module is not found unless forced', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    expect(kind(() => a.enableModule('nope', false))).toMatch(
      /^not_found: all mgr daemons do not support module 'nope', pass --force.*known modules: hello, iostat, selftest, status/,
    );
    expect(a.enableModule('nope', true).map.modules).toContain('nope');
  });

  test('a module a standby does not have is not found unless forced', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    a.beacon(beacon('y', 12, { availableModules: [mod('hello')] }));
    expect(kind(() => a.enableModule('iostat', false))).toMatch(/^not_found: all mgr daemons do not support module 'iostat'/);
  });

  test('with no manager at all, enabling needs force', () => {
    const { a } = setup();
    expect(kind(() => a.enableModule('iostat', false))).toMatch(/no manager has reported its modules yet/);
  });

  test('a module the active cannot run is refused unless forced', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11, { availableModules: [...MODULES, mod('influx', false, 'influxdb python module not found')] }));
    expect(kind(() => a.enableModule('influx', false))).toBe(
      "precondition: module 'influx' reports that it cannot run on the active manager daemon: influxdb python module not found (pass --force to force enablement)",
    );
    expect(a.enableModule('influx', true).map.modules).toContain('influx');
  });

  test('disable; an always-on module cannot be disabled; disabling twice says so', () => {
    const { a } = setup();
    const r = a.disableModule('hello');
    expect(r.map.modules).toEqual(['selftest']);
    expect(r.map.epoch).toBe(2);
    expect(a.disableModule('hello')).toEqual({ map: r.map, message: "module 'hello' is already disabled" });
    expect(kind(() => a.disableModule('status'))).toBe("precondition: module 'status' cannot be disabled (always-on)");
    expect(kind(() => a.disableModule(''))).toBe('invalid: module name is empty');
    expect(kind(() => a.enableModule('a/b', true))).toMatch(/^invalid: module name 'a\/b' is not valid/);
  });
});

describe('restore', () => {
  test('going back to the durable map keeps epochs consecutive', () => {
    const { a } = setup();
    a.beacon(beacon('x', 11));
    const durable = structuredClone(a.current());
    a.enableModule('iostat', false);
    a.restore(durable);
    expect(a.current()).toEqual(durable);
    expect(a.enableModule('iostat', false).map.epoch).toBe(durable.epoch + 1);
  });
});
