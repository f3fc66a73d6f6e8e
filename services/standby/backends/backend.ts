// What grpc.ts needs from a backend: the map to read and watch, and a way
// to run a write on the authority, wherever it lives (here, or on the etcd
// leader through `forward`).
import type { Client } from 'nice-grpc';
import type { StandbyServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { MgrMapAuthority } from '../domain/authority';
import type { MapFeed } from '../domain/feed';

export type StandbyClient = Client<typeof StandbyServiceDefinition>;

/** A failure that is nobody's fault but the moment: the caller should retry (UNAVAILABLE). */
export class BackendUnavailable extends Error {}

export interface BackendStatus {
  backend: 'embedded' | 'etcd';
  /** embedded: always 'leader'. */
  role: 'leader' | 'follower' | 'candidate';
  /** The leader's gRPC address ('' when unknown). */
  leader: string;
}

export interface StandbyBackend {
  readonly feed: MapFeed;
  /** Resolves once the backend has a map (embedded: loaded; etcd: read from etcd). */
  readonly ready: Promise<void>;
  status(): BackendStatus;
  /**
   * Runs a write. `local` runs on the authority when this replica holds it;
   * otherwise `forward` sends the call to the replica that does. A call that
   * was already forwarded is never forwarded again (`forwarded`).
   */
  write<T>(local: (a: MgrMapAuthority) => T, forward: (leader: StandbyClient) => Promise<T>, forwarded: boolean, confirm?: boolean): Promise<T>;
  /** Gives up leadership and stops. */
  stop(): Promise<void>;
}
