// What /metrics says, as a pure function of what the module read: the same
// families, names and labels as Ceph Pacific's prometheus module, so
// existing dashboards and alert rules work unchanged. Every input may be
// null (a map not yet published); its families are then left out rather
// than failing the whole scrape.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import { MetricSet } from './exposition';

/** Everything one collection reads (each a get() result or SDK call). */
export interface CollectInput {
  health?: { json: string } | null;
  df?: any;
  osdPoolStats?: any;
  fsMap?: any;
  osdStats?: any;
  monStatus?: { json: string } | null;
  /** Used for mon metadata when no mon_status was published (quorum is then unknown). */
  monMap?: any;
  mgrMap?: any;
  osdMap?: any;
  osdMapCrush?: any;
  osdMetadata?: Record<string, Record<string, string>> | null;
  servers?: any[] | null;
  pgStatus?: any;
  pgSummary?: any;
  perfCounters?: Record<string, Record<string, any>> | null;
}

// Ceph's mgr_module.PG_STATES: every state gets a pg_<state> gauge (0 when none).
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
];
const OSD_POOL_STATS = ['recovering_objects_per_sec', 'recovering_bytes_per_sec', 'recovering_keys_per_sec', 'num_objects_recovered', 'num_bytes_recovered'];
const OSD_FLAGS = ['noup', 'nodown', 'noout', 'noin', 'nobackfill', 'norebalance', 'norecover', 'noscrub', 'nodeep-scrub'];
const OSD_STATUS = ['weight', 'up', 'in'];
const OSD_STATS = ['apply_latency_ms', 'commit_latency_ms'];
const NUM_OBJECTS = ['degraded', 'misplaced', 'unfound'];
const OSD_METADATA = ['back_iface', 'ceph_daemon', 'cluster_addr', 'device_class', 'front_iface', 'hostname', 'objectstore', 'public_addr', 'ceph_version'];
const DISK_OCCUPATION = ['ceph_daemon', 'device', 'db_device', 'wal_device', 'instance'];

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

/** Builds the metric families; collectSeconds feeds the scrape-duration gauge. */
export function collectMetrics(input: CollectInput, opts: { collectSeconds?: number } = {}): MetricSet {
  const ms = new MetricSet();

  // service (id, type) -> [hostname, version], from list_servers.
  const services = new Map<string, [string, string]>();
  for (const server of input.servers ?? []) {
    for (const s of server?.services ?? [])
      services.set(`${s.type}.${s.id}`, [String(server.hostname ?? ''), String(s.ceph_version ?? server.ceph_version ?? '')]);
  }
  const hostVersion = (daemon: string): [string, string] => services.get(daemon) ?? ['', ''];

  const health = parseJsonField(input.health);
  if (health) {
    ms.metric('untyped', 'health_status', 'Cluster health status').set(HEALTH_NUMBER[health.status] ?? 2);
    const detail = ms.metric('gauge', 'health_detail', 'healthcheck status by type (0=inactive, 1=active)', ['name', 'severity']);
    for (const [name, check] of Object.entries<any>(health.checks ?? {})) detail.set(1, [name, String(check?.severity ?? '')]);
  }

  if (input.df) {
    for (const stat of DF_CLUSTER) {
      const v = input.df.stats?.[stat];
      if (typeof v === 'number') ms.metric('gauge', `cluster_${stat}`, `DF ${stat}`).set(v);
    }
    for (const pool of input.df.pools ?? []) {
      for (const stat of DF_POOL) {
        const v = pool.stats?.[stat];
        if (typeof v === 'number') ms.metric('gauge', `pool_${stat}`, `DF pool ${stat}`, ['pool_id']).set(v, [pool.id]);
      }
    }
  }

  for (const pool of input.osdPoolStats?.pool_stats ?? []) {
    for (const stat of OSD_POOL_STATS) {
      ms.metric('gauge', `pool_${stat}`, `OSD pool stats: ${stat}`, ['pool_id']).set(Number(pool.recovery_rate?.[stat] ?? 0), [pool.pool_id]);
    }
  }

  if (input.fsMap) {
    const fsMeta = ms.metric('untyped', 'fs_metadata', 'FS Metadata', ['data_pools', 'fs_id', 'metadata_pool', 'name']);
    const mdsMeta = ms.metric('untyped', 'mds_metadata', 'MDS Metadata', ['ceph_daemon', 'fs_id', 'hostname', 'public_addr', 'rank', 'ceph_version']);
    for (const fs of input.fsMap.filesystems ?? []) {
      const m = fs.mdsmap ?? {};
      fsMeta.set(1, [(m.data_pools ?? []).join(','), fs.id, m.metadata_pool ?? '', m.fs_name ?? '']);
      for (const d of Object.values<any>(m.info ?? {})) {
        const daemon = `mds.${d.name}`;
        const [host, version] = hostVersion(daemon);
        mdsMeta.set(1, [daemon, fs.id, host, d.addr ?? '', d.rank ?? '', version]);
      }
    }
    for (const d of input.fsMap.standbys ?? []) {
      const daemon = `mds.${d.name}`;
      const [host, version] = hostVersion(daemon);
      mdsMeta.set(1, [daemon, '-1', host, d.addr ?? '', d.rank ?? '', version]);
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

  if (input.mgrMap) {
    const mm = input.mgrMap;
    const meta = ms.metric('gauge', 'mgr_metadata', 'MGR metadata', ['ceph_daemon', 'hostname', 'ceph_version']);
    const status = ms.metric('gauge', 'mgr_status', 'MGR status (0=standby, 1=active)', ['ceph_daemon']);
    const mgrs: Array<[string, number]> = (mm.standbys ?? []).map((s: any) => [String(s.name), 0]);
    if (mm.active_name) mgrs.push([String(mm.active_name), 1]);
    for (const [name, state] of mgrs) {
      const [host, version] = hostVersion(`mgr.${name}`);
      meta.set(1, [`mgr.${name}`, host, version]);
      status.set(state, [`mgr.${name}`]);
    }
    const alwaysOn = new Set<string>(Object.values<string[]>(mm.always_on_modules ?? {}).flat());
    const enabled = new Set<string>(mm.modules ?? []);
    const modStatus = ms.metric('gauge', 'mgr_module_status', 'MGR module status (0=disabled, 1=enabled, 2=auto-enabled)', ['name']);
    const canRun = ms.metric('gauge', 'mgr_module_can_run', 'MGR module runnable state i.e. can it run (0=no, 1=yes)', ['name']);
    for (const mod of mm.available_modules ?? []) {
      modStatus.set(alwaysOn.has(mod.name) ? 2 : enabled.has(mod.name) ? 1 : 0, [mod.name]);
      canRun.set(mod.can_run ? 1 : 0, [mod.name]);
    }
  }

  if (input.osdMap) {
    const flags = new Set(String(input.osdMap.flags ?? '').split(','));
    for (const flag of OSD_FLAGS) ms.metric('untyped', `osd_flag_${flag}`, `OSD Flag ${flag}`).set(flags.has(flag) ? 1 : 0);
    const devClass = new Map<number, string>();
    for (const d of input.osdMapCrush?.devices ?? []) devClass.set(Number(d.id), String(d.class ?? ''));
    const meta = ms.metric('untyped', 'osd_metadata', 'OSD Metadata', OSD_METADATA);
    const disk = ms.metric('untyped', 'disk_occupation', 'Associate Ceph daemon with disk used', DISK_OCCUPATION);
    const statusMetrics = OSD_STATUS.map((s) => ms.metric('untyped', `osd_${s}`, `OSD status ${s}`, ['ceph_daemon']));
    for (const osd of input.osdMap.osds ?? []) {
      const id = osd.osd;
      const daemon = `osd.${id}`;
      OSD_STATUS.forEach((s, i) => statusMetrics[i].set(Number(osd[s] ?? 0), [daemon]));
      const md = input.osdMetadata?.[String(id)];
      const pAddr = addrHost(osd.public_addr);
      const cAddr = addrHost(osd.cluster_addr);
      // As Ceph: no metadata line for an OSD that never booted (no address) or has no metadata.
      if (!md || pAddr === '-' || cAddr === '-' || !pAddr) continue;
      const [host, version] = hostVersion(daemon);
      meta.set(1, [
        md.back_iface ?? '',
        daemon,
        cAddr,
        devClass.get(id) ?? md.osd_objectstore_class ?? '',
        md.front_iface ?? '',
        host || md.hostname || '',
        md.osd_objectstore ?? '',
        pAddr,
        version || md.ceph_version || '',
      ]);
      const store = md.osd_objectstore;
      const dev = store === 'filestore' ? md.backend_filestore_dev_node : store === 'bluestore' ? md.bluestore_bdev_dev_node : undefined;
      const wal = store === 'filestore' ? (md.osd_journal ?? '') : (md.bluefs_wal_dev_node ?? '');
      const db = store === 'bluestore' ? (md.bluefs_db_dev_node ?? '') : '';
      if (dev && dev !== 'unknown' && md.hostname) disk.set(1, [daemon, dev, db, wal, md.hostname]);
    }
    const poolMeta = ms.metric('untyped', 'pool_metadata', 'POOL Metadata', ['pool_id', 'name', 'type', 'description', 'compression_mode']);
    for (const pool of input.osdMap.pools ?? []) {
      const type = pool.type === 3 ? 'erasure' : 'replicated';
      const description = type === 'erasure' ? `ec:${pool.erasure_code_profile ?? ''}` : `replica:${pool.size ?? ''}`;
      poolMeta.set(1, [pool.pool, pool.pool_name, type, description, pool.options?.compression_mode ?? 'none']);
    }
  }

  // rgw and other service daemons: metadata from list_servers.
  const rgwMeta = ms.metric('untyped', 'rgw_metadata', 'RGW Metadata', ['ceph_daemon', 'hostname', 'ceph_version', 'instance_id']);
  for (const [daemon, [host, version]] of services) {
    if (daemon.startsWith('rgw.')) rgwMeta.set(1, [daemon, host, version, daemon.slice(4)]);
  }

  if (input.pgStatus) {
    ms.metric('gauge', 'pg_total', 'PG Total Count').set(Number(input.pgStatus.num_pgs ?? 0));
    const byState: Record<string, number> = {};
    for (const s of input.pgStatus.pgs_by_state ?? []) {
      for (const state of String(s.state_name).split('+')) byState[state] = (byState[state] ?? 0) + Number(s.count ?? 0);
    }
    for (const state of PG_STATES) ms.metric('gauge', `pg_${state}`, `PG ${state}`).set(byState[state] ?? 0);
  }

  const sum = input.pgSummary?.pg_stats_sum?.stat_sum;
  if (sum) {
    for (const o of NUM_OBJECTS) ms.metric('gauge', `num_objects_${o}`, `Number of ${o} objects`).set(Number(sum[`num_objects_${o}`] ?? 0));
  }

  // Daemon perf counters: one family per counter path, labelled by daemon.
  for (const [daemon, counters] of Object.entries(input.perfCounters ?? {})) {
    for (const [path, c] of Object.entries<any>(counters ?? {})) {
      const t = Number(c?.type ?? 0);
      const st = statType(t);
      if (!st || st === 'histogram') continue;
      // Time counters are nanoseconds; Prometheus wants seconds.
      const value = t & PERFCOUNTER_TIME ? Number(c.value) / 1e9 : Number(c.value);
      const desc = String(c.description ?? path);
      const put = (type: 'gauge' | 'counter', p: string, help: string, v: number) => {
        const m = ms.metric(type, p, help, ['ceph_daemon']);
        // A counter whose name collides with a family of other labels is left out, not fatal.
        if (m.labelNames.length === 1 && m.labelNames[0] === 'ceph_daemon') m.set(v, [daemon]);
      };
      if (t & PERFCOUNTER_LONGRUNAVG) {
        put(st, `${path}_sum`, `${desc} Total`, value);
        put('counter', `${path}_count`, `${desc} Count`, Number(c.count ?? 0));
      } else {
        put(st, path, desc, value);
      }
    }
  }

  if (opts.collectSeconds !== undefined) ms.metric('gauge', 'scrape_duration_secs', 'Time taken to gather metrics from Ceph (secs)').set(opts.collectSeconds);
  return ms;
}
