// What the active manager and the monitors tell each other about the
// cluster, beyond the MgrMap: MMonMgrReport (manager → monitors, every
// beacon period: the manager's health checks, its progress events, the
// service map, and the PGMapDigest in the data segment; without it `ceph -s`
// shows the last digest, frozen) and MMgrDigest (monitors → manager, every
// mon_mgr_digest_period: mon_status and health as JSON, which the modules'
// get('mon_status') and get('health') return), and MKVData (monitors →
// subscribers of "kv:<prefix>", e.g. "kv:mgr/": the monitors' config-key
// store under that prefix, in full and then each change: where ceph-mgr's
// modules keep their store).
// Sources: src/messages/MMonMgrReport.h, MMgrDigest.h, src/mon/health_check.h,
// src/include/health.h, src/mon/mon_types.h (ProgressEvent), src/messages/MKVData.h.
import { Decoder, Encoder } from '../encoding';
import { MsgType, Priority, type Message } from '../message';
import {
  compareBytes,
  decodePaxos,
  encodePaxos,
  frontOf,
  readF32,
  readString,
  readStringList,
  writeF32,
  writeString,
  writeStringList,
  type PaxosHeader,
} from './common';
import { decodePGMapDigest, encodePGMapDigest, type PGMapDigest } from './pgmap-digest';

/** health_status_t, as encoded (one byte). */
export const HealthStatus = { ERR: 0, WARN: 1, OK: 2 } as const;

/** One health check (health_check_t v2): PG_DEGRADED, MGR_MODULE_ERROR... */
export interface HealthCheck {
  /** HealthStatus. */
  severity: number;
  summary: string;
  detail: string[];
  /** How many things the check counts (degraded PGs...); `ceph health mute` uses it. */
  count: bigint;
}

/** health_check_map_t: check code → check. */
export type HealthChecks = Map<string, HealthCheck>;

export function decodeHealthChecks(d: Decoder): HealthChecks {
  return d.struct(1, 'health_check_map_t', () =>
    d.map(
      readString,
      (x) =>
        x.struct(2, 'health_check_t', (_, v) => ({
          severity: x.u8(),
          summary: x.string(),
          detail: readStringList(x),
          count: v >= 2 ? x.i64() : 0n,
        })),
      10,
    ),
  );
}

export function encodeHealthChecks(e: Encoder, checks: HealthChecks): void {
  // a std::map: codes in byte order whatever the caller's order
  const codes = [...checks.keys()].sort(compareBytes);
  e.struct(1, 1, () =>
    e.map(
      codes.map((c) => [c, checks.get(c) as HealthCheck] as const),
      writeString,
      (x, c) =>
        x.struct(2, 1, () => {
          x.u8(c.severity);
          writeString(x, c.summary);
          writeStringList(x, c.detail);
          x.i64(c.count);
        }),
    ),
  );
}

/** A progress event (ProgressEvent v2): `ceph -s`'s progress section ("PG autoscaler increasing pool 3 PGs from 8 to 32"). */
export interface ProgressEvent {
  message: string;
  /** 0 to 1. */
  progress: number;
  addToCephS: boolean;
}

function decodeProgressEvent(d: Decoder): ProgressEvent {
  return d.struct(2, 'ProgressEvent', (_, v) => ({ message: d.string(), progress: readF32(d), addToCephS: v >= 2 ? d.bool() : false }));
}

function encodeProgressEvent(e: Encoder, p: ProgressEvent): void {
  e.struct(2, 1, () => {
    writeString(e, p.message);
    writeF32(e, p.progress);
    e.bool(p.addToCephS);
  });
}

/** MMonMgrReport v3. */
export interface MMonMgrReport {
  paxos: PaxosHeader;
  healthChecks: HealthChecks;
  /** The encoded ServiceMap (service-map.ts), or empty. */
  serviceMapBl: Buffer;
  /** event id (a uuid) → event, in wire order. */
  progressEvents: Map<string, ProgressEvent>;
  /** The reporting manager's gid. */
  gid: bigint;
  /** The encoded PGMapDigest (the data segment), kept as received. */
  digestBl: Buffer;
}

export function decodeMMonMgrReport(m: Message): MMonMgrReport {
  const d = frontOf(m, MsgType.MON_MGR_REPORT);
  const paxos = decodePaxos(d);
  const healthChecks = decodeHealthChecks(d);
  const serviceMapBl = d.blob();
  const progressEvents = m.version >= 2 ? d.map(readString, decodeProgressEvent, 10) : new Map<string, ProgressEvent>();
  const gid = m.version >= 3 ? d.u64() : 0n;
  return { paxos, healthChecks, serviceMapBl, progressEvents, gid, digestBl: m.data ?? Buffer.alloc(0) };
}

/** The digest an MMonMgrReport carries. */
export function reportDigest(r: MMonMgrReport): PGMapDigest {
  return decodePGMapDigest(r.digestBl);
}

/** An MMonMgrReport; `digest` is a PGMapDigest or its encoding. */
export function mMonMgrReport(r: Omit<MMonMgrReport, 'digestBl' | 'paxos'> & { paxos?: PaxosHeader; digest: PGMapDigest | Buffer }): Message {
  const e = new Encoder(256);
  encodePaxos(e, r.paxos);
  encodeHealthChecks(e, r.healthChecks);
  e.blob(r.serviceMapBl);
  e.map(r.progressEvents, writeString, encodeProgressEvent);
  e.u64(r.gid);
  const data = Buffer.isBuffer(r.digest) ? r.digest : encodePGMapDigest(r.digest);
  return { type: MsgType.MON_MGR_REPORT, version: 3, compatVersion: 1, front: e.toBuffer(), data };
}

/** MMgrDigest: the monitors' mon_status and health, JSON texts as they sent them. */
export interface MMgrDigest {
  monStatusJson: Buffer;
  healthJson: Buffer;
}

export function decodeMMgrDigest(m: Message): MMgrDigest {
  const d = frontOf(m, MsgType.MGR_DIGEST);
  return { monStatusJson: d.blob(), healthJson: d.blob() };
}

export function mMgrDigest(g: MMgrDigest): Message {
  const e = new Encoder(16 + g.monStatusJson.length + g.healthJson.length).blob(g.monStatusJson).blob(g.healthJson);
  return { type: MsgType.MGR_DIGEST, version: 1, compatVersion: 1, front: e.toBuffer(), priority: Priority.HIGH };
}

/** MKVData's type number (MSG_KV_DATA). */
export const MSG_KV_DATA = MsgType.KV_DATA;

/** MKVData v1: config-key entries under a prefix; a key mapped to undefined was removed. */
export interface MKVData {
  /** The store's version this brings the subscriber to. */
  version: bigint;
  /** "mgr/", "config/", "device/". */
  prefix: string;
  /** false: the whole prefix (forget what was held); true: only changes. */
  incremental: boolean;
  /** key → value, or undefined for a removed key (a std::map: key order). */
  data: Map<string, Buffer | undefined>;
}

export function decodeMKVData(m: Message): MKVData {
  const d = frontOf(m, MSG_KV_DATA);
  return {
    version: d.u64(),
    prefix: d.string(),
    incremental: d.bool(),
    data: d.map(readString, (x) => x.optional((y) => y.blob()), 5),
  };
}

export function mKVData(k: MKVData): Message {
  const e = new Encoder(64);
  e.u64(k.version);
  writeString(e, k.prefix);
  e.bool(k.incremental);
  e.map(
    [...k.data].sort(([a], [b]) => compareBytes(a, b)),
    writeString,
    (x, v) => x.optional(v, (y, b) => y.blob(b)),
  );
  return { type: MSG_KV_DATA, version: 1, compatVersion: 1, front: e.toBuffer(), priority: Priority.HIGH };
}
