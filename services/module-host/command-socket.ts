// module-host's command socket (MGR_MODULE_HOST_COMMAND_SOCKET): the
// command stream for a daemon-server on the same host over a Unix-domain
// socket, without HTTP/2 and nice-grpc between (a round trip costs about a
// third of the gRPC stream's; bench/results/SUMMARY.md). Frames are a 4-byte
// big-endian length and a protobuf message (lib/length-prefixed.ts): first a
// CommandSocketOpen with the caller's proof, checked as a CommandStream
// call's is (same verifier, same rule in rules.ts), then the CommandStream's
// own messages, fed to the very same command session (grpc.ts). The file's
// mode (0600, in a folder others cannot write) is a second fence, not the
// only one.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { ServerError, Status } from 'nice-grpc';
import { CommandSocketOpen, CommandStreamRequest, CommandStreamResponse } from '../../lib/gen/ceph/mgr/v1/module_host';
import { COMMAND_SOCKET_METHOD, MAX_COMMAND_FRAME_BYTES, MAX_SOCKET_PATH } from '../../lib/command-socket';
import { ENTITY_HEADER, PROOF_HEADER } from '../../lib/auth/proof';
import type { Caller } from '../../lib/auth/grpc';
import { FrameError, FrameReader, FrameWriter } from '../../lib/length-prefixed';
import type { Logger } from '../../lib/log';
import type { ModuleHost } from './domain/host';
import { commandSession, CommandSession } from './grpc';

/** Answers written and not yet read by the caller at most; past it the connection ends (a caller that does not read). */
const MAX_UNREAD_BYTES = 64 * 1024 * 1024;
/** How long a new connection has to prove itself in its first frame. */
export const OPEN_TIMEOUT_MS = 5000;

export interface CommandSocketOptions {
  /** The socket's path (made absolute). */
  path: string;
  host: ModuleHost;
  /** Checks the first frame's proof (lib/server.ts's authorize); null: no authentication (MGR_AUTH=none). */
  authorize: ((path: string, header: (name: string) => string | undefined) => Caller) | null;
  /** Aborted when module-host shuts down: sessions drain and end. */
  shutdown: AbortSignal;
  log: Logger;
  maxFrameBytes?: number;
  openTimeoutMs?: number;
}

export interface CommandSocket {
  path: string;
  /** Connections whose proof passed, open now. */
  readonly sessions: number;
  /** Stops accepting, unlinks the socket, waits up to `graceMs` for open connections to drain, then ends them. */
  close(graceMs: number): Promise<void>;
}

/** Where the socket may go: a folder others cannot write, of this user or root (made 0700 when missing). */
function checkFolder(file: string): void {
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH)
    throw new Error(`MGR_MODULE_HOST_COMMAND_SOCKET: '${file}' is longer than a Unix socket path may be (${MAX_SOCKET_PATH} bytes): choose a shorter path`);
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if (st.mode & 0o002)
    throw new Error(
      `MGR_MODULE_HOST_COMMAND_SOCKET: its folder ${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}), who could replace the socket: use a folder others cannot write (chmod o-w)`,
    );
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    throw new Error(
      `MGR_MODULE_HOST_COMMAND_SOCKET: its folder ${dir} belongs to another user (uid ${st.uid}), who could replace the socket: use one of this user's folders`,
    );
}

/** Removes a socket left by a module-host that did not stop cleanly; anything else at the path is an error. */
function removeStale(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`MGR_MODULE_HOST_COMMAND_SOCKET: ${file} exists and is not a socket: remove it or choose another path`);
  fs.unlinkSync(file);
}

/** Listens on the command socket. */
export async function listenCommandSocket(opts: CommandSocketOptions): Promise<CommandSocket> {
  const file = path.resolve(opts.path);
  const maxFrameBytes = opts.maxFrameBytes ?? MAX_COMMAND_FRAME_BYTES;
  checkFolder(file);
  removeStale(file);
  const connections = new Set<net.Socket>();
  let sessions = 0;
  const server = net.createServer((socket) => serve(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(file, 0o600);
  server.on('error', (e) => opts.log.error('command socket failed', { path: file, error: e.message }));
  opts.log.info('command socket listening', { path: file });

  function serve(socket: net.Socket): void {
    connections.add(socket);
    const reader = new FrameReader(maxFrameBytes);
    const writer = new FrameWriter(socket);
    let session: CommandSession | undefined;
    // Closes the connection for a reason worth a line in the log.
    const refuse = (reason: string, fields: Record<string, unknown> = {}) => {
      opts.log.warn('command socket connection closed', { path: file, reason, ...fields });
      socket.destroy();
    };
    const opening = setTimeout(() => refuse(`no proof within ${opts.openTimeoutMs ?? OPEN_TIMEOUT_MS} ms`), opts.openTimeoutMs ?? OPEN_TIMEOUT_MS);
    const send = (r: CommandStreamResponse) => {
      if (socket.destroyed || socket.writableEnded) return;
      if (socket.writableLength > MAX_UNREAD_BYTES) return refuse(`more than ${MAX_UNREAD_BYTES} bytes of answers unread`);
      writer.write(CommandStreamResponse.encode(r).finish());
    };
    const open = (body: Buffer) => {
      clearTimeout(opening);
      let hello: CommandSocketOpen;
      try {
        hello = CommandSocketOpen.decode(body);
      } catch (e) {
        return refuse(`the first frame is not a CommandSocketOpen: ${(e as Error).message}`);
      }
      if (opts.authorize) {
        try {
          opts.authorize(COMMAND_SOCKET_METHOD, (name) =>
            name === ENTITY_HEADER ? hello.entity || undefined : name === PROOF_HEADER ? hello.proof || undefined : undefined,
          );
        } catch (e) {
          // Refused as a CommandStream call would be: the status and why (logged as such by authorize).
          if (e instanceof ServerError) send({ id: 0, status: e.code, message: e.details });
          else {
            opts.log.error('command socket: checking a proof failed', { path: file, error: (e as Error)?.message ?? String(e) });
            send({ id: 0, status: Status.INTERNAL, message: 'module-host could not check the proof' });
          }
          socket.end();
          return;
        }
      }
      session = commandSession(opts.host, { send, close: () => socket.end() }, opts.shutdown);
      sessions++;
    };
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (e) {
        if (e instanceof FrameError) return refuse(e.message);
        throw e;
      }
      for (const body of frames) {
        if (socket.destroyed || socket.writableEnded) return;
        if (!session) {
          open(body);
          continue;
        }
        let m: CommandStreamRequest;
        try {
          m = CommandStreamRequest.decode(body);
        } catch (e) {
          return refuse(`a frame is not a CommandStreamRequest: ${(e as Error).message}`);
        }
        session.receive(m);
      }
    });
    socket.on('error', (e) => opts.log.debug('command socket connection failed', { path: file, error: e.message }));
    socket.on('close', () => {
      clearTimeout(opening);
      connections.delete(socket);
      if (session) {
        sessions--;
        session.end();
      }
    });
  }

  return {
    path: file,
    get sessions() {
      return sessions;
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        fs.unlinkSync(file);
      } catch {
        // gone already
      }
      // Sessions end themselves once their commands are answered (the shutdown signal); past the grace, they are cut.
      const drained = [...connections].map((c) => new Promise((r) => c.once('close', r)));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(drained), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const c of connections) c.destroy();
      await closed;
    },
  };
}
