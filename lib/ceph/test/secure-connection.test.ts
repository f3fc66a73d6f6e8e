// Secure mode on real msgr2 connections on loopback: our client (an OSD
// with a cephx service ticket) and our server (a manager verifying it with
// rotating secrets), the mode chosen from the ms_*_mode settings as Ceph
// chooses it, nothing readable on the wire after AUTH_DONE, and every
// attack on the stream (tampering, garbage after authenticating, a
// downgrade of AUTH_DONE to crc) ending that connection only.
import { randomBytes } from 'crypto';
import * as net from 'net';
import { freshRotatingSecrets, issueTicket } from '../testing/issuer';
import { RotatingKeys } from '../cephx/rotating';
import { cephxServiceServer } from '../cephx/service-server';
import { cephxServiceSession } from '../cephx/service-session';
import { Connection, ConnectionError, WireCounters } from '../connection';
import { controlFrame } from '../control';
import { ByteQueue, cephCrc32c, CrcCodec, FrameReader, PREAMBLE_BYTES, readBanner, Tag } from '../frames';
import { MsgType, type Message } from '../message';
import { modeSettings, uniformModes, type ModeSettings } from '../modes';
import { EntityType, v2Addr } from '../types';
import { createLogger } from '../../log';
import { startRelay, type Relay } from '../../testing/relay';
import { until } from '../../testing/wait';

const logger = createLogger({ test: 'secure-connection' }, 'error');

const secrets = freshRotatingSecrets();
const keys = new RotatingKeys(EntityType.MGR);
keys.set(secrets);
const osd = (n: number) => ({ type: EntityType.OSD, id: String(n) });

interface Server {
  port: number;
  conns: Connection[];
  counters: WireCounters;
  close(): Promise<void>;
}

/** A manager-like server: cephx authorizers verified with the rotating secrets; every message echoed with type + 1. */
async function startServer(modes?: ModeSettings): Promise<Server> {
  const counters = new WireCounters();
  const conns: Connection[] = [];
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  srv.on('connection', (s) => {
    const c = Connection.accept(s, {
      logger,
      entityType: EntityType.MGR,
      auth: () => cephxServiceServer({ keys }),
      myAddrs: [v2Addr('127.0.0.1', port)],
      counters,
      modes,
    });
    conns.push(c);
    c.on('message', (m: Message) => c.sendMessage({ ...m, type: m.type + 1, seq: undefined, ackSeq: undefined }));
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

/** osd.<n> connecting with a fresh mgr service ticket. */
function connectOsd(port: number, n: number, extra: Partial<Parameters<typeof Connection.connect>[0]> = {}): Promise<Connection> {
  const gid = BigInt(4000 + n);
  const ticket = issueTicket({ name: osd(n), globalId: gid, serviceId: EntityType.MGR, cap: 'allow profile osd', secrets });
  return Connection.connect({
    logger,
    entityType: EntityType.OSD,
    host: '127.0.0.1',
    port,
    auth: cephxServiceSession({ globalId: gid, ticket, who: `osd.${n}` }),
    peerType: EntityType.MGR,
    globalId: gid,
    ...extra,
  });
}

/** Sends one message and waits for its echo. */
async function echo(c: Connection, front: Buffer, data?: Buffer): Promise<Message> {
  const got = new Promise<Message>((r) => c.once('message', r));
  c.sendMessage({ type: MsgType.COMMAND, version: 1, compatVersion: 1, front, data });
  return got;
}

/** The crc-mode frames at the start of one direction of a recorded connection, up to the first that is not (the encrypted part). */
function plainFrames(bytes: Buffer): { tags: number[]; end: number; conMode?: number } {
  const q = new ByteQueue();
  q.push(bytes);
  readBanner(q);
  const r = new FrameReader(q, new CrcCodec(), 1 << 20);
  const tags: number[] = [];
  let end = bytes.length - q.length;
  let conMode: number | undefined;
  try {
    for (let f = r.next(); f; f = r.next()) {
      tags.push(f.tag);
      end = bytes.length - q.length;
      if (f.tag === Tag.AUTH_DONE) conMode = f.segments[0].readUInt32LE(8);
    }
  } catch {
    // the first encrypted frame
  }
  return { tags, end, conMode };
}

describe('secure mode over msgr2 connections', () => {
  let server: Server | undefined;
  let relay: Relay | undefined;
  const clients: Connection[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await relay?.close();
    relay = undefined;
    await server?.close();
    server = undefined;
  });

  it('an OSD and a manager on Pacific defaults choose secure; messages go both ways and nothing after AUTH_DONE is readable', async () => {
    server = await startServer();
    relay = await startRelay({ host: '127.0.0.1', port: server.port });
    const c = await connectOsd(relay.port, 1);
    clients.push(c);
    expect(c.mode).toBe('secure');
    const s = await until('the server side ready', () => server!.conns.find((x) => x.isReady));
    expect(s.mode).toBe('secure');
    expect(s.peer).toMatchObject({ name: osd(1), caps: { mgr: 'allow profile osd' } });

    const marker = Buffer.from('{"prefix":"a secret only the two ends may read"}');
    const big = Buffer.alloc(1 << 20, 'pg_stat_t ');
    for (const [front, data] of [
      [marker, undefined],
      [Buffer.alloc(48, 'x'), undefined],
      [Buffer.alloc(49, 'y'), big],
    ] as const) {
      const back = await echo(c, front, data);
      expect(back.type).toBe(MsgType.COMMAND_REPLY);
      expect(back.front.equals(front)).toBe(true);
      if (data) expect(back.data?.equals(data)).toBe(true);
    }
    // the wire, as the relay saw it: crc frames up to AUTH_DONE (which says secure), then ciphertext only
    const pair = relay.pairs[0];
    const toServer = Buffer.concat(pair.toServer);
    const toClient = Buffer.concat(pair.toClient);
    expect(plainFrames(toClient)).toMatchObject({ tags: [Tag.HELLO, Tag.AUTH_REPLY_MORE, Tag.AUTH_DONE], conMode: 2 });
    expect(plainFrames(toServer).tags).toEqual([Tag.HELLO, Tag.AUTH_REQUEST, Tag.AUTH_REQUEST_MORE]);
    for (const bytes of [toServer, toClient]) {
      expect(bytes.includes(marker)).toBe(false);
      expect(bytes.includes(Buffer.from('pg_stat_t pg_stat_t'))).toBe(false);
    }
    expect(server.counters).toMatchObject({ decryptFailures: 0, signatureMismatches: 0, authFailures: 0 });
  });

  // client = an OSD (ms_mon_cluster_mode governs towards a manager), server = a manager (ms_mon_service_mode towards an OSD)
  it.each([
    ['crc', 'secure crc', 'crc'],
    ['crc secure', 'secure crc', 'crc'], // the server takes the first of the client's list it allows
    ['secure crc', 'crc secure', 'secure'],
    ['secure crc', 'crc', 'crc'],
    ['crc secure', 'secure', 'secure'],
  ])('client offering "%s", server allowing "%s": %s', async (clientModes, serverModes, chosen) => {
    server = await startServer(modeSettings({ overrides: { ms_mon_service_mode: serverModes } }));
    const c = await connectOsd(server.port, 2, { modes: modeSettings({ overrides: { ms_mon_cluster_mode: clientModes } }) });
    clients.push(c);
    expect(c.mode).toBe(chosen);
    expect((await echo(c, Buffer.from('hi'))).front.toString()).toBe('hi');
  });

  it('a client (not a daemon) is governed by ms_mon_client_mode towards a manager', async () => {
    server = await startServer(modeSettings({ overrides: { ms_mon_service_mode: 'crc secure' } }));
    const ticket = issueTicket({ name: { type: EntityType.CLIENT, id: 'admin' }, globalId: 99n, serviceId: EntityType.MGR, cap: 'allow *', secrets });
    const connect = (modes: ModeSettings) =>
      Connection.connect({
        logger,
        entityType: EntityType.CLIENT,
        host: '127.0.0.1',
        port: server!.port,
        auth: cephxServiceSession({ globalId: 99n, ticket }),
        modes,
      });
    const onlySecureHere = { ...uniformModes('crc'), ms_mon_client_mode: [2] };
    const c = await connect(onlySecureHere);
    clients.push(c);
    expect(c.mode).toBe('secure');
    const d = await connect({ ...uniformModes('secure'), ms_mon_client_mode: [1] });
    clients.push(d);
    expect(d.mode).toBe('crc');
  });

  it('no common mode: both sides say which modes each allows and which setting to change', async () => {
    server = await startServer(uniformModes('crc'));
    const err = await connectOsd(server.port, 3, { modes: uniformModes('secure') }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'mode' });
    expect(err.message).toMatch(/accepts only crc mode and we offer secure \(ms_mon_cluster_mode = "secure"\)/);
    await until('the server counted it', () => server!.counters.authFailures === 1);
  });

  it('a byte changed on the wire after the handshake ends that connection only, counted as a decrypt failure', async () => {
    server = await startServer();
    relay = await startRelay({ host: '127.0.0.1', port: server.port });
    const victim = await connectOsd(relay.port, 4);
    const bystander = await connectOsd(server.port, 5);
    clients.push(victim, bystander);
    let flipped = false;
    relay.tamper = (dir, chunk) => {
      if (dir !== 'toServer' || flipped) return chunk;
      flipped = true;
      const out = Buffer.from(chunk);
      out[Math.floor(out.length / 2)] ^= 0x20;
      return out;
    };
    victim.sendMessage({ type: MsgType.COMMAND, version: 1, compatVersion: 1, front: Buffer.from('{"prefix":"status"}') });
    const reason = await new Promise<ConnectionError>((r) => victim.once('close', r));
    expect(reason.code).toBe('closed');
    expect(server.counters.decryptFailures).toBe(1);
    expect((await echo(bystander, Buffer.from('still here'))).front.toString()).toBe('still here');
  });

  it("an OSD killed mid-frame (its 1 MiB report cut in half): the manager ends that session only, the other OSDs' go on", async () => {
    server = await startServer();
    relay = await startRelay({ host: '127.0.0.1', port: server.port });
    const victim = await connectOsd(relay.port, 9);
    const bystander = await connectOsd(server.port, 10);
    clients.push(victim, bystander);
    const s = await until("the server side of the victim's session", () => server!.conns.find((x) => x.isReady && x.peer?.name?.id === '9'));
    const cut = relay.cutNext('toServer');
    victim.sendMessage({ type: MsgType.COMMAND, version: 1, compatVersion: 1, front: Buffer.from('{}'), data: Buffer.alloc(1 << 20, 'pg_stat_t ') });
    const { forwarded, of } = await cut;
    expect(forwarded).toBeLessThan(of);
    await until("the manager ended the victim's session", () => s.closeReason !== undefined, 10_000);
    expect(s.closeReason?.message).toMatch(/closed/);
    expect(server.counters).toMatchObject({ decryptFailures: 0, malformedFrames: 0, crcErrors: 0 });
    expect((await echo(bystander, Buffer.from('still served'))).front.toString()).toBe('still served');
    // and the OSD, restarted, opens a new session
    const again = await connectOsd(server.port, 9);
    clients.push(again);
    expect((await echo(again, Buffer.from('back'))).front.toString()).toBe('back');
  });

  it('garbage after authenticating, or a frame in crc mode once secure was chosen, ends that connection only', async () => {
    server = await startServer();
    const bystander = await connectOsd(server.port, 6);
    clients.push(bystander);
    const socketOf = (c: Connection) => (c as unknown as { socket: net.Socket }).socket;
    const crcFrame = new CrcCodec().encode(controlFrame({ tag: Tag.KEEPALIVE2, timestamp: { sec: 1, nsec: 0 } }));
    for (const bytes of [randomBytes(4096), Buffer.concat([crcFrame, crcFrame, crcFrame])]) {
      const before = server.counters.decryptFailures;
      const c = await connectOsd(server.port, 7);
      clients.push(c);
      const closed = new Promise((r) => c.once('close', r));
      socketOf(c).write(bytes);
      await closed;
      expect(server.counters.decryptFailures).toBe(before + 1);
    }
    expect((await echo(bystander, Buffer.from('unharmed'))).front.toString()).toBe('unharmed');
  });

  it('AUTH_DONE rewritten in flight to say crc (a downgrade, its crc fixed) is caught: no session is made', async () => {
    server = await startServer();
    relay = await startRelay({ host: '127.0.0.1', port: server.port });
    relay.tamper = (dir, chunk) => {
      if (dir !== 'toClient') return chunk;
      // find AUTH_DONE's preamble, set con_mode to crc and mend the segment's crc so only the signature can tell
      for (let i = 0; i + PREAMBLE_BYTES <= chunk.length; i++) {
        if (chunk[i] !== Tag.AUTH_DONE || chunk[i + 1] !== 1) continue;
        const pre = chunk.subarray(i, i + PREAMBLE_BYTES);
        if (pre.readUInt32LE(28) !== cephCrc32c(0, pre.subarray(0, 28))) continue;
        const len = pre.readUInt32LE(2);
        const out = Buffer.from(chunk);
        const seg = out.subarray(i + PREAMBLE_BYTES, i + PREAMBLE_BYTES + len);
        seg.writeUInt32LE(1, 8);
        out.writeUInt32LE(cephCrc32c(0xffffffff, seg), i + PREAMBLE_BYTES + len);
        return out;
      }
      return chunk;
    };
    const err = await connectOsd(relay.port, 8).catch((e) => e);
    // the client now reads crc frames and the server's encrypted AUTH_SIGNATURE is not one; the server never got a valid signature either
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toMatch(/bad preamble crc/);
    await until('the server side closed', () => server!.conns.length === 1 && server!.conns[0].closeReason !== undefined);
    expect(server.conns[0].closeReason?.message).toMatch(/during the auth-sign step/);
    expect(server.conns.some((c) => c.isReady)).toBe(false);
  });
});
