// What /metrics says, as a pure function of what the module read: the
// families, names, labels and types of Ceph Pacific's prometheus module
// (src/pybind/mgr/prometheus/module.py, 16.2.15), so that Ceph's shipped
// alert rules and Grafana dashboards work unchanged. Every input may be null
// (a map not yet published); its families are then left out rather than
// failing the whole scrape.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import { MetricSet } from './exposition';
import type { HealthHistoryEntry } from './health-history';

/** One RBD image's I/O counters, as the OSD perf query Ceph's module registers aggregates them. */
export interface RbdImageStats {
  pool: string;
  namespace: string;
  image: string;
  /** Counters in Ceph's order: write_ops, read_ops, write_bytes, read_bytes, write_latency, read_latency; each [sum, count]. */
  counters: Array<[number, number]>;
}

/** Everything one collection reads (each a get() result or SDK call). */
export interface CollectInput {
  health?: { json: string } | null;
  /** Health checks ever seen (Ceph's HealthHistory): a cleared check stays, at 0. Without it, the current checks. */
  healthHistory?: Record<string, HealthHistoryEntry> | null;
  df?: any;
  osdPoolStats?: any;
  /** get('pool_stats'): per-pool stat sums (objects repaired). */
  poolStats?: any;
  fsMap?: any;
  osdStats?: any;
  monStatus?: { json: string } | null;
  /** Used for mon metadata when no mon_status was published (quorum is then unknown). */
  monMap?: any;
  mgrMap?: any;
  osdMap?: any;
  osdMapCrush?: any;
  osdMetadata?: Record<string, Record<string, string>> | null;
  /** get_metadata('rbd-mirror', id) of each rbd-mirror daemon in servers. */
  rbdMirrorMetadata?: Record<string, Record<string, string>> | null;
  servers?: any[] | null;
  pgStatus?: any;
  pgSummary?: any;
  /** get_daemon_health_metrics(): daemon -> [{type, value}]. */
  healthMetrics?: Record<string, Array<{ type: string; value: number }>> | null;
  perfCounters?: Record<string, Record<string, any>> | null;
  /** Per-image RBD counters of the pools named by rbd_stats_pools. */
  rbdImages?: RbdImageStats[] | null;
  /** Seconds spent per collection step, summed since the module started, and how often each ran. */
  collectDurations?: Record<string, { sum: number; count: number }> | null;
}

// Ceph's mgr_module.PG_STATES: every state gets a pg_<state> gauge per pool (0 when none).
export const PG_STATES = [
  'active',
  'clean',
  'down',
  'recovery_unfound',
  'backfill_unfound',
  'scrubbing',
  'degraded',
  'inconsistent',
  'peering',
  'repair',
  'recovering',
  'forced_recovery',
  'backfill_wait',
  'incomplete',
  'stale',
  'remapped',
  'deep',
  'backfilling',
  'forced_backfill',
  'backfill_toofull',
  'recovery_wait',
  'recovery_toofull',
  'undersized',
  'activating',
  'peered',
  'snaptrim',
  'snaptrim_wait',
  'snaptrim_error',
  'creating',
  'unknown',
  'premerge',
  'failed_repair',
  'laggy',
  'wait',
];

const DF_CLUSTER = ['total_bytes', 'total_used_bytes', 'total_used_raw_bytes'];
const DF_POOL = [
  'max_avail',
  'avail_raw',
  'stored',
  'stored_raw',
  'objects',
  'dirty',
  'quota_bytes',
  'quota_objects',
  'rd',
  'rd_bytes',
  'wr',
  'wr_bytes',
  'compress_bytes_used',
  'compress_under_bytes',
  'bytes_used',
  'percent_used',
];
// Pool I/O totals only grow: Ceph types them counter, the rest of df gauge.
const DF_POOL_COUNTERS = new Set(['rd', 'rd_bytes', 'wr', 'wr_bytes']);
const OSD_POOL_STATS = ['recovering_objects_per_sec', 'recovering_bytes_per_sec', 'recovering_keys_per_sec', 'num_objects_recovered', 'num_bytes_recovered'];
const OSD_FLAGS = ['noup', 'nodown', 'noout', 'noin', 'nobackfill', 'norebalance', 'norecover', 'noscrub', 'nodeep-scrub'];
const OSD_STATUS = ['weight', 'up', 'in'];
const OSD_STATS = ['apply_latency_ms', 'commit_latency_ms'];
const NUM_OBJECTS = ['degraded', 'misplaced', 'unfound'];
const OSD_METADATA = ['back_iface', 'ceph_daemon', 'cluster_addr', 'device_class', 'front_iface', 'hostname', 'objectstore', 'public_addr', 'ceph_version'];
const DISK_OCCUPATION = ['ceph_daemon', 'device', 'db_device', 'wal_device', 'instance', 'devices', 'device_ids'];
const RBD_MIRROR_METADATA = ['ceph_daemon', 'id', 'instance_id', 'hostname', 'ceph_version'];
// Health checks that also get a gauge of their own, valued from the check's summary.
const HEALTH_CHECK_GAUGES = [{ name: 'SLOW_OPS', desc: 'OSD or Monitor requests taking a long time to process' }];
// Ceph's rbd_stats counters_info, in its order (the OSD perf query returns them so).
export const RBD_COUNTERS: Array<{ key: string; desc: string; avg: boolean }> = [
  { key: 'write_ops', desc: 'RBD image writes count', avg: false },
  { key: 'read_ops', desc: 'RBD image reads count', avg: false },
  { key: 'write_bytes', desc: 'RBD image bytes written', avg: false },
  { key: 'read_bytes', desc: 'RBD image bytes read', avg: false },
  { key: 'write_latency', desc: 'RBD image writes latency (msec)', avg: true },
  { key: 'read_latency', desc: 'RBD image reads latency (msec)', avg: true },
];

// Perf counter type bits (Ceph's perf_counter_type_d).
const PERFCOUNTER_TIME = 1;
const PERFCOUNTER_LONGRUNAVG = 4;
const PERFCOUNTER_COUNTER = 8;
const PERFCOUNTER_HISTOGRAM = 16;

const HEALTH_NUMBER: Record<string, number> = { HEALTH_OK: 0, HEALTH_WARN: 1, HEALTH_ERR: 2 };

function parseJsonField(v: { json: string } | null | undefined): any {
  if (!v || typeof v.json !== 'string') return null;
  try {
    return JSON.parse(v.json);
  } catch {
    return null;
  }
}

/** "127.0.0.1:6801/8103" -> "127.0.0.1"; "[::1]:6801/0" -> "::1". */
export function addrHost(addr: string | undefined): string {
  if (!addr) return '';
  const noNonce = addr.split('/')[0];
  const v6 = /^\[([^\]]+)\]/.exec(noNonce);
  if (v6) return v6[1];
  const i = noNonce.lastIndexOf(':');
  return i > 0 ? noNonce.slice(0, i) : noNonce;
}

/** Ceph's _stattype_to_str: '' for types Prometheus cannot take. */
function statType(type: number): 'gauge' | 'counter' | 'histogram' | '' {
  const only = type & ~3;
  if (only === 0) return 'gauge';
  if (only === PERFCOUNTER_LONGRUNAVG || only === PERFCOUNTER_COUNTER) return 'counter';
  if (only & PERFCOUNTER_HISTOGRAM) return 'histogram';
  return '';
}

/**
 * Ceph's _perfpath_to_path_labels: rgw daemons are labelled instance_id
 * (their id; the dashboards join it with ceph_rgw_metadata), every other
 * daemon ceph_daemon; rbd-mirror's per-image counters move pool, namespace
 * and image into labels.
 */
function perfPathLabels(daemon: string, path: string): { path: string; names: string[]; values: string[] } {
  if (daemon.startsWith('rgw.')) return { path, names: ['instance_id'], values: [daemon.slice(4)] };
  if (daemon.startsWith('rbd-mirror.')) {
    const m = /^rbd_mirror_image_([^/]+)\/(?:(?:([^/]+)\/)?)(.*)\.(replay(?:_bytes|_latency)?)$/.exec(path);
    if (m) return { path: `rbd_mirror_image_${m[4]}`, names: ['ceph_daemon', 'pool', 'namespace', 'image'], values: [daemon, m[1], m[2] ?? '', m[3]] };
  }
  return { path, names: ['ceph_daemon'], values: [daemon] };
}

/** Ceph's SLOW_OPS gauge reads the first word of the check's summary ("42 slow ops, oldest ..."); null when it is not a number. */
function leadingCount(message: string): number | null {
  const first = message.split(' ')[0];
  return /^\d+$/.test(first) ? Number(first) : null;
}

/** Builds the metric families. */
export function collectMetrics(input: CollectInput): MetricSet {
  const ms = new MetricSet();

  // (id, type) -> [hostname, version, name], from list_servers.
  const services = new Map<string, [string, string, string]>();
  for (const server of input.servers ?? []) {
    for (const s of server?.services ?? [])
      services.set(`${s.type}.${s.id}`, [String(server.hostname ?? ''), String(s.ceph_version ?? server.ceph_version ?? ''), String(s.name ?? '')]);
  }
  const hostVersion = (daemon: string): [string, string] => {
    const s = services.get(daemon);
    return s ? [s[0], s[1]] : ['', ''];
  };

  collectHealth(ms, input);
  collectDf(ms, input);

  for (const pool of input.osdPoolStats?.pool_stats ?? []) {
    for (const stat of OSD_POOL_STATS) {
      ms.metric('gauge', `pool_${stat}`, `OSD pool stats: ${stat}`, ['pool_id']).set(Number(pool.recovery_rate?.[stat] ?? 0), [pool.pool_id]);
    }
  }

  if (input.fsMap) {
    const fsMeta = ms.metric('untyped', 'fs_metadata', 'FS Metadata', ['data_pools', 'fs_id', 'metadata_pool', 'name']);
    const mdsMeta = ms.metric('untyped', 'mds_metadata', 'MDS Metadata', ['ceph_daemon', 'fs_id', 'hostname', 'public_addr', 'rank', 'ceph_version']);
    for (const d of input.fsMap.standbys ?? []) {
      const daemon = `mds.${d.name}`;
      const [host, version] = hostVersion(daemon);
      mdsMeta.set(1, [daemon, '-1', host, d.addr ?? '', d.rank ?? '', version]);
    }
    for (const fs of input.fsMap.filesystems ?? []) {
      const m = fs.mdsmap ?? {};
      fsMeta.set(1, [(m.data_pools ?? []).join(','), fs.id, m.metadata_pool ?? '', m.fs_name ?? '']);
      for (const d of Object.values<any>(m.info ?? {})) {
        const daemon = `mds.${d.name}`;
        const [host, version] = hostVersion(daemon);
        mdsMeta.set(1, [daemon, fs.id, host, d.addr ?? '', d.rank ?? '', version]);
      }
    }
  }

  for (const osd of input.osdStats?.osd_stats ?? []) {
    for (const stat of OSD_STATS) {
      ms.metric('gauge', `osd_${stat}`, `OSD stat ${stat}`, ['ceph_daemon']).set(Number(osd.perf_stat?.[stat] ?? 0), [`osd.${osd.osd}`]);
    }
  }

  const monStatus = parseJsonField(input.monStatus);
  const monmap = monStatus?.monmap ?? input.monMap;
  if (monmap) {
    const quorum = monStatus ? new Set<number>(monStatus.quorum ?? []) : null;
    const meta = ms.metric('untyped', 'mon_metadata', 'MON Metadata', ['ceph_daemon', 'hostname', 'public_addr', 'rank', 'ceph_version']);
    const inQuorum = ms.metric('gauge', 'mon_quorum_status', 'Monitors in quorum', ['ceph_daemon']);
    for (const mon of monmap.mons ?? []) {
      const daemon = `mon.${mon.name}`;
      const [host, version] = hostVersion(daemon);
      meta.set(1, [daemon, host, addrHost(mon.public_addr), mon.rank, version]);
      if (quorum) inQuorum.set(quorum.has(mon.rank) ? 1 : 0, [daemon]);
    }
  }

  if (input.mgrMap) collectMgr(ms, input.mgrMap, hostVersion);
  if (input.osdMap) collectOsds(ms, input, hostVersion);

  // Service daemons from list_servers: rgw (ceph_daemon rgw.<name>, instance_id its id) and rbd-mirror.
  for (const [key, [host, version, name]] of services) {
    if (key.startsWith('rgw.')) {
      const id = key.slice(4);
      ms.metric('untyped', 'rgw_metadata', 'RGW Metadata', ['ceph_daemon', 'hostname', 'ceph_version', 'instance_id']).set(1, [
        `rgw.${name || id}`,
        host,
        version,
        id,
      ]);
    } else if (key.startsWith('rbd-mirror.')) {
      const md = input.rbdMirrorMetadata?.[key.slice('rbd-mirror.'.length)];
      if (!md) continue;
      const labels = { ...md, ceph_daemon: key };
      ms.metric('untyped', 'rbd_mirror_metadata', 'RBD Mirror Metadata', RBD_MIRROR_METADATA).set(
        1,
        RBD_MIRROR_METADATA.map((k) => String((labels as Record<string, string>)[k] ?? '')),
      );
    }
  }

  collectPgs(ms, input);

  for (const pool of input.poolStats?.pool_stats ?? []) {
    // Ceph labels this one `poolid` (not pool_id), as pg_dump's pool_stats do.
    ms.metric('counter', 'pool_objects_repaired', 'Number of objects repaired in a pool Count', ['poolid']).set(
      Number(pool.stat_sum?.num_objects_repaired ?? 0),
      [pool.poolid],
    );
  }

  const sum = input.pgSummary?.pg_stats_sum?.stat_sum;
  if (sum) {
    for (const o of NUM_OBJECTS) ms.metric('gauge', `num_objects_${o}`, `Number of ${o} objects`).set(Number(sum[`num_objects_${o}`] ?? 0));
  }

  for (const [daemon, metrics] of Object.entries(input.healthMetrics ?? {})) {
    for (const m of metrics ?? [])
      ms.metric('gauge', 'daemon_health_metrics', 'Health metrics for Ceph daemons', ['type', 'ceph_daemon']).set(Number(m.value ?? 0), [
        String(m.type),
        daemon,
      ]);
  }

  collectPerfCounters(ms, input.perfCounters);
  collectRbd(ms, input.rbdImages);

  for (const [method, { sum: seconds, count }] of Object.entries(input.collectDurations ?? {})) {
    ms.metric('counter', 'prometheus_collect_duration_seconds_sum', 'The sum of seconds took to collect all metrics of this exporter', ['method']).set(
      seconds,
      [method],
    );
    ms.metric('counter', 'prometheus_collect_duration_seconds_count', 'The amount of metrics gathered for this exporter', ['method']).set(count, [method]);
  }
  return ms;
}

function collectHealth(ms: MetricSet, input: CollectInput): void {
  const health = parseJsonField(input.health);
  if (!health) return;
  ms.metric('untyped', 'health_status', 'Cluster health status').set(HEALTH_NUMBER[health.status] ?? 2);
  const checks: Record<string, any> = health.checks ?? {};
  for (const g of HEALTH_CHECK_GAUGES) {
    // 0 while the check is inactive; left out (as Ceph drops it) when its summary has no count.
    const check = checks[g.name];
    const v = check ? leadingCount(String(check.summary?.message ?? '')) : 0;
    if (v !== null) ms.metric('gauge', `healthcheck_${g.name.toLowerCase()}`, g.desc).set(v);
  }
  const detail = ms.metric('gauge', 'health_detail', 'healthcheck status by type (0=inactive, 1=active)', ['name', 'severity']);
  const history =
    input.healthHistory ?? Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, { severity: String(c?.severity ?? ''), active: true }]));
  for (const [name, h] of Object.entries(history)) detail.set(h.active ? 1 : 0, [name, String(h.severity ?? '')]);
}

function collectDf(ms: MetricSet, input: CollectInput): void {
  if (!input.df) return;
  for (const stat of DF_CLUSTER) {
    const v = input.df.stats?.[stat];
    if (typeof v === 'number') ms.metric('gauge', `cluster_${stat}`, `DF ${stat}`).set(v);
  }
  for (const pool of input.df.pools ?? []) {
    for (const stat of DF_POOL) {
      const v = pool.stats?.[stat];
      if (typeof v === 'number') ms.metric(DF_POOL_COUNTERS.has(stat) ? 'counter' : 'gauge', `pool_${stat}`, `DF pool ${stat}`, ['pool_id']).set(v, [pool.id]);
    }
  }
}

function collectMgr(ms: MetricSet, mm: any, hostVersion: (d: string) => [string, string]): void {
  const meta = ms.metric('gauge', 'mgr_metadata', 'MGR metadata', ['ceph_daemon', 'hostname', 'ceph_version']);
  const status = ms.metric('gauge', 'mgr_status', 'MGR status (0=standby, 1=active)', ['ceph_daemon']);
  const mgrs: Array<[string, number]> = (mm.standbys ?? []).map((s: any) => [String(s.name), 0]);
  if (mm.active_name) mgrs.push([String(mm.active_name), 1]);
  for (const [name, state] of mgrs) {
    const [host, version] = hostVersion(`mgr.${name}`);
    meta.set(1, [`mgr.${name}`, host, version]);
    status.set(state, [`mgr.${name}`]);
  }
  // This release's always-on modules (Ceph reads always_on_modules[release_name]).
  const byRelease = mm.always_on_modules ?? {};
  const alwaysOn = new Set<string>(byRelease.pacific ?? Object.values<string[]>(byRelease).flat());
  const enabled = new Set<string>(mm.modules ?? []);
  const modStatus = ms.metric('gauge', 'mgr_module_status', 'MGR module status (0=disabled, 1=enabled, 2=auto-enabled)', ['name']);
  const canRun = ms.metric('gauge', 'mgr_module_can_run', 'MGR module runnable state i.e. can it run (0=no, 1=yes)', ['name']);
  for (const mod of mm.available_modules ?? []) {
    modStatus.set(alwaysOn.has(mod.name) ? 2 : enabled.has(mod.name) ? 1 : 0, [mod.name]);
    canRun.set(mod.can_run ? 1 : 0, [mod.name]);
  }
}

function collectOsds(ms: MetricSet, input: CollectInput, hostVersion: (d: string) => [string, string]): void {
  const osdMap = input.osdMap;
  const flags = new Set(String(osdMap.flags ?? '').split(','));
  for (const flag of OSD_FLAGS) ms.metric('untyped', `osd_flag_${flag}`, `OSD Flag ${flag}`).set(flags.has(flag) ? 1 : 0);
  const crushDevices: any[] | undefined = input.osdMapCrush?.devices;
  const devClass = new Map<number, string>();
  for (const d of crushDevices ?? []) devClass.set(Number(d.id), String(d.class ?? ''));
  const meta = ms.metric('untyped', 'osd_metadata', 'OSD Metadata', OSD_METADATA);
  const disk = ms.metric('untyped', 'disk_occupation', 'Associate Ceph daemon with disk used', DISK_OCCUPATION);
  const statusMetrics = OSD_STATUS.map((s) => ms.metric('untyped', `osd_${s}`, `OSD status ${s}`, ['ceph_daemon']));
  // (device, instance) -> the OSDs on it: disk_occupation_human joins them.
  const byDisk = new Map<string, { device: string; instance: string; daemons: string[] }>();
  for (const osd of osdMap.osds ?? []) {
    const id = osd.osd;
    const daemon = `osd.${id}`;
    const pAddr = addrHost(osd.public_addr);
    const cAddr = addrHost(osd.cluster_addr);
    // As Ceph: an OSD that never booted (no address), is not in CRUSH or has no metadata gets no line at all.
    if (!pAddr || pAddr === '-' || cAddr === '-') continue;
    if (crushDevices && !devClass.has(id)) continue;
    const md = input.osdMetadata?.[String(id)];
    if (!md) continue;
    const [host, version] = hostVersion(daemon);
    meta.set(1, [
      md.back_iface ?? '',
      daemon,
      cAddr,
      devClass.get(id) ?? '',
      md.front_iface ?? '',
      host || md.hostname || '',
      md.osd_objectstore ?? '',
      pAddr,
      version || md.ceph_version || '',
    ]);
    OSD_STATUS.forEach((s, i) => statusMetrics[i].set(Number(osd[s] ?? 0), [daemon]));
    const store = md.osd_objectstore;
    let dev = store === 'filestore' ? md.backend_filestore_dev_node : store === 'bluestore' ? md.bluestore_bdev_dev_node : undefined;
    const wal = store === 'filestore' ? (md.osd_journal ?? '') : store === 'bluestore' ? (md.bluefs_wal_dev_node ?? '') : '';
    const db = store === 'bluestore' ? (md.bluefs_db_dev_node ?? '') : '';
    if (dev === 'unknown') dev = undefined;
    if (!dev || !md.hostname) continue;
    disk.set(1, [daemon, dev, db, wal, md.hostname, md.devices || 'N/A', md.device_ids || 'N/A']);
    const k = `${dev}\u0000${md.hostname}`;
    const group = byDisk.get(k) ?? { device: dev, instance: md.hostname, daemons: [] };
    group.daemons.push(daemon);
    byDisk.set(k, group);
  }
  if (byDisk.size) {
    // Ceph's group_by(['device', 'instance'], {ceph_daemon: ', '.join}): one line per disk, for display.
    const human = ms.metric(
      'untyped',
      'disk_occupation_human',
      'Associate Ceph daemon with disk used for displaying to humans, not for joining tables (vector matching)',
      ['ceph_daemon', 'device', 'instance'],
    );
    for (const g of byDisk.values()) human.set(1, [g.daemons.join(', '), g.device, g.instance]);
  }
  const ecProfiles = osdMap.erasure_code_profiles ?? {};
  const poolMeta = ms.metric('untyped', 'pool_metadata', 'POOL Metadata', ['pool_id', 'name', 'type', 'description', 'compression_mode']);
  for (const pool of osdMap.pools ?? []) {
    let type = 'unknown';
    let description = 'unknown';
    if (pool.type === 1) {
      type = 'replicated';
      description = `replica:${pool.size}`;
    } else if (pool.type === 3) {
      type = 'erasure';
      const profile = ecProfiles[pool.erasure_code_profile ?? ''];
      description = profile ? `ec:${profile.k}+${profile.m}` : 'ec:unknown';
    }
    poolMeta.set(1, [pool.pool, pool.pool_name, type, description, pool.options?.compression_mode ?? 'none']);
  }
}

function collectPgs(ms: MetricSet, input: CollectInput): void {
  // Per pool, from pg_summary's by_pool (Ceph's get_pg_status): every state, and the pool's total.
  for (const [pool, byState] of Object.entries<Record<string, number>>(input.pgSummary?.by_pool ?? {})) {
    const n: Record<string, number> = {};
    let total = 0;
    for (const [stateName, count] of Object.entries(byState ?? {})) {
      for (const state of stateName.split('+')) n[state] = (n[state] ?? 0) + Number(count);
      total += Number(count);
    }
    for (const state of PG_STATES) ms.metric('gauge', `pg_${state}`, `PG ${state} per pool`, ['pool_id']).set(n[state] ?? 0, [pool]);
    ms.metric('gauge', 'pg_total', 'PG Total Count per Pool', ['pool_id']).set(total, [pool]);
  }
}

function collectPerfCounters(ms: MetricSet, perfCounters: CollectInput['perfCounters']): void {
  // Daemon perf counters: one family per counter path.
  const put = (type: 'gauge' | 'counter', p: string, help: string, names: string[], values: string[], v: number) => {
    const m = ms.metric(type, p, help, names);
    // A counter whose name collides with a family of other labels is left out, not fatal.
    if (m.labelNames.length === names.length && m.labelNames.every((n, i) => n === names[i])) m.set(v, values);
  };
  for (const [daemon, counters] of Object.entries(perfCounters ?? {})) {
    for (const [rawPath, c] of Object.entries<any>(counters ?? {})) {
      const t = Number(c?.type ?? 0);
      const st = statType(t);
      if (!st || st === 'histogram') continue;
      const { path, names, values } = perfPathLabels(daemon, rawPath);
      // Time counters are nanoseconds; Prometheus wants seconds.
      const value = t & PERFCOUNTER_TIME ? Number(c.value) / 1e9 : Number(c.value);
      const desc = String(c.description ?? rawPath);
      // rgw's sync counters name the zone in the path; Ceph adds a copy with it as source_zone.
      const sync = /^data-sync-from-(.*)\./.exec(path);
      const variants: Array<[string, string[], string[]]> = [[path, names, values]];
      if (sync) variants.push([path.replace(/from-([^.]*)/, 'from-zone'), [...names, 'source_zone'], [...values, sync[1]]]);
      for (const [p, n, v] of variants) {
        if (t & PERFCOUNTER_LONGRUNAVG) {
          put(st, `${p}_sum`, `${desc} Total`, n, v, value);
          put('counter', `${p}_count`, `${desc} Count`, n, v, Number(c.count ?? 0));
        } else {
          put(st, p, desc, n, v, value);
        }
      }
    }
  }
}

function collectRbd(ms: MetricSet, images: CollectInput['rbdImages']): void {
  const labels = ['pool', 'namespace', 'image'];
  for (const img of images ?? []) {
    const lv = [img.pool, img.namespace, img.image];
    RBD_COUNTERS.forEach((c, i) => {
      const [sum, count] = img.counters[i] ?? [0, 0];
      if (c.avg) {
        ms.metric('counter', `rbd_${c.key}_sum`, `${c.desc} Total`, labels).set(sum, lv);
        ms.metric('counter', `rbd_${c.key}_count`, `${c.desc} Count`, labels).set(count, lv);
      } else {
        ms.metric('counter', `rbd_${c.key}`, c.desc, labels).set(sum, lv);
      }
    });
  }
}
