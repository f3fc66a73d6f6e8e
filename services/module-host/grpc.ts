// ModuleHostService handlers: request checks and status codes; the work is
// in domain/host.ts.
import { ServerError, Status } from 'nice-grpc';
import { isAbortError } from 'abort-controller-x';
import type {
  CommandStreamRequest,
  CommandStreamResponse,
  HandleCommandRequest,
  HandleCommandResponse,
  ModuleHostServiceImplementation,
} from '../../lib/gen/ceph/mgr/v1/module_host';
import { ModuleState } from '../../lib/gen/ceph/mgr/v1/module_host';
import { AsyncQueue } from '../../lib/async-queue';
import type { ModuleHost } from './domain/host';

/** Commands one command stream may have in flight; past it, a command is refused (RESOURCE_EXHAUSTED). */
export const MAX_STREAM_IN_FLIGHT = 256;

const STATES: Record<string, ModuleState> = {
  disabled: ModuleState.MODULE_STATE_DISABLED,
  stopped: ModuleState.MODULE_STATE_STARTING,
  loading: ModuleState.MODULE_STATE_STARTING,
  // loaded on a standby, ready to start
  loaded: ModuleState.MODULE_STATE_STANDBY,
  starting: ModuleState.MODULE_STATE_STARTING,
  running: ModuleState.MODULE_STATE_RUNNING,
  standby: ModuleState.MODULE_STATE_STANDBY,
  failed: ModuleState.MODULE_STATE_FAILED,
  cannot_run: ModuleState.MODULE_STATE_CANNOT_RUN,
};

/** `shutdown` ends the command streams (long-lived: the server's shutdown would otherwise wait for them). */
export function moduleHostHandlers(host: ModuleHost, shutdown?: AbortSignal): ModuleHostServiceImplementation {
  return {
    handleCommand: (req, context) => runCommand(host, req, context.signal),
    commandStream: (requests, context) => commandStream(host, requests, context.signal, shutdown),
    async listCommands() {
      return { commands: host.commands() };
    },
    async listModules() {
      return {
        modules: host.modules().map((m) => ({
          info: {
            name: m.name,
            canRun: m.canRun,
            errorString: m.errorString,
            moduleOptions: m.options.map((o) => ({
              name: o.name,
              type: o.type,
              defaultValue: o.default === undefined || o.default === null ? '' : String(o.default),
              hasDefault: o.default !== undefined && o.default !== null,
              min: o.min === undefined ? '' : String(o.min),
              max: o.max === undefined ? '' : String(o.max),
              enumAllowed: o.enum_allowed ?? [],
              desc: o.desc ?? '',
              longDesc: o.long_desc ?? '',
              runtime: !!o.runtime,
            })),
          },
          state: STATES[m.state] ?? ModuleState.MODULE_STATE_UNSPECIFIED,
          alwaysOn: m.alwaysOn,
          enabled: m.enabled,
          path: m.path,
          runtime: m.runtime,
        })),
        services: host.getServices(),
        loaded: host.settled(),
      };
    },
    async getHealthChecks() {
      return { checks: host.healthChecks() };
    },
  };
}

/** One module command, from HandleCommand or the command stream; `signal` abandons it. */
async function runCommand(host: ModuleHost, req: HandleCommandRequest, signal: AbortSignal): Promise<HandleCommandResponse> {
  if (!req.prefix.trim()) throw new ServerError(Status.INVALID_ARGUMENT, 'prefix is empty');
  let args: Record<string, unknown> = {};
  if (req.args.trim()) {
    try {
      args = JSON.parse(req.args);
    } catch (e) {
      throw new ServerError(Status.INVALID_ARGUMENT, `args is not JSON: ${(e as Error).message}`);
    }
    if (!args || typeof args !== 'object' || Array.isArray(args)) throw new ServerError(Status.INVALID_ARGUMENT, 'args must be a JSON object');
  }
  // The caller's cancellation (daemon-server's deadline, its own caller gone) abandons the command.
  const { result, module } = await host.handleCommand(req.prefix.trim(), args, Buffer.from(req.inbuf).toString('utf8'), signal, req.module || undefined);
  return { result: { retcode: result[0], stdout: result[1], stderr: result[2] }, module };
}

/** Where a command session's answers go: each answer, and once the end of the stream (after shutdown's drain). */
export interface CommandSessionOutput {
  send(r: CommandStreamResponse): void;
  close(): void;
}

/** One command stream, fed message by message: by the gRPC CommandStream below, or by the command socket (command-socket.ts). */
export interface CommandSession {
  receive(m: CommandStreamRequest): void;
  /** The caller went away: abandons what is in flight. */
  end(): void;
}

/**
 * daemon-server's command stream: each command runs as a HandleCommand call
 * would, answered by its id when it finishes (answers may overtake each
 * other). A command past its timeout is abandoned and answered
 * DEADLINE_EXCEEDED; a cancelled one is abandoned unanswered; the stream's
 * end abandons whatever is still in flight. At shutdown, new commands are
 * refused UNAVAILABLE and the stream ends once those in flight are answered
 * (as calls in flight finish within the server's shutdown grace). The first
 * answer (id 0) says the stream is open: its caller's proof passed before.
 */
export function commandSession(host: ModuleHost, output: CommandSessionOutput, shutdown?: AbortSignal): CommandSession {
  const inFlight = new Map<number, AbortController>();
  let closed = false;
  const send = (r: CommandStreamResponse) => closed || output.send(r);
  const close = () => {
    if (closed) return;
    closed = true;
    shutdown?.removeEventListener('abort', drain);
    output.close();
  };
  const fail = (id: number, status: Status, message: string) => send({ id, status, message });
  const start = (m: CommandStreamRequest) => {
    const { id } = m;
    if (inFlight.size >= MAX_STREAM_IN_FLIGHT)
      return fail(id, Status.RESOURCE_EXHAUSTED, `more than ${MAX_STREAM_IN_FLIGHT} commands in flight on this stream`);
    const abandon = new AbortController();
    inFlight.set(id, abandon);
    let late = false;
    const timer = m.timeoutMs
      ? setTimeout(() => {
          late = true;
          abandon.abort();
        }, m.timeoutMs)
      : undefined;
    runCommand(host, m.command!, abandon.signal)
      .then(
        (response) => inFlight.get(id) === abandon && send({ id, response, status: Status.OK, message: '' }),
        (e) => {
          if (inFlight.get(id) !== abandon) return;
          if (e instanceof ServerError) fail(id, e.code, e.details);
          else if (isAbortError(e)) {
            if (late) fail(id, Status.DEADLINE_EXCEEDED, `the command did not finish within ${m.timeoutMs} ms`);
          } else fail(id, Status.UNKNOWN, (e as Error)?.message ?? String(e));
        },
      )
      .finally(() => {
        clearTimeout(timer);
        if (inFlight.get(id) === abandon) inFlight.delete(id);
        if (shutdown?.aborted && !inFlight.size) close();
      });
  };
  const drain = () => inFlight.size || close();
  shutdown?.addEventListener('abort', drain, { once: true });
  if (shutdown?.aborted) drain();
  send({ id: 0, status: Status.OK, message: '' });
  return {
    receive(m) {
      if (closed) return;
      if (m.cancel) {
        inFlight.get(m.id)?.abort();
        inFlight.delete(m.id);
      } else if (shutdown?.aborted) fail(m.id, Status.UNAVAILABLE, 'module-host is shutting down');
      else if (!m.id || inFlight.has(m.id) || !m.command)
        fail(m.id, Status.INVALID_ARGUMENT, `command ${m.id}: the id is 0 or already in flight, or the command is missing`);
      else start(m);
    },
    end() {
      for (const a of inFlight.values()) a.abort();
      inFlight.clear();
      close();
    },
  };
}

/** The command session as the gRPC CommandStream (its proof was checked by the server's middleware). */
async function* commandStream(
  host: ModuleHost,
  requests: AsyncIterable<CommandStreamRequest>,
  signal: AbortSignal,
  shutdown?: AbortSignal,
): AsyncIterable<CommandStreamResponse> {
  const out = new AsyncQueue<CommandStreamResponse>();
  const session = commandSession(host, { send: (r) => out.push(r), close: () => out.end() }, shutdown);
  const ended = () => session.end();
  (async () => {
    for await (const m of requests) session.receive(m);
  })().then(ended, ended);
  signal.addEventListener('abort', ended, { once: true });
  try {
    yield* out;
  } finally {
    signal.removeEventListener('abort', ended);
    ended();
  }
}
