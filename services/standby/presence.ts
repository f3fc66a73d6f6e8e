// Crash failover from connection loss. A manager instance's daemon-server
// keeps a MgrMap watch open naming itself (WatchMgrMapRequest.watcher). A
// process that exits closes its connections at once, so its watch ends
// within milliseconds; the grace period is for the process that is alive
// but silent (hung, paused, cut off), which must still be fenced by time.
//
// A watch can also end while its manager lives (a replica or the network
// dropped it, a proxy closed it). So the end alone decides nothing: the
// instance's daemon-server address (from the map) is probed, and only a
// connection *refused* there (the kernel saying nothing listens on that
// port: the process exited, or its server closed its listener, which it
// does only after it stopped acting) takes the instance out of the map,
// through Resign, at once. An address that keeps accepting (a hung process
// still has its listening socket; the kernel completes the handshake) or
// does not answer (a host or network gone) leaves it to the grace period.
// The argument is in README.md ("No split brain"), step 5.
import * as net from 'net';
import type { MgrMap } from '../../lib/gen/ceph/mgr/v1/standby';
import type { Logger } from '../../lib/log';

/** What a TCP connect to an address said: refused, accepted, or nothing conclusive. */
export type Reachability = 'refused' | 'open' | 'unknown';

/** host:port or [v6]:port -> a connect attempt, bounded by timeoutMs. */
export function probeAddress(addr: string, timeoutMs: number): Promise<Reachability> {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(addr);
  if (!m) return Promise.resolve('unknown');
  return new Promise((resolve) => {
    const sock = net.connect({ host: m[1], port: Number(m[2]) });
    const done = (r: Reachability) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('unknown'), timeoutMs);
    sock.once('connect', () => done('open'));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'unknown'));
  });
}

export interface PresenceOptions {
  log: Logger;
  /** The map this replica holds (where the instance's address is looked up). */
  map(): MgrMap | null;
  /** One connect attempt's deadline (ms). */
  probeTimeoutMs: number;
  /** How long a port that still accepts is asked again before the grace period is left to decide (ms). */
  probeWindowMs: number;
  /** Takes the instance out of the map (Resign, on the authority wherever it runs); resolves whether it was there. */
  resign(name: string, gid: number, reason: string): Promise<boolean>;
  /** Every probe's outcome (metrics). */
  probed?(result: Reachability): void;
}

export class Presence {
  /** gids being probed: one probe per instance at a time, however many streams end. */
  private probing = new Set<number>();

  constructor(private readonly o: PresenceOptions) {}

  /** A watch naming (name, gid) ended without our doing. */
  streamEnded(name: string, gid: number): void {
    if (!gid || this.probing.has(gid)) return;
    const map = this.o.map();
    const entry =
      map && map.activeName === name && map.activeGid === gid
        ? { addrs: map.activeAddrs, role: 'active' }
        : map?.standbys.filter((s) => s.name === name && s.gid === gid).map((s) => ({ addrs: s.addrs, role: 'standby' }))[0];
    const addr = entry?.addrs?.daemonServer;
    if (!entry || !addr) return; // not in the map (yet, or any more): nothing to take out
    this.probing.add(gid);
    void this.check(name, gid, addr, entry.role).finally(() => this.probing.delete(gid));
  }

  private async check(name: string, gid: number, addr: string, role: string): Promise<void> {
    const { log } = this.o;
    // A dying process's connections may close a moment before its listening
    // socket does (the kernel closes them one by one, and a loaded machine
    // may pause it in between): asked again every 50 ms for a while, the
    // port of a process that is really gone soon refuses; a hung one's
    // keeps accepting.
    const until = performance.now() + this.o.probeWindowMs;
    let r: Reachability;
    for (;;) {
      r = await probeAddress(addr, Math.max(50, Math.min(this.o.probeTimeoutMs, until - performance.now())));
      if (r === 'refused' || performance.now() + 50 >= until) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    this.o.probed?.(r);
    if (r !== 'refused') {
      log.info('a manager watch ended but its address does not refuse connections; the grace period decides', { name, gid, addr, probe: r });
      return;
    }
    const reason = `gone: its connection closed and ${addr} refuses connections`;
    log.warn(`mgr.${name} (${role}) is gone; taking it out of the map now`, { name, gid, addr });
    try {
      await this.o.resign(name, gid, reason);
    } catch (e) {
      // The authority could not take it (etcd leadership changing): the grace period still will.
      log.warn('could not take a gone manager out of the map; the grace period will', { name, gid, error: (e as Error).message });
    }
  }
}
