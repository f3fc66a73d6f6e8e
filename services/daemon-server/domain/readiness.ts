// daemon-server is ready (gRPC health SERVING) once cluster-state answers:
// probed every 500 ms until then. An answer that is an error (other than
// unreachable) still counts: cluster-state is there.
import type { PeerFailure } from './errors';

export interface ReadinessDeps {
  /** One probe call to cluster-state; rejects with a PeerFailure. */
  probe(): Promise<void>;
  onReady(): void;
  onWaiting(why: string): void;
}

/** Probes until cluster-state answers or `signal` aborts. */
export async function waitForClusterState(d: ReadinessDeps, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await d.probe();
      d.onReady();
      return;
    } catch (e) {
      const kind = (e as PeerFailure).kind;
      if (kind !== undefined && kind !== 'unavailable' && kind !== 'deadline') {
        d.onReady(); // it answered, even if with an error
        return;
      }
      d.onWaiting((e as Error).message);
      await new Promise((r) => setTimeout(r, 500).unref());
    }
  }
}
