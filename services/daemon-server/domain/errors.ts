// Call-level refusals of the domain (no gRPC here): grpc.ts turns each kind
// into its status code. Command-level outcomes are not refusals: they are
// Ceph return codes in the CommandResult.
export type RefusalKind =
  | 'unauthenticated' // no or wrong credentials
  | 'denied' // the caps do not allow it
  | 'invalid' // a request that is not even well-formed
  | 'precondition' // a session message before open, a stale state
  | 'exhausted' // over a size limit, a queue full
  | 'unavailable' // a standby, a fenced active, a peer down
  | 'deadline'; // a peer did not answer in time

export class Refusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super(message);
  }
}

export type PeerFailureKind =
  | 'unavailable' // the peer is down or unreachable, or dropped the connection
  | 'deadline' // it did not answer in time
  | 'cancelled' // our caller went away first
  | 'not_found'
  | 'precondition'
  | 'other';

/**
 * A call to a peer service (cluster-state, module-host, standby) failed; the
 * adapters in peers.ts classify the failure by its status code.
 */
export class PeerFailure extends Error {
  constructor(
    readonly kind: PeerFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** A command-level failure: becomes the response's retcode and stderr. */
export class CommandFailure extends Error {
  constructor(
    readonly retcode: number,
    message: string,
  ) {
    super(message);
  }
}
