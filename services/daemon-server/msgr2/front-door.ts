// daemon-server's msgr2 front door: where real Ceph daemons (OSDs, MDS,
// monitors) and the real `ceph` CLI reach this manager, beside the gRPC
// Session and Command. One TCP listener; each connection is a msgr2.1
// server connection in crc mode (lib/ceph/connection.ts) whose peer proves
// itself with a cephx authorizer, verified with the mgr service's rotating
// secrets (lib/ceph/cephx/service-server.ts); its entity and caps come from
// the ticket. Then:
//   MMgrOpen / MMgrReport / MPGStats   a daemon session (daemon-session.ts)
//   MMgrCommand / MCommand             a command (commands.ts)
// Only the active manager takes connections: a standby (or a fenced
// active) closes each at once, as a Ceph standby has no server to connect
// to, and ends the ones it had when it stops being active.
// Bounded: connections (MGR_MSGR2_MAX_CONNECTIONS), message size
// (MGR_MSGR2_MAX_MESSAGE_BYTES, refused from the frame's preamble before it
// is read), counters declared (domain/counter-limits.ts, both doors),
// commands in flight per connection. Bad input ends its connection only,
// with the reason logged and counted.
import type { ModeSettings } from '../../../lib/ceph/modes';
import { randomInt } from 'crypto';
import * as net from 'net';
import * as prom from 'prom-client';
import { cephxServiceServer } from '../../../lib/ceph/cephx/service-server';
import type { RotatingKeys } from '../../../lib/ceph/cephx/rotating';
import { Connection, WireCounters, type PeerInfo } from '../../../lib/ceph/connection';
import { DecodeError } from '../../../lib/ceph/encoding';
import { MsgType, type Message } from '../../../lib/ceph/message';
import {
  decodeMCommand,
  decodeMMgrCommand,
  decodeMMgrOpen,
  decodeMMgrReport,
  EMPTY_MDS_METRIC_CONFIG,
  mCommandReply,
  mMgrCommandReply,
  mMgrConfigure,
} from '../../../lib/ceph/messages/mgr';
import { decodeMPGStats, MSG_PGSTATS } from '../../../lib/ceph/messages/pg-stats';
import { addrToString, EntityType, v2Addr, type EntityAddr } from '../../../lib/ceph/types';
import type { Logger } from '../../../lib/log';
import { EAGAIN } from '../../../lib/errno';
import type { CommandDoor } from './commands';
import type { DaemonReport } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import type { CounterLimits } from '../domain/counter-limits';
import { DaemonSession, SessionError, type DaemonSink } from './daemon-session';
import { peerOf, sessionName, type Peer } from './peer';
import type { OwnCounter } from './tell-table';

export interface FrontDoorOptions {
  /** Where to listen. */
  host: string;
  /** 0: a free port. */
  port: number;
  /** The host put in the addresses this manager announces (default: host). */
  advertiseHost?: string;
  /** The mgr service's rotating secrets (CephManagerSession.rotatingKeys). */
  keys: RotatingKeys;
  /** This manager's global id, announced in SERVER_IDENT. */
  globalId(): bigint;
  log: Logger;
  registry: prom.Registry;
  /** null while this manager is active; otherwise why not (connections are then refused). */
  notActive(): string | null;
  sink: DaemonSink;
  commands: CommandDoor;
  statsPeriod(): number;
  statsThreshold(): number;
  maxConnections: number;
  maxMessageBytes: number;
  /** The limits on declared counters (MGR_MAX_COUNTERS...), shared with the gRPC door. */
  counterLimits: CounterLimits;
  /** Commands one connection may have in flight; more are answered EAGAIN. Default 16. */
  maxCommandsInFlight?: number;
  /** The ms_*_mode settings: which connection modes (crc, secure) are accepted from whom; default Pacific's. */
  modes?: ModeSettings;
}

/**
 * Ceph's stats period is whole seconds (0: do not report); a fraction of a
 * second (MGR_STATS_PERIOD allows it for the simulator) is one second here.
 */
export function wholeSeconds(period: number): number {
  return period <= 0 ? 0 : Math.max(1, Math.round(period));
}

/** One accepted connection and what it became. */
interface Accepted {
  conn: Connection;
  peer?: Peer;
  session?: DaemonSession;
  commandsInFlight: number;
}

export class Msgr2FrontDoor {
  private readonly conns = new Set<Accepted>();
  /** Open daemon sessions by daemon name. */
  private readonly sessions = new Map<string, Accepted>();
  private readonly wire = new WireCounters();
  private readonly messages = { open: 0, report: 0, pgStats: 0, commands: 0, other: 0 };
  private readonly m: { refused: prom.Counter; ended: prom.Counter; messages: prom.Counter; pgStatsDropped: prom.Counter };
  private lastRefusalLog = 0;
  private refusedSinceLog = 0;
  private readonly myAddrs: EntityAddr[];
  private readonly log: Logger;

  private constructor(
    private readonly o: FrontDoorOptions,
    private readonly server: net.Server,
    readonly port: number,
  ) {
    this.log = o.log.child({ door: 'msgr2' });
    // The nonce tells this start from an earlier one on the same port; a
    // peer checks that SERVER_IDENT includes the address it dialled (from the MgrMap).
    this.myAddrs = [v2Addr(o.advertiseHost ?? o.host, port, randomInt(1, 0x7fffffff))];
    const r = [o.registry];
    // what the gauges read when scraped (their collect() has the gauge as `this`)
    const conns = () => this.conns.size;
    const sessions = () => this.sessions.size;
    const wire = () => this.wire;
    this.m = {
      refused: new prom.Counter({
        name: 'mgr_daemon_server_msgr2_refused_total',
        help: 'msgr2 connections closed at once, by reason (standby, connection_limit)',
        labelNames: ['reason'],
        registers: r,
      }),
      ended: new prom.Counter({
        name: 'mgr_daemon_server_msgr2_sessions_ended_total',
        help: 'msgr2 connections the server ended, by reason (malformed, schema, counter_limit, refused_open, replaced, not_active)',
        labelNames: ['reason'],
        registers: r,
      }),
      messages: new prom.Counter({
        name: 'mgr_daemon_server_msgr2_messages_total',
        help: 'msgr2 messages handled, by type',
        labelNames: ['type'],
        registers: r,
      }),
      pgStatsDropped: new prom.Counter({
        name: 'mgr_daemon_server_msgr2_pg_stats_dropped_total',
        help: "OSDs' MPGStats not taken because the pg-stats queue was full (the next one replaces it)",
        registers: r,
      }),
    };
    new prom.Gauge({
      name: 'mgr_daemon_server_msgr2_connections',
      help: 'open msgr2 connections (daemons and clients)',
      registers: r,
      collect(this: prom.Gauge) {
        this.set(conns());
      },
    });
    new prom.Gauge({
      name: 'mgr_daemon_server_msgr2_sessions',
      help: 'open daemon sessions over msgr2',
      registers: r,
      collect(this: prom.Gauge) {
        this.set(sessions());
      },
    });
    new prom.Gauge({
      name: 'mgr_daemon_server_msgr2_wire_events',
      help: 'msgr2 wire events since start, by kind (crc, malformed, oversized, auth_failure, signature_mismatch, timeout)',
      labelNames: ['kind'],
      registers: r,
      collect(this: prom.Gauge) {
        const w = wire();
        this.set({ kind: 'crc' }, w.crcErrors);
        this.set({ kind: 'malformed' }, w.malformedFrames);
        this.set({ kind: 'oversized' }, w.oversizedFrames);
        this.set({ kind: 'auth_failure' }, w.authFailures);
        this.set({ kind: 'signature_mismatch' }, w.signatureMismatches);
        this.set({ kind: 'timeout' }, w.timeouts);
      },
    });
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Binds the listener and serves. */
  static async start(o: FrontDoorOptions): Promise<Msgr2FrontDoor> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => o.log.error('msgr2 listener error', { error: e.message }));
    const door = new Msgr2FrontDoor(o, server, (server.address() as net.AddressInfo).port);
    door.log.info('msgr2 front door listening', { addrs: door.addrs.map(addrToString), maxConnections: o.maxConnections });
    return door;
  }

  /** The addresses to announce (the beacon's server_addrs). */
  get addrs(): EntityAddr[] {
    return this.myAddrs;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Sends the current stats period and threshold to every session (after `config set`). */
  pushConfigure(): void {
    for (const a of this.sessions.values()) this.sendConfigure(a);
    if (this.sessions.size) this.log.info('configure sent to msgr2 sessions', { sessions: this.sessions.size });
  }

  /** Every open daemon session as a new one with all it declared, for a cluster-state that restarted. */
  redeclare(): DaemonReport[] {
    const out: DaemonReport[] = [];
    for (const a of this.sessions.values()) {
      const r = a.session?.redeclare();
      if (r) out.push(r);
    }
    return out;
  }

  /** Ends every connection (this manager stopped being active, or stops). */
  endAll(reason: string): void {
    if (!this.conns.size) return;
    this.log.info('ending msgr2 connections', { connections: this.conns.size, reason });
    for (const a of [...this.conns]) {
      this.m.ended.inc({ reason: 'not_active' });
      a.conn.close();
    }
  }

  /** This front door's own counters, for `ceph tell mgr perf dump`. */
  perf(): OwnCounter[] {
    const w = this.wire;
    return [
      { name: 'connections', description: 'open msgr2 connections', kind: 'gauge', value: this.conns.size },
      { name: 'sessions', description: 'open daemon sessions', kind: 'gauge', value: this.sessions.size },
      { name: 'msg_in', description: 'messages received', kind: 'counter', value: w.messagesIn },
      { name: 'msg_out', description: 'messages sent', kind: 'counter', value: w.messagesOut },
      { name: 'open', description: 'MMgrOpen handled', kind: 'counter', value: this.messages.open },
      { name: 'report', description: 'MMgrReport handled', kind: 'counter', value: this.messages.report },
      { name: 'pg_stats', description: 'MPGStats handled', kind: 'counter', value: this.messages.pgStats },
      { name: 'command', description: 'MMgrCommand and MCommand answered', kind: 'counter', value: this.messages.commands },
      { name: 'auth_failures', description: 'authorizers refused', kind: 'counter', value: w.authFailures },
      { name: 'crc_errors', description: 'frames with a bad crc', kind: 'counter', value: w.crcErrors },
      { name: 'malformed', description: 'malformed frames', kind: 'counter', value: w.malformedFrames },
      { name: 'oversized', description: 'frames over the size limit', kind: 'counter', value: w.oversizedFrames },
    ];
  }

  async stop(): Promise<void> {
    for (const a of [...this.conns]) a.conn.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---------------------------------------------------------------- accept

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined); // a refused socket may still report a reset
    const notActive = this.o.notActive();
    if (notActive) return this.refuse(socket, 'standby', notActive);
    if (this.conns.size >= this.o.maxConnections) {
      return this.refuse(
        socket,
        'connection_limit',
        `${this.conns.size} connections open, the most allowed (MGR_MSGR2_MAX_CONNECTIONS=${this.o.maxConnections})`,
      );
    }
    const conn = Connection.accept(socket, {
      logger: this.log,
      entityType: EntityType.MGR,
      auth: () => cephxServiceServer({ keys: this.o.keys }),
      myAddrs: this.myAddrs,
      globalId: this.o.globalId(),
      maxFrameBytes: this.o.maxMessageBytes,
      counters: this.wire,
      modes: this.o.modes,
    });
    const a: Accepted = { conn, commandsInFlight: 0 };
    this.conns.add(a);
    conn.on('ready', (info: PeerInfo) => {
      a.peer = peerOf(info);
      if (a.peer.capsError) this.log.warn('peer caps do not parse: no mgr grants', { entity: a.peer.entity, caps: a.peer.caps, error: a.peer.capsError });
    });
    conn.on('message', (m: Message) => this.onMessage(a, m));
    conn.on('close', () => {
      this.conns.delete(a);
      a.session?.close();
      if (a.session && this.sessions.get(a.session.daemon) === a) {
        this.sessions.delete(a.session.daemon);
        this.log.info('session closed', { daemon: a.session.daemon, reason: conn.closeReason?.message ?? 'closed here' });
      }
    });
  }

  /** Closes a socket at once, logging at most every 10 s how many were refused. */
  private refuse(socket: net.Socket, reason: string, why: string): void {
    socket.destroy();
    this.m.refused.inc({ reason });
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastRefusalLog >= 10000) {
      this.log.info('msgr2 connection refused', { reason, why, refused: this.refusedSinceLog, peer: `${socket.remoteAddress}:${socket.remotePort}` });
      this.lastRefusalLog = now;
      this.refusedSinceLog = 0;
    }
  }

  /** Ends one connection for what it sent; the others go on. */
  private end(a: Accepted, reason: string, message: string): void {
    this.m.ended.inc({ reason });
    this.log.warn('msgr2 session ended', { entity: a.peer?.entity, daemon: a.session?.daemon, reason: message });
    a.conn.close();
  }

  // ---------------------------------------------------------------- messages

  private onMessage(a: Accepted, m: Message): void {
    const peer = a.peer as Peer;
    try {
      switch (m.type) {
        case MsgType.MGR_OPEN:
          this.messages.open++;
          this.m.messages.inc({ type: 'open' });
          return this.open(a, peer, decodeMMgrOpen(m));
        case MsgType.MGR_REPORT: {
          this.messages.report++;
          this.m.messages.inc({ type: 'report' });
          if (!a.session) return this.end(a, 'malformed', `${peer.entity} sent a report before MMgrOpen`);
          a.session.report(decodeMMgrReport(m));
          return;
        }
        case MSG_PGSTATS: {
          this.messages.pgStats++;
          this.m.messages.inc({ type: 'pg_stats' });
          if (!a.session?.daemon.startsWith('osd.')) return this.end(a, 'malformed', `${peer.entity} sent pg stats without an OSD session`);
          if (!a.session.pgStats(decodeMPGStats(m))) this.m.pgStatsDropped.inc();
          return;
        }
        case MsgType.MGR_COMMAND:
          return this.command(a, peer, m, 'mgr');
        case MsgType.COMMAND:
          return this.command(a, peer, m, 'tell');
        default:
          // as Ceph's DaemonServer: not ours (MMgrClose, a newer daemon's message), left alone
          this.messages.other++;
          this.m.messages.inc({ type: 'other' });
          this.log.debug('message not handled', { entity: peer.entity, type: `0x${m.type.toString(16)}` });
      }
    } catch (e) {
      if (e instanceof SessionError) return this.end(a, e.reason, e.message);
      if (e instanceof DecodeError) return this.end(a, 'malformed', `malformed message 0x${m.type.toString(16)} from ${peer.entity}: ${e.message}`);
      throw e;
    }
  }

  private open(a: Accepted, peer: Peer, open: ReturnType<typeof decodeMMgrOpen>): void {
    const named = sessionName(peer, open);
    if ('refused' in named) {
      this.log.warn('session refused', { channel: 'audit', entity: peer.entity, reason: named.refused });
      return this.end(a, 'refused_open', named.refused);
    }
    const { daemon } = named;
    if (a.session && a.session.daemon !== daemon) throw new SessionError('malformed', `${peer.entity} opened ${daemon} on ${a.session.daemon}'s session`);
    const previous = this.sessions.get(daemon);
    if (previous && previous !== a) {
      // its old connection is gone or going: the newest session is the daemon's
      this.m.ended.inc({ reason: 'replaced' });
      this.log.info('session replaced', { daemon });
      previous.conn.close();
    }
    a.session?.close();
    a.session = new DaemonSession(daemon, this.o.sink, this.o.counterLimits);
    this.sessions.set(daemon, a);
    this.sendConfigure(a);
    a.session.open(open);
    this.log.info('session opened', { daemon, entity: peer.entity, serviceName: open.serviceName || undefined, mode: a.conn.mode });
  }

  private sendConfigure(a: Accepted): void {
    if (!a.conn.isReady) return;
    a.conn.sendMessage(
      mMgrConfigure({
        statsPeriod: wholeSeconds(this.o.statsPeriod()),
        statsThreshold: this.o.statsThreshold(),
        osdPerfMetricQueries: [],
        // as Pacific's manager: an MDS gets an empty metric configuration
        metricConfig: a.peer?.type === EntityType.MDS ? EMPTY_MDS_METRIC_CONFIG : undefined,
      }),
    );
  }

  private command(a: Accepted, peer: Peer, m: Message, kind: 'mgr' | 'tell'): void {
    this.messages.commands++;
    this.m.messages.inc({ type: kind === 'mgr' ? 'mgr_command' : 'command' });
    const req = kind === 'mgr' ? decodeMMgrCommand(m) : decodeMCommand(m);
    const send = (r: number, rs: string, data: Buffer) => {
      if (!a.conn.isReady) return;
      a.conn.sendMessage((kind === 'mgr' ? mMgrCommandReply : mCommandReply)({ tid: req.tid, r, rs, data }));
    };
    if (a.commandsInFlight >= (this.o.maxCommandsInFlight ?? 16)) {
      return send(EAGAIN, `${a.commandsInFlight} commands already in flight on this connection; wait for their answers`, Buffer.alloc(0));
    }
    a.commandsInFlight++;
    void this.o.commands.answer(peer, req, kind).then((reply) => {
      a.commandsInFlight--;
      send(reply.r, reply.rs, reply.data);
    });
  }
}
