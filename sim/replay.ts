// One simulated OSD's session to daemon-server, cheap enough that one
// process runs 10,000 of them: the daemon side of Ceph's protocol (open,
// wait for configure, declare the counters once, report every period with
// pg stats, reconnect with backoff, close) written straight onto a grpc-js
// stream, every message bytes the session built before: the open once, the
// report frame shared with every OSD of the same schema (lib/report-frame.ts)
// with only the values written each period, the pg stats from the OSD's
// template encoder (sim/pg-report.ts). lib/mgr-client.ts is the full client
// library; this is the load generator's replay of what it sends.
import { asCredentials, ENTITY_HEADER, PROOF_HEADER, signCall } from '../lib/auth/proof';
import { targetAddress } from '../lib/auth/grpc';
import { EventEmitter } from 'events';
import * as grpc from '@grpc/grpc-js';
import type { Channel } from 'nice-grpc';
import type { DaemonHealthMetric, PerfCounterType } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { SessionConfigure, SessionRequest, SessionResponse } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { frameWithHealth, reportShape, ReportShape, writeFrameValues } from '../lib/report-frame';
import { encodePgStatsFrame } from '../lib/session-wire';
import type { Logger } from '../lib/log';

const SESSION_PATH = '/ceph.mgr.v1.DaemonServerService/Session';
const asIs = (b: Buffer) => b;
const configureOf = (b: Buffer) => SessionResponse.decode(b);

export interface ReplayOptions {
  daemonName: string;
  metadata: Record<string, string>;
  /** The full schema, and its values (schema order, averages as sum, count) at time t. */
  schema: PerfCounterType[];
  values(t: number): ArrayLike<number | bigint>;
  /** The pg stats to send after each report (an encoded PgStatsReport); undefined skips one round. */
  pgStats?: () => { epoch: number; report: Uint8Array } | undefined;
  /** Health metrics to send with each report (a report with some goes through the codec). */
  healthMetrics?: () => DaemonHealthMetric[];
  channel: Channel;
  auth?: { entity: string; key: string };
  /** Where in the period this daemon reports, 0..1. */
  phase: number;
  now: () => number;
  logger: Logger;
  backoff?: { initialMs?: number; maxMs?: number };
}

export class ReplaySession extends EventEmitter {
  readonly daemonName: string;
  /** Sessions opened so far. */
  sessions = 0;
  reportsSent = 0;
  reportsSkipped = 0;
  configure?: SessionConfigure;
  private client: grpc.Client;
  private call: grpc.ClientDuplexStream<Buffer, SessionResponse> | null = null;
  private connected = false;
  private stopped = false;
  private switching = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private shape: ReportShape | null = null;
  private declared = false;
  private readonly slotStart: Int32Array;
  private readonly open: Buffer;

  constructor(private readonly opts: ReplayOptions) {
    super();
    this.daemonName = opts.daemonName;
    this.client = new grpc.Client('', grpc.credentials.createInsecure(), { channelOverride: opts.channel as unknown as grpc.Channel });
    this.slotStart = new Int32Array(opts.schema.length);
    let s = 0;
    opts.schema.forEach((c, i) => {
      this.slotStart[i] = s;
      s += c.type & 4 ? 2 : 1;
    });
    this.open = Buffer.from(
      SessionRequest.encode({
        msg: { $case: 'open', value: { daemonName: opts.daemonName, serviceName: '', serviceDaemon: false, metadata: opts.metadata, daemonStatus: {} } },
      }).finish(),
    );
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): this {
    if (!this.stopped && !this.call) this.connect();
    return this;
  }

  /** Moves the session to another channel (a new active manager). */
  setChannel(channel: Channel): void {
    this.client = new grpc.Client('', grpc.credentials.createInsecure(), { channelOverride: channel as unknown as grpc.Channel });
    this.switching = true;
    this.call?.cancel();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    const call = this.call;
    if (!call) return;
    await new Promise<void>((resolve) => {
      const cut = setTimeout(() => call.cancel(), 200);
      call.once('status', () => {
        clearTimeout(cut);
        resolve();
      });
      if (this.connected) call.write(Buffer.from(SessionRequest.encode({ msg: { $case: 'close', value: {} } }).finish()));
      call.end();
    });
  }

  private connect(): void {
    const md = new grpc.Metadata();
    if (this.opts.auth) {
      // The same proof lib/client.ts makes for every call (this stream is a raw grpc-js call).
      const signed = signCall(asCredentials(this.opts.auth), targetAddress(this.client.getChannel().getTarget()), SESSION_PATH);
      md.set(ENTITY_HEADER, signed.entity);
      md.set(PROOF_HEADER, signed.proof);
    }
    const call = this.client.makeBidiStreamRequest(SESSION_PATH, asIs, configureOf, md);
    this.call = call;
    this.sessions++;
    this.declared = false;
    this.configure = undefined;
    call.on('data', (res: SessionResponse) => {
      if (res.msg?.$case === 'configure') this.onConfigure(res.msg.value);
      // Ceph's MOSDScrub2: the simulated OSD scrubs; its next pg stats carry the stamps
      else if (res.msg?.$case === 'scrub') this.emit('scrub', res.msg.value);
    });
    call.on('error', () => undefined); // 'status' follows: reconnect there
    call.on('status', () => this.onClosed(call));
    call.write(this.open);
  }

  private onClosed(call: grpc.ClientDuplexStream<Buffer, SessionResponse>): void {
    if (call !== this.call) return;
    this.call = null;
    this.clearTimers();
    if (this.connected) {
      this.connected = false;
      this.emit('disconnected');
    }
    if (this.stopped) return;
    if (this.switching) {
      this.switching = false;
      this.connect();
      return;
    }
    const initial = this.opts.backoff?.initialMs ?? 250;
    const max = this.opts.backoff?.maxMs ?? 10000;
    const d = Math.min(max, initial * 2 ** Math.min(this.failures++, 30));
    this.retry = setTimeout(() => this.connect(), d / 2 + (Math.random() * d) / 2);
  }

  private onConfigure(cfg: SessionConfigure): void {
    const prev = this.configure;
    this.configure = cfg;
    this.failures = 0;
    if (!prev || prev.statsThreshold !== cfg.statsThreshold) this.reshape(cfg.statsThreshold);
    if (!this.connected) {
      this.connected = true;
      this.emit('connected');
    }
    if (prev && prev.statsPeriod === cfg.statsPeriod && this.timer) return;
    this.clearTimers();
    if (!(cfg.statsPeriod > 0)) return;
    const periodMs = cfg.statsPeriod * 1000;
    this.timer = setTimeout(() => {
      this.sendReport();
      this.timer = setInterval(() => this.sendReport(), periodMs);
    }, this.opts.phase * periodMs);
  }

  /** The declared set for a threshold: declared in full with the next report (a new threshold mid-session re-opens). */
  private reshape(threshold: number): void {
    const declared = this.opts.schema.map((c, i) => (c.priority >= threshold ? i : -1)).filter((i) => i >= 0);
    if (this.shape && this.declared) {
      // Ceph's daemons declare once per session: start a new one for the new set
      this.switching = true;
      this.call?.cancel();
      return;
    }
    this.shape = reportShape(this.opts.schema, declared, this.slotStart);
  }

  private sendReport(): void {
    const call = this.call;
    const shape = this.shape;
    if (!call || !shape || !this.connected) return;
    // a stream that does not drain: skip this period (reports are snapshots)
    if (call.writableNeedDrain) {
      this.reportsSkipped++;
      return;
    }
    const values = this.opts.values(this.opts.now());
    const health = this.opts.healthMetrics?.() ?? [];
    if (!this.declared) {
      // the first report declares the schema: through the codec
      const frame = Buffer.from(shape.frame);
      writeFrameValues(frame, shape.frameValues, shape.layout, shape.sourceSlot, values);
      call.write(
        Buffer.from(
          SessionRequest.encode({
            msg: {
              $case: 'report',
              value: {
                declareTypes: shape.declare,
                undeclareTypes: [],
                packed: [],
                counterValues: frame.subarray(shape.frameValues),
                daemonStatus: {},
                hasDaemonStatus: false,
                taskStatus: {},
                daemonHealthMetrics: health,
              },
            },
          }).finish(),
        ),
      );
      this.declared = true;
    } else {
      // every later period: the values written into a copy of the frame (OSDs' and monitors' health metrics appended)
      const { frame, values: at } = health.length ? frameWithHealth(shape, health) : { frame: Buffer.from(shape.frame), values: shape.frameValues };
      writeFrameValues(frame, at, shape.layout, shape.sourceSlot, values);
      call.write(frame);
    }
    const pg = this.opts.pgStats?.();
    if (pg) call.write(encodePgStatsFrame(pg.epoch, pg.report));
    this.reportsSent++;
  }

  private clearTimers(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.retry) {
      clearTimeout(this.retry);
      this.retry = undefined;
    }
  }
}
