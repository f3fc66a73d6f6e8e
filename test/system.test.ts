// The whole system the way a user runs it: `npm start` (cli/start.ts) with
// its processes on loopback, then what the README promises: mgrctl status,
// pg stat, get fs_map, hello, a read-only key refused a write, the README's
// buf curl examples, one active and one standby manager, failover when the
// active's processes are killed, Ctrl-C stopping everything, and a second
// start reusing the data folder.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Launcher, randomPortOffset, ROOT, startLauncher as launch, until } from './launcher';

const OFFSET = randomPortOffset();
const port = (p: number) => p + OFFSET;
const startLauncher = (dataDir: string) => launch(dataDir, OFFSET);

describe('the system as npm start runs it', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-system-'));
  const env = {
    ...process.env,
    MGR_STANDBY_ADDR: `127.0.0.1:${port(7200)}`,
    MGR_CLUSTER_STATE_ADDR: `127.0.0.1:${port(7100)}`,
    MGR_KEYRING: path.join(dataDir, 'keyring'),
  };
  delete (env as Record<string, unknown>).MGR_ADDR;
  const mgrctl = (...args: string[]) => spawnSync(path.join(ROOT, 'bin/mgrctl'), args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60000 });
  let launcher: Launcher;

  afterAll(async () => {
    if (launcher && launcher.proc.exitCode === null) {
      launcher.proc.kill('SIGINT');
      await new Promise((r) => launcher.proc.once('exit', r));
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts and prints one ready line', async () => {
    launcher = startLauncher(dataDir);
    await launcher.ready;
    expect(launcher.lines.filter((l) => l.includes('ready:'))).toHaveLength(1);
  }, 180000);

  it('mgrctl status and pg stat show the simulated cluster', async () => {
    const status = await until('status with 12 OSDs', () => {
      const r = mgrctl('status');
      return r.status === 0 && /osd: 12 osds: 12 up/.test(r.stdout) && r.stdout;
    });
    expect(status).toMatch(/health: HEALTH_(OK|WARN)/);
    expect(status).toMatch(/mon: 1 daemons, quorum a/);
    const pg = await until('pg stat', () => {
      const r = mgrctl('pg', 'stat');
      return r.status === 0 && /\d+ pgs: /.test(r.stdout) && r.stdout;
    });
    expect(pg).toMatch(/active\+clean/);
  }, 60000);

  it('mgrctl get fs_map prints a Ceph-shaped fs map', () => {
    const r = mgrctl('get', 'fs_map');
    expect(r.status).toBe(0);
    const fsMap = JSON.parse(r.stdout);
    expect(fsMap).toEqual(expect.objectContaining({ epoch: expect.any(Number), filesystems: expect.any(Array), standbys: expect.any(Array) }));
    expect(fsMap.filesystems[0].mdsmap.fs_name).toBe('cephfs');
  });

  it('mgrctl hello answers Hello World', async () => {
    const out = await until('hello', () => {
      const r = mgrctl('hello');
      return r.status === 0 && r.stdout + r.stderr;
    });
    expect(out).toContain('Hello World');
    // A module's sendCommand reaches the active daemon-server's native commands.
    const selftest = mgrctl('mgr', 'self-test', 'run');
    expect(selftest.status).toBe(0);
    expect(JSON.parse(selftest.stdout)['sendCommand(pg stat)']).toBe('answered');
    // On one host each daemon-server sends its module commands over its module-host's command socket.
    for (const name of ['x', 'y']) expect(fs.statSync(path.join(dataDir, `module-host-${name}`, 'commands.sock')).mode & 0o777).toBe(0o600);
  }, 60000);

  it('refuses a write command to the read-only key', () => {
    const r = mgrctl('--name', 'client.ro', 'config', 'set', 'mgr_stats_period', '5');
    expect(r.status).toBe(13);
    expect(r.stderr).toContain('access denied');
  });

  it("runs the README's buf curl examples", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Calling it with grpcurl-style clients'), readme.indexOf('## Commands, return codes'));
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      const script = block
        .replace(/127\.0\.0\.1:(\d{4})\b/g, (_m, p) => `127.0.0.1:${port(Number(p))}`)
        .replace(/data\/keyring/g, path.join(dataDir, 'keyring'));
      // stdin from /dev/null: with a socket there (libuv's pipes are
      // socketpairs) Debian's bash thinks sshd started it and reads bashrc.
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] });
      expect({ script: block, status: r.status, stderr: r.stderr }).toEqual({ script: block, status: 0, stderr: '' });
      if (block.includes('--list-services')) expect(r.stdout).toContain('ceph.mgr.v1.ClusterStateService');
      if (block.includes('"what":"osd_map"')) expect(r.stdout).toContain('"json"');
      if (block.includes('"prefix":"hello"')) expect(r.stdout).toContain(Buffer.from('Hello World').toString()); // retcode 0 omitted by proto3 JSON
    }
  }, 90000);

  let before: { active: string; epoch: number; osdEpoch: number };

  it('mgr dump shows one active and one standby', async () => {
    const dump = await until('an active with a standby', () => {
      const r = mgrctl('mgr', 'dump', '--format', 'json');
      const d = r.status === 0 && JSON.parse(r.stdout);
      return d && d.active_name && d.available && d.standbys.length === 1 && d;
    });
    expect(['x', 'y']).toContain(dump.active_name);
    expect(dump.standbys[0].name).toBe(dump.active_name === 'x' ? 'y' : 'x');
    before = { active: dump.active_name, epoch: dump.epoch, osdEpoch: JSON.parse(mgrctl('get', 'osd_map').stdout).epoch };
  }, 60000);

  it("fails over when the active's processes are killed, and hello works again at the same address", async () => {
    const pids = JSON.parse(fs.readFileSync(path.join(dataDir, 'pids.json'), 'utf8'));
    process.kill(pids[`daemon-server-${before.active}`], 'SIGKILL');
    process.kill(pids[`module-host-${before.active}`], 'SIGKILL');
    const dump = await until('a new active', () => {
      const r = mgrctl('mgr', 'dump', '--format', 'json');
      const d = r.status === 0 && JSON.parse(r.stdout);
      return d && d.active_name && d.active_name !== before.active && d.available && d;
    });
    expect(dump.epoch).toBeGreaterThan(before.epoch);
    const out = await until('hello on the new active', () => {
      const r = mgrctl('hello');
      return r.status === 0 && r.stdout + r.stderr;
    });
    expect(out).toContain('Hello World');
  }, 60000);

  it('stops cleanly on Ctrl-C, and a second start reuses the data folder', async () => {
    launcher.proc.kill('SIGINT');
    const code = await new Promise((r) => launcher.proc.once('exit', r));
    expect(code).toBe(0);
    launcher = startLauncher(dataDir);
    await launcher.ready;
    const osdEpoch = await until('the osd map again', () => {
      const r = mgrctl('get', 'osd_map');
      return r.status === 0 && JSON.parse(r.stdout).epoch;
    });
    expect(osdEpoch).toBeGreaterThanOrEqual(before.osdEpoch);
    const dump = await until('an active manager', () => {
      const r = mgrctl('mgr', 'dump', '--format', 'json');
      const d = r.status === 0 && JSON.parse(r.stdout);
      return d && d.active_name && d;
    });
    expect(dump.epoch).toBeGreaterThan(before.epoch);
  }, 240000);
});
