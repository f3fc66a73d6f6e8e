// daemon-server's long-lived command stream to its module-host: one
// authenticated stream (its proof checked once, when it opens) carrying
// each module command as a message with an id, instead of a new
// HandleCommand call a command. It reopens after module-host restarts;
// while it is not open, send() returns undefined and the caller uses
// HandleCommand, whose answers and failures the stream's copy exactly.
//
// The stream is a grpc-js call driven by its events (peers.ts opens it): a
// command is written the moment it is sent and an answer handled the moment
// it is read, with no async iteration between (nice-grpc's iterators and
// middleware on this side cost about 35 us a command's round trip, against
// 150 us for the bare stream's; bench/results/SUMMARY.md).
import { ClientError, Status } from 'nice-grpc';
import type { CommandStreamRequest, CommandStreamResponse, HandleCommandResponse } from '../../lib/gen/ceph/mgr/v1/module_host';
import type { Logger } from '../../lib/log';
import type { ModuleHostApi } from './domain/command-path';
import { PeerFailure } from './domain/errors';

/** One open stream, as command-stream.ts drives it. */
export interface CommandStreamCall {
  write(m: CommandStreamRequest): void;
  /** Largest command (its encoding) the stream carries, if it has a bound; a larger one goes as a HandleCommand call. */
  maxCommandBytes?: number;
  /** Ends it from our side (module-host then ends it too). */
  cancel(): void;
}

/** What the stream says: each message, then once that it closed (with the failure, a ClientError, unless module-host ended it). */
export interface CommandStreamEvents {
  message(r: CommandStreamResponse): void;
  closed(error?: unknown): void;
}

/** Opens the stream (module-host's CommandStream, with this manager's proof). */
export type OpenCommandStream = (events: CommandStreamEvents) => CommandStreamCall;

export interface CommandStreamOptions {
  /** Turns a failure answered on the stream (a status) into the PeerFailure HandleCommand would have given. */
  failure: (e: unknown) => PeerFailure;
  /** Commands in flight on the stream at most; past it, commands go as HandleCommand calls (default 128, below module-host's 256). */
  maxInFlight?: number;
  /** The wait before reopening, doubling from `retryMinMs` to `retryMaxMs` (default 100 ms to 5 s); wake() cuts it short. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

type Command = Parameters<ModuleHostApi['handleCommand']>[0];
type CallOptions = Parameters<ModuleHostApi['handleCommand']>[1];

interface Pending {
  resolve(r: HandleCommandResponse): void;
  reject(e: Error): void;
}

const METHOD = '/ceph.mgr.v1.ModuleHostService/CommandStream';

/** Whether a command surely encodes within `max` bytes (a string's UTF-8 takes at most 3 bytes a UTF-16 unit; 64 for tags, lengths and the stream's fields). */
function fits(req: Command, max: number | undefined): boolean {
  return max === undefined || req.inbuf.length + 3 * (req.prefix.length + req.args.length + req.entity.length + req.module.length) + 64 <= max;
}

export class CommandStream {
  /** The stream, once module-host said it is open. */
  private call?: CommandStreamCall;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly stopping = new AbortController();
  private wakeUp?: () => void;
  private running?: Promise<void>;

  constructor(
    private readonly open: OpenCommandStream,
    private readonly opts: CommandStreamOptions,
  ) {}

  /** Whether commands go over the stream now. */
  get isOpen(): boolean {
    return !!this.call;
  }

  start(log: Logger): void {
    this.running ??= this.run(log);
  }

  /** Reopens now if the stream is down (module-host came back up). */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wakeUp?.();
    await this.running;
  }

  /** Sends a command over the stream; undefined when it is not open or full (then use HandleCommand). */
  send(req: Command, call: CallOptions): Promise<HandleCommandResponse> | undefined {
    const stream = this.call;
    if (!stream || this.pending.size >= (this.opts.maxInFlight ?? 128) || !fits(req, stream.maxCommandBytes)) return undefined;
    if (call.signal?.aborted) return Promise.reject(new PeerFailure('cancelled', 'the call was cancelled'));
    const id = this.nextId++;
    return new Promise<HandleCommandResponse>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        call.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      // Past its deadline or cancelled by its caller, the command is abandoned
      // here and in module-host, as the HandleCommand call would be.
      const giveUp = (failure: PeerFailure) => {
        settle();
        if (this.call === stream) stream.write({ id, cancel: true, timeoutMs: 0 });
        reject(failure);
      };
      const timer = setTimeout(() => giveUp(new PeerFailure('deadline', `Deadline exceeded after ${call.timeoutMs} ms`)), call.timeoutMs);
      const onAbort = () => giveUp(new PeerFailure('cancelled', 'the call was cancelled'));
      call.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (r) => (settle(), resolve(r)),
        reject: (e) => (settle(), reject(e)),
      });
      stream.write({ id, command: { ...req, inbuf: Buffer.from(req.inbuf) }, timeoutMs: call.timeoutMs, cancel: false });
    });
  }

  private async run(log: Logger): Promise<void> {
    const minMs = this.opts.retryMinMs ?? 100;
    const maxMs = this.opts.retryMaxMs ?? 5000;
    let delay = minMs;
    // said once at warn when opening keeps failing (a socket configured on this side only, say), at debug before
    let saidNotOpen = false;
    while (!this.stopping.signal.aborted) {
      const failure = await new Promise<unknown>((resolve) => {
        let closed = false;
        const stop = () => call.cancel();
        const call = this.open({
          message: (r) => {
            if (r.id !== 0) return this.answer(r);
            // module-host checked our proof and is reading commands.
            this.call = call;
            delay = minMs;
            saidNotOpen = false;
            log.info('command stream to module-host open');
          },
          closed: (e) => {
            closed = true;
            this.stopping.signal.removeEventListener('abort', stop);
            resolve(e);
          },
        });
        if (!closed) this.stopping.signal.addEventListener('abort', stop, { once: true });
      });
      const why = failure === undefined ? 'module-host ended it' : this.opts.failure(failure).message;
      const wasOpen = !!this.call;
      this.call = undefined;
      // What was in flight fails as a HandleCommand call does when module-host dies.
      for (const p of [...this.pending.values()]) p.reject(new PeerFailure('unavailable', `the command stream to module-host closed: ${why}`));
      if (this.stopping.signal.aborted) break;
      if (wasOpen) log.warn('command stream to module-host closed; commands go as HandleCommand calls until it reopens', { why });
      else if (delay >= maxMs && !saidNotOpen) {
        saidNotOpen = true;
        log.warn('command stream to module-host still not open; commands go as HandleCommand calls', { why, retryMs: delay });
      } else log.debug('command stream to module-host not opened', { why, retryMs: delay });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wakeUp = () => (clearTimeout(t), resolve());
      });
      this.wakeUp = undefined;
      delay = Math.min(delay * 2, maxMs);
    }
  }

  private answer(r: CommandStreamResponse): void {
    const p = this.pending.get(r.id);
    if (!p) return; // abandoned already (deadline, cancel)
    if (r.status !== Status.OK) p.reject(this.opts.failure(new ClientError(METHOD, r.status, r.message)));
    else p.resolve(r.response ?? { module: '' });
  }
}
