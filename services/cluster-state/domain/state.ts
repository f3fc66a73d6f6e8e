// ClusterState: the maps, the modules' store and the change feed, and the
// Get views built from them. No gRPC here: grpc.ts maps StateError kinds to
// status codes.
import { pgHealthChecks, scrubCutoffs } from './pg-health';
import { ChangeFeed } from './events';
import { StateError, invalid } from './errors';
import { ClusterMaps, MAP_NAMES } from './maps';
import type { KvStore } from './kvstore';
import { View, ViewCache, jsonBytes } from './views';
import type { OsdMap, FsMap, DaemonReport, QueryDaemonsRequest, ClusterLogEntry } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { DaemonQueryKind } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { HealthSeverity, type HealthCheck } from '../../../lib/gen/ceph/mgr/v1/common';
import { RefusedCheck, screenHealthChecks } from '../../../lib/health-checks';
import { PgMap, dumpPoolStat, clientIoRates, recoveryRates, recoveryInfo, cephTime } from './pgmap';
import type { StagedReport } from './pg-decode';
import { DaemonIndex, PRIO_USEFUL, RawJson, splitDaemonName } from './daemons';
import { synthesiseCrush, osdTree } from './crush';
import { deviceList } from './devices';
import { STAT_SUM_KEYS } from '../../../lib/pgstats-json';

const NUM_BYTES = STAT_SUM_KEYS.indexOf('num_bytes');
const NUM_BYTES_RECOVERED = STAT_SUM_KEYS.indexOf('num_bytes_recovered');

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;

interface CheckJson {
  severity: 'HEALTH_WARN' | 'HEALTH_ERR';
  summary: { message: string; count: number };
  detail: Array<{ message: string }>;
  muted: boolean;
}

/** a / b in single precision, as Ceph's float ratios. */
const f32ratio = (a: number, b: number) => Math.fround(Math.fround(a) / Math.fround(b));

/** Derived checks the monitors raise themselves: never reported to them as a manager's. */
const MONITOR_CHECKS = new Set(['OSD_DOWN']);

/** How often, at most, health is recomputed after pg-stats batches. */
const PG_HEALTH_EVERY_MS = 1000;

/** How many cluster-log entries are kept in memory. */
const CLOG_KEPT = 1000;

/** One OSD's pg stats as IngestPgStats carries them (the report still encoded). */
export interface PgStatsEntry {
  osd: number;
  epoch: number;
  stamp: number;
  /** An encoded PgStatsReport. */
  report?: Uint8Array;
  /** The deprecated JSON form (refused). */
  json?: Uint8Array;
}

export interface StateOptions {
  watchBacklog: number;
  maxKeyBytes: number;
  maxValueBytes: number;
}

export class ClusterState {
  readonly feed: ChangeFeed;
  readonly views = new ViewCache();
  readonly pg = new PgMap();
  readonly daemons = new DaemonIndex();
  /** source -> its checks, as SetHealthChecks last set them. */
  private healthSources = new Map<string, Map<string, CheckJson>>();
  /** Bumped on every SetHealthChecks: the health_mgr view's cache key. */
  private healthSourcesVersion = 0;
  private healthJson = '';
  private healthVersion = 0;
  private healthStatus = 'HEALTH_OK';
  private healthChecks: Record<string, CheckJson> = {};
  readonly clog: Array<Json> = [];
  /** Sequence number of the last cluster-log entry (Ceph's LogEntry seq). */
  private clogSeq = 0;
  private clogVersion = 0;

  constructor(
    readonly maps: ClusterMaps,
    readonly kv: KvStore,
    readonly opts: StateOptions,
  ) {
    this.feed = new ChangeFeed(opts.watchBacklog);
    this.defineMapViews();
    this.defineDerivedViews();
    this.refreshHealth(false);
  }

  // ---- maps ----

  putMap(name: string, epoch: number, json: Uint8Array): { epoch: number; seq: number } {
    // The CRUSH map may be put under the get() name of its view too.
    if (name === 'osd_map_crush') name = 'crush_map';
    const stored = this.maps.put(name, epoch, json);
    const seq = this.feed.publish(name, '', stored.epoch);
    if (name === 'osd_map') {
      const pools = new Map<number, number>(((stored.parsed as Json).pools ?? []).map((p: Json) => [p.pool, p.pg_num ?? Infinity]));
      const up = new Set<number>(((stored.parsed as Json).osds ?? []).filter((o: Json) => o.up).map((o: Json) => o.osd));
      const pruned = this.pg.size > 0 && this.pg.prunePools(pools);
      const staled = this.pg.size > 0 && this.pg.markStale((osd) => up.has(osd));
      if (pruned || staled) this.feed.publish('pg_summary', '', this.pg.version);
    }
    if (name === 'osd_map' || name === 'health_mon') this.refreshHealth(true);
    return { epoch: stored.epoch, seq };
  }

  /** What a Ceph module gets from self.get(what). */
  get(what: string): { bytes: Buffer; epoch: number } {
    this.checkView(what);
    return this.views.get(what)!;
  }

  /** get(what) as an encoded GetResponse, built once per version of the view. */
  getResponse(what: string): Buffer {
    this.checkView(what);
    return this.views.response(what)!;
  }

  private checkView(what: string): void {
    if (!what) throw invalid(`'what' is empty; one of: ${this.views.names().join(', ')}`);
    if (!this.views.has(what)) throw new StateError('not_found', `unknown get('${what}'); valid names: ${this.views.names().join(', ')}`);
  }

  /** A map stored as-is; missing maps that have a natural empty form get it. */
  private defineMapViews(): void {
    const emptyForms: Record<string, unknown> = {
      osd_metadata: {},
      mds_metadata: {},
      mon_metadata: {},
      service_map: { epoch: 0, modified: '', services: {} },
      config: {},
      mon_config: { options: [] },
      rbd_image_stats: { stamp: 0, pools: [] },
      progress_events: {},
    };
    // The monitors' mon_status reaches modules as a JSON string, as in Ceph's digest.
    const wrapped = new Set(['mon_status']);
    for (const name of MAP_NAMES) {
      if (name === 'health_mon' || name === 'crush_map' || name === 'osd_ping_times' || name === 'devices') continue;
      const view: View = {
        key: () => (name === 'service_map' ? `${this.maps.version(name)}/${this.daemons.version}` : String(this.maps.version(name))),
        epoch: () => this.maps.epoch(name),
        build: () => {
          const m = this.maps.get(name);
          if (!m) {
            // Without a put service map, the one the service daemons' sessions make (as Ceph's manager builds it).
            if (name === 'service_map') return jsonBytes(this.daemons.serviceMap(cephTime));
            if (name in emptyForms) return jsonBytes(emptyForms[name]);
            // Ceph's get() answers None for data the manager does not have yet: NOT_FOUND, not an outage.
            throw new StateError('not_found', `get('${name}'): no ${name} has been put yet`);
          }
          if (wrapped.has(name)) return jsonBytes({ json: m.bytes.toString('utf8') });
          return m.bytes;
        },
      };
      this.views.define(name, view);
    }
    // Ceph's misspelling-free key for the CRUSH text.
    this.views.define('osdmap_crush_map_text', {
      key: () => String(this.maps.version('crush_map_text')),
      epoch: () => this.maps.epoch('crush_map_text'),
      build: () => jsonBytes(this.maps.get('crush_map_text') ? this.maps.parsed('crush_map_text') : ''),
    });
  }

  // ---- derived views ----

  private defineDerivedViews(): void {
    const pgView = (build: () => unknown, extra: () => string = () => '') => ({
      key: () => `${this.pg.version}/${extra()}`,
      epoch: () => this.pg.version,
      build: () => {
        const v = build();
        return Buffer.isBuffer(v) ? v : jsonBytes(v);
      },
    });
    const osdv = () => String(this.maps.version('osd_map'));
    this.views.define(
      'pg_summary',
      pgView(() => this.pg.pgSummary()),
    );
    this.views.define(
      'pg_stats',
      pgView(() => this.pg.pgStatsView()),
    );
    this.views.define(
      'pg_dump',
      pgView(() => this.pg.pgDump()),
    );
    this.views.define(
      'pool_stats',
      pgView(() => this.pg.poolStatsView()),
    );
    this.views.define(
      'osd_stats',
      pgView(() => this.pg.osdStatsView()),
    );
    this.views.define(
      'io_rate',
      pgView(() => ({ pg_stats_delta: this.pg.pgStatsDelta() })),
    );
    this.views.define(
      'pg_status',
      pgView(() => this.pgStatus(), osdv),
    );
    this.views.define(
      'osd_pool_stats',
      pgView(() => this.osdPoolStats(), osdv),
    );
    this.views.define(
      'df',
      pgView(
        () => this.df(),
        () => `${osdv()}/${this.maps.version('crush_map')}`,
      ),
    );
    this.views.define('osd_ping_times', {
      key: () => `${this.pg.version}/${this.maps.version('osd_ping_times')}`,
      epoch: () => this.pg.version,
      build: () => (this.maps.get('osd_ping_times') ? this.maps.get('osd_ping_times')!.bytes : jsonBytes(this.pg.osdPingTimes())),
    });
    // What the active manager reports to Ceph's monitors (MMonMgrReport): the PG map's digest.
    this.views.define(
      'pg_map_digest',
      pgView(
        () => this.pgMapDigest(),
        () => `${osdv()}/${this.maps.version('crush_map')}/${this.maps.version('osd_metadata')}`,
      ),
    );
    this.views.define('health_mgr', {
      key: () => `${this.pg.version}/${osdv()}/${this.daemons.version}/${this.healthSourcesVersion}`,
      epoch: () => this.healthSourcesVersion,
      build: () => jsonBytes({ checks: Object.fromEntries(this.managerChecks()) }),
    });
    this.views.define(
      'pg_ready',
      pgView(() => ({ pg_ready: this.pgReady() }), osdv),
    );
    this.views.define(
      'active_clean_pgs',
      pgView(() => {
        const pg_stats: Json[] = [];
        for (const row of this.pg.pgsInState((st) => st === 'active+clean', Infinity)) {
          pg_stats.push({ pgid: this.pg.pgid(row), reported_epoch: this.pg.reportedEpoch(row) });
        }
        return { pg_stats, total_num_pgs: this.pg.size };
      }),
    );
    // The devices the daemons' metadata names (unless a devices map was put).
    this.views.define('devices', {
      key: () => `${this.maps.version('devices')}/${this.daemons.version}`,
      epoch: () => this.maps.epoch('devices'),
      build: () => this.maps.get('devices')?.bytes ?? jsonBytes(deviceList(this.daemons.daemons.values())),
    });
    // The options the daemons run with from somewhere other than their
    // defaults (Ceph: what they report from ceph.conf, the command line and
    // the monitors' configuration database); here the database's.
    this.views.define('modified_config_options', {
      key: () => String(this.maps.version('mon_config')),
      epoch: () => this.maps.epoch('mon_config'),
      build: () => {
        const db: Json[] = this.maps.parsed<Json>('mon_config')?.options ?? [];
        return jsonBytes({ options: [...new Set(db.map((e) => String(e.name)).filter((n) => !n.startsWith('mgr/')))].sort() });
      },
    });
    // What the progress module follows recovery with (PGMap::dump_pg_progress).
    this.views.define(
      'pg_progress',
      pgView(() => {
        const pgs: Record<string, Json> = {};
        this.pg.forEachPg((row) => {
          pgs[this.pg.pgid(row)] = {
            num_bytes: this.pg.statSum(row, NUM_BYTES),
            num_bytes_recovered: this.pg.statSum(row, NUM_BYTES_RECOVERED),
            reported_epoch: this.pg.reportedEpoch(row),
            state: this.pg.stateOf(row),
          };
        });
        return { pg_ready: this.pgReady(), pgs };
      }, osdv),
    );
    const crushKey = () => `${this.maps.version('crush_map')}/${osdv()}/${this.maps.version('osd_metadata')}`;
    this.views.define('osd_map_crush', {
      key: crushKey,
      epoch: () => this.maps.epoch('osd_map'),
      build: () => this.maps.get('crush_map')?.bytes ?? jsonBytes(this.crush()),
    });
    this.views.define('osd_map_tree', {
      key: crushKey,
      epoch: () => this.maps.epoch('osd_map'),
      build: () => jsonBytes(osdTree(this.crush(), this.maps.parsed('osd_map'))),
    });
    // The last CLOG_KEPT entries, oldest first, with Ceph's stamp format (`ceph log last`).
    this.views.define('cluster_log', {
      key: () => String(this.clogVersion),
      epoch: () => this.clogSeq,
      build: () => jsonBytes({ entries: this.clog.map((e) => ({ ...e, stamp: cephTime(e.stamp) })) }),
    });
    this.views.define('health', {
      key: () => {
        this.settleHealth();
        return String(this.healthVersion);
      },
      epoch: () => this.healthVersion,
      build: () => jsonBytes({ json: this.healthJson }),
    });
  }

  private synthesised: { key: string; crush: Json } | null = null;

  /** The put CRUSH map, or one synthesised once per osd map / metadata change. */
  private crush(): Json {
    const put = this.maps.parsed('crush_map');
    if (put) return put;
    const key = `${this.maps.version('osd_map')}/${this.maps.version('osd_metadata')}`;
    if (this.synthesised?.key !== key) this.synthesised = { key, crush: synthesiseCrush(this.maps.parsed('osd_map'), this.maps.parsed('osd_metadata')) };
    return this.synthesised.crush;
  }

  private pools(): Json[] {
    return this.maps.parsed<Json>('osd_map')?.pools ?? [];
  }

  /** Whether every up OSD of the osd map has reported since start (Ceph's pg_ready). */
  private pgReady(): boolean {
    const osds: Json[] = this.maps.parsed<Json>('osd_map')?.osds ?? [];
    if (!osds.length) return this.pg.reported.size > 0;
    return osds.every((o) => !o.up || this.pg.reported.has(o.osd));
  }

  private pgStatus(): Json {
    const osdSum = this.pg.osdSum();
    const sum = this.pg.sum;
    const pools = this.pg
      .poolStats()
      .map(([id]) => id)
      .sort((a, b) => b - a);
    const delta = this.pg.delta();
    const out: Json = {
      pgs_by_pool_state: pools.map((pool_id) => ({ pg_state_counts: this.pg.statesByCount(pool_id), pool_id })),
      pgs_by_state: this.pg.statesByCount(),
      num_pgs: this.pg.size,
      num_pools: pools.length,
      num_objects: sum.stat_sum.num_objects,
      data_bytes: sum.stat_sum.num_bytes,
      bytes_used: osdSum.statfs.total - osdSum.statfs.available,
      bytes_avail: osdSum.statfs.available,
      bytes_total: osdSum.statfs.total,
      ...recoveryInfo(sum),
      ...recoveryRates(delta.sum, delta.seconds),
      ...clientIoRates(delta.sum, delta.seconds),
    };
    return out;
  }

  /**
   * The PG map's digest (PGMapDigest, Ceph's names) in JSON, for the
   * active manager's MMonMgrReport (services/daemon-server/ceph/mon-report.ts
   * encodes it), from which the monitors answer `ceph -s` (pgs, usage,
   * io), `ceph df` and their PG health. The osd map's
   * PGs that no OSD reported yet count as unknown, as in Ceph's PGMap.
   */
  private pgMapDigest(): Json {
    const counts = this.pg.digestCounts();
    let unknown = 0;
    for (const p of this.pools()) {
      const missing = (p.pg_num ?? 0) - (counts.byPool.get(p.pool) ?? 0);
      if (missing <= 0) continue;
      unknown += missing;
      counts.byPool.set(p.pool, (counts.byPool.get(p.pool) ?? 0) + missing);
    }
    if (unknown) counts.byState.set('unknown', (counts.byState.get('unknown') ?? 0) + unknown);
    const osdMap = this.maps.parsed<Json>('osd_map');
    const fullRatio = osdMap?.full_ratio ?? 0.95;
    const crush = this.crush();
    const byClass = new Map<string, Set<number>>();
    for (const dev of crush.devices ?? []) {
      const cls = String(dev.class ?? 'hdd');
      if (!byClass.has(cls)) byClass.set(cls, new Set());
      byClass.get(cls)!.add(dev.id);
    }
    const delta = this.pg.delta();
    const pools = this.pg.poolStats();
    return {
      pg_ready: this.pgReady(),
      num_pg: this.pg.size + unknown,
      num_pg_active: counts.active,
      num_pg_unknown: unknown,
      num_osd: (osdMap?.osds ?? []).length,
      pg_pool_sum: Object.fromEntries(pools.map(([id, p]) => [id, dumpPoolStat(p)])),
      pg_sum: dumpPoolStat(this.pg.sum),
      osd_sum: this.pg.osdSum(),
      num_pg_by_state: Object.fromEntries(counts.byState),
      num_pg_by_osd: Object.fromEntries(counts.byOsd),
      num_pg_by_pool: Object.fromEntries(counts.byPool),
      per_pool_sum_delta: Object.fromEntries(
        pools.flatMap(([id]) => {
          const d = this.pg.poolDelta(id);
          return d ? [[id, { delta: dumpPoolStat(d.sum), seconds: d.seconds }]] : [];
        }),
      ),
      pg_sum_delta: dumpPoolStat(delta.sum),
      stamp_delta: delta.seconds,
      avail_space_by_rule: Object.fromEntries((crush.rules ?? []).map((r: Json) => [r.rule_id, this.ruleAvail(r.rule_id, fullRatio)])),
      osd_sum_by_class: Object.fromEntries([...byClass].map(([cls, osds]) => [cls, this.pg.osdSum(osds)])),
    };
  }

  private osdPoolStats(): Json {
    return {
      pool_stats: this.pools().map((p) => {
        const d = this.pg.poolDelta(p.pool);
        const mine = this.pg.poolStats().find(([id]) => id === p.pool)?.[1];
        return {
          client_io_rate: d ? clientIoRates(d.sum, d.seconds) : {},
          pool_id: p.pool,
          pool_name: p.pool_name,
          recovery: mine ? recoveryInfo(mine) : {},
          recovery_rate: d ? recoveryRates(d.sum, d.seconds) : {},
        };
      }),
    };
  }

  /**
   * The raw space a CRUSH rule can still write, as Ceph's get_rule_avail:
   * the least, over the rule's OSDs, of the space left before the full ratio
   * divided by the OSD's (single-precision) share of the rule's weight.
   */
  private ruleAvail(ruleId: number, fullRatio: number): number {
    const crush = this.crush();
    const rule = (crush.rules ?? []).find((r: Json) => r.rule_id === ruleId);
    const weights = new Map<number, number>();
    const byId = new Map<number, Json>((crush.buckets ?? []).map((b: Json) => [b.id, b]));
    const collect = (id: number, w: number) => {
      if (id >= 0) weights.set(id, (weights.get(id) ?? 0) + w);
      else for (const it of byId.get(id)?.items ?? []) collect(it.id, it.weight);
    };
    for (const step of rule?.steps ?? []) if (step.op === 'take') collect(step.item, 1);
    let total = 0;
    for (const w of weights.values()) total = Math.fround(total + w);
    const fratio = Math.fround(fullRatio);
    let min = -1;
    for (const [osd, w] of weights) {
      const st = this.pg.osdStatfs(osd);
      const share = Math.fround(w / total);
      if (!st || !st.total || !share) continue;
      const kb = Math.floor(st.total / 1024);
      const kbAvail = Math.floor(st.available / 1024);
      const avail = Math.max(0, kbAvail - kb * (1 - fratio)) * 1024;
      const proj = Math.trunc(avail / share);
      if (min < 0 || proj < min) min = proj;
    }
    return Math.max(0, min);
  }

  private df(): Json {
    const osdSum = this.pg.osdSum();
    const osdMap = this.maps.parsed<Json>('osd_map');
    const fullRatio = osdMap?.full_ratio ?? 0.95;
    const total = osdSum.statfs.total;
    const avail = osdSum.statfs.available;
    const used = total - avail;
    const crush = this.crush();
    const stats_by_class: Json = {};
    for (const dev of crush.devices ?? []) {
      const st = this.pg.osdStatfs(dev.id);
      const c = (stats_by_class[dev.class ?? 'hdd'] ??= {
        total_avail_bytes: 0,
        total_bytes: 0,
        total_used_bytes: 0,
        total_used_raw_bytes: 0,
        total_used_raw_ratio: 0,
      });
      if (!st) continue;
      c.total_bytes += st.total ?? 0;
      c.total_avail_bytes += st.available ?? 0;
      c.total_used_bytes = c.total_bytes - c.total_avail_bytes;
      c.total_used_raw_bytes = c.total_used_bytes;
      c.total_used_raw_ratio = c.total_bytes ? f32ratio(c.total_used_raw_bytes, c.total_bytes) : 0;
    }
    const poolSums = new Map(this.pg.poolStats());
    const pools = this.pools().map((p) => {
      const ps = poolSums.get(p.pool);
      const s = ps?.stat_sum;
      const perPool = (ps?.num_store_stats ?? 0) > 0;
      // Replicated pools write size copies; erasure pools (k+m)/k, approximated by size/min_size.
      const rawRate = p.type === 3 ? p.size / Math.max(1, p.min_size - 1) : p.size;
      // Whole bytes, as Ceph's uint64 arithmetic gives them (InfluxDB refuses a field that changes type).
      const stored = Math.trunc(perPool ? ps!.store_stats.data_stored / rawRate : (s?.num_bytes ?? 0));
      const storedOmap = Math.trunc(perPool ? ps!.store_stats.omap_allocated / rawRate : 0);
      const dataUsed = perPool ? ps!.store_stats.allocated : (s?.num_bytes ?? 0);
      const omapUsed = perPool ? ps!.store_stats.omap_allocated : 0;
      const bytesUsed = dataUsed + omapUsed;
      const availRaw = this.ruleAvail(p.crush_rule, fullRatio);
      // int64 / float in Ceph: single precision.
      const maxAvail = Math.trunc(Math.fround(Math.fround(availRaw) / Math.fround(rawRate)));
      return {
        id: p.pool,
        name: p.pool_name,
        stats: {
          avail_raw: availRaw,
          bytes_used: bytesUsed,
          compress_bytes_used: perPool ? ps!.store_stats.data_compressed_allocated : 0,
          compress_under_bytes: perPool ? ps!.store_stats.data_compressed_original : 0,
          data_bytes_used: dataUsed,
          // Only cache tiers have dirty objects in Ceph's sense; others report 0.
          dirty: (p.tier_of ?? -1) >= 0 ? (s?.num_objects_dirty ?? 0) : 0,
          kb_used: Math.ceil(bytesUsed / 1024),
          max_avail: maxAvail,
          objects: s?.num_objects ?? 0,
          omap_bytes_used: omapUsed,
          percent_used: bytesUsed + availRaw > 0 ? f32ratio(bytesUsed, bytesUsed + availRaw) : 0,
          quota_bytes: p.quota_max_bytes ?? 0,
          quota_objects: p.quota_max_objects ?? 0,
          rd: s?.num_read ?? 0,
          rd_bytes: (s?.num_read_kb ?? 0) * 1024,
          stored: stored + storedOmap,
          stored_data: stored,
          stored_omap: storedOmap,
          stored_raw: Math.trunc(Math.fround((stored + storedOmap) * rawRate)),
          wr: s?.num_write ?? 0,
          wr_bytes: (s?.num_write_kb ?? 0) * 1024,
        },
      };
    });
    return {
      pools,
      stats: {
        num_osds: osdSum.num_osds,
        num_per_pool_omap_osds: osdSum.num_per_pool_omap_osds,
        num_per_pool_osds: osdSum.num_per_pool_osds,
        total_avail_bytes: avail,
        total_bytes: total,
        total_used_bytes: used,
        total_used_raw_bytes: used,
        // Ceph computes the ratio in single precision.
        total_used_raw_ratio: total ? f32ratio(used, total) : 0,
      },
      stats_by_class,
    };
  }

  // ---- pg stats ----

  /**
   * Applies a batch of OSDs' pg stats. Each entry is decoded and checked on
   * its own (a refused one is listed with its reason and changes nothing);
   * the batch is one version of the PG map and one pg_summary event. Large
   * batches yield to the event loop every `chunk` entries (pass `pause`), so
   * calls and keepalives are answered meanwhile.
   */
  async ingestPgStats(entries: PgStatsEntry[], pause?: () => Promise<void>, chunk = 64): Promise<{ applied: number; rejected: string[] }> {
    const rejected: string[] = [];
    let applied = 0;
    for (let i = 0; i < entries.length; i++) {
      if (pause && i > 0 && i % chunk === 0) await pause();
      const e = entries[i];
      const problem = this.checkPgEntry(e);
      if (problem) {
        rejected.push(problem);
        continue;
      }
      let staged: StagedReport;
      try {
        staged = this.pg.stage(e.report!);
      } catch (err) {
        rejected.push(`osd.${e.osd}: pg stats do not decode: ${(err as Error).message}`);
        continue;
      }
      this.pg.commit(e.osd, e.epoch, e.stamp || Date.now() / 1000, staged);
      applied++;
    }
    if (applied) {
      this.pg.endBatch();
      // One notification per batch, however many OSDs it carried.
      this.feed.publish('pg_summary', '', this.pg.version);
      this.schedulePgHealth();
    }
    return { applied, rejected };
  }

  private checkPgEntry(e: PgStatsEntry): string | null {
    if (!Number.isInteger(e.osd) || e.osd < 0) return `osd id must be a non-negative whole number, got ${e.osd}`;
    if (e.json?.length) return `osd.${e.osd}: pg stats as JSON (OsdPgStats.json) are no longer accepted: send the typed report (OsdPgStats.report)`;
    if (!e.report) return `osd.${e.osd}: the entry has no report`;
    if (!Number.isFinite(e.stamp) || e.stamp < 0) return `osd.${e.osd}: stamp ${e.stamp} is not a time`;
    return null;
  }

  // ---- daemons ----

  /** Applies daemon reports; large batches yield every `chunk` reports (pass `pause`). */
  async reportDaemons(
    reports: DaemonReport[],
    pause?: () => Promise<void>,
    chunk = 128,
  ): Promise<{ applied: number; rejected: string[]; unknownSchemas: Buffer[] }> {
    let applied = 0;
    const rejected: string[] = [];
    const unknownSchemas: Buffer[] = [];
    let healthChanged = false;
    const serviceEpoch = this.daemons.serviceEpoch;
    for (let i = 0; i < reports.length; i += chunk) {
      if (pause && i > 0) await pause();
      const out = this.daemons.apply(reports.slice(i, i + chunk), Date.now() / 1000);
      for (const name of out.schemaChanged) this.feed.publish('perf_schema_update', name, 0);
      applied += out.applied;
      rejected.push(...out.rejected);
      for (const h of out.unknownSchemas) if (!unknownSchemas.some((u) => u.equals(h))) unknownSchemas.push(h);
      healthChanged ||= out.metadataChanged || out.healthMetricsChanged;
    }
    // The service map made from the sessions changed (when none is put): tell the watchers.
    if (this.daemons.serviceEpoch !== serviceEpoch && !this.maps.get('service_map')) this.feed.publish('service_map', '', this.daemons.serviceEpoch);
    if (healthChanged) this.refreshHealth(true);
    return { applied, rejected, unknownSchemas };
  }

  setDaemonsStale(stale: string[], fresh: string[]): number {
    for (const n of [...stale, ...fresh]) {
      if (!splitDaemonName(n)) throw invalid(`'${n}': a daemon name is <type>.<id>, e.g. osd.3`);
    }
    const r = this.daemons.setStale(stale, fresh);
    if (r.changed) this.refreshHealth(true);
    return r.count;
  }

  queryDaemons(q: QueryDaemonsRequest): Buffer {
    const name = () => {
      if (!q.svcType || !q.svcId) throw invalid('svc_type and svc_id are required (e.g. "osd" and "3")');
      return `${q.svcType}.${q.svcId}`;
    };
    const path = () => {
      if (!q.path) throw invalid('path is required (e.g. "osd.op_w")');
      return q.path;
    };
    let out: unknown;
    switch (q.kind) {
      case DaemonQueryKind.DAEMON_QUERY_KIND_SERVER:
        if (!q.hostname) throw invalid('hostname is required for get_server');
        out = this.daemons.getServer(q.hostname);
        break;
      case DaemonQueryKind.DAEMON_QUERY_KIND_LIST_SERVERS:
        out = this.daemons.listServers();
        break;
      case DaemonQueryKind.DAEMON_QUERY_KIND_METADATA:
        out = this.daemons.getMetadata(name());
        break;
      case DaemonQueryKind.DAEMON_QUERY_KIND_STATUS:
        out = this.daemons.getStatus(name());
        break;
      case DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA:
        out = this.daemons.perfSchema(q.svcType || q.svcId ? name() : null);
        break;
      case DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER:
        out = this.daemons.getCounter(name(), path());
        break;
      case DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER:
        out = this.daemons.getLatestCounter(name(), path());
        break;
      case DaemonQueryKind.DAEMON_QUERY_KIND_ALL_PERF_COUNTERS:
        out = this.daemons.allPerfCounters(q.prioLimit ?? PRIO_USEFUL, q.services);
        break;
      case DaemonQueryKind.DAEMON_QUERY_KIND_HEALTH_METRICS:
        out = this.daemons.healthMetrics();
        break;
      default:
        throw invalid(
          `kind ${q.kind} is not a daemon query; use one of SERVER, LIST_SERVERS, METADATA, STATUS, PERF_SCHEMA, COUNTER, LATEST_COUNTER, ALL_PERF_COUNTERS, HEALTH_METRICS`,
        );
    }
    return out instanceof RawJson ? Buffer.from(out.text, 'utf8') : jsonBytes(out);
  }

  // ---- health ----

  /**
   * Replaces one source's checks. Each check is taken on its own
   * (lib/health-checks.ts): the refused ones come back with their reasons
   * and the rest are stored, so one bad code never hides a good check.
   */
  setHealthChecks(source: string, checks: HealthCheck[]): { status: string; refused: RefusedCheck[] } {
    if (!source) throw invalid('source is empty; name who raises the checks, e.g. "module:hello"');
    if (source.length > 256) throw invalid(`source is ${source.length} characters; the limit is 256`);
    const { accepted, refused } = screenHealthChecks(checks);
    const set = new Map<string, CheckJson>();
    for (const c of accepted) {
      set.set(c.code, {
        severity: c.severity === HealthSeverity.HEALTH_SEVERITY_ERROR ? 'HEALTH_ERR' : 'HEALTH_WARN',
        summary: { message: c.summary, count: c.count },
        detail: c.detail.map((message) => ({ message })),
        muted: false,
      });
    }
    if (set.size) this.healthSources.set(source, set);
    else this.healthSources.delete(source);
    this.healthSourcesVersion++;
    this.refreshHealth(true);
    return { status: this.healthStatus, refused };
  }

  /**
   * The checks a manager raises, which the active sends the monitors in its
   * MMonMgrReport: the derived ones but those the monitors raise themselves
   * (OSD_DOWN), and every source's (mgrpc's, the modules').
   */
  private managerChecks(): Map<string, CheckJson> {
    const out = new Map<string, CheckJson>();
    for (const [code, c] of this.derivedChecks()) if (!MONITOR_CHECKS.has(code)) out.set(code, c);
    for (const source of [...this.healthSources.keys()].sort()) {
      for (const [code, c] of this.healthSources.get(source)!) if (!out.has(code)) out.set(code, c);
    }
    return out;
  }

  /** Checks derived from the maps, PG stats and daemon state. */
  private derivedChecks(): Map<string, CheckJson> {
    const out = new Map<string, CheckJson>();
    const warn = (code: string, message: string, count: number, detail: string[], severity: CheckJson['severity'] = 'HEALTH_WARN') =>
      out.set(code, { severity, summary: { message, count }, detail: detail.map((m) => ({ message: m })), muted: false });
    const osdMap = this.maps.parsed<Json>('osd_map');
    if (osdMap) {
      const down = (osdMap.osds ?? []).filter((o: Json) => o.in && !o.up);
      if (down.length)
        warn(
          'OSD_DOWN',
          `${down.length} osds down`,
          down.length,
          down.map((o: Json) => `osd.${o.osd} is down`),
        );
    }
    const s = this.pg.sum.stat_sum;
    if (s.num_objects_degraded > 0 && s.num_object_copies > 0) {
      const pct = ((100 * s.num_objects_degraded) / s.num_object_copies).toFixed(3);
      const degraded = (st: string) => st.includes('degraded');
      const count = this.pg.countStates(degraded);
      warn(
        'PG_DEGRADED',
        `Degraded data redundancy: ${s.num_objects_degraded}/${s.num_object_copies} objects degraded (${pct}%), ${count} pgs degraded`,
        count,
        this.pg.pgsInState(degraded, 50).map((row) => `pg ${this.pg.pgid(row)} is ${this.pg.stateOf(row)}, acting [${this.pg.acting(row).join(',')}]`),
      );
    }
    // Unavailable: not active, or stale (no up OSD reports it: its last state is not current).
    const inactive = (st: string) => !st.includes('active');
    const stalePg = (st: string) => st === 'stale' || st.startsWith('stale+');
    const unavailable = (st: string) => inactive(st) || stalePg(st);
    const unavailableCount = this.pg.countStates(unavailable);
    if (unavailableCount) {
      const pgs = (n: number, what: string) => (n ? [`${n} pg${n === 1 ? '' : 's'} ${what}`] : []);
      const parts = [...pgs(this.pg.countStates(inactive), 'inactive'), ...pgs(this.pg.countStates(stalePg), 'stale')];
      warn(
        'PG_AVAILABILITY',
        `Reduced data availability: ${parts.join(', ')}`,
        unavailableCount,
        this.pg.pgsInState(unavailable, 50).map((row) => `pg ${this.pg.pgid(row)} is ${this.pg.stateOf(row)}, acting [${this.pg.acting(row).join(',')}]`),
      );
    }
    // The rest of PGMap's checks: damaged PGs, full OSDs holding up recovery, scrub errors, unfound objects, ...
    const numInOsds = (osdMap?.osds ?? []).filter((o: Json) => o.in).length;
    const now = Date.now() / 1000;
    for (const [code, c] of pgHealthChecks({
      // only the PGs that may raise a check; the up sets' total comes from the sums
      pgStats: this.pg.healthPgs(scrubCutoffs(now)),
      upTotal: this.pg.sum.up,
      osdStats: this.pg.healthOsds(),
      sum: s,
      numInOsds,
      now,
    }))
      warn(code, c.message, c.count, c.detail, c.severity);
    // SLOW_OPS: the manager sums the daemons' SLOW_OPS health metrics (Ceph's DaemonHealthMetricCollector).
    const slow = this.daemons.slowOps();
    if (slow.length) {
      const total = slow.reduce((n, [, v]) => n + v, 0);
      const names = slow.map(([name]) => name);
      const who = names.length === 1 ? `${names[0]} has slow ops` : `daemons [${names.slice(0, 10).join(',')}]${names.length > 10 ? '...' : ''} have slow ops.`;
      warn('SLOW_OPS', `${total} slow ops, ${who}`, total, []);
    }
    const stale = this.daemons.staleNames();
    if (stale.length)
      warn(
        'MGR_DAEMON_STALE',
        `${stale.length} daemon(s) have not reported recently`,
        stale.length,
        stale.map((n) => `${n} has not reported recently`),
      );
    return out;
  }

  private healthRefreshedAt = 0;
  private healthTimer: NodeJS.Timeout | null = null;

  /**
   * Health after a pg-stats batch: the checks pass over every PG, so at
   * 100,000 PGs and several batches a second this runs at most once a
   * second (get('health') still sees the latest: it settles a pending one).
   */
  private schedulePgHealth(): void {
    if (this.healthTimer) return;
    const wait = this.healthRefreshedAt + PG_HEALTH_EVERY_MS - Date.now();
    if (wait <= 0) {
      this.refreshHealth(true);
      return;
    }
    this.healthTimer = setTimeout(() => this.refreshHealth(true), wait);
    this.healthTimer.unref();
  }

  private settleHealth(): void {
    if (this.healthTimer) this.refreshHealth(true);
  }

  /** Recomputes the merged health document; publishes "health" when it changed. */
  private refreshHealth(publish: boolean): void {
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.healthTimer = null;
    this.healthRefreshedAt = Date.now();
    const checks: Record<string, CheckJson> = {};
    const mon = this.maps.parsed<Json>('health_mon');
    for (const [code, c] of Object.entries<Json>(mon?.checks ?? {})) checks[code] = c as CheckJson;
    for (const [code, c] of this.derivedChecks()) checks[code] ??= c;
    for (const source of [...this.healthSources.keys()].sort()) {
      for (const [code, c] of this.healthSources.get(source)!) checks[code] ??= c;
    }
    let status = 'HEALTH_OK';
    for (const c of Object.values(checks)) {
      if (c.muted) continue;
      if (c.severity === 'HEALTH_ERR') status = 'HEALTH_ERR';
      else if (status === 'HEALTH_OK') status = 'HEALTH_WARN';
    }
    const sorted = Object.fromEntries(
      Object.keys(checks)
        .sort()
        .map((k) => [k, checks[k]]),
    );
    const json = JSON.stringify({ status, checks: sorted, mutes: mon?.mutes ?? [] });
    if (json === this.healthJson) return;
    if (publish) this.logHealthChanges(this.healthChecks, sorted, status);
    this.healthChecks = sorted;
    this.healthJson = json;
    this.healthStatus = status;
    this.healthVersion++;
    if (publish) this.feed.publish('health', '', this.healthVersion);
  }

  /** Writes health changes to the cluster log in the monitors' words (Ceph's HealthMonitor). */
  private logHealthChanges(before: Record<string, CheckJson>, after: Record<string, CheckJson>, status: string): void {
    const entries: ClusterLogEntry[] = [];
    const name = `mon.${this.maps.parsed<Json>('mon_map')?.mons?.[0]?.name ?? 'a'}`;
    const log = (priority: string, message: string) => entries.push({ channel: 'cluster', priority, name, message, stamp: 0 });
    for (const [code, c] of Object.entries(after)) {
      const was = before[code];
      const priority = c.severity === 'HEALTH_ERR' ? 'ERR' : 'WRN';
      if (!was) log(priority, `Health check failed: ${c.summary.message} (${code})`);
      else if (was.summary.message !== c.summary.message) log(priority, `Health check update: ${c.summary.message} (${code})`);
    }
    for (const [code, c] of Object.entries(before)) if (!after[code]) log('INF', `Health check cleared: ${code} (was: ${c.summary.message})`);
    if (status === 'HEALTH_OK' && this.healthStatus !== 'HEALTH_OK') log('INF', 'Cluster is now healthy');
    if (entries.length) this.appendClusterLog(entries);
  }

  // ---- cluster log ----

  appendClusterLog(entries: ClusterLogEntry[]): number {
    const allowed = ['DBG', 'INF', 'SEC', 'WRN', 'ERR'];
    for (const e of entries) {
      if (e.priority && !allowed.includes(e.priority)) throw invalid(`cluster log priority '${e.priority}' is not one of ${allowed.join(', ')}`);
    }
    for (const e of entries) {
      const stamp = e.stamp || Date.now() / 1000;
      this.clog.push({ channel: e.channel || 'cluster', priority: e.priority || 'INF', name: e.name, message: e.message, stamp, seq: ++this.clogSeq });
      if (this.clog.length > CLOG_KEPT) this.clog.shift();
      this.clogVersion++;
      this.feed.publish('clog', e.channel || 'cluster', 0);
    }
    return entries.length;
  }

  // ---- typed maps ----

  private typedCache = new Map<string, { version: number; value: unknown }>();

  /** Converts a map at most once per epoch. */
  private typed<T>(name: string, convert: () => T): T {
    const version = this.maps.version(name);
    const hit = this.typedCache.get(name);
    if (hit && hit.version === version) return hit.value as T;
    const value = convert();
    this.typedCache.set(name, { version, value });
    return value;
  }

  typedOsdMap(): OsdMap {
    return this.typed('osd_map', () => this.convertOsdMap());
  }

  typedFsMap(): FsMap {
    return this.typed('fs_map', () => this.convertFsMap());
  }

  private convertOsdMap(): OsdMap {
    const m = this.maps.parsed<any>('osd_map');
    if (!m) throw new StateError('unavailable', 'no osd_map has been put yet');
    return {
      epoch: m.epoch ?? 0,
      fsid: m.fsid ?? '',
      created: m.created ?? '',
      modified: m.modified ?? '',
      flags: m.flags ?? '',
      maxOsd: m.max_osd ?? 0,
      pools: (m.pools ?? []).map((p: any) => ({
        pool: p.pool,
        poolName: p.pool_name,
        size: p.size,
        minSize: p.min_size,
        pgNum: p.pg_num,
        pgpNum: p.pg_placement_num ?? p.pgp_num ?? p.pg_num,
        crushRule: p.crush_rule,
        type: p.type,
        applications: Object.keys(p.application_metadata ?? {}),
      })),
      osds: (m.osds ?? []).map((o: any) => ({
        osd: o.osd,
        up: !!o.up,
        in: !!o.in,
        weight: o.weight ?? 0,
        primaryAffinity: o.primary_affinity ?? 1,
        upFrom: o.up_from ?? 0,
        downAt: o.down_at ?? 0,
        publicAddr: o.public_addr ?? '',
        clusterAddr: o.cluster_addr ?? '',
        state: o.state ?? [],
      })),
    };
  }

  private convertFsMap(): FsMap {
    const m = this.maps.parsed<any>('fs_map');
    if (!m) throw new StateError('unavailable', 'no fs_map has been put yet');
    const mds = (info: any) => ({ gid: info.gid ?? 0, name: info.name ?? '', rank: info.rank ?? -1, state: info.state ?? '', addr: info.addr ?? '' });
    return {
      epoch: m.epoch ?? 0,
      filesystems: (m.filesystems ?? []).map((fs: any) => ({
        id: fs.id,
        name: fs.mdsmap?.fs_name ?? '',
        epoch: fs.mdsmap?.epoch ?? 0,
        maxMds: fs.mdsmap?.max_mds ?? 0,
        metadataPool: fs.mdsmap?.metadata_pool ?? 0,
        dataPools: fs.mdsmap?.data_pools ?? [],
        mds: Object.values(fs.mdsmap?.info ?? {}).map(mds),
      })),
      standbys: (m.standbys ?? []).map(mds),
    };
  }

  // ---- the modules' store ----

  private checkKey(key: string): void {
    if (!key) throw invalid('store key is empty');
    const n = Buffer.byteLength(key, 'utf8');
    if (n > this.opts.maxKeyBytes) throw invalid(`store key is ${n} bytes; the limit is ${this.opts.maxKeyBytes}`);
  }

  /** "config/..." keys are module options (notify type config), others the module store. */
  private static storeEventType(key: string): string {
    return key.startsWith('config/') ? 'config' : 'store';
  }

  async getStore(key: string): Promise<string | undefined> {
    this.checkKey(key);
    return this.kv.get(key);
  }

  async setStore(key: string, value: string | undefined): Promise<boolean> {
    this.checkKey(key);
    if (value !== undefined) {
      const n = Buffer.byteLength(value, 'utf8');
      if (n > this.opts.maxValueBytes) throw invalid(`value of '${key}' is ${n} bytes; the limit is ${this.opts.maxValueBytes} (MGR_STORE_MAX_VALUE_BYTES)`);
    }
    const existed = value === undefined ? await this.kv.delete(key) : await this.kv.set(key, value);
    if (value !== undefined || existed) this.feed.publish(ClusterState.storeEventType(key), key, 0);
    return existed;
  }

  async listStore(prefix: string): Promise<Array<[string, string]>> {
    return this.kv.list(prefix);
  }
}
