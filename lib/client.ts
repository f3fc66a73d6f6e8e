// The one client factory: every outgoing gRPC call of mgrpc gets its channel
// (plain, TLS, or TLS with a client certificate), its deadline and its retry
// policy here, so there is one place to change how peers are called, and
// its proof of who is calling (lib/auth/: never the key itself). Deadlines and retries are nice-grpc's client
// middleware: a call past its deadline fails with DEADLINE_EXCEEDED (never a
// bare TimeoutError), a call its caller cancels fails with an AbortError, and
// every other failure is a ClientError with a status code. callFailure()
// classifies them by that code, never by message text.
import * as fs from 'fs';
import { isAbortError } from 'abort-controller-x';
import {
  Channel,
  ChannelCredentials,
  Client,
  ClientError,
  CompatServiceDefinition,
  createChannel,
  createClientFactory,
  Metadata,
  ServiceDefinition,
  Status,
  TsProtoServiceDefinition,
} from 'nice-grpc';
import { deadlineMiddleware, DeadlineOptions } from 'nice-grpc-client-middleware-deadline';
import { retryMiddleware, RetryOptions } from 'nice-grpc-client-middleware-retry';
import type { TlsOptions } from './server';
import { callProofMiddleware, CallProofOptions, targetAddress } from './auth/grpc';
import type { CallCredentials } from './auth/proof';
import { forNiceGrpc } from './raw-methods';

/** Per-call options every client takes: `deadline` (ms from now, or a Date), `retry`, `signal`, `metadata`. */
export type PeerCallOptions = DeadlineOptions & RetryOptions & CallProofOptions;
export type PeerClient<D extends CompatServiceDefinition> = Client<D, PeerCallOptions>;

export interface ClientOptions {
  /**
   * The deadline of every unary call that sets none (ms); streams get none.
   * Default 30 s: no call waits for ever on a silent peer.
   */
  deadlineMs?: number;
  /**
   * Attempts after the first for calls that opt in with `retry: true` (or
   * whose method is marked idempotent), on UNAVAILABLE, INTERNAL, UNKNOWN and
   * a server's CANCELLED; backoff from 100 ms. Default 2. A caller's
   * cancellation and the deadline end the retries.
   */
  retryMaxAttempts?: number;
  /** Sent with every call (a call's own metadata replaces it). */
  metadata?: Metadata;
  /** Who calls: every call then carries a proof made with its key (lib/auth/proof.ts), never the key. */
  credentials?: CallCredentials;
  /** The address the proofs are bound to; default: the address the channel dials. */
  audience?: string;
}

export const DEFAULT_DEADLINE_MS = 30_000;

export function channelCredentials(tls?: TlsOptions): ChannelCredentials {
  if (!tls?.ca && !tls?.cert) return ChannelCredentials.createInsecure();
  const ca = tls.ca ? fs.readFileSync(tls.ca) : null;
  const key = tls.key && tls.cert ? fs.readFileSync(tls.key) : null;
  const cert = tls.key && tls.cert ? fs.readFileSync(tls.cert) : null;
  return ChannelCredentials.createSsl(ca, key, cert);
}

/** A channel to one address, with generous message limits for large maps and quick reconnects. */
export function openChannel(address: string, tls?: TlsOptions): Channel {
  return createChannel(address, channelCredentials(tls), {
    ...(tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {}),
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_time_ms': 10000,
    'grpc.keepalive_timeout_ms': 5000,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
  });
}

// Composed inner to outer: the deadline wraps the retries, so it bounds them
// all; each attempt gets a proof of its own (a proof is good for one call).
const factory = createClientFactory().use(callProofMiddleware).use(retryMiddleware).use(deadlineMiddleware);

/**
 * A client on an open channel, with the deadline and retry middleware. The
 * definition is ts-proto's or nice-grpc's own form (lib/raw-methods.ts: a
 * few hot methods carrying bytes).
 */
export function makeClient<D extends TsProtoServiceDefinition | ServiceDefinition>(definition: D, channel: Channel, opts: ClientOptions = {}): PeerClient<D> {
  const all: PeerCallOptions & { metadata?: Metadata } = {
    retryBaseDelayMs: 100,
    retryMaxDelayMs: 1000,
    retryMaxAttempts: opts.retryMaxAttempts ?? 2,
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
    // A call may bring its own credentials (tests calling as several entities): the audience is there for it.
    audience: opts.audience ?? targetAddress(channel.getTarget()),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  };
  const deadline = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const defaults: Record<string, PeerCallOptions> = { '*': all };
  // Only unary calls get the default deadline: a stream (Watch, Session) lives as long as it is read.
  const methods = ('methods' in definition ? definition.methods : definition) as Record<string, { requestStream: boolean; responseStream: boolean }>;
  for (const [name, method] of Object.entries(methods)) {
    if (!method.requestStream && !method.responseStream) defaults[name] = { ...all, deadline };
  }
  // nice-grpc's own form goes in ts-proto's shape, so responses are not copied on receipt (lib/raw-methods.ts)
  return factory.create('methods' in definition ? definition : forNiceGrpc(definition), channel, defaults as never) as PeerClient<D>;
}

/** A channel and a client for one peer; close() closes the channel. */
export interface Peer<D extends TsProtoServiceDefinition | ServiceDefinition> {
  readonly address: string;
  readonly client: PeerClient<D>;
  readonly channel: Channel;
  close(): void;
}

/** The usual way to reach a peer service: openChannel + makeClient. */
export function connect<D extends TsProtoServiceDefinition | ServiceDefinition>(
  definition: D,
  address: string,
  tls?: TlsOptions,
  opts: ClientOptions = {},
): Peer<D> {
  const channel = openChannel(address, tls);
  return { address, channel, client: makeClient(definition, channel, opts), close: () => channel.close() };
}

/** How an outgoing call failed, by its status code. */
export type CallFailureKind =
  | 'unavailable' // down, unreachable, the connection dropped mid-call, or shutting down
  | 'deadline' // no answer before the deadline
  | 'cancelled' // our own caller cancelled
  | 'unauthenticated'
  | 'denied'
  | 'invalid'
  | 'not_found'
  | 'precondition'
  | 'exhausted'
  | 'other';

const KIND_OF_STATUS: Partial<Record<Status, CallFailureKind>> = {
  [Status.UNAVAILABLE]: 'unavailable',
  // A transport failure (the peer died and the stream was reset) is INTERNAL
  // on the client side; a server that answers errors with a status never
  // sends INTERNAL itself (nice-grpc turns a handler's bug into UNKNOWN).
  [Status.INTERNAL]: 'unavailable',
  // A server shutting down cancels the calls it has (ours are AbortErrors).
  [Status.CANCELLED]: 'unavailable',
  [Status.DEADLINE_EXCEEDED]: 'deadline',
  [Status.UNAUTHENTICATED]: 'unauthenticated',
  [Status.PERMISSION_DENIED]: 'denied',
  [Status.INVALID_ARGUMENT]: 'invalid',
  [Status.NOT_FOUND]: 'not_found',
  [Status.FAILED_PRECONDITION]: 'precondition',
  [Status.RESOURCE_EXHAUSTED]: 'exhausted',
};

/** Classifies an error thrown by a client call; `message` is the peer's own (details) where there is one. */
export function callFailure(e: unknown): { kind: CallFailureKind; code?: Status; message: string } {
  if (e instanceof ClientError) return { kind: KIND_OF_STATUS[e.code] ?? 'other', code: e.code, message: e.details };
  if (isAbortError(e)) return { kind: 'cancelled', message: 'the call was cancelled' };
  return { kind: 'other', message: e instanceof Error ? e.message : String(e) };
}

/** Whether a call failed for a reason another replica or a later attempt may not have. */
export function isUnreachable(e: unknown): boolean {
  const k = callFailure(e).kind;
  return k === 'unavailable' || k === 'deadline';
}

/** Reads TLS settings from the environment (see the README's TLS section). */
export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): TlsOptions | undefined {
  if (!env.MGR_TLS_CA && !env.MGR_TLS_CERT) return undefined;
  return {
    ca: env.MGR_TLS_CA || undefined,
    cert: env.MGR_TLS_CERT || undefined,
    key: env.MGR_TLS_KEY || undefined,
    clientAuth: env.MGR_TLS_CLIENT_AUTH === 'true',
  };
}
