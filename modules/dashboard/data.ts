// What the page shows, built from the module API (the same get() names Ceph's
// dashboard reads: osd_map, pg_status, df, health, ...). Each function takes
// parsed objects and returns plain JSON, so it is easy to test and reason about.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */

export interface Source {
  get<T = any>(what: string): Promise<T>;
  listServers(): Promise<any[]>;
}

export interface HealthCheckView {
  code: string;
  severity: string;
  summary: string;
  count: number;
  detail: string[];
}

export interface Sample {
  /** seconds since the epoch */
  t: number;
  readOps: number;
  writeOps: number;
  readBytes: number;
  writeBytes: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v) || 0);

/** `health` is `{"json": "<string>"}` as Ceph's digest gives it. */
export function healthView(raw: any): { status: string; checks: HealthCheckView[] } {
  let doc: any = raw;
  if (raw && typeof raw.json === 'string') {
    try {
      doc = JSON.parse(raw.json);
    } catch {
      doc = null;
    }
  }
  if (!doc) return { status: 'HEALTH_UNKNOWN', checks: [] };
  const checks = Object.entries(doc.checks ?? {}).map(([code, c]: [string, any]) => ({
    code,
    severity: String(c.severity ?? ''),
    summary: String(c.summary?.message ?? ''),
    count: num(c.summary?.count),
    detail: (c.detail ?? []).map((d: any) => String(d.message ?? d)),
  }));
  return { status: String(doc.status ?? 'HEALTH_UNKNOWN'), checks };
}

/** The rates `ceph -s` prints (pg_status omits zero rates, as Ceph does). */
export function ioSample(pgStatus: any, t: number): Sample {
  return {
    t,
    readOps: num(pgStatus?.read_op_per_sec),
    writeOps: num(pgStatus?.write_op_per_sec),
    readBytes: num(pgStatus?.read_bytes_sec),
    writeBytes: num(pgStatus?.write_bytes_sec),
  };
}

export async function summary(src: Source, history: Sample[]): Promise<Record<string, unknown>> {
  const [osdMap, pgStatus, health, monMap, monStatus, fsMap, serviceMap, mgrMap, servers] = await Promise.all([
    src.get('osd_map'),
    src.get('pg_status'),
    src.get('health'),
    src.get('mon_map'),
    src.get('mon_status'),
    src.get('fs_map'),
    src.get('service_map'),
    src.get('mgr_map'),
    src.listServers().catch(() => []),
  ]);
  const osds: any[] = osdMap?.osds ?? [];
  const quorum: unknown[] | null = parseMaybe(monStatus)?.quorum ?? null;
  const mdsInfo: any[] = (fsMap?.filesystems ?? []).flatMap((f: any) => Object.values(f.mdsmap?.info ?? {}));
  // rgw daemons from the service map, or from the daemons' own reports when no service map lists them.
  const rgwInMap = Object.keys(serviceMap?.services?.rgw?.daemons ?? {}).filter((k) => k !== 'summary').length;
  const rgwReporting = servers.reduce((n: number, s: any) => n + (s.services ?? []).filter((d: any) => d.type === 'rgw').length, 0);
  return {
    fsid: osdMap?.fsid ?? '',
    health: healthView(health),
    osd: {
      epoch: num(osdMap?.epoch),
      total: osds.length,
      up: osds.filter((o) => num(o.up) === 1).length,
      in: osds.filter((o) => num(o.in) === 1).length,
    },
    pg: {
      total: num(pgStatus?.num_pgs),
      states: (pgStatus?.pgs_by_state ?? []).map((s: any) => ({ state: String(s.state_name), count: num(s.count) })),
    },
    capacity: { total: num(pgStatus?.bytes_total), used: num(pgStatus?.bytes_used), avail: num(pgStatus?.bytes_avail), objects: num(pgStatus?.num_objects) },
    pools: num(pgStatus?.num_pools) || (osdMap?.pools ?? []).length,
    hosts: servers.length,
    mon: { total: (monMap?.mons ?? []).length, quorum: quorum ? quorum.length : null },
    mds: { total: mdsInfo.length + (fsMap?.standbys ?? []).length, active: mdsInfo.filter((i: any) => String(i.state) === 'up:active').length },
    mgr: { active: mgrMap?.active_name ?? '', standbys: (mgrMap?.standbys ?? []).map((s: any) => s.name) },
    rgw: Math.max(rgwInMap, rgwReporting),
    io: history.length ? history[history.length - 1] : ioSample(pgStatus, Date.now() / 1000),
    history: history.map((s) => [s.t, s.readOps, s.writeOps, s.readBytes, s.writeBytes]),
  };
}

function parseMaybe(v: any): any {
  if (v && typeof v.json === 'string') {
    try {
      return JSON.parse(v.json);
    } catch {
      return null;
    }
  }
  return v;
}

export async function osdTable(src: Source): Promise<Record<string, unknown>> {
  const [osdMap, osdStats, metadata] = await Promise.all([src.get('osd_map'), src.get('osd_stats'), src.get('osd_metadata')]);
  const stats = new Map<number, any>((osdStats?.osd_stats ?? []).map((s: any) => [num(s.osd), s]));
  return {
    osds: (osdMap?.osds ?? []).map((o: any) => {
      const s = stats.get(num(o.osd)) ?? {};
      return {
        id: num(o.osd),
        host: metadata?.[String(o.osd)]?.hostname ?? '',
        up: num(o.up) === 1,
        in: num(o.in) === 1,
        weight: num(o.weight),
        pgs: num(s.num_pgs),
        bytesTotal: num(s.kb) * 1024,
        bytesUsed: num(s.kb_used) * 1024,
        deviceClass: metadata?.[String(o.osd)]?.default_device_class ?? '',
      };
    }),
  };
}

export async function poolTable(src: Source): Promise<Record<string, unknown>> {
  const [osdMap, df, poolStats] = await Promise.all([src.get('osd_map'), src.get('df'), src.get('osd_pool_stats')]);
  const dfById = new Map<number, any>((df?.pools ?? []).map((p: any) => [num(p.id), p.stats ?? {}]));
  const rates = new Map<number, any>((poolStats?.pool_stats ?? []).map((p: any) => [num(p.pool_id), p.client_io_rate ?? {}]));
  return {
    pools: (osdMap?.pools ?? []).map((p: any) => {
      const st = dfById.get(num(p.pool)) ?? {};
      const io = rates.get(num(p.pool)) ?? {};
      return {
        id: num(p.pool),
        name: String(p.pool_name),
        type: num(p.type) === 3 ? 'erasure' : 'replicated',
        size: num(p.size),
        minSize: num(p.min_size),
        pgNum: num(p.pg_num),
        applications: Object.keys(p.application_metadata ?? {}),
        stored: num(st.stored),
        objects: num(st.objects),
        maxAvail: num(st.max_avail),
        percentUsed: num(st.percent_used),
        readOps: num(io.read_op_per_sec),
        writeOps: num(io.write_op_per_sec),
      };
    }),
  };
}

export async function hostTable(src: Source): Promise<Record<string, unknown>> {
  const servers = await src.listServers();
  return {
    hosts: servers
      .map((s: any) => ({
        hostname: String(s.hostname),
        version: String(s.ceph_version ?? '').replace(/^ceph version (\S+).*$/, '$1'),
        services: (s.services ?? []).map((d: any) => `${d.type}.${d.id}`).sort((a: string, b: string) => a.localeCompare(b, 'en', { numeric: true })),
      }))
      .sort((a: any, b: any) => a.hostname.localeCompare(b.hostname)),
  };
}
