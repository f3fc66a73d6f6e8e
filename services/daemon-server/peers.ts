// daemon-server's peers as its domain sees them: cluster-state, its own
// module-host and the standby service, each a small interface of domain/
// implemented here over the clients of the one factory (lib/client.ts).
// A failed call becomes a PeerFailure, classified by its status code.
import { callFailure, CallFailureKind, PeerClient } from '../../lib/client';
import { ClusterStateServiceDefinition, ReportDaemonsRequest } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import * as grpc from '@grpc/grpc-js';
import { ClientError } from 'nice-grpc';
import type { Channel } from 'nice-grpc';
import { CommandStreamRequest, CommandStreamResponse, ModuleHostServiceDefinition } from '../../lib/gen/ceph/mgr/v1/module_host';
import { setCallProof, targetAddress } from '../../lib/auth/grpc';
import type { CallCredentials } from '../../lib/auth/proof';
import type { HealthCheck } from '../../lib/gen/ceph/mgr/v1/common';
import type { StandbyClient } from '../../lib/standby-client';
import type { HealthDefinition } from 'nice-grpc-server-health';
import { HealthCheckResponse_ServingStatus } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';
import type { BeaconApi, ModuleHostStatusApi } from './domain/beacon';
import type { AuditEntry } from './domain/audit-log';
import type { ModuleHostApi } from './domain/command-path';
import type { ModuleHostWatchDeps } from './domain/module-host-watch';
import { PeerFailure, PeerFailureKind } from './domain/errors';
import { encodeIngestPgStats } from './domain/forward';
import { normalized, reusedWriterSerializer, withoutCopy } from '../../lib/raw-methods';
import type { IngestSink } from './domain/ingest';
import type { StandbyApi } from './domain/native';
import type { CommandStream, OpenCommandStream } from './command-stream';

const PEER_KIND: Partial<Record<CallFailureKind, PeerFailureKind>> = {
  unavailable: 'unavailable',
  deadline: 'deadline',
  cancelled: 'cancelled',
  not_found: 'not_found',
  precondition: 'precondition',
};

/** A failed call (or a status answered on a stream) as a PeerFailure, classified by its status code. */
export function peerFailure(e: unknown): PeerFailure {
  const f = callFailure(e);
  return new PeerFailure(PEER_KIND[f.kind] ?? 'other', f.message);
}

/** Runs one call; its failure becomes a PeerFailure. */
async function peerCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    throw peerFailure(e);
  }
}

const clusterState = normalized(ClusterStateServiceDefinition);
/**
 * cluster-state's service as daemon-server calls it: pg stats go on as the
 * daemons encoded them (domain/forward.ts), handed to nice-grpc without its
 * copy; report batches through one reused writer (lib/raw-methods.ts).
 */
export const ClusterStateForwarding = {
  ...clusterState,
  ingestPgStats: { ...clusterState.ingestPgStats, requestSerialize: withoutCopy },
  reportDaemons: { ...clusterState.reportDaemons, requestSerialize: reusedWriterSerializer(ReportDaemonsRequest.encode) },
};

type ClusterStateClient = PeerClient<typeof ClusterStateForwarding>;
type ModuleHostClient = PeerClient<typeof ModuleHostServiceDefinition>;

/** cluster-state: the views native commands read, the audit log, ingest's sink and the readiness probe. */
export function clusterStatePeer(cs: ClusterStateClient, mgrName: string) {
  const sink: IngestSink = {
    reportDaemons: (reports) => cs.reportDaemons({ reports }),
    ingestPgStats: (stats) => cs.ingestPgStats(encodeIngestPgStats(stats)),
    setDaemonsStale: async (stale, fresh) => {
      await cs.setDaemonsStale({ stale, fresh });
    },
  };
  return {
    sink,
    /** Get(what), parsed JSON. */
    async getView(what: string): Promise<unknown> {
      const res = await peerCall(cs.get({ what }));
      return JSON.parse(Buffer.from(res.json).toString('utf8'));
    },
    /** `audit` cluster-log entries, as Ceph's manager writes them (domain/audit-log.ts batches them). */
    async appendAudit(entries: AuditEntry[]): Promise<void> {
      await peerCall(cs.appendClusterLog({ entries: entries.map((e) => ({ channel: 'audit', name: `mgr.${mgrName}`, ...e })) }));
    },
    /** This manager's own health checks (source "daemon-server"; a later call replaces them). */
    async setHealthChecks(checks: HealthCheck[]): Promise<void> {
      const r = await peerCall(cs.setHealthChecks({ source: 'daemon-server', checks }));
      if (r.refused.length) throw new Error(`cluster-state refused health checks: ${r.refused.map((x) => `${x.code}: ${x.reason}`).join('; ')}`);
    },
    /** One cheap call, to learn whether cluster-state answers. */
    async probe(): Promise<void> {
      await peerCall(cs.get({ what: 'health' }, { deadline: 2000 }));
    },
  };
}

const COMMAND_STREAM = `/${ModuleHostServiceDefinition.fullName}/CommandStream`;

/**
 * The command stream (command-stream.ts) as a bare grpc-js call on
 * module-host's channel, signed as lib/client.ts signs every call: its
 * messages go straight between the call's events and the stream's handlers.
 */
export function commandStreamOpener(channel: Channel, credentials?: CallCredentials): OpenCommandStream {
  const client = new grpc.Client(channel.getTarget(), grpc.credentials.createInsecure(), { channelOverride: channel });
  const audience = targetAddress(channel.getTarget());
  return (events) => {
    const metadata = new grpc.Metadata();
    if (credentials) setCallProof(metadata, credentials, audience, COMMAND_STREAM);
    const call = client.makeBidiStreamRequest(
      COMMAND_STREAM,
      (m: CommandStreamRequest) => Buffer.from(CommandStreamRequest.encode(m).finish()),
      (b: Buffer) => CommandStreamResponse.decode(b),
      metadata,
    );
    let closed = false;
    const close = (e?: unknown) => {
      if (closed) return;
      closed = true;
      events.closed(e);
    };
    call.on('data', (r: CommandStreamResponse) => events.message(r));
    // A failure as nice-grpc's clients give it (a ClientError), so it is classified as every other call's.
    call.on('error', (e: grpc.ServiceError) => close(new ClientError(COMMAND_STREAM, e.code, e.details)));
    call.on('status', (s: grpc.StatusObject) => close(s.code === grpc.status.OK ? undefined : new ClientError(COMMAND_STREAM, s.code, s.details)));
    return {
      write: (m) => {
        if (!closed) call.write(m);
      },
      cancel: () => call.cancel(),
    };
  };
}

/**
 * This manager's module-host: module commands (over the command stream when
 * it is open, else as HandleCommand calls) and what its modules are.
 */
export function moduleHostPeer(mh: ModuleHostClient, stream?: CommandStream): ModuleHostApi & ModuleHostStatusApi {
  return {
    handleCommand: (req, call) =>
      stream?.send(req, call) ?? peerCall(mh.handleCommand({ ...req, inbuf: Buffer.from(req.inbuf) }, { deadline: call.timeoutMs, signal: call.signal })),
    listCommands: async () => (await peerCall(mh.listCommands({}, { deadline: 5000, retry: true }))).commands,
    listModules: async () => (await peerCall(mh.listModules({}, { deadline: 5000, retry: true }))).modules,
    status: (timeoutMs) => peerCall(mh.listModules({}, { deadline: timeoutMs })),
  };
}

/** module-host's gRPC health, as a stream of "serving?" answers (domain/module-host-watch.ts); ends or throws when the connection is lost. */
export function moduleHostHealthPeer(health: PeerClient<typeof HealthDefinition>): ModuleHostWatchDeps['watch'] {
  return async function* (signal) {
    for await (const r of health.watch({ service: '' }, { signal })) yield r.status === HealthCheckResponse_ServingStatus.SERVING;
  };
}

/** The standby service: the MgrMap commands, and the beacon. */
export function standbyPeer(sb: StandbyClient, timeoutMs: number): StandbyApi & BeaconApi {
  return {
    addresses: sb.addresses,
    getMgrMap: async () => (await peerCall(sb.getMgrMap(timeoutMs))).map,
    failMgr: (who) => peerCall(sb.call((c, call) => c.failMgr({ who }, call), timeoutMs)),
    enableModule: (module, force) => peerCall(sb.call((c, call) => c.enableModule({ module, force }, call), timeoutMs)),
    disableModule: (module) => peerCall(sb.call((c, call) => c.disableModule({ module }, call), timeoutMs)),
    beacon: (req, beaconTimeoutMs) => sb.call((c, call) => c.beacon(req, call), beaconTimeoutMs),
    resign: async (name, gid, reason, resignTimeoutMs) => {
      await sb.call((c, call) => c.resign({ name, gid, reason }, call), resignTimeoutMs);
    },
    watch: (onMap, signal, watcher) => sb.watch(onMap, signal, undefined, watcher),
  };
}
