// The client side of the standby service, shared by daemon-server,
// module-host, mgrctl and the simulator: one or several replicas
// (MGR_STANDBY_ADDR is comma-separated), a call moves to the next replica
// when one is unreachable, and `watch` keeps a MgrMap stream open across
// replica failures, resuming after the last epoch it saw.
import { Channel } from 'nice-grpc';
import { isUnreachable, makeClient, openChannel, PeerCallOptions, PeerClient } from './client';
import { MgrInstance, MgrMap, StandbyServiceDefinition } from './gen/ceph/mgr/v1/standby';
import type { TlsOptions } from './server';
import type { CallCredentials } from './auth/proof';

export type StandbyStub = PeerClient<typeof StandbyServiceDefinition>;

export class StandbyClient {
  readonly addresses: string[];
  private channels: Channel[];
  private stubs: StandbyStub[];
  /** The replica that answered last; calls start there. */
  private preferred = 0;

  constructor(addresses: string | string[], tls?: TlsOptions, credentials?: CallCredentials) {
    this.addresses = (Array.isArray(addresses) ? addresses : addresses.split(',')).map((a) => a.trim()).filter(Boolean);
    if (!this.addresses.length) throw new Error('standby client: no address given');
    this.channels = this.addresses.map((a) => openChannel(a, tls));
    this.stubs = this.channels.map((c) => makeClient(StandbyServiceDefinition, c, { credentials }));
  }

  /**
   * Runs `fn` against one replica after another until one answers; each
   * attempt has `timeoutMs` (pass `call` on as the call's options). An
   * unreachable replica (UNAVAILABLE, DEADLINE_EXCEEDED) moves on to the next.
   */
  async call<T>(fn: (stub: StandbyStub, call: PeerCallOptions) => Promise<T>, timeoutMs = 5000): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.stubs.length; i++) {
      const k = (this.preferred + i) % this.stubs.length;
      try {
        const r = await fn(this.stubs[k], { deadline: timeoutMs });
        this.preferred = k;
        return r;
      } catch (e) {
        if (!isUnreachable(e)) throw e;
        last = e;
      }
    }
    throw last;
  }

  async getMgrMap(timeoutMs = 5000): Promise<{ map: MgrMap; graceMs: number }> {
    const r = await this.call((s, call) => s.getMgrMap({}, call), timeoutMs);
    return { map: r.mgrMap!, graceMs: r.graceMs };
  }

  /**
   * Streams every new MgrMap to `onMap` until `signal` aborts, reconnecting
   * (to the next replica) with backoff when the stream breaks. A manager
   * instance's daemon-server passes `watcher` (its name and gid): the
   * standby service takes the instance out of the map at once when this
   * stream ends and the instance's address refuses connections (its
   * process exited), so the stream must live exactly as long as the process
   * may act.
   */
  watch(onMap: (map: MgrMap) => void, signal: AbortSignal, onBroken?: (error: Error) => void, watcher?: MgrInstance): void {
    void (async () => {
      let after = 0;
      let backoff = 100;
      let k = this.preferred;
      while (!signal.aborted) {
        try {
          for await (const r of this.stubs[k].watchMgrMap({ afterEpoch: after, watcher }, { signal })) {
            backoff = 100;
            if (!r.mgrMap) continue;
            // A replica restored from an older state may restart the epoch
            // count lower; take what it says rather than wait forever.
            after = r.mgrMap.epoch;
            onMap(r.mgrMap);
          }
        } catch (e) {
          if (signal.aborted) break;
          onBroken?.(e as Error);
          k = (k + 1) % this.stubs.length;
        }
        await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(backoff * 2, 1000);
      }
    })();
  }

  close(): void {
    for (const c of this.channels) c.close();
  }
}

/** The address a client should use for the active manager's daemon-server, or "" when none. */
export function activeDaemonServer(map: MgrMap | undefined): string {
  return map && map.activeName && map.available ? (map.activeAddrs?.daemonServer ?? '') : '';
}
