// The MgrMap rules (Ceph's MgrMonitor), with no I/O: beacons in, a map out.
// Who is alive is kept in memory from beacons (as the monitor does); the map
// itself is made durable by whoever owns this object (embedded file or etcd),
// which must do so before answering the call that changed it.
import type { BeaconRequest, MgrAddrs, MgrMap, MgrStandbyInfo } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { ModuleInfo } from '../../../lib/gen/ceph/mgr/v1/common';

export class AuthorityError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found' | 'precondition',
    message: string,
  ) {
    super(message);
  }
}

interface Liveness {
  gid: number;
  lastBeacon: number;
}

export interface AuthorityOptions {
  /** No beacon for this long: the active is replaced, a standby dropped. */
  graceMs: number;
  /**
   * How often beacons are expected. If the authority itself did not tick for
   * longer than `graceMs - beaconIntervalMs` (event loop stalled, process
   * paused), beacons may have been waiting in its queue: every timer is
   * reset instead of failing managers (Ceph's MgrMonitor does the same).
   */
  beaconIntervalMs: number;
  /** Called with every new epoch and why (logs, metrics). */
  onChange?(map: MgrMap, why: string): void;
  /**
   * Milliseconds on a monotonic clock, for beacon timers (default
   * performance.now(): a wall-clock step must not fail anyone early).
   */
  now?: () => number;
  /** Wall-clock milliseconds, for `active_change` (default Date.now). */
  wallNow?: () => number;
}

/** A fresh map: epoch 1, nobody active, the initial modules enabled. */
export function emptyMap(initialModules: string[], alwaysOn: string[]): MgrMap {
  return {
    epoch: 1,
    activeGid: 0,
    activeName: '',
    activeAddrs: { daemonServer: '', moduleHost: '' },
    available: false,
    activeChange: 0,
    standbys: [],
    modules: [...new Set(initialModules.filter((m) => m && !alwaysOn.includes(m)))].sort(),
    alwaysOnModules: [...new Set(alwaysOn.filter((m) => m))].sort(),
    availableModules: [],
    services: {},
    lastFailureEpoch: 0,
  };
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** host:port, [v6]:port. */
const ADDR_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/;
/** How many replaced gids are remembered per name. */
const TOMBSTONES_PER_NAME = 16;

export class MgrMapAuthority {
  private live = new Map<string, Liveness>();
  /** gids replaced by a restart of the same name: their late beacons are refused. */
  private retired = new Map<string, number[]>();
  private now: () => number;
  private wallNow: () => number;
  private lastTick: number;

  constructor(
    private map: MgrMap,
    private opts: AuthorityOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.wallNow = opts.wallNow ?? Date.now;
    this.lastTick = this.now();
    // After a restart or a leader change, everyone in the map gets a full
    // grace period to beacon again before being failed.
    this.resetTimers();
  }

  current(): MgrMap {
    return this.map;
  }

  /** Every manager in the map gets a full grace period from now. */
  resetTimers(): void {
    const t = this.now();
    this.live.clear();
    if (this.map.activeName) this.live.set(this.map.activeName, { gid: this.map.activeGid, lastBeacon: t });
    for (const s of this.map.standbys) this.live.set(s.name, { gid: s.gid, lastBeacon: t });
  }

  /**
   * Goes back to a map that is known to be durable (a write of a newer one
   * failed). Liveness is kept: it is what was observed, not what was stored.
   */
  restore(map: MgrMap): void {
    this.map = structuredClone(map);
  }

  private commit(next: MgrMap, why: string): MgrMap {
    next.epoch = this.map.epoch + 1;
    this.map = next;
    this.opts.onChange?.(next, why);
    return next;
  }

  private clone(): MgrMap {
    return structuredClone(this.map);
  }

  /** Checks a beacon's fields; throws AuthorityError('invalid') with what is wrong. */
  static validateBeacon(b: BeaconRequest): void {
    if (!b.name || !NAME_RE.test(b.name))
      throw new AuthorityError('invalid', `beacon: name must be 1-64 letters, digits, '.', '_' or '-', got '${b.name ?? ''}'`);
    if (!Number.isSafeInteger(b.gid) || b.gid <= 0)
      throw new AuthorityError('invalid', `beacon from '${b.name}': gid must be a positive whole number, got ${b.gid}`);
    const ds = b.addrs?.daemonServer ?? '';
    if (!ds) throw new AuthorityError('invalid', `beacon from '${b.name}': addrs.daemon_server is required (host:port)`);
    if (!ADDR_RE.test(ds)) throw new AuthorityError('invalid', `beacon from '${b.name}': addrs.daemon_server must be host:port, got '${ds}'`);
    const mh = b.addrs?.moduleHost ?? '';
    if (mh && !ADDR_RE.test(mh)) throw new AuthorityError('invalid', `beacon from '${b.name}': addrs.module_host must be host:port, got '${mh}'`);
    const seen = new Set<string>();
    for (const m of b.availableModules ?? []) {
      if (!m.name || !NAME_RE.test(m.name)) throw new AuthorityError('invalid', `beacon from '${b.name}': module name '${m.name ?? ''}' is not valid`);
      if (seen.has(m.name)) throw new AuthorityError('invalid', `beacon from '${b.name}': module '${m.name}' is listed twice`);
      seen.add(m.name);
    }
  }

  beacon(b: BeaconRequest): MgrMap {
    MgrMapAuthority.validateBeacon(b);
    if (this.retired.get(b.name)?.includes(b.gid)) {
      // A late beacon from an instance that was already replaced by a
      // restart of the same name: letting it in would fail the new one.
      throw new AuthorityError('precondition', `mgr.${b.name} gid ${b.gid} was replaced by a newer instance of the same name; this instance must stop`);
    }
    const t = this.now();
    const m = this.map;
    const next = this.clone();
    const reasons: string[] = [];
    const addrs: MgrAddrs = { daemonServer: b.addrs!.daemonServer, moduleHost: b.addrs!.moduleHost ?? '' };
    const modules = sortModules(b.availableModules ?? []);
    const known = this.live.get(b.name);
    this.live.set(b.name, { gid: b.gid, lastBeacon: t });

    if (m.activeName === b.name) {
      if (m.activeGid !== b.gid) {
        // The active restarted: replace it at once (no grace wait).
        this.retire(b.name, m.activeGid);
        this.dropActive(next);
        reasons.push(`active mgr.${b.name} restarted (gid ${m.activeGid} -> ${b.gid})`);
        next.standbys.push({ gid: b.gid, name: b.name, addrs, available: b.available, availableModules: modules });
      } else {
        // A beacon sent before the sender knew of its promotion says it is
        // ready to be promoted, not that its modules have started.
        const available = b.asActive === false ? next.available : b.available;
        if (next.available !== available) {
          next.available = available;
          reasons.push(available ? `mgr.${b.name} is now available` : `mgr.${b.name} is no longer available`);
        }
        if (!sameJson(next.activeAddrs, addrs)) {
          next.activeAddrs = addrs;
          reasons.push('active addresses changed');
        }
        if (!sameJson(next.availableModules, modules)) {
          next.availableModules = modules;
          reasons.push('available modules changed');
        }
        const services = sortedRecord(b.services ?? {});
        if (!sameJson(next.services, services)) {
          next.services = services;
          reasons.push('services changed');
        }
      }
    } else {
      const i = next.standbys.findIndex((s) => s.name === b.name);
      // A beacon sent as the active (before the sender learnt it was
      // replaced) speaks of an active's modules, not of its readiness to
      // take over: as a standby it is not available until it says so as one.
      const entry: MgrStandbyInfo = { gid: b.gid, name: b.name, addrs, available: b.asActive === true ? false : b.available, availableModules: modules };
      if (i < 0) {
        next.standbys.push(entry);
        reasons.push(`new standby mgr.${b.name}`);
      } else if (!sameJson(next.standbys[i], entry)) {
        if (next.standbys[i].gid !== b.gid) {
          this.retire(b.name, next.standbys[i].gid);
          reasons.push(`standby mgr.${b.name} restarted (gid ${next.standbys[i].gid} -> ${b.gid})`);
        } else {
          reasons.push(`standby mgr.${b.name} changed`);
        }
        next.standbys[i] = entry;
      }
      if (known && known.gid !== b.gid && i < 0) this.retire(b.name, known.gid);
    }
    next.standbys.sort((a, c) => a.gid - c.gid);
    if (!next.activeName && this.promote(next)) {
      reasons.push(`mgr.${next.activeName} is now active`);
      // The sender itself was promoted: its services are the active's now.
      if (next.activeName === b.name && next.activeGid === b.gid) next.services = sortedRecord(b.services ?? {});
    }
    return reasons.length ? this.commit(next, reasons.join('; ')) : m;
  }

  /** Periodic check: drops standbys and replaces the active that stopped beaconing. */
  tick(): MgrMap {
    const t = this.now();
    const grace = this.opts.graceMs;
    const sinceLastTick = t - this.lastTick;
    this.lastTick = t;
    if (sinceLastTick > grace - this.opts.beaconIntervalMs) {
      // We were not running: missing beacons are our fault, not theirs.
      this.resetTimers();
      return this.map;
    }
    const next = this.clone();
    const reasons: string[] = [];
    const stale = (name: string) => {
      const l = this.live.get(name);
      return !l || t - l.lastBeacon > grace;
    };
    const gone = next.standbys.filter((s) => stale(s.name));
    if (gone.length) {
      reasons.push(`dropped standby ${gone.map((s) => `mgr.${s.name}`).join(', ')} (no beacon for ${grace} ms)`);
      next.standbys = next.standbys.filter((s) => !stale(s.name));
      for (const s of gone) this.live.delete(s.name);
    }
    if (next.activeName && stale(next.activeName)) {
      const old = next.activeName;
      this.dropActive(next);
      this.live.delete(old);
      const promoted = this.promote(next);
      reasons.push(
        `Manager daemon ${old} is unresponsive${promoted ? `, replacing it with standby daemon ${next.activeName}` : ' and no standby is available'}`,
      );
    } else if (!next.activeName && this.promote(next)) {
      reasons.push(`mgr.${next.activeName} is now active`);
    }
    return reasons.length ? this.commit(next, reasons.join('; ')) : this.map;
  }

  /** `mgr fail [who]`: the active is replaced at once; a standby is removed. */
  fail(who: string): { map: MgrMap; message: string } {
    const next = this.clone();
    const target = (who ?? '').trim() || next.activeName;
    if (!target) throw new AuthorityError('not_found', 'no active manager to fail');
    const isActive = next.activeName !== '' && (target === next.activeName || target === String(next.activeGid));
    if (isActive) {
      const old = next.activeName;
      this.dropActive(next);
      this.live.delete(old);
      this.promote(next);
      const message = `Manager daemon ${old} failed${next.activeName ? `; ${next.activeName} is now active` : '; no standby to promote'}`;
      return { map: this.commit(next, `mgr fail ${old}`), message };
    }
    const i = next.standbys.findIndex((s) => s.name === target || String(s.gid) === target);
    if (i < 0) throw new AuthorityError('not_found', `Daemon not found '${target}', already failed?`);
    const [gone] = next.standbys.splice(i, 1);
    this.live.delete(gone.name);
    return { map: this.commit(next, `mgr fail ${gone.name} (standby)`), message: `Standby manager daemon ${gone.name} removed` };
  }

  /**
   * An instance steps down on its own (shutting down, its module-host gone)
   * or was found gone (its process exited): the active is replaced by a
   * standby now; a standby leaves the map (a live one comes back with its
   * next beacon). Only the exact name and gid count; others are ignored.
   */
  resign(name: string, gid: number, reason = ''): { map: MgrMap; resigned: boolean } {
    if (!name) return { map: this.map, resigned: false };
    const why = reason ? ` (${reason})` : '';
    if (this.map.activeName === name && this.map.activeGid === gid) {
      const next = this.clone();
      this.dropActive(next);
      this.live.delete(name);
      this.promote(next);
      return { map: this.commit(next, `mgr.${name} resigned${why}${next.activeName ? `; mgr.${next.activeName} is now active` : ''}`), resigned: true };
    }
    const i = this.map.standbys.findIndex((s) => s.name === name && s.gid === gid);
    if (i < 0) return { map: this.map, resigned: false };
    const next = this.clone();
    next.standbys.splice(i, 1);
    this.live.delete(name);
    return { map: this.commit(next, `standby mgr.${name} resigned${why}`), resigned: true };
  }

  /**
   * `mgr module enable`: as Ceph, every manager (active and standbys) must
   * know the module and the active must be able to run it, unless forced.
   */
  enableModule(module: string, force: boolean): { map: MgrMap; message: string } {
    checkModuleName(module);
    const m = this.map;
    if (m.alwaysOnModules.includes(module)) return { map: m, message: `module '${module}' is already enabled (always on)` };
    if (m.modules.includes(module)) return { map: m, message: `module '${module}' is already enabled` };
    if (!force) {
      const reporters: ModuleInfo[][] = [...(m.activeName ? [m.availableModules] : []), ...m.standbys.map((s) => s.availableModules)];
      const supported = reporters.length > 0 && reporters.every((mods) => mods.some((x) => x.name === module));
      if (!supported) {
        const known = [...new Set(reporters.flat().map((x) => x.name))].sort();
        throw new AuthorityError(
          'not_found',
          `all mgr daemons do not support module '${module}', pass --force to force enablement${known.length ? ` (known modules: ${known.join(', ')})` : reporters.length ? ' (the managers reported no modules)' : ' (no manager has reported its modules yet)'}`,
        );
      }
      // The active's word counts; with no active, any standby that cannot run it.
      const runners = m.activeName ? [m.availableModules] : m.standbys.map((s) => s.availableModules);
      const bad = runners.map((mods) => mods.find((x) => x.name === module)).find((x) => x && !x.canRun);
      if (bad)
        throw new AuthorityError(
          'precondition',
          `module '${module}' reports that it cannot run on the active manager daemon: ${bad.errorString || 'no reason given'} (pass --force to force enablement)`,
        );
    }
    const next = this.clone();
    next.modules = [...next.modules, module].sort();
    return { map: this.commit(next, `enabled module ${module}${force ? ' (forced)' : ''}`), message: '' };
  }

  /** `mgr module disable`: always-on modules cannot be disabled. */
  disableModule(module: string): { map: MgrMap; message: string } {
    checkModuleName(module);
    const m = this.map;
    if (m.alwaysOnModules.includes(module)) throw new AuthorityError('precondition', `module '${module}' cannot be disabled (always-on)`);
    if (!m.modules.includes(module)) return { map: m, message: `module '${module}' is already disabled` };
    const next = this.clone();
    next.modules = next.modules.filter((x) => x !== module);
    return { map: this.commit(next, `disabled module ${module}`), message: '' };
  }

  private retire(name: string, gid: number): void {
    if (!gid) return;
    const list = this.retired.get(name) ?? [];
    if (!list.includes(gid)) list.push(gid);
    this.retired.set(name, list.slice(-TOMBSTONES_PER_NAME));
  }

  private dropActive(next: MgrMap): void {
    next.lastFailureEpoch = this.map.epoch + 1;
    next.activeName = '';
    next.activeGid = 0;
    next.activeAddrs = { daemonServer: '', moduleHost: '' };
    next.available = false;
    next.services = {};
    next.availableModules = [];
    next.activeChange = this.wallNow() / 1000;
  }

  /** Promotes the available standby with the lowest gid (Ceph's "arbitrary choice"), if any. */
  private promote(next: MgrMap): boolean {
    const pick = next.standbys.filter((s) => s.available).sort((a, b) => a.gid - b.gid)[0];
    if (!pick) return false;
    next.standbys = next.standbys.filter((s) => s !== pick);
    next.activeName = pick.name;
    next.activeGid = pick.gid;
    next.activeAddrs = pick.addrs ?? { daemonServer: '', moduleHost: '' };
    // As in Ceph's MgrMonitor: a promoted standby is not available until its
    // own beacon as active says its modules are up; clients wait for that.
    next.available = false;
    next.availableModules = pick.availableModules;
    next.services = {};
    next.activeChange = this.wallNow() / 1000;
    return true;
  }
}

function checkModuleName(module: string): void {
  if (!module) throw new AuthorityError('invalid', 'module name is empty');
  if (!NAME_RE.test(module)) throw new AuthorityError('invalid', `module name '${module}' is not valid (letters, digits, '.', '_' or '-')`);
}

function sortModules(mods: ModuleInfo[]): ModuleInfo[] {
  return [...mods].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
