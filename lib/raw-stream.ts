// A bidi-streaming method served on grpc-js's call itself, below nice-grpc:
// for streams a server holds by the thousand (daemon-server's Session, one
// per daemon). nice-grpc gives every call a context, three Metadata objects,
// an AbortController, async iterables and a middleware chain: ~10 KB a
// stream held open (bench/memory.ts, `memory_nice_grpc_per_stream`), 100 MB
// at 10,000 daemons. Here a call costs one queue and one AbortController.
//
// How: a grpc-js server interceptor (lib/server.ts installs it) takes the
// calls of the registered paths and never hands them on, so the handler
// nice-grpc registered for the path does not run; the call is read one
// message at a time as the handler asks (back-pressure as before), and what
// the handler yields is sent. The proof and the service's rule are checked
// as for every call (lib/auth/grpc.ts checkCall), and the outcome counted
// as the metrics middleware counts it.
import { AbortError } from 'abort-controller-x';
import { Metadata, ServerInterceptingCall, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';
import { ServerError, Status } from 'nice-grpc';
import { AsyncQueue } from './async-queue';
import { checkCall, type Caller, type ServerAuth } from './auth/grpc';
import type { Logger } from './log';

/** One raw stream method's handler. */
export interface RawStreamHandler {
  /**
   * Serves one call: `requests` are the client's messages (decoded by the
   * method's deserializer) until it half-closes; what this yields is sent;
   * a ServerError it throws ends the call with that status, anything else
   * with INTERNAL (logged). `signal` aborts when the call is cancelled or
   * its deadline passes. `caller` is undefined without authentication.
   */
  serve(requests: AsyncIterable<unknown>, caller: Caller | undefined, signal: AbortSignal): AsyncIterable<unknown>;
}

export interface RawStreamDeps {
  /** null: authentication off (MGR_AUTH=none). */
  auth: ServerAuth | null;
  log: Logger;
  /** The status a call that threw `e` ends with, as for every call (lib/server.ts). */
  failureOf(e: unknown, method: string): ServerError;
  /** Counts a finished call, as the metrics middleware does. */
  done(method: string, code: string): void;
}

/** Serves one call of `path` with `handler`. */
function serveCall(path: string, call: ServerInterceptingCallInterface, handler: RawStreamHandler, d: RawStreamDeps): void {
  // the client's messages, read one at a time as the handler asks for them
  let reading = false;
  const reader = new AsyncQueue<unknown>(() => {
    if (reading) return;
    reading = true;
    call.startRead();
  });
  const abort = new AbortController();
  let finished = false;
  const finish = (e: unknown) => {
    if (finished) return;
    finished = true;
    // a cancelled call is CANCELLED however its handler ended, unless it chose a status
    const cancelled = abort.signal.aborted && !(e instanceof ServerError);
    const failure = e == null && !cancelled ? null : d.failureOf(cancelled ? new AbortError() : e, path);
    const code = failure?.code ?? Status.OK;
    d.done(path, Status[code]);
    // no-op when the call is already gone (cancelled)
    call.sendStatus({ code, details: failure?.details ?? '', metadata: new Metadata() });
  };
  call.start({
    onReceiveMetadata(metadata) {
      let caller: Caller | undefined;
      try {
        const header = (name: string) => {
          const v = metadata.get(name)[0];
          return typeof v === 'string' ? v : undefined;
        };
        caller = d.auth ? checkCall(d.auth, d.log, path, header, undefined) : undefined;
      } catch (e) {
        finish(e);
        return;
      }
      const send = async () => {
        // (a cancelled call drops what is sent: grpc-js checks)
        for await (const message of handler.serve(reader, caller, abort.signal)) call.sendMessage(message, () => {});
      };
      send().then(
        () => finish(null),
        (e) => finish(e),
      );
    },
    onReceiveMessage(m) {
      reading = false;
      reader.push(m);
    },
    onReceiveHalfClose: () => reader.end(),
    onCancel() {
      // also called once a finished call's status is sent
      reader.end();
      if (!finished) abort.abort();
    },
  });
}

/**
 * The server interceptor: calls of a path in `handlers` are served here; any
 * other call goes on untouched. `handlers` may be filled after the server is
 * created (services register their methods later).
 */
export function rawStreamInterceptor(handlers: Map<string, RawStreamHandler>, d: RawStreamDeps): ServerInterceptor {
  return (method, call) => {
    const handler = handlers.get(method.path);
    // grpc-js chains what each interceptor returns: the call itself passes it on unchanged
    if (!handler) return call as ServerInterceptingCall;
    // started here and never handed on: the handler nice-grpc registered for the path does not run
    return new ServerInterceptingCall(call, { start: () => serveCall(method.path, call, handler, d) });
  };
}
