// The service map: daemons that are not OSDs, MDS or monitors (rgw,
// rbd-mirror, iscsi...) register with the active manager (MMgrOpen with
// service_daemon set); the manager publishes the map to the monitors inside
// MMonMgrReport, and the monitors send it to subscribers of "servicemap"
// (MServiceMap). ServiceMap v1, Service v1, Daemon v2.
// Sources: src/mgr/ServiceMap.{h,cc}, src/messages/MServiceMap.h.
import { Decoder, Encoder } from '../encoding';
import { MsgType, Priority, type Message } from '../message';
import { decodeAddr, decodeUTime, encodeAddr, encodeUTime, type EntityAddr, type UTime } from '../types';
import { compareBytes, frontOf, readString, readStringMap, writeString, writeStringMap } from './common';

/** One registered daemon. */
export interface ServiceDaemon {
  /** Its global id. */
  gid: bigint;
  addr: EntityAddr;
  /** The service map epoch it registered in. */
  startEpoch: number;
  startStamp: UTime;
  metadata: Record<string, string>;
  /** What its tasks are doing ("running", "idle"...). */
  taskStatus: Record<string, string>;
}

/** A service: its daemons by id, and an optional summary line. */
export interface Service {
  daemons: Map<string, ServiceDaemon>;
  summary: string;
}

export interface ServiceMap {
  epoch: number;
  modified: UTime;
  services: Map<string, Service>;
}

function decodeDaemon(d: Decoder): ServiceDaemon {
  return d.struct(2, 'ServiceMap::Daemon', (_, v) => ({
    gid: d.u64(),
    addr: decodeAddr(d),
    startEpoch: d.u32(),
    startStamp: decodeUTime(d),
    metadata: readStringMap(d),
    taskStatus: v >= 2 ? readStringMap(d) : {},
  }));
}

function encodeDaemon(e: Encoder, x: ServiceDaemon): void {
  e.struct(2, 1, () => {
    e.u64(x.gid);
    encodeAddr(e, x.addr);
    e.u32(x.startEpoch);
    encodeUTime(e, x.startStamp);
    writeStringMap(e, x.metadata);
    writeStringMap(e, x.taskStatus);
  });
}

/** Entries of a std::map<std::string, T>, in its order. */
function byKey<T>(m: Map<string, T>): [string, T][] {
  return [...m].sort(([a], [b]) => compareBytes(a, b));
}

export function decodeServiceMap(d: Decoder): ServiceMap {
  return d.struct(1, 'ServiceMap', () => ({
    epoch: d.u32(),
    modified: decodeUTime(d),
    services: d.map(readString, (x) => x.struct(1, 'ServiceMap::Service', () => ({ daemons: x.map(readString, decodeDaemon, 10), summary: x.string() })), 10),
  }));
}

export function encodeServiceMap(e: Encoder, s: ServiceMap): void {
  e.struct(1, 1, () => {
    e.u32(s.epoch);
    encodeUTime(e, s.modified);
    e.map(byKey(s.services), writeString, (x, svc) =>
      x.struct(1, 1, () => {
        x.map(byKey(svc.daemons), writeString, encodeDaemon);
        writeString(x, svc.summary);
      }),
    );
  });
}

/** The encoded form MMonMgrReport carries (service_map_bl). */
export function serviceMapBytes(s: ServiceMap): Buffer {
  const e = new Encoder(256);
  encodeServiceMap(e, s);
  return e.toBuffer();
}

/** MServiceMap: the ServiceMap, as the whole front. */
export function decodeMServiceMap(m: Message): ServiceMap {
  return decodeServiceMap(frontOf(m, MsgType.SERVICE_MAP));
}

export function mServiceMap(s: ServiceMap): Message {
  return { type: MsgType.SERVICE_MAP, version: 1, compatVersion: 1, front: serviceMapBytes(s), priority: Priority.HIGH };
}
