// A manager's daemon sessions and commands, in the versions Pacific uses
// (checked on the captures): what an OSD, MDS, monitor or manager sends on
// the session it opens with the active manager (MMgrOpen, then MMgrReport
// every stats_period; the manager answers MMgrConfigure), and the commands
// a client sends it (MMgrCommand for `ceph <prefix>`, MCommand for
// `ceph tell mgr ...`) with their replies. MPGStats is in pg-stats.ts.
// Sources: src/messages/MMgrOpen.h, MMgrConfigure.h, MMgrReport.h,
// MCommand.h, MCommandReply.h, MMgrCommand.h, MMgrCommandReply.h;
// src/mgr/DaemonHealthMetric.h, src/mgr/MetricTypes.h, src/mgr/MgrClient.cc.
import { Decoder, DecodeError, Encoder } from '../encoding';
import { MsgType, type Message } from '../message';
import { decodeUuid, encodeUuid, ZERO_UUID } from '../types';
import { frontOf, readRawStruct, readString, readStringList, readStringMap, writeString, writeStringList, writeStringMap } from './common';
import { decodePerfCounterType, encodePerfCounterType, type PerfCounterType } from './perf-counters';

// --- MMgrOpen ----------------------------------------------------------------

/** MMgrOpen v3: the first message of a daemon session. */
export interface MMgrOpen {
  /** The daemon's id without its type: "0" for osd.0, "a" for mds.a. */
  daemonName: string;
  /** "osd", "mds", "mon", "mgr"; a service daemon's service ("rgw", "rbd-mirror"). */
  serviceName: string;
  /** A service daemon (rgw...) registers in the service map with metadata and status. */
  serviceDaemon: boolean;
  daemonMetadata: Record<string, string>;
  daemonStatus: Record<string, string>;
  /** The daemon's current configuration (decodeDaemonConfig). */
  configBl: Buffer;
  /** Its compiled-in defaults (decodeConfigDefaults); ~68 KB from an OSD. */
  configDefaultsBl: Buffer;
}

export function decodeMMgrOpen(m: Message): MMgrOpen {
  const d = frontOf(m, MsgType.MGR_OPEN);
  const out: MMgrOpen = {
    daemonName: d.string(),
    serviceName: '',
    serviceDaemon: false,
    daemonMetadata: {},
    daemonStatus: {},
    configBl: Buffer.alloc(0),
    configDefaultsBl: Buffer.alloc(0),
  };
  if (m.version >= 2) {
    out.serviceName = d.string();
    out.serviceDaemon = d.bool();
    if (out.serviceDaemon) {
      out.daemonMetadata = readStringMap(d);
      out.daemonStatus = readStringMap(d);
    }
  }
  if (m.version >= 3) {
    out.configBl = d.blob();
    out.configDefaultsBl = d.blob();
  }
  return out;
}

export function mMgrOpen(o: MMgrOpen): Message {
  const e = new Encoder(256 + o.configBl.length + o.configDefaultsBl.length);
  writeString(e, o.daemonName);
  writeString(e, o.serviceName);
  e.bool(o.serviceDaemon);
  if (o.serviceDaemon) {
    writeStringMap(e, o.daemonMetadata);
    writeStringMap(e, o.daemonStatus);
  }
  e.blob(o.configBl).blob(o.configDefaultsBl);
  return { type: MsgType.MGR_OPEN, version: 3, compatVersion: 1, front: e.toBuffer() };
}

/** MMgrOpen's config_bl: map<option name, map<level, value>> (the level is the source: default, mon, file, cmdline...). */
export function decodeDaemonConfig(bl: Buffer): Map<string, Map<number, string>> {
  if (!bl.length) return new Map();
  const d = new Decoder(bl);
  return d.map(readString, (x) => x.map((y) => y.i32(), readString, 8), 8);
}

/** MMgrOpen's config_defaults_bl: map<option name, default value>. */
export function decodeConfigDefaults(bl: Buffer): Record<string, string> {
  if (!bl.length) return {};
  return readStringMap(new Decoder(bl));
}

// --- MMgrConfigure -----------------------------------------------------------

/**
 * A metric query or report (MetricConfigMessage, MetricReportMessage): a
 * le32 kind (0 OSD, 1 MDS) and its payload, a versioned struct kept as
 * bytes: mgrpc does not run per-client metric queries yet.
 */
export interface MetricPayload {
  kind: number;
  /** The payload struct, envelope included. */
  payload: Buffer;
}

export const MetricKind = { OSD: 0, MDS: 1 } as const;

function decodeMetricPayload(d: Decoder): MetricPayload {
  const kind = d.u32();
  // Ceph aborts on an unknown kind; refuse it instead
  if (kind !== MetricKind.OSD && kind !== MetricKind.MDS) throw new DecodeError(`metric payload of unknown kind ${kind}`);
  return { kind, payload: readRawStruct(d, 'metric payload') };
}

function encodeMetricPayload(e: Encoder, p: MetricPayload): void {
  e.u32(p.kind).bytes(p.payload);
}

/** An empty MDS metric configuration (MDSConfigPayload v1, no queries), what a Pacific manager sends an MDS. */
export const EMPTY_MDS_METRIC_CONFIG: MetricPayload = { kind: MetricKind.MDS, payload: new Encoder().struct(1, 1, (e) => e.u32(0)).toBuffer() };

/** MMgrConfigure v4: how often a daemon reports and which counters. Without it a daemon never reports. */
export interface MMgrConfigure {
  /** Seconds between reports (mgr_stats_period, 5). */
  statsPeriod: number;
  /** Only counters of this priority or higher are declared (mgr_stats_threshold, 5). */
  statsThreshold: number;
  /** OSD per-client perf queries: map<OSDPerfMetricQuery, OSDPerfMetricLimits>, each side kept as bytes. */
  osdPerfMetricQueries: { query: Buffer; limits: Buffer[] }[];
  metricConfig?: MetricPayload;
}

export function decodeMMgrConfigure(m: Message): MMgrConfigure {
  const d = frontOf(m, MsgType.MGR_CONFIGURE);
  const statsPeriod = d.u32();
  const statsThreshold = m.version >= 2 ? d.u32() : 0;
  const osdPerfMetricQueries =
    m.version >= 3
      ? [
          ...d
            .map(
              (x) => readRawStruct(x, 'OSDPerfMetricQuery'),
              (x) => x.list((y) => readRawStruct(y, 'OSDPerfMetricLimit'), 6),
              10,
            )
            .entries(),
        ].map(([query, limits]) => ({ query, limits }))
      : [];
  const metricConfig = m.version >= 4 ? d.optional(decodeMetricPayload) : undefined;
  return { statsPeriod, statsThreshold, osdPerfMetricQueries, metricConfig };
}

export function mMgrConfigure(c: MMgrConfigure): Message {
  const e = new Encoder(32);
  e.u32(c.statsPeriod).u32(c.statsThreshold);
  e.list(c.osdPerfMetricQueries, (x, q) => {
    x.bytes(q.query);
    x.list(q.limits, (y, l) => y.bytes(l));
  });
  e.optional(c.metricConfig, encodeMetricPayload);
  return { type: MsgType.MGR_CONFIGURE, version: 4, compatVersion: 1, front: e.toBuffer() };
}

// --- MMgrReport --------------------------------------------------------------

/** daemon_metric: what a DaemonHealthMetric counts. */
export const DaemonMetric = { SLOW_OPS: 0, PENDING_CREATING_PGS: 1, NONE: 2 } as const;

/** A daemon's health metric: slow ops (n = count, n1/n2 = count and oldest age), creating PGs. */
export interface DaemonHealthMetric {
  type: number;
  /** The 64-bit value; n1 is its low 32 bits, n2 its high ones. */
  n: bigint;
}

function decodeHealthMetric(d: Decoder): DaemonHealthMetric {
  return d.struct(1, 'DaemonHealthMetric', () => ({ type: d.u8(), n: d.u64() }));
}

function encodeHealthMetric(e: Encoder, h: DaemonHealthMetric): void {
  e.struct(1, 1, () => e.u8(h.type).u64(h.n));
}

/** MMgrReport v9: a daemon's periodic report. */
export interface MMgrReport {
  daemonName: string;
  /** Counters introduced in this report (each once per session). */
  declareTypes: PerfCounterType[];
  /**
   * The values of every declared counter, in the session's order
   * (CounterSchema.unpack). A view into the message's front, kept as it
   * arrived: copy it to keep it past the message.
   */
  packed: Buffer;
  undeclareTypes: string[];
  serviceName: string;
  /** A service daemon's status (rgw...). */
  daemonStatus?: Record<string, string>;
  daemonHealthMetrics: DaemonHealthMetric[];
  /** The daemon's configuration, when it changed (same encoding as MMgrOpen's). */
  configBl: Buffer;
  /** Answers to OSD perf queries: map<OSDPerfMetricQuery, OSDPerfMetricReport>, each side kept as bytes. */
  osdPerfMetricReports: { query: Buffer; report: Buffer }[];
  taskStatus?: Record<string, string>;
  metricReport?: MetricPayload;
}

export function decodeMMgrReport(m: Message): MMgrReport {
  const d = frontOf(m, MsgType.MGR_REPORT);
  const r: MMgrReport = {
    daemonName: d.string(),
    declareTypes: d.list(decodePerfCounterType, 18),
    packed: d.blob(),
    undeclareTypes: [],
    serviceName: '',
    daemonHealthMetrics: [],
    configBl: Buffer.alloc(0),
    osdPerfMetricReports: [],
  };
  if (m.version >= 2) r.undeclareTypes = readStringList(d);
  if (m.version >= 3) {
    r.serviceName = d.string();
    r.daemonStatus = d.optional(readStringMap);
  }
  if (m.version >= 5) r.daemonHealthMetrics = d.list(decodeHealthMetric, 15);
  if (m.version >= 6) r.configBl = d.blob();
  if (m.version >= 7)
    r.osdPerfMetricReports = [
      ...d
        .map(
          (x) => readRawStruct(x, 'OSDPerfMetricQuery'),
          (x) => readRawStruct(x, 'OSDPerfMetricReport'),
          12,
        )
        .entries(),
    ].map(([query, report]) => ({ query, report }));
  if (m.version >= 8) r.taskStatus = d.optional(readStringMap);
  if (m.version >= 9) r.metricReport = d.optional(decodeMetricPayload);
  return r;
}

export function mMgrReport(r: MMgrReport): Message {
  const e = new Encoder(256 + r.packed.length + r.configBl.length);
  writeString(e, r.daemonName);
  e.list(r.declareTypes, encodePerfCounterType);
  e.blob(r.packed);
  writeStringList(e, r.undeclareTypes);
  writeString(e, r.serviceName);
  e.optional(r.daemonStatus, writeStringMap);
  e.list(r.daemonHealthMetrics, encodeHealthMetric);
  e.blob(r.configBl);
  e.list(r.osdPerfMetricReports, (x, p) => x.bytes(p.query).bytes(p.report));
  e.optional(r.taskStatus, writeStringMap);
  e.optional(r.metricReport, encodeMetricPayload);
  return { type: MsgType.MGR_REPORT, version: 9, compatVersion: 1, front: e.toBuffer() };
}

// --- commands ----------------------------------------------------------------

/** A command for the manager: one JSON string in `cmd` (the CLI sends one), the input in the data segment. */
export interface MgrCommandRequest {
  tid: bigint;
  /** The CLI sends all zeros in MMgrCommand: never refuse a command for its fsid. */
  fsid: string;
  cmd: string[];
  inbuf: Buffer;
}

/** What it takes to send a command: no input and a zero fsid unless given. */
export type CommandToSend = Pick<MgrCommandRequest, 'tid' | 'cmd'> & Partial<Pick<MgrCommandRequest, 'fsid' | 'inbuf'>>;

/** A command's answer: Ceph return code, status line, output (the data segment). */
export interface MgrCommandReply {
  tid: bigint;
  r: number;
  rs: string;
  data: Buffer;
}

function decodeCommand(m: Message, type: number): MgrCommandRequest {
  const d = frontOf(m, type);
  return { tid: m.tid ?? 0n, fsid: decodeUuid(d), cmd: readStringList(d), inbuf: m.data ?? Buffer.alloc(0) };
}

function commandMessage(type: number, c: CommandToSend): Message {
  const e = new Encoder();
  encodeUuid(e, c.fsid ?? ZERO_UUID);
  writeStringList(e, c.cmd);
  return { type, version: 1, compatVersion: 1, front: e.toBuffer(), data: c.inbuf, tid: c.tid };
}

function decodeReply(m: Message, type: number): MgrCommandReply {
  const d = frontOf(m, type);
  return { tid: m.tid ?? 0n, r: d.i32(), rs: d.string(), data: m.data ?? Buffer.alloc(0) };
}

function replyMessage(type: number, r: MgrCommandReply): Message {
  const e = new Encoder(8 + Buffer.byteLength(r.rs));
  e.i32(r.r);
  writeString(e, r.rs);
  return { type, version: 1, compatVersion: 1, front: e.toBuffer(), data: r.data, tid: r.tid };
}

/** MMgrCommand (0x709): `ceph <prefix> ...` for a command the manager's beacon listed. */
export const decodeMMgrCommand = (m: Message): MgrCommandRequest => decodeCommand(m, MsgType.MGR_COMMAND);
export const mMgrCommand = (c: CommandToSend): Message => commandMessage(MsgType.MGR_COMMAND, c);
export const decodeMMgrCommandReply = (m: Message): MgrCommandReply => decodeReply(m, MsgType.MGR_COMMAND_REPLY);
export const mMgrCommandReply = (r: MgrCommandReply): Message => replyMessage(MsgType.MGR_COMMAND_REPLY, r);

/** MCommand (97): `ceph tell mgr ...`, in Pacific the admin-socket style table. */
export const decodeMCommand = (m: Message): MgrCommandRequest => decodeCommand(m, MsgType.COMMAND);
export const mCommand = (c: CommandToSend): Message => commandMessage(MsgType.COMMAND, c);
export const decodeMCommandReply = (m: Message): MgrCommandReply => decodeReply(m, MsgType.COMMAND_REPLY);
export const mCommandReply = (r: MgrCommandReply): Message => replyMessage(MsgType.COMMAND_REPLY, r);
