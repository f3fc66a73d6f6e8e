// The monitor client against the real Pacific monitors of the project's
// loopback test cluster (lib/testing/ceph-cluster.ts), authenticating with
// cephx as client.admin.
import { MonClient } from '../monclient';
import { createLogger } from '../../log';
import { keyFromKeyring } from '../../keyring';
import { describeCeph, sharedCephCluster, startCephCluster, type CephCluster } from '../../testing/ceph-cluster';
import { until } from '../../testing/wait';
import { execFileSync } from 'child_process';

const logger = createLogger({ test: 'monclient.live' }, 'warn');

describeCeph(__filename)('MonClient on a live Pacific cluster', () => {
  let cluster: CephCluster;
  let mc: MonClient | undefined;
  const monitors = () =>
    cluster.mons.map((m) => {
      const i = m.v2.lastIndexOf(':');
      return { host: m.v2.slice(0, i), port: Number(m.v2.slice(i + 1)) };
    });
  const adminClient = (key = keyFromKeyring(cluster.keyringPath, 'client.admin')) => {
    mc = new MonClient({ monitors: monitors(), entity: 'client.admin', key, logger, backoffMs: 200, maxBackoffMs: 2000 });
    return mc;
  };

  beforeAll(async () => {
    cluster = await sharedCephCluster();
  }, 400_000);
  afterEach(() => {
    mc?.stop();
    mc = undefined;
  });

  it('authenticates as client.admin with cephx and gets the monmap', async () => {
    const c = adminClient();
    const maps = new Map<string, number>();
    c.on('map', (name: string, epoch: number) => maps.set(name, epoch));
    await c.start();
    const monmap = c.getMonMap()!;
    expect(monmap.fsid).toBe(cluster.fsid);
    expect(monmap.mons.map((m) => m.name).sort()).toEqual(cluster.mons.map((m) => m.name).sort());
    expect(monmap.minMonRelease).toBe(16);
    await until('every subscribed map', () => ['osdmap', 'fsmap', 'mgrmap', 'monmap', 'config'].every((n) => maps.has(n)));
    expect(c.status()).toMatchObject({ state: 'connected', fsid: cluster.fsid, wire: { crcErrors: 0, malformedFrames: 0, signatureMismatches: 0 } });
  });

  it('runs osd dump and gets the epoch `ceph osd dump -f json` reports', async () => {
    const c = adminClient();
    await c.start();
    const r = await c.command({ prefix: 'osd dump', format: 'json' });
    expect(r.r).toBe(0);
    const ours = JSON.parse(r.data.toString('utf8'));
    const theirs = await cluster.ceph<{ epoch: number; fsid: string }>(['osd', 'dump']);
    expect(ours.fsid).toBe(theirs.fsid);
    expect(ours.epoch).toBe(theirs.epoch);
    expect(c.status().epochs.osdmap).toBe(theirs.epoch);
    const bad = await c.command({ prefix: 'no such command' });
    expect(bad.r).toBe(-22);
  });

  it('follows osdmap epochs: `ceph osd out 1` brings a new epoch', async () => {
    const c = adminClient();
    const epochs: number[] = [];
    c.on('map', (name: string, epoch: number) => name === 'osdmap' && epochs.push(epoch));
    await c.start();
    await until('the current osdmap', () => epochs.length > 0);
    const before = epochs[epochs.length - 1];
    try {
      await cluster.run(['osd', 'out', '1']);
      const after = await until('a newer osdmap epoch', () => epochs.find((e) => e > before), 60_000);
      const dump = await cluster.ceph<{ epoch: number; osds: Array<{ osd: number; in: number }> }>(['osd', 'dump']);
      expect(after).toBeLessThanOrEqual(dump.epoch);
      expect(dump.osds.find((o) => o.osd === 1)?.in).toBe(0);
    } finally {
      await cluster.run(['osd', 'in', '1']);
    }
    await until('the osd back in', () => epochs[epochs.length - 1] > before + 1, 60_000);
  }, 180_000);

  it('a wrong key is one clear error naming the entity and the monitor, without a busy loop', async () => {
    const wrong = execFileSync('ceph-authtool', ['--gen-print-key']).toString().trim();
    const c = adminClient(wrong);
    await expect(c.start()).rejects.toThrow(/authentication as client\.admin to (mon\.\w+|monitor) at v2:127\.0\.0\.1:\d+ failed: .*EACCES/);
    const sessionsTried = c.status().wire.authFailures;
    await new Promise((r) => setTimeout(r, 1500));
    expect(c.status().wire.authFailures).toBe(sessionsTried);
    expect(c.status()).toMatchObject({ state: 'waiting', lastError: expect.stringContaining('client.admin') });
  });
});

// Restarting a monitor and changing its modes would disturb the other test
// files that share the run's cluster: these run on a cluster of their own
// (one monitor, one OSD).
describeCeph(__filename)('MonClient and a monitor of its own: restarted, then made secure-only', () => {
  let cluster: CephCluster | undefined;
  let mc: MonClient | undefined;
  const client = () => {
    const c = cluster as CephCluster;
    const i = c.mons[0].v2.lastIndexOf(':');
    mc = new MonClient({
      monitors: [{ host: c.mons[0].v2.slice(0, i), port: Number(c.mons[0].v2.slice(i + 1)) }],
      entity: 'client.admin',
      key: keyFromKeyring(c.keyringPath, 'client.admin'),
      logger,
      backoffMs: 200,
      maxBackoffMs: 2000,
    });
    return mc;
  };
  beforeAll(async () => {
    cluster = await startCephCluster({ osds: 1, mds: false });
  }, 400_000);
  afterEach(() => {
    mc?.stop();
    mc = undefined;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('reconnects after its monitor restarts, and commands work again', async () => {
    const c = client();
    const connected: string[] = [];
    const disconnected: string[] = [];
    c.on('connected', (m: string) => connected.push(m));
    c.on('disconnected', (m: string) => disconnected.push(m));
    await c.start();
    await (cluster as CephCluster).restartDaemon('mon.a');
    await until('a new session', () => connected.length >= 2 && c.status().state === 'connected', 120_000);
    expect(disconnected.length).toBeGreaterThanOrEqual(1);
    const r = await c.command({ prefix: 'mon stat', format: 'json' }, { timeoutMs: 60_000 });
    expect(r.r).toBe(0);
  }, 300_000);

  it('a monitor that allows secure mode only refuses it, with the mode and the setting to change named', async () => {
    const cl = cluster as CephCluster;
    // the monitors read their own settings from their store when they start
    await cl.ceph(['config', 'set', 'mon', 'ms_mon_service_mode', 'secure']);
    await cl.restartDaemon('mon.a');
    await expect(client().start()).rejects.toThrow(
      /client\.admin cannot talk to .* which accepts only secure mode; mgrpc speaks crc mode only: .*ms_mon_service_mode/,
    );
  }, 300_000);
});
