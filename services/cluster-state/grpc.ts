// gRPC handlers of ClusterStateService: request checks and status codes; the
// logic lives in domain/.
import { randomUUID } from 'crypto';
import { ServerError, Status, CallContext } from 'nice-grpc';
import type { Logger } from '../../lib/log';
import { ClusterStateServiceDefinition, WatchEventKind } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import type { ServiceImplementation } from 'nice-grpc';
import { asBytes, normalized, withoutCopy } from '../../lib/raw-methods';
import { WireError } from '../../lib/wire';
import { decodeIngestPgStatsRequest } from './domain/pg-decode';
import { StateError } from './domain/errors';
import { ClusterState } from './domain/state';

const STATUS: Record<StateError['kind'], Status> = {
  invalid: Status.INVALID_ARGUMENT,
  precondition: Status.FAILED_PRECONDITION,
  not_found: Status.NOT_FOUND,
  too_large: Status.RESOURCE_EXHAUSTED,
  unavailable: Status.UNAVAILABLE,
};

/** Turns domain failures into gRPC status errors, logging refusals at debug/warn. */
function guard<T>(log: Logger, method: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toServerError(log, method, e);
  }
}

function toServerError(log: Logger, method: string, e: unknown): unknown {
  if (e instanceof StateError) {
    log.info('request refused', { method, code: Status[STATUS[e.kind]], reason: e.message });
    return new ServerError(STATUS[e.kind], e.message);
  }
  return e;
}

async function guardAsync<T>(log: Logger, method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toServerError(log, method, e);
  }
}

export interface HandlerOptions {
  log: Logger;
  /** Largest map JSON accepted by PutMap (below the transport limit, with a clearer message). */
  maxMapBytes: number;
  shutdownSignal: AbortSignal;
}

const generated = normalized(ClusterStateServiceDefinition);
/**
 * The service as served: IngestPgStats takes the request bytes as they came
 * and decodes each OSD's report straight into the PG map's columns; Get
 * sends bytes encoded once per version of the view.
 */
export const ClusterStateServed = {
  ...generated,
  ingestPgStats: { ...generated.ingestPgStats, requestDeserialize: asBytes },
  // Get answers with the GetResponse its view encoded once per version
  get: { ...generated.get, responseSerialize: withoutCopy },
};

/** Lets the event loop answer other calls between chunks of a large batch. */
const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

export function clusterStateHandlers(state: ClusterState, opts: HandlerOptions): ServiceImplementation<typeof ClusterStateServed> {
  const { log } = opts;
  // Daemons' counter schemas live in memory: a restart forgets them, and this tells daemon-server so (ReportDaemonsResponse.instance).
  const instance = randomUUID();
  return {
    async putMap(req) {
      return guard(log, 'PutMap', () => {
        if (req.json.byteLength > opts.maxMapBytes) {
          throw new StateError(
            'too_large',
            `map '${req.name}' is ${req.json.byteLength} bytes; the largest accepted is ${opts.maxMapBytes} (raise MGR_MAX_MESSAGE_BYTES)`,
          );
        }
        const out = state.putMap(req.name, req.epoch, req.json);
        log.debug('map stored', { name: req.name, epoch: out.epoch, bytes: req.json.byteLength, seq: out.seq });
        return out;
      });
    },

    async get(req) {
      return guard(log, 'Get', () => state.getResponse(req.what));
    },

    async getOsdMap() {
      return guard(log, 'GetOsdMap', () => ({ osdMap: state.typedOsdMap() }));
    },

    async getFsMap() {
      return guard(log, 'GetFsMap', () => ({ fsMap: state.typedFsMap() }));
    },

    async *watch(req, context: CallContext) {
      // End on either the caller going away or the server shutting down.
      const both = new AbortController();
      const stop = () => both.abort();
      if (context.signal.aborted || opts.shutdownSignal.aborted) both.abort();
      context.signal.addEventListener('abort', stop, { once: true });
      opts.shutdownSignal.addEventListener('abort', stop, { once: true });
      log.debug('watch started', { afterSeq: req.afterSeq, types: req.types });
      try {
        for await (const item of state.feed.watch(req.afterSeq, req.types, both.signal)) {
          if (item.kind === 'resync') {
            log.info('watcher must resync', { reason: item.message });
            yield { kind: WatchEventKind.WATCH_EVENT_KIND_RESYNC, seq: item.seq, message: item.message, type: '', id: '', epoch: 0 };
          } else {
            const ev = item.event;
            yield { kind: WatchEventKind.WATCH_EVENT_KIND_NOTIFY, seq: ev.seq, type: ev.type, id: ev.id, epoch: ev.epoch, message: '' };
          }
        }
      } finally {
        context.signal.removeEventListener('abort', stop);
        opts.shutdownSignal.removeEventListener('abort', stop);
      }
    },

    async reportDaemons(req) {
      return guardAsync(log, 'ReportDaemons', async () => {
        const out = await state.reportDaemons(req.reports, pause);
        if (out.rejected.length) log.warn('daemon reports refused', { refused: out.rejected.length, applied: out.applied, first: out.rejected[0] });
        return { ...out, instance };
      });
    },

    async ingestPgStats(bytes) {
      return guardAsync(log, 'IngestPgStats', async () => {
        let entries;
        try {
          entries = decodeIngestPgStatsRequest(bytes);
        } catch (e) {
          if (e instanceof WireError) throw new StateError('invalid', `IngestPgStatsRequest does not decode: ${e.message}`);
          throw e;
        }
        const out = await state.ingestPgStats(entries, pause);
        if (out.rejected.length) log.warn('pg stats refused', { refused: out.rejected.length, applied: out.applied, first: out.rejected[0] });
        else log.debug('pg stats applied', { reports: out.applied, pgs: state.pg.size });
        return out;
      });
    },

    async listDaemons(req) {
      return guard(log, 'ListDaemons', () => ({ daemons: state.daemons.list(req.type) }));
    },

    async setDaemonsStale(req) {
      return guard(log, 'SetDaemonsStale', () => ({ staleCount: state.setDaemonsStale(req.stale, req.fresh) }));
    },

    async queryDaemons(req) {
      return guard(log, 'QueryDaemons', () => ({ json: state.queryDaemons(req) }));
    },

    async setHealthChecks(req) {
      return guard(log, 'SetHealthChecks', () => {
        const r = state.setHealthChecks(req.source, req.checks);
        if (r.refused.length) log.warn('health checks refused', { source: req.source, refused: r.refused.slice(0, 20) });
        return r;
      });
    },

    async appendClusterLog(req) {
      return guard(log, 'AppendClusterLog', () => ({ appended: state.appendClusterLog(req.entries) }));
    },

    async getStore(req) {
      return guardAsync(log, 'GetStore', async () => {
        const value = await state.getStore(req.key);
        return { found: value !== undefined, value: value ?? '' };
      });
    },

    async setStore(req) {
      return guardAsync(log, 'SetStore', async () => ({ existed: await state.setStore(req.key, req.value) }));
    },

    async listStore(req) {
      return guardAsync(log, 'ListStore', async () => ({ entries: Object.fromEntries(await state.listStore(req.prefix)) }));
    },
  };
}
