// daemon-server's command stream to module-host (command-stream.ts, and
// module-host's CommandStream): module commands answered over it rather
// than as HandleCommand calls, deadlines and cancellations abandoned as
// before, HandleCommand used while module-host is down, the stream reopened
// after module-host restarts, bounded in flight, refused to anyone but a
// manager, and opened over mutual TLS when deployed so. Real services on
// loopback, module-host with authentication on.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Status } from 'nice-grpc';
import { connect, Peer } from '../../../lib/client';
import { keyringCredentials } from '../../../lib/auth/keys';
import { AsyncQueue } from '../../../lib/async-queue';
import { DaemonServerServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { CommandStreamRequest, CommandStreamResponse, ModuleHostServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { MAX_STREAM_IN_FLIGHT, startModuleHost, ModuleHostHandle } from '../../module-host/server';
import { startDaemonServer, DaemonServerHandle } from '../server';
import { freePort, until } from '../../../lib/testing/wait';
import { makeTestCerts } from '../../../lib/testing/certs';
import { startClusterState, ClusterStateHandle } from '../../cluster-state/server';
import { abandonedCommands, callError, startStack } from './helpers';

const FIXTURES = path.join(__dirname, '../../module-host/test/fixtures/modules');

describe("daemon-server's command stream to module-host", () => {
  let t: Awaited<ReturnType<typeof startStack>>;
  let mh: ModuleHostHandle;
  let mhPort: number;
  let ds: DaemonServerHandle;
  let peer: Peer<typeof DaemonServerServiceDefinition>;
  const abandoned = () => abandonedCommands(mh, 'blocker');
  const startMh = () =>
    startModuleHost({
      port: mhPort,
      clusterStateAddr: t.cs.address,
      modulePath: [FIXTURES],
      enabledModules: ['blocker'],
      alwaysOnModules: [],
      commandTimeoutMs: 60000,
      logLevel: 'error',
      metricsPort: -1,
      keyringPath: t.keyringPath,
    });
  const blockerRunning = () => until('the blocker module running', () => mh.host.modules().find((m) => m.name === 'blocker' && m.state === 'running'), 30000);
  /** module-host's finished calls of one method (a stream counts when it ends). */
  const handled = async (method: string) => {
    const m = await mh.service.registry.getSingleMetric('mgr_grpc_server_handled_total')!.get();
    return m.values.filter((v) => String(v.labels.method).endsWith(`/${method}`)).reduce((a, v) => a + v.value, 0);
  };
  const command = (prefix: string, args: Record<string, unknown> = {}, signal?: AbortSignal) =>
    peer.client.command({ prefix, args: JSON.stringify(args), inbuf: Buffer.alloc(0) }, { ...t.admin, signal });
  /** Opens module-host's CommandStream directly as `entity`. */
  const openAs = (entity: string, requests: AsyncIterable<CommandStreamRequest>, signal?: AbortSignal) => {
    const p = connect(ModuleHostServiceDefinition, mh.address, undefined, { credentials: keyringCredentials(t.keyringPath, entity) });
    return { responses: p.client.commandStream(requests, { signal }), close: () => p.close() };
  };

  beforeAll(async () => {
    t = await startStack();
    mhPort = await freePort();
    mh = await startMh();
    ds = await startDaemonServer({
      name: 'x',
      clusterStateAddr: t.cs.address,
      moduleHostAddr: mh.address,
      keyringPath: t.keyringPath,
      commandTimeoutMs: 1000,
      logLevel: 'error',
      metricsPort: -1,
    });
    peer = connect(DaemonServerServiceDefinition, ds.address);
    await blockerRunning();
  }, 60000);

  afterAll(async () => {
    peer?.close();
    await ds?.stop();
    await mh?.stop();
    await t?.close();
  });

  it('answers module commands over the stream, not as HandleCommand calls', async () => {
    await until('the command stream to open', () => ds.commandStream!.isOpen, 20000);
    const before = await handled('HandleCommand');
    expect((await command('blocker ping')).result).toEqual({ retcode: 0, stdout: 'pong', stderr: '' });
    const many = await Promise.all(Array.from({ length: 20 }, () => command('blocker ping')));
    expect(many.map((r) => r.result!.stdout)).toEqual(Array(20).fill('pong'));
    expect(await handled('HandleCommand')).toBe(before);
    expect(ds.commandStream!.isOpen).toBe(true);
    // The count would have seen a HandleCommand call.
    const direct = connect(ModuleHostServiceDefinition, mh.address, undefined, { credentials: keyringCredentials(t.keyringPath, 'mgr.x') });
    try {
      const r = await direct.client.handleCommand({ prefix: 'blocker ping', args: '{}', inbuf: Buffer.alloc(0), entity: 'client.admin', module: 'blocker' });
      expect(r.result!.stdout).toBe('pong');
      expect(await handled('HandleCommand')).toBe(before + 1);
    } finally {
      direct.close();
    }
  });

  it('answers DEADLINE_EXCEEDED as before, and module-host abandons the command', async () => {
    await until('the command stream to open', () => ds.commandStream!.isOpen, 20000);
    const before = await abandoned();
    const e = await callError(command('blocker wait'));
    expect(e.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(e.details).toBe("module command 'blocker wait' did not answer within 1000 ms (MGR_COMMAND_TIMEOUT_MS)");
    await until('module-host to abandon the command', async () => (await abandoned()) === before + 1, 10000);
  });

  it("passes the caller's cancellation on to module-host", async () => {
    await until('the command stream to open', () => ds.commandStream!.isOpen, 20000);
    const before = await abandoned();
    const caller = new AbortController();
    const call = command('blocker wait', { tag: 'stream-cancel' }, caller.signal);
    await until('the command to reach the module', async () => (await t.csClient.getStore({ key: 'mgr/blocker/waiting/stream-cancel' })).found, 10000, 20);
    caller.abort();
    await expect(call).rejects.toThrow(/abort/i);
    await until('module-host to abandon the cancelled command', async () => (await abandoned()) === before + 1, 10000);
  });

  it('refuses the stream to an entity that is not a manager', async () => {
    const requests = new AsyncQueue<CommandStreamRequest>();
    const s = openAs('client.admin', requests);
    try {
      const e = await callError((async () => (await s.responses[Symbol.asyncIterator]().next()).value)());
      expect(e.code).toBe(Status.PERMISSION_DENIED);
      expect(e.details).toBe('client.admin may not call CommandStream: only managers (mgr.<name>) may');
    } finally {
      requests.end();
      s.close();
    }
  });

  it(`answers RESOURCE_EXHAUSTED past ${MAX_STREAM_IN_FLIGHT} commands in flight, and abandons them all when the stream ends`, async () => {
    const requests = new AsyncQueue<CommandStreamRequest>();
    const closing = new AbortController();
    const s = openAs('mgr.x', requests, closing.signal);
    const it = s.responses[Symbol.asyncIterator]();
    const next = async (): Promise<CommandStreamResponse> => (await it.next()).value;
    try {
      expect((await next()).id).toBe(0); // open
      const before = await abandoned();
      const wait = { prefix: 'blocker wait', args: '{}', inbuf: Buffer.alloc(0), entity: 'client.admin', module: 'blocker' };
      for (let id = 1; id <= MAX_STREAM_IN_FLIGHT + 1; id++) requests.push({ id, command: wait, timeoutMs: 0, cancel: false });
      const over = await next();
      expect(over).toEqual(expect.objectContaining({ id: MAX_STREAM_IN_FLIGHT + 1, status: Status.RESOURCE_EXHAUSTED }));
      expect(over.message).toBe(`more than ${MAX_STREAM_IN_FLIGHT} commands in flight on this stream`);
      // A command id already in flight is refused too.
      requests.push({ id: 1, command: wait, timeoutMs: 0, cancel: false });
      expect((await next()).status).toBe(Status.INVALID_ARGUMENT);
      closing.abort();
      await until('module-host to abandon every command of the ended stream', async () => (await abandoned()) === before + MAX_STREAM_IN_FLIGHT, 20000);
    } finally {
      requests.end();
      s.close();
    }
  }, 60000);

  it('uses HandleCommand while module-host is down, and reopens the stream when it is back', async () => {
    await until('the command stream to open', () => ds.commandStream!.isOpen, 20000);
    await mh.stop();
    await until('the command stream to close', () => !ds.commandStream!.isOpen, 20000);
    // What a command met before the stream: module-host unavailable, as a call.
    const e = await callError(command('blocker ping'));
    expect(e.code).toBe(Status.UNAVAILABLE);
    expect(e.details).toMatch(/^module-host is unavailable: /);

    mh = await startMh();
    await blockerRunning();
    await until('the command stream to reopen', () => ds.commandStream!.isOpen, 20000);
    const before = await handled('HandleCommand');
    expect((await command('blocker ping')).result!.stdout).toBe('pong');
    expect(await handled('HandleCommand')).toBe(before);
  }, 90000);
});

describe("daemon-server's command stream over mutual TLS", () => {
  const certs = makeTestCerts();
  const serving = { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, clientAuth: true };
  const calling = { cert: certs.clientCert, key: certs.clientKey, ca: certs.ca };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-cmdstream-tls-'));
  const keyringPath = path.join(dataDir, 'keyring');
  let cs: ClusterStateHandle;
  let mh: ModuleHostHandle;
  let ds: DaemonServerHandle;

  afterAll(async () => {
    await ds?.stop();
    await mh?.stop();
    await cs?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it("opens on module-host's TLS channel with the manager's proof and answers commands over it", async () => {
    cs = await startClusterState({ dataDir: path.join(dataDir, 'cs'), keyringPath, logLevel: 'error', metricsPort: -1, tls: serving });
    mh = await startModuleHost({
      clusterStateAddr: cs.address,
      modulePath: [FIXTURES],
      enabledModules: ['blocker'],
      alwaysOnModules: [],
      logLevel: 'error',
      metricsPort: -1,
      keyringPath,
      tls: serving,
      peerTls: calling,
    });
    ds = await startDaemonServer({
      name: 'x',
      clusterStateAddr: cs.address,
      moduleHostAddr: mh.address,
      keyringPath,
      logLevel: 'error',
      metricsPort: -1,
      tls: serving,
      peerTls: calling,
    });
    await until('the command stream to open', () => ds.commandStream!.isOpen, 30000);
    await until('the blocker module running', () => mh.host.modules().find((m) => m.name === 'blocker' && m.state === 'running'), 30000);
    const peer = connect(DaemonServerServiceDefinition, ds.address, calling, { credentials: keyringCredentials(keyringPath, 'client.admin') });
    try {
      const r = await peer.client.command({ prefix: 'blocker ping', args: '{}', inbuf: Buffer.alloc(0) });
      expect(r.result).toEqual({ retcode: 0, stdout: 'pong', stderr: '' });
      expect(ds.commandStream!.isOpen).toBe(true);
    } finally {
      peer.close();
    }
  }, 90000);
});
