// Domain failures, mapped to gRPC status codes in grpc.ts.
export type FailureKind = 'invalid' | 'precondition' | 'not_found' | 'too_large' | 'unavailable';

export class StateError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (m: string) => new StateError('invalid', m);
