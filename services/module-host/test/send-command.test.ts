// sendCommand end to end: a module (fixtures/send-command/sender) sends
// commands through a real daemon-server, authenticated as mgr.x from the
// keyring daemon-server wrote, to a native command (pg stat), a module
// command (hello, back through this module-host) and a bad one (-22).
import { keyringCredentials } from '../../../lib/auth/keys';
import * as fs from 'fs';
import * as path from 'path';
import { openChannel, makeClient } from '../../../lib/client';
import { ModuleHostServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { startDaemonServer, DaemonServerHandle } from '../../daemon-server/server';
import { parseKeyring } from '../../../lib/keyring';
import { ModuleHostHandle } from '../server';
import { CommandSender } from '../send-command';
import { startStack, until } from '../../../modules/prometheus/test/stack';
import { startStandby, StandbyHandle } from '../../standby/server';

const FIXTURES = path.join(__dirname, 'fixtures/send-command');

describe('sendCommand', () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let mh: ModuleHostHandle;
  let ds: DaemonServerHandle;
  let keyringPath: string;

  /** Runs `sender run`: the module sends `command` and answers sendCommand's result. */
  const send = async (command: Record<string, unknown>): Promise<[number, string, string]> => {
    // as daemon-server calls it: only managers reach module-host's commands
    const client = makeClient(ModuleHostServiceDefinition, openChannel(mh.address), { credentials: keyringCredentials(keyringPath, 'mgr.x') });
    const res = await client.handleCommand({
      prefix: 'sender run',
      args: JSON.stringify({ prefix: 'sender run', command: JSON.stringify(command) }),
      inbuf: Buffer.alloc(0),
      entity: 'client.admin',
    });
    expect(res.result!.retcode).toBe(0);
    return JSON.parse(res.result!.stdout);
  };

  beforeAll(async () => {
    stack = await startStack();
    keyringPath = path.join(stack.dir, 'keyring');
    // module-host starts first (daemon-server needs its address); it reads
    // its key only when a module first sends a command.
    mh = await stack.startHost({ name: 'x', modulePath: [FIXTURES], enabledModules: ['sender', 'hello'], keyringPath });
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
    await until('pg stats in cluster-state', async () => {
      const r = await stack.csClient.get({ what: 'pg_status' }).catch(() => null);
      return r && JSON.parse(Buffer.from(r.json).toString()).num_pgs > 0;
    });
  }, 60000);

  afterAll(async () => {
    await ds?.stop();
    await stack?.close();
  });

  it('daemon-server created mgr.x (allow *) in the keyring', () => {
    const e = parseKeyring(fs.readFileSync(keyringPath, 'utf8')).get('mgr.x');
    expect(e?.caps.mgr).toBe('allow *');
  });

  it('runs a native command (pg stat) through daemon-server', async () => {
    const [r, out, err] = await send({ prefix: 'pg stat', format: 'json' });
    expect([r, err]).toEqual([0, '']);
    expect(JSON.parse(out).pg_summary.num_pgs).toBe(stack.sim.pgs.length);
    const [r2, plain] = await send({ prefix: 'pg stat' });
    expect(r2).toBe(0);
    expect(plain).toMatch(new RegExp(`^${stack.sim.pgs.length} pgs: `));
  });

  it('runs a module command (hello) through daemon-server back into module-host', async () => {
    expect(await send({ prefix: 'hello', person_name: 'Sender' })).toEqual([0, 'Hello Sender', '']);
  });

  it('validates arguments and prefixes as daemon-server does (-22)', async () => {
    const [r, , err] = await send({ prefix: 'hello count', num: 'many' });
    expect(r).toBe(-22);
    expect(err).toMatch(/^Invalid command: /);
    const [r2, , err2] = await send({ prefix: 'no such command' });
    expect(r2).toBe(-22);
    expect(err2).toBe("No handler found for 'no such command'");
  });

  it('checks caps: an entity without write caps is refused (-13)', async () => {
    // The same path with client.ro (allow r): a write command is denied by daemon-server.
    const ro = new CommandSender({ mgrName: 'x', entity: 'client.ro', keyringPath, fallbackAddr: ds.address, timeoutMs: 5000, log: () => undefined });
    try {
      const [r, , err] = await ro.send('sender', 'config set', { key: 'mgr_stats_period', value: '5' }, '');
      expect(r).toBe(-13);
      expect(err).toMatch(/access denied/);
      // The audit line names the entity; only a manager may name the module it acts for (x-mgr-on-behalf-of).
      const line = await until('audit line', async () => stack.cs.state.clog.find((e) => e.channel === 'audit' && /config set/.test(e.message)));
      expect(line.message).toMatch(/entity='client\.ro' cmd=\[.*"prefix":"config set".*\]: access denied$/);
      expect(line.message).not.toContain("from='mgr.x/sender'");
      expect((await ro.send('sender', 'pg stat', {}, ''))[0]).toBe(0);
    } finally {
      ro.close();
    }
  });

  it('without a daemon-server or with a wrong key: a clear error, not a hang', async () => {
    const none = new CommandSender({ mgrName: 'x', keyringPath, timeoutMs: 5000, log: () => undefined });
    const [r, , err] = await none.send('sender', 'pg stat', {}, '');
    expect(r).toBe(-107);
    expect(err).toMatch(/MGR_DAEMON_SERVER_ADDR/);
    const other = path.join(stack.dir, 'other-keyring');
    fs.writeFileSync(other, '[mgr.x]\n\tkey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\tcaps mgr = "allow *"\n');
    const wrong = new CommandSender({ mgrName: 'x', keyringPath: other, fallbackAddr: ds.address, timeoutMs: 5000, log: () => undefined });
    try {
      const [r2, , err2] = await wrong.send('sender', 'pg stat', {}, '');
      expect(r2).toBe(-13);
      expect(err2).toMatch(/authentication failed for 'mgr.x'/);
    } finally {
      wrong.close();
    }
  });

  it('MGR_AUTH=none: no key is read or sent', async () => {
    const open = await startDaemonServer({ name: 'x', port: 0, metricsPort: -1, logLevel: 'error', clusterStateAddr: stack.cs.address, auth: false });
    const sender = new CommandSender({ mgrName: 'x', keyringPath: null, fallbackAddr: open.address, timeoutMs: 5000, log: () => undefined });
    try {
      const [r, out] = await sender.send('sender', 'pg stat', { format: 'json' }, '');
      expect(r).toBe(0);
      expect(JSON.parse(out).pg_summary.num_pgs).toBe(stack.sim.pgs.length);
    } finally {
      sender.close();
      await open.stop();
    }
  });
});

describe('sendCommand with a standby service: the MgrMap names the daemon-server', () => {
  let keyringPath = '';
  let stack: Awaited<ReturnType<typeof startStack>>;
  let sb: StandbyHandle;
  let mh: ModuleHostHandle;
  let ds: DaemonServerHandle;

  beforeAll(async () => {
    stack = await startStack();
    keyringPath = path.join(stack.dir, 'keyring');
    sb = await startStandby({
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      dataDir: path.join(stack.dir, 'standby'),
      beaconIntervalMs: 200,
      graceMs: 2000,
      initialModules: ['sender', 'hello'],
    });
    // No MGR_DAEMON_SERVER_ADDR: the address can only come from the map.
    mh = await stack.startHost({ name: 'x', modulePath: [FIXTURES], enabledModules: [], standbyAddr: sb.address, keyringPath });
    ds = await startDaemonServer({
      name: 'x',
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      clusterStateAddr: stack.cs.address,
      moduleHostAddr: mh.address,
      standbyAddr: sb.address,
      keyringPath,
    });
    await until(
      'x active with sender running',
      async () => ds.isActive() && mh.host.isActive() && mh.host.modules().find((m) => m.name === 'sender')?.state === 'running',
    );
  }, 60000);

  afterAll(async () => {
    await ds?.stop();
    await stack?.close();
    await sb?.stop();
  });

  it("follows the active's daemon-server address from the MgrMap", async () => {
    expect(mh.commands.address()).toBe(ds.address);
    const client = makeClient(ModuleHostServiceDefinition, openChannel(mh.address), { credentials: keyringCredentials(keyringPath, 'mgr.x') });
    const res = await client.handleCommand({
      prefix: 'sender run',
      args: JSON.stringify({ prefix: 'sender run', command: JSON.stringify({ prefix: 'mgr stat', format: 'json' }) }),
      inbuf: Buffer.alloc(0),
      entity: 'client.admin',
    });
    const [r, out] = JSON.parse(res.result!.stdout);
    expect(r).toBe(0);
    expect(JSON.parse(out).active_name).toBe('x');
  });
});
