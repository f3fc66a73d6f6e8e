// A daemon's or a CLI's side of a connection to a manager, over msgr2 with
// lib/ceph, for tests and benchmarks of the msgr2 front door: what an OSD's
// MgrClient does (MMgrOpen, wait for MMgrConfigure, MMgrReport and
// MPGStats), and what `ceph` does (MMgrCommand, MCommand with a tid each).
//
//   const c = await MgrDaemonClient.connect({ host, port, auth: cephx.serviceSession(EntityType.MGR), entityType: EntityType.OSD, logger });
//   c.open({ daemonName: '0' });
//   const cfg = await c.configured;            // stats period and threshold
//   c.send(mMgrReport({...}));
//   const { r, rs, data } = await c.command('mgr', ['{"prefix": "hello"}']);
import { Connection, type ConnectionError } from '../ceph/connection';
import type { AuthClientSession } from '../ceph/auth';
import { MsgType, type Message } from '../ceph/message';
import {
  decodeMCommandReply,
  decodeMMgrCommandReply,
  decodeMMgrConfigure,
  mCommand,
  mMgrCommand,
  mMgrOpen,
  type MgrCommandReply,
  type MMgrConfigure,
  type MMgrOpen,
} from '../ceph/messages/mgr';
import { EntityType } from '../ceph/types';
import type { Logger } from '../log';

export interface MgrDaemonClientOptions {
  host: string;
  port: number;
  auth: AuthClientSession;
  /** What HELLO announces (an OSD's MgrClient: EntityType.OSD; the CLI: CLIENT). */
  entityType: number;
  globalId?: bigint;
  logger: Logger;
  keepaliveMs?: number;
}

export class MgrDaemonClient {
  /** Every MMgrConfigure received, oldest first. */
  readonly configures: MMgrConfigure[] = [];
  /** Resolves with the first MMgrConfigure. */
  readonly configured: Promise<MMgrConfigure>;
  /** Resolves when the connection ends (with why, undefined after close()). */
  readonly closed: Promise<ConnectionError | undefined>;
  private nextTid = 0n;
  private readonly waiting = new Map<bigint, (r: MgrCommandReply) => void>();
  /** Messages of other types, as they came. */
  readonly others: Message[] = [];

  private constructor(readonly conn: Connection) {
    let gotConfigure!: (c: MMgrConfigure) => void;
    this.configured = new Promise((r) => (gotConfigure = r));
    this.closed = new Promise((r) => conn.once('close', r));
    conn.on('message', (m: Message) => {
      if (m.type === MsgType.MGR_CONFIGURE) {
        const c = decodeMMgrConfigure(m);
        this.configures.push(c);
        gotConfigure(c);
      } else if (m.type === MsgType.MGR_COMMAND_REPLY || m.type === MsgType.COMMAND_REPLY) {
        const r = m.type === MsgType.MGR_COMMAND_REPLY ? decodeMMgrCommandReply(m) : decodeMCommandReply(m);
        this.waiting.get(r.tid)?.(r);
        this.waiting.delete(r.tid);
      } else this.others.push(m);
    });
  }

  static async connect(o: MgrDaemonClientOptions): Promise<MgrDaemonClient> {
    const conn = await Connection.connect({
      logger: o.logger,
      entityType: o.entityType,
      host: o.host,
      port: o.port,
      auth: o.auth,
      peerType: EntityType.MGR,
      globalId: o.globalId,
      keepaliveMs: o.keepaliveMs,
    });
    return new MgrDaemonClient(conn);
  }

  /** MMgrOpen: the daemon's id, and its service for a service daemon or a monitor. */
  open(o: Partial<MMgrOpen> & { daemonName: string }): void {
    this.send(
      mMgrOpen({
        serviceName: '',
        serviceDaemon: false,
        daemonMetadata: {},
        daemonStatus: {},
        configBl: Buffer.alloc(0),
        configDefaultsBl: Buffer.alloc(0),
        ...o,
      }),
    );
  }

  send(m: Message): void {
    this.conn.sendMessage(m);
  }

  /** Sends a command (MMgrCommand, or MCommand for `tell`) and waits for its reply; rejects if the connection ends first. */
  command(kind: 'mgr' | 'tell', cmd: string[], opts: { fsid?: string; inbuf?: Buffer } = {}): Promise<MgrCommandReply> {
    const tid = this.nextTid++;
    return new Promise((resolve, reject) => {
      this.waiting.set(tid, resolve);
      void this.closed.then((e) => {
        if (this.waiting.delete(tid)) reject(e ?? new Error('connection closed before the reply'));
      });
      this.send((kind === 'mgr' ? mMgrCommand : mCommand)({ tid, cmd, fsid: opts.fsid, inbuf: opts.inbuf }));
    });
  }

  close(): void {
    this.conn.close();
  }
}
