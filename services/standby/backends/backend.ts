// What grpc.ts needs from a backend: the map to read and watch, and a way
// to run a write on the authority, wherever it lives (here, or on the etcd
// leader through `forward`, or, for ceph, in the monitors: `external`).
import type { Client } from 'nice-grpc';
import type { BeaconRequest, MgrMap, StandbyServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { MgrMapAuthority } from '../domain/authority';
import type { MapFeed } from '../domain/feed';

export type StandbyClient = Client<typeof StandbyServiceDefinition>;

/** A failure that is nobody's fault but the moment: the caller should retry (UNAVAILABLE). */
export class BackendUnavailable extends Error {}

export interface BackendStatus {
  backend: 'embedded' | 'etcd' | 'ceph';
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
  /**
   * For a backend whose authority is not an MgrMapAuthority of ours (ceph:
   * the monitors' MgrMonitor): the writes, which replace `write`.
   */
  readonly external?: ExternalAuthority;
  /** Why the map held may be stale (no way to follow the authority now), or null; GetMgrMap is then UNAVAILABLE. */
  unavailable?(): string | null;
  /** The authority's grace period when it is not this service's setting (ceph: mon_mgr_beacon_grace). */
  graceMs?(): number;
  /** Gives up leadership and stops. */
  stop(): Promise<void>;
}

/** The writes of an authority that lives elsewhere; refusals are AuthorityErrors, an authority out of reach BackendUnavailable. */
export interface ExternalAuthority {
  beacon(req: BeaconRequest): Promise<MgrMap>;
  fail(who: string): Promise<{ map: MgrMap; message: string }>;
  resign(name: string, gid: number): Promise<MgrMap>;
  enableModule(module: string, force: boolean): Promise<{ map: MgrMap; message: string }>;
  disableModule(module: string): Promise<{ map: MgrMap; message: string }>;
}
