// The etcd backend against a REAL etcd (Debian's etcd-server) started by the
// test on its own loopback ports: three standby replicas, calls through
// followers, the leader's process killed, and a leader whose lease is no
// longer renewed being fenced by etcd.
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Status, createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { Etcd3 } from 'etcd3';
import { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import { startEtcd, freePort, TestEtcd } from '../../../lib/testing/etcd';
import { EtcdBackend } from '../backends/etcd';
import { beacon, failure, retryUnavailable, standbyClient, startTestStandby, tempDir, until, waitForMap } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const PREFIX = '/test/standby/';
// A grace well above the lease TTL: in these tests no manager may be failed
// by a tick while leadership moves, so every write is one the test made.
const TIMING = { etcdLeaseTtlS: 2, beaconIntervalMs: 200, graceMs: 10000 };

type Replica = Awaited<ReturnType<typeof startTestStandby>>;

describe('etcd backend (real etcd)', () => {
  let etcd: TestEtcd;
  let kv: Etcd3;
  let child: ChildProcess | null = null;
  const childDir = tempDir();
  let b: Replica;
  let c: Replica;
  const alive = new Map<string, number>();
  let beaconTarget: ReturnType<typeof standbyClient>['client'];
  let timer: NodeJS.Timeout | null = null;

  const leaderAddress = async () => {
    const v = await kv.get(`${PREFIX}leader`).string();
    return v ? (JSON.parse(v).address as string) : '';
  };
  const storedMap = async () => {
    const v = await kv.get(`${PREFIX}mgrmap`).string();
    return v ? MgrMap.fromJSON(JSON.parse(v)) : null;
  };
  const etcdOf = (r: Replica) => r.handle.backend as EtcdBackend;
  const replica = (extra = {}) => startTestStandby({ backend: 'etcd', etcdEndpoints: [etcd.endpoint], etcdPrefix: PREFIX, ...TIMING, ...extra });

  beforeAll(async () => {
    etcd = await startEtcd();
    kv = new Etcd3({ hosts: etcd.endpoint });
  });

  afterAll(async () => {
    if (timer) clearInterval(timer);
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await b?.close();
    await c?.close();
    kv?.close();
    await etcd?.stop();
    fs.rmSync(childDir, { recursive: true, force: true });
  });

  test('three replicas: calls through followers reach the leader; killing the leader process hands over and keeps the epoch', async () => {
    // Replica A is a separate process (to be killed with SIGKILL), started
    // first so that it is the leader.
    const aPort = await freePort();
    const aAddr = `127.0.0.1:${aPort}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'services/standby/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        MGR_PORT: String(aPort),
        MGR_METRICS_PORT: '-1',
        MGR_LOG_LEVEL: 'error',
        MGR_STANDBY_BACKEND: 'etcd',
        MGR_ETCD_ENDPOINTS: etcd.endpoint,
        MGR_ETCD_PREFIX: PREFIX,
        MGR_ETCD_LEASE_TTL_S: String(TIMING.etcdLeaseTtlS),
        MGR_BEACON_INTERVAL_MS: String(TIMING.beaconIntervalMs),
        MGR_BEACON_GRACE_MS: String(TIMING.graceMs),
        MGR_DATA_DIR: childDir,
        // as replicas B and C here (started without a keyring): this test is about leadership, test/failover.test.ts runs etcd replicas authenticated
        MGR_AUTH: 'none',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await until(async () => (await leaderAddress()) === aAddr, 'replica A to lead', 30000);
    b = await replica();
    c = await replica();
    await b.handle.backend.ready;
    await c.handle.backend.ready;
    expect(b.handle.backend.status()).toEqual({ backend: 'etcd', role: 'follower', leader: aAddr });
    expect(c.handle.backend.status().role).toBe('follower');

    // Managers beacon through follower B only.
    beaconTarget = b.client;
    alive.set('x', 11);
    alive.set('y', 12);
    const first = await b.client.beacon(beacon('x', 11));
    expect(first.mgrMap!.activeName).toBe('x');
    expect(first.graceMs).toBe(TIMING.graceMs);
    timer = setInterval(() => {
      for (const [name, gid] of alive) void beaconTarget.beacon(beacon(name, gid)).catch(() => undefined);
    }, TIMING.beaconIntervalMs);
    expect(etcdOf(b).stats.forwarded).toBeGreaterThan(0);

    // Follower C answers reads from the map it watches in etcd.
    const seen = await waitForMap(c.client, (m) => m.activeName === 'x' && m.standbys.some((s) => s.name === 'y'));
    expect((await storedMap())!.epoch).toBeGreaterThanOrEqual(seen.epoch);

    // Refusals travel back through the follower unchanged.
    const bad = await failure(c.client.beacon(beacon('', 1)));
    expect(bad.code).toBe(Status.INVALID_ARGUMENT);
    const unknown = await failure(c.client.failMgr({ who: 'nobody' }));
    expect(unknown.code).toBe(Status.NOT_FOUND);
    expect(unknown.message).toBe("Daemon not found 'nobody', already failed?");
    const enabled = await c.client.enableModule({ module: 'iostat', force: false });
    expect(enabled.mgrMap!.modules).toContain('iostat');
    // The follower shows its own write at once.
    expect((await c.client.getMgrMap({})).mgrMap!.epoch).toBeGreaterThanOrEqual(enabled.mgrMap!.epoch);
    const before = enabled.mgrMap!.epoch;

    // Kill the leader's process: its lease expires and B or C takes over.
    child.kill('SIGKILL');
    await until(() => [b, c].some((r) => r.handle.backend.status().role === 'leader'), 'a new leader', 20000);
    const leader = [b, c].find((r) => r.handle.backend.status().role === 'leader')!;
    expect(await leaderAddress()).toBe(leader.handle.address);

    // The map goes on from the same epoch; the managers kept beaconing
    // through B, and the new leader gave them a full grace period, so x is
    // still the active.
    const after = await retryUnavailable(() => c.client.disableModule({ module: 'iostat' }));
    expect(after.mgrMap!.epoch).toBeGreaterThan(before);
    expect(after.mgrMap!.modules).not.toContain('iostat');
    expect(after.mgrMap!.activeName).toBe('x');
    expect(after.mgrMap!.lastFailureEpoch).toBe(0);
    const stored = (await storedMap())!;
    expect(stored.epoch).toBeGreaterThanOrEqual(after.mgrMap!.epoch);
  });

  test('a leader whose lease is no longer renewed is fenced: etcd refuses its write and the call goes to the new leader', async () => {
    const old = [b, c].find((r) => r.handle.backend.status().role === 'leader')!;
    const other = old === b ? c : b;
    // Managers go quiet for this test: the only write reaching the old
    // leader is ours.
    if (timer) clearInterval(timer);
    timer = null;
    etcdOf(old).suspendLeaseRenewalForTest();
    await until(() => other.handle.backend.status().role === 'leader', 'the other replica to take over', 20000);
    // The old leader has not noticed: it still believes it leads.
    expect(old.handle.backend.status().role).toBe('leader');
    expect(etcdOf(old).stats.fencedWrites).toBe(0);

    const r = await old.client.enableModule({ module: 'iostat', force: false });
    expect(r.mgrMap!.modules).toContain('iostat');
    // etcd refused the old leader's transaction; it stepped down and
    // forwarded the call to the new leader, which wrote it.
    expect(etcdOf(old).stats.fencedWrites).toBe(1);
    expect(old.handle.backend.status().role).not.toBe('leader');
    expect(etcdOf(other).stats.elections).toBe(1);
    const stored = (await storedMap())!;
    expect(stored.modules).toContain('iostat');
    expect(stored.epoch).toBeGreaterThanOrEqual(r.mgrMap!.epoch);
    expect(await leaderAddress()).toBe(other.handle.address);

    // A graceful stop of the leader revokes its lease: the remaining
    // replica takes over and carries on from the same map.
    const epoch = stored.epoch;
    await other.close();
    await until(() => old.handle.backend.status().role === 'leader', 'the remaining replica to lead', 20000);
    const m = (await retryUnavailable(() => old.client.getMgrMap({}))).mgrMap!;
    expect(m.epoch).toBeGreaterThanOrEqual(epoch);
    expect(m.modules).toContain('iostat');
  });
});

describe('etcd backend: a gone manager seen by a follower', () => {
  let etcd: TestEtcd;
  let leader: Replica;
  let follower: Replica;
  const listeners: net.Server[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    const opts = {
      backend: 'etcd' as const,
      etcdEndpoints: [etcd.endpoint],
      etcdPrefix: '/test/presence/',
      etcdLeaseTtlS: 2,
      beaconIntervalMs: 200,
      graceMs: 600000,
    };
    leader = await startTestStandby(opts);
    await until(() => leader.handle.backend.status().role === 'leader', 'the first replica to lead', 20000);
    follower = await startTestStandby(opts);
    await follower.handle.backend.ready;
  }, 60000);
  afterAll(async () => {
    for (const l of listeners) l.close();
    await follower?.close();
    await leader?.close();
    await etcd?.stop();
  });

  test("the follower holding the gone active's watch has the leader replace it at once (grace 10 minutes)", async () => {
    const listen = async () => {
      const srv = net.createServer((c) => c.destroy());
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      listeners.push(srv);
      return { srv, addr: `127.0.0.1:${(srv.address() as net.AddressInfo).port}` };
    };
    const x = await listen();
    const y = await listen();
    const at = (addr: string) => ({ addrs: { daemonServer: addr, moduleHost: '' } });
    await follower.client.beacon(beacon('x', 201, at(x.addr)));
    await follower.client.beacon(beacon('x', 201, at(x.addr)));
    await follower.client.beacon(beacon('y', 202, at(y.addr)));
    await waitForMap(follower.client, (m) => m.activeName === 'x' && m.standbys.length === 1);
    expect(follower.handle.backend.status().role).toBe('follower');
    const forwarded = (follower.handle.backend as EtcdBackend).stats.forwarded;

    const ac = new AbortController();
    const it = follower.client.watchMgrMap({ afterEpoch: 0, watcher: { name: 'x', gid: 201 } }, { signal: ac.signal })[Symbol.asyncIterator]();
    await it.next();
    await new Promise<void>((r) => x.srv.close(() => r()));
    ac.abort();
    void it.return?.(undefined).catch(() => undefined);

    const after = await waitForMap(leader.client, (m) => m.activeName === 'y');
    expect(after.standbys).toEqual([]);
    expect((follower.handle.backend as EtcdBackend).stats.forwarded).toBe(forwarded + 1);
  });
});

describe('etcd backend: etcd not there yet', () => {
  test('a replica serves UNAVAILABLE (health not serving) until etcd comes, then works', async () => {
    const port = await freePort();
    const r = await startTestStandby({ backend: 'etcd', etcdEndpoints: [`http://127.0.0.1:${port}`], etcdPrefix: PREFIX, ...TIMING });
    let etcd: TestEtcd | null = null;
    const ch = createChannel(r.handle.address);
    const health = createClient(HealthDefinition, ch);
    try {
      expect((await health.check({ service: '' })).status).toBe(2); // NOT_SERVING
      const none = await failure(r.client.getMgrMap({}));
      expect(none.code).toBe(Status.UNAVAILABLE);
      expect(none.message).toMatch(/no MgrMap yet: the etcd backend has not loaded one/);
      const write = await failure(r.client.beacon(beacon('x', 11)));
      expect(write.code).toBe(Status.UNAVAILABLE);
      etcd = await startEtcd({ clientPort: port });
      await r.handle.backend.ready;
      const m = await retryUnavailable(() => r.client.beacon(beacon('x', 11)));
      expect(m.mgrMap!.activeName).toBe('x');
      expect(r.handle.backend.status().role).toBe('leader');
      await until(async () => (await health.check({ service: '' })).status === 1, 'health SERVING');
    } finally {
      ch.close();
      await r.close();
      await etcd?.stop();
    }
  });
});
