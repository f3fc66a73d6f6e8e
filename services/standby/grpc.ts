// gRPC handlers of StandbyService: request checks and status codes. The
// rules live in domain/, where the authority runs in backends/.
import { ServerError, Status, CallContext, ClientError, Metadata } from 'nice-grpc';
import type { Logger } from '../../lib/log';
import type { StandbyServiceImplementation, MgrMap } from '../../lib/gen/ceph/mgr/v1/standby';
import { AuthorityError, MgrMapAuthority } from './domain/authority';
import { RunnerStopped } from './domain/runner';
import { BackendUnavailable, StandbyBackend } from './backends/backend';
import { Fenced } from './backends/etcd';
import { Presence, Reachability } from './presence';

/** Set on calls one replica forwards to the leader, so they are never forwarded twice. */
export const FORWARDED_HEADER = 'x-mgr-standby-forwarded';

const STATUS: Record<AuthorityError['kind'], Status> = {
  invalid: Status.INVALID_ARGUMENT,
  not_found: Status.NOT_FOUND,
  precondition: Status.FAILED_PRECONDITION,
};

export interface HandlerOptions {
  log: Logger;
  graceMs: number;
  beaconIntervalMs: number;
  /** Deadline of a call forwarded to the leader. */
  forwardTimeoutMs: number;
  shutdownSignal: AbortSignal;
  /** Each probe of a manager whose watch ended (metrics). */
  probed?(result: Reachability): void;
}

function toServerError(log: Logger, method: string, e: unknown): unknown {
  if (e instanceof AuthorityError) {
    log.info('request refused', { method, code: Status[STATUS[e.kind]], reason: e.message });
    return new ServerError(STATUS[e.kind], e.message);
  }
  if (e instanceof BackendUnavailable || e instanceof RunnerStopped || e instanceof Fenced) {
    log.info('request unavailable', { method, reason: e.message });
    return new ServerError(Status.UNAVAILABLE, e.message);
  }
  if (e instanceof ClientError) {
    // The leader's answer to a forwarded call: pass it on as it is.
    return new ServerError(e.code, e.details);
  }
  return e;
}

async function guard<T>(log: Logger, method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toServerError(log, method, e);
  }
}

export function standbyHandlers(backend: () => StandbyBackend | null, opts: HandlerOptions): StandbyServiceImplementation {
  const { log } = opts;
  const need = (): StandbyBackend => {
    const b = backend();
    if (!b) throw new BackendUnavailable('standby is starting; retry');
    return b;
  };
  const currentMap = (): MgrMap => {
    const why = need().unavailable?.();
    if (why) throw new BackendUnavailable(why);
    const m = need().feed.latest();
    if (!m) throw new BackendUnavailable(`no MgrMap yet: the ${need().status().backend} backend has not loaded one (is etcd reachable?); retry`);
    return m;
  };
  // A write's answer is durable (stored before it was given): a follower
  // shows it at once instead of waiting for its etcd watch, so a client
  // reads its own writes on the replica it wrote through.
  const seen = (m: MgrMap | undefined) => {
    if (m) backend()?.feed.publish(m);
  };
  const forwarded = (ctx: CallContext) => ctx.metadata.get(FORWARDED_HEADER) === '1';
  const graceMs = () => backend()?.graceMs?.() ?? opts.graceMs;
  const fwd = () => ({ metadata: Metadata({ [FORWARDED_HEADER]: '1' }), deadline: opts.forwardTimeoutMs });
  // On the authority wherever it runs (here, or forwarded to the etcd leader).
  const resign = async (name: string, gid: number, reason: string, wasForwarded: boolean) => {
    const ext = need().external;
    if (ext) {
      // The monitors decide (the ceph backend): asked as `mgr fail <gid>`; what they did shows in the mirrored map.
      const map = await ext.resign(name, gid);
      seen(map);
      return { map, resigned: true };
    }
    const r = await need().write(
      (a) => a.resign(name, gid, reason),
      async (leader) => {
        const res = await leader.resign({ name, gid, reason }, fwd());
        return { map: res.mgrMap!, resigned: res.resigned };
      },
      wasForwarded,
    );
    seen(r.map);
    return r;
  };
  // Crash failover from connection loss (presence.ts): a manager's watch
  // that ends, with its address refusing connections, resigns it.
  const presence = new Presence({
    log,
    map: () => backend()?.feed.latest() ?? null,
    probeTimeoutMs: Math.max(100, Math.min(500, opts.graceMs / 4)),
    probeWindowMs: Math.max(200, Math.min(2000, opts.graceMs / 3)),
    // On the ceph backend `mgr fail <gid>` (the active only: a gone standby is the monitors' grace's to drop).
    resign: async (name, gid, reason) => {
      const ext = need().external;
      if (!ext) return (await resign(name, gid, reason, false)).resigned;
      const m = backend()?.feed.latest();
      if (!m || m.activeName !== name || m.activeGid !== gid) return false;
      await ext.resign(name, gid);
      return true;
    },
    probed: opts.probed,
  });

  return {
    async beacon(req, ctx) {
      return guard(log, 'Beacon', async () => {
        // Checked here too so that a bad beacon is refused by any replica.
        MgrMapAuthority.validateBeacon(req);
        const ext = need().external;
        if (ext) return { mgrMap: await ext.beacon(req), graceMs: graceMs(), beaconIntervalMs: opts.beaconIntervalMs };
        const map = await need().write(
          (a) => a.beacon(req),
          async (leader) => (await leader.beacon(req, fwd())).mgrMap!,
          forwarded(ctx),
          true,
        );
        seen(map);
        return { mgrMap: map, graceMs: graceMs(), beaconIntervalMs: opts.beaconIntervalMs };
      });
    },

    async getMgrMap() {
      return guard(log, 'GetMgrMap', async () => ({ mgrMap: currentMap(), graceMs: graceMs() }));
    },

    async *watchMgrMap(req, context: CallContext) {
      const b = await guard(log, 'WatchMgrMap', async () => need());
      // End on either the caller going away or the server shutting down.
      const both = new AbortController();
      const stop = () => both.abort();
      if (context.signal.aborted || opts.shutdownSignal.aborted) both.abort();
      context.signal.addEventListener('abort', stop, { once: true });
      opts.shutdownSignal.addEventListener('abort', stop, { once: true });
      try {
        for await (const m of b.feed.watch(req.afterEpoch, both.signal)) yield { mgrMap: m };
      } finally {
        context.signal.removeEventListener('abort', stop);
        opts.shutdownSignal.removeEventListener('abort', stop);
        // The manager's end went away (not our shutdown): is its process gone?
        if (req.watcher?.name && !opts.shutdownSignal.aborted) presence.streamEnded(req.watcher.name, req.watcher.gid);
      }
    },

    async failMgr(req, ctx) {
      return guard(log, 'FailMgr', async () => {
        const ext = need().external;
        const r = ext
          ? await ext.fail(req.who)
          : await need().write(
              (a) => a.fail(req.who),
              async (leader) => {
                const res = await leader.failMgr(req, fwd());
                return { map: res.mgrMap!, message: res.message };
              },
              forwarded(ctx),
            );
        seen(r.map);
        log.info('mgr fail', { who: req.who, message: r.message, epoch: r.map.epoch });
        return { mgrMap: r.map, message: r.message };
      });
    },

    async resign(req, ctx) {
      return guard(log, 'Resign', async () => {
        const r = await resign(req.name, req.gid, req.reason, forwarded(ctx));
        if (r.resigned) log.info('mgr resigned', { name: req.name, gid: req.gid, reason: req.reason, epoch: r.map.epoch });
        return { mgrMap: r.map, resigned: r.resigned };
      });
    },

    async enableModule(req, ctx) {
      return guard(log, 'EnableModule', async () => {
        const ext = need().external;
        const r = ext
          ? await ext.enableModule(req.module, req.force)
          : await need().write(
              (a) => a.enableModule(req.module, req.force),
              async (leader) => {
                const res = await leader.enableModule(req, fwd());
                return { map: res.mgrMap!, message: res.message };
              },
              forwarded(ctx),
            );
        seen(r.map);
        return { mgrMap: r.map, message: r.message };
      });
    },

    async disableModule(req, ctx) {
      return guard(log, 'DisableModule', async () => {
        const ext = need().external;
        const r = ext
          ? await ext.disableModule(req.module)
          : await need().write(
              (a) => a.disableModule(req.module),
              async (leader) => {
                const res = await leader.disableModule(req, fwd());
                return { map: res.mgrMap!, message: res.message };
              },
              forwarded(ctx),
            );
        seen(r.map);
        return { mgrMap: r.map, message: r.message };
      });
    },
  };
}
