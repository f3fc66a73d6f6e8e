// What both ends of module-host's command socket agree on (daemon-server's
// services/daemon-server/command-socket.ts, module-host's
// services/module-host/command-socket.ts): the method and audience its
// proof is made for, and the bound on a command's frame.
import * as path from 'path';
import { ModuleHostServiceDefinition } from './gen/ceph/mgr/v1/module_host';

/** The method a socket's proof is made for: the CommandStream's, so its rule applies unchanged. */
export const COMMAND_SOCKET_METHOD = `/${ModuleHostServiceDefinition.fullName}/CommandStream`;

/** Largest frame module-host reads from a caller (a command with its input); a larger command goes as a HandleCommand call. */
export const MAX_COMMAND_FRAME_BYTES = 4 * 1024 * 1024;

/** Longest socket path (sun_path is 108 bytes on Linux, with its NUL). */
export const MAX_SOCKET_PATH = 107;

/** The audience a proof for the socket at `socketPath` names: "unix:" and its absolute path. */
export function commandSocketAudience(socketPath: string): string {
  return `unix:${path.resolve(socketPath)}`;
}
