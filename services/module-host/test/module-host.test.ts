import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { ModuleHostServiceDefinition, ModuleState } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { startClusterState, ClusterStateHandle } from '../../cluster-state/server';
import { SimCluster } from '../../../sim/cluster';
import { startModuleHost, ModuleHostHandle } from '../server';
import { freePort, until } from '../../../lib/testing/wait';

const FIXTURES = path.join(__dirname, 'fixtures/modules');

describe('module-host', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mh-'));
  let cs: ClusterStateHandle;
  let mh: ModuleHostHandle;
  const sim = new SimCluster({ osds: 3 });
  let epoch = sim.osdMap().epoch;
  const csClient = () => makeClient(ClusterStateServiceDefinition, openChannel(cs.address));
  const client = () => makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
  const cmd = async (prefix: string, args: Record<string, unknown> = {}) => {
    const res = await client().handleCommand({ prefix, args: JSON.stringify({ prefix, ...args }), inbuf: Buffer.alloc(0), entity: 'client.admin' });
    return res.result!;
  };
  const putOsdMap = async () => {
    epoch++;
    const map = { ...sim.osdMap(), epoch };
    await csClient().putMap({ name: 'osd_map', epoch, json: Buffer.from(JSON.stringify(map)) });
  };

  beforeAll(async () => {
    cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    const c = csClient();
    await c.putMap({ name: 'osd_map', epoch, json: Buffer.from(JSON.stringify(sim.osdMap())) });
    await c.putMap({ name: 'fs_map', epoch: sim.fsMap().epoch, json: Buffer.from(JSON.stringify(sim.fsMap())) });
    await c.putMap({ name: 'osd_metadata', epoch: 1, json: Buffer.from(JSON.stringify(sim.osdMetadata())) });
    mh = await startModuleHost({
      clusterStateAddr: cs.address,
      modulePath: [FIXTURES],
      enabledModules: ['hello', 'status', 'selftest', 'thrower', 'blocker', 'spinner', 'hog', 'sleeper', 'gated', 'leaker', 'healthy'],
      commandTimeoutMs: 1500,
      // A held notify must stay held while the coalescing test puts 20 maps, however busy the machine.
      notifyTimeoutMs: 60000,
      watchdogMs: 1500,
      workerMaxOldGenMb: 48,
      logLevel: 'warn',
      metricsPort: -1,
    });
  }, 120000); // eleven modules compiled from source: slow on a loaded machine, bounded all the same

  afterAll(async () => {
    await mh?.stop();
    await cs?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers hello with Hello World, and greets a person', async () => {
    expect(await cmd('hello')).toEqual({ retcode: 0, stdout: 'Hello World', stderr: '' });
    expect((await cmd('hello', { person_name: 'Alice' })).stdout).toBe('Hello Alice');
  });

  it("reads a module's option from its worker's copy, dropped when the option changes (in cluster-state or by a set)", async () => {
    const host = mh.host as unknown as { api(module: string, method: string, args: unknown[]): Promise<unknown> };
    const api = jest.spyOn(host, 'api');
    const optionReads = () => api.mock.calls.filter(([module, method]) => module === 'hello' && method === 'getModuleOption').length;
    try {
      expect((await cmd('hello')).stdout).toBe('Hello World');
      const reads = optionReads();
      expect((await cmd('hello')).stdout).toBe('Hello World');
      expect((await cmd('hello')).stdout).toBe('Hello World');
      expect(optionReads()).toBe(reads); // answered in the worker
      // Changed in cluster-state (as another manager or `config set` would): its Watch event reaches the worker.
      await csClient().setStore({ key: 'config/mgr/hello/place', value: 'Mars' });
      await until('hello to greet Mars', async () => (await cmd('hello')).stdout === 'Hello Mars');
      expect(optionReads()).toBeGreaterThan(reads);
      // Set through the host: the next command reads it, without waiting for the Watch.
      await mh.host.setOption('hello', 'place', 'Venus');
      expect((await cmd('hello')).stdout).toBe('Hello Venus');
      // selftest reads, sets, and reads its own option back.
      expect((await cmd('mgr self-test config get', { key: 'a_float' })).stdout).toBe('0.5');
      expect((await cmd('mgr self-test config set', { key: 'a_float', value: '1.5' })).retcode).toBe(0);
      expect((await cmd('mgr self-test config get', { key: 'a_float' })).stdout).toBe('1.5');
      expect((await cmd('mgr self-test config set', { key: 'a_float', value: '2.5' })).retcode).toBe(0);
      expect((await cmd('mgr self-test config get', { key: 'a_float' })).stdout).toBe('2.5');
    } finally {
      api.mockRestore();
      await mh.host.setOption('hello', 'place', null);
    }
    expect((await cmd('hello')).stdout).toBe('Hello World');
  });

  it('hello count rejects numbers outside 1..10 with -22', async () => {
    expect((await cmd('hello count', { num: 3 })).stdout).toBe('1\n2\n3');
    expect((await cmd('hello count', { num: 11 })).retcode).toBe(-22);
    expect((await cmd('hello count', { num: 0 })).retcode).toBe(-22);
  });

  it('lists the commands of every module and their states', async () => {
    const cmds = (await client().listCommands({})).commands;
    expect(cmds).toEqual(
      expect.arrayContaining([expect.objectContaining({ cmd: 'hello name=person_name,type=CephString,req=false', module: 'hello', perm: 'r' })]),
    );
    expect(cmds.find((c) => c.module === 'thrower')).toBeDefined();
    const mods = (await client().listModules({})).modules;
    const state = (n: string) => mods.find((m) => m.info!.name === n)!;
    expect(state('hello').state).toBe(ModuleState.MODULE_STATE_RUNNING);
    expect(state('status').alwaysOn).toBe(true);
    expect(state('sleeper').state).toBe(ModuleState.MODULE_STATE_CANNOT_RUN);
    expect(state('sleeper').info!.errorString).toContain('not installed');
    expect(state('hello').info!.moduleOptions.map((o) => o.name)).toEqual(expect.arrayContaining(['place', 'log_level']));
  });

  it('a module from an outside MGR_MODULE_PATH is loaded', async () => {
    expect((await cmd('blocker ping')).stdout).toBe('pong');
  });

  it('a module that throws in serve() is failed, raises MGR_MODULE_ERROR, and refuses commands with -5 except self-test', async () => {
    await until(
      'thrower failed',
      async () => (await client().listModules({})).modules.find((m) => m.info!.name === 'thrower')!.state === ModuleState.MODULE_STATE_FAILED,
    );
    const r = await cmd('thrower ping');
    expect(r.retcode).toBe(-5);
    expect(r.stderr).toContain("Module 'thrower' has experienced an error and cannot handle commands");
    expect((await cmd('thrower self-test')).retcode).not.toBe(-5);
    const checks = (await client().getHealthChecks({})).checks;
    expect(checks.find((c) => c.code === 'MGR_MODULE_ERROR')!.detail.join('\n')).toContain("Module 'thrower' has failed: boom");
    expect(checks.find((c) => c.code === 'MGR_MODULE_DEPENDENCY')!.summary).toContain('sleeper');
    const health = await until('health in cluster-state', async () => {
      const h = JSON.parse(JSON.parse(Buffer.from((await csClient().get({ what: 'health' })).json).toString()).json);
      return h.checks.MGR_MODULE_ERROR && h;
    });
    expect(health.status).toBe('HEALTH_ERR');
    expect((await cmd('hello')).stdout).toBe('Hello World');
  });

  it('a command that never returns fails with -110 and blocks nothing else', async () => {
    const slow = cmd('blocker wait');
    expect((await cmd('blocker ping')).stdout).toBe('pong');
    expect((await cmd('hello')).stdout).toBe('Hello World');
    const r = await slow;
    expect(r.retcode).toBe(-110);
    expect((await cmd('blocker ping')).stdout).toBe('pong');
  });

  it('a module that spins in notify() is stopped by the watchdog while the others keep getting notifications', async () => {
    const before = JSON.parse((await cmd('mgr self-test notify stats')).stdout).notifies.osd_map ?? 0;
    await putOsdMap();
    await until(
      'spinner failed',
      async () => (await client().listModules({})).modules.find((m) => m.info!.name === 'spinner')!.state === ModuleState.MODULE_STATE_FAILED,
    );
    const mod = (await client().listModules({})).modules.find((m) => m.info!.name === 'spinner')!;
    expect(mod.info!.errorString).toContain('watchdog');
    await putOsdMap();
    await until('selftest notified', async () => JSON.parse((await cmd('mgr self-test notify stats')).stdout).notifies.osd_map >= before + 2);
    expect((await cmd('hello')).stdout).toBe('Hello World');
  });

  it('a module that allocates without bound is stopped at its heap limit and reported', async () => {
    const r = await cmd('hog eat');
    expect(r.retcode).not.toBe(0);
    await until(
      'hog failed',
      async () => (await client().listModules({})).modules.find((m) => m.info!.name === 'hog')!.state === ModuleState.MODULE_STATE_FAILED,
    );
    const mod = (await client().listModules({})).modules.find((m) => m.info!.name === 'hog')!;
    expect(mod.info!.errorString).toMatch(/memory/);
    expect((await cmd('hello')).stdout).toBe('Hello World');
  });

  it('a module that leaks Buffers (outside its heap) is stopped at its memory limit with MGR_MODULE_ERROR', async () => {
    expect((await cmd('leaker leak')).stdout).toBe('leaking');
    await until(
      'leaker failed',
      async () => (await client().listModules({})).modules.find((m) => m.info!.name === 'leaker')!.state === ModuleState.MODULE_STATE_FAILED,
    );
    const mod = (await client().listModules({})).modules.find((m) => m.info!.name === 'leaker')!;
    expect(mod.info!.errorString).toMatch(/exceeded its memory limit \(48 MB, MGR_MODULE_MEMORY_MB\).*Buffers and ArrayBuffers \d+ MB/);
    const health = await until('MGR_MODULE_ERROR naming leaker in cluster-state', async () => {
      const h = JSON.parse(JSON.parse(Buffer.from((await csClient().get({ what: 'health' })).json).toString()).json);
      return h.checks.MGR_MODULE_ERROR?.detail.some((d: { message: string }) => d.message.includes("Module 'leaker' has failed")) && h;
    });
    expect(health.status).toBe('HEALTH_ERR');
    expect((await cmd('leaker leak')).retcode).toBe(-5);
    expect((await cmd('hello')).stdout).toBe('Hello World');
  });

  it("takes a module's health checks one by one: a bad code is refused with a reason, the good ones are raised beside the failed modules", async () => {
    const r = await cmd('healthy raise');
    expect(r.retcode).toBe(0);
    const { refused } = JSON.parse(r.stdout);
    expect(refused).toEqual([{ code: 'not a code', reason: expect.stringMatching(/upper-case letters, digits and _/) }]);
    const checks = await until('the good checks in cluster-state', async () => {
      const h = JSON.parse(JSON.parse(Buffer.from((await csClient().get({ what: 'health' })).json).toString()).json);
      return h.checks.HEALTHY_FIRST && h.checks.HEALTHY_SECOND && h.checks;
    });
    expect(checks.HEALTHY_SECOND.severity).toBe('HEALTH_ERR');
    expect(checks.HEALTHY_SECOND.summary.count).toBe(2);
    // The host's own check (failed modules) went through in the same batch.
    expect(checks.MGR_MODULE_ERROR.detail.map((d: { message: string }) => d.message).join('\n')).toContain("Module 'thrower' has failed");
    expect(JSON.parse((await cmd('healthy clear')).stdout)).toEqual({ refused: [] });
    await until('cleared', async () => {
      const h = JSON.parse(JSON.parse(Buffer.from((await csClient().get({ what: 'health' })).json).toString()).json);
      return !h.checks.HEALTHY_FIRST;
    });
  });

  it('a module stopped in the middle of a command answers it with -5 (EIO), not -22', async () => {
    const pending = cmd('blocker wait');
    await new Promise((r) => setTimeout(r, 200));
    await mh.host.setEnabledModules(['hello', 'selftest', 'healthy']);
    const r = await pending;
    expect(r.retcode).toBe(-5);
    expect(r.stderr).toMatch(/Module 'blocker' stopped while handling 'blocker wait'/);
    await mh.host.setEnabledModules(['hello', 'status', 'selftest', 'blocker', 'healthy', 'gated']);
    expect((await cmd('blocker ping')).stdout).toBe('pong');
  });

  it('the self-test exercises every SDK call', async () => {
    const r = await cmd('mgr self-test run');
    expect(r.stderr).toBe('Self-test succeeded');
    expect(r.retcode).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report['setStore/getStore']).toBe('ok');
    expect(report.remote).toBe('ok');
    expect(report.getMgrId).toBe('x');
  });

  it('validates options with clear errors', async () => {
    expect((await cmd('mgr self-test config set', { key: 'an_int', value: '7' })).retcode).toBe(0);
    expect((await cmd('mgr self-test config get', { key: 'an_int' })).stdout).toBe('7');
    const bad = [
      [{ key: 'an_int', value: 'seven' }, /must be a whole number/],
      [{ key: 'an_int', value: '0' }, /at least 1/],
      [{ key: 'a_bool', value: 'maybe' }, /true or false/],
      [{ key: 'a_choice', value: 'pink' }, /one of 'red', 'green', 'blue'/],
      [{ key: 'nope', value: '1' }, /has no option 'nope'/],
    ] as const;
    for (const [args, re] of bad) {
      const r = await cmd('mgr self-test config set', args);
      expect(r.retcode).toBe(-22);
      expect(r.stderr).toMatch(re);
    }
    expect((await cmd('mgr self-test config get', { key: 'an_int' })).stdout).toBe('7');
  });

  it('delivers notify only for declared types', async () => {
    const stats = async () => JSON.parse((await cmd('mgr self-test notify stats')).stdout);
    const before = await stats();
    // mon_map is declared by selftest; a store write's "store" type is not.
    await csClient().setStore({ key: 'mgr/other/x', value: '1' });
    await csClient().putMap({ name: 'mon_map', epoch: 100, json: Buffer.from(JSON.stringify({ ...sim.monMap(), epoch: 100 })) });
    await until('mon_map notified', async () => (await stats()).notifies.mon_map === (before.notifies.mon_map ?? 0) + 1);
    expect((await stats()).notifies.store).toBeUndefined();
  });

  it('coalesces repeats while one is queued: 20 osd_map changes behind a held notify make 2 notifies', async () => {
    const counts = async () => JSON.parse((await cmd('gated counts')).stdout) as { started: number; finished: number };
    const coalesced = async () =>
      (await mh.service.registry.getSingleMetric('mgr_module_notify_coalesced_total')!.get()).values.find((v) => v.labels.module === 'gated')?.value ?? 0;
    await until('gated running', () => mh.host.modules().find((m) => m.name === 'gated' && m.state === 'running'));
    const c0 = await counts();
    const k0 = await coalesced();
    await cmd('gated hold');
    await putOsdMap();
    // The first change's notify is in the module, held at the gate.
    await until('the first notify held', async () => (await counts()).started === c0.started + 1);
    for (let i = 0; i < 19; i++) await putOsdMap();
    // One more waits in the queue; the other 18 find it there and are dropped.
    await until('18 changes coalesced', async () => (await coalesced()) === k0 + 18);
    await cmd('gated release');
    await until('the queued notify delivered', async () => (await counts()).finished === c0.finished + 2);
    expect(await counts()).toEqual({ started: c0.started + 2, finished: c0.finished + 2 });
  });

  it('a disabled module answers -95 saying how to enable it', async () => {
    await mh.host.setEnabledModules(['hello', 'selftest']);
    const r = await cmd('blocker ping');
    expect(r.retcode).toBe(-95);
    expect(r.stderr).toContain('mgr module enable blocker');
    await mh.host.setEnabledModules(['hello', 'status', 'selftest', 'blocker']);
    expect((await cmd('blocker ping')).stdout).toBe('pong');
  });

  it('keeps module options and store across restarts of module-host and cluster-state', async () => {
    expect((await cmd('mgr self-test config set', { key: 'a_choice', value: 'blue' })).retcode).toBe(0);
    await mh.stop();
    await cs.stop();
    cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    mh = await startModuleHost({ clusterStateAddr: cs.address, enabledModules: ['hello', 'selftest'], logLevel: 'warn', metricsPort: -1 });
    expect((await cmd('mgr self-test config get', { key: 'a_choice' })).stdout).toBe('"blue"');
  }, 30000);
});

describe('module-host through a cluster-state outage', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mh-outage-'));
  let cs: ClusterStateHandle;
  let mh: ModuleHostHandle;
  const csClient = () => makeClient(ClusterStateServiceDefinition, openChannel(cs.address));
  const cmd = async (prefix: string) => {
    const c = makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
    return (await c.handleCommand({ prefix, args: JSON.stringify({ prefix }), inbuf: Buffer.alloc(0), entity: 'client.admin' })).result!;
  };

  beforeAll(async () => {
    cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    await csClient().setStore({ key: 'mgr/keeper/greeting', value: 'hello from before' });
    mh = await startModuleHost({ clusterStateAddr: cs.address, modulePath: [FIXTURES], enabledModules: ['hello'], logLevel: 'warn', metricsPort: -1 });
  }, 120000);

  afterAll(async () => {
    await mh?.stop();
    await cs?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a module whose store read meets cluster-state down waits for it and runs, instead of failing for good', async () => {
    const port = cs.port;
    await cs.stop();
    // keeper's serve() reads its store at once: cluster-state answers UNAVAILABLE.
    await mh.host.setEnabledModules(['hello', 'keeper']);
    await new Promise((r) => setTimeout(r, 1500));
    const during = mh.host.modules().find((m) => m.name === 'keeper')!;
    expect(during.state).toBe('running');
    cs = await startClusterState({ dataDir, port, logLevel: 'warn', metricsPort: -1 });
    const shown = await until('keeper has read its store', async () => {
      const r = JSON.parse((await cmd('keeper show')).stdout);
      return r.started && r;
    });
    expect(shown.read).toBe('hello from before');
    expect(mh.host.modules().find((m) => m.name === 'keeper')!.state).toBe('running');
    expect((await csClient().getStore({ key: 'mgr/keeper/seen' })).value).toBe('yes');
  }, 60000);
});

describe('module-host child processes', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mh-zombies-'));
  const moduleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mh-modules-'));
  let cs: ClusterStateHandle;
  let mh: ModuleHostHandle;
  /** Children of this process that exited and were never waited for. */
  const zombies = () =>
    fs.readdirSync('/proc').filter((d) => {
      if (!/^\d+$/.test(d)) return false;
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return state === 'Z' && Number(ppid) === process.pid;
      } catch {
        return false; // gone meanwhile
      }
    });
  // A module whose source changes before every load, so the TypeScript compiler really runs (no cache hit).
  const writeModule = (n: number) => {
    fs.mkdirSync(path.join(moduleDir, 'fresh'), { recursive: true });
    fs.writeFileSync(
      path.join(moduleDir, 'fresh/index.ts'),
      `import { MgrModule } from '${path.resolve(__dirname, '../../../lib/mgr-module')}';\n// version ${n} ${Math.random()}\nexport default class Fresh extends MgrModule {}\n`,
    );
  };

  beforeAll(async () => {
    writeModule(0);
    cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    mh = await startModuleHost({ clusterStateAddr: cs.address, modulePath: [moduleDir], enabledModules: ['hello'], logLevel: 'warn', metricsPort: -1 });
  }, 120000);

  afterAll(async () => {
    await mh?.stop();
    await cs?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(moduleDir, { recursive: true, force: true });
  });

  it('enabling and disabling modules leaves no zombie child processes behind', async () => {
    const before = zombies().length;
    for (let i = 1; i <= 3; i++) {
      writeModule(i);
      await mh.host.setEnabledModules(['hello', 'fresh']);
      expect(mh.host.modules().find((m) => m.name === 'fresh')!.state).toBe('running');
      await mh.host.setEnabledModules(['hello']);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(zombies().length).toBe(before);
  }, 60000);
});

describe('a standby module-host still loading modules', () => {
  it('says it has not loaded them (loaded: false, so its manager is not available for promotion) until they are', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mh-settle-'));
    const moduleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mh-modules-'));
    // A module that takes a second to load (in its worker), as a module does on a loaded machine.
    fs.mkdirSync(path.join(moduleDir, 'slowload'));
    fs.writeFileSync(
      path.join(moduleDir, 'slowload/index.ts'),
      `import { MgrModule } from '${path.resolve(__dirname, '../../../lib/mgr-module')}';
const until = Date.now() + 1000;
while (Date.now() < until) {}
export default class SlowLoad extends MgrModule {}
`,
    );
    const cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    const mh = await startModuleHost({
      clusterStateAddr: cs.address,
      modulePath: [moduleDir],
      enabledModules: ['hello'],
      active: false,
      logLevel: 'warn',
      metricsPort: -1,
    });
    try {
      const c = makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
      expect((await c.listModules({})).loaded).toBe(true);
      const enabling = mh.host.setEnabledModules(['hello', 'slowload']);
      const during = await c.listModules({});
      expect(during.loaded).toBe(false);
      await enabling;
      const after = await c.listModules({});
      expect(after.modules.find((m) => m.info!.name === 'slowload')!.state).toBe(ModuleState.MODULE_STATE_STANDBY);
      expect(after.loaded).toBe(true);
    } finally {
      await mh.stop();
      await cs.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(moduleDir, { recursive: true, force: true });
    }
  }, 60000);

  it("following a standby service, has not loaded its modules until the MgrMap's enabled set (Ceph's always-on modules) has arrived", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mh-settle-'));
    const cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    // a standby service that never answers: no MgrMap arrives
    const mh = await startModuleHost({
      clusterStateAddr: cs.address,
      standbyAddr: `127.0.0.1:${await freePort()}`,
      enabledModules: ['hello'],
      logLevel: 'error',
      metricsPort: -1,
    });
    try {
      const c = makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
      expect(mh.host.modules().find((m) => m.name === 'hello')!.state).toBe('loaded');
      expect((await c.listModules({})).loaded).toBe(false);
      await mh.host.setEnabledModules(['hello', 'selftest']);
      expect((await c.listModules({})).loaded).toBe(true);
    } finally {
      await mh.stop();
      await cs.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60000);
});

describe('a demoted module-host', () => {
  it('stops the active parts at once and loads the standby parts only after its delay, or at once when promoted again', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mh-demote-'));
    const cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    const mh = await startModuleHost({
      clusterStateAddr: cs.address,
      enabledModules: ['hello'],
      demotedReloadDelayMs: 600000,
      logLevel: 'warn',
      metricsPort: -1,
    });
    try {
      const c = makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
      const hello = () => c.handleCommand({ prefix: 'hello', args: '{"prefix":"hello"}', inbuf: Buffer.alloc(0), entity: 'client.admin' });
      const state = () => mh.host.modules().find((m) => m.name === 'hello')!.state;
      expect((await hello()).result!.stdout).toBe('Hello World');
      const demoting = mh.host.setActive(false);
      await until('hello stopped', async () => state() === 'stopped');
      expect((await hello()).result!.retcode).toBe(-95);
      // well past a reload's start: still stopped, and not ready to be promoted
      await new Promise((r) => setTimeout(r, 500));
      expect(state()).toBe('stopped');
      expect((await c.listModules({})).loaded).toBe(false);
      // promoted again during the wait: the modules start at once
      await mh.host.setActive(true);
      await demoting;
      expect((await hello()).result!.stdout).toBe('Hello World');
    } finally {
      await mh.stop();
      await cs.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60000);
});
