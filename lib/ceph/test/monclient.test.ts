// The monitor client against test monitors built from our own msgr2 server
// (auth none): hunting past dead monitors, following map epochs, commands
// resent after a monitor drops, deadlines, refusing a cluster that is not
// Pacific without a busy loop. The live test (monclient.live.test.ts) runs
// the same client against real Pacific monitors.
import * as net from 'net';
import { authNoneMonProvider, authNoneServer } from '../authnone';
import { Connection } from '../connection';
import { MsgType, type Message } from '../message';
import * as M from '../messages/mon';
import { MonClient, MonCommandError } from '../monclient';
import { EntityType, v2Addr } from '../types';
import { createLogger } from '../../log';
import { freePort, until } from '../../testing/wait';

const logger = createLogger({ test: 'monclient' }, 'error');
const FSID = '11111111-2222-3333-4444-555555555555';

interface TestMon {
  port: number;
  /** Sessions accepted so far. */
  sessions: number;
  conns: Connection[];
  commands: string[];
  osdEpoch: number;
  /** Pushes a new osdmap epoch to every subscribed session. */
  bumpOsdmap(): void;
  close(): Promise<void>;
}

interface TestMonOptions {
  name: string;
  minMonRelease?: number;
  /** How a command is answered; undefined: never. */
  answer?: (cmd: Record<string, unknown>) => { r: number; rs: string; data?: string } | undefined;
  /** Closes each session right after the client's first command arrives (before answering). */
  dropOnFirstCommand?: boolean;
}

async function startMon(o: TestMonOptions, all: () => TestMon[]): Promise<TestMon> {
  const port = await freePort();
  const srv = net.createServer();
  const mon: TestMon = {
    port,
    sessions: 0,
    conns: [],
    commands: [],
    osdEpoch: 5,
    bumpOsdmap: () => {
      mon.osdEpoch++;
      for (const c of mon.conns) if (c.isReady) c.sendMessage(osdmap(mon.osdEpoch));
    },
    close: async () => {
      for (const c of mon.conns) c.close();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
  const osdmap = (epoch: number) => M.mOSDMap(FSID, { incrementals: new Map([[epoch, Buffer.alloc(0)]]), oldest: 1, newest: epoch });
  const monmap = () =>
    M.mMonMap(
      M.encodeMonMap({
        fsid: FSID,
        epoch: 3,
        minMonRelease: o.minMonRelease ?? M.CephRelease.PACIFIC,
        mons: all().map((m, i) => ({ name: String.fromCharCode(97 + i), addrs: [v2Addr('127.0.0.1', m.port)] })),
      }),
    );
  srv.on('connection', (s) => {
    const c = Connection.accept(s, { logger, entityType: EntityType.MON, auth: () => authNoneServer(() => 4100n), myAddrs: [v2Addr('127.0.0.1', port)] });
    mon.conns.push(c);
    c.on('ready', () => mon.sessions++);
    c.on('message', (m: Message) => {
      if (m.type === MsgType.MON_SUBSCRIBE) {
        const { what } = M.decodeMMonSubscribe(m);
        if (what.monmap) c.sendMessage(monmap());
        if (what.osdmap && what.osdmap.start <= mon.osdEpoch) c.sendMessage(osdmap(mon.osdEpoch));
        if (what.mgrdigest) c.sendMessage({ type: MsgType.MGR_DIGEST, version: 1, compatVersion: 1, front: Buffer.from('digest') });
      }
      if (m.type === MsgType.MON_COMMAND) {
        const cmd = M.decodeMMonCommand(m);
        mon.commands.push(cmd.cmd[0]);
        if (o.dropOnFirstCommand) return c.close();
        const a = o.answer?.(JSON.parse(cmd.cmd[0]));
        if (a) c.sendMessage(M.mMonCommandAck(m.tid ?? 0n, a.r, a.rs, cmd.cmd, Buffer.from(a.data ?? '')));
      }
    });
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return mon;
}

describe('MonClient against test monitors', () => {
  const mons: TestMon[] = [];
  let mc: MonClient | undefined;
  const start = async (opts: TestMonOptions[]) => {
    for (const o of opts) mons.push(await startMon(o, () => mons));
  };
  const client = (extra: Partial<ConstructorParameters<typeof MonClient>[0]> = {}) => {
    mc = new MonClient({
      monitors: mons.map((m) => ({ host: '127.0.0.1', port: m.port })),
      auth: authNoneMonProvider({ type: EntityType.CLIENT, id: 'admin' }),
      logger,
      backoffMs: 50,
      maxBackoffMs: 200,
      ...extra,
    });
    return mc;
  };
  afterEach(async () => {
    mc?.stop();
    mc = undefined;
    for (const m of mons.splice(0)) await m.close();
  });

  it('hunts past a monitor that is down, subscribes, and follows osdmap epochs', async () => {
    const dead = await freePort();
    await start([{ name: 'a', answer: (c) => ({ r: 0, rs: '', data: JSON.stringify({ echo: c.prefix }) }) }]);
    const c = new MonClient({
      monitors: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: mons[0].port },
      ],
      auth: authNoneMonProvider({ type: EntityType.CLIENT, id: 'admin' }),
      logger,
      backoffMs: 50,
    });
    mc = c;
    const epochs: number[] = [];
    c.on('map', (name: string, epoch: number) => name === 'osdmap' && epochs.push(epoch));
    await c.start();
    expect(c.status()).toMatchObject({ state: 'connected', fsid: FSID, globalId: '4100', monitor: expect.stringContaining(`:${mons[0].port}`) });
    await until('first osdmap', () => epochs.length === 1);
    mons[0].bumpOsdmap();
    await until('next osdmap', () => epochs.length === 2);
    expect(epochs).toEqual([5, 6]);
    const r = await c.command({ prefix: 'osd dump', format: 'json' });
    expect({ r: r.r, data: JSON.parse(r.data.toString()) }).toEqual({ r: 0, data: { echo: 'osd dump' } });
    // a subscription added later (the MMgrDigest has no epoch: each one is delivered)
    const digests: Message[] = [];
    c.on('map', (name: string, _e: number, m: Message) => name === 'mgrdigest' && digests.push(m));
    c.subscribe('mgrdigest');
    await until('a digest', () => digests.length === 1);
    expect(digests[0].front.toString()).toBe('digest');
  });

  it('resends a pending command to the next monitor when one drops the session', async () => {
    await start([
      { name: 'a', dropOnFirstCommand: true },
      { name: 'b', dropOnFirstCommand: true },
      { name: 'c', answer: () => ({ r: 0, rs: 'done' }) },
    ]);
    // the first session is with a (the only one known before the monmap), which drops the command
    const c = client({ monitors: [{ host: '127.0.0.1', port: mons[0].port }] });
    await c.start();
    const r = await c.command({ prefix: 'status' }, { timeoutMs: 20000 });
    expect(r).toMatchObject({ r: 0, rs: 'done' });
    // the command reached the monitor that answers
    expect(mons[2].commands).toEqual(['{"prefix":"status"}']);
    expect(mons[0].commands[0]).toBe('{"prefix":"status"}'); // a dropped it (and again, if the hunt came back to it)
    expect(c.status().sessions).toBeGreaterThanOrEqual(2);
  });

  it('a command without an answer fails at its deadline, naming the command', async () => {
    await start([{ name: 'a' }]);
    const c = client();
    await c.start();
    await expect(c.command({ prefix: 'osd dump' }, { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'timeout',
      message: expect.stringContaining('{"prefix":"osd dump"}'),
    });
    expect(c.status().commandsTimedOut).toBe(1);
  });

  it('refuses a cluster that is not Pacific, naming the release, and does not retry in a loop', async () => {
    await start([
      { name: 'a', minMonRelease: M.CephRelease.QUINCY },
      { name: 'b', minMonRelease: M.CephRelease.QUINCY },
    ]);
    const c = client({ fatalRetryMs: 60000 });
    await expect(c.start()).rejects.toThrow(/run quincy \(min_mon_release 17\); mgrpc speaks to Ceph Pacific \(16\) monitors only/);
    await new Promise((r) => setTimeout(r, 500));
    expect(mons[0].sessions + mons[1].sessions).toBe(1);
    expect(c.status()).toMatchObject({ state: 'waiting', lastError: expect.stringMatching(/quincy/) });
  });

  it('refuses the monitors of another cluster (fsid), naming both', async () => {
    await start([{ name: 'a' }]);
    const c = client({ fsid: '99999999-2222-3333-4444-555555555555', fatalRetryMs: 60000 });
    const events: string[] = [];
    c.on('connected', () => events.push('connected'));
    c.on('disconnected', () => events.push('disconnected'));
    await expect(c.start()).rejects.toThrow(`belongs to cluster ${FSID}, not 99999999-2222-3333-4444-555555555555`);
    expect(c.status()).toMatchObject({ state: 'waiting', lastError: expect.stringContaining('belongs to cluster') });
    // a second caller of start() learns the same refusal
    await expect(c.start()).rejects.toThrow(/belongs to cluster/);
    expect(events).toEqual([]); // a refused cluster is never announced as connected
  });

  it('moves to another monitor when the current one goes silent', async () => {
    await start([{ name: 'a' }, { name: 'b' }]);
    const c = client({ keepaliveMs: 50, idleTimeoutMs: 1500 });
    await c.start();
    const first = c.status().monitor as string;
    const silent = mons.find((m) => first.includes(`:${m.port}`)) as TestMon;
    // the monitor's process hangs: it stops reading and writing, the socket stays open
    for (const conn of silent.conns) (conn as unknown as { socket: net.Socket }).socket.pause();
    for (const conn of silent.conns) conn.removeAllListeners('message');
    for (const conn of silent.conns) (conn as unknown as { socket: net.Socket }).socket.write = (() => true) as typeof net.Socket.prototype.write;
    await until('a session with the other monitor', () => c.status().monitor && c.status().monitor !== first, 10000);
    expect(c.status().lastError).toMatch(/sent nothing/);
  });

  it('stop() fails pending commands, and later commands are refused', async () => {
    await start([{ name: 'a' }]);
    const c = client();
    await c.start();
    const p = c.command({ prefix: 'x' });
    c.stop();
    await expect(p).rejects.toBeInstanceOf(MonCommandError);
    await expect(c.command({ prefix: 'y' })).rejects.toMatchObject({ code: 'stopped' });
  });
});
