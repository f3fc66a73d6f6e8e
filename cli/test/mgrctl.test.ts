// mgrctl: word mapping (unit) and the real CLI spawned against a real stack.
import * as os from 'os';
import * as fs from 'fs';
import { execFile } from 'child_process';
import * as path from 'path';
import { mapWords, UsageError } from '../args';
import { startStack } from '../../services/daemon-server/test/helpers';

const ROOT = path.resolve(__dirname, '../..');

function mgrctl(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'bin/mgrctl'), args, { env: { ...process.env, ...env }, timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('mapWords', () => {
  const descs = [
    { cmd: 'pg ls name=pool,type=CephInt,req=false name=states,type=CephChoices,strings=active|clean,n=N,req=false' },
    { cmd: 'pg stat' },
    { cmd: 'osd ok-to-stop name=ids,type=CephString,n=N name=max,type=CephInt,req=false' },
    { cmd: 'config set name=key,type=CephString name=value,type=CephString' },
  ];
  it('matches the longest prefix and fills arguments in order', () => {
    expect(mapWords(['pg', 'stat'], descs)).toEqual({ prefix: 'pg stat', args: {} });
    expect(mapWords(['pg', 'ls', '2', 'active', 'clean'], descs)).toEqual({ prefix: 'pg ls', args: { pool: '2', states: ['active', 'clean'] } });
    expect(mapWords(['osd', 'ok-to-stop', '1', '2'], descs)).toEqual({ prefix: 'osd ok-to-stop', args: { ids: ['1', '2'] } });
    expect(mapWords(['config', 'set', 'mgr_stats_period', '3'], descs)).toEqual({ prefix: 'config set', args: { key: 'mgr_stats_period', value: '3' } });
  });
  it("takes a CephBool argument as a --flag, as Ceph's CLI does, and picks the signature the words fit", () => {
    const more = [
      ...descs,
      {
        cmd: 'osd pool delete name=pool,type=CephPoolname name=pool2,type=CephPoolname,req=false name=yes_i_really_really_mean_it,type=CephBool,req=false',
      },
      { cmd: 'config set name=who,type=CephString name=name,type=CephString name=value,type=CephString name=force,type=CephBool,req=false' },
    ];
    expect(mapWords(['osd', 'pool', 'delete', 'foo', 'foo', '--yes-i-really-really-mean-it'], more)).toEqual({
      prefix: 'osd pool delete',
      args: { pool: 'foo', pool2: 'foo', yes_i_really_really_mean_it: true },
    });
    expect(mapWords(['osd', 'pool', 'delete', 'foo'], more)).toEqual({ prefix: 'osd pool delete', args: { pool: 'foo' } });
    expect(mapWords(['config', 'set', 'mgr', 'mgr_stats_period', '3'], more)).toEqual({
      prefix: 'config set',
      args: { who: 'mgr', name: 'mgr_stats_period', value: '3' },
    });
    expect(mapWords(['config', 'set', 'mgr_stats_period', '3'], more).args).toEqual({ key: 'mgr_stats_period', value: '3' });
    // An unknown flag stays a word (the server's validation names it).
    expect(mapWords(['osd', 'pool', 'delete', 'foo', 'foo', '--no-such-flag'], more).args.yes_i_really_really_mean_it).toBe('--no-such-flag');
  });
  it('says what is wrong', () => {
    expect(() => mapWords(['pg', 'nope'], descs)).toThrow(/no valid command found for 'pg nope'; did you mean one of: pg ls, pg stat/);
    expect(() => mapWords(['pg', 'stat', 'extra'], descs)).toThrow(UsageError);
  });
});

describe('mgrctl end to end', () => {
  let t: Awaited<ReturnType<typeof startStack>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await startStack();
    env = { MGR_ADDR: t.ds.address, MGR_KEYRING: t.keyringPath, MGR_CLUSTER_STATE_ADDR: t.cs.address, MGR_KEY: '', MGRCTL_CACHE_DIR: 'off' };
  });
  afterAll(() => t.close());

  it('sends -i FILE as the input buffer (a too-large one is refused by the server), and says so when FILE is missing', async () => {
    const big = path.join(os.tmpdir(), `mgrctl-inbuf-${process.pid}`);
    fs.writeFileSync(big, Buffer.alloc(5 * 1024 * 1024, 0x61));
    try {
      const r = await mgrctl(['-i', big, 'osd', 'perf'], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`inbuf is ${5 * 1024 * 1024} bytes`);
    } finally {
      fs.rmSync(big, { force: true });
    }
    const missing = await mgrctl(['-i', '/nonexistent/inbuf', 'osd', 'perf'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read -i /nonexistent/inbuf');
  });

  it('asks for the command descriptions only when the command is not in its cache', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrctl-cache-'));
    const asked = async () => {
      const text = await (await fetch(`http://127.0.0.1:${t.ds.service.metricsPort}/metrics`)).text();
      const m = text.match(/mgr_grpc_server_handled_total\{method="\/ceph.mgr.v1.DaemonServerService\/GetCommandDescriptions",code="OK"\} (\d+)/);
      return m ? Number(m[1]) : 0;
    };
    try {
      const e = { ...env, MGRCTL_CACHE_DIR: cache };
      const before = await asked();
      expect((await mgrctl(['osd', 'perf'], e)).code).toBe(0); // nothing cached yet: asks, and fills the cache
      expect(await asked()).toBe(before + 1);
      expect(fs.readdirSync(cache)).toHaveLength(1);
      expect((await mgrctl(['osd', 'perf'], e)).code).toBe(0); // cached: no question
      expect(await asked()).toBe(before + 1);
      expect((await mgrctl(['help'], e)).code).toBe(0); // help always lists the server's commands
      expect(await asked()).toBe(before + 2);
      // a stale cache entry is caught by the server and mapped again
      const file = path.join(cache, fs.readdirSync(cache)[0]);
      fs.writeFileSync(file, JSON.stringify([{ cmd: 'pg stat name=bogus,type=CephInt', desc: '', perm: 'r', module: 'x', poll: false }]));
      const r = await mgrctl(['pg', 'stat', '--format', 'json'], e);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toHaveProperty('pg_summary');
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it('runs a native command with --format json and exits 0', async () => {
    const r = await mgrctl(['osd', 'perf', '--format', 'json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('osdstats.osd_perf_infos');
  });

  it("tell mgr reaches the same command; a bad argument exits 22 with Ceph's message", async () => {
    const ok = await mgrctl(['tell', 'mgr', 'config', 'show', '--format=json'], env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).mgr_stats_period.value).toBe('5');
    const bad = await mgrctl(['pg', 'ls', 'notapool'], env);
    expect(bad.code).toBe(22);
    expect(bad.stderr).toMatch(/Error EINVAL: Invalid command: pool: notapool doesn't represent an int/);
  });

  it('get prints cluster-state JSON; status prints the summary', async () => {
    const g = await mgrctl(['get', 'osd_map'], env);
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout).osds).toHaveLength(3);
    const s = await mgrctl(['status'], env);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/health: HEALTH_/);
  });

  it('exits non-zero with one clear line when denied, unauthenticated or unreachable', async () => {
    const denied = await mgrctl(['--name', 'client.ro', 'config', 'set', 'mgr_stats_period', '1'], env);
    expect(denied.code).toBe(13);
    expect(denied.stderr).toMatch(/^Error EACCES: access denied/);
    const wrong = await mgrctl(['pg', 'stat'], { ...env, MGR_KEY: 'bogus' });
    expect(wrong.code).toBe(13);
    expect(wrong.stderr).toMatch(/authentication failed/);
    const down = await mgrctl(['pg', 'stat'], { ...env, MGR_ADDR: '127.0.0.1:1' });
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/^cannot reach daemon-server at 127\.0\.0\.1:1: is it running\? \(npm start\)/);
    expect(down.stderr).not.toMatch(/\n\s+at /);
  });
});
