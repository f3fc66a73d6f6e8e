// The test-cluster launcher itself, on real Ceph daemons: a private cluster
// comes up, answers, gets an OSD back after a restart and leaves no process
// when stopped; a cluster whose owner was killed is reaped by pid; two
// processes of one jest run share one cluster.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { monitorsFromConf, readCephConf } from '../ceph/conf';
import { CephCluster, describeCeph, reapOrphanClusters, RUN_DIR_ENV, sharedCephCluster, startCephCluster } from '../testing/ceph-cluster';

const ROOT = path.resolve(__dirname, '../..');
const LAUNCHER = path.join(ROOT, 'lib/testing/ceph-cluster.ts');

/** Processes whose command line names `dir` (the cluster's daemons). */
function processesIn(dir: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z' && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Runs a script in a child node process with tsx; resolves with its first stdout line. */
function child(script: string, env: NodeJS.ProcessEnv = process.env): { firstLine: Promise<string>; pid: number; done: Promise<number | null> } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ceph-cluster-test-')), 'child.ts');
  fs.writeFileSync(file, script);
  const c = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stderr!.on('data', (d) => (err += d));
  const firstLine = new Promise<string>((resolve, reject) => {
    c.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    c.once('exit', (code) => reject(new Error(`child exited ${code} before printing: ${err.slice(-2000)}`)));
  });
  const done = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
  done.finally(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  return { firstLine, pid: c.pid!, done };
}

describeCeph('ceph-cluster.test.ts')('the test Ceph cluster launcher', () => {
  jest.setTimeout(300000);

  it('starts a cluster that answers, brings a restarted OSD back, and stops leaving no process', async () => {
    const c: CephCluster = await startCephCluster({ msMode: 'crc' });
    let stopped = false;
    try {
      expect(c.daemons).toEqual(['mon.a', 'osd.0', 'osd.1', 'osd.2', 'mds.a']);
      expect(c.monHost).toMatch(/^\[v2:127\.0\.0\.1:\d+,v1:127\.0\.0\.1:\d+\]$/);
      expect(monitorsFromConf(readCephConf(c.confPath))).toEqual([{ host: '127.0.0.1', port: Number(c.mons[0].v2.split(':')[1]) }]);
      const port = Number(c.mons[0].v2.split(':')[1]);
      expect(port < 40200 || port > 40299).toBe(true);
      const status = await c.ceph(['status']);
      expect(status.fsid).toBe(c.fsid);
      expect(status.quorum_names).toEqual(['a']);
      expect(status.osdmap).toMatchObject({ num_osds: 3, num_up_osds: 3, num_in_osds: 3 });
      expect(status.fsmap.by_rank[0].status).toBe('up:active');
      const pools = (await c.ceph<Array<{ pool_name: string }>>(['osd', 'pool', 'ls', 'detail'])).map((p) => p.pool_name);
      expect(pools).toEqual(['cephfs_metadata', 'cephfs_data', 'mgrpc']);
      // cephx with global_id reclaim refused, and the asked-for modes
      const get = async (key: string) => (await c.daemonCommand('mon.a', ['config', 'get', key]))[key];
      expect(await get('auth_allow_insecure_global_id_reclaim')).toBe('false');
      expect(await get('auth_service_required')).toBe('cephx');
      expect(await get('ms_mon_service_mode')).toBe('crc');

      const before = c.pid('osd.1')!;
      await c.stopDaemon('osd.1');
      expect(c.pid('osd.1')).toBeUndefined();
      await c.startDaemon('osd.1');
      expect(c.pid('osd.1')).not.toBe(before);
      const osd1 = (await c.ceph(['osd', 'dump'])).osds.find((o: { osd: number }) => o.osd === 1);
      expect(osd1).toMatchObject({ up: 1, in: 1 });
      await expect(c.startDaemon('osd.1')).rejects.toThrow(/already running/);
      await expect(c.stopDaemon('osd.7')).rejects.toThrow(/no daemon 'osd.7'/);
      const bad = await c.run(['osd', 'pool', 'get', 'nosuchpool', 'size']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/unrecognized pool 'nosuchpool'/);
      await expect(c.ceph(['osd', 'pool', 'get', 'nosuchpool', 'size'])).rejects.toThrow(/exited 2: Error ENOENT: unrecognized pool/);

      expect(processesIn(c.dir).length).toBe(5);
      await c.stop();
      stopped = true;
      expect(processesIn(c.dir)).toEqual([]);
      expect(fs.existsSync(c.dir)).toBe(false);
    } finally {
      if (!stopped) await c.stop();
    }
  });

  it('reaps, by pid, the cluster of a process that was killed without stopping it', async () => {
    const env = { ...process.env };
    delete env[RUN_DIR_ENV];
    const ch = child(
      `import { startCephCluster } from ${JSON.stringify(LAUNCHER)};\n` +
        `startCephCluster({ osds: 1, mds: false }).then((c) => { process.stdout.write(c.dir + '\\n'); setInterval(() => undefined, 1000); });\n`,
      env,
    );
    const dir = await ch.firstLine;
    expect(processesIn(dir).length).toBe(2);
    process.kill(ch.pid, 'SIGKILL');
    await ch.done;
    expect(processesIn(dir).length).toBe(2); // the daemons outlive their owner...
    // folders of others that share the prefix are left alone
    const foreign = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-ceph-'));
    const foreignLonger = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-ceph-modules-'));
    const reaped = await reapOrphanClusters();
    expect(reaped).toContain(dir); // ...until the next start reaps them
    expect(fs.existsSync(foreign) && fs.existsSync(foreignLonger)).toBe(true);
    fs.rmSync(foreign, { recursive: true });
    fs.rmSync(foreignLonger, { recursive: true });
    expect(processesIn(dir)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('shares one cluster between the processes of a run', async () => {
    const here = await sharedCephCluster();
    expect(here.shared).toBe(true);
    expect(await sharedCephCluster()).toBe(here);
    const ch = child(
      `import { sharedCephCluster } from ${JSON.stringify(LAUNCHER)};\n` +
        `sharedCephCluster().then(async (c) => { const s = await c.ceph(['status']); process.stdout.write(c.dir + ' ' + s.fsid + '\\n'); });\n`,
    );
    expect(await ch.firstLine).toBe(`${here.dir} ${here.fsid}`);
    expect(await ch.done).toBe(0);
    const daemonPids = here.daemons.map((d) => here.pid(d));
    await here.stop(); // a no-op: the global teardown stops it
    // every daemon still runs, by pid (other test files run `ceph` and
    // managers against this cluster too, so a count of processes would race)
    const running = processesIn(here.dir);
    for (const pid of daemonPids) expect(running).toContain(pid);
  });
});
