// daemon-server's commands to module-host over its command socket
// (MGR_MODULE_HOST_COMMAND_SOCKET: a Unix-domain socket, length-prefixed
// CommandStream messages after a first frame with the manager's proof):
// the same answers and failures as over the gRPC stream, reopened after
// module-host restarts, refused without a manager's proof, and a hostile
// connection (no proof, an oversized or undecodable frame) closed while
// module-host keeps serving. Real services on loopback, authentication on.
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Status } from 'nice-grpc';
import { connect, Peer } from '../../../lib/client';
import { keyringCredentials } from '../../../lib/auth/keys';
import { setCallProof } from '../../../lib/auth/grpc';
import { ENTITY_HEADER, PROOF_HEADER } from '../../../lib/auth/proof';
import { COMMAND_SOCKET_METHOD, commandSocketAudience, MAX_COMMAND_FRAME_BYTES } from '../../../lib/command-socket';
import { frame, FrameReader } from '../../../lib/length-prefixed';
import { DaemonServerServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { CommandSocketOpen, CommandStreamRequest, CommandStreamResponse } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { startModuleHost, ModuleHostHandle } from '../../module-host/server';
import { startDaemonServer, DaemonServerHandle } from '../server';
import { freePort, until } from '../../../lib/testing/wait';
import { abandonedCommands, callError, startStack } from './helpers';

const FIXTURES = path.join(__dirname, '../../module-host/test/fixtures/modules');

/** A connection to the socket as a hostile (or honest) caller would make it: frames out, answers in, and whether module-host closed it. */
function rawConnection(socketPath: string) {
  const socket = net.createConnection(socketPath);
  const reader = new FrameReader(64 * 1024 * 1024);
  const answers: CommandStreamResponse[] = [];
  let closed = false;
  socket.on('data', (chunk: Buffer) => answers.push(...reader.push(chunk).map((b) => CommandStreamResponse.decode(b))));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  return {
    answers,
    closed: () => closed,
    write: (bytes: Buffer) => socket.write(bytes),
    destroy: () => socket.destroy(),
  };
}

describe("daemon-server's commands over module-host's command socket", () => {
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-cmdsock-'));
  const socketPath = path.join(sockDir, 'commands.sock');
  let t: Awaited<ReturnType<typeof startStack>>;
  let mh: ModuleHostHandle;
  let mhPort: number;
  /** Commands over the socket. */
  let ds: DaemonServerHandle;
  /** The same module-host's commands over the gRPC stream, for comparison. */
  let dsGrpc: DaemonServerHandle;
  let peer: Peer<typeof DaemonServerServiceDefinition>;
  let peerGrpc: Peer<typeof DaemonServerServiceDefinition>;
  const startMh = () =>
    startModuleHost({
      port: mhPort,
      clusterStateAddr: t.cs.address,
      modulePath: [FIXTURES],
      enabledModules: ['blocker', 'hello'],
      alwaysOnModules: [],
      commandTimeoutMs: 60000,
      logLevel: 'error',
      metricsPort: -1,
      keyringPath: t.keyringPath,
      commandSocket: socketPath,
    });
  const running = () =>
    until('the modules running', () => ['blocker', 'hello'].every((n) => mh.host.modules().find((m) => m.name === n && m.state === 'running')), 30000);
  /** module-host's finished HandleCommand calls. */
  const handleCommandCalls = async () => {
    const m = await mh.service.registry.getSingleMetric('mgr_grpc_server_handled_total')!.get();
    return m.values.filter((v) => String(v.labels.method).endsWith('/HandleCommand')).reduce((a, v) => a + v.value, 0);
  };
  const command = (p: Peer<typeof DaemonServerServiceDefinition>, prefix: string, args: Record<string, unknown> = {}) =>
    p.client.command({ prefix, args: JSON.stringify(args), inbuf: Buffer.alloc(0) }, t.admin);
  const socketOpen = () => until('the command socket to open', () => ds.commandStream!.isOpen && mh.commandSocket!.sessions === 1, 20000);
  /** The first frame a caller sends: `entity`'s proof for the socket (or none). */
  const openFrame = (entity?: string) => {
    const headers = new Map<string, string>();
    if (entity) setCallProof(headers, keyringCredentials(t.keyringPath, entity), commandSocketAudience(socketPath), COMMAND_SOCKET_METHOD);
    return frame(CommandSocketOpen.encode({ entity: headers.get(ENTITY_HEADER) ?? '', proof: headers.get(PROOF_HEADER) ?? '' }).finish());
  };
  const ping = (id: number): CommandStreamRequest => ({
    id,
    command: { prefix: 'blocker ping', args: '{}', inbuf: Buffer.alloc(0), entity: 'client.admin', module: 'blocker' },
    timeoutMs: 0,
    cancel: false,
  });
  const pingFrame = (id: number) => frame(CommandStreamRequest.encode(ping(id)).finish());

  beforeAll(async () => {
    t = await startStack();
    mhPort = await freePort();
    mh = await startMh();
    const dsOpts = {
      name: 'x',
      clusterStateAddr: t.cs.address,
      moduleHostAddr: mh.address,
      keyringPath: t.keyringPath,
      commandTimeoutMs: 1000,
      logLevel: 'error',
      metricsPort: -1,
    };
    ds = await startDaemonServer({ ...dsOpts, moduleHostCommandSocket: socketPath });
    dsGrpc = await startDaemonServer(dsOpts);
    peer = connect(DaemonServerServiceDefinition, ds.address);
    peerGrpc = connect(DaemonServerServiceDefinition, dsGrpc.address);
    await running();
  }, 60000);

  afterAll(async () => {
    peer?.close();
    peerGrpc?.close();
    await ds?.stop();
    await dsGrpc?.stop();
    await mh?.stop();
    await t?.close();
    fs.rmSync(sockDir, { recursive: true, force: true });
  });

  it('listens at the path, mode 0600', () => {
    expect(fs.statSync(socketPath).isSocket()).toBe(true);
    expect(fs.statSync(socketPath).mode & 0o777).toBe(0o600);
  });

  it('answers module commands over the socket with the same answers as over gRPC', async () => {
    await socketOpen();
    await until('the gRPC command stream to open', () => dsGrpc.commandStream!.isOpen, 20000);
    const before = await handleCommandCalls();
    for (const [prefix, args] of [
      ['blocker ping', {}],
      ['hello', { person_name: 'socket' }],
      ['hello', {}],
    ] as const) {
      const overSocket = await command(peer, prefix, args);
      expect(overSocket).toEqual(await command(peerGrpc, prefix, args));
      expect(overSocket.result!.retcode).toBe(0);
    }
    const many = await Promise.all(Array.from({ length: 20 }, () => command(peer, 'blocker ping')));
    expect(many.map((r) => r.result!.stdout)).toEqual(Array(20).fill('pong'));
    // None went as a HandleCommand call; the socket's session is still the one open.
    expect(await handleCommandCalls()).toBe(before);
    expect(mh.commandSocket!.sessions).toBe(1);
  });

  it("sends a command larger than the socket's frame bound as a HandleCommand call, with the same answer", async () => {
    await socketOpen();
    const before = await handleCommandCalls();
    const big = Buffer.alloc(MAX_COMMAND_FRAME_BYTES - 16, 1);
    const r = await peer.client.command({ prefix: 'blocker ping', args: '{}', inbuf: big }, t.admin);
    expect(r.result).toEqual({ retcode: 0, stdout: 'pong', stderr: '' });
    expect(await handleCommandCalls()).toBe(before + 1);
    expect(mh.commandSocket!.sessions).toBe(1);
  });

  it('fails a command past its deadline as over gRPC, and module-host abandons it', async () => {
    await socketOpen();
    const before = await abandonedCommands(mh, 'blocker');
    const overSocket = await callError(command(peer, 'blocker wait'));
    const overGrpc = await callError(command(peerGrpc, 'blocker wait'));
    expect([overSocket.code, overSocket.details]).toEqual([overGrpc.code, overGrpc.details]);
    expect(overSocket.code).toBe(Status.DEADLINE_EXCEEDED);
    await until('module-host to abandon both commands', async () => (await abandonedCommands(mh, 'blocker')) === before + 2, 10000);
  });

  it('refuses a connection without a proof, or with the proof of an entity that is not a manager, and closes it', async () => {
    for (const [entity, status, message] of [
      [undefined, Status.UNAUTHENTICATED, /^no credentials: send x-mgr-entity and x-mgr-proof/],
      ['client.admin', Status.PERMISSION_DENIED, /^client\.admin may not call CommandStream: only managers/],
    ] as const) {
      const c = rawConnection(socketPath);
      c.write(openFrame(entity));
      c.write(pingFrame(1));
      await until('module-host to close the connection', () => c.closed(), 10000);
      expect(c.answers).toHaveLength(1);
      expect(c.answers[0]).toEqual(expect.objectContaining({ id: 0, status }));
      expect(c.answers[0].message).toMatch(message);
    }
  });

  it("refuses a manager's proof used twice (a replay)", async () => {
    const first = openFrame('mgr.x');
    const honest = rawConnection(socketPath);
    honest.write(first);
    honest.write(pingFrame(1));
    await until('the answer', () => honest.answers.length === 2, 10000);
    expect(honest.answers.map((a) => [a.id, a.status, a.response?.result?.stdout])).toEqual([
      [0, Status.OK, undefined],
      [1, Status.OK, 'pong'],
    ]);
    honest.destroy();
    const replay = rawConnection(socketPath);
    replay.write(first);
    await until('module-host to close the connection', () => replay.closed(), 10000);
    expect(replay.answers.map((a) => [a.id, a.status])).toEqual([[0, Status.UNAUTHENTICATED]]);
    expect(replay.answers[0].message).toMatch(/already used/);
  });

  it('closes a connection that sends nothing within the bound', async () => {
    const c = rawConnection(socketPath);
    await until('module-host to close the silent connection', () => c.closed(), 20000);
    expect(c.answers).toEqual([]);
  });

  it('closes a connection sending an oversized or undecodable frame, and keeps serving', async () => {
    await socketOpen();
    const oversized = Buffer.alloc(4);
    oversized.writeUInt32BE(0xffffffff);
    const garbage = frame(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    for (const [first, then] of [
      [oversized, undefined], // as its first frame
      [openFrame('mgr.x'), oversized], // after a good open
      [garbage, undefined], // a first frame that is no CommandSocketOpen
      [openFrame('mgr.x'), garbage], // a request that is no CommandStreamRequest
    ] as const) {
      const c = rawConnection(socketPath);
      c.write(first);
      if (then) {
        await until('the connection to open', () => c.answers.length === 1, 10000);
        c.write(then);
      }
      await until('module-host to close the connection', () => c.closed(), 10000);
      expect(c.answers.filter((a) => a.id !== 0)).toEqual([]);
    }
    // module-host and daemon-server's own session carry on.
    expect((await command(peer, 'blocker ping')).result!.stdout).toBe('pong');
    expect(mh.commandSocket!.sessions).toBe(1);
  });

  it('uses HandleCommand while module-host is down, and reopens the socket when it is back', async () => {
    await socketOpen();
    await mh.stop();
    expect(fs.existsSync(socketPath)).toBe(false);
    await until('the command socket to close', () => !ds.commandStream!.isOpen, 20000);
    const e = await callError(command(peer, 'blocker ping'));
    expect(e.code).toBe(Status.UNAVAILABLE);
    expect(e.details).toMatch(/^module-host is unavailable: /);

    mh = await startMh();
    await running();
    await socketOpen();
    const before = await handleCommandCalls();
    expect((await command(peer, 'blocker ping')).result!.stdout).toBe('pong');
    expect(await handleCommandCalls()).toBe(before);
  }, 90000);
});

describe("module-host's command socket path", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-cmdsock-path-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const start = (commandSocket: string) =>
    startModuleHost({
      clusterStateAddr: '127.0.0.1:1',
      enabledModules: [],
      alwaysOnModules: [],
      logLevel: 'error',
      metricsPort: -1,
      keyringPath: null,
      commandSocket,
    });

  it('is refused in a folder others can write', async () => {
    const open = path.join(dir, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    await expect(start(path.join(open, 'commands.sock'))).rejects.toThrow(/writable by others \(mode 777\)/);
  });

  it('is refused where a file that is not a socket stands', async () => {
    const file = path.join(dir, 'not-a-socket');
    fs.writeFileSync(file, 'x');
    await expect(start(file)).rejects.toThrow(/exists and is not a socket/);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  it('replaces a stale socket left by a module-host that did not stop, and removes its own at stop', async () => {
    const file = path.join(dir, 'stale.sock');
    // A socket file nobody listens on (a server that died without unlinking it).
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(file, r));
    // Closing a listening socket unlinks it: moved aside while it closes, it stays behind.
    const keep = path.join(dir, 'stale-copy.sock');
    fs.renameSync(file, keep);
    await new Promise<void>((r) => stale.close(() => r()));
    fs.renameSync(keep, file);
    expect(fs.statSync(file).isSocket()).toBe(true);
    const mh = await start(file);
    try {
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      await mh.stop();
    }
    expect(fs.existsSync(file)).toBe(false);
  });
});
