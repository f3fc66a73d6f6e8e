// Ceph's send_command from a Python module (mgr_module.py's own
// send_command / mon_command, unmodified from Debian's ceph-mgr): to the
// manager it goes through a real daemon-server (validation, caps, audit as
// mgr.x), completes the CommandResult from another thread, and a tagged
// one comes back as notify('command', tag). Other targets answer -95.
import { keyringCredentials } from '../../../lib/auth/keys';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openChannel, makeClient } from '../../../lib/client';
import { ModuleHostServiceDefinition, ModuleState } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { startDaemonServer, DaemonServerHandle } from '../../daemon-server/server';
import { DEFAULT_CEPH_MGR_DIR } from '../domain/python-modules';
import { ModuleHostHandle } from '../server';
import { startStack, until } from '../../../modules/prometheus/test/stack';
import { describeWith } from '../../../lib/testing/external';

const HAVE_CEPH = fs.existsSync(path.join(DEFAULT_CEPH_MGR_DIR, 'mgr_module.py')) && fs.existsSync('/usr/bin/python3');
const describeCeph = describeWith(
  !HAVE_CEPH && `Ceph's manager modules (${DEFAULT_CEPH_MGR_DIR}) or /usr/bin/python3 are missing`,
  "install Debian's ceph-mgr, ceph-mgr-modules-core, python3-rados and python3-ceph-argparse (.ci/run does)",
);

const PYSENDER = `
import json
from mgr_module import MgrModule, CLIReadCommand, CommandResult


class Module(MgrModule):
    NOTIFY_TYPES = ['command']

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tags = []

    def _send(self, target, cmd, tag=''):
        result = CommandResult(tag)
        self.send_command(result, target, '', cmd, tag)
        # Waits on this thread: module-host completes it from another one.
        r, outb, outs = result.wait()
        return 0, json.dumps([r, outb, outs]), ''

    @CLIReadCommand('pysender mgr')
    def to_mgr(self, cmd: str):
        return self._send('mgr', cmd)

    @CLIReadCommand('pysender mon')
    def to_mon(self, cmd: str):
        return self._send('mon', cmd)

    @CLIReadCommand('pysender osd')
    def to_osd(self, cmd: str):
        return self._send('osd', cmd)

    @CLIReadCommand('pysender tagged')
    def tagged(self, cmd: str, tag: str):
        return self._send('mgr', cmd, tag)

    @CLIReadCommand('pysender tags')
    def seen_tags(self):
        return 0, json.dumps(self.tags), ''

    def notify(self, notify_type, notify_id):
        if notify_type == 'command':
            self.tags.append(notify_id)
`;

describeCeph('Python send_command', () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let mh: ModuleHostHandle;
  let ds: DaemonServerHandle;
  const modDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-pysend-'));

  const cmd = async (prefix: string, args: Record<string, unknown> = {}) => {
    // as daemon-server calls it: only managers reach module-host's commands
    const client = makeClient(ModuleHostServiceDefinition, openChannel(mh.address), {
      credentials: keyringCredentials(path.join(stack.dir, 'keyring'), 'mgr.x'),
    });
    const res = await client.handleCommand({ prefix, args: JSON.stringify({ prefix, ...args }), inbuf: Buffer.alloc(0), entity: 'client.admin' });
    return res.result!;
  };
  /** Sends `command` from the Python module to `target`; its [r, outb, outs]. */
  const send = async (target: string, command: Record<string, unknown>): Promise<[number, string, string]> => {
    const r = await cmd(`pysender ${target}`, { cmd: JSON.stringify(command) });
    expect(r.stderr).toBe('');
    expect(r.retcode).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    fs.mkdirSync(path.join(modDir, 'pysender'));
    fs.writeFileSync(path.join(modDir, 'pysender', '__init__.py'), 'from .module import Module\n');
    fs.writeFileSync(path.join(modDir, 'pysender', 'module.py'), PYSENDER);
    stack = await startStack();
    const keyringPath = path.join(stack.dir, 'keyring');
    mh = await stack.startHost({
      name: 'x',
      modulePath: [modDir],
      enabledModules: ['pysender', 'hello'],
      keyringPath,
      python: { modulePath: [modDir], cephMgrDir: DEFAULT_CEPH_MGR_DIR, python: '/usr/bin/python3', prefer: [], only: ['pysender'] },
    });
    ds = await startDaemonServer({
      name: 'x',
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      clusterStateAddr: stack.cs.address,
      moduleHostAddr: mh.address,
      keyringPath,
    });
    mh.commands.setFallbackAddr(ds.address);
    // as daemon-server calls it: only managers reach module-host's commands
    const client = makeClient(ModuleHostServiceDefinition, openChannel(mh.address), { credentials: keyringCredentials(keyringPath, 'mgr.x') });
    await until(
      'pysender running',
      async () => (await client.listModules({})).modules.find((m) => m.info!.name === 'pysender')?.state === ModuleState.MODULE_STATE_RUNNING,
    );
    await until('pg stats in cluster-state', async () => {
      const r = await stack.csClient.get({ what: 'pg_status' }).catch(() => null);
      return r && JSON.parse(Buffer.from(r.json).toString()).num_pgs > 0;
    });
  }, 60000);

  afterAll(async () => {
    await ds?.stop();
    await stack?.close();
    fs.rmSync(modDir, { recursive: true, force: true });
  });

  it("send_command to 'mgr' runs native and module commands through daemon-server", async () => {
    const [r, out] = await send('mgr', { prefix: 'pg stat', format: 'json' });
    expect(r).toBe(0);
    expect(JSON.parse(out).pg_summary.num_pgs).toBe(stack.sim.pgs.length);
    expect(await send('mgr', { prefix: 'hello', person_name: 'Python' })).toEqual([0, 'Hello Python', '']);
  });

  it('bad arguments and unknown prefixes get -22 from daemon-server', async () => {
    const [r, , err] = await send('mgr', { prefix: 'hello count', num: 'many' });
    expect(r).toBe(-22);
    expect(err).toMatch(/^Invalid command: /);
    expect((await send('mgr', { prefix: 'no such command' }))[0]).toBe(-22);
  });

  it("'mon' commands go to daemon-server, which answers or says it has no handler; osd commands answer -95", async () => {
    const [r, out] = await send('mon', { prefix: 'pg stat' });
    expect(r).toBe(0);
    expect(out).toMatch(new RegExp(`^${stack.sim.pgs.length} pgs: `));
    // The monitors' commands daemon-server answers (osd pool ls, osd dump, ...) go there too.
    const [rp, pools] = await send('mon', { prefix: 'osd pool ls', format: 'json' });
    expect(rp).toBe(0);
    expect(JSON.parse(pools)).toEqual(stack.sim.pools.map((p) => p.name));
    // One it does not serve: it says so.
    const [r2, , err2] = await send('mon', { prefix: 'auth ls' });
    expect([r2, err2]).toEqual([-22, "No handler found for 'auth ls'"]);
    const [r3, , err3] = await send('osd', { prefix: 'bench' });
    expect(r3).toBe(-95);
    expect(err3).toMatch(/does not forward commands to osd/);
  });

  it("a tagged send_command comes back as notify('command', tag)", async () => {
    const r = await cmd('pysender tagged', { cmd: JSON.stringify({ prefix: 'pg stat' }), tag: 'tag-7' });
    expect(r.retcode).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toBe(0);
    await until("notify('command', 'tag-7')", async () => JSON.parse((await cmd('pysender tags')).stdout).includes('tag-7'));
  });
});
