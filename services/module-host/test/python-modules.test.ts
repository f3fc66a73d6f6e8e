// Ceph's own Python manager modules, unmodified from Debian's packages, run
// by module-host (one python3 process each) against a real cluster-state fed
// by the simulator's cluster model; plus the seed's `hello` in its Pacific
// form and two misbehaving Python modules, written into a temporary
// MGR_MODULE_PATH.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { ModuleHostServiceDefinition, ModuleState } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { startClusterState, ClusterStateHandle } from '../../cluster-state/server';
import { SimCluster } from '../../../sim/cluster';
import { MapFeed } from '../../../sim/feed';
import { createLogger } from '../../../lib/log';
import { startModuleHost, ModuleHostHandle } from '../server';
import { DEFAULT_CEPH_MGR_DIR } from '../domain/python-modules';
import type { PythonModuleRunner } from '../domain/python-runner';
import { describeWith } from '../../../lib/testing/external';
import { until } from '../../../lib/testing/wait';

const HAVE_CEPH = fs.existsSync(path.join(DEFAULT_CEPH_MGR_DIR, 'mgr_module.py')) && fs.existsSync('/usr/bin/python3');
const describeCeph = describeWith(
  !HAVE_CEPH && `Ceph's manager modules (${DEFAULT_CEPH_MGR_DIR}) or /usr/bin/python3 are missing`,
  "install Debian's ceph-mgr, ceph-mgr-modules-core, python3-rados and python3-ceph-argparse (.ci/run does)",
);

/** The seed's hello module, Python 3 and Pacific form. */
const HELLO = {
  '__init__.py': 'from .module import *  # NOQA\n',
  'module.py': `
from mgr_module import MgrModule


class Hello(MgrModule):
    COMMANDS = [
        {
            "cmd": "hello",
            "desc": "Say Hello",
            "perm": "r"
        }
    ]

    def handle_command(self, inbuf, cmd):
        self.log.info("hello: %s", cmd)
        return 0, "", "Hello World"
`,
};

const PYRAISER = {
  '__init__.py': 'from .module import Module\n',
  'module.py': `
from mgr_module import MgrModule, CLIReadCommand


class Module(MgrModule):
    @CLIReadCommand('pyraiser ping')
    def ping(self):
        return 0, 'pong', ''

    @CLIReadCommand('pyraiser self-test')
    def run_self_test(self):
        return 0, self.self_test(), ''

    def self_test(self):
        return 'pyraiser self-test ok'

    def serve(self):
        raise ValueError('kaboom from serve')
`,
};

const PYHANGER = {
  '__init__.py': 'from .module import Module\n',
  'module.py': `
import threading
from mgr_module import MgrModule, CLIReadCommand, Option


class Module(MgrModule):
    MODULE_OPTIONS = [Option('greeting', type='str', default='hi'), Option('times', type='int', default=2)]
    NOTIFY_TYPES = ['osd_map', 'command']

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop = threading.Event()
        self.notified = {}

    @CLIReadCommand('pyhanger wait')
    def wait(self):
        threading.Event().wait()
        return 0, '', ''

    @CLIReadCommand('pyhanger ping')
    def ping(self, who: str = 'you'):
        return 0, '%s %s x%d' % (self.get_module_option('greeting'), who, self.get_module_option('times')), ''

    @CLIReadCommand('pyhanger set')
    def set(self, greeting: str):
        self.set_module_option('greeting', greeting)
        return 0, self.get_module_option('greeting'), ''

    @CLIReadCommand('pyhanger localized')
    def localized(self):
        return 0, '%s %s' % (self.get_localized_module_option('greeting'), self.get_localized_module_option('times')), ''

    @CLIReadCommand('pyhanger store')
    def store(self):
        self.set_store('a/b', 'c')
        return 0, '%s %s %s' % (self.get_store('a/b'), self.get_store_prefix('a/'), self.get_store('nope')), ''

    @CLIReadCommand('pyhanger unserved')
    def unserved(self):
        self.get_mds_perf_counters(1)
        return 0, '', ''

    @CLIReadCommand('pyhanger notified')
    def notified_count(self):
        import json
        return 0, json.dumps(self.notified), ''

    @CLIReadCommand('pyhanger info')
    def info(self):
        import json
        return 0, json.dumps({'health': type(self.get('health')).__name__, 'health_json': type(self.get('health').get('json')).__name__,
                              'unknown': self.get('no_such_thing'), 'version': self.version, 'release': self.release_name,
                              'mgr_id': self.get_mgr_id(), 'epoch': self.get('osd_map')['epoch'],
                              'mon': self.mon_command({'prefix': 'auth ls'})}), ''

    @CLIReadCommand('pyhanger tagged')
    def tagged(self):
        from mgr_module import CommandResult
        import json
        self.send_command(CommandResult('t1'), 'mon', '', json.dumps({'prefix': 'auth ls'}), 't1')
        return 0, '', ''

    @CLIReadCommand('pyhanger remote')
    def call_remote(self):
        import json
        return 0, json.dumps(self.remote('selftest', 'ping', 42)), ''

    def echo(self, x):
        return {'echo': x, 'from': self.module_name}

    def notify(self, notify_type, notify_id):
        self.notified[notify_type] = self.notified.get(notify_type, 0) + 1

    def config_notify(self):
        self.notified['config'] = self.notified.get('config', 0) + 1

    def serve(self):
        self.stop.wait()

    def shutdown(self):
        self.stop.set()
`,
};

const PYSTANDBY = {
  '__init__.py': 'from .module import Module, StandbyModule\n',
  'module.py': `
import json
import threading
from mgr_module import MgrModule, MgrStandbyModule, Option


class Module(MgrModule):
    MODULE_OPTIONS = [Option('marker', type='str', default='')]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ev = threading.Event()

    def serve(self):
        self.ev.wait()

    def shutdown(self):
        self.ev.set()


class StandbyModule(MgrStandbyModule):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ev = threading.Event()

    def serve(self):
        with open(self.get_module_option('marker'), 'w') as f:
            json.dump({'id': self.get_mgr_id(), 'uri': self.get_active_uri()}, f)
        self.ev.wait()

    def shutdown(self):
        self.ev.set()
`,
};

function writeModule(dir: string, name: string, files: Record<string, string>): void {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name, f), text);
}

describeCeph('python modules on module-host', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-py-cs-'));
  const modDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-py-mods-'));
  let cs: ClusterStateHandle;
  let mh: ModuleHostHandle;
  let feed: MapFeed;
  const sim = new SimCluster({ osds: 6, pgs: 64, seed: 3 });
  const client = () => makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
  const csClient = () => makeClient(ClusterStateServiceDefinition, openChannel(cs.address));
  const cmd = async (prefix: string, args: Record<string, unknown> = {}, inbuf = '') => {
    const res = await client().handleCommand({ prefix, args: JSON.stringify({ prefix, ...args }), inbuf: Buffer.from(inbuf), entity: 'client.admin' });
    return res.result!;
  };
  const modules = async () => (await client().listModules({})).modules;
  const mod = async (n: string) => (await modules()).find((m) => m.info!.name === n)!;

  beforeAll(async () => {
    writeModule(modDir, 'hello', HELLO);
    writeModule(modDir, 'pyraiser', PYRAISER);
    writeModule(modDir, 'pyhanger', PYHANGER);
    writeModule(modDir, 'pystandby', PYSTANDBY);
    cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    await csClient().setStore({ key: 'config/mgr/pystandby/marker', value: path.join(modDir, 'standby-ran.json') });
    feed = new MapFeed({
      cluster: sim,
      address: cs.address,
      pgStatsDirect: true,
      pgStatsPeriodSec: 1,
      logger: createLogger({ component: 'sim-feed' }, 'warn'),
    });
    await feed.start();
    await feed.pushPgStats();
    mh = await startModuleHost({
      clusterStateAddr: cs.address,
      modulePath: [modDir],
      enabledModules: ['hello', 'status', 'iostat', 'crash', 'pyraiser', 'pyhanger', 'selftest', 'pystandby'],
      commandTimeoutMs: 3000,
      logLevel: 'error',
      metricsPort: -1,
      python: {
        modulePath: [modDir],
        cephMgrDir: DEFAULT_CEPH_MGR_DIR,
        python: '/usr/bin/python3',
        prefer: ['hello', 'status'],
        only: ['hello', 'status', 'iostat', 'crash', 'selftest', 'pyraiser', 'pyhanger', 'pystandby'],
      },
    });
    await until(
      'python modules running',
      async () => (await mod('pyhanger')).state === ModuleState.MODULE_STATE_RUNNING && (await mod('crash')).state === ModuleState.MODULE_STATE_RUNNING,
    );
  }, 60000);

  afterAll(async () => {
    await mh?.stop();
    await feed?.stop();
    await cs?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(modDir, { recursive: true, force: true });
  });

  it("the seed's hello (Pacific form, from MGR_MODULE_PATH) answers Hello World", async () => {
    expect(await cmd('hello')).toEqual({ retcode: 0, stdout: '', stderr: 'Hello World' });
  });

  it('lists Python and TypeScript modules side by side, with their runtime and commands', async () => {
    const mods = await modules();
    const byName = new Map(mods.map((m) => [m.info!.name, m]));
    expect(byName.get('status')!.runtime).toBe('python');
    expect(byName.get('status')!.path).toBe(path.join(DEFAULT_CEPH_MGR_DIR, 'status'));
    expect(byName.get('hello')!.runtime).toBe('python');
    expect(byName.get('selftest')!.runtime).toBe('typescript');
    expect(byName.get('iostat')!.state).toBe(ModuleState.MODULE_STATE_RUNNING);
    // Not enabled: found and probed, but not running.
    expect(byName.get('pyraiser')).toBeDefined();
    expect(byName.get('crash')!.info!.moduleOptions.map((o) => o.name)).toEqual(
      expect.arrayContaining(['retain_interval', 'warn_recent_interval', 'log_level']),
    );
    const cmds = (await client().listCommands({})).commands;
    expect(cmds).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ cmd: 'fs status name=fs,type=CephString,req=false', module: 'status' }),
        expect.objectContaining({ module: 'crash', cmd: expect.stringMatching(/^crash post/) }),
        expect.objectContaining({ module: 'iostat', poll: true }),
      ]),
    );
    // Ceph's selftest has the name of our TypeScript one and was not preferred: an error that says so.
    expect(mh.host.clashMessages().join('\n')).toMatch(
      /Python module 'selftest' at .*selftest has the same name as the TypeScript module .*MGR_PREFER_PYTHON_MODULES=selftest/,
    );
  });

  it("Ceph's status answers osd status and fs status from the simulated cluster", async () => {
    const osd = await cmd('osd status');
    expect(osd.retcode).toBe(0);
    for (const o of sim.osds) expect(osd.stdout).toMatch(new RegExp(`\\b${o.id}\\b.*exists,up`));
    const fsStatus = await cmd('fs status', { format: 'json' });
    expect(fsStatus.retcode).toBe(0);
    const j = JSON.parse(fsStatus.stdout);
    expect(j.mdsmap.length).toBeGreaterThan(0);
    expect(j.pools.map((p: any) => p.name).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/meta|data/)]));
    const plain = await cmd('fs status');
    expect(plain.stdout).toMatch(/RANK\s+STATE\s+MDS/);
  });

  it("Ceph's iostat prints the cluster's rates", async () => {
    const r = await cmd('iostat');
    expect(r.retcode).toBe(0);
    expect(r.stdout).toMatch(/\|.*B\/s.*\|/);
  });

  it("Ceph's crash: post, ls, stat, kept in cluster-state's store", async () => {
    const report = {
      crash_id: '2026-11-25T23:59:59.000000Z_00000000-1111-2222-3333-444444444444',
      timestamp: '2026-11-25T23:59:59.000000Z',
      entity_name: 'osd.1',
      process_name: 'ceph-osd',
      ceph_version: '16.2.15',
    };
    const post = await cmd('crash post', {}, JSON.stringify(report));
    expect(post).toEqual({ retcode: 0, stdout: '', stderr: '' });
    const ls = await cmd('crash ls');
    expect(ls.stdout).toContain(report.crash_id);
    expect(ls.stdout).toContain('osd.1');
    expect((await cmd('crash stat')).stdout).toContain('1 crashes recorded');
    const stored = await csClient().listStore({ prefix: 'mgr/crash/' });
    expect(Object.keys(stored.entries)).toContain(`mgr/crash/crash/${report.crash_id}`);
  });

  it('serves get (health as {json}, unknown as None), version, mgr id; send_command answers an error, not a hang', async () => {
    const r = await cmd('pyhanger info');
    expect(r.retcode).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ health: 'dict', health_json: 'str', unknown: null, release: 'pacific', mgr_id: 'x', epoch: sim.osdMap().epoch });
    expect(j.version).toMatch(/^ceph version 16\.2\.15 .*pacific/);
    // No daemon-server here (no MgrMap, no MGR_DAEMON_SERVER_ADDR): ENOTCONN, naming the command.
    expect(j.mon[0]).toBe(-107);
    expect(j.mon[2]).toContain("'auth ls'");
  });

  it('module options are typed, defaulted by the module, and read-your-writes; the store is scoped to the module', async () => {
    expect((await cmd('pyhanger ping', { who: 'Bob' })).stdout).toBe('hi Bob x2');
    expect((await cmd('pyhanger set', { greeting: 'hey' })).stdout).toBe('hey');
    expect((await csClient().getStore({ key: 'config/mgr/pyhanger/greeting' })).value).toBe('hey');
    expect((await cmd('pyhanger store')).stdout).toBe("c {'a/b': 'c'} None");
    // Per-manager values (mgr/<module>/<mgr id>/<key>) win over the module-wide one.
    await makeClient(ClusterStateServiceDefinition, openChannel(cs.address)).setStore({ key: 'config/mgr/pyhanger/x/greeting', value: 'yo' });
    expect((await cmd('pyhanger localized')).stdout).toBe('yo 2');
    expect((await csClient().getStore({ key: 'mgr/pyhanger/a/b' })).value).toBe('c');
  });

  it('notify is delivered for the NOTIFY_TYPES a module declares', async () => {
    const seen = async () => JSON.parse((await cmd('pyhanger notified')).stdout) as Record<string, number>;
    const before = (await seen()).osd_map ?? 0;
    await feed.applyEvent();
    await until('notify(osd_map)', async () => ((await seen()).osd_map ?? 0) > before);
    // pg stats arrive every second (pg_summary events), but only osd_map is declared.
    await feed.pushPgStats();
    // (config is config_notify's count, from the option written above.)
    expect(Object.keys(await seen()).filter((k) => k !== 'config')).toEqual(['osd_map']);
  });

  it('config_notify follows an option change; a send_command tag comes back as notify(command)', async () => {
    const seen = async () => JSON.parse((await cmd('pyhanger notified')).stdout) as Record<string, number>;
    await makeClient(ClusterStateServiceDefinition, openChannel(cs.address)).setStore({ key: 'config/mgr/pyhanger/times', value: '5' });
    await until('config_notify', async () => (await seen()).config);
    expect((await cmd('pyhanger ping', { who: 'Al' })).stdout).toMatch(/^\S+ Al x5$/);
    expect((await cmd('pyhanger tagged')).retcode).toBe(0);
    await until('notify(command, t1)', async () => (await seen()).command);
  });

  it('remote() works both ways between Python and TypeScript modules (JSON-able values)', async () => {
    expect(JSON.parse((await cmd('pyhanger remote')).stdout)).toMatchObject({ pong: 42 });
    const r = await cmd('mgr self-test remote', { module: 'pyhanger', method: 'echo' });
    expect(JSON.parse(r.stdout)).toEqual({ echo: 'x', from: 'pyhanger' });
  });

  it('an unserved call raises NotImplementedError naming it, and a health warning says so', async () => {
    const r = await cmd('pyhanger unserved');
    expect(r.retcode).toBe(-22);
    expect(r.stderr).toContain('_ceph_get_mds_perf_counters is not served by module-host');
    const checks = await until('unserved warning', async () => (await client().getHealthChecks({})).checks.find((c) => c.code === 'MGR_PYTHON_UNSERVED_CALL'));
    expect(checks.detail.join('\n')).toContain('_ceph_get_mds_perf_counters');
  });

  it('a command that hangs answers -110 and blocks nothing else', async () => {
    const slow = cmd('pyhanger wait');
    expect((await cmd('pyhanger ping')).retcode).toBe(0);
    expect((await cmd('hello')).stderr).toBe('Hello World');
    const r = await slow;
    expect(r.retcode).toBe(-110);
    expect((await cmd('pyhanger ping')).retcode).toBe(0);
  });

  it('a module that raises in serve() is failed with MGR_MODULE_ERROR; a killed worker too; the others go on', async () => {
    await until('pyraiser failed', async () => (await mod('pyraiser')).state === ModuleState.MODULE_STATE_FAILED);
    const r = await cmd('pyraiser ping');
    expect(r.retcode).toBe(-5);
    expect(r.stderr).toContain('kaboom from serve');
    // As for TypeScript modules: self-test still runs, in a fresh process without serve().
    expect(await cmd('pyraiser self-test')).toEqual({ retcode: 0, stdout: 'pyraiser self-test ok', stderr: '' });
    const runner = (mh.host as any).runners.get('iostat') as PythonModuleRunner;
    process.kill(runner.pid!, 'SIGKILL');
    await until('iostat failed', async () => (await mod('iostat')).state === ModuleState.MODULE_STATE_FAILED);
    const checks = await until('MGR_MODULE_ERROR', async () => {
      const c = (await client().getHealthChecks({})).checks.find((x) => x.code === 'MGR_MODULE_ERROR');
      return c && c.count === 2 && c;
    });
    expect(checks.detail.join('\n')).toMatch(/Module 'pyraiser' has failed: ValueError: kaboom from serve/);
    expect(checks.detail.join('\n')).toMatch(/Module 'iostat' has failed: worker exited unexpectedly/);
    expect((await cmd('hello')).stderr).toBe('Hello World');
    // Disable and enable again: restarted.
    await mh.host.setEnabledModules(['hello', 'status', 'crash', 'pyraiser', 'pyhanger', 'selftest', 'pystandby']);
    // Failed then disabled: still listed as able to run, so it can be enabled again.
    expect((await mod('iostat')).info!.canRun).toBe(true);
    await mh.host.setEnabledModules(['hello', 'status', 'iostat', 'crash', 'pyraiser', 'pyhanger', 'selftest', 'pystandby']);
    await until('iostat restarted', async () => (await mod('iostat')).state === ModuleState.MODULE_STATE_RUNNING);
    expect((await cmd('iostat')).retcode).toBe(0);
  });

  it("a standby manager runs the module's standby class (options, mgr id, active URI)", async () => {
    const marker = path.join(modDir, 'standby-ran.json');
    expect(fs.existsSync(marker)).toBe(false);
    await mh.host.setActive(false);
    try {
      expect((await mod('pystandby')).state).toBe(ModuleState.MODULE_STATE_STANDBY);
      const ran = await until('standby serve()', async () => fs.existsSync(marker) && JSON.parse(fs.readFileSync(marker, 'utf8')));
      expect(ran).toEqual({ id: 'x', uri: '' });
      expect((await mod('pyhanger')).state).not.toBe(ModuleState.MODULE_STATE_RUNNING);
    } finally {
      await mh.host.setActive(true);
    }
    await until('active again', async () => (await mod('pyhanger')).state === ModuleState.MODULE_STATE_RUNNING);
  });
});

describe('python modules where Ceph is not installed', () => {
  it('are listed as unable to run, with the reason, and nothing else breaks', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-py-cs-'));
    const modDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-py-mods-'));
    writeModule(modDir, 'pyhello', HELLO);
    const cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    const mh = await startModuleHost({
      clusterStateAddr: cs.address,
      modulePath: [modDir],
      enabledModules: ['hello', 'pyhello'],
      logLevel: 'error',
      metricsPort: -1,
      python: {
        modulePath: [modDir],
        cephMgrDir: path.join(modDir, 'no-ceph-here'),
        python: fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : '/nonexistent/python3',
        prefer: [],
        only: [],
      },
    });
    try {
      const c = makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
      const m = (await c.listModules({})).modules.find((x) => x.info!.name === 'pyhello')!;
      expect(m.state).toBe(ModuleState.MODULE_STATE_CANNOT_RUN);
      expect(m.info!.errorString).toMatch(/mgr_module cannot be imported|not found: install/);
      const r = await c.handleCommand({ prefix: 'hello', args: '{"prefix":"hello"}', inbuf: Buffer.alloc(0), entity: 'client.admin' });
      expect(r.result!.stdout).toBe('Hello World');
      const checks = (await c.getHealthChecks({})).checks;
      expect(checks.find((x) => x.code === 'MGR_MODULE_DEPENDENCY')!.summary).toContain('pyhello');
    } finally {
      await mh.stop();
      await cs.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(modDir, { recursive: true, force: true });
    }
  }, 30000);
});

describeCeph("python modules before the cluster's maps", () => {
  it('start once the OSD and FS maps are in cluster-state, as ceph-mgr waits for them; the host serves meanwhile', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-py-cs-'));
    const modDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-py-mods-'));
    writeModule(modDir, 'pyhello', HELLO);
    const cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    const mh = await startModuleHost({
      clusterStateAddr: cs.address,
      modulePath: [modDir],
      enabledModules: ['hello', 'pyhello'],
      logLevel: 'error',
      metricsPort: -1,
      python: { modulePath: [modDir], cephMgrDir: DEFAULT_CEPH_MGR_DIR, python: '/usr/bin/python3', prefer: [], only: ['pyhello'] },
    });
    try {
      const c = makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
      const state = async () => (await c.listModules({})).modules.find((x) => x.info!.name === 'pyhello')!.state;
      const hello = await c.handleCommand({ prefix: 'hello', args: '{"prefix":"hello"}', inbuf: Buffer.alloc(0), entity: 'client.admin' });
      expect(hello.result!.stdout).toBe('Hello World');
      expect(await state()).toBe(ModuleState.MODULE_STATE_STARTING);
      const sim = new SimCluster();
      const csc = makeClient(ClusterStateServiceDefinition, openChannel(cs.address));
      await csc.putMap({ name: 'osd_map', epoch: sim.epoch, json: Buffer.from(JSON.stringify(sim.osdMap())) });
      expect(await state()).toBe(ModuleState.MODULE_STATE_STARTING);
      await csc.putMap({ name: 'fs_map', epoch: 1, json: Buffer.from(JSON.stringify({ ...sim.fsMap(), epoch: 1 })) });
      await until('pyhello running once the maps are in', async () => (await state()) === ModuleState.MODULE_STATE_RUNNING);
    } finally {
      await mh.stop();
      await cs.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(modDir, { recursive: true, force: true });
    }
  }, 60000);
});

describeCeph('a promotion', () => {
  it("runs the TypeScript modules first (hello answers) and asks Ceph's Python modules to start only then", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-py-cs-'));
    const modDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-py-mods-'));
    writeModule(modDir, 'pyhello', HELLO);
    // A TypeScript module whose active part takes a second to construct: with every module started
    // together, the Python module would be asked to start while it is still starting.
    writeModule(modDir, 'slowts', {
      'index.ts': `import { MgrModule } from '${path.resolve(__dirname, '../../../lib/mgr-module')}';
export default class SlowTs extends MgrModule {
  constructor() {
    super();
    const until = Date.now() + 1000;
    while (Date.now() < until) {}
  }
}
`,
    });
    const cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    const sim = new SimCluster();
    const csc = makeClient(ClusterStateServiceDefinition, openChannel(cs.address));
    await csc.putMap({ name: 'osd_map', epoch: sim.epoch, json: Buffer.from(JSON.stringify(sim.osdMap())) });
    await csc.putMap({ name: 'fs_map', epoch: 1, json: Buffer.from(JSON.stringify({ ...sim.fsMap(), epoch: 1 })) });
    // module-host's log lines (JSON on stderr), to read the order of the starts
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    });
    const mh = await startModuleHost({
      clusterStateAddr: cs.address,
      modulePath: [modDir],
      enabledModules: ['hello', 'slowts', 'pyhello'],
      active: false,
      logLevel: 'debug',
      metricsPort: -1,
      python: { modulePath: [modDir], cephMgrDir: DEFAULT_CEPH_MGR_DIR, python: '/usr/bin/python3', prefer: [], only: ['pyhello'] },
    });
    try {
      // a standby keeps them loaded, ready to start
      const loaded = (m: string) => mh.host.modules().find((x) => x.name === m)?.state === 'loaded';
      await until('the modules loaded on the standby', async () => loaded('hello') && loaded('slowts') && loaded('pyhello'));
      const from = lines.length;
      await mh.host.setActive(true);
      const c = makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
      const hello = await c.handleCommand({ prefix: 'hello', args: '{"prefix":"hello"}', inbuf: Buffer.alloc(0), entity: 'client.admin' });
      expect(hello.result!.stdout).toBe('Hello World');
      // log lines reach stderr in batches, shortly after
      const stepsNow = () =>
        lines
          .slice(from)
          .map((l) => {
            try {
              return JSON.parse(l) as { msg: string; module?: string };
            } catch {
              return null;
            }
          })
          .filter((j): j is { msg: string; module?: string } => !!j && (j.msg === 'module started' || j.msg === 'starting module'))
          .map((j) => `${j.msg} ${j.module}`);
      const steps = await until('the start lines logged', async () => {
        const now = stepsNow();
        return now.includes('module started pyhello') && now.includes('module started slowts') && now;
      });
      const pyAsked = steps.indexOf('starting module pyhello');
      expect(steps.indexOf('module started hello')).toBeGreaterThanOrEqual(0);
      expect(pyAsked).toBeGreaterThan(steps.indexOf('module started hello'));
      expect(pyAsked).toBeGreaterThan(steps.indexOf('module started slowts'));
    } finally {
      spy.mockRestore();
      await mh.stop();
      await cs.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(modDir, { recursive: true, force: true });
    }
  }, 60000);
});
