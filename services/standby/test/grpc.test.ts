// StandbyService on a real server (embedded backend): status codes, the watch
// stream, failover on the grace period, restart keeping the map, publishing
// into a real cluster-state.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Status, createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { startClusterState } from '../../cluster-state/server';
import { freePort } from '../../../lib/testing/etcd';
import { FileMapStore } from '../backends/embedded';
import { beacon, failure, startTestStandby, tempDir, until, waitForMap } from './helpers';
import { ALWAYS_ON_MODULES } from '../../../lib/always-on-modules';

describe('StandbyService (embedded)', () => {
  let s: Awaited<ReturnType<typeof startTestStandby>>;

  // The managers that keep beaconing, as running instances would.
  const alive = new Map<string, number>();
  let timer: NodeJS.Timeout;

  beforeAll(async () => {
    s = await startTestStandby({ beaconIntervalMs: 200, graceMs: 2000 });
    timer = setInterval(() => {
      for (const [name, gid] of alive) void s.client.beacon(beacon(name, gid)).catch(() => undefined);
    }, 200);
  });
  afterAll(async () => {
    clearInterval(timer);
    await s.close();
  });

  test('health is SERVING and the first available beacon becomes active; the answer carries the timing', async () => {
    const ch = createChannel(s.handle.address);
    const health = createClient(HealthDefinition, ch);
    expect((await health.check({ service: 'ceph.mgr.v1.StandbyService' })).status).toBe(1); // SERVING
    ch.close();
    const r = await s.client.beacon(beacon('x', 11));
    alive.set('x', 11);
    expect(r.graceMs).toBe(2000);
    expect(r.beaconIntervalMs).toBe(200);
    expect(r.mgrMap!.activeName).toBe('x');
    expect(r.mgrMap!.modules).toEqual(['hello', 'selftest']);
    // Ceph Pacific's always-on set.
    expect(r.mgrMap!.alwaysOnModules).toEqual(ALWAYS_ON_MODULES);
    // Not available until its beacon as the active says so (Ceph's rule).
    expect(r.mgrMap!.available).toBe(false);
    const r2 = await s.client.beacon(beacon('x', 11));
    expect(r2.mgrMap!.available).toBe(true);
    expect(r2.mgrMap!.epoch).toBe(r.mgrMap!.epoch + 1);
    const got = await s.client.getMgrMap({});
    expect(got.mgrMap).toEqual(r2.mgrMap);
  });

  test('bad beacons are INVALID_ARGUMENT and change nothing', async () => {
    const before = (await s.client.getMgrMap({})).mgrMap!.epoch;
    const noName = await failure(s.client.beacon(beacon('', 5)));
    expect(noName.code).toBe(Status.INVALID_ARGUMENT);
    expect(noName.message).toMatch(/name must be/);
    const noAddr = await failure(s.client.beacon(beacon('z', 5, { addrs: undefined })));
    expect(noAddr.code).toBe(Status.INVALID_ARGUMENT);
    expect(noAddr.message).toMatch(/addrs.daemon_server is required/);
    const noGid = await failure(s.client.beacon(beacon('z', 0)));
    expect(noGid.code).toBe(Status.INVALID_ARGUMENT);
    expect((await s.client.getMgrMap({})).mgrMap!.epoch).toBe(before);
  });

  test('WatchMgrMap sends the current map, then every new epoch; after_epoch is honoured', async () => {
    const ac = new AbortController();
    const it = s.client.watchMgrMap({ afterEpoch: 0 }, { signal: ac.signal })[Symbol.asyncIterator]();
    const first = (await it.next()).value.mgrMap as MgrMap;
    const start = (await s.client.getMgrMap({})).mgrMap!.epoch;
    expect(first.epoch).toBe(start);
    const e1 = (await s.client.enableModule({ module: 'iostat', force: false })).mgrMap!.epoch;
    await s.client.disableModule({ module: 'iostat' });
    const e3 = (await s.client.enableModule({ module: 'iostat', force: false })).mgrMap!.epoch;
    // Every epoch arrives, in order (beacons may add epochs of their own).
    const seen: MgrMap[] = [];
    while (!seen.length || seen[seen.length - 1].epoch < e3) seen.push((await it.next()).value.mgrMap);
    expect(seen.map((m) => m.epoch)).toEqual(Array.from({ length: e3 - start }, (_, i) => start + 1 + i));
    const states = seen.map((m) => m.modules.includes('iostat')).filter((v, i, all) => i === 0 || v !== all[i - 1]);
    expect(states).toEqual([true, false, true]);
    ac.abort();
    await it.return?.(undefined).catch(() => undefined);

    // A watcher that has seen e1 gets the ones after it, in order.
    const ac2 = new AbortController();
    const it2 = s.client.watchMgrMap({ afterEpoch: e1 }, { signal: ac2.signal })[Symbol.asyncIterator]();
    expect(((await it2.next()).value.mgrMap as MgrMap).epoch).toBe(e1 + 1);
    expect(((await it2.next()).value.mgrMap as MgrMap).epoch).toBe(e1 + 2);
    ac2.abort();
    await it2.return?.(undefined).catch(() => undefined);
  });

  test('module rules: NOT_FOUND unless forced, FAILED_PRECONDITION for cannot-run and always-on', async () => {
    const unknown = await failure(s.client.enableModule({ module: 'nope', force: false }));
    expect(unknown.code).toBe(Status.NOT_FOUND);
    expect(unknown.message).toMatch(/all mgr daemons do not support module 'nope', pass --force/);
    const cannot = await failure(s.client.enableModule({ module: 'influx', force: false }));
    expect(cannot.code).toBe(Status.FAILED_PRECONDITION);
    expect(cannot.message).toMatch(/cannot run on the active manager daemon: influxdb python module not found/);
    const always = await failure(s.client.disableModule({ module: 'status' }));
    expect(always.code).toBe(Status.FAILED_PRECONDITION);
    expect(always.message).toBe("module 'status' cannot be disabled (always-on)");
    const forced = await s.client.enableModule({ module: 'nope', force: true });
    expect(forced.mgrMap!.modules).toContain('nope');
    expect((await s.client.enableModule({ module: 'nope', force: false })).message).toBe("module 'nope' is already enabled");
    await s.client.disableModule({ module: 'nope' });
  });

  test('FailMgr: unknown is NOT_FOUND; failing the active promotes the standby; Resign hands over', async () => {
    await s.client.beacon(beacon('y', 12));
    alive.set('y', 12);
    const unknown = await failure(s.client.failMgr({ who: 'nobody' }));
    expect(unknown.code).toBe(Status.NOT_FOUND);
    expect(unknown.message).toBe("Daemon not found 'nobody', already failed?");
    const failed = await s.client.failMgr({ who: 'x' });
    expect(failed.message).toBe('Manager daemon x failed; y is now active');
    expect(failed.mgrMap!.activeName).toBe('y');
    // x is still running: its next beacon makes it a standby.
    expect((await s.client.beacon(beacon('x', 11))).mgrMap!.standbys.map((m) => m.name)).toEqual(['x']);
    const resigned = await s.client.resign({ name: 'y', gid: 12 });
    expect(resigned.mgrMap!.activeName).toBe('x');
    expect(resigned.mgrMap!.epoch).toBeGreaterThan(failed.mgrMap!.epoch + 1);
    // A resign from someone who is not the active changes nothing.
    const again = (await s.client.resign({ name: 'y', gid: 12 })).mgrMap!;
    expect([again.activeName, again.activeGid]).toEqual(['x', 11]);
  });

  test('an active that stops beaconing is replaced by the tick after the grace period', async () => {
    await s.client.beacon(beacon('y', 12));
    const m = (await s.client.getMgrMap({})).mgrMap!;
    expect(m.activeName).toBe('x');
    expect(m.standbys.map((x) => x.name)).toEqual(['y']);
    // Only y keeps beaconing.
    alive.delete('x');
    const after = await waitForMap(s.client, (mm) => mm.activeName === 'y');
    expect(after.epoch).toBeGreaterThan(m.epoch);
    expect(after.lastFailureEpoch).toBe(after.epoch);
    expect(after.standbys).toEqual([]);
  });
});

describe('crash failover from connection loss (embedded)', () => {
  // A grace period longer than this test runs: whatever is replaced here
  // was replaced by the fast path, never by the grace period.
  let s: Awaited<ReturnType<typeof startTestStandby>>;
  const listeners: net.Server[] = [];
  /** A port that accepts connections, standing for a running daemon-server. */
  const listen = async () => {
    const srv = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    listeners.push(srv);
    return { srv, addr: `127.0.0.1:${(srv.address() as net.AddressInfo).port}` };
  };
  const at = (addr: string) => ({ addrs: { daemonServer: addr, moduleHost: '' } });
  /** A watch naming (name, gid), as a manager's daemon-server keeps one; returns its end. */
  const watchAs = async (name: string, gid: number) => {
    const ac = new AbortController();
    const it = s.client.watchMgrMap({ afterEpoch: 0, watcher: { name, gid } }, { signal: ac.signal })[Symbol.asyncIterator]();
    await it.next();
    return () => {
      ac.abort();
      void it.return?.(undefined).catch(() => undefined);
    };
  };
  const probes = async (result: string) => {
    const m = await s.handle.service.registry.getSingleMetric('mgr_standby_presence_probes_total')!.get();
    return m.values.find((v) => v.labels.result === result)?.value ?? 0;
  };

  beforeAll(async () => {
    s = await startTestStandby({ beaconIntervalMs: 200, graceMs: 600000 });
  });
  afterAll(async () => {
    for (const l of listeners) l.close();
    await s.close();
  });

  test('the active whose watch ends while its address refuses connections is replaced at once; a standby likewise leaves', async () => {
    const x = await listen();
    const y = await listen();
    const z = await listen();
    await s.client.beacon(beacon('x', 101, at(x.addr)));
    await s.client.beacon(beacon('x', 101, at(x.addr)));
    await s.client.beacon(beacon('y', 102, at(y.addr)));
    await s.client.beacon(beacon('z', 103, at(z.addr)));
    const before = (await s.client.getMgrMap({})).mgrMap!;
    expect(before.activeName).toBe('x');
    expect(before.standbys.map((m) => m.name)).toEqual(['y', 'z']);

    // x's process exits: its listening socket closes, then its connections.
    const endX = await watchAs('x', 101);
    await new Promise<void>((r) => x.srv.close(() => r()));
    endX();
    const after = await waitForMap(s.client, (m) => m.activeName === 'y');
    expect(after.standbys.map((m) => m.name)).toEqual(['z']);
    expect(after.lastFailureEpoch).toBe(after.epoch);
    expect(await probes('refused')).toBe(1);

    // A standby that dies is taken out too, so it is never the one promoted.
    const endZ = await watchAs('z', 103);
    await new Promise<void>((r) => z.srv.close(() => r()));
    endZ();
    const noZ = await waitForMap(s.client, (m) => m.standbys.length === 0);
    expect(noZ.activeName).toBe('y');
  });

  test('a watch that ends while the address still accepts (hung, or only the connection lost) changes nothing: the grace period decides', async () => {
    const m = (await s.client.getMgrMap({})).mgrMap!;
    expect(m.activeName).toBe('y');
    const open = await probes('open');
    // Also what a stranger claiming y's identity gets: y's own address is what is probed.
    const endY = await watchAs('y', m.activeGid);
    endY();
    await until(async () => (await probes('open')) === open + 1, 'the probe of y');
    const still = (await s.client.getMgrMap({})).mgrMap!;
    expect([still.activeName, still.activeGid, still.epoch]).toEqual(['y', m.activeGid, m.epoch]);
    // A watcher with no name, or a gid not in the map, probes nothing.
    (await watchAs('y', 999))();
    (await watchAs('', 0))();
    await new Promise((r) => setTimeout(r, 300));
    expect(await probes('open')).toBe(open + 1);
  });
});

describe('embedded persistence', () => {
  test('a restart keeps the epoch, modules, services and who is active', async () => {
    const dataDir = tempDir();
    try {
      const a = await startTestStandby({ dataDir, graceMs: 60000 });
      await a.client.beacon(beacon('x', 11));
      await a.client.beacon(beacon('x', 11, { services: { prometheus: 'http://127.0.0.1:9283/' } }));
      await a.client.beacon(beacon('y', 12));
      const m = (await a.client.enableModule({ module: 'iostat', force: false })).mgrMap!;
      await a.close(false);
      // The file is complete JSON (atomic write) and holds that epoch.
      expect(new FileMapStore(dataDir).load()!.epoch).toBe(m.epoch);
      expect(fs.readdirSync(dataDir).filter((f) => f.includes('.tmp'))).toEqual([]);

      const b = await startTestStandby({ dataDir, graceMs: 60000 });
      const got = (await b.client.getMgrMap({})).mgrMap!;
      expect(got).toEqual(m);
      // The next change continues from there.
      const next = (await b.client.disableModule({ module: 'iostat' })).mgrMap!;
      expect(next.epoch).toBe(m.epoch + 1);
      await b.close(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a damaged map file stops the start with a message naming it', async () => {
    const dataDir = tempDir();
    try {
      fs.writeFileSync(path.join(dataDir, 'mgrmap.json'), '{"version":1, "mgrMap": {');
      await expect(startTestStandby({ dataDir })).rejects.toThrow(/mgrmap.json: not valid JSON .*move it away/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('bad timing configuration is refused', async () => {
    await expect(startTestStandby({ beaconIntervalMs: 500, graceMs: 600 })).rejects.toThrow(/at least twice the beacon interval/);
  });
});

describe('publishing to cluster-state', () => {
  test('every new map reaches cluster-state as mgr_map, also when cluster-state starts later', async () => {
    const csPort = await freePort();
    const csDir = tempDir();
    // cluster-state is not there yet: the authority must not wait for it.
    const s = await startTestStandby({ clusterStateAddr: `127.0.0.1:${csPort}` });
    let cs: Awaited<ReturnType<typeof startClusterState>> | null = null;
    const ch = openChannel(`127.0.0.1:${csPort}`);
    try {
      const r = await s.client.beacon(beacon('x', 11, { services: { dashboard: 'http://127.0.0.1:8443/' } }));
      expect(r.mgrMap!.activeName).toBe('x');
      await until(() => s.handle.publisher!.failures > 0, 'a failed publish attempt');
      cs = await startClusterState({ port: csPort, dataDir: csDir, metricsPort: -1, logLevel: 'error' });
      const csClient = makeClient(ClusterStateServiceDefinition, ch);
      const read = async () => {
        try {
          const g = await csClient.get({ what: 'mgr_map' });
          return JSON.parse(Buffer.from(g.json).toString('utf8'));
        } catch {
          return null;
        }
      };
      await until(async () => (await read())?.epoch === r.mgrMap!.epoch, 'mgr_map in cluster-state');
      const j = await read();
      expect(j.active_name).toBe('x');
      expect(j.active_gid).toBe(11);
      expect(j.services).toEqual({ dashboard: 'http://127.0.0.1:8443/' });
      expect(j.modules).toEqual(['hello', 'selftest']);
      expect(j.always_on_modules).toEqual({ pacific: ALWAYS_ON_MODULES });
      // A later change follows.
      const e = await s.client.enableModule({ module: 'iostat', force: false });
      await until(async () => (await read())?.epoch === e.mgrMap!.epoch, 'the next epoch in cluster-state');
      expect((await read()).modules).toEqual(['hello', 'iostat', 'selftest']);
    } finally {
      ch.close();
      await s.close();
      await cs?.stop();
      fs.rmSync(csDir, { recursive: true, force: true });
    }
  });
});
