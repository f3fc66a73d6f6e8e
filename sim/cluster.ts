// The simulated Ceph cluster: OSDs on hosts, pools, placement groups, one
// CephFS with its MDS, and monitors. It produces the maps and statistics a
// real Pacific cluster gives the manager, in the exact JSON shapes of the
// fixtures (sim/templates/pacific.json was extracted from
// /work/shared/fixtures/ceph-pacific), scaled to any size and deterministic
// given a seed. Counters are pure functions of time, so two calls at the
// same time agree and rates come out non-zero.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import { pacificTemplates, hash32, osdPerfSchema, PerfValueGenerator } from './perf';
import { UpmapItems, UpmapPair } from './upmap';
import { bluestoreMetadata } from './devices';
import { seededRandom } from '../lib/seeded-random';
import { rbdImageStats, RbdImageStats } from './rbd';

export interface ClusterOptions {
  /** Number of OSDs (default 3). */
  osds?: number;
  /** Number of pools (default 5, the fixture's pools). */
  pools?: number;
  /** Total placement groups over all pools (default 89, as in the fixture). */
  pgs?: number;
  /** OSDs per host (default 10; clusters of at most this many OSDs get one host). */
  osdsPerHost?: number;
  /** Monitors (default 1). */
  mons?: number;
  /** Replicas per pool (default 3, capped at the number of OSDs). */
  poolSize?: number;
  /** Seed for every random choice (default 1). */
  seed?: number;
  /** Client write operations per second over the whole cluster (default 100; reads are twice that). */
  ioRate?: number;
  /** Capacity of each OSD in bytes (default 1 GiB as in the fixture). */
  osdBytes?: number;
  /** Clock in seconds since the Unix epoch (default Date.now()/1000); tests pin it. */
  now?: () => number;
  /** Seconds a PG backfills after it moved to other OSDs (default 10; each PG takes 0.5 to 1.5 times that). */
  backfillSec?: number;
}

export interface SimOsd {
  id: number;
  host: number;
  up: boolean;
  in: boolean;
  upFrom: number;
  upThru: number;
  downAt: number;
  downStamp: number;
  nonce: number;
  uuid: string;
  /** The reweight (`osd reweight`), 0..1; an OSD marked out has 0 in the map. */
  weight: number;
}

export interface SimPool {
  id: number;
  name: string;
  pgNum: number;
  size: number;
  minSize: number;
  createdAt: number;
  lastChange: number;
  /** Index into the fixture's pools whose options/applications this pool copies. */
  template: number;
  /** pgp_num (placement), at most pgNum. */
  pgpNum: number;
  crushRule: number;
  /** Pool flags by name (hashpspool, nodelete, nopgchange, ...). */
  flags: string[];
  quotaMaxBytes: number;
  quotaMaxObjects: number;
  autoscaleMode: string;
  /** Pool options (recovery_priority, pg_num_min, ...). */
  options: Record<string, number | string>;
  /** Applications enabled on the pool (rbd, cephfs, rgw, ...). */
  applications: Record<string, Record<string, string>>;
  /** BlueStore compression_mode set on the pool (setPoolCompression); none when unset. */
  compression?: string;
}

export interface SimPg {
  pool: number;
  ps: number;
  pgid: string;
  /** The OSDs CRUSH maps this PG to, primary first. */
  acting: number[];
  /** The acting set without down OSDs (what the PG has now). */
  up: number[];
  state: string;
  created: number;
  mappingEpoch: number;
  lastChangeStamp: number;
  lastCleanStamp: number;
  lastCleanEpoch: number;
  /** Writes per second this PG receives. */
  writeRate: number;
  baseObjects: number;
  /** When it was last scrubbed and deep-scrubbed (seconds; 0: at creation). */
  lastScrubStamp: number;
  lastDeepScrubStamp: number;
  /** Until when (seconds) the PG backfills onto OSDs it moved to; 0: it never moved. */
  backfillFrom: number;
  backfillUntil: number;
}

/** The part of a PG's stats that changes every report (see SimCluster.pgDynamic). */
export interface PgDynamic {
  /** The state reported: the PG's, or active+remapped+backfilling while it backfills after a move. */
  state: string;
  writes: number;
  logSize: number;
  reportedSeq: number;
  /** The object_stat_sum_t fields that grow. */
  statSum: Record<string, number>;
  /** The stamps that read "now". */
  now: Array<'last_fresh' | 'last_peered' | 'last_unstale' | 'last_active' | 'last_clean' | 'last_fullsized' | 'last_undegraded'>;
}

/** The events the simulator applies (the rotation uses the first three). */
export type ClusterEvent =
  | { kind: 'osd_down'; osd: number; epoch: number }
  | { kind: 'osd_up'; osd: number; epoch: number }
  | { kind: 'pool_create'; pool: number; name: string; pgNum: number; epoch: number }
  | { kind: 'pool_set'; pool: number; key: string; value: string; epoch: number };

/** A health check as the monitors report it (the `health_mon` map's checks). */
export interface SimHealthCheck {
  severity: 'HEALTH_WARN' | 'HEALTH_ERR';
  summary: { message: string; count: number };
  detail: Array<{ message: string }>;
  muted: boolean;
}

/** One entry of the monitors' configuration database (`ceph config dump -f json`). */
export interface ConfigEntry {
  section: string;
  name: string;
  value: string;
  level: string;
  can_update_at_runtime: boolean;
  mask: string;
}

/** OSD map flags in Ceph's bit order (get_flag_string prints them so). */
export const OSDMAP_FLAG_BITS: Array<[string, number]> = [
  ['nearfull', 1 << 0],
  ['full', 1 << 1],
  ['pauserd', 1 << 2],
  ['pausewr', 1 << 3],
  ['pauserec', 1 << 4],
  ['noup', 1 << 5],
  ['nodown', 1 << 6],
  ['noout', 1 << 7],
  ['noin', 1 << 8],
  ['nobackfill', 1 << 9],
  ['norecover', 1 << 10],
  ['noscrub', 1 << 11],
  ['nodeep-scrub', 1 << 12],
  ['notieragent', 1 << 13],
  ['norebalance', 1 << 14],
  ['sortbitwise', 1 << 15],
  ['require_jewel_osds', 1 << 16],
  ['require_kraken_osds', 1 << 17],
  ['require_luminous_osds', 1 << 18],
  ['recovery_deletes', 1 << 19],
  ['purged_snapdirs', 1 << 20],
  ['nosnaptrim', 1 << 21],
  ['pglog_hardlimit', 1 << 22],
];

/** Pool flags in Ceph's bit order (pg_pool_t::get_flags_string). */
export const POOL_FLAG_BITS: Array<[string, number]> = [
  ['hashpspool', 1 << 0],
  ['full', 1 << 1],
  ['ec_overwrites', 1 << 2],
  ['incomplete_clones', 1 << 3],
  ['nodelete', 1 << 4],
  ['nopgchange', 1 << 5],
  ['nosizechange', 1 << 6],
  ['write_fadvise_dontneed', 1 << 7],
  ['noscrub', 1 << 8],
  ['nodeep-scrub', 1 << 9],
  ['full_quota', 1 << 10],
  ['nearfull', 1 << 11],
  ['backfillfull', 1 << 12],
  ['selfmanaged_snaps', 1 << 13],
  ['pool_snaps', 1 << 14],
  ['creating', 1 << 15],
  ['eio', 1 << 16],
  ['bulk', 1 << 17],
];

function flagsOf(names: Iterable<string>, bits: Array<[string, number]>): { names: string[]; num: number } {
  const set = new Set(names);
  const on = bits.filter(([n]) => set.has(n));
  return { names: on.map(([n]) => n), num: on.reduce((a, [, b]) => a + b, 0) };
}

// The fixture's pools and their share of its 89 PGs.
const FIXTURE_POOL_NAMES = ['cephfs_metadata', 'device_health_metrics', 'cephfs_data', 'rbd', 'anchor'];
const FIXTURE_PG_WEIGHTS = [8, 1, 32, 32, 16];
const OBJECT_BYTES = 4096;

/** Ceph's timestamp format: 2026-11-25T05:37:55.545474+0000 (whole microseconds, as utime_t prints). */
export function cephStamp(sec: number): string {
  const us = Math.floor(sec * 1e6);
  const d = new Date(Math.floor(us / 1e6) * 1000);
  const micros = String(us % 1e6).padStart(6, '0');
  return d.toISOString().slice(0, 19) + '.' + micros + '+0000';
}

function uuidFrom(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}

export class SimCluster {
  readonly fsid: string;
  readonly osds: SimOsd[] = [];
  readonly pools: SimPool[] = [];
  readonly pgs: SimPg[] = [];
  readonly hostCount: number;
  readonly monNames: string[];
  readonly seed: number;
  readonly createdAt: number;
  /** The OSD map epoch. */
  epoch: number;
  /** The fs map epoch (changes only when the file system changes). */
  fsEpoch = 4;
  modified: number;
  lastUpChange: number;
  lastInChange: number;
  crushVersion = 7;
  /** The OSD map's flags (noout, pauserd, ...), besides them the template's. */
  readonly osdFlags = new Set<string>(['sortbitwise', 'recovery_deletes', 'purged_snapdirs', 'pglog_hardlimit']);
  /** The monitors' configuration database, as `config set` leaves it. */
  readonly configDb: ConfigEntry[] = [];
  /** The OSD map's pg_upmap_items (`osd pg-upmap-items`): they change where PGs map. */
  readonly upmaps = new UpmapItems();
  readonly now: () => number;
  private readonly rand: () => number;
  private readonly opts: Required<Omit<ClusterOptions, 'now'>>;
  /** PG indexes whose current primary is each OSD. */
  private byPrimary: number[][] = [];
  /** Number of PGs each OSD holds (in the up set). */
  private pgCount: Int32Array;
  private readonly perfGen = new PerfValueGenerator(osdPerfSchema(), 7);
  private readonly perfGaugeIdx: Int32Array;
  private readonly perfGauges = new Float64Array(3);
  private eventTurn = 0;
  // What the metrics need beyond the maps (see "monitors' health, daemons' health metrics, pool fill" below).
  private readonly monsDown = new Set<string>();
  private readonly injectedChecks = new Map<string, SimHealthCheck>();
  private readonly slowOps = new Map<string, number>();
  /** Extra bytes clients wrote into a pool (fillPool), by pool id. */
  private readonly poolFill = new Map<number, number>();
  /** Per OSD, the fill bytes it stores (replicas included); null when to be recomputed. */
  private fillByOsd: Float64Array | null = null;

  constructor(options: ClusterOptions = {}) {
    const o = {
      osds: options.osds ?? 3,
      pools: options.pools ?? 5,
      pgs: options.pgs ?? 89,
      osdsPerHost: options.osdsPerHost ?? 10,
      mons: options.mons ?? 1,
      poolSize: options.poolSize ?? 3,
      seed: options.seed ?? 1,
      ioRate: options.ioRate ?? 100,
      osdBytes: options.osdBytes ?? 1024 ** 3,
      backfillSec: options.backfillSec ?? 10,
    };
    if (!Number.isInteger(o.osds) || o.osds < 1) throw new RangeError(`osds must be a whole number of at least 1, got ${o.osds}`);
    if (!Number.isInteger(o.pools) || o.pools < 1) throw new RangeError(`pools must be a whole number of at least 1, got ${o.pools}`);
    if (!Number.isInteger(o.pgs) || o.pgs < o.pools) throw new RangeError(`pgs must be a whole number of at least the pool count (${o.pools}), got ${o.pgs}`);
    if (!Number.isInteger(o.osdsPerHost) || o.osdsPerHost < 1) throw new RangeError(`osdsPerHost must be at least 1, got ${o.osdsPerHost}`);
    if (!Number.isInteger(o.mons) || o.mons < 1 || o.mons > 26) throw new RangeError(`mons must be between 1 and 26, got ${o.mons}`);
    if (!(o.ioRate >= 0)) throw new RangeError(`ioRate must not be negative, got ${o.ioRate}`);
    this.opts = o;
    this.perfGaugeIdx = Int32Array.from(['osd.numpg', 'osd.stat_bytes', 'osd.stat_bytes_used'], (p) => this.perfGen.indexOf(p));
    this.seed = o.seed;
    this.now = options.now ?? (() => Date.now() / 1000);
    this.rand = seededRandom(o.seed);
    this.fsid = uuidFrom(this.rand);
    this.createdAt = this.now() - 600; // the cluster was created ten minutes before the simulator started
    this.modified = this.createdAt + 120;
    this.lastUpChange = this.createdAt + 9;
    this.lastInChange = this.createdAt + 6;
    this.hostCount = Math.ceil(o.osds / o.osdsPerHost);
    this.monNames = Array.from({ length: o.mons }, (_, i) => String.fromCharCode(97 + i));
    this.pgCount = new Int32Array(o.osds);
    for (let i = 0; i < o.osds; i++) {
      this.osds.push({
        id: i,
        host: Math.floor(i / o.osdsPerHost),
        up: true,
        in: true,
        upFrom: 5,
        upThru: 26,
        downAt: 0,
        downStamp: 0,
        nonce: 1000 + Math.floor(this.rand() * 9e8),
        uuid: uuidFrom(this.rand),
        weight: 1,
      });
    }
    this.epoch = 26;
    const weights = Array.from({ length: o.pools }, (_, i) => FIXTURE_PG_WEIGHTS[i % FIXTURE_PG_WEIGHTS.length]);
    const pgNums = splitByWeight(o.pgs, weights);
    for (let i = 0; i < o.pools; i++)
      this.addPool(i < FIXTURE_POOL_NAMES.length ? FIXTURE_POOL_NAMES[i] : `pool${i + 1}`, pgNums[i], i % FIXTURE_POOL_NAMES.length);
    this.epoch = 27;
    this.reindex();
  }

  get osdCount(): number {
    return this.osds.length;
  }

  hostName(host: number): string {
    return this.hostCount === 1 ? 'vm' : `node${String(host).padStart(4, '0')}`;
  }

  /** The host's (never contacted) address: loopback-range strings only. */
  hostIp(host: number): string {
    return this.hostCount === 1 ? '127.0.0.1' : `127.${10 + (host >> 16)}.${(host >> 8) & 255}.${host & 255}`;
  }

  private osdPortBase(osd: SimOsd): number {
    return 6800 + 8 * (osd.id % this.opts.osdsPerHost);
  }

  private addPool(name: string, pgNum: number, template: number, sizeWanted = this.opts.poolSize): SimPool {
    const id = this.pools.length ? Math.max(...this.pools.map((p) => p.id)) + 1 : 1;
    const size = Math.min(sizeWanted, this.osds.length);
    const t = pacificTemplates().osd_map.pools[template] ?? pacificTemplates().osd_map.pools[0];
    const pool: SimPool = {
      id,
      name,
      pgNum,
      size,
      minSize: Math.min(size, Math.max(1, size - 1)),
      createdAt: this.now() - 500,
      lastChange: this.epoch,
      template,
      pgpNum: pgNum,
      crushRule: 0,
      flags: String(t.flags_names ?? 'hashpspool')
        .split(',')
        .filter(Boolean),
      quotaMaxBytes: 0,
      quotaMaxObjects: 0,
      autoscaleMode: t.pg_autoscale_mode ?? 'on',
      options: clone(t.options ?? {}),
      applications: clone(t.application_metadata ?? {}),
    };
    this.pools.push(pool);
    this.addPgs(pool, 0, pgNum);
    this.fixPgStates();
    return pool;
  }

  /** PGs ps = from..to-1 of a pool, placed and clean. */
  private addPgs(pool: SimPool, from: number, to: number): void {
    const share = this.opts.ioRate / this.opts.pgs;
    for (let ps = from; ps < to; ps++) {
      const acting = this.place(pool.id, ps, pool.size);
      this.pgs.push({
        pool: pool.id,
        ps,
        pgid: `${pool.id}.${ps.toString(16)}`,
        acting,
        up: acting.filter((x) => this.osds[x].up),
        state: 'active+clean',
        created: this.epoch,
        mappingEpoch: this.epoch,
        lastChangeStamp: this.createdAt + 130,
        lastCleanStamp: this.createdAt + 130,
        lastCleanEpoch: this.epoch,
        writeRate: share * (0.5 + (hash32(this.seed, pool.id * 100003 + ps) % 1000) / 1000),
        baseObjects: hash32(this.seed + 1, pool.id * 100003 + ps) % 200,
        lastScrubStamp: 0,
        lastDeepScrubStamp: 0,
        backfillFrom: 0,
        backfillUntil: 0,
      });
    }
  }

  /**
   * Deterministic CRUSH stand-in: `size` distinct OSDs, on distinct hosts
   * when there are enough, never an OSD that is out (weight 0): marking one
   * out moves only the PGs it held.
   */
  private place(pool: number, ps: number, size: number): number[] {
    const n = this.osds.length;
    const out: number[] = [];
    const hosts = new Set<number>();
    const usable = (o: number) => this.usable(o);
    const spreadHosts = this.hostCount >= size;
    for (let attempt = 0; out.length < size && attempt < 1000; attempt++) {
      const o = hash32(this.seed ^ (pool * 7919), ps * 131 + attempt) % n;
      if (out.includes(o) || !usable(o)) continue;
      if (spreadHosts && hosts.has(this.osds[o].host)) continue;
      out.push(o);
      hosts.add(this.osds[o].host);
    }
    for (let o = 0; out.length < size && o < n; o++) if (!out.includes(o) && usable(o)) out.push(o);
    return out;
  }

  /** An OSD PGs may map to: in, with a weight above 0. */
  private usable(o: number): boolean {
    return this.osds[o].in && this.osds[o].weight > 0;
  }

  /**
   * Places the PGs again (after OSDs went out or in, a pool's size or the
   * upmap items changed). A PG that moves backfills onto its new OSDs for a
   * while (backfillSec), as data moving would.
   */
  private replacePgs(): void {
    const sizes = new Map(this.pools.map((p) => [p.id, p.size]));
    const now = this.now();
    for (const pg of this.pgs) {
      const acting = this.upmaps.apply(pg.pgid, this.place(pg.pool, pg.ps, sizes.get(pg.pool) ?? 1), (o) => this.usable(o));
      if (acting.join(',') === pg.acting.join(',')) continue;
      pg.acting = acting;
      pg.mappingEpoch = this.epoch;
      pg.backfillFrom = now;
      pg.backfillUntil = now + this.opts.backfillSec * (0.5 + (hash32(this.seed + 2, pg.pool * 100003 + pg.ps + this.epoch) % 1000) / 1000);
      // let fixPgStates recompute up and state
      pg.up = [];
      pg.state = '';
    }
    this.fixPgStates();
    this.reindex();
  }

  /** Recomputes each PG's up set and state from the OSDs' up/down state. */
  private fixPgStates(): boolean {
    let changed = false;
    const now = this.now();
    for (const pg of this.pgs) {
      const up = pg.acting.filter((x) => this.osds[x].up);
      const pool = this.pools.find((p) => p.id === pg.pool)!;
      let state: string;
      if (pg.acting.length === 0) state = 'undersized+degraded+peered';
      else if (up.length === 0) state = 'stale+undersized+degraded+peered';
      else if (up.length < pool.size) state = up.length >= pool.minSize ? 'active+undersized+degraded' : 'undersized+degraded+peered';
      else state = 'active+clean';
      if (state !== pg.state || up.length !== pg.up.length) {
        pg.up = up;
        pg.state = state;
        pg.mappingEpoch = this.epoch;
        pg.lastChangeStamp = now;
        if (state === 'active+clean') {
          pg.lastCleanStamp = now;
          pg.lastCleanEpoch = this.epoch;
        }
        changed = true;
      }
    }
    return changed;
  }

  private reindex(): void {
    this.fillByOsd = null;
    this.byPrimary = Array.from({ length: this.osds.length }, () => []);
    this.pgCount.fill(0);
    this.pgs.forEach((pg, i) => {
      if (pg.up.length) this.byPrimary[pg.up[0]].push(i);
      for (const o of pg.up) this.pgCount[o]++;
    });
  }

  /** PGs whose primary is this OSD (the ones it reports). */
  pgsOfPrimary(osd: number): SimPg[] {
    return (this.byPrimary[osd] ?? []).map((i) => this.pgs[i]);
  }

  /** PGs this OSD holds. */
  pgCountOf(osd: number): number {
    return this.pgCount[osd] ?? 0;
  }

  // ---- events ----------------------------------------------------------

  private checkOsd(osd: number): SimOsd {
    const o = this.osds[osd];
    if (!Number.isInteger(osd) || !o) throw new RangeError(`no osd.${osd}: the cluster has osd.0 to osd.${this.osds.length - 1}`);
    return o;
  }

  /** Marks an OSD down: a new epoch; its PGs become undersized+degraded. */
  markOsdDown(osd: number): ClusterEvent {
    const o = this.checkOsd(osd);
    if (!o.up) throw new Error(`osd.${osd} is already down`);
    this.epoch++;
    const now = this.now();
    o.up = false;
    o.downAt = this.epoch;
    o.downStamp = now;
    this.modified = now;
    this.lastUpChange = now;
    this.fixPgStates();
    this.reindex();
    return { kind: 'osd_down', osd, epoch: this.epoch };
  }

  /** Marks an OSD up again: a new epoch; its PGs become clean again. */
  markOsdUp(osd: number): ClusterEvent {
    const o = this.checkOsd(osd);
    if (o.up) throw new Error(`osd.${osd} is already up`);
    this.epoch++;
    const now = this.now();
    o.up = true;
    o.upFrom = this.epoch;
    o.upThru = this.epoch;
    this.modified = now;
    this.lastUpChange = now;
    this.fixPgStates();
    this.reindex();
    return { kind: 'osd_up', osd, epoch: this.epoch };
  }

  /**
   * Creates a pool: a new epoch and pgNum new PGs. The rotation's pools copy
   * the fixture's rbd pool; `osd pool create` passes `size` and no
   * applications, as a fresh Ceph pool has none.
   */
  createPool(name?: string, pgNum = 8, opts: { size?: number; bare?: boolean } = {}): ClusterEvent {
    if (!Number.isInteger(pgNum) || pgNum < 1 || pgNum > 65536) throw new RangeError(`pg_num must be between 1 and 65536, got ${pgNum}`);
    const poolName = name ?? `pool${Math.max(...this.pools.map((p) => p.id)) + 1}`;
    if (this.pools.some((p) => p.name === poolName)) throw new Error(`pool '${poolName}' already exists`);
    this.epoch++;
    this.modified = this.now();
    const pool = this.addPool(poolName, pgNum, 3, opts.size);
    pool.createdAt = this.modified;
    pool.lastChange = this.epoch;
    if (opts.bare) {
      pool.applications = {};
      pool.options = {};
    }
    this.reindex();
    return { kind: 'pool_create', pool: pool.id, name: poolName, pgNum, epoch: this.epoch };
  }

  // ---- what the monitors' commands change (sim/monitor.ts) ---------------

  /** A new OSD map epoch for a change made now. */
  private bump(): number {
    this.epoch++;
    this.modified = this.now();
    return this.modified;
  }

  pool(name: string): SimPool | undefined {
    return this.pools.find((p) => p.name === name);
  }

  /** Marks OSDs in or out (weight 1 or 0 in the map); their PGs move. Returns whether anything changed. */
  setOsdsIn(osds: number[], isIn: boolean): boolean {
    const change = osds.map((id) => this.checkOsd(id)).filter((o) => o.in !== isIn);
    if (!change.length) return false;
    this.lastInChange = this.bump();
    for (const o of change) {
      o.in = isIn;
      o.weight = 1;
    }
    this.replacePgs();
    return true;
  }

  /** `osd reweight`: 0..1, kept as Ceph keeps it (16.16 fixed point); 0 moves the OSD's PGs away. */
  reweightOsd(osd: number, weight: number): number {
    const o = this.checkOsd(osd);
    if (!(weight >= 0 && weight <= 1)) throw new RangeError(`weight must be between 0 and 1, got ${weight}`);
    this.bump();
    o.weight = Math.round(weight * 0x10000) / 0x10000;
    this.replacePgs();
    return Math.round(weight * 0x10000);
  }

  /** Sets or clears OSD map flags; returns whether the map changed. */
  setOsdFlags(flags: string[], on: boolean): boolean {
    const change = flags.filter((f) => this.osdFlags.has(f) !== on);
    if (!change.length) return false;
    this.bump();
    for (const f of change) {
      if (on) this.osdFlags.add(f);
      else this.osdFlags.delete(f);
    }
    return true;
  }

  /** Changes a pool's properties in a new epoch; `replace` places its PGs again (size changes). */
  changePool(pool: SimPool, change: (p: SimPool) => void, replace = false): void {
    this.bump();
    change(pool);
    pool.lastChange = this.epoch;
    if (replace) this.replacePgs();
  }

  /** Sets a pool's pg_num (and pgp_num): PGs are added or removed at once. */
  setPoolPgNum(pool: SimPool, pgNum: number): void {
    if (!Number.isInteger(pgNum) || pgNum < 1 || pgNum > 65536) throw new RangeError(`pg_num must be between 1 and 65536, got ${pgNum}`);
    this.bump();
    if (pgNum > pool.pgNum) this.addPgs(pool, pool.pgNum, pgNum);
    else for (let i = this.pgs.length - 1; i >= 0; i--) if (this.pgs[i].pool === pool.id && this.pgs[i].ps >= pgNum) this.pgs.splice(i, 1);
    pool.pgNum = pgNum;
    pool.pgpNum = pgNum;
    pool.lastChange = this.epoch;
    this.fixPgStates();
    this.reindex();
  }

  /** Removes a pool and its PGs. */
  deletePool(pool: SimPool): void {
    if (this.pools.length === 1) throw new Error('the last pool cannot be removed');
    this.bump();
    this.upmaps.deletePool(pool.id);
    this.pools.splice(this.pools.indexOf(pool), 1);
    for (let i = this.pgs.length - 1; i >= 0; i--) if (this.pgs[i].pool === pool.id) this.pgs.splice(i, 1);
    this.reindex();
  }

  /** The PG of this id, if its pool has it. */
  pg(pgid: string): SimPg | undefined {
    return this.pgs.find((p) => p.pgid === pgid);
  }

  /** `osd pg-upmap-items`: the PG's pairs in a new epoch; the PG moves (and backfills) if they change its OSDs. */
  setPgUpmapItems(pgid: string, pairs: UpmapPair[]): void {
    this.bump();
    this.upmaps.set(pgid, pairs);
    this.replacePgs();
  }

  /** `osd rm-pg-upmap-items`: the PG maps where CRUSH puts it again. */
  clearPgUpmapItems(pgid: string): void {
    this.bump();
    this.upmaps.delete(pgid);
    this.replacePgs();
  }

  /** The pool ids the file system uses (they cannot be removed). */
  poolsInUseByFs(): number[] {
    const md = this.fsMap().filesystems[0].mdsmap;
    return [md.metadata_pool, ...md.data_pools];
  }

  /** An OSD scrubs the PGs it is primary of (MOSDScrub2): their scrub stamps move to t. */
  scrubOsd(osd: number, deep: boolean, t = this.now()): number {
    const pgs = this.pgsOfPrimary(osd);
    for (const pg of pgs) {
      pg.lastScrubStamp = t;
      if (deep) pg.lastDeepScrubStamp = t;
    }
    return pgs.length;
  }

  /** The value a daemon of type `type` gets for a config option: its section, its type's, then global. */
  configValue(name: string, type = 'mon'): string | undefined {
    for (const section of [type, 'global']) {
      const e = this.configDb.find((x) => x.section === section && x.name === name && !x.mask);
      if (e) return e.value;
    }
    return undefined;
  }

  /**
   * Moves the OSD map epoch up to at least `epoch` (when cluster-state
   * already holds a later epoch from an earlier run): the maps must grow.
   */
  advanceEpochTo(epoch: number): void {
    if (epoch > this.epoch) this.epoch = epoch;
  }

  /**
   * The next event of the simulator's rotation: an OSD goes down, comes back
   * up, another goes down, comes back, then a pool is created.
   */
  nextEvent(): ClusterEvent {
    const down = this.osds.find((o) => !o.up);
    if (down) return this.markOsdUp(down.id);
    const turn = this.eventTurn++;
    if (turn % 3 === 2) return this.createPool(undefined, 8);
    return this.markOsdDown(hash32(this.seed, turn) % this.osds.length);
  }

  // ---- maps ------------------------------------------------------------

  /** The OSD map as get("osd_map") gives it (mgrget-osd_map.json). */
  osdMap(): Record<string, any> {
    const t = pacificTemplates().osd_map;
    const osdT = t.osds[0];
    const xinfoT = t.osd_xinfo[0];
    const addr = (o: SimOsd, k: number) => {
      const ip = this.hostIp(o.host);
      const port = this.osdPortBase(o) + 2 * k;
      return {
        str: `${ip}:${port + 1}/${o.nonce}`,
        vec: {
          addrvec: [
            { addr: `${ip}:${port}`, nonce: o.nonce, type: 'v2' },
            { addr: `${ip}:${port + 1}`, nonce: o.nonce, type: 'v1' },
          ],
        },
      };
    };
    const osds = this.osds.map((o) => {
      const pub = addr(o, 0),
        clu = addr(o, 1),
        hbf = addr(o, 2),
        hbb = addr(o, 3);
      return {
        ...osdT,
        cluster_addr: clu.str,
        cluster_addrs: clu.vec,
        down_at: o.downAt,
        heartbeat_back_addr: hbb.str,
        heartbeat_back_addrs: hbb.vec,
        heartbeat_front_addr: hbf.str,
        heartbeat_front_addrs: hbf.vec,
        in: o.in ? 1 : 0,
        last_clean_begin: 0,
        last_clean_end: 0,
        lost_at: 0,
        osd: o.id,
        primary_affinity: 1.0,
        public_addr: pub.str,
        public_addrs: pub.vec,
        state: o.up ? ['exists', 'up'] : ['exists'],
        up: o.up ? 1 : 0,
        up_from: o.upFrom,
        up_thru: o.upThru,
        uuid: o.uuid,
        weight: o.in ? o.weight : 0,
      };
    });
    const osdXinfo = this.osds.map((o) => ({
      ...xinfoT,
      down_stamp: o.downStamp ? o.downStamp.toFixed(6) : '0.000000',
      last_purged_snaps_scrub: cephStamp(this.createdAt + 2),
      osd: o.id,
    }));
    const pools = this.pools.map((p) => {
      const pt = t.pools[p.template] ?? t.pools[0];
      const flags = flagsOf(p.flags, POOL_FLAG_BITS);
      return {
        ...clone(pt),
        application_metadata: clone(p.applications),
        create_time: cephStamp(p.createdAt),
        crush_rule: p.crushRule,
        flags: flags.num,
        flags_names: flags.names.join(','),
        last_change: String(p.lastChange),
        min_size: p.minSize,
        options: { ...clone(p.options), ...(p.compression ? { compression_mode: p.compression } : {}) },
        pg_autoscale_mode: p.autoscaleMode,
        pg_num: p.pgNum,
        pg_num_pending: p.pgNum,
        pg_num_target: p.pgNum,
        pg_placement_num: p.pgpNum,
        pg_placement_num_target: p.pgpNum,
        pool: p.id,
        pool_name: p.name,
        quota_max_bytes: p.quotaMaxBytes,
        quota_max_objects: p.quotaMaxObjects,
        size: p.size,
      };
    });
    const mapFlags = flagsOf(this.osdFlags, OSDMAP_FLAG_BITS);
    return {
      ...clone(t),
      blocklist: {},
      created: cephStamp(this.createdAt),
      crush_version: this.crushVersion,
      epoch: this.epoch,
      flags: mapFlags.names.join(','),
      flags_num: mapFlags.num,
      flags_set: [...mapFlags.names].sort(),
      fsid: this.fsid,
      last_in_change: cephStamp(this.lastInChange),
      last_up_change: cephStamp(this.lastUpChange),
      max_osd: this.osds.length,
      modified: cephStamp(this.modified),
      osd_xinfo: osdXinfo,
      osds,
      pool_max: Math.max(...this.pools.map((p) => p.id)),
      pools,
      pg_upmap_items: this.upmaps.dump(),
    };
  }

  /**
   * Where this epoch's OSD map puts each PG (what CRUSH and the upmap items
   * give; Ceph's OSDMapMapping): per pool, by placement seed, the up and
   * acting sets. Not a map Ceph has: the simulator's CRUSH results, which
   * the manager's stand-in OSDMap objects map PGs with.
   */
  pgMappings(): { epoch: number; pools: Record<string, { up: number[][]; acting: number[][] }> } {
    const pools: Record<string, { up: number[][]; acting: number[][] }> = {};
    for (const p of this.pools) pools[String(p.id)] = { up: [], acting: [] };
    for (const pg of this.pgs) {
      const m = pools[String(pg.pool)];
      m.up[pg.ps] = pg.up;
      m.acting[pg.ps] = pg.up;
    }
    return { epoch: this.epoch, pools };
  }

  /** The CRUSH map as get("osd_map_crush") gives it: hosts and their shadow (~hdd) trees. */
  crushMap(): Record<string, any> {
    const t = pacificTemplates().osd_map_crush;
    const w = Math.max(1, Math.round((this.opts.osdBytes / 1024 ** 4) * 0x10000));
    const hostItems: { id: number; pos: number; weight: number }[] = [];
    const shadowItems: { id: number; pos: number; weight: number }[] = [];
    const hostBuckets: any[] = [];
    const b = t.buckets[2];
    for (let h = 0; h < this.hostCount; h++) {
      const members = this.osds.filter((o) => o.host === h);
      const items = members.map((o, pos) => ({ id: o.id, pos, weight: w }));
      const weight = w * members.length;
      const id = -3 - 2 * h;
      hostBuckets.push({ ...b, id, items, name: this.hostName(h), weight });
      hostBuckets.push({ ...b, id: id - 1, items: items.map((x) => ({ ...x })), name: `${this.hostName(h)}~hdd`, weight });
      hostItems.push({ id, pos: h, weight });
      shadowItems.push({ id: id - 1, pos: h, weight });
    }
    const total = w * this.osds.length;
    const root = t.buckets[0];
    const rule = clone(t.rules[0]);
    if (this.hostCount > 1) rule.steps[1] = { num: 0, op: 'chooseleaf_firstn', type: 'host' };
    return {
      ...clone(t),
      buckets: [
        { ...root, id: -1, items: hostItems, name: 'default', weight: total },
        { ...root, id: -2, items: shadowItems, name: 'default~hdd', weight: total },
        ...hostBuckets,
      ],
      devices: this.osds.map((o) => ({ class: 'hdd', id: o.id, name: `osd.${o.id}` })),
      rules: [rule],
    };
  }

  /** The file-system map: one CephFS "cephfs" with MDS "a" active. */
  fsMap(): Record<string, any> {
    const t = clone(pacificTemplates().fs_map);
    const byName = (n: string, fallback: number) => this.pools.find((p) => p.name === n)?.id ?? fallback;
    const fs = t.filesystems[0].mdsmap;
    fs.metadata_pool = byName('cephfs_metadata', this.pools[0].id);
    fs.data_pools = [byName('cephfs_data', this.pools[this.pools.length > 1 ? 1 : 0].id)];
    fs.created = cephStamp(this.createdAt + 10);
    fs.modified = cephStamp(this.createdAt + 11);
    const info = fs.info.gid_4131;
    const ip = this.hostIp(0);
    info.addr = `${ip}:6827/304231124`;
    info.addrs = {
      addrvec: [
        { addr: `${ip}:6826`, nonce: 304231124, type: 'v2' },
        { addr: `${ip}:6827`, nonce: 304231124, type: 'v1' },
      ],
    };
    t.epoch = this.fsEpoch;
    fs.epoch = this.fsEpoch;
    return t;
  }

  /** The leader's mon_status (`ceph mon_status`): every monitor up is in quorum. */
  monStatus(monMapEpoch: number): Record<string, any> {
    const ranks = this.monNames.map((_, rank) => rank).filter((rank) => !this.monsDown.has(this.monNames[rank]));
    const leader = ranks.length ? ranks[0] : 0;
    return {
      name: this.monNames[leader],
      rank: leader,
      state: 'leader',
      election_epoch: 3 + 2 * this.monElections,
      quorum: ranks,
      quorum_age: Math.max(0, Math.floor(Date.now() / 1000 - this.createdAt)),
      features: {
        required_con: '2449958747317026820',
        required_mon: ['kraken', 'luminous', 'mimic', 'osdmap-prune', 'nautilus', 'octopus', 'pacific', 'elector-pinging'],
        quorum_con: '4540138314316775423',
        quorum_mon: ['kraken', 'luminous', 'mimic', 'osdmap-prune', 'nautilus', 'octopus', 'pacific', 'elector-pinging'],
      },
      outside_quorum: this.monNames.filter((n) => this.monsDown.has(n)),
      extra_probe_peers: [],
      sync_provider: [],
      monmap: { ...this.monMap(), epoch: monMapEpoch },
      feature_map: {},
      stretch_mode: false,
    };
  }

  /** The monitor map: mons a, b, c... on the first hosts. */
  monMap(): Record<string, any> {
    const t = clone(pacificTemplates().mon_map);
    const monT = t.mons[0];
    t.fsid = this.fsid;
    t.created = t.modified = new Date(this.createdAt * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    t.mons = this.monNames.map((name, rank) => {
      const ip = this.hostIp(rank % this.hostCount);
      const port = 40000 + 2 * rank;
      return {
        ...monT,
        addr: `${ip}:${port + 1}/0`,
        name,
        public_addr: `${ip}:${port + 1}/0`,
        public_addrs: {
          addrvec: [
            { addr: `${ip}:${port}`, nonce: 0, type: 'v2' },
            { addr: `${ip}:${port + 1}`, nonce: 0, type: 'v1' },
          ],
        },
        rank,
      };
    });
    return t;
  }

  /** The service map; with rgw, one rgw daemon "gw1" (what the mgr's service map would hold). */
  serviceMap(epoch = 2, withRgw = true): Record<string, any> {
    const t = clone(pacificTemplates().service_map);
    t.epoch = epoch;
    t.modified = cephStamp(this.createdAt + 114);
    if (withRgw) {
      t.services = {
        rgw: {
          daemons: {
            summary: '',
            gw1: {
              start_epoch: 2,
              start_stamp: cephStamp(this.createdAt + 110),
              gid: 4235,
              addr: `${this.hostIp(0)}:0/2871636`,
              metadata: this.rgwMetadata(),
              task_status: {},
            },
          },
          summary: '',
        },
      };
    }
    return t;
  }

  private hostMetadata(host: number): Record<string, string> {
    const t = pacificTemplates().mds_metadata;
    const out: Record<string, string> = {};
    for (const k of [
      'arch',
      'ceph_release',
      'ceph_version',
      'ceph_version_short',
      'container_name',
      'cpu',
      'distro',
      'distro_description',
      'distro_version',
      'kernel_description',
      'kernel_version',
      'mem_swap_kb',
      'mem_total_kb',
      'os',
    ])
      out[k] = t[k];
    out.hostname = this.hostName(host);
    return out;
  }

  /** One OSD's metadata (get_metadata("osd", id)). */
  osdMetadataOf(id: number): Record<string, string> {
    const o = this.checkOsd(id);
    const t = pacificTemplates().osd_metadata;
    const ip = this.hostIp(o.host);
    const p = this.osdPortBase(o);
    const a = (k: number) => `[v2:${ip}:${p + 2 * k}/${o.nonce},v1:${ip}:${p + 2 * k + 1}/${o.nonce}]`;
    return {
      ...t,
      ...this.hostMetadata(o.host),
      ...bluestoreMetadata({ seed: this.seed, osd: id, indexOnHost: id % this.opts.osdsPerHost, bytes: this.opts.osdBytes }),
      back_addr: a(1),
      front_addr: a(0),
      hb_back_addr: a(3),
      hb_front_addr: a(2),
      created_at: new Date(this.createdAt * 1000).toISOString(),
      osd_data: `/var/lib/ceph/osd/ceph-${id}`,
      hostname: this.hostName(o.host),
    };
  }

  /** get("osd_metadata"): {"0": {...}, ...}. */
  osdMetadata(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const o of this.osds) out[String(o.id)] = this.osdMetadataOf(o.id);
    return out;
  }

  /** get("mds_metadata"): {"a": {...}}. */
  mdsMetadata(): Record<string, Record<string, string>> {
    const t = pacificTemplates().mds_metadata;
    const ip = this.hostIp(0);
    return { a: { ...t, ...this.hostMetadata(0), addr: `[v2:${ip}:6826/304231124,v1:${ip}:6827/304231124]` } };
  }

  /** Monitor metadata: {"a": {...}, ...} (each as get_metadata("mon", name)). */
  monMetadata(): Record<string, Record<string, string>> {
    const t = pacificTemplates().mon_metadata_a;
    const out: Record<string, Record<string, string>> = {};
    this.monNames.forEach((name, rank) => {
      const host = rank % this.hostCount;
      const ip = this.hostIp(host);
      out[name] = { ...t, ...this.hostMetadata(host), addrs: `[v2:${ip}:${40000 + 2 * rank}/0,v1:${ip}:${40001 + 2 * rank}/0]` };
    });
    return out;
  }

  /** The rgw service daemon's metadata. */
  rgwMetadata(): Record<string, string> {
    return {
      ...this.hostMetadata(0),
      frontend_type: 'beast',
      frontend_config: 'beast port=7480',
      id: 'gw1',
      zone_name: 'default',
      zonegroup_name: 'default',
      num_handles: '1',
    };
  }

  // ---- monitors' health, daemons' health metrics, pool fill ---------------
  // What the alert rules watch beyond the maps: the monitors' own health
  // checks (the `health_mon` map: MON_DOWN, the OSD and pool fullness checks,
  // any other check a test raises), the health metrics every daemon reports
  // with its MMgrReport (SLOW_OPS, PENDING_CREATING_PGS), and pools that fill up.

  private monElections = 0;

  private checkMon(name: string): void {
    if (!this.monNames.includes(name)) throw new RangeError(`no mon.${name}: the cluster has mon.${this.monNames.join(', mon.')}`);
  }

  /** A monitor stops: it leaves the quorum (an election) and the monitors raise MON_DOWN. */
  markMonDown(name: string): void {
    this.checkMon(name);
    if (this.monsDown.has(name)) throw new Error(`mon.${name} is already down`);
    if (this.monNames.length - this.monsDown.size - 1 < Math.floor(this.monNames.length / 2) + 1)
      throw new Error(`stopping mon.${name} would lose the quorum (${this.monNames.length} monitors); the simulator keeps a majority`);
    this.monsDown.add(name);
    this.monElections++;
  }

  /** A monitor comes back and rejoins the quorum. */
  markMonUp(name: string): void {
    this.checkMon(name);
    if (!this.monsDown.has(name)) throw new Error(`mon.${name} is not down`);
    this.monsDown.delete(name);
    this.monElections++;
  }

  /** Raises (or replaces) a monitor health check the simulator does not model itself, e.g. MON_CLOCK_SKEW. */
  raiseHealthCheck(code: string, severity: 'HEALTH_WARN' | 'HEALTH_ERR', message: string, detail: string[] = []): void {
    if (!/^[A-Z0-9_]+$/.test(code)) throw new RangeError(`health check code '${code}' must be upper-case letters, digits and _`);
    this.injectedChecks.set(code, {
      severity,
      summary: { message, count: Math.max(1, detail.length) },
      detail: detail.map((m) => ({ message: m })),
      muted: false,
    });
  }

  clearHealthCheck(code: string): void {
    this.injectedChecks.delete(code);
  }

  /** Sets how many slow ops a daemon (osd.N or mon.X) reports; 0 clears them. */
  setSlowOps(daemon: string, count: number): void {
    const m = /^(osd|mon)\.(.+)$/.exec(daemon);
    if (!m) throw new RangeError(`slow ops are reported by OSDs and monitors (osd.N, mon.X), not '${daemon}'`);
    if (m[1] === 'osd') this.checkOsd(Number(m[2]));
    else this.checkMon(m[2]);
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`slow ops must be a whole number of at least 0, got ${count}`);
    if (count) this.slowOps.set(daemon, count);
    else this.slowOps.delete(daemon);
  }

  /**
   * The health metrics a daemon sends with each report (Ceph's
   * OSD::get_health_metrics: SLOW_OPS and PENDING_CREATING_PGS; a monitor:
   * SLOW_OPS); none for other daemons.
   */
  daemonHealthMetrics(daemon: string): Array<{ type: string; value: number }> {
    const slow = this.slowOps.get(daemon) ?? 0;
    if (daemon.startsWith('osd.'))
      return [
        { type: 'SLOW_OPS', value: slow },
        { type: 'PENDING_CREATING_PGS', value: 0 },
      ];
    if (daemon.startsWith('mon.')) return [{ type: 'SLOW_OPS', value: slow }];
    return [];
  }

  /**
   * Clients write `bytes` more into a pool (its replicas land on the OSDs of
   * its PGs); a negative number deletes. The OSDs fill up, and past the osd
   * map's ratios the monitors raise OSD_NEARFULL, OSD_BACKFILLFULL, OSD_FULL
   * and the matching POOL_* checks.
   */
  fillPool(poolId: number, bytes: number): void {
    const pool = this.pools.find((p) => p.id === poolId);
    if (!pool) throw new RangeError(`no pool ${poolId}: pools are ${this.pools.map((p) => p.id).join(', ')}`);
    if (!Number.isFinite(bytes)) throw new RangeError(`bytes must be a number, got ${bytes}`);
    const next = Math.max(0, (this.poolFill.get(poolId) ?? 0) + Math.trunc(bytes));
    if (next) this.poolFill.set(poolId, next);
    else this.poolFill.delete(poolId);
    this.fillByOsd = null;
  }

  /** Fill bytes stored on one OSD. */
  private fillOf(osd: number): number {
    if (!this.poolFill.size) return 0;
    if (!this.fillByOsd) {
      const f = new Float64Array(this.osds.length);
      const perPg = new Map<number, number>();
      for (const p of this.pools) if (this.poolFill.has(p.id)) perPg.set(p.id, this.poolFill.get(p.id)! / p.pgNum);
      for (const pg of this.pgs) {
        const share = perPg.get(pg.pool);
        if (share) for (const o of pg.up) f[o] += share;
      }
      this.fillByOsd = f;
    }
    return this.fillByOsd[osd] ?? 0;
  }

  /**
   * The monitors' health at time t, as the `health_mon` map carries it:
   * MON_DOWN, the fullness checks of OSDMap::check_health (OSDs against the
   * osd map's nearfull/backfillfull/full ratios, and the pools on them),
   * OSDMAP_FLAGS (the flags an operator set), POOL_NO_REDUNDANCY (pools of
   * size 1) and the raised checks. OSD_DOWN and the PG checks are the
   * manager's to derive.
   */
  monHealth(t = this.now()): { status: string; checks: Record<string, SimHealthCheck>; mutes: unknown[] } {
    const checks: Record<string, SimHealthCheck> = {};
    const add = (code: string, severity: SimHealthCheck['severity'], message: string, detail: string[]) =>
      (checks[code] = { severity, summary: { message, count: detail.length }, detail: detail.map((m) => ({ message: m })), muted: false });
    if (this.monsDown.size) {
      const quorum = this.monNames.filter((n) => !this.monsDown.has(n));
      const mons = this.monMap().mons as Array<{ name: string; rank: number; public_addrs: { addrvec: Array<{ type: string; addr: string; nonce: number }> } }>;
      add(
        'MON_DOWN',
        'HEALTH_WARN',
        `${this.monsDown.size}/${this.monNames.length} mons down, quorum ${quorum.join(',')}`,
        mons
          .filter((m) => this.monsDown.has(m.name))
          .map(
            (m) =>
              `mon.${m.name} (rank ${m.rank}) addr [${m.public_addrs.addrvec.map((a) => `${a.type}:${a.addr}/${a.nonce}`).join(',')}] is down (out of quorum)`,
          ),
      );
    }
    const t0 = pacificTemplates().osd_map;
    const ratios: Array<[string, number, string, string]> = [
      ['FULL', t0.full_ratio ?? 0.95, 'full', 'full (no space)'],
      ['BACKFILLFULL', t0.backfillfull_ratio ?? 0.9, 'backfillfull', 'backfillfull'],
      ['NEARFULL', t0.nearfull_ratio ?? 0.85, 'near full', 'nearfull'],
    ];
    const state = new Map<number, number>(); // osd -> index into ratios
    for (const o of this.osds) {
      if (!o.up) continue;
      const used = this.osdUsedBytes(o.id, t) / this.opts.osdBytes;
      const i = ratios.findIndex(([, r]) => used >= r);
      if (i >= 0) state.set(o.id, i);
    }
    ratios.forEach(([name, , osdWord, poolWord], i) => {
      const osds = [...state].filter(([, k]) => k === i).map(([o]) => o);
      if (!osds.length) return;
      const severity = name === 'FULL' ? 'HEALTH_ERR' : 'HEALTH_WARN';
      add(
        `OSD_${name}`,
        severity,
        `${osds.length} ${name.toLowerCase()} osd(s)`,
        osds.map((o) => `osd.${o} is ${osdWord}`),
      );
      const on = new Set(osds);
      const pools = this.pools.filter((p) => this.pgs.some((pg) => pg.pool === p.id && pg.up.some((o) => on.has(o) && state.get(o) === i)));
      if (pools.length)
        add(
          `POOL_${name}`,
          'HEALTH_WARN',
          `${pools.length} pool(s) ${name.toLowerCase()}`,
          pools.map((p) => `pool '${p.name}' is ${poolWord}`),
        );
    });
    // The flags an operator set (osd set noout, ...) and pools without replicas.
    const flags = flagsOf(
      [...this.osdFlags].filter((f) => !['sortbitwise', 'recovery_deletes', 'purged_snapdirs', 'pglog_hardlimit'].includes(f)),
      OSDMAP_FLAG_BITS,
    ).names;
    if (flags.length) add('OSDMAP_FLAGS', 'HEALTH_WARN', `${flags.join(',')} flag(s) set`, []);
    if (checks.OSDMAP_FLAGS) checks.OSDMAP_FLAGS.summary.count = flags.length;
    const single = this.pools.filter((p) => p.size === 1);
    if (single.length)
      add(
        'POOL_NO_REDUNDANCY',
        'HEALTH_WARN',
        `${single.length} pool(s) have no replicas configured`,
        single.map((p) => `pool '${p.name}' has no replicas configured`),
      );
    for (const [code, c] of this.injectedChecks) checks[code] = c;
    let status = 'HEALTH_OK';
    for (const c of Object.values(checks)) status = c.severity === 'HEALTH_ERR' || status === 'HEALTH_ERR' ? 'HEALTH_ERR' : 'HEALTH_WARN';
    return { status, checks, mutes: [] };
  }

  /**
   * Turns BlueStore compression on for a pool (`ceph osd pool set <pool>
   * compression_mode <mode>`): a new epoch; its data then compresses to
   * half ('none' turns it off).
   */
  setPoolCompression(poolId: number, mode: 'none' | 'passive' | 'aggressive' | 'force'): ClusterEvent {
    const pool = this.pools.find((p) => p.id === poolId);
    if (!pool) throw new RangeError(`no pool ${poolId}: pools are ${this.pools.map((p) => p.id).join(', ')}`);
    if (!['none', 'passive', 'aggressive', 'force'].includes(mode))
      throw new RangeError(`compression_mode must be none, passive, aggressive or force, got '${mode}'`);
    this.epoch++;
    this.modified = this.now();
    pool.compression = mode === 'none' ? undefined : mode;
    pool.lastChange = this.epoch;
    return { kind: 'pool_set', pool: pool.id, key: 'compression_mode', value: mode, epoch: this.epoch };
  }

  /** store_statfs_t's compression fields for a pool's bytes on one OSD. */
  private compressedStats(poolId: number, bytes: number): Record<string, number> {
    const pool = this.pools.find((p) => p.id === poolId);
    if (!pool?.compression) return {};
    const original = Math.floor(bytes * 0.8);
    return { data_compressed_original: original, data_compressed_allocated: Math.floor(original / 2), data_compressed: Math.floor(original / 2) - 4096 };
  }

  /** The RBD images of the pools with the rbd application and their I/O counters at time t (the `rbd_image_stats` map). */
  rbdImageStats(t = this.now()): RbdImageStats {
    const templates = pacificTemplates().osd_map.pools;
    return rbdImageStats({
      seed: this.seed,
      pools: this.pools.map((p) => ({ id: p.id, name: p.name, applications: Object.keys((templates[p.template] ?? templates[0]).application_metadata ?? {}) })),
      elapsed: this.elapsed(t),
      stamp: t,
    });
  }

  // ---- statistics --------------------------------------------------------

  /** Elapsed simulated seconds at time t. */
  private elapsed(t: number): number {
    return Math.max(0, t - this.createdAt);
  }

  /**
   * What changes in a PG's stats from one report to the next at time t (the
   * rest changes only with events): the growing counts, and which stamps
   * read "now". pgStat() is built on it; so is the load generator's encoder
   * (sim/pg-report.ts), which writes only these per report.
   */
  pgDynamic(pg: SimPg, t: number): PgDynamic {
    const dt = this.elapsed(t);
    const writes = Math.floor(pg.writeRate * dt);
    const reads = Math.floor(2 * pg.writeRate * dt);
    const pool = this.pools.find((p) => p.id === pg.pool)!;
    const fillBytes = Math.floor((this.poolFill.get(pool.id) ?? 0) / pool.pgNum);
    const objects = pg.baseObjects + Math.floor(writes / 4) + Math.floor(fillBytes / OBJECT_BYTES);
    const missing = pool.size - pg.up.length;
    // Backfilling onto the OSDs it moved to: one replica misplaced, recovered bit by bit.
    const backfill = pg.state === 'active+clean' && t < pg.backfillUntil;
    const state = backfill ? 'active+remapped+backfilling' : pg.state;
    const moved = pg.backfillUntil > pg.backfillFrom ? Math.min(1, (t - pg.backfillFrom) / (pg.backfillUntil - pg.backfillFrom)) : 0;
    const now: PgDynamic['now'] = ['last_fresh', 'last_peered', 'last_unstale'];
    if (state.startsWith('active')) now.push('last_active');
    if (state === 'active+clean') now.push('last_clean');
    if (!missing) now.push('last_fullsized', 'last_undegraded');
    return {
      state,
      writes,
      logSize: Math.min(writes, 3000),
      reportedSeq: 35 + Math.floor(dt / 5),
      statSum: {
        num_bytes: (objects - Math.floor(fillBytes / OBJECT_BYTES)) * OBJECT_BYTES + fillBytes,
        num_object_copies: objects * pool.size,
        num_objects: objects,
        num_objects_degraded: objects * missing,
        num_objects_misplaced: backfill ? Math.ceil(objects * (1 - moved)) : 0,
        num_objects_recovered: pg.backfillUntil ? Math.floor(objects * moved) : 0,
        num_bytes_recovered: pg.backfillUntil ? Math.floor(objects * moved) * OBJECT_BYTES : 0,
        num_objects_dirty: objects,
        num_read: reads,
        num_read_kb: reads * 4,
        num_write: writes,
        num_write_kb: writes * 4,
      },
      now,
    };
  }

  /** One PG's pg_stat_t at time t (seconds since the Unix epoch). */
  pgStat(pg: SimPg, t: number): Record<string, any> {
    const tpl = pacificTemplates().pg_stat;
    const d = this.pgDynamic(pg, t);
    const pool = this.pools.find((p) => p.id === pg.pool)!;
    const changed = cephStamp(pg.lastChangeStamp);
    const out: Record<string, any> = {
      ...tpl,
      acting: pg.up,
      acting_primary: pg.up.length ? pg.up[0] : -1,
      created: pg.created,
      last_active: changed,
      last_became_active: changed,
      last_became_peered: changed,
      last_change: changed,
      last_clean: cephStamp(pg.lastCleanStamp),
      last_clean_scrub_stamp: cephStamp(pg.lastScrubStamp || this.createdAt + 130),
      last_deep_scrub_stamp: cephStamp(pg.lastDeepScrubStamp || this.createdAt + 10),
      last_epoch_clean: pg.lastCleanEpoch,
      last_fresh: changed,
      last_fullsized: changed,
      last_peered: changed,
      last_scrub_stamp: cephStamp(pg.lastScrubStamp || this.createdAt + 130),
      last_undegraded: changed,
      last_unstale: changed,
      log_size: d.logSize,
      ondisk_log_size: d.logSize,
      mapping_epoch: pg.mappingEpoch,
      parent_split_bits: Math.max(0, Math.ceil(Math.log2(pool.pgNum))),
      pgid: pg.pgid,
      reported_epoch: this.epoch,
      reported_seq: d.reportedSeq,
      stat_sum: { ...tpl.stat_sum, ...d.statSum },
      state: d.state,
      up: pg.up,
      up_primary: pg.up.length ? pg.up[0] : -1,
      version: `${pg.mappingEpoch}'${d.writes}`,
    };
    const stamp = cephStamp(t);
    for (const k of d.now) out[k] = stamp;
    return out;
  }

  /** Bytes this OSD stores at time t (every PG replica it holds). */
  private osdUsedBytes(osd: number, t: number): number {
    const dt = this.elapsed(t);
    // average PG size times PGs held: cheap, and grows with the write rate
    const perPg = (((this.opts.ioRate / this.opts.pgs) * dt) / 4) * OBJECT_BYTES + 100 * OBJECT_BYTES;
    // Ordinary writes level off at 90%; only fillPool takes an OSD beyond.
    const base = Math.min(this.opts.osdBytes * 0.9, 60 * 1024 * 1024 + this.pgCountOf(osd) * perPg);
    return Math.floor(Math.min(this.opts.osdBytes, base + this.fillOf(osd)));
  }

  /** One OSD's osd_stat_t at time t. */
  osdStat(osd: number, t: number): Record<string, any> {
    const tpl = pacificTemplates().osd_stat;
    const o = this.checkOsd(osd);
    const used = this.osdUsedBytes(osd, t);
    const total = this.opts.osdBytes;
    // heartbeat peers: the OSDs it shares PGs with (at most 10, as a real OSD's list is bounded too)
    const peers = new Set<number>();
    for (const i of this.byPrimary[osd] ?? []) {
      for (const p of this.pgs[i].up) if (p !== osd && peers.size < 10) peers.add(p);
      if (peers.size >= 10) break;
    }
    return {
      ...tpl,
      hb_peers: [...peers].sort((a, b) => a - b),
      kb: Math.floor(total / 1024),
      kb_avail: Math.floor((total - used) / 1024),
      kb_used: Math.floor(used / 1024),
      num_pgs: this.pgCountOf(osd),
      osd,
      seq: o.upFrom * 2 ** 32 + Math.floor(this.elapsed(t) / 5),
      statfs: { ...tpl.statfs, available: Math.floor(total - used), total },
      up_from: o.upFrom,
    };
  }

  /**
   * What one OSD sends as MPGStats at time t: {"pg_stat": {pgid: pg_stat_t}
   * for the PGs it is primary of, "osd_stat": osd_stat_t, "pool_stat":
   * {poolid: store_statfs_t}}.
   */
  osdPgStats(osd: number, t: number): { epoch: number; pg_stat: Record<string, any>; osd_stat: Record<string, any>; pool_stat: Record<string, any> } {
    const pgStat: Record<string, any> = {};
    const poolBytes = new Map<number, number>();
    for (const pg of this.pgsOfPrimary(osd)) {
      const s = this.pgStat(pg, t);
      pgStat[pg.pgid] = s;
      poolBytes.set(pg.pool, (poolBytes.get(pg.pool) ?? 0) + s.stat_sum.num_bytes);
    }
    const storeT = pacificTemplates().pool_stat.store_stats;
    const poolStat: Record<string, any> = {};
    for (const [pool, bytes] of poolBytes) poolStat[String(pool)] = { ...storeT, allocated: bytes, data_stored: bytes, ...this.compressedStats(pool, bytes) };
    return { epoch: this.epoch, pg_stat: pgStat, osd_stat: this.osdStat(osd, t), pool_stat: poolStat };
  }

  /** Counts of PG states, e.g. {"active+clean": 89}. */
  pgStateCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const pg of this.pgs) out[pg.state] = (out[pg.state] ?? 0) + 1;
    return out;
  }

  // ---- perf counters -----------------------------------------------------

  /**
   * The packed values of osdPerfSchema() for one OSD at time t (seconds since
   * the Unix epoch). Returns a shared array, valid until the next call.
   */
  osdPerfValues(osd: number, t: number): number[] {
    const g = this.perfGauges;
    g[0] = this.pgCountOf(osd);
    g[1] = this.opts.osdBytes;
    g[2] = this.osdUsedBytes(osd, t);
    return this.perfGen.values(this.elapsed(t), 0.5 + (hash32(this.seed, osd) % 100) / 100, g, this.perfGaugeIdx);
  }
}

/** Splits total into integer parts proportional to weights, each at least 1. */
export function splitByWeight(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const out = weights.map((w) => Math.max(1, Math.floor((total * w) / sum)));
  let diff = total - out.reduce((a, b) => a + b, 0);
  for (let i = 0; diff !== 0; i = (i + 1) % out.length) {
    if (diff > 0) {
      out[i]++;
      diff--;
    } else if (out[i] > 1) {
      out[i]--;
      diff++;
    }
  }
  return out;
}
