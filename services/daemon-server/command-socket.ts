// The command stream (command-stream.ts) over module-host's command socket
// (MGR_MODULE_HOST_COMMAND_SOCKET), for a module-host on the same host: a
// Unix-domain socket carrying length-prefixed frames (lib/length-prefixed.ts)
// of the CommandStream's own messages, after a first frame with this
// manager's proof, the headers a CommandStream call would carry
// (setCallProof), for the audience "unix:<path>". It behaves as the gRPC
// stream does: module-host's id-0 answer says it is open (or, with a status,
// why it is refused), and a failure is a ClientError as a call's would be.
import * as net from 'net';
import * as path from 'path';
import { ClientError, Status } from 'nice-grpc';
import { CommandSocketOpen, CommandStreamRequest, CommandStreamResponse } from '../../lib/gen/ceph/mgr/v1/module_host';
import { COMMAND_SOCKET_METHOD as METHOD, commandSocketAudience, MAX_COMMAND_FRAME_BYTES } from '../../lib/command-socket';
import { setCallProof } from '../../lib/auth/grpc';
import { ENTITY_HEADER, PROOF_HEADER } from '../../lib/auth/proof';
import type { CallCredentials } from '../../lib/auth/proof';
import { FrameError, FrameReader, FrameWriter } from '../../lib/length-prefixed';
import type { OpenCommandStream } from './command-stream';

/** Largest answer read from module-host (a module's output can be large; gRPC's bound on our calls is the same). */
export const MAX_ANSWER_FRAME_BYTES = 64 * 1024 * 1024;

/** Opens the command stream on the socket at `socketPath`, proving `credentials` (none: module-host runs without authentication). */
export function commandSocketOpener(socketPath: string, credentials?: CallCredentials): OpenCommandStream {
  const file = path.resolve(socketPath);
  const audience = commandSocketAudience(file);
  return (events) => {
    const socket = net.createConnection(file);
    const reader = new FrameReader(MAX_ANSWER_FRAME_BYTES);
    const writer = new FrameWriter(socket);
    let closed = false;
    const close = (e?: unknown) => {
      if (closed) return;
      closed = true;
      socket.destroy();
      events.closed(e);
    };
    const broken = (why: string) => close(new ClientError(METHOD, Status.INTERNAL, `module-host's command socket ${file}: ${why}`));
    socket.on('connect', () => {
      const headers = new Map<string, string>();
      if (credentials) setCallProof(headers, credentials, audience, METHOD);
      writer.write(CommandSocketOpen.encode({ entity: headers.get(ENTITY_HEADER) ?? '', proof: headers.get(PROOF_HEADER) ?? '' }).finish());
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (e) {
        if (e instanceof FrameError) return broken(e.message);
        throw e;
      }
      for (const body of frames) {
        if (closed) return;
        let r: CommandStreamResponse;
        try {
          r = CommandStreamResponse.decode(body);
        } catch (e) {
          return broken(`an answer is not a CommandStreamResponse: ${(e as Error).message}`);
        }
        // Refused at open (UNAUTHENTICATED, PERMISSION_DENIED), as the gRPC call would end.
        if (r.id === 0 && r.status !== Status.OK) return close(new ClientError(METHOD, r.status, r.message));
        events.message(r);
      }
    });
    // Not there, or module-host gone: as a call to a server that is down.
    socket.on('error', (e) => close(new ClientError(METHOD, Status.UNAVAILABLE, `module-host's command socket ${file}: ${e.message}`)));
    // module-host ended it (its shutdown, once the commands in flight were answered).
    socket.on('close', () => close());
    return {
      write: (m) => {
        if (!closed) writer.write(CommandStreamRequest.encode(m).finish());
      },
      maxCommandBytes: MAX_COMMAND_FRAME_BYTES,
      cancel: () => close(new ClientError(METHOD, Status.CANCELLED, 'the command stream was cancelled')),
    };
  };
}
