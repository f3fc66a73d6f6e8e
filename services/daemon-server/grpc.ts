// gRPC handlers of DaemonServerService: the caller the server bootstrap
// authenticated (lib/auth/), the active check, and the domain's outcomes turned into status codes. The work
// is in domain/: sessions.ts (the Session stream) and command-path.ts (Command).
import { CallContext, ServerError, type ServiceImplementation, Status } from 'nice-grpc';
import type { DaemonServerServed, SessionFrame } from '../../lib/session-wire';
import type { RawStreamHandler } from '../../lib/raw-stream';
import { ANSWERED_BY_TRAILER } from '../../lib/headers';
import { callerOf as verifiedCaller, type Caller as VerifiedCaller } from '../../lib/auth/grpc';
import type { Authenticator, Caller } from './domain/auth';
import type { CommandPath } from './domain/command-path';
import { Refusal, RefusalKind } from './domain/errors';
import type { Sessions } from './domain/sessions';

const STATUS_OF: Record<RefusalKind, Status> = {
  unauthenticated: Status.UNAUTHENTICATED,
  denied: Status.PERMISSION_DENIED,
  invalid: Status.INVALID_ARGUMENT,
  precondition: Status.FAILED_PRECONDITION,
  exhausted: Status.RESOURCE_EXHAUSTED,
  unavailable: Status.UNAVAILABLE,
  deadline: Status.DEADLINE_EXCEEDED,
};

/** A Refusal as the gRPC status it stands for; anything else as it is (nice-grpc answers UNKNOWN). */
function toServerError(e: unknown): unknown {
  return e instanceof Refusal ? new ServerError(STATUS_OF[e.kind], e.message) : e;
}

export interface HandlerDeps {
  auth: Authenticator;
  sessions: Sessions;
  commands: CommandPath;
  /**
   * null while this instance is the active manager; otherwise why not
   * (naming the active's address): sessions and commands then get
   * UNAVAILABLE with that message, so clients move to the active.
   */
  notActive?: () => string | null;
}

/** Refuses with UNAVAILABLE (naming the active) while this instance is not the active manager. */
function requireActive(d: HandlerDeps): void {
  const why = d.notActive?.();
  if (why) throw new Refusal('unavailable', why);
}

/** The Session stream for the caller the server verified (undefined without authentication). */
async function* session(d: HandlerDeps, requests: AsyncIterable<SessionFrame>, verified: VerifiedCaller | undefined, signal: AbortSignal) {
  try {
    const caller = d.auth.authenticate(verified);
    requireActive(d);
    yield* d.sessions.serve(requests, caller, signal);
  } catch (e) {
    throw toServerError(e);
  }
}

/**
 * Session as lib/server.ts serves it, on grpc-js's call itself (lib/raw-stream.ts):
 * one stream per daemon, thousands held open, without nice-grpc's ~10 KB a stream.
 */
export function sessionStream(d: HandlerDeps): RawStreamHandler {
  return { serve: (requests, verified, signal) => session(d, requests as AsyncIterable<SessionFrame>, verified, signal) };
}

export function daemonServerHandlers(d: HandlerDeps): ServiceImplementation<typeof DaemonServerServed> {
  const callerOf = (context: CallContext): Caller => d.auth.authenticate(verifiedCaller(context));
  return {
    // reached only where the raw stream (sessionStream) is not registered for the path
    session: (requests, context) => session(d, requests, verifiedCaller(context), context.signal),
    async command(req, context) {
      // Marks an answer as daemon-server's own (an UNAVAILABLE it sends names what is down), not the transport's.
      context.trailer.set(ANSWERED_BY_TRAILER, 'daemon-server');
      try {
        const caller = callerOf(context);
        requireActive(d);
        // A manager's module-host sends its modules' commands as mgr.<name>, naming the module here;
        // from anyone else the header would forge the audit line's entity.
        const onBehalfOf = context.metadata.get('x-mgr-on-behalf-of') ?? '';
        if (onBehalfOf && d.auth.enabled && !/^mgr\.[^.\s]+$/.test(caller.entity))
          d.commands.refuse(
            req,
            caller,
            new Refusal('denied', `${caller.entity} may not act on behalf of another (x-mgr-on-behalf-of is accepted only from managers, mgr.<name>)`),
          );
        return { result: await d.commands.run(req, caller, onBehalfOf, context.signal) };
      } catch (e) {
        throw toServerError(e);
      }
    },
    async getCommandDescriptions(_req, context) {
      context.trailer.set(ANSWERED_BY_TRAILER, 'daemon-server');
      try {
        callerOf(context);
        requireActive(d);
        return { commands: (await d.commands.allCommands()).map((e) => e.desc) };
      } catch (e) {
        throw toServerError(e);
      }
    },
  };
}
