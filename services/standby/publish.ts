// Puts every new MgrMap into cluster-state as `mgr_map` (Ceph's JSON), so a
// module's get('mgr_map') works. Best effort: the newest map wins, failures
// are retried with backoff and logged, and the authority never waits on it.
import { ClientError, Status } from 'nice-grpc';
import type { PeerClient } from '../../lib/client';
import type { MgrMap } from '../../lib/gen/ceph/mgr/v1/standby';
import type { ClusterStateServiceDefinition } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import { mgrMapJson } from '../../lib/mgrmap-json';
import type { Logger } from '../../lib/log';

type ClusterStateClient = PeerClient<typeof ClusterStateServiceDefinition>;

export interface PublisherOptions {
  retryMinMs?: number;
  retryMaxMs?: number;
  callTimeoutMs?: number;
}

export class MgrMapPublisher {
  /** The newest epoch cluster-state is known to hold (ours or newer). */
  published = 0;
  failures = 0;
  private pending: MgrMap | null = null;
  private running = false;
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(
    private client: ClusterStateClient,
    private log: Logger,
    private opts: PublisherOptions = {},
  ) {}

  publish(map: MgrMap): void {
    if (this.stopped || map.epoch <= this.published) return;
    if (this.pending && this.pending.epoch >= map.epoch) return;
    this.pending = map;
    this.wake?.();
    if (!this.running) void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    let delay = this.opts.retryMinMs ?? 200;
    try {
      while (this.pending && !this.stopped) {
        const m = this.pending;
        try {
          await this.client.putMap(
            { name: 'mgr_map', epoch: m.epoch, json: Buffer.from(JSON.stringify(mgrMapJson(m))) },
            { deadline: this.opts.callTimeoutMs ?? 5000 },
          );
          if (this.failures) this.log.info('mgr map published to cluster-state again', { epoch: m.epoch, afterFailures: this.failures });
          this.failures = 0;
          this.published = Math.max(this.published, m.epoch);
        } catch (e) {
          if (e instanceof ClientError && e.code === Status.FAILED_PRECONDITION) {
            // cluster-state already holds this epoch or a newer one.
            this.log.info('cluster-state already has this mgr map epoch or newer', { epoch: m.epoch, reason: e.details });
            this.published = Math.max(this.published, m.epoch);
          } else {
            this.failures++;
            const msg = e instanceof ClientError ? `${Status[e.code]}: ${e.details}` : (e as Error).message;
            if (this.failures === 1 || this.failures % 20 === 0)
              this.log.warn('could not publish the mgr map to cluster-state; retrying', {
                epoch: m.epoch,
                failures: this.failures,
                error: msg,
                retryMs: delay,
              });
            await new Promise<void>((r) => {
              const t = setTimeout(r, delay);
              t.unref();
              this.wake = () => {
                clearTimeout(t);
                r();
              };
            });
            this.wake = null;
            delay = Math.min(delay * 2, this.opts.retryMaxMs ?? 5000);
            continue;
          }
        }
        delay = this.opts.retryMinMs ?? 200;
        if (this.pending === m) this.pending = null;
      }
    } finally {
      this.running = false;
    }
  }

  /** The epoch cluster-state holds for mgr_map (0: none or unreachable), to start a fresh map after it. */
  async storedEpoch(timeoutMs = 1500): Promise<number> {
    try {
      const r = await this.client.get({ what: 'mgr_map' }, { deadline: timeoutMs });
      return r.epoch;
    } catch {
      return 0;
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
}
