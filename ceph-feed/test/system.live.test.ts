// mgrpc as the README runs it against a real cluster: `npm start --
// --ceph-conf FILE --ceph-keyring FILE --ceph-name client.admin` on the
// run's shared Pacific cluster, then `bin/mgrctl get osd_map`, `buf curl`
// GetOsdMap/GetFsMap and `bin/mgrctl status` show the real cluster and
// follow its changes; Ctrl-C stops everything.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeCeph, sharedCephCluster, type CephCluster } from '../../lib/testing/ceph-cluster';
import { randomPortOffset, ROOT, startLauncher, stopLauncher, until, type Launcher } from '../../test/launcher';

type Json = any;

describeCeph('system.live.test.ts')('npm start against a real Pacific cluster', () => {
  jest.setTimeout(300000);
  const OFFSET = randomPortOffset();
  const port = (p: number) => p + OFFSET;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-ceph-system-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MGR_STANDBY_ADDR: `127.0.0.1:${port(7200)}`,
    MGR_CLUSTER_STATE_ADDR: `127.0.0.1:${port(7100)}`,
    MGR_KEYRING: path.join(dataDir, 'keyring'),
  };
  delete env.MGR_ADDR;
  const mgrctl = (...args: string[]) => spawnSync(path.join(ROOT, 'bin/mgrctl'), args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60000 });
  // as the README shows: client.ro's one-call proof from `mgrctl proof`, never the key
  const bufCurl = (method: string) => {
    const addr = `127.0.0.1:${port(7100)}`;
    const proof = mgrctl('--name', 'client.ro', 'proof', addr, `/ceph.mgr.v1.ClusterStateService/${method}`).stdout.trim();
    return spawnSync(
      path.join(ROOT, 'node_modules/.bin/buf'),
      [
        'curl',
        '--protocol',
        'grpc',
        '--http2-prior-knowledge',
        '-H',
        'x-mgr-entity: client.ro',
        '-H',
        `x-mgr-proof: ${proof}`,
        `http://${addr}/ceph.mgr.v1.ClusterStateService/${method}`,
        '-d',
        '{}',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 60000 },
    );
  };
  let cluster: CephCluster;
  let launcher: Launcher | undefined;
  let release: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    // npm start makes x and y the cluster's managers: the manager role of the shared cluster is one test file's at a time
    release = await cluster.holdManagers('ceph-feed/test/system.live.test.ts');
    launcher = startLauncher(dataDir, OFFSET, ['--ceph-conf', cluster.confPath, '--ceph-keyring', cluster.keyringPath, '--ceph-name', 'client.admin']);
    await launcher.ready;
  });
  afterAll(async () => {
    await stopLauncher(launcher);
    await release?.();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs ceph-feed instead of the simulator, with the cluster’s maps in a cluster-state folder of their own', () => {
    const out = launcher!.lines.join('\n');
    expect(out).toContain(
      `the managers of the Ceph cluster of ${cluster.confPath} (fsid ${cluster.fsid}), as mgr.x and mgr.y, instead of the simulator; client.admin follows its maps`,
    );
    expect(out).toMatch(/ceph-feed serving on/);
    expect(out).not.toMatch(/\bsim (started|serving)/);
    expect(fs.existsSync(path.join(dataDir, `cluster-state-ceph-${cluster.fsid}`))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'logs', 'sim.log'))).toBe(false);
  });

  it('bin/mgrctl get osd_map is `ceph osd dump` (epoch and key paths), and follows `ceph osd out 1`', async () => {
    const agree = () =>
      until('mgrctl get osd_map at the cluster’s epoch', async () => {
        const r = mgrctl('get', 'osd_map');
        const real = await cluster.ceph(['osd', 'dump']);
        const ours = r.status === 0 && JSON.parse(r.stdout);
        return ours && ours.epoch === real.epoch && { ours, real };
      });
    const { ours, real } = await agree();
    expect(Object.keys(ours).sort()).toEqual(Object.keys(real).sort());
    expect(ours.fsid).toBe(cluster.fsid);
    // other test files change the shared cluster too: what is waited for is the epoch, which only grows
    for (const change of [
      ['osd', 'out', '1'],
      ['osd', 'in', '1'],
    ]) {
      await cluster.ceph(change);
      const epoch = (await cluster.ceph(['osd', 'dump'])).epoch;
      await until(
        `mgrctl get osd_map at epoch ${epoch} after \`ceph ${change.join(' ')}\``,
        () => JSON.parse(mgrctl('get', 'osd_map').stdout || '{}').epoch >= epoch,
      );
    }
    await agree();
  });

  it('buf curl GetOsdMap and GetFsMap return the real maps', async () => {
    const osd = bufCurl('GetOsdMap');
    expect(osd.status).toBe(0);
    const osdMap = JSON.parse(osd.stdout).osdMap;
    expect(osdMap.fsid).toBe(cluster.fsid);
    expect(osdMap.osds.map((o: Json) => o.osd ?? 0)).toEqual([0, 1, 2]);
    const fsRes = bufCurl('GetFsMap');
    expect(fsRes.status).toBe(0);
    expect(JSON.parse(fsRes.stdout).fsMap.filesystems[0].name).toBe('cephfs');
  });

  it('bin/mgrctl status summarises the real cluster', async () => {
    const real = await cluster.ceph(['status']);
    const s = await until('mgrctl status of the real cluster', () => {
      const r = mgrctl('status', '--format', 'json');
      const j = r.status === 0 && JSON.parse(r.stdout);
      return j && j.quorum_names?.length && j;
    });
    expect(s.fsid).toBe(cluster.fsid);
    expect(s.quorum_names).toEqual(real.quorum_names);
    expect(s.monmap.num_mons).toBe(cluster.mons.length);
    expect(s.osdmap).toMatchObject({ num_osds: 3, num_up_osds: 3, num_in_osds: 3 });
    expect(s.pgmap.num_pools).toBe(real.pgmap.num_pools || 3);
    expect(s.pgmap.num_pgs).toBe(24); // 3 pools of 8 PGs, unknown: the OSDs report to no manager yet
    expect(Object.keys(s.health.checks)).toEqual(expect.arrayContaining(Object.keys(real.health.checks)));
    const plain = mgrctl('status').stdout;
    expect(plain).toContain(`id:     ${cluster.fsid}`);
    expect(plain).toContain(`mon: ${cluster.mons.length} daemons, quorum ${real.quorum_names.join(',')}`);
    expect(plain).toMatch(/osd: 3 osds: 3 up \(since [^)]+\), 3 in/);
    expect(plain).toMatch(/pools: +3 pools/);
  });

  it('Ctrl-C stops everything', async () => {
    const pids: Record<string, number> = JSON.parse(fs.readFileSync(path.join(dataDir, 'pids.json'), 'utf8'));
    expect(Object.keys(pids)).toContain('ceph-feed');
    await stopLauncher(launcher);
    for (const pid of Object.values(pids)) expect(() => process.kill(pid, 0)).toThrow();
  });
});
