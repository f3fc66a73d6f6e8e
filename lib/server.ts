// The one server bootstrap every service uses: a nice-grpc server with
// reflection (grpcurl / buf curl need no proto files), grpc.health.v1 that
// follows real readiness, Prometheus metrics over HTTP, JSON logs, TLS, every
// call's proof and the service's authorisation table checked (lib/auth/),
// and a bounded drain on SIGTERM/SIGINT. A stream held by the thousand can
// be served below nice-grpc, on grpc-js's call (lib/raw-stream.ts).
import { setMaxListeners } from 'events';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { createServer, Server, ServerMiddleware, CallContext, ServerError, Status } from 'nice-grpc';
import { type ChannelOptions, ServerCredentials } from '@grpc/grpc-js';
import { isAbortError } from 'abort-controller-x';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';
import * as prom from 'prom-client';
import { createLogger, Logger, parseLogLevel } from './log';
import { audienceCheck, authMiddleware, Caller, checkCall, isLoopbackHost, RuleTable, ServerAuth } from './auth/grpc';
import { KeyringKeys } from './auth/keys';
import { ProofVerifier } from './auth/proof';
import { rawStreamInterceptor, type RawStreamHandler } from './raw-stream';

export interface TlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
  clientAuth?: boolean;
  /**
   * Client side: the name the server's certificate must carry, checked
   * instead of the dialled host (a peer reached by an address its
   * certificate cannot name, e.g. a pod IP from the MgrMap).
   */
  serverName?: string;
}

export interface ServiceOptions {
  /** Short name for logs and metrics, e.g. "cluster-state". */
  name: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** -1 disables the metrics endpoint; 0 picks a free port. */
  metricsPort?: number;
  maxMessageBytes?: number;
  shutdownGraceMs?: number;
  tls?: TlsOptions;
  logLevel?: string;
  /**
   * Who may call: every call (but health and reflection) must carry a proof
   * made with a key of this keyring, and pass its service's table. `null`
   * turns authentication off, which is refused unless `host` is loopback
   * (MGR_AUTH=none, for development).
   */
  auth: ServiceAuth | null;
}

export interface ServiceAuth {
  /** The shared keyring (read again when a caller's key is unknown or changed). */
  keyringPath: string;
  /** By full service name: each method's rule (lib/auth/grpc.ts). */
  tables: Record<string, RuleTable>;
  /**
   * Addresses clients reach this server by besides its listening one and
   * loopback (its advertised address); MGR_AUTH_AUDIENCE (comma-separated)
   * adds more (a Kubernetes Service name, a published port).
   */
  audiences?: string[];
}

export interface RunningService {
  server: Server;
  port: number;
  address: string;
  metricsPort: number;
  log: Logger;
  registry: prom.Registry;
  health: HealthState;
  /** Aborted when shutdown starts: long-lived streams end on it. */
  shutdownSignal: AbortSignal;
  /**
   * Checks a proof that came another way than a gRPC call (module-host's
   * command socket) as every call's is checked: the same verifier (one use
   * per proof), the same tables. The caller, or a ServerError. null without
   * authentication (MGR_AUTH=none).
   */
  authorize: ((path: string, header: (name: string) => string | undefined) => Caller) | null;
  /** SERVING when true. The gRPC health status reflects this. */
  setServing(serving: boolean, reason?: string): void;
  /** Runs before the server stops (e.g. resign, flush). */
  onShutdown(hook: () => Promise<void> | void): void;
  /** Drains and stops; resolves when done. Idempotent. */
  stop(): Promise<void>;
}

export type ServiceRegistrar = (
  server: Server,
  ctx: {
    log: Logger;
    registry: prom.Registry;
    shutdownSignal: AbortSignal;
    /** Serves a bidi-streaming method added to `server` on grpc-js's call itself (lib/raw-stream.ts), for streams held by the thousand. */
    serveRawStream(path: string, handler: RawStreamHandler): void;
  },
) => string[];

const DESCRIPTOR = path.join(__dirname, 'descriptor.binpb');

function readPem(file: string | undefined): Buffer | null {
  return file ? fs.readFileSync(file) : null;
}

export function serverCredentials(tls?: TlsOptions): ServerCredentials {
  if (!tls?.cert) return ServerCredentials.createInsecure();
  const cert = readPem(tls.cert)!;
  const key = readPem(tls.key);
  if (!key) throw new Error('TLS: a certificate was given without its key (MGR_TLS_KEY)');
  const ca = readPem(tls.ca);
  if (tls.clientAuth && !ca) throw new Error('TLS: client authentication needs a CA (MGR_TLS_CA)');
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], !!tls.clientAuth);
}

/** The calls' counters, shared by the metrics middleware and the raw streams (lib/raw-stream.ts). */
function callMetrics(registry: prom.Registry) {
  const calls = new prom.Counter({
    name: 'mgr_grpc_server_handled_total',
    help: 'gRPC calls handled, by method and status code',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const seconds = new prom.Histogram({
    name: 'mgr_grpc_server_handling_seconds',
    help: 'Time to handle unary gRPC calls',
    labelNames: ['method'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  return { calls, seconds };
}

/**
 * The status a call that threw `e` ends with: a ServerError as thrown, an
 * abort as CANCELLED, anything else INTERNAL (logged: a handler's bug).
 */
function failureOf(e: unknown, method: string, log: Logger): ServerError {
  if (e instanceof ServerError) return e;
  if (isAbortError(e)) return new ServerError(Status.CANCELLED, 'the call was cancelled');
  log.error('unhandled error in handler', { method, error: (e as Error)?.stack ?? String(e) });
  return new ServerError(Status.INTERNAL, `internal error: ${(e as Error)?.message ?? e}`);
}

/** Counts calls and their outcome per method; logs call-level failures. */
function metricsMiddleware({ calls, seconds }: ReturnType<typeof callMetrics>, log: Logger): ServerMiddleware {
  return async function* (call, context: CallContext) {
    const method = call.method.path;
    const end = call.method.requestStream || call.method.responseStream ? null : seconds.startTimer({ method });
    let code = 'OK';
    try {
      return yield* call.next(call.request, context);
    } catch (e) {
      const failure = failureOf(e, method, log);
      code = Status[failure.code];
      // an abort goes on as it is: nice-grpc ends the call itself
      throw isAbortError(e) ? e : failure;
    } finally {
      calls.inc({ method, code });
      end?.();
    }
  };
}

export async function startService(opts: ServiceOptions, register: ServiceRegistrar): Promise<RunningService> {
  const log = createLogger({ service: opts.name }, parseLogLevel(opts.logLevel ?? process.env.MGR_LOG_LEVEL));
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const abort = new AbortController();
  // Every open stream (a daemon session each, thousands of them) listens
  // for shutdown: that is expected, not a leak.
  setMaxListeners(0, abort.signal);
  const health = HealthState();
  const maxMsg = opts.maxMessageBytes ?? 64 * 1024 * 1024;

  let port = 0;
  let serverAuth: ServerAuth | null = null;
  if (opts.auth) {
    const extra = [...(opts.auth.audiences ?? []), ...(process.env.MGR_AUTH_AUDIENCE ?? '').split(',')];
    // Read on the first call: register() below may create the keyring.
    const k = new KeyringKeys(opts.auth.keyringPath, { lazy: true, onError: (message) => log.error(message) });
    const verifier = new ProofVerifier({ keysOf: k.keysOf, isAudience: audienceCheck(opts.host, () => port, extra) });
    serverAuth = { verifier, entryOf: (e) => k.get(e), tables: opts.auth.tables };
  }
  const metrics = callMetrics(registry);
  const rawStreams = new Map<string, RawStreamHandler>();
  const serverOptions = {
    'grpc.max_receive_message_length': maxMsg,
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5000,
    // grpc-js's ServerOptions; nice-grpc hands its options to grpc-js's Server as they are
    interceptors: [
      rawStreamInterceptor(rawStreams, {
        auth: serverAuth,
        log,
        failureOf: (e, method) => failureOf(e, method, log),
        done: (method, code) => metrics.calls.inc({ method, code }),
      }),
    ],
  };
  let server = createServer(serverOptions as ChannelOptions).use(metricsMiddleware(metrics, log));
  if (serverAuth) server = server.use(authMiddleware(serverAuth, log));

  const serveRawStream = (path: string, handler: RawStreamHandler) => rawStreams.set(path, handler);
  const names = register(server, { log, registry, shutdownSignal: abort.signal, serveRawStream });
  if (!opts.auth && names.length) {
    // Health and reflection alone need no authentication; anything else does, but on loopback.
    if (!isLoopbackHost(opts.host))
      throw new Error(`${opts.name}: authentication is off (MGR_AUTH=none), which is allowed only on a loopback address, not on ${opts.host}`);
    log.warn('authentication is OFF (MGR_AUTH=none): anyone on this machine has full access');
  }
  server.add(HealthDefinition, HealthServiceImpl(health));
  const reflected = [...names, 'grpc.health.v1.Health'];
  server.add(ServerReflectionService, ServerReflection(fs.readFileSync(DESCRIPTOR), reflected));
  // Not serving until the service says it is ready.
  health.setStatus('unhealthy');
  for (const n of names) health.setStatus('unhealthy', n);

  port = await server.listen(`${opts.host}:${opts.port}`, serverCredentials(opts.tls));
  const address = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;

  let metricsPort = -1;
  let httpServer: http.Server | null = null;
  if ((opts.metricsPort ?? 0) >= 0) {
    httpServer = http.createServer(async (req, res) => {
      if (req.url === '/metrics') {
        try {
          const body = await registry.metrics();
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        } catch (e) {
          res.writeHead(500).end(String(e));
        }
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      httpServer!.once('error', reject);
      httpServer!.listen(opts.metricsPort ?? 0, opts.host, () => resolve());
    });
    metricsPort = (httpServer.address() as { port: number }).port;
  }

  const hooks: Array<() => Promise<void> | void> = [];
  let stopping: Promise<void> | null = null;
  const grace = opts.shutdownGraceMs ?? 5000;

  const svc: RunningService = {
    server,
    port,
    address,
    metricsPort,
    log,
    registry,
    health,
    shutdownSignal: abort.signal,
    authorize: serverAuth ? (path, header) => checkCall(serverAuth!, log, path, header, undefined) : null,
    setServing(serving, reason) {
      const status = serving ? 'healthy' : 'unhealthy';
      if (health.getStatus() !== status) log.info(serving ? 'serving' : 'not serving', reason ? { reason } : undefined);
      health.setStatus(status);
      for (const n of names) health.setStatus(status, n);
    },
    onShutdown(hook) {
      hooks.push(hook);
    },
    stop() {
      if (stopping) return stopping;
      stopping = (async () => {
        log.info('shutting down', { graceMs: grace });
        svc.setServing(false, 'shutting down');
        for (const hook of hooks) {
          try {
            await Promise.race([hook(), new Promise((r) => setTimeout(r, grace).unref())]);
          } catch (e) {
            log.warn('shutdown hook failed', { error: (e as Error).message });
          }
        }
        abort.abort();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          server.shutdown(),
          new Promise<void>((r) => {
            timer = setTimeout(() => {
              log.warn('in-flight calls did not finish in time; cancelling them');
              server.forceShutdown();
              r();
            }, grace);
          }),
        ]);
        clearTimeout(timer);
        if (httpServer) {
          httpServer.closeAllConnections?.();
          await new Promise<void>((r) => httpServer!.close(() => r()));
        }
        log.info('stopped');
      })();
      return stopping;
    },
  };
  log.info('listening', { address, metricsPort, tls: !!opts.tls?.cert, mtls: !!opts.tls?.clientAuth, auth: opts.auth ? opts.auth.keyringPath : 'none' });
  return svc;
}

/** For main.ts: stop cleanly on SIGTERM/SIGINT and exit 0. */
export function exitOnSignals(svcs: Array<{ stop(): Promise<void> }>, log: Logger): void {
  let signalled = false;
  const handler = (sig: string) => {
    if (signalled) {
      log.warn('second signal: exiting now', { signal: sig });
      process.exit(1);
    }
    signalled = true;
    log.info('signal received', { signal: sig });
    Promise.all(svcs.map((s) => s.stop())).then(
      () => process.exit(0),
      (e) => {
        log.error('shutdown failed', { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
