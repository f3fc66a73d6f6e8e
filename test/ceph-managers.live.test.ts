// mgrpc's managers in a real cluster's MgrMap: the project's shared loopback
// Pacific cluster (lib/testing/ceph-cluster.ts, no ceph-mgr running) and the
// local set-up's processes as `npm start --ceph-conf` runs them
// (cli/start.ts: cluster-state, ceph-feed, standby with the ceph backend,
// managers x and y, each a daemon-server beaconing as mgr.<name> and its
// module-host). The monitors decide who is active; the real `ceph` CLI and
// mgrctl both see it:
//   - `ceph -s` names x active and y standby (`ceph mgr stat`, `mgr dump`)
//   - `ceph mgr module ls` lists mgrpc's modules; the monitors hold the
//     command descriptions of the first beacon as active, so the CLI sends
//     `ceph hello` to the manager (the monitors' own commands stay theirs)
//   - the active's daemon-server hung (SIGSTOP: its ports still accept, so
//     the standby service cannot tell it gone), then killed: the monitors
//     promote y after their beacon grace (lowered here), mgrctl follows,
//     the cluster's daemons open their sessions with y and `ceph hello`
//     answers again (a crash alone is failed over at once by the standby
//     service: test/ceph-production.live.test.ts)
//   - `mgr fail` through mgrctl goes to the monitors
//   - a mgr.<name> key without mgr caps, or no key and no admin entity,
//     stops daemon-server with what to run instead
// The monitors' grace is lowered to 10 s for the test: it must exceed
// mon_tick_interval + mgr_tick_period (5 + 2 s), or MgrMonitor takes every
// tick for a stall of its own and resets the beacon timers instead.
import { keyringCredentials } from '../lib/auth/keys';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MgrctlResult, runCaptured } from '../cli/mgrctl';
import { MonClient } from '../lib/ceph/monclient';
import { keyFromKeyring } from '../lib/keyring';
import { createLogger } from '../lib/log';
import { StandbyClient } from '../lib/standby-client';
import { describeCeph, sharedCephCluster, type CephCluster } from '../lib/testing/ceph-cluster';
import { makeClient, openChannel } from '../lib/client';
import { ModuleHostServiceDefinition } from '../lib/gen/ceph/mgr/v1/module_host';
import { cephProcesses, ProcessSet, randomPortOffset, ROOT, until } from './launcher';

const OFFSET = randomPortOffset();
const port = (p: number) => p + OFFSET;
const GRACE_S = 10;
/** Ceph's MonCommand flag: the command goes to the active manager. */
const FLAG_MGR = 8;

function ctl(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<MgrctlResult> {
  return runCaptured(argv, env);
}

describeCeph(__filename)("mgrpc's managers x and y in a real cluster's MgrMap", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-ceph-managers-'));
  let cluster: CephCluster;
  let release: (() => Promise<void>) | undefined;
  let procs: ProcessSet;
  /** mon_mgr_beacon_grace in the monitors' configuration database before the test (undefined: not set there). */
  let graceBefore: string | undefined;
  const env: NodeJS.ProcessEnv = {
    MGR_STANDBY_ADDR: `127.0.0.1:${port(7200)}`,
    MGR_CLUSTER_STATE_ADDR: `127.0.0.1:${port(7100)}`,
    MGR_KEYRING: path.join(dataDir, 'keyring'),
  };
  const dump = async () =>
    cluster.ceph<{
      active_name: string;
      active_gid: number;
      available: boolean;
      standbys: Array<{ name: string; gid: number }>;
    }>(['mgr', 'dump']);
  /** Until the monitors name `active` available, with `standbys` standing by. */
  const mapIs = (active: string, standbys: string[], timeoutMs = 90_000) =>
    until(
      `the monitors to name mgr.${active} active with standbys [${standbys}]`,
      async () => {
        const d = await dump();
        return d.active_name === active && d.available && JSON.stringify(d.standbys.map((s) => s.name).sort()) === JSON.stringify(standbys) && d;
      },
      timeoutMs,
    ).catch(async (e) => {
      throw new Error(
        `${e.message}; last: ${JSON.stringify(await dump().catch(() => null))}\n${['x', 'y'].map((n) => `daemon-server-${n}:\n${procs.tail(`daemon-server-${n}`, 12)}`).join('\n')}`,
      );
    });

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    release = await cluster.holdManagers('test/ceph-managers.live.test.ts');
    const db = await cluster.ceph<Array<{ section: string; name: string; value: string }>>(['config', 'dump']);
    graceBefore = db.find((o) => o.section === 'mon' && o.name === 'mon_mgr_beacon_grace')?.value;
    await cluster.ceph(['config', 'set', 'mon', 'mon_mgr_beacon_grace', String(GRACE_S)]);
    const specs = cephProcesses(dataDir, OFFSET, cluster, ['x', 'y']);
    // mgrpc's own modules only: Ceph's Python ones are module-host's business, and slow to start on a busy machine.
    procs = new ProcessSet(specs, { MGR_PYTHON_MODULES: 'none' });
    await procs.startAll(180_000);
  }, 420_000);

  afterAll(async () => {
    await procs?.stopAll();
    // the cluster as we found it
    if (cluster)
      await cluster.run(graceBefore ? ['config', 'set', 'mon', 'mon_mgr_beacon_grace', graceBefore] : ['config', 'rm', 'mon', 'mon_mgr_beacon_grace']);
    await release?.();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('ceph -s names x active and y standby; the metadata carries the version Ceph tools parse and the gRPC addresses', async () => {
    await mapIs('x', ['y']);
    const s = await cluster.run(['-s']);
    expect(s.stdout).toMatch(/\n {4}mgr: x\(active, since [^)]+\), standbys: y\n/);
    expect(await cluster.ceph(['mgr', 'stat'])).toMatchObject({
      active_name: 'x',
      available: true,
      num_standby: 1,
    });
    const md = await cluster.ceph<Array<Record<string, string>>>(['mgr', 'metadata']);
    for (const [name, i] of [
      ['x', 0],
      ['y', 1],
    ] as const) {
      expect(md.find((m) => m.name === name)).toMatchObject({
        ceph_version: expect.stringMatching(/^ceph version 16\.2\.15 \(mgrpc-[\d.]+\) pacific \(stable\)$/),
        mgrpc_daemon_server_addr: `127.0.0.1:${port(7300 + i)}`,
        mgrpc_module_host_addr: `127.0.0.1:${port(7400 + i)}`,
      });
    }
    const versions = await cluster.ceph<{ mgr: Record<string, number> }>(['versions']);
    expect(Object.values(versions.mgr)).toEqual([2]);
    // mgrctl finds the active through the standby service's mirror of the monitors' map
    const stat = await ctl(env, 'mgr', 'stat', '--format', 'json');
    expect(JSON.parse(stat.stdout)).toMatchObject({
      active_name: 'x',
      available: true,
      num_standby: 1,
    });
  });

  it("ceph mgr module ls lists mgrpc's modules, with their options", async () => {
    const mh = makeClient(ModuleHostServiceDefinition, openChannel(`127.0.0.1:${port(7400)}`), {
      credentials: keyringCredentials(path.join(dataDir, 'keyring'), 'client.admin'),
    });
    const ours = (await mh.listModules({})).modules.map((m) => m.info!.name).sort();
    expect(ours).toEqual(expect.arrayContaining(['hello', 'prometheus', 'selftest', 'status']));
    const ls = await cluster.ceph<{
      always_on_modules: string[];
      enabled_modules: string[];
      disabled_modules: Array<{
        name: string;
        module_options: Record<string, { type: string }>;
      }>;
    }>(['mgr', 'module', 'ls']);
    const d = await cluster.ceph<{
      available_modules: Array<{ name: string }>;
    }>(['mgr', 'dump']);
    expect(d.available_modules.map((m) => m.name).sort()).toEqual(ours);
    const hello = ls.disabled_modules.find((m) => m.name === 'hello') ?? ls.enabled_modules.includes('hello');
    expect(hello).toBeTruthy();
    const prom = ls.disabled_modules.find((m) => m.name === 'prometheus');
    expect(prom?.module_options.server_port).toMatchObject({ type: 'int' });
  });

  it('the monitors hold the command descriptions of the first beacon as active: the CLI sends `ceph hello` to the manager, and the monitors keep their own', async () => {
    const log = createLogger({ test: 'ceph-managers' }, 'error');
    const mon = new MonClient({
      monitors: monitorsOf(cluster),
      entity: 'client.admin',
      key: keyFromKeyring(cluster.keyringPath, 'client.admin'),
      logger: log,
      subscribe: [],
    });
    try {
      await mon.start();
      const r = await mon.command({ prefix: 'get_command_descriptions' });
      const descs = Object.values<{
        sig: Array<string | { name: string }>;
        flags: number;
      }>(JSON.parse(r.data.toString('utf8')));
      const flagsOf = (words: string) =>
        descs
          .filter(
            (d) =>
              d.sig
                .filter((w) => typeof w === 'string')
                .join(' ')
                .trim() === words,
          )
          .map((d) => d.flags & FLAG_MGR);
      // ours: native (pg stat, osd perf) and modules' (hello, from module-host's command list)
      expect(flagsOf('pg stat')).toEqual([FLAG_MGR]);
      expect(flagsOf('osd perf')).toEqual([FLAG_MGR]);
      expect(flagsOf('hello')).toEqual([FLAG_MGR]);
      // the monitors' own, which mgrctl also answers: never advertised by the manager, so only the monitors' entry
      expect(flagsOf('mgr module ls')).toEqual([0]);
      expect(flagsOf('osd pool create')).toEqual([0]);
      expect(flagsOf('status')).toEqual([0]);
    } finally {
      mon.stop();
    }
    // enabling goes to the monitors (mgrctl → standby service → `mgr module enable`)
    const en = await ctl(env, 'mgr', 'module', 'enable', 'hello');
    expect(en.code).toBe(0);
    expect((await cluster.ceph<{ enabled_modules: string[] }>(['mgr', 'module', 'ls'])).enabled_modules).toContain('hello');
    const hello = await until(
      '`ceph hello` to answer',
      async () => {
        const h = await cluster.run(['hello'], { timeoutMs: 20_000 });
        return h.code === 0 && h;
      },
      60_000,
    );
    expect(`${hello.stdout}${hello.stderr}`.trim()).toBe('Hello World');
  });

  /** The open daemon sessions of a manager's msgr2 front door, from its metrics (index 0: x, 1: y). */
  const msgr2Sessions = async (i: number) => {
    const text = await (await fetch(`http://127.0.0.1:${port(9300 + i)}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('mgr_daemon_server_msgr2_sessions '));
    return line ? Number(line.split(' ')[1]) : 0;
  };

  it('the active manager’s daemon-server hung, then killed: the monitors promote y after their grace, mgrctl follows, the OSDs report to y and `ceph hello` answers', async () => {
    const before = await mapIs('x', ['y']);
    const stoppedAt = Date.now();
    procs.procs.get('daemon-server-x')!.kill('SIGSTOP');
    const after = await mapIs('y', [], 60_000);
    expect(after.active_gid).not.toBe(before.active_gid);
    // not before the grace: the monitors waited for x's beacons
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(GRACE_S * 1000 - 2000);
    await procs.kill('daemon-server-x', 'SIGKILL');
    const h = await ctl(env, 'hello', '--wait-ms', '60000');
    expect(h).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^Hello World\n?$/),
    });
    expect(JSON.parse((await ctl(env, 'mgr', 'stat', '--format', 'json')).stdout)).toMatchObject({ active_name: 'y' });
    // the cluster's daemons follow the monitors' map: every OSD, the MDS and the monitor open their sessions with y
    const daemons = cluster.daemons.filter((d) => d.startsWith('osd.')).length + 2;
    await until('the OSDs, the MDS and the monitor in session with y', async () => (await msgr2Sessions(1)) >= daemons, 90_000);
    // and the real CLI reaches y
    const hello = await until(
      '`ceph hello` to answer from y',
      async () => {
        const r = await cluster.run(['hello'], { timeoutMs: 20_000 });
        return r.code === 0 && r.stdout.trim() === 'Hello World' && r;
      },
      60_000,
    );
    expect(hello.stdout.trim()).toBe('Hello World');
    // x comes back as a standby (a new monitor session: a new gid)
    procs.start('daemon-server-x');
    const back = await mapIs('y', ['x']);
    expect(back.standbys[0].gid).not.toBe(before.active_gid);
  }, 180_000);

  it('mgr fail through mgrctl goes to the monitors: x is active again, y stands by', async () => {
    const f = await ctl(env, 'mgr', 'fail', 'y');
    expect(f.code).toBe(0);
    await mapIs('x', ['y']);
    expect((await ctl(env, 'hello', '--wait-ms', '60000')).stdout).toMatch(/^Hello World\n?$/);
    // an unknown manager: the monitors' answer
    const unknown = await ctl(env, 'mgr', 'fail', 'nosuch');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("Daemon not found 'nosuch', already failed?");
    // the standby service refuses beacons: the monitors decide (asked as a standby replica, which may pass beacons on)
    const sb = new StandbyClient(`127.0.0.1:${port(7200)}`, undefined, keyringCredentials(path.join(dataDir, 'keyring'), 'client.mgrpc-standby'));
    try {
      await expect(
        sb.call((c, call) =>
          c.beacon(
            {
              name: 'z',
              gid: 1,
              addrs: { daemonServer: '127.0.0.1:1', moduleHost: '' },
              available: true,
              availableModules: [],
              services: {},
              metadata: {},
            },
            call,
          ),
        ),
      ).rejects.toThrow(/the monitors decide who is active/);
    } finally {
      sb.close();
    }
  }, 120_000);

  /** Runs daemon-server's main.ts as mgr.<name> with the Ceph settings given; resolves with its exit code and stderr. */
  const daemonServerExit = (name: string, cephEnv: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'services/daemon-server/main.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          MGR_NAME: name,
          MGR_PORT: '0',
          MGR_METRICS_PORT: '-1',
          MGR_CLUSTER_STATE_ADDR: `127.0.0.1:${port(7100)}`,
          MGR_DATA_DIR: path.join(dataDir, `refused-${name}`),
          MGR_CEPH_CONF: cluster.confPath,
          MGR_CEPH_CONNECT_TIMEOUT_S: '60',
          ...cephEnv,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (b) => (stderr += b));
      const t = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve({ code, stderr });
      });
    });

  it('a mgr.<name> key without mgr caps is refused at start, saying what to run', async () => {
    const keyring = path.join(dataDir, 'nocaps.keyring');
    const made = await cluster.run(['auth', 'get-or-create', 'mgr.nocaps', 'mon', 'allow r', '-o', keyring]);
    expect(made.code).toBe(0);
    try {
      const r = await daemonServerExit('nocaps', {
        MGR_CEPH_KEYRING: keyring,
        MGR_CEPH_NAME: 'mgr.nocaps',
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        "mgr.nocaps may not read its own caps (auth get: access denied): its mon caps do not let it act as a manager, and the monitors would ignore its beacons. Fix it with: ceph auth caps mgr.nocaps mon 'allow profile mgr' osd 'allow *' mds 'allow *'",
      );
      expect((await dump()).standbys.map((s) => s.name)).not.toContain('nocaps');
    } finally {
      await cluster.run(['auth', 'rm', 'mgr.nocaps']);
    }
  }, 120_000);

  it('no key for mgr.<name> and no entity that may make one: refused at start, naming both ways out', async () => {
    const keyring = path.join(dataDir, 'reader.keyring');
    expect((await cluster.run(['auth', 'get-or-create', 'client.mgrpc-reader', 'mon', 'allow r', '-o', keyring])).code).toBe(0);
    try {
      // an entity that may read but not create keys
      const r = await daemonServerExit('nokey', {
        MGR_CEPH_KEYRING: keyring,
        MGR_CEPH_NAME: 'client.mgrpc-reader',
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('client.mgrpc-reader could not make a key for mgr.nokey (auth get-or-create: access denied)');
      expect(r.stderr).toContain(
        "a keyring holding [mgr.nokey] made with: ceph auth get-or-create mgr.nokey mon 'allow profile mgr' osd 'allow *' mds 'allow *'",
      );
      // a keyring with neither: said before any monitor is asked
      const empty = path.join(dataDir, 'other.keyring');
      fs.writeFileSync(empty, `[client.other]\n\tkey = ${keyFromKeyring(keyring, 'client.mgrpc-reader')}\n`);
      const r2 = await daemonServerExit('nokey', {
        MGR_CEPH_KEYRING: empty,
        MGR_CEPH_NAME: 'client.admin',
      });
      expect(r2.code).toBe(2);
      expect(r2.stderr).toContain('manager nokey needs a key for mgr.nokey');
    } finally {
      await cluster.run(['auth', 'rm', 'client.mgrpc-reader']);
    }
  }, 120_000);
});

function monitorsOf(cluster: CephCluster) {
  return cluster.mons.map((m) => {
    const i = m.v2.lastIndexOf(':');
    return { host: m.v2.slice(0, i), port: Number(m.v2.slice(i + 1)) };
  });
}
