// Puts the msgr2 front door together from what daemon-server already has:
// the manager's Ceph session (rotating keys, gid, where to announce the
// listener), the ingest domain, the command path and the mgr-local
// settings. startDaemonServer calls it when this manager runs in front of
// a real Ceph cluster.
import type * as prom from 'prom-client';
import type { MPGStats } from '../../../lib/ceph/messages/pg-stats';
import type { CommandResult } from '../../../lib/gen/ceph/mgr/v1/common';
import type { Logger } from '../../../lib/log';
import type { Grant } from '../domain/auth';
import type { AuditPriority } from '../domain/command-path';
import type { CephManagerSession } from '../domain/ceph-session';
import type { Ingest } from '../domain/ingest';
import type { CounterLimits } from '../domain/counter-limits';
import type { MgrLocalConfig } from '../domain/native';
import { CommandDoor } from './commands';
import { Msgr2FrontDoor } from './front-door';
import { encodePgStatsReport } from './pg-stats';

export interface FrontDoorSettings {
  /** Where to listen (MGR_HOST). */
  host: string;
  /** MGR_MSGR2_PORT: 0 for a free port. */
  port: number;
  /** The host to announce, when the listener binds a wildcard address. */
  advertiseHost?: string;
  /** MGR_MSGR2_MAX_CONNECTIONS. */
  maxConnections: number;
  /** MGR_MSGR2_MAX_MESSAGE_BYTES. */
  maxMessageBytes: number;
}

export interface FrontDoorDeps {
  ceph: CephManagerSession;
  log: Logger;
  registry: prom.Registry;
  ingest: Ingest;
  /** The limits on declared counters, shared with the gRPC door. */
  counterLimits: CounterLimits;
  /** daemon-server's command path for an already authenticated caller (domain/command-path.ts CommandPath.run). */
  runCommand(caller: { entity: string; grants: Grant[] }, prefix: string, argsText: string, inbuf: Uint8Array): Promise<CommandResult>;
  /** The manager's own commands (native and modules', not the monitors'). */
  managerCommands(): Promise<Array<{ cmd: string; desc: string; module: string; perm: string }>>;
  appendAudit(line: string, priority: AuditPriority): void;
  /** cluster-state's Get(what), parsed (the feed's `osd_metadata`, `mds_metadata`, `mon_metadata`). */
  getView(what: string): Promise<unknown>;
  config: MgrLocalConfig;
  statsPeriod(): number;
  statsThreshold(): number;
  notActive(): string | null;
  /** Whether the manager serves (cluster-state reached). */
  initialized(): boolean;
  /** The largest command input accepted (MGR_COMMAND_MAX_INBUF_BYTES), also bounding a command's JSON. */
  maxCommandBytes: number;
}

export async function startFrontDoor(s: FrontDoorSettings, d: FrontDoorDeps): Promise<Msgr2FrontDoor> {
  // the tell table's `perf dump` reads the door once it is up
  const started: { door?: Msgr2FrontDoor } = {};
  let pgDropLogged = 0;
  // One read of a metadata map serves the sessions that open within a second (a whole cluster reconnecting).
  const maps = new Map<string, { at: number; map: Promise<Record<string, Record<string, string>>> }>();
  const metadataOf = async (daemon: string) => {
    const [type, id] = [daemon.slice(0, daemon.indexOf('.')), daemon.slice(daemon.indexOf('.') + 1)];
    let m = maps.get(type);
    if (!m || Date.now() - m.at > 1000) {
      m = { at: Date.now(), map: d.getView(`${type}_metadata`).then((v) => (v && typeof v === 'object' ? (v as Record<string, Record<string, string>>) : {})) };
      maps.set(type, m);
    }
    const entry = (await m.map)[id];
    return entry && typeof entry === 'object' && Object.keys(entry).length
      ? Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, String(v)]))
      : undefined;
  };
  const commands = new CommandDoor({
    runner: { run: (caller, prefix, args, inbuf) => d.runCommand(caller, prefix, JSON.stringify(args), inbuf) },
    tell: {
      mgrmapEpoch: () => d.ceph.monClient.status().epochs.mgrmap ?? 0,
      initialized: d.initialized,
      config: d.config,
      perf: () => ({ 'mgr-msgr2': started.door?.perf() ?? [] }),
      managerCommands: d.managerCommands,
    },
    log: d.log.child({ door: 'msgr2' }),
    appendAudit: d.appendAudit,
    maxCommandBytes: d.maxCommandBytes,
  });
  const door = (started.door = await Msgr2FrontDoor.start({
    host: s.host,
    port: s.port,
    advertiseHost: s.advertiseHost,
    keys: d.ceph.rotatingKeys,
    modes: d.ceph.modes,
    globalId: () => d.ceph.globalId,
    log: d.log,
    registry: d.registry,
    notActive: d.notActive,
    sink: {
      addReport: (r) => d.ingest.addReport(r),
      metadataOf,
      addPgStats: (osd: number, m: MPGStats) => {
        if (!d.ingest.hasPgRoom(osd)) {
          if (Date.now() - pgDropLogged > 10000) {
            d.log.warn('pg stats queue full: an OSD report waits for its next one', { osd, pending: d.ingest.pendingPgStats });
            pgDropLogged = Date.now();
          }
          return false;
        }
        d.ingest.addPgStats({ osd, epoch: m.epoch, stamp: Date.now() / 1000, report: encodePgStatsReport(m) });
        return true;
      },
    },
    commands,
    statsPeriod: d.statsPeriod,
    statsThreshold: d.statsThreshold,
    maxConnections: s.maxConnections,
    maxMessageBytes: s.maxMessageBytes,
    counterLimits: d.counterLimits,
  }));
  d.ceph.setServerAddrs(door.addrs);
  return door;
}
