// Test monitors for offline monitor-client tests, built from our own msgr2
// server (connection.ts): they answer MMonSubscribe with a monmap naming
// every test monitor of the set and an osdmap epoch, and MMonCommand as
// told. Auth none by default (crc mode only); give `auth` for secure mode.
//
//   const mons: TestMon[] = [];
//   mons.push(await startTestMon({ name: 'a', answer: (cmd) => ({ r: 0, rs: '' }) }, () => mons));
import * as net from 'net';
import type { AuthServerSession } from '../auth';
import { authNoneServer } from '../authnone';
import { Connection, WireCounters } from '../connection';
import { MsgType, type Message } from '../message';
import * as M from '../messages/mon';
import type { ModeSettings } from '../modes';
import { EntityType, v2Addr } from '../types';
import type { Logger } from '../../log';
import { freePort } from '../../testing/wait';

export const TEST_FSID = '11111111-2222-3333-4444-555555555555';

export interface TestMon {
  port: number;
  /** The port the monmap announces for this monitor (a relay in front of it, say); default `port`. */
  advertisedPort: number;
  /** Sessions accepted so far. */
  sessions: number;
  conns: Connection[];
  counters: WireCounters;
  commands: string[];
  osdEpoch: number;
  /** Pushes a new osdmap epoch to every subscribed session. */
  bumpOsdmap(): void;
  close(): Promise<void>;
}

export interface TestMonOptions {
  name: string;
  logger: Logger;
  minMonRelease?: number;
  /** How a command is answered; undefined: never. */
  answer?: (cmd: Record<string, unknown>) => { r: number; rs: string; data?: string | Buffer } | undefined;
  /** Closes each session right after the client's first command arrives (before answering). */
  dropOnFirstCommand?: boolean;
  /** The server side of authentication; default auth none, global id 4100. */
  auth?: () => AuthServerSession;
  modes?: ModeSettings;
  /** Keepalive and idle timeout of the monitor's side of each session (defaults: the connection's). */
  keepaliveMs?: number;
  idleTimeoutMs?: number;
}

/** Starts a test monitor on a free loopback port; `all()` lists the set the monmap names. */
export async function startTestMon(o: TestMonOptions, all: () => TestMon[]): Promise<TestMon> {
  const port = await freePort();
  const srv = net.createServer();
  const counters = new WireCounters();
  const mon: TestMon = {
    port,
    advertisedPort: port,
    sessions: 0,
    conns: [],
    counters,
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
  const osdmap = (epoch: number) => M.mOSDMap(TEST_FSID, { incrementals: new Map([[epoch, Buffer.alloc(0)]]), oldest: 1, newest: epoch });
  const monmap = () =>
    M.mMonMap(
      M.encodeMonMap({
        fsid: TEST_FSID,
        epoch: 3,
        minMonRelease: o.minMonRelease ?? M.CephRelease.PACIFIC,
        mons: all().map((m, i) => ({ name: String.fromCharCode(97 + i), addrs: [v2Addr('127.0.0.1', m.advertisedPort)] })),
      }),
    );
  srv.on('connection', (s) => {
    const c = Connection.accept(s, {
      logger: o.logger,
      entityType: EntityType.MON,
      auth: o.auth ?? (() => authNoneServer(() => 4100n)),
      myAddrs: [v2Addr('127.0.0.1', mon.advertisedPort)],
      counters,
      modes: o.modes,
      keepaliveMs: o.keepaliveMs,
      idleTimeoutMs: o.idleTimeoutMs,
    });
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
