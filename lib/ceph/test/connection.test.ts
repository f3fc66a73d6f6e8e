// Our msgr2 client against our msgr2 server on loopback: the handshake,
// messages both ways, keepalives, and bad input ending one connection only.
import * as net from 'net';
import { AuthMethod, ConMode, type AuthClientSession, type AuthServerSession } from '../auth';
import { authNoneClient, authNoneServer } from '../authnone';
import { Connection, ConnectionError, WireCounters, type PeerInfo } from '../connection';
import { controlFrame, decodeControl } from '../control';
import { ByteQueue, CrcCodec, encodeBanner, FrameReader, Tag } from '../frames';
import { MsgType, type Message } from '../message';
import { EntityType, v2Addr } from '../types';
import { createLogger } from '../../log';
import { until } from '../../testing/wait';

const logger = createLogger({ test: 'connection' }, 'error');
const codec = new CrcCodec();

interface Server {
  port: number;
  conns: Connection[];
  counters: WireCounters;
  close(): Promise<void>;
}

async function startServer(
  auth: () => AuthServerSession = () => authNoneServer(),
  extra: Partial<Parameters<typeof Connection.accept>[1]> = {},
): Promise<Server> {
  const counters = new WireCounters();
  const conns: Connection[] = [];
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  srv.on('connection', (s) => {
    const c = Connection.accept(s, { logger, entityType: EntityType.MGR, auth, myAddrs: [v2Addr('127.0.0.1', port)], counters, ...extra });
    conns.push(c);
    c.on('message', (m: Message) => {
      // echo with a bumped type so the test can tell
      c.sendMessage({ type: m.type + 1, version: 1, compatVersion: 1, front: m.front, data: m.data, tid: m.tid });
    });
  });
  return {
    port,
    conns,
    counters,
    close: async () => {
      for (const c of conns) c.close();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** A raw peer for speaking frames by hand: returns what the other side sends, frame by frame. */
async function rawPeer(port: number) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const q = new ByteQueue();
  let bannerSeen = false;
  const frames: Array<{ tag: number; payload: Buffer }> = [];
  const reader = new FrameReader(q, codec, 1 << 20);
  let closed = false;
  s.on('data', (d) => {
    q.push(d);
    if (!bannerSeen && q.length >= 26) {
      q.take(26);
      bannerSeen = true;
    }
    if (bannerSeen) for (let f = reader.next(); f; f = reader.next()) frames.push({ tag: f.tag, payload: f.segments[0] });
  });
  s.on('close', () => (closed = true));
  s.on('error', () => undefined);
  return {
    frames,
    isClosed: () => closed,
    write: (b: Buffer) => s.write(b),
    end: () => s.destroy(),
  };
}

/** A test stand-in for cephx (until both sides of cephx exist): a fixed session key per side. */
function keyedClient(key: Buffer): AuthClientSession {
  return {
    request: () => ({ method: AuthMethod.CEPHX, preferredModes: [ConMode.CRC], payload: Buffer.from('hi') }),
    more: () => Buffer.alloc(0),
    done: (globalId, conMode) => ({ globalId, conMode, sessionKey: key, connectionSecret: Buffer.alloc(0) }),
  };
}
function keyedServer(key: Buffer): AuthServerSession {
  return {
    request: () => ({ kind: 'more', payload: Buffer.from('challenge') }),
    more: () => ({
      kind: 'done',
      payload: Buffer.from('ok'),
      result: { globalId: 4242n, conMode: ConMode.CRC, sessionKey: key, connectionSecret: Buffer.alloc(0) },
      peer: { type: EntityType.OSD, id: '3' },
      caps: { mgr: 'allow profile osd' },
    }),
  };
}

describe('msgr2 connection, our client to our server', () => {
  let server: Server;
  afterEach(async () => server?.close());

  it('authenticates (auth none), identifies both sides and carries messages both ways with sequence numbers', async () => {
    server = await startServer();
    const c = await Connection.connect({
      logger,
      entityType: EntityType.CLIENT,
      host: '127.0.0.1',
      port: server.port,
      auth: authNoneClient({ type: EntityType.CLIENT, id: 'admin' }, 77n),
      peerType: EntityType.MGR,
    });
    expect(c.peer).toMatchObject({ entityType: EntityType.MGR, features: 0x3f01cfbdfffdffffn });
    const s = await until('server side ready', () => server.conns.find((x) => x.isReady));
    expect(s.peer).toMatchObject({ entityType: EntityType.CLIENT, name: { type: EntityType.CLIENT, id: 'admin' }, globalId: 77n } satisfies Partial<PeerInfo>);
    const got: Message[] = [];
    c.on('message', (m: Message) => got.push(m));
    for (let i = 0; i < 3; i++)
      c.sendMessage({ type: MsgType.MON_COMMAND, version: 1, compatVersion: 1, front: Buffer.from(`m${i}`), data: Buffer.from('in'), tid: BigInt(i + 1) });
    await until('three echoes', () => got.length === 3);
    expect(got.map((m) => [m.type, m.front.toString(), m.data?.toString(), m.tid, m.seq])).toEqual([
      [MsgType.MON_COMMAND_ACK, 'm0', 'in', 1n, 1n],
      [MsgType.MON_COMMAND_ACK, 'm1', 'in', 2n, 2n],
      [MsgType.MON_COMMAND_ACK, 'm2', 'in', 3n, 3n],
    ]);
    expect(got[2].ackSeq).toBeGreaterThanOrEqual(1n); // the server acknowledges what it got
    expect(c.counters.messagesIn).toBe(3);
    c.close();
  });

  it('checks AUTH_SIGNATURE both ways with the session key, and refuses a mismatch', async () => {
    const key = Buffer.alloc(16, 7);
    server = await startServer(() => keyedServer(key));
    const c = await Connection.connect({ logger, entityType: EntityType.OSD, host: '127.0.0.1', port: server.port, auth: keyedClient(key) });
    const s = await until('server side ready', () => server.conns.find((x) => x.isReady));
    expect(s.peer).toMatchObject({ name: { type: EntityType.OSD, id: '3' }, caps: { mgr: 'allow profile osd' }, globalId: 4242n });
    c.close();

    const wrong = Connection.connect({ logger, entityType: EntityType.OSD, host: '127.0.0.1', port: server.port, auth: keyedClient(Buffer.alloc(16, 8)) });
    await expect(wrong).rejects.toMatchObject({ code: 'auth', message: expect.stringMatching(/AUTH_SIGNATURE does not match/) });
    await until('the server counted it', () => server.counters.signatureMismatches >= 1);
  });

  it('answers KEEPALIVE2 and drops a peer that goes silent (half-open)', async () => {
    server = await startServer();
    // a proxy that can stop forwarding without closing, like a peer behind a dead link
    let blackhole = false;
    const sockets: net.Socket[] = [];
    const proxy = net.createServer((inbound) => {
      const out = net.connect(server.port, '127.0.0.1');
      sockets.push(inbound, out);
      inbound.on('data', (d) => !blackhole && out.write(d));
      out.on('data', (d) => !blackhole && inbound.write(d));
      inbound.on('error', () => undefined);
      out.on('error', () => undefined);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as net.AddressInfo).port;
    const c = await Connection.connect({
      logger,
      entityType: EntityType.CLIENT,
      host: '127.0.0.1',
      port,
      auth: authNoneClient({ type: EntityType.CLIENT, id: 'x' }),
      keepaliveMs: 50,
      idleTimeoutMs: 1500,
    });
    // with keepalives answered, the connection outlives several idle timeouts
    await new Promise((r) => setTimeout(r, 4000));
    expect(c.isReady).toBe(true);
    blackhole = true;
    const reason = await new Promise<ConnectionError>((r) => c.once('close', r));
    expect(reason).toMatchObject({ code: 'timeout' });
    expect(c.counters.timeouts).toBe(1);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => proxy.close(() => r()));
  });

  it('a corrupted frame ends that connection only, counted; the server keeps serving', async () => {
    server = await startServer();
    const c = await Connection.connect({
      logger,
      entityType: EntityType.CLIENT,
      host: '127.0.0.1',
      port: server.port,
      auth: authNoneClient({ type: EntityType.CLIENT, id: 'a' }),
    });
    await until('server side ready', () => server.conns.find((x) => x.isReady));
    const bad = codec.encode(controlFrame({ tag: Tag.KEEPALIVE2, timestamp: { sec: 1, nsec: 2 } }));
    bad[bad.length - 6] ^= 0xff; // inside the payload: the segment crc fails
    (c as unknown as { socket: net.Socket }).socket.write(bad);
    await until('server counted a crc error', () => server.counters.crcErrors === 1);
    await until('that connection closed', () => !c.isReady);
    const again = await Connection.connect({
      logger,
      entityType: EntityType.CLIENT,
      host: '127.0.0.1',
      port: server.port,
      auth: authNoneClient({ type: EntityType.CLIENT, id: 'a' }),
    });
    expect(again.isReady).toBe(true);
    again.close();
  });

  it('refuses a frame over the size limit from its preamble', async () => {
    server = await startServer(undefined, { maxFrameBytes: 1024 });
    const c = await Connection.connect({
      logger,
      entityType: EntityType.CLIENT,
      host: '127.0.0.1',
      port: server.port,
      auth: authNoneClient({ type: EntityType.CLIENT, id: 'a' }),
    });
    c.sendMessage({ type: MsgType.MON_COMMAND, version: 1, compatVersion: 1, front: Buffer.alloc(4096) });
    await until('server counted an oversized frame', () => server.counters.oversizedFrames === 1);
    await until('closed', () => !c.isReady);
  });

  it('holds an unauthenticated peer to a small frame limit', async () => {
    server = await startServer();
    const p = await rawPeer(server.port);
    p.write(encodeBanner({ supported: 1n, required: 0n }));
    p.write(codec.encode(controlFrame({ tag: Tag.HELLO, entityType: EntityType.OSD, peerAddr: v2Addr('127.0.0.1', server.port) })));
    p.write(codec.encode(controlFrame({ tag: Tag.AUTH_REQUEST, method: AuthMethod.NONE, preferredModes: [ConMode.CRC], payload: Buffer.alloc(300 * 1024) })));
    await until('closed by the server', () => p.isClosed());
    expect(server.counters.oversizedFrames).toBe(1);
  });

  it('tells a peer that offers secure mode only that we speak crc, and closes', async () => {
    server = await startServer();
    const p = await rawPeer(server.port);
    p.write(encodeBanner({ supported: 1n, required: 0n }));
    p.write(codec.encode(controlFrame({ tag: Tag.HELLO, entityType: EntityType.OSD, peerAddr: v2Addr('127.0.0.1', server.port) })));
    p.write(codec.encode(controlFrame({ tag: Tag.AUTH_REQUEST, method: AuthMethod.CEPHX, preferredModes: [ConMode.SECURE], payload: Buffer.alloc(4) })));
    await until('closed by the server', () => p.isClosed());
    const bad = p.frames.find((f) => f.tag === Tag.AUTH_BAD_METHOD);
    expect(decodeControl(Tag.AUTH_BAD_METHOD, bad!.payload)).toMatchObject({ result: -95, allowedModes: [ConMode.CRC] });
    expect(server.counters.authFailures).toBe(1);
  });

  it('answers SESSION_RECONNECT with SESSION_RESET (lossy sessions are not resumed)', async () => {
    server = await startServer();
    const p = await rawPeer(server.port);
    p.write(encodeBanner({ supported: 1n, required: 0n }));
    p.write(codec.encode(controlFrame({ tag: Tag.HELLO, entityType: EntityType.OSD, peerAddr: v2Addr('127.0.0.1', server.port) })));
    p.write(codec.encode(controlFrame({ tag: Tag.AUTH_REQUEST, ...authNoneClient({ type: EntityType.OSD, id: '1' }, 5n).request() })));
    await until('auth done and signature', () => p.frames.some((f) => f.tag === Tag.AUTH_SIGNATURE));
    p.write(codec.encode(controlFrame({ tag: Tag.AUTH_SIGNATURE, signature: Buffer.alloc(32) })));
    p.write(
      codec.encode(
        controlFrame({
          tag: Tag.SESSION_RECONNECT,
          addrs: [v2Addr('127.0.0.1', 1)],
          clientCookie: 1n,
          serverCookie: 2n,
          globalSeq: 3n,
          connectSeq: 1n,
          msgSeq: 9n,
        }),
      ),
    );
    await until('session reset', () => p.frames.some((f) => f.tag === Tag.SESSION_RESET));
    expect(decodeControl(Tag.SESSION_RESET, p.frames.find((f) => f.tag === Tag.SESSION_RESET)!.payload)).toEqual({ tag: Tag.SESSION_RESET, full: true });
    p.end();
  });

  it('names msgr v1 when the peer answers with a v1 banner', async () => {
    const accepted: net.Socket[] = [];
    const v1 = net.createServer((s) => {
      accepted.push(s);
      s.on('error', () => undefined);
      s.write(Buffer.concat([Buffer.from('ceph v027'), Buffer.alloc(136)]));
    });
    await new Promise<void>((r) => v1.listen(0, '127.0.0.1', r));
    const port = (v1.address() as net.AddressInfo).port;
    await expect(
      Connection.connect({ logger, entityType: EntityType.CLIENT, host: '127.0.0.1', port, auth: authNoneClient({ type: EntityType.CLIENT, id: 'a' }) }),
    ).rejects.toThrow(/msgr v1.*3300/);
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => v1.close(() => r()));
  });

  it('a refused connection is a clear error', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await expect(
      Connection.connect({ logger, entityType: EntityType.CLIENT, host: '127.0.0.1', port, auth: authNoneClient({ type: EntityType.CLIENT, id: 'a' }) }),
    ).rejects.toMatchObject({
      code: 'refused',
    });
  });
});
