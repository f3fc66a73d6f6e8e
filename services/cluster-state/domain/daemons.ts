// Ceph's DaemonStateIndex: per daemon its metadata, counter schema and the
// recent samples of every counter, status, health metrics and staleness.
// Reports arrive at thousands per second, so ingest only copies numbers into
// per-daemon arrays; JSON is built when someone asks.
import type { DaemonReport, PerfCounterType, DaemonSummary } from '../../../lib/gen/ceph/mgr/v1/cluster_state';

/** Ceph keeps the last 20 samples of each counter (DaemonPerfCounters). */
export const SAMPLES_KEPT = 20;
/** PERFCOUNTER_LONGRUNAVG: the counter carries (sum, count). */
const LONGRUNAVG = 4;
/** Ceph's PerfCountersBuilder::PRIO_USEFUL, get_all_perf_counters' default limit. */
export const PRIO_USEFUL = 5;

interface Counter {
  type: PerfCounterType;
  /** Ring of the last samples: time, value, and for averages the count. */
  times: Float64Array;
  values: Float64Array;
  counts: Float64Array | null;
  next: number;
  size: number;
}

export interface DaemonState {
  name: string;
  type: string;
  id: string;
  metadata: Record<string, string>;
  serviceDaemon: boolean;
  serviceName: string;
  counters: Map<string, Counter>;
  /** Declaration order: the order values are packed in. */
  order: string[];
  /** How many values a report must carry for this schema. */
  slots: number;
  status: Record<string, string> | null;
  taskStatus: Record<string, string>;
  healthMetrics: Array<{ type: string; value: number }>;
  lastReport: number;
  /** When its current session opened (seconds); a service daemon's start in the service map. */
  openedAt: number;
  stale: boolean;
  connected: boolean;
  /**
   * The counters of the previous session, from its open until the new
   * session's first values: a counter re-declared with the same type takes
   * its samples back (declares may come in a later report than the open).
   */
  retired: Map<string, Counter> | null;
}

/** "osd.3" -> ["osd", "3"]; "rgw.gw.1" -> ["rgw", "gw.1"]. */
export function splitDaemonName(name: string): [string, string] | null {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) return null;
  return [name.slice(0, dot), name.slice(dot + 1)];
}

const slotsOf = (t: PerfCounterType) => (t.type & LONGRUNAVG ? 2 : 1);

export interface ApplyOutcome {
  applied: number;
  rejected: string[];
  /** Daemons whose schema changed (perf_schema_update notifications). */
  schemaChanged: string[];
  /** Whether any daemon's health metrics or metadata changed. */
  metadataChanged: boolean;
  /** A daemon's health metrics changed (the SLOW_OPS check is derived from them). */
  healthMetricsChanged: boolean;
}

export class DaemonIndex {
  readonly daemons = new Map<string, DaemonState>();
  /** Bumped on metadata / membership changes (server views key on it). */
  version = 0;
  /** The service map's epoch and last change: bumped when a service daemon comes or goes. */
  serviceEpoch = 0;
  serviceModified = 0;

  private ensure(name: string): DaemonState {
    let d = this.daemons.get(name);
    if (!d) {
      const [type, id] = splitDaemonName(name)!;
      d = {
        name,
        type,
        id,
        metadata: {},
        serviceDaemon: false,
        serviceName: '',
        counters: new Map(),
        order: [],
        slots: 0,
        status: null,
        taskStatus: {},
        healthMetrics: [],
        lastReport: 0,
        openedAt: 0,
        stale: false,
        connected: true,
        retired: null,
      };
      this.daemons.set(name, d);
      this.version++;
    }
    return d;
  }

  /** Checks a report against the daemon's schema as it would be after declare/undeclare. */
  private check(r: DaemonReport, d: DaemonState | undefined): string | null {
    if (!splitDaemonName(r.daemon)) return `'${r.daemon}': a daemon name is <type>.<id>, e.g. osd.3`;
    if (r.values.length === 0) return null;
    if (!Number.isFinite(r.stamp) || r.stamp < 0) return `${r.daemon}: stamp ${r.stamp} is not a time`;
    // The common case (values only) is checked without building anything.
    if (d && !r.opened && !r.declare.length && !r.undeclare.length) {
      return d.slots === r.values.length
        ? null
        : `${r.daemon}: ${r.values.length} values for a schema of ${d.counters.size} counters taking ${d.slots} slots; report ignored`;
    }
    const counters = new Map(r.opened || !d ? [] : [...d.counters].map(([k, c]) => [k, c.type] as const));
    for (const u of r.undeclare) counters.delete(u);
    for (const t of r.declare) counters.set(t.path, t);
    let slots = 0;
    for (const t of counters.values()) slots += slotsOf(t);
    if (slots !== r.values.length)
      return `${r.daemon}: ${r.values.length} values for a schema of ${counters.size} counters taking ${slots} slots; report ignored`;
    return null;
  }

  apply(reports: DaemonReport[], now: number): ApplyOutcome {
    const out: ApplyOutcome = { applied: 0, rejected: [], schemaChanged: [], metadataChanged: false, healthMetricsChanged: false };
    for (const r of reports) {
      const existing = this.daemons.get(r.daemon);
      const problem = this.check(r, existing);
      if (problem) {
        out.rejected.push(problem);
        continue;
      }
      const d = this.ensure(r.daemon);
      let schemaChanged = false;
      // A new session (a daemon reconnecting, or moving to a new active
      // manager after a failover) declares its counters again. The samples
      // of a counter re-declared with the same type are kept: the history
      // outlives manager failovers, unlike in Ceph where it starts empty.
      if (r.opened) {
        d.openedAt = now;
        if (r.serviceDaemon) this.serviceChanged(now);
        if (d.counters.size) schemaChanged = true;
        d.retired = d.counters.size ? d.counters : d.retired;
        d.counters = new Map();
        d.order = [];
        d.slots = 0;
        d.connected = true;
      }
      if (r.closed) {
        d.connected = false;
        if (d.serviceDaemon) this.serviceChanged(now);
      }
      if (Object.keys(r.metadata).length) {
        d.metadata = { ...r.metadata };
        out.metadataChanged = true;
        this.version++;
      }
      if (r.serviceDaemon || r.serviceName) {
        d.serviceDaemon = r.serviceDaemon;
        d.serviceName = r.serviceName;
      }
      for (const u of r.undeclare) {
        if (d.counters.delete(u)) schemaChanged = true;
      }
      for (const t of r.declare) {
        const old = d.retired?.get(t.path);
        const counter: Counter =
          old && old.type.type === t.type
            ? { ...old, type: t }
            : {
                type: t,
                times: new Float64Array(SAMPLES_KEPT),
                values: new Float64Array(SAMPLES_KEPT),
                counts: t.type & LONGRUNAVG ? new Float64Array(SAMPLES_KEPT) : null,
                next: 0,
                size: 0,
              };
        d.counters.set(t.path, counter);
        schemaChanged = true;
      }
      if (schemaChanged) {
        d.order = [...d.counters.keys()];
        d.slots = 0;
        for (const c of d.counters.values()) d.slots += slotsOf(c.type);
      }
      if (r.values.length) {
        d.retired = null; // the new schema is complete once values flow
        const stamp = r.stamp || now;
        let i = 0;
        for (const path of d.order) {
          const c = d.counters.get(path)!;
          c.times[c.next] = stamp;
          c.values[c.next] = r.values[i++];
          if (c.counts) c.counts[c.next] = r.values[i++];
          c.next = (c.next + 1) % SAMPLES_KEPT;
          if (c.size < SAMPLES_KEPT) c.size++;
        }
      }
      if (r.hasStatus) d.status = { ...r.status };
      if (Object.keys(r.taskStatus).length) d.taskStatus = { ...r.taskStatus };
      if (r.healthMetrics.length || d.healthMetrics.length) {
        const before = d.healthMetrics;
        d.healthMetrics = r.healthMetrics.map((m) => ({ type: m.type, value: m.value }));
        if (before.length !== d.healthMetrics.length || before.some((m, k) => m.type !== d.healthMetrics[k].type || m.value !== d.healthMetrics[k].value))
          out.healthMetricsChanged = true;
      }
      d.lastReport = now;
      if (d.stale) {
        d.stale = false;
        out.metadataChanged = true;
      }
      if (schemaChanged) out.schemaChanged.push(d.name);
      out.applied++;
    }
    return out;
  }

  setStale(stale: string[], fresh: string[]): { count: number; changed: boolean } {
    let changed = false;
    for (const n of stale) {
      if (!splitDaemonName(n)) continue;
      const d = this.ensure(n);
      if (!d.stale) changed = true;
      d.stale = true;
    }
    for (const n of fresh) {
      const d = this.daemons.get(n);
      if (d?.stale) {
        d.stale = false;
        changed = true;
      }
    }
    return { count: this.staleNames().length, changed };
  }

  private serviceChanged(now: number): void {
    this.serviceEpoch++;
    this.serviceModified = now;
    this.version++;
  }

  /**
   * The service map as Ceph's manager builds it from its service daemons'
   * sessions (rgw, rbd-mirror, ...): `{epoch, modified, services: {<service>:
   * {daemons: {summary, <id>: {start_epoch, start_stamp, gid, addr, metadata,
   * task_status}}, summary}}}`.
   */
  serviceMap(stamp: (seconds: number) => string): Record<string, unknown> {
    const services: Record<string, { daemons: Record<string, unknown>; summary: string }> = {};
    let gid = 0;
    for (const d of [...this.daemons.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      gid++;
      if (!d.serviceDaemon || !d.connected) continue;
      const s = (services[d.serviceName || d.type] ??= { daemons: { summary: '' }, summary: '' });
      s.daemons[d.id] = {
        start_epoch: this.serviceEpoch,
        start_stamp: stamp(d.openedAt),
        gid,
        addr: d.metadata.addr ?? '',
        metadata: d.metadata,
        task_status: d.taskStatus,
      };
    }
    return { epoch: this.serviceEpoch, modified: this.serviceModified ? stamp(this.serviceModified) : '', services };
  }

  staleNames(): string[] {
    return [...this.daemons.values()]
      .filter((d) => d.stale)
      .map((d) => d.name)
      .sort();
  }

  list(type: string): DaemonSummary[] {
    return [...this.daemons.values()]
      .filter((d) => !type || d.type === type)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((d) => ({
        daemon: d.name,
        hostname: d.metadata.hostname ?? '',
        serviceDaemon: d.serviceDaemon,
        lastReport: d.lastReport,
        stale: d.stale,
        counters: d.counters.size,
        connected: d.connected,
      }));
  }

  // ---- module-API views, in Ceph's shapes ----

  private servers(): Map<string, DaemonState[]> {
    const byHost = new Map<string, DaemonState[]>();
    for (const d of this.daemons.values()) {
      const host = d.metadata.hostname;
      if (!host) continue;
      if (!byHost.has(host)) byHost.set(host, []);
      byHost.get(host)!.push(d);
    }
    return byHost;
  }

  private serverJson(host: string, ds: DaemonState[]): Record<string, unknown> {
    const sorted = [...ds].sort((a, b) => (a.type === b.type ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.type < b.type ? -1 : 1));
    return {
      ceph_version: sorted.find((d) => d.metadata.ceph_version)?.metadata.ceph_version ?? '',
      hostname: host,
      services: sorted.map((d) => ({ ceph_version: d.metadata.ceph_version ?? '', id: d.id, type: d.type })),
    };
  }

  getServer(host: string): unknown {
    const ds = this.servers().get(host);
    return ds ? this.serverJson(host, ds) : { ceph_version: '', hostname: host, services: [] };
  }

  listServers(): unknown {
    return [...this.servers().entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([h, ds]) => this.serverJson(h, ds));
  }

  getMetadata(name: string): unknown {
    const d = this.daemons.get(name);
    return d && Object.keys(d.metadata).length ? d.metadata : null;
  }

  getStatus(name: string): unknown {
    const d = this.daemons.get(name);
    if (!d) return null;
    return d.status ?? {};
  }

  private schemaEntry(t: PerfCounterType): Record<string, unknown> {
    const e: Record<string, unknown> = { description: t.description };
    if (t.nick) e.nick = t.nick;
    e.priority = t.priority;
    e.type = t.type;
    e.units = t.units;
    return e;
  }

  perfSchema(name: string | null): unknown {
    const out: Record<string, unknown> = {};
    for (const d of this.daemons.values()) {
      if (name !== null && d.name !== name) continue;
      const schema: Record<string, unknown> = {};
      for (const [path, c] of d.counters) schema[path] = this.schemaEntry(c.type);
      out[d.name] = schema;
    }
    return out;
  }

  private samples(c: Counter): number[][] {
    const out: number[][] = [];
    const start = (c.next - c.size + SAMPLES_KEPT) % SAMPLES_KEPT;
    for (let k = 0; k < c.size; k++) {
      const i = (start + k) % SAMPLES_KEPT;
      out.push(c.counts ? [c.times[i], c.values[i], c.counts[i]] : [c.times[i], c.values[i]]);
    }
    return out;
  }

  getCounter(name: string, path: string): unknown {
    const c = this.daemons.get(name)?.counters.get(path);
    return { [path]: c ? this.samples(c) : [] };
  }

  getLatestCounter(name: string, path: string): unknown {
    const c = this.daemons.get(name)?.counters.get(path);
    if (!c || c.size === 0) return { [path]: [] };
    const s = this.samples(c);
    return { [path]: s[s.length - 1] };
  }

  allPerfCounters(prioLimit: number, services: string[]): unknown {
    const wanted = new Set(services.length ? services : ['mds', 'mon', 'osd', 'rbd-mirror', 'cephfs-mirror', 'rgw', 'tcmu-runner']);
    const out: Record<string, Record<string, unknown>> = {};
    const names = [...this.daemons.keys()].sort();
    for (const n of names) {
      const d = this.daemons.get(n)!;
      if (!wanted.has(d.type)) continue;
      const counters: Record<string, unknown> = {};
      for (const [path, c] of d.counters) {
        if (c.type.priority < prioLimit) continue;
        const e = this.schemaEntry(c.type);
        const last = c.size ? (c.next - 1 + SAMPLES_KEPT) % SAMPLES_KEPT : -1;
        if (c.counts) e.count = last >= 0 ? c.counts[last] : 0;
        e.value = last >= 0 ? c.values[last] : 0;
        counters[path] = Object.fromEntries(Object.entries(e).sort(([a], [b]) => (a < b ? -1 : 1)));
      }
      out[n] = counters;
    }
    return out;
  }

  healthMetrics(): unknown {
    const out: Record<string, unknown> = {};
    for (const d of this.daemons.values()) {
      if (d.healthMetrics.length) out[d.name] = d.healthMetrics.map((m) => ({ type: m.type, value: m.value }));
    }
    return out;
  }
}
