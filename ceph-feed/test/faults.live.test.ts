// The feed's faults, on the shared live cluster: a wrong key, monitors that
// cannot be reached, a v1-only address, another cluster's fsid, and
// cluster-state holding another cluster's maps (monitors that go away and
// come back: restart.live.test.ts). Each gives one clear error (log line and
// health check), never a busy loop.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatKeyring, newKey } from '../../lib/keyring';
import { describeCeph, sharedCephCluster, type CephCluster } from '../../lib/testing/ceph-cluster';
import { freePort, until } from '../../lib/testing/wait';
import { startTestServer } from '../../services/cluster-state/test/helpers';
import { startCephFeed, type CephFeedConfig, type CephFeedHandle } from '../server';
import { cephSide } from '../../lib/ceph/target';

type Json = any;
const ROOT = path.resolve(__dirname, '../..');

describeCeph('faults.live.test.ts')('the Ceph map feed’s faults on a live Pacific cluster', () => {
  jest.setTimeout(300000);
  let cluster: CephCluster;
  let cs: Awaited<ReturnType<typeof startTestServer>>;
  let tmp: string;
  const feeds: CephFeedHandle[] = [];
  const health = async (): Promise<Json> => JSON.parse(JSON.parse(Buffer.from((await cs.client.get({ what: 'health' })).json).toString('utf8')).json);
  const start = async (cfg: Partial<CephFeedConfig>) => {
    const f = await startCephFeed({
      cephConf: cluster.confPath,
      keyring: cluster.keyringPath,
      clusterState: cs.handle.address,
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      periodMs: 300,
      ...cfg,
    });
    feeds.push(f);
    return f;
  };
  const conf = (name: string, monHost: string, fsid = cluster.fsid) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, `[global]\n\tfsid = ${fsid}\n\tmon_host = ${monHost}\n`);
    return file;
  };

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ceph-feed-faults-'));
  });
  beforeEach(async () => {
    cs = await startTestServer();
  });
  afterEach(async () => {
    for (const f of feeds.splice(0)) await f.stop();
    await cs.close();
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a wrong key: one clear error naming the entity and the monitor, no busy loop', async () => {
    const keyring = path.join(tmp, 'wrong.keyring');
    fs.writeFileSync(keyring, formatKeyring([{ entity: 'client.admin', key: newKey(), caps: {} }]));
    const f = await start({ keyring });
    const check = await until('MGR_CEPH_MON_REFUSED in cluster-state', async () => (await health()).checks.MGR_CEPH_MON_REFUSED, 30000);
    expect(check.severity).toBe('HEALTH_ERR');
    expect(check.summary.message).toMatch(/authentication as client\.admin to .*v2:127\.0\.0\.1:\d+ failed/);
    // no busy loop: the refusal is not retried for fatalRetryMs (30 s)
    const attempts = f.mon.status().wire.authFailures;
    await new Promise((r) => setTimeout(r, 3000));
    expect(f.mon.status().wire.authFailures).toBe(attempts);
    expect(f.mon.status().sessions).toBe(0);
    expect(f.feed.status().synced).toBe(false);
  });

  it('monitors nobody answers for: the check names the addresses and the last error; one log line per change', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await start({
        cephConf: conf('dead.conf', `[v2:127.0.0.1:${port},v1:127.0.0.1:${port + 1}]`),
        monGraceMs: 300,
        backoffMs: 50,
        maxBackoffMs: 200,
        logLevel: 'warn',
      });
      const check = await until('MGR_CEPH_MON_UNREACHABLE', async () => (await health()).checks.MGR_CEPH_MON_UNREACHABLE, 30000);
      expect(check.summary.message).toContain(`v2:127.0.0.1:${port}`);
      expect(check.detail.map((d: Json) => d.message).join('\n')).toMatch(/ECONNREFUSED/);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      spy.mockRestore();
    }
    const feedLines = lines.filter((l) => l.includes('"component":"ceph-feed"'));
    expect(feedLines.filter((l) => l.includes('health checks raised'))).toHaveLength(1);
  });

  it('a v1-only monitor address: a clear refusal, at start-up from the configuration and on the wire', async () => {
    const v1 = cluster.mons[0].v1;
    expect(() => cephSide({ cephConf: conf('v1.conf', `v1:${v1}`), keyring: cluster.keyringPath })).toThrow(
      /lists only msgr v1 \(legacy\) addresses .*mgrpc speaks msgr2 only/,
    );
    // the process exits 2 with the message
    const run = spawn(
      process.execPath,
      ['--import', 'tsx', 'ceph-feed/main.ts', '--ceph-conf', conf('v1b.conf', `[v1:${v1}]`), '--ceph-keyring', cluster.keyringPath],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    run.stderr!.on('data', (d) => (err += d));
    expect(await new Promise((r) => run.on('exit', r))).toBe(2);
    expect(err).toMatch(/^ceph-feed: .*lists only msgr v1/);
    // a "v2" address that is the monitor's v1 port: the monitor client sees the legacy banner
    await start({ cephConf: conf('v1c.conf', `v2:${v1}`) });
    const check = await until('MGR_CEPH_MON_REFUSED', async () => (await health()).checks.MGR_CEPH_MON_REFUSED, 30000);
    expect(check.summary.message).toMatch(/msgr v1/);
  });

  it('another cluster’s monitors (fsid): refused; cluster-state holding another cluster’s maps: MGR_CEPH_FSID_MISMATCH', async () => {
    await start({ cephConf: conf('other.conf', cluster.monHost, '00000000-1111-2222-3333-444444444444') });
    const refused = await until('MGR_CEPH_MON_REFUSED', async () => (await health()).checks.MGR_CEPH_MON_REFUSED, 30000);
    expect(refused.summary.message).toContain(`belongs to cluster ${cluster.fsid}, not 00000000-1111-2222-3333-444444444444`);
    for (const f of feeds.splice(0)) await f.stop();

    const real = await cluster.ceph(['osd', 'dump']);
    const other = { ...real, fsid: 'ffffffff-0000-0000-0000-000000000000', epoch: real.epoch + 1000 };
    await cs.client.putMap({ name: 'osd_map', epoch: other.epoch, json: Buffer.from(JSON.stringify(other)) });
    await start({});
    const mismatch = await until('MGR_CEPH_FSID_MISMATCH', async () => (await health()).checks.MGR_CEPH_FSID_MISMATCH, 30000);
    expect(mismatch.summary.message).toContain(`cluster-state holds the osd_map of cluster ffffffff-0000-0000-0000-000000000000 (epoch ${other.epoch})`);
    expect(mismatch.summary.message).toContain(`the monitors are of cluster ${cluster.fsid}`);
    // the other maps still follow the real cluster
    const fsMap = JSON.parse(Buffer.from((await cs.client.get({ what: 'fs_map' })).json).toString('utf8'));
    expect(fsMap.filesystems[0].mdsmap.fs_name).toBe('cephfs');
  });
});
