// The simulated cluster's monitors, as far as commands go: the writes
// (`osd pool create|set|set-quota|delete|rm|rename`, `osd pool application enable|disable`,
// `osd out|in|down|reweight`, `osd set|unset`, `osd pg-upmap-items`,
// `osd rm-pg-upmap-items`, `config set|rm`) checked and answered as a Pacific monitor
// answers them (same return codes and messages), applied to the simulated
// cluster through the feed, which pushes the changed maps to cluster-state
// before the answer goes back. Reads are answered by daemon-server from
// cluster-state's maps; a manager hands the writes here over
// MonitorService (proto/ceph/mgr/v1/monitor.proto).
import * as fs from 'fs';
import { ServerError, Status } from 'nice-grpc';
import type { CommandResult } from '../lib/gen/ceph/mgr/v1/common';
import { MonitorServiceDefinition, MonitorServiceImplementation } from '../lib/gen/ceph/mgr/v1/monitor';
import { callerOf, RuleTable } from '../lib/auth/grpc';
import { startService, RunningService, TlsOptions } from '../lib/server';
import type { Logger } from '../lib/log';
import { SimCluster, ConfigEntry, SimPool } from './cluster';
import { ChangedMap, MapFeed } from './feed';
import { configOptions } from './config';
import { EBUSY, EEXIST, EINVAL, ENOENT, EOPNOTSUPP, EPERM, ERANGE } from '../lib/errno';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Cmd = Record<string, any>;

/** A refusal: Ceph's return code and its message. */
class Refused extends Error {
  constructor(
    readonly retcode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses Ceph's IEC sizes ("10G", "1Ki", "4096") for max_bytes; SI counts ("10k") for max_objects. */
function parseQuota(value: string, iec: boolean): number {
  const m = /^\s*(\d+)\s*([KMGTPE]?)(i?)B?\s*$/i.exec(value);
  if (!m) throw new Refused(EINVAL, `error parsing value '${value}': expected a whole number with an optional unit (K, M, G, T, P, E)`);
  const exp = ' KMGTPE'.indexOf(m[2].toUpperCase() || ' ');
  const n = Number(m[1]) * (iec || m[3] ? 1024 : 1000) ** Math.max(0, exp);
  if (!Number.isSafeInteger(n)) throw new Refused(ERANGE, `value '${value}' is too large`);
  return n;
}

function parseBool(v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Refused(EINVAL, "expecting value 'true', 'false', '0', or '1'");
}

function parseInt(v: string, what: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new Refused(EINVAL, `error parsing integer value '${v}' for ${what}`);
  return Number(v);
}

/** Pool flags `osd pool set` toggles, and the pool options it stores (numbers or strings). */
const POOL_FLAG_VARS = new Set(['nodelete', 'nopgchange', 'nosizechange', 'write_fadvise_dontneed', 'noscrub', 'nodeep-scrub', 'bulk']);
const POOL_OPTION_VARS: Record<string, 'int' | 'float' | 'str'> = {
  recovery_priority: 'int',
  recovery_op_priority: 'int',
  scrub_priority: 'int',
  scrub_min_interval: 'float',
  scrub_max_interval: 'float',
  deep_scrub_interval: 'float',
  pg_num_min: 'int',
  pg_num_max: 'int',
  pg_autoscale_bias: 'float',
  target_size_bytes: 'int',
  target_size_ratio: 'float',
  compression_algorithm: 'str',
  compression_required_ratio: 'float',
  compression_max_blob_size: 'int',
  compression_min_blob_size: 'int',
  csum_type: 'int',
  csum_min_block: 'int',
  csum_max_block: 'int',
  fingerprint_algorithm: 'str',
};

/** Daemon types a config section may name. */
const CONFIG_TYPES = new Set(['mon', 'mgr', 'osd', 'mds', 'client', 'rgw', 'rbd-mirror', 'cephfs-mirror', 'crash', 'iscsi', 'nfs']);

/** The OSD map's flags an operator may set, and what `pause` stands for. */
function flagKeys(key: string): string[] {
  return key === 'pause' ? ['pauserd', 'pausewr'] : [key];
}

export interface SimMonitorOptions {
  cluster: SimCluster;
  feed: MapFeed;
  /** Seconds after which an OSD marked down by `osd down` boots again, as a live OSD does (0: it stays down). */
  osdRebootSec?: number;
  /** mon_allow_pool_delete until the config database says otherwise (default true, as vstart's ceph.conf has it). */
  allowPoolDelete?: boolean;
  log?: Logger;
}

export class SimMonitor {
  private readonly reboots = new Set<NodeJS.Timeout>();

  constructor(private readonly o: SimMonitorOptions) {}

  private get c(): SimCluster {
    return this.o.cluster;
  }

  /**
   * Runs one command for `entity`, relayed by `from` (a manager); never
   * throws for a command-level failure (that is the return code). The audit
   * channel of the cluster log gets "dispatch", then "finished" when it did.
   */
  async command(cmd: Cmd, entity: string, from = entity): Promise<CommandResult> {
    const prefix = String(cmd.prefix ?? '');
    const who = `from='${from}' entity='${entity}' cmd=[${JSON.stringify(cmd)}]`;
    this.audit(`${who}: dispatch`);
    try {
      const outs = await this.dispatch(prefix, cmd, entity);
      this.audit(`${who}: finished`);
      this.o.log?.info('monitor command', { prefix, entity, outs });
      return { retcode: 0, stdout: '', stderr: outs };
    } catch (e) {
      if (e instanceof Refused) {
        this.o.log?.info('monitor command refused', { prefix, entity, retcode: e.retcode, outs: e.message });
        return { retcode: e.retcode, stdout: '', stderr: e.message };
      }
      if (e instanceof RangeError) return { retcode: EINVAL, stdout: '', stderr: e.message };
      throw e;
    }
  }

  /** Stops pending OSD reboots. */
  stop(): void {
    for (const t of this.reboots) clearTimeout(t);
    this.reboots.clear();
  }

  private async dispatch(prefix: string, cmd: Cmd, entity: string): Promise<string> {
    switch (prefix) {
      case 'osd pool create':
        return this.poolCreate(cmd);
      case 'osd pool set':
        return this.poolSet(cmd);
      case 'osd pool set-quota':
        return this.poolSetQuota(cmd);
      case 'osd pool delete':
      case 'osd pool rm':
        return this.poolDelete(cmd);
      case 'osd out':
      case 'osd in':
        return this.osdInOut(prefix === 'osd in', cmd, entity);
      case 'osd down':
        return this.osdDown(cmd, entity);
      case 'osd reweight':
        return this.osdReweight(cmd);
      case 'osd set':
      case 'osd unset':
        return this.osdFlag(prefix === 'osd set', cmd);
      case 'config set':
        return this.configSet(cmd);
      case 'config rm':
        return this.configRm(cmd);
      case 'osd pg-upmap-items':
        return this.pgUpmapItems(cmd);
      case 'osd rm-pg-upmap-items':
        return this.rmPgUpmapItems(cmd);
      case 'osd pool application enable':
        return this.poolApplicationEnable(cmd);
      case 'osd pool application disable':
        return this.poolApplicationDisable(cmd);
      case 'osd pool rename':
        return this.poolRename(cmd);
    }
    throw new Refused(EINVAL, `command '${prefix}' is not answered by the simulated monitors`);
  }

  private apply<T>(change: () => { result: T; changed: ChangedMap[] }): Promise<T> {
    return this.o.feed.apply(change);
  }

  private audit(message: string): void {
    this.o.feed
      .clusterLog([{ channel: 'audit', priority: 'INF', message }])
      .catch((e) => this.o.log?.debug('cluster log entry not appended', { error: (e as Error).message }));
  }

  private clusterLog(priority: string, message: string): void {
    this.o.feed
      .clusterLog([{ channel: 'cluster', priority, message }])
      .catch((e) => this.o.log?.debug('cluster log entry not appended', { error: (e as Error).message }));
  }

  private configNumber(name: string, type: string, fallback: number): number {
    const v = Number(this.c.configValue(name, type));
    return Number.isFinite(v) && this.c.configValue(name, type) !== undefined ? v : fallback;
  }

  private configFlag(name: string, type: string, fallback: boolean): boolean {
    const v = this.c.configValue(name, type);
    return v === undefined ? fallback : v === 'true' || v === '1';
  }

  private pool(name: unknown): SimPool {
    const p = this.c.pool(String(name));
    if (!p) throw new Refused(ENOENT, `unrecognized pool '${name}'`);
    return p;
  }

  /** Ceph's check_pg_num: PG replicas per in OSD stay under mon_max_pg_per_osd. */
  private checkPgNum(pool: SimPool | null, pgNum: number, size: number): void {
    const perOsd = this.configNumber('mon_max_pg_per_osd', 'mon', 250);
    const inOsds = this.c.osds.filter((o) => o.in).length;
    const max = perOsd * Math.max(1, inOsds);
    let projected = pgNum * size;
    for (const p of this.c.pools) if (p !== pool) projected += p.pgNum * p.size;
    if (projected > max) {
      throw new Refused(
        ERANGE,
        `pg_num ${pgNum} size ${size} would mean ${projected} total pgs, which exceeds max ${max} (mon_max_pg_per_osd ${perOsd} * num_in_osds ${inOsds})`,
      );
    }
  }

  // ---- pools ------------------------------------------------------------

  private async poolCreate(cmd: Cmd): Promise<string> {
    const name = String(cmd.pool);
    if (this.c.pool(name)) return `pool '${name}' already exists`;
    if (cmd.pool_type === 'erasure') throw new Refused(EOPNOTSUPP, 'the simulated cluster has replicated pools only (erasure coding is not simulated)');
    const pgNum: number = cmd.pg_num || this.configNumber('osd_pool_default_pg_num', 'mon', 32);
    const size: number = cmd.size || this.configNumber('osd_pool_default_size', 'mon', 3);
    if (pgNum > 65536)
      throw new Refused(ERANGE, `'pg_num' must be greater than 0 and less than or equal to 65536 (you may adjust 'mon max pool pg num' for higher values)`);
    if (cmd.pgp_num !== undefined && cmd.pgp_num > pgNum)
      throw new Refused(EINVAL, `'pgp_num' must be greater than 0 and lower or equal than 'pg_num', which in this case is ${pgNum}`);
    if (size < 1 || size > 10) throw new Refused(EINVAL, `pool size must be between 1 and 10`);
    if (cmd.rule !== undefined && cmd.rule !== 'replicated_rule') throw new Refused(ENOENT, `specified rule ${cmd.rule} doesn't exist`);
    this.checkPgNum(null, pgNum, size);
    await this.apply(() => {
      this.c.createPool(name, pgNum, { size, bare: true });
      const p = this.c.pool(name)!;
      if (cmd.pgp_num) p.pgpNum = cmd.pgp_num;
      if (cmd.autoscale_mode) p.autoscaleMode = cmd.autoscale_mode;
      if (cmd.bulk) p.flags.push('bulk');
      for (const k of ['pg_num_min', 'pg_num_max', 'target_size_bytes', 'target_size_ratio'] as const) if (cmd[k]) p.options[k] = cmd[k];
      return { result: null, changed: ['osd_map'] };
    });
    return `pool '${name}' created`;
  }

  private async poolSet(cmd: Cmd): Promise<string> {
    const p = this.pool(cmd.pool);
    const v = String(cmd.var);
    const val = String(cmd.val);
    const sure = cmd.yes_i_really_mean_it === true;
    let change: (pool: SimPool) => void;
    let replace = false;
    let shown: string | number = val;
    switch (v) {
      case 'size': {
        if (p.flags.includes('nosizechange')) throw new Refused(EPERM, 'pool size change is disabled; you must unset nosizechange flag for the pool first');
        const n = parseInt(val, 'size');
        if (n <= 0 || n > 10) throw new Refused(EINVAL, 'pool size must be between 1 and 10');
        if (n === 1) {
          if (!this.configFlag('mon_allow_pool_size_one', 'mon', false)) throw new Refused(EPERM, 'configuring pool size as 1 is disabled by default.');
          if (!sure)
            throw new Refused(
              EPERM,
              'WARNING: setting pool size 1 could lead to data loss without recovery. If you are *ABSOLUTELY CERTAIN* that is what you want, pass the flag --yes-i-really-mean-it.',
            );
        }
        this.checkPgNum(p, p.pgNum, n);
        change = (x) => {
          x.size = n;
          x.minSize = n - Math.floor(n / 2);
        };
        replace = true;
        shown = n;
        break;
      }
      case 'min_size': {
        const n = parseInt(val, 'min_size');
        if (n < 1 || n > p.size) throw new Refused(EINVAL, `pool min_size must be between 1 and size, which is set to ${p.size}`);
        change = (x) => (x.minSize = n);
        shown = n;
        break;
      }
      case 'pg_num':
      case 'pgp_num': {
        if (p.flags.includes('nopgchange')) throw new Refused(EPERM, `pool ${v} change is disabled; you must unset nopgchange flag for the pool first`);
        const n = parseInt(val, v);
        if (v === 'pgp_num') {
          if (n <= 0) throw new Refused(EINVAL, 'specified pgp_num must > 0, but you set to ' + n);
          if (n > p.pgNum) throw new Refused(EINVAL, `specified pgp_num ${n} > pg_num ${p.pgNum}`);
          change = (x) => (x.pgpNum = n);
        } else {
          if (n <= 0 || n > 65536)
            throw new Refused(
              ERANGE,
              `'pg_num' must be greater than 0 and less than or equal to 65536 (you may adjust 'mon max pool pg num' for higher values)`,
            );
          this.checkPgNum(p, n, p.size);
          await this.apply(() => {
            this.c.setPoolPgNum(p, n);
            return { result: null, changed: ['osd_map'] };
          });
          return `set pool ${p.id} pg_num to ${n}`;
        }
        shown = n;
        break;
      }
      case 'crush_rule':
        // The simulated CRUSH map has the one rule every fresh cluster has.
        if (val !== 'replicated_rule') throw new Refused(ENOENT, `crush rule ${val} does not exist`);
        change = (x) => (x.crushRule = 0);
        break;
      case 'hashpspool': {
        const on = parseBool(val);
        if (!sure)
          throw new Refused(
            EPERM,
            'are you SURE?  this will remap all placement groups in this pool, this triggers large data movement, pass --yes-i-really-mean-it if you really do.',
          );
        change = (x) => (x.flags = on ? [...new Set([...x.flags, v])] : x.flags.filter((f) => f !== v));
        break;
      }
      case 'compression_mode':
        if (!['none', 'passive', 'aggressive', 'force'].includes(val)) throw new Refused(EINVAL, `unrecognized compression mode '${val}'`);
        change = (x) => (x.compression = val === 'none' ? undefined : val);
        break;
      case 'pg_autoscale_mode':
        if (!['on', 'off', 'warn'].includes(val)) throw new Refused(EINVAL, `specified invalid mode ${val}`);
        change = (x) => (x.autoscaleMode = val);
        break;
      default:
        if (POOL_FLAG_VARS.has(v)) {
          const on = parseBool(val);
          change = (x) => (x.flags = on ? [...new Set([...x.flags, v])] : x.flags.filter((f) => f !== v));
        } else if (v in POOL_OPTION_VARS) {
          const kind = POOL_OPTION_VARS[v];
          let value: number | string = val;
          if (kind !== 'str') {
            value = Number(val);
            if (!Number.isFinite(value) || (kind === 'int' && !Number.isInteger(value))) throw new Refused(EINVAL, `error parsing value '${val}' for ${v}`);
          }
          change = (x) => {
            if (value === 0 || value === '') delete x.options[v];
            else x.options[v] = value;
          };
        } else {
          throw new Refused(
            EOPNOTSUPP,
            `the simulated cluster does not model pool property '${v}' (cache tiering, hit sets and erasure coding are not simulated)`,
          );
        }
    }
    await this.apply(() => {
      this.c.changePool(p, change, replace);
      return { result: null, changed: ['osd_map'] };
    });
    return `set pool ${p.id} ${v} to ${shown}`;
  }

  private async poolSetQuota(cmd: Cmd): Promise<string> {
    const p = this.pool(cmd.pool);
    const field = String(cmd.field);
    const n = parseQuota(String(cmd.val), field === 'max_bytes');
    await this.apply(() => {
      this.c.changePool(p, (x) => {
        if (field === 'max_bytes') x.quotaMaxBytes = n;
        else x.quotaMaxObjects = n;
      });
      return { result: null, changed: ['osd_map'] };
    });
    return `set-quota ${field} = ${n} for pool ${p.name}`;
  }

  private async poolDelete(cmd: Cmd): Promise<string> {
    const name = String(cmd.pool);
    const p = this.c.pool(name);
    if (!p) return `pool '${name}' does not exist`;
    if (cmd.pool2 !== name || cmd.yes_i_really_really_mean_it !== true) {
      throw new Refused(
        EPERM,
        `WARNING: this will *PERMANENTLY DESTROY* all data stored in pool ${name}.  If you are *ABSOLUTELY CERTAIN* that is what you want, pass the pool name *twice*, followed by --yes-i-really-really-mean-it.`,
      );
    }
    if (!this.configFlag('mon_allow_pool_delete', 'mon', this.o.allowPoolDelete ?? true)) {
      throw new Refused(EPERM, 'pool deletion is disabled; you must first set the mon_allow_pool_delete config option to true before you can destroy a pool');
    }
    if (p.flags.includes('nodelete')) throw new Refused(EPERM, 'pool deletion is disabled; you must unset nodelete flag for the pool first');
    if (this.c.poolsInUseByFs().includes(p.id)) throw new Refused(EBUSY, `pool '${name}' is in use by CephFS`);
    await this.apply(() => {
      this.c.deletePool(p);
      return { result: null, changed: ['osd_map'] };
    });
    return `pool '${name}' removed`;
  }

  // ---- OSDs -------------------------------------------------------------

  /** The ids a command names: numbers or osd.N, or any/all for every OSD; unknown ones reported apart. */
  private osdIds(raw: unknown[]): { ids: number[]; unknown: string[] } {
    const ids: number[] = [];
    const unknown: string[] = [];
    for (const r of raw.map(String)) {
      if (r === 'any' || r === 'all' || r === '*') {
        ids.push(...this.c.osds.map((o) => o.id));
        continue;
      }
      const id = r.startsWith('osd.') ? r.slice(4) : r;
      if (!/^\d+$/.test(id)) throw new Refused(EINVAL, `invalid osd id '${r}'`);
      if (!this.c.osds[Number(id)]) unknown.push(`osd.${id} does not exist. `);
      else ids.push(Number(id));
    }
    return { ids: [...new Set(ids)], unknown };
  }

  private async osdInOut(isIn: boolean, cmd: Cmd, entity: string): Promise<string> {
    const { ids, unknown } = this.osdIds(cmd.ids ?? []);
    const word = isIn ? 'in' : 'out';
    const already = ids.filter((id) => this.c.osds[id].in === isIn);
    const change = ids.filter((id) => this.c.osds[id].in !== isIn);
    if (change.length) {
      await this.apply(() => ({ result: this.c.setOsdsIn(change, isIn), changed: ['osd_map'] }));
      for (const id of change) this.clusterLog('INF', `Client ${entity} marked osd.${id} ${word}${this.c.osds[id].up ? ', while it was still marked up' : ''}`);
    }
    const outs = [...change.map((id) => `marked ${word} osd.${id}. `), ...already.map((id) => `osd.${id} is already ${word}. `), ...unknown].join('');
    if (!ids.length && unknown.length) throw new Refused(ENOENT, outs);
    return outs;
  }

  private async osdDown(cmd: Cmd, entity: string): Promise<string> {
    const { ids, unknown } = this.osdIds(cmd.ids ?? []);
    const already = ids.filter((id) => !this.c.osds[id].up);
    const change = ids.filter((id) => this.c.osds[id].up);
    if (change.length) {
      await this.apply(() => {
        for (const id of change) this.c.markOsdDown(id);
        return { result: null, changed: ['osd_map'] };
      });
      for (const id of change) {
        this.clusterLog('INF', `Client ${entity} marked osd.${id} down`);
        this.scheduleReboot(id);
      }
    }
    const outs = [...change.map((id) => `marked down osd.${id}. `), ...already.map((id) => `osd.${id} is already down. `), ...unknown].join('');
    if (!ids.length && unknown.length) throw new Refused(ENOENT, outs);
    return outs;
  }

  /** A live OSD marked down notices and boots again (Ceph: "wrongly marked me down"). */
  private scheduleReboot(id: number): void {
    const sec = this.o.osdRebootSec ?? 10;
    if (sec <= 0) return;
    const t = setTimeout(() => {
      this.reboots.delete(t);
      if (this.c.osds[id].up) return;
      this.apply(() => ({ result: this.c.markOsdUp(id), changed: ['osd_map'] }))
        .then(() => this.clusterLog('INF', `osd.${id} boot`))
        .catch((e) => this.o.log?.warn('osd boot not pushed', { osd: id, error: (e as Error).message }));
    }, sec * 1000);
    t.unref();
    this.reboots.add(t);
  }

  private async osdReweight(cmd: Cmd): Promise<string> {
    const id = Number(cmd.id);
    if (!this.c.osds[id]) throw new Refused(ENOENT, `osd.${id} does not exist`);
    const w = Number(cmd.weight);
    if (!(w >= 0 && w <= 1)) throw new Refused(EINVAL, `weight ${w} not in range [0.0, 1.0]`);
    const fixed = await this.apply(() => ({ result: this.c.reweightOsd(id, w), changed: ['osd_map'] }));
    return `reweighted osd.${id} to ${w} (${fixed.toString(16)})`;
  }

  private async osdFlag(on: boolean, cmd: Cmd): Promise<string> {
    const flags = flagKeys(String(cmd.key));
    await this.apply(() => ({ result: this.c.setOsdFlags(flags, on), changed: ['osd_map'] }));
    return `${flags.join(',')} is ${on ? 'set' : 'unset'}`;
  }

  // ---- upmap (the balancer's) -------------------------------------------

  private upmapPg(cmd: Cmd) {
    const pgid = String(cmd.pgid);
    const pg = this.c.pg(pgid.replace(/\.0*([0-9a-f])/i, '.$1').toLowerCase());
    if (!pg) throw new Refused(ENOENT, `pg ${pgid} does not exist`);
    return pg;
  }

  /** OSDMonitor's `osd pg-upmap-items`: pairs of OSDs, checked as Ceph checks them. */
  private async pgUpmapItems(cmd: Cmd): Promise<string> {
    const pg = this.upmapPg(cmd);
    const ids: number[] = (Array.isArray(cmd.id) ? cmd.id : [cmd.id]).map(Number);
    if (ids.length % 2) throw new Refused(EINVAL, 'you must specify pairs of osd ids to be remapped');
    const size = this.c.pools.find((p) => p.id === pg.pool)!.size;
    if (ids.length / 2 > size) throw new Refused(EINVAL, `num of osd pairs (${ids.length / 2}) > pool size (${size})`);
    let notes = '';
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < ids.length; i += 2) {
      const [from, to] = [ids[i], ids[i + 1]];
      if (from === to) {
        notes += `from osd.${from} == to osd.${to}, `;
        continue;
      }
      for (const o of [from, to]) if (!this.c.osds[o]) throw new Refused(ENOENT, `${notes}osd.${o} does not exist`);
      if (pairs.some(([f, t]) => f === from && t === to)) {
        notes += `osd.${from} -> osd.${to} already exists, `;
        continue;
      }
      pairs.push([from, to]);
    }
    if (!pairs.length) throw new Refused(EINVAL, `${notes}no valid upmap items(pairs) is specified`);
    await this.apply(() => ({ result: this.c.setPgUpmapItems(pg.pgid, pairs), changed: ['osd_map'] }));
    return `${notes}set ${pg.pgid} pg_upmap_items mapping to [${pairs.map(([f, t]) => `${f}->${t}`).join(',')}]`;
  }

  private async rmPgUpmapItems(cmd: Cmd): Promise<string> {
    const pg = this.upmapPg(cmd);
    await this.apply(() => ({ result: this.c.clearPgUpmapItems(pg.pgid), changed: ['osd_map'] }));
    return `clear ${pg.pgid} pg_upmap_items mapping`;
  }

  /** `osd pool application enable`: as OSDMonitor::prepare_command_pool_application. */
  private async poolApplicationEnable(cmd: Cmd): Promise<string> {
    const p = this.pool(cmd.pool);
    const app = String(cmd.app);
    if (app.length > 128) throw new Refused(EINVAL, 'application name must be 128 characters or less');
    if (p.applications[app]) return `application '${app}' already enabled on pool '${p.name}'`;
    if (Object.keys(p.applications).length && cmd.yes_i_really_mean_it !== true)
      throw new Refused(EPERM, `Are you SURE? Pool '${p.name}' already has an enabled application; pass --yes-i-really-mean-it to proceed anyway`);
    await this.apply(() => ({ result: this.c.changePool(p, (pool) => (pool.applications[app] = {})), changed: ['osd_map'] }));
    return `enabled application '${app}' on pool '${p.name}'`;
  }

  /** OSDMonitor's `osd pool application disable`: forced only; not enabled is no error. */
  private async poolApplicationDisable(cmd: Cmd): Promise<string> {
    const p = this.pool(cmd.pool);
    const app = String(cmd.app);
    if (cmd.yes_i_really_mean_it !== true)
      throw new Refused(
        EPERM,
        'Are you SURE? Disabling an application within a pool might result in loss of application functionality; pass --yes-i-really-mean-it to proceed anyway',
      );
    if (!p.applications[app]) return `application '${app}' is not enabled on pool '${p.name}'`;
    await this.apply(() => ({ result: this.c.changePool(p, (pool) => delete pool.applications[app]), changed: ['osd_map'] }));
    return `disable application '${app}' on pool '${p.name}'`;
  }

  /** OSDMonitor's `osd pool rename`, idempotent as Ceph's: the source gone and the destination there is success. */
  private async poolRename(cmd: Cmd): Promise<string> {
    const [from, to] = [String(cmd.srcpool), String(cmd.destpool)];
    const src = this.c.pool(from);
    const dst = this.c.pool(to);
    if (!src) {
      if (dst) return `pool '${from}' does not exist; pool '${to}' does -- assuming successful rename`;
      throw new Refused(ENOENT, `unrecognized pool '${from}'`);
    }
    if (dst) throw new Refused(EEXIST, `pool '${to}' already exists`);
    await this.apply(() => ({ result: this.c.changePool(src, (pool) => (pool.name = to)), changed: ['osd_map'] }));
    return `pool '${from}' renamed to '${to}'`;
  }

  // ---- config -----------------------------------------------------------

  private async configSet(cmd: Cmd): Promise<string> {
    const { section, mask } = configTarget(String(cmd.who));
    const name = String(cmd.name);
    const value = String(cmd.value);
    const module = /^mgr\/([A-Za-z0-9_-]+)\/(.+)$/.exec(name);
    let level = 'advanced';
    let runtime = true;
    if (!module) {
      const opt = configOptions().get(name);
      if (!opt) throw new Refused(EINVAL, `unrecognized config option '${name}'`);
      [level, runtime] = [opt.level, opt.runtime];
      checkValue(name, opt.type, value);
    }
    const entry: ConfigEntry = { section, name, value, level, can_update_at_runtime: runtime, mask };
    await this.apply(() => {
      const i = this.c.configDb.findIndex((e) => e.section === section && e.name === name && e.mask === mask);
      if (i >= 0) this.c.configDb[i] = entry;
      else this.c.configDb.push(entry);
      return { result: null, changed: ['mon_config', 'config'] };
    });
    // A manager module's option reaches the managers as their module option
    // (mgr/<module>/<key>, or mgr/<module>/<mgr id>/<key> for one manager).
    if (module && (section === 'mgr' || section === 'global' || section.startsWith('mgr.'))) {
      const id = section.startsWith('mgr.') ? `${section.slice(4)}/` : '';
      await this.o.feed.setStore(`config/mgr/${module[1]}/${id}${module[2]}`, value);
    }
    return '';
  }

  /** ConfigMonitor's `config rm`: the entry goes (none there is no error); a module option returns to its default. */
  private async configRm(cmd: Cmd): Promise<string> {
    const { section, mask } = configTarget(String(cmd.who));
    const name = String(cmd.name);
    await this.apply(() => {
      const i = this.c.configDb.findIndex((e) => e.section === section && e.name === name && e.mask === mask);
      if (i < 0) return { result: null, changed: [] };
      this.c.configDb.splice(i, 1);
      return { result: null, changed: ['mon_config', 'config'] };
    });
    const module = /^mgr\/([A-Za-z0-9_-]+)\/(.+)$/.exec(name);
    if (module && (section === 'mgr' || section === 'global' || section.startsWith('mgr.'))) {
      const id = section.startsWith('mgr.') ? `${section.slice(4)}/` : '';
      await this.o.feed.setStore(`config/mgr/${module[1]}/${id}${module[2]}`, null);
    }
    return '';
  }
}

/** A config target ("osd", "osd.3", "osd/class:hdd", "global"), checked as ConfigMonitor checks it. */
function configTarget(who: string): { section: string; mask: string } {
  const slash = who.indexOf('/');
  const section = slash < 0 ? who : who.slice(0, slash);
  const mask = slash < 0 ? '' : who.slice(slash + 1);
  if (section !== 'global' && !CONFIG_TYPES.has(section.split('.')[0])) throw new Refused(EINVAL, `unrecognized config target '${who}'`);
  if (mask && !/^(host|class):[A-Za-z0-9_.-]+$/.test(mask))
    throw new Refused(EINVAL, `unrecognized config mask '${mask}' (host:<name> or class:<device class>)`);
  return { section, mask };
}

/** Checks a value against the option's type, as Ceph's config set does. */
function checkValue(name: string, type: string, value: string): void {
  const bad = (why: string) => new Refused(EINVAL, `error parsing value: ${why} (option '${name}' is a ${type})`);
  switch (type) {
    case 'int':
    case 'uint':
      if (!/^[-+]?\d+$/.test(value.trim())) throw bad(`'${value}' is not an integer`);
      if (type === 'uint' && Number(value) < 0) throw bad(`'${value}' is negative`);
      return;
    case 'float':
      if (!Number.isFinite(Number(value)) || value.trim() === '') throw bad(`'${value}' is not a number`);
      return;
    case 'bool':
      if (!/^(true|false|1|0|yes|no|on|off)$/i.test(value.trim())) throw bad(`'${value}' is not a boolean`);
      return;
    case 'size':
      if (!/^\d+\s*([KMGTPE]i?)?B?$/i.test(value.trim())) throw bad(`'${value}' is not a size`);
      return;
    case 'secs':
    case 'millisecs':
      if (!/^\d+(\.\d+)?\s*(ms|s|m|h|d|w|mo|y|sec|min|hour|day|week|month|year)?s?$/i.test(value.trim())) throw bad(`'${value}' is not a time span`);
      return;
  }
}

// ---- the endpoint ------------------------------------------------------

export interface MonitorEndpointOptions {
  monitor: SimMonitor;
  host?: string;
  /** 0: a free one. */
  port: number;
  /** Ceph-format keyring: callers must be in it with mgr caps "allow *"; missing file: no authentication. */
  keyringPath?: string;
  tls?: TlsOptions;
  logLevel?: string;
}

/** Who may send the monitors commands: managers, as Ceph's mgr daemons do (mgr caps 'allow *'). */
const monitorRules: RuleTable = {
  Command: (caller) => (/^\s*allow\s+\*\s*$/.test(caller.caps.mgr ?? '') ? null : "needs mgr caps 'allow *' (a manager's mgr.<name>, or client.admin)"),
};

/** Serves MonitorService for the simulated monitors. */
export async function startMonitorEndpoint(opts: MonitorEndpointOptions): Promise<RunningService> {
  const impl: MonitorServiceImplementation = {
    async command(req, ctx) {
      const caller = callerOf(ctx)?.entity || 'anonymous';
      let cmd: Cmd;
      try {
        cmd = JSON.parse(req.cmd);
      } catch (e) {
        throw new ServerError(Status.INVALID_ARGUMENT, `cmd is not JSON: ${(e as Error).message}`);
      }
      if (!cmd || typeof cmd !== 'object' || Array.isArray(cmd) || typeof cmd.prefix !== 'string') {
        throw new ServerError(Status.INVALID_ARGUMENT, 'cmd must be a JSON object with a "prefix", e.g. {"prefix": "osd out", "ids": ["1"]}');
      }
      return { result: await opts.monitor.command(cmd, req.onBehalfOf || caller, caller) };
    },
  };
  const keyring = !!opts.keyringPath && fs.existsSync(opts.keyringPath);
  const svc = await startService(
    {
      name: 'sim-monitor',
      host: opts.host ?? '127.0.0.1',
      port: opts.port,
      metricsPort: -1,
      tls: opts.tls,
      logLevel: opts.logLevel,
      maxMessageBytes: 4 << 20,
      auth: keyring ? { keyringPath: opts.keyringPath!, tables: { 'ceph.mgr.v1.MonitorService': monitorRules } } : null,
    },
    (server) => {
      server.add(MonitorServiceDefinition, impl);
      return ['ceph.mgr.v1.MonitorService'];
    },
  );
  svc.setServing(true);
  if (!keyring) svc.log.warn('no keyring: the monitor endpoint accepts commands from anyone who can reach it', { keyring: opts.keyringPath });
  svc.onShutdown(() => opts.monitor.stop());
  return svc;
}
