// A monitor in miniature for the managers' tests: our own msgr2 server
// (auth none) that keeps a MgrMap by MgrMonitor's first rules (the first
// beacon's manager becomes active, the active's beacons set `available`,
// others stand by, `mgr fail` drops the active and promotes the first
// standby), sends it to `mgrmap` subscribers, stores each manager's
// metadata, and answers the commands a manager and the standby service's
// ceph backend send (`auth get`, `config get`, `mgr fail`, `mgr metadata`).
// Things the real monitors cannot be made to do on a shared cluster:
// vanish (close()) or be a whole set of monitors that lost its quorum.
// What real monitors do is tested live (test/ceph-managers.live.test.ts).
import * as net from 'net';
import { authNoneServer } from '../ceph/authnone';
import { Connection } from '../ceph/connection';
import { MsgType, type Message } from '../ceph/message';
import { decodeMMgrBeacon, mMgrMap, type MgrMap, type MMgrBeacon } from '../ceph/messages/mgrmap';
import * as M from '../ceph/messages/mon';
import { EntityType, v2Addr } from '../ceph/types';
import type { Logger } from '../log';
import { freePort } from './wait';
import { EINVAL } from '../errno';

export interface MiniMonitor {
  port: number;
  fsid: string;
  /** The current MgrMap. */
  map: MgrMap;
  beacons: MMgrBeacon[];
  commands: Array<Record<string, unknown>>;
  /** mon_mgr_beacon_grace in seconds, as `config get` answers it. */
  graceS: number;
  /** Ends every session and stops listening: the monitors are gone. */
  close(): Promise<void>;
}

export interface MiniMonitorOptions {
  logger: Logger;
  fsid?: string;
  graceS?: number;
  /** The mon caps `auth get` reports for a manager (default 'allow profile mgr'). */
  caps?: string;
}

function emptyMap(): MgrMap {
  return {
    epoch: 1,
    activeAddrs: [],
    activeGid: 0n,
    available: false,
    activeName: '',
    standbys: [],
    modules: [],
    services: {},
    availableModules: [],
    activeChange: { sec: 0, nsec: 0 },
    alwaysOnModules: new Map([[16, ['status']]]),
    activeMgrFeatures: 0n,
    lastFailureOsdEpoch: 0,
    clients: [],
  };
}

export async function startMiniMonitor(o: MiniMonitorOptions): Promise<MiniMonitor> {
  const port = await freePort();
  const fsid = o.fsid ?? '11111111-2222-3333-4444-555555555555';
  const srv = net.createServer();
  const conns: Connection[] = [];
  const subscribers = new Set<Connection>();
  const metadata = new Map<string, Record<string, string>>();
  let nextGid = 4100n;
  const mon: MiniMonitor = {
    port,
    fsid,
    map: emptyMap(),
    beacons: [],
    commands: [],
    graceS: o.graceS ?? 30,
    close: async () => {
      for (const c of conns) c.close();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
  const publish = (change: Partial<MgrMap>) => {
    mon.map = { ...mon.map, ...change, epoch: mon.map.epoch + 1 };
    for (const c of subscribers) if (c.isReady) c.sendMessage(mMgrMap(mon.map));
  };
  const promote = () => {
    const [next, ...rest] = mon.map.standbys;
    publish({ activeGid: next?.gid ?? 0n, activeName: next?.name ?? '', available: false, activeAddrs: [], standbys: rest, services: {} });
  };
  const beacon = (b: MMgrBeacon) => {
    mon.beacons.push(b);
    const m = mon.map;
    if (m.activeGid === b.gid) {
      if (m.available !== b.available) publish({ available: b.available, activeAddrs: b.serverAddrs, availableModules: b.modules, services: b.services });
    } else if (m.activeGid === 0n) {
      metadata.set(b.name, b.metadata);
      publish({ activeGid: b.gid, activeName: b.name, available: false, availableModules: b.modules, standbys: m.standbys.filter((s) => s.gid !== b.gid) });
    } else if (!m.standbys.some((s) => s.gid === b.gid)) {
      metadata.set(b.name, b.metadata);
      publish({ standbys: [...m.standbys, { gid: b.gid, name: b.name, availableModules: b.modules, mgrFeatures: 0n }] });
    }
  };
  const answer = (cmd: Record<string, unknown>): { r: number; rs: string; data?: string } => {
    switch (cmd.prefix) {
      case 'auth get':
        return { r: 0, rs: '', data: JSON.stringify([{ entity: cmd.entity, key: '', caps: { mon: o.caps ?? 'allow profile mgr' } }]) };
      case 'config get':
        return { r: 0, rs: '', data: JSON.stringify(String(mon.graceS)) };
      case 'mgr metadata':
        return { r: 0, rs: '', data: JSON.stringify([...metadata].map(([name, md]) => ({ name, ...md }))) };
      case 'mgr fail': {
        const who = String(cmd.who ?? mon.map.activeName);
        if (who === mon.map.activeName || who === String(mon.map.activeGid)) promote();
        else if (mon.map.standbys.some((s) => s.name === who || String(s.gid) === who))
          publish({ standbys: mon.map.standbys.filter((s) => s.name !== who && String(s.gid) !== who) });
        else return { r: 0, rs: `Daemon not found '${who}', already failed?` };
        return { r: 0, rs: '' };
      }
      default:
        return { r: EINVAL, rs: `command '${cmd.prefix}' not known here` };
    }
  };
  const monmap = () =>
    M.mMonMap(M.encodeMonMap({ fsid, epoch: 1, minMonRelease: M.CephRelease.PACIFIC, mons: [{ name: 'a', addrs: [v2Addr('127.0.0.1', port)] }] }));
  srv.on('connection', (s) => {
    const c = Connection.accept(s, {
      logger: o.logger,
      entityType: EntityType.MON,
      auth: () => authNoneServer(() => nextGid++),
      myAddrs: [v2Addr('127.0.0.1', port)],
    });
    conns.push(c);
    c.on('close', () => subscribers.delete(c));
    c.on('message', (m: Message) => {
      if (m.type === MsgType.MON_SUBSCRIBE) {
        const { what } = M.decodeMMonSubscribe(m);
        if (what.monmap) c.sendMessage(monmap());
        if (what.mgrmap) {
          subscribers.add(c);
          if (what.mgrmap.start <= mon.map.epoch) c.sendMessage(mMgrMap(mon.map));
        }
      } else if (m.type === MsgType.MGR_BEACON) {
        beacon(decodeMMgrBeacon(m));
      } else if (m.type === MsgType.MON_COMMAND) {
        const { cmd } = M.decodeMMonCommand(m);
        const parsed = JSON.parse(cmd[0]) as Record<string, unknown>;
        mon.commands.push(parsed);
        const a = answer(parsed);
        c.sendMessage(M.mMonCommandAck(m.tid ?? 0n, a.r, a.rs, cmd, Buffer.from(a.data ?? '')));
      }
    });
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return mon;
}
