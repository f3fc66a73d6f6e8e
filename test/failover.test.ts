// Active/standby failover end to end, with every service a real process on
// loopback (the local set-up's process list, started one by one so single
// services can be killed): election between two manager instances, kill -9
// of the active under report and command load, the killed instance coming
// back as a standby, `mgr fail`, and SIGTERM's graceful hand-over. Clients
// (the simulator's daemons, mgrctl) follow the MgrMap by themselves; no
// command is lost, reports flow again after the failover, and the counter
// history recorded before it is still there (it lives in cluster-state).
// Failover times are printed by `npm run bench -- failover`, not asserted.
import { keyringCredentials } from '../lib/auth/keys';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { localProcesses } from '../cli/start';
import { MgrctlResult, runCaptured } from '../cli/mgrctl';
import { makeClient, openChannel } from '../lib/client';
import { ClusterStateServiceDefinition, DaemonQueryKind } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { StandbyClient } from '../lib/standby-client';
import { startEtcd, TestEtcd } from '../lib/testing/etcd';
import { ProcessSet, randomPortOffset, until } from './launcher';

const OFFSET = randomPortOffset();
const port = (p: number) => p + OFFSET;

function ctl(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<MgrctlResult> {
  return runCaptured(argv, env);
}

describe('failover between two manager instances (embedded standby)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-failover-'));
  const specs = localProcesses({ dataDir, host: '127.0.0.1', osds: 6, sim: true, backend: 'embedded', etcd: '', portOffset: OFFSET });
  // Reports every second instead of Ceph's 5 s, so the test sees them flow quickly.
  // Without Ceph's Python modules (twenty Python processes for two managers): these tests are about the hand-over.
  const procs = new ProcessSet(specs, { MGR_STATS_PERIOD: '1', MGR_BEACON_GRACE_MS: '3000', MGR_PYTHON_MODULES: 'none' });
  const env: NodeJS.ProcessEnv = {
    MGR_STANDBY_ADDR: `127.0.0.1:${port(7200)}`,
    MGR_CLUSTER_STATE_ADDR: `127.0.0.1:${port(7100)}`,
    MGR_KEYRING: path.join(dataDir, 'keyring'),
  };
  const csChannel = openChannel(`127.0.0.1:${port(7100)}`);
  const admin = () => keyringCredentials(path.join(dataDir, 'keyring'), 'client.admin');
  const cs = makeClient(ClusterStateServiceDefinition, csChannel, { credentials: admin() });
  const opW = async (): Promise<Array<[number, number]>> => {
    const r = await cs.queryDaemons({
      kind: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER,
      svcType: 'osd',
      svcId: '0',
      path: 'osd.op_w',
      hostname: '',
      services: [],
    });
    return JSON.parse(Buffer.from(r.json).toString('utf8'))?.['osd.op_w'] ?? [];
  };
  const mgrDump = async () => {
    const r = await ctl(env, 'mgr', 'dump', '--format', 'json', '--wait-ms', '2000');
    return r.code === 0 ? JSON.parse(r.stdout) : null;
  };
  let lastDump: any = null;
  // The typed map tells whether the standby is ready to take over (Ceph's
  // JSON dump does not), so a failover test never starts before it is.
  const sb = new StandbyClient(`127.0.0.1:${port(7200)}`, undefined, admin());
  const activeWithStandby = (not?: string) =>
    until(
      `an active manager${not ? ` other than ${not}` : ''} with an available standby`,
      async () => {
        const { map } = await sb.getMgrMap();
        if (!(map.activeName && map.available && map.activeName !== not && map.standbys.length === 1 && map.standbys[0].available)) return null;
        const d = (lastDump = await mgrDump());
        return d && d.active_name === map.activeName && d.standbys.length === 1 && d;
      },
      60000,
    ).catch((e) => {
      const summary = lastDump && {
        epoch: lastDump.epoch,
        active: lastDump.active_name,
        available: lastDump.available,
        standbys: lastDump.standbys.map((s: any) => s.name),
      };
      throw new Error(
        `${e.message}; last map ${JSON.stringify(summary)}\n${['x', 'y'].map((n) => `daemon-server-${n}:\n${procs.tail(`daemon-server-${n}`, 15)}`).join('\n')}`,
      );
    });

  const standbyLog = () => procs.output.get('standby') ?? [];
  /** Starts whatever of the two managers' processes is not running. */
  const bothRunning = () => {
    for (const n of ['module-host-x', 'daemon-server-x', 'module-host-y', 'daemon-server-y']) {
      const p = procs.procs.get(n);
      if (!p || p.exitCode !== null || p.signalCode !== null) procs.start(n);
    }
  };

  afterAll(async () => {
    for (const p of procs.procs.values()) p.kill('SIGCONT');
    await procs.stopAll();
    csChannel.close();
    sb.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('elects one active and one standby', async () => {
    await procs.startAll();
    const d = await activeWithStandby();
    expect(['x', 'y']).toContain(d.active_name);
    expect(d.standbys[0].name).toBe(d.active_name === 'x' ? 'y' : 'x');
    // The standby's daemon-server refuses commands, naming the active.
    const standby = d.standbys[0].name as string;
    const r = await ctl({ ...env, MGR_ADDR: `127.0.0.1:${port(standby === 'x' ? 7300 : 7301)}` }, 'hello');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`mgr.${standby} is a standby; the active manager is mgr.${d.active_name}`);
  }, 90000);

  it('kill -9 of the active under load: a new active, no command lost, reports flow again, history kept', async () => {
    const before = await activeWithStandby();
    const old = before.active_name as string;
    const history = await until('counter samples for osd.0', async () => {
      const s = await opW();
      return s.length >= 3 && s;
    }).catch((e) => {
      throw new Error(`${e.message}\nsim:\n${procs.tail('sim')}\ndaemon-server-${old}:\n${procs.tail(`daemon-server-${old}`)}`);
    });

    // Commands keep coming while the active dies; each must succeed (mgrctl
    // follows the MgrMap and resends what got no answer).
    let load = true;
    const results: number[] = [];
    const failures: string[] = [];
    const loader = (async () => {
      while (load) {
        const r = await ctl(env, 'hello');
        results.push(r.code);
        if (r.code) failures.push(`${r.code}: ${r.stderr.trim()}`);
      }
    })();

    // Kill once commands are flowing (a few answered), so some are in flight when it dies.
    await until('commands flowing', async () => results.filter((c) => c === 0).length >= 3);
    const killedAt = Date.now() / 1000;
    const mark = standbyLog().length;
    await Promise.all([procs.kill(`daemon-server-${old}`, 'SIGKILL'), procs.kill(`module-host-${old}`, 'SIGKILL')]);
    const after = await until(
      'a new active',
      async () => {
        const d = await mgrDump();
        return d && d.active_name && d.active_name !== old && d.available && d;
      },
      60000,
    );
    expect(after.epoch).toBeGreaterThan(before.epoch);
    // Replaced because its process was seen gone (its watch ended, its port
    // refused), not because its beacons stopped for the grace period.
    const since = standbyLog().slice(mark);
    expect(since.some((l) => l.includes(`mgr.${old} (active) is gone; taking it out of the map now`))).toBe(true);
    expect(since.some((l) => l.includes(`Manager daemon ${old} is unresponsive`))).toBe(false);

    // Reports reach the new active: osd.0's counter gets samples newer than the kill.
    const samples = await until(
      'a report after the failover',
      async () => {
        const s = await opW();
        return s.some(([t]) => t > killedAt + 0.5) && s;
      },
      60000,
    );
    // The history from before the failover is still there.
    expect(samples.some(([t]) => t < killedAt)).toBe(true);
    expect(samples.map(([t]) => t)).toEqual(expect.arrayContaining(history.slice(-1).map(([t]) => t)));

    await until('a few commands on the new active', () => results.length >= 3 && results.slice(-1)[0] === 0, 30000);
    load = false;
    await loader;
    expect(failures).toEqual([]);
  }, 150000);

  it('the killed instance comes back as a standby', async () => {
    const d = await mgrDump();
    const gone = d.active_name === 'x' ? 'y' : 'x';
    procs.start(`module-host-${gone}`);
    procs.start(`daemon-server-${gone}`);
    const back = await activeWithStandby();
    expect(back.active_name).toBe(d.active_name);
    expect(back.standbys[0].name).toBe(gone);
  }, 90000);

  it('mgr fail hands over to the standby at once', async () => {
    const before = await activeWithStandby();
    const r = await ctl(env, 'mgr', 'fail');
    expect(r.code).toBe(0);
    const after = await activeWithStandby(before.active_name);
    expect(after.active_name).toBe(before.standbys[0].name);
    const hello = await ctl(env, 'hello');
    expect(hello).toMatchObject({ code: 0, stdout: 'Hello World\n' });
  }, 90000);

  it('SIGTERM of the active resigns first and exits 0; the standby takes over', async () => {
    const before = await activeWithStandby();
    const old = before.active_name as string;
    const code = await procs.kill(`daemon-server-${old}`, 'SIGTERM');
    expect(code).toBe(0);
    expect(procs.tail(`daemon-server-${old}`, 200)).toContain('resigned as active manager');
    const after = await until(
      'the standby active',
      async () => {
        const d = await mgrDump();
        return d && d.active_name && d.active_name !== old && d.available && d;
      },
      60000,
    );
    expect(after.active_name).toBe(before.standbys[0].name);
    const hello = await ctl(env, 'hello');
    expect(hello).toMatchObject({ code: 0, stdout: 'Hello World\n' });
  }, 90000);

  it("kill -9 of the active's module-host: its daemon-server resigns, the standby takes over; module-host back, it is the standby", async () => {
    bothRunning();
    const before = await activeWithStandby();
    const old = before.active_name as string;
    const mark = standbyLog().length;
    await procs.kill(`module-host-${old}`, 'SIGKILL');
    // (no standby is available until old's module-host is back)
    const after = await until(
      'a new active',
      async () => {
        const d = await mgrDump();
        return d && d.active_name && d.active_name !== old && d.available && d;
      },
      60000,
    );
    expect(after.active_name).toBe(before.standbys[0].name);
    expect(
      standbyLog()
        .slice(mark)
        .some((l) => l.includes(`mgr.${old} resigned (its module-host at`)),
    ).toBe(true);
    expect(procs.tail(`daemon-server-${old}`, 300)).toContain('resigned as active manager: module-host is not up');
    expect(await ctl(env, 'hello')).toMatchObject({ code: 0, stdout: 'Hello World\n' });
    // The old instance is a standby that says it is not available until its module-host is back.
    const { map } = await sb.getMgrMap();
    expect(map.standbys.find((x) => x.name === old)?.available ?? false).toBe(false);
    procs.start(`module-host-${old}`);
    const back = await activeWithStandby();
    expect(back.active_name).toBe(after.active_name);
    expect(back.standbys[0].name).toBe(old);
  }, 120000);

  it('SIGSTOP of the active (hung, not dead): replaced only by the grace period; once resumed it does not act as active and rejoins as the standby', async () => {
    bothRunning();
    const before = await activeWithStandby();
    const old = before.active_name as string;
    const next = before.standbys[0].name as string;
    const mark = standbyLog().length;
    const stopped = [`daemon-server-${old}`, `module-host-${old}`].map((n) => procs.procs.get(n)!);
    for (const p of stopped) p.kill('SIGSTOP');
    try {
      // mgrctl's call to the hung active gets no answer; it follows the map to the new one.
      const hello = await ctl(env, 'hello');
      expect(hello).toMatchObject({ code: 0, stdout: 'Hello World\n' });
      const { map } = await sb.getMgrMap();
      expect(map.activeName).toBe(next);
      const since = standbyLog().slice(mark);
      expect(since.some((l) => l.includes(`Manager daemon ${old} is unresponsive, replacing it with standby daemon ${next}`))).toBe(true);
      expect(since.some((l) => l.includes(`mgr.${old} (active) is gone`))).toBe(false);
    } finally {
      for (const p of stopped) p.kill('SIGCONT');
    }
    // Resumed, it is fenced at once (its last beacon answer is long past) and refuses, naming the new active.
    const direct = await ctl({ ...env, MGR_ADDR: `127.0.0.1:${port(old === 'x' ? 7300 : 7301)}` }, 'hello');
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toMatch(new RegExp(`mgr\\.${old} (is a standby; the active manager is mgr\\.${next}|has not reached the standby service)`));
    const back = await activeWithStandby();
    expect(back.active_name).toBe(next);
    expect(back.standbys[0].name).toBe(old);
  }, 120000);
});

describe('failover on the etcd backend (two standby replicas, one killed)', () => {
  const OFF = randomPortOffset();
  const at = (p: number) => `127.0.0.1:${p + OFF}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-failover-etcd-'));
  let etcd: TestEtcd;
  let procs: ProcessSet;
  let sb: StandbyClient;
  const replicas = [at(7200), at(7210)].join(',');
  const env: NodeJS.ProcessEnv = { MGR_STANDBY_ADDR: replicas, MGR_CLUSTER_STATE_ADDR: at(7100), MGR_KEYRING: path.join(dataDir, 'keyring') };
  const hello = async () => (await ctl(env, 'hello')).stdout;
  const activeWithStandby = (not?: string) =>
    until(
      `an active manager${not ? ` other than ${not}` : ''} with an available standby`,
      async () => {
        const { map } = await sb.getMgrMap();
        return map.activeName && map.available && map.activeName !== not && map.standbys.length === 1 && map.standbys[0].available ? map : null;
      },
      60000,
    );

  beforeAll(async () => {
    etcd = await startEtcd();
    const specs = localProcesses({ dataDir, host: '127.0.0.1', osds: 3, sim: true, backend: 'etcd', etcd: etcd.endpoint, portOffset: OFF });
    // A second standby replica, and every client told about both.
    const first = specs.findIndex((s) => s.name === 'standby');
    specs.splice(first + 1, 0, {
      ...specs[first],
      name: 'standby-2',
      env: { ...specs[first].env, MGR_PORT: String(7210 + OFF), MGR_METRICS_PORT: String(9210 + OFF), MGR_DATA_DIR: path.join(dataDir, 'standby-2') },
      waitFor: at(7210),
    });
    for (const s of specs) if (s.env.MGR_STANDBY_ADDR) s.env.MGR_STANDBY_ADDR = replicas;
    procs = new ProcessSet(specs, { MGR_STATS_PERIOD: '1', MGR_PYTHON_MODULES: 'none' });
    sb = new StandbyClient(replicas, undefined, keyringCredentials(path.join(dataDir, 'keyring'), 'client.admin'));
    await procs.startAll();
  }, 120000);

  afterAll(async () => {
    await procs?.stopAll();
    sb?.close();
    await etcd?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('elects through etcd, survives the loss of a standby replica, and fails over the active manager', async () => {
    const before = await activeWithStandby();
    expect(await hello()).toContain('Hello World');

    // One standby replica dies: the other (leader already, or within the
    // lease TTL) keeps the map; managers and clients move to it.
    await procs.kill('standby', 'SIGKILL');
    const still = await until(
      'the map from the surviving replica',
      async () => {
        const { map } = await sb.getMgrMap();
        return map.activeName && map.available ? map : null;
      },
      30000,
    );
    expect(still.epoch).toBeGreaterThanOrEqual(before.epoch);
    expect(await hello()).toContain('Hello World');

    // Then the active manager dies: the standby takes over through etcd.
    const old = still.activeName;
    await Promise.all([procs.kill(`daemon-server-${old}`, 'SIGKILL'), procs.kill(`module-host-${old}`, 'SIGKILL')]);
    const after = await until(
      'a new active',
      async () => {
        const { map } = await sb.getMgrMap();
        return map.activeName && map.activeName !== old && map.available ? map : null;
      },
      60000,
    );
    expect(after.epoch).toBeGreaterThan(still.epoch);
    expect(await hello()).toContain('Hello World');
  }, 180000);
});
