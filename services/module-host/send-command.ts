// A module's send_command to its own manager (what `ceph tell mgr` reaches):
// forwarded to the active manager's daemon-server Command RPC, so argument
// validation, caps and the audit log apply as for any client. module-host
// authenticates as the manager, mgr.<name> (allow *, created in the keyring
// by daemon-server), and names the module in x-mgr-on-behalf-of.
import { Metadata } from 'nice-grpc';
import { callFailure, connect, Peer } from '../../lib/client';
import type { TlsOptions } from '../../lib/server';
import { DaemonServerServiceDefinition } from '../../lib/gen/ceph/mgr/v1/daemon_server';
import { KeyringError } from '../../lib/keyring';
import { keyringCredentials } from '../../lib/auth/keys';
import type { CallCredentials } from '../../lib/auth/proof';
import { EIO, EAGAIN, EACCES, EINVAL, EFBIG, ENOTCONN, ETIMEDOUT } from '../../lib/errno';
import type { CommandResult, ManagerCommands } from './domain/manager-commands';

export interface CommandSenderOptions {
  /** This manager instance (MGR_NAME). */
  mgrName: string;
  /** Entity to authenticate as (default mgr.<mgrName>). */
  entity?: string;
  /** Keyring holding the entity's key; null: no key is sent (MGR_AUTH=none). */
  keyringPath: string | null;
  /** The daemon-server to use while the MgrMap names none (MGR_DAEMON_SERVER_ADDR). */
  fallbackAddr?: string;
  tls?: TlsOptions;
  timeoutMs: number;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

export class CommandSender implements ManagerCommands {
  private mapAddr = '';
  private fallbackAddr: string;
  private peers = new Map<string, Peer<typeof DaemonServerServiceDefinition>>();
  private readonly credentials: CallCredentials | undefined;
  readonly entity: string;

  constructor(private opts: CommandSenderOptions) {
    this.entity = opts.entity || `mgr.${opts.mgrName}`;
    this.fallbackAddr = opts.fallbackAddr ?? '';
    // The key is read when a call is made (daemon-server may create the keyring after we start).
    this.credentials = opts.keyringPath ? keyringCredentials(opts.keyringPath, this.entity) : undefined;
  }

  /** The active's daemon-server address from the MgrMap ("" when none). */
  setActiveAddr(addr: string): void {
    this.mapAddr = addr;
  }

  /** The daemon-server to use without a MgrMap (tests start it after module-host). */
  setFallbackAddr(addr: string): void {
    this.fallbackAddr = addr;
  }

  address(): string {
    return this.mapAddr || this.fallbackAddr;
  }

  private client(addr: string) {
    let p = this.peers.get(addr);
    if (!p) {
      p = connect(DaemonServerServiceDefinition, addr, this.opts.tls, { deadlineMs: this.opts.timeoutMs, credentials: this.credentials });
      this.peers.set(addr, p);
    }
    return p.client;
  }

  /** Runs one command; never throws (failures are Ceph return codes with a message). */
  async send(module: string, prefix: string, args: Record<string, unknown>, inbuf: string): Promise<CommandResult> {
    prefix = String(prefix ?? '').trim();
    if (!prefix) return [EINVAL, '', 'sendCommand needs a prefix, e.g. "pg stat"'];
    if (args !== null && (typeof args !== 'object' || Array.isArray(args))) return [EINVAL, '', 'sendCommand args must be an object, e.g. {"format": "json"}'];
    const addr = this.address();
    if (!addr) {
      return [ENOTCONN, '', `no daemon-server to send '${prefix}' to: the MgrMap names no active manager and MGR_DAEMON_SERVER_ADDR is not set`];
    }
    const body = { ...(args ?? {}), prefix };
    const attempt = async (): Promise<CommandResult> => {
      const md = Metadata();
      // Only a manager may name the module it acts for (daemon-server refuses the header from anyone else).
      if (/^mgr\./.test(this.entity)) md.set('x-mgr-on-behalf-of', `mgr.${this.opts.mgrName}/${module}`);
      const res = await this.client(addr).command({ prefix, args: JSON.stringify(body), inbuf: Buffer.from(inbuf ?? '', 'utf8') }, { metadata: md });
      const r = res.result;
      return r ? [r.retcode, r.stdout, r.stderr] : [EIO, '', 'daemon-server returned no result'];
    };
    try {
      try {
        return await attempt();
      } catch (e) {
        // The keyring may have been re-created just now (the key is read again at most once a second): once more.
        if (callFailure(e).kind === 'unauthenticated' && this.opts.keyringPath) {
          await new Promise((r) => setTimeout(r, 1000));
          return await attempt();
        }
        throw e;
      }
    } catch (e) {
      return this.failure(prefix, addr, e);
    }
  }

  private failure(prefix: string, addr: string, e: unknown): CommandResult {
    if (e instanceof KeyringError)
      return [EACCES, '', `cannot send '${prefix}': ${e.message} (daemon-server adds mgr.<name> when it starts with MGR_NAME=${this.opts.mgrName})`];
    const { kind, message: why } = callFailure(e);
    switch (kind) {
      case 'unauthenticated':
      case 'denied':
        return [EACCES, '', `${this.entity}: ${why}`];
      case 'invalid':
        return [EINVAL, '', why];
      case 'exhausted':
        return [EFBIG, '', why];
      case 'deadline':
        return [ETIMEDOUT, '', `'${prefix}' did not answer within ${this.opts.timeoutMs} ms: ${why}`];
      case 'unavailable':
      case 'precondition':
        return [EAGAIN, '', `daemon-server ${addr} cannot run '${prefix}' now: ${why}`];
    }
    this.opts.log('warn', 'sendCommand failed', { prefix, addr, error: why });
    return [EIO, '', `sending '${prefix}' to daemon-server ${addr} failed: ${why}`];
  }

  close(): void {
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
  }
}
