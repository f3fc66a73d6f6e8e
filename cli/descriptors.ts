// Where mgrctl gets command descriptors from without asking the server every
// time: the list fetched once (daemon-server's own commands and the
// modules') is kept in a small per-user cache per manager address
// ($XDG_CACHE_HOME/mgrpc, else ~/.cache/mgrpc; MGRCTL_CACHE_DIR overrides;
// "off" disables it). mgrctl reaches daemon-server only through its
// contract, so it learns even the native commands from the server. A stale entry is harmless: the server validates every
// command, and mgrctl asks again when it answers "No handler found" or
// "Invalid command".
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CommandDescriptor } from '../lib/gen/ceph/mgr/v1/common';

/** How long a cached list is used before mgrctl asks again. */
const CACHE_TTL_MS = 10 * 60 * 1000;

function cacheFile(addr: string, env: NodeJS.ProcessEnv): string | null {
  const dir = env.MGRCTL_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mgrpc');
  if (!dir || dir === 'off') return null;
  return path.join(dir, `commands-${crypto.createHash('sha256').update(addr).digest('hex').slice(0, 16)}.json`);
}

/** The commands cached for a manager address (empty when none or too old). */
export function cachedCommands(addr: string, env: NodeJS.ProcessEnv): CommandDescriptor[] {
  const file = cacheFile(addr, env);
  if (!file) return [];
  try {
    const st = fs.statSync(file);
    if (Date.now() - st.mtimeMs > CACHE_TTL_MS || (process.getuid && st.uid !== process.getuid())) return [];
    const list = JSON.parse(fs.readFileSync(file, 'utf8'));
    return Array.isArray(list) ? list.filter((d) => d && typeof d.cmd === 'string') : [];
  } catch {
    return [];
  }
}

/** Keeps a full list (best effort: a cache that cannot be written is skipped). */
export function cacheCommands(addr: string, all: CommandDescriptor[], env: NodeJS.ProcessEnv): void {
  const file = cacheFile(addr, env);
  if (!file) return;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    /* no cache: the next run asks the server again */
  }
}
