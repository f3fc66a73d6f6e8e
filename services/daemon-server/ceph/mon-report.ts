// What the active manager tells the monitors every mgr_tick_period besides
// its beacon, as Ceph's DaemonServer::send_report does: an MMonMgrReport
// with the manager's health checks (the modules' and those derived from PG
// and daemon statistics), its progress events, and the PGMapDigest in the
// data segment. The monitors answer `ceph -s` (pgs, usage, io rates,
// progress), `ceph df` and `ceph health` from the last one they received;
// without it those stay frozen.
//
// cluster-state computes the digest and the checks (Get `pg_map_digest`,
// `health_mgr`, `progress_events`, in JSON); here they are put in Ceph's
// binary shapes. The service map (the service daemons, such as rgw, that
// opened sessions here: cluster-state's `service_map`) goes with the
// report when it changed, at an epoch above the monitors' (they keep only
// a newer one and send it to the subscribers of "servicemap"). Like Ceph, nothing is reported until every up OSD has
// reported its PGs once (pg_ready) or 4 stats periods after becoming
// active, so the monitors never see a PG map of only unknown PGs.
import type { Message } from '../../../lib/ceph/message';
import { HealthStatus, mMonMgrReport, type HealthChecks, type ProgressEvent } from '../../../lib/ceph/messages/mgr-mon';
import { OBJECT_STAT_FIELDS, pgStateFromString, zeroOsdStat, type ObjectStatField, type OsdStat, type PoolStat } from '../../../lib/ceph/messages/pg-stats';
import { emptyPGMapDigest, encodePGMapDigest, type PGMapDigest } from '../../../lib/ceph/messages/pgmap-digest';
import { serviceMapBytes, type ServiceDaemon, type ServiceMap } from '../../../lib/ceph/messages/service-map';
import { BLANK_ADDR, type UTime } from '../../../lib/ceph/types';
import type { Logger } from '../../../lib/log';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;

/** How long after becoming active the report waits for every up OSD's PG stats (Ceph: 4 × mgr_stats_period). */
export const PG_READY_WAIT_MS = 4 * 5000;

/** cluster-state's Get, parsed. */
export interface MonReportSource {
  getView(what: string): Promise<unknown>;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const i64 = (v: unknown) => BigInt(Math.trunc(num(v)));
/** An unsigned 64-bit field: a negative delta wraps, as in Ceph's arithmetic. */
const u64 = (v: unknown) => BigInt.asUintN(64, i64(v));

/** object_stat_sum_t's JSON names that differ from its wire names. */
const WIRE_NAME: Record<string, ObjectStatField> = { num_read: 'num_rd', num_read_kb: 'num_rd_kb', num_write: 'num_wr', num_write_kb: 'num_wr_kb' };
const STAT_FIELDS = new Set<string>(OBJECT_STAT_FIELDS);

function statfsFromJson(j: Json | undefined): OsdStat['statfs'] {
  const s = zeroOsdStat().statfs;
  for (const k of Object.keys(s) as Array<keyof typeof s>) {
    s[k] = k === 'total' || k === 'available' || k === 'internally_reserved' ? u64(j?.[k]) : i64(j?.[k]);
  }
  return s;
}

/** pool_stat_t from its JSON dump (cluster-state's dumpPoolStat). */
export function poolStatFromJson(j: Json | undefined): PoolStat {
  const stats = {} as PoolStat['stats'];
  for (const f of OBJECT_STAT_FIELDS) stats[f] = 0n;
  for (const [k, v] of Object.entries<unknown>(j?.stat_sum ?? {})) {
    const f = WIRE_NAME[k] ?? k;
    if (STAT_FIELDS.has(f)) stats[f as ObjectStatField] = i64(v);
  }
  return {
    stats,
    store_stats: statfsFromJson(j?.store_stats),
    log_size: i64(j?.log_size),
    ondisk_log_size: i64(j?.ondisk_log_size),
    up: num(j?.up),
    acting: num(j?.acting),
    num_store_stats: num(j?.num_store_stats),
  };
}

/** osd_stat_t sums from cluster-state's osd_sum JSON. */
export function osdStatFromJson(j: Json | undefined): OsdStat {
  const s = zeroOsdStat();
  s.statfs = statfsFromJson(j?.statfs);
  s.snap_trim_queue_len = num(j?.snap_trim_queue_len);
  s.num_snap_trimming = num(j?.num_snap_trimming);
  s.num_shards_repaired = u64(j?.num_shards_repaired);
  s.os_perf_stat = { commit_latency_ns: u64(j?.perf_stat?.commit_latency_ns), apply_latency_ns: u64(j?.perf_stat?.apply_latency_ns) };
  s.num_pgs = num(j?.num_pgs);
  s.num_osds = num(j?.num_osds);
  s.num_per_pool_osds = num(j?.num_per_pool_osds);
  s.num_per_pool_omap_osds = num(j?.num_per_pool_omap_osds);
  return s;
}

const seconds = (s: unknown): UTime => {
  const v = Math.max(0, num(s));
  return { sec: Math.floor(v), nsec: Math.round((v - Math.floor(v)) * 1e9) % 1e9 };
};

const numericMap = <V>(j: Json | undefined, value: (v: any) => V): Map<number, V> =>
  new Map(
    Object.entries<unknown>(j ?? {})
      .filter(([k]) => /^-?\d+$/.test(k))
      .map(([k, v]) => [Number(k), value(v)] as [number, V])
      .sort((a, b) => a[0] - b[0]),
  );

/** The PGMapDigest from cluster-state's `pg_map_digest` view; states it cannot name are left out (and returned). */
export function digestFromJson(j: Json): { digest: PGMapDigest; badStates: string[] } {
  const g = emptyPGMapDigest();
  const badStates: string[] = [];
  g.num_pg = num(j.num_pg);
  g.num_pg_active = num(j.num_pg_active);
  g.num_pg_unknown = num(j.num_pg_unknown);
  g.num_osd = num(j.num_osd);
  g.pg_pool_sum = numericMap(j.pg_pool_sum, poolStatFromJson);
  g.pg_sum = poolStatFromJson(j.pg_sum);
  g.osd_sum = osdStatFromJson(j.osd_sum);
  for (const [state, n] of Object.entries<unknown>(j.num_pg_by_state ?? {})) {
    const bits = pgStateFromString(state);
    if (bits === undefined) badStates.push(state);
    else g.num_pg_by_state.set(bits, (g.num_pg_by_state.get(bits) ?? 0) + num(n));
  }
  g.num_pg_by_osd = numericMap(j.num_pg_by_osd, (c: Json) => ({ acting: num(c?.acting), up_not_acting: num(c?.up_not_acting), primary: num(c?.primary) }));
  g.num_pg_by_pool = numericMap(j.num_pg_by_pool, num);
  g.per_pool_sum_delta = numericMap(j.per_pool_sum_delta, (d: Json) => ({ delta: poolStatFromJson(d?.delta), stamp: seconds(d?.seconds) }));
  g.pg_sum_delta = poolStatFromJson(j.pg_sum_delta);
  g.stamp_delta = seconds(j.stamp_delta);
  g.avail_space_by_rule = new Map([...numericMap(j.avail_space_by_rule, i64)]);
  g.osd_sum_by_class = new Map(
    Object.entries<Json>(j.osd_sum_by_class ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([cls, s]) => [cls, osdStatFromJson(s)]),
  );
  return { digest: g, badStates };
}

/** health_check_map_t from cluster-state's checks JSON ({code: {severity, summary: {message, count}, detail: [{message}]}}). */
export function healthChecksFromJson(checks: Json | undefined): HealthChecks {
  const out: HealthChecks = new Map();
  for (const [code, c] of Object.entries<Json>(checks ?? {})) {
    out.set(code, {
      severity: c?.severity === 'HEALTH_ERR' ? HealthStatus.ERR : HealthStatus.WARN,
      summary: String(c?.summary?.message ?? ''),
      detail: Array.isArray(c?.detail) ? c.detail.map((d: Json) => String(d?.message ?? '')) : [],
      count: i64(c?.summary?.count),
    });
  }
  return out;
}

const stampOf = (s: unknown, fallback: UTime): UTime => {
  const m = typeof s === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?/.exec(s) : null;
  const sec = m ? Date.parse(`${m[1]}Z`) / 1000 : NaN;
  return Number.isFinite(sec) ? { sec, nsec: m![2] ? Number(m![2].padEnd(9, '0')) : 0 } : fallback;
};
const strings = (j: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries((j && typeof j === 'object' ? j : {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));

/** ServiceMap from cluster-state's `service_map` view (ServiceMap::dump's shape), at `epoch`. */
export function serviceMapFromJson(j: Json, epoch: number, now: UTime): ServiceMap {
  const services: ServiceMap['services'] = new Map();
  for (const [name, svc] of Object.entries<Json>(j?.services ?? {})) {
    const daemons = new Map<string, ServiceDaemon>();
    for (const [id, d] of Object.entries<Json>(svc?.daemons ?? {})) {
      if (id === 'summary' || !d || typeof d !== 'object') continue; // the dump puts the summary among the daemons
      daemons.set(id, {
        gid: u64(d.gid),
        addr: BLANK_ADDR,
        startEpoch: epoch,
        startStamp: stampOf(d.start_stamp, now),
        metadata: strings(d.metadata),
        taskStatus: strings(d.task_status),
      });
    }
    services.set(name, { daemons, summary: String(svc?.summary ?? '') });
  }
  return { epoch, modified: now, services };
}

function progressFromJson(j: Json | undefined): Map<string, ProgressEvent> {
  return new Map(
    Object.entries<Json>(j ?? {}).map(([id, e]) => [id, { message: String(e?.message ?? ''), progress: num(e?.progress), addToCephS: !!e?.add_to_ceph_s }]),
  );
}

/** Builds the active manager's MMonMgrReports and says what it sent. */
export class MonReporter {
  /** When this manager last became active (undefined: not active). */
  private activeSince: number | undefined;
  private waitingLogged = false;
  private lastError = '';
  private badStatesLogged = new Set<string>();
  /** The monitors' service map epoch ("servicemap" subscription); undefined until known. */
  private monitorsServiceEpoch: number | undefined;
  /** What the last service map sent held, and its epoch; reset when no longer active. */
  private sentServices: { key: string; epoch: number } | undefined;
  readonly stats = { reportsSent: 0, lastReportBytes: 0, lastDigestBytes: 0, lastChecks: 0, serviceMapsSent: 0 };

  constructor(
    private readonly source: MonReportSource,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The report to send now, or undefined: not active (the next activation
   * waits for pg_ready again), still waiting for the OSDs' first PG stats,
   * or cluster-state not answering (logged once per distinct error).
   */
  async next(active: boolean, gid: bigint): Promise<Message | undefined> {
    if (!active) {
      this.activeSince = undefined;
      this.sentServices = undefined;
      return undefined;
    }
    if (this.activeSince === undefined) {
      this.activeSince = this.now();
      this.waitingLogged = false;
    }
    try {
      const [digestJson, health, progress, services] = await Promise.all([
        this.source.getView('pg_map_digest') as Promise<Json>,
        this.source.getView('health_mgr') as Promise<Json>,
        (this.source.getView('progress_events') as Promise<Json>).catch(() => ({})),
        (this.source.getView('service_map') as Promise<Json>).catch(() => undefined),
      ]);
      if (!digestJson.pg_ready && this.now() - this.activeSince < PG_READY_WAIT_MS) {
        if (!this.waitingLogged) this.log.info('not reporting PG stats to the monitors yet: waiting for every up OSD to report');
        this.waitingLogged = true;
        return undefined;
      }
      const { digest, badStates } = digestFromJson(digestJson);
      for (const s of badStates) {
        if (this.badStatesLogged.has(s)) continue;
        this.badStatesLogged.add(s);
        this.log.warn('a PG state not known to Pacific is left out of the report to the monitors', { state: s });
      }
      const digestBl = encodePGMapDigest(digest);
      const healthChecks = healthChecksFromJson(health.checks);
      const m = mMonMgrReport({ healthChecks, serviceMapBl: this.serviceMapBl(services), progressEvents: progressFromJson(progress), gid, digest: digestBl });
      if (this.lastError) this.log.info('reporting to the monitors again');
      this.lastError = '';
      if (!this.stats.reportsSent)
        this.log.info('first report to the monitors', {
          pgs: digest.num_pg,
          checks: healthChecks.size,
          digestBytes: digestBl.length,
          frontBytes: m.front.length,
        });
      this.stats.lastDigestBytes = digestBl.length;
      this.stats.lastReportBytes = m.front.length + digestBl.length;
      this.stats.lastChecks = healthChecks.size;
      return m;
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== this.lastError) this.log.warn('no report to the monitors this period: cluster-state did not answer', { error: msg });
      this.lastError = msg;
      return undefined;
    }
  }

  /** The monitors' service map is at `epoch` (their MServiceMap). */
  monitorsServiceMap(epoch: number): void {
    this.monitorsServiceEpoch = epoch;
  }

  /**
   * The service map to send: when it changed since the last one sent (or
   * none was sent since becoming active), at an epoch above the monitors'
   * and ours; otherwise nothing (an empty bufferlist: the monitors keep theirs).
   */
  private serviceMapBl(j: Json | undefined): Buffer {
    if (!j || this.monitorsServiceEpoch === undefined) return Buffer.alloc(0);
    const key = JSON.stringify(j.services ?? {});
    // unchanged, and the monitors hold ours (or an older one): nothing to send
    if (this.sentServices?.key === key && this.sentServices.epoch >= this.monitorsServiceEpoch) return Buffer.alloc(0);
    const epoch = Math.max(this.monitorsServiceEpoch, this.sentServices?.epoch ?? 0) + 1;
    const ms = this.now();
    const bl = serviceMapBytes(serviceMapFromJson(j, epoch, { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 }));
    this.sentServices = { key, epoch };
    this.stats.serviceMapsSent++;
    return bl;
  }

  /** Counts a report the monitor client sent. */
  sent(): void {
    this.stats.reportsSent++;
  }
}
