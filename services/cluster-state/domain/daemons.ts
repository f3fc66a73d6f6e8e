// Ceph's DaemonStateIndex: per daemon its metadata, counter schema and the
// recent samples of every counter, status, health metrics and staleness.
// Reports arrive at thousands per second, so ingest only checks the packed
// counter bytes against the schema and hands them to the daemon's
// CounterStore (domain/counters.ts); JSON is built when someone asks.
import type { DaemonReport, PerfCounterType, DaemonSummary } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { CounterLayout, checkPacked, writeHeader, writeU64 } from '../../../lib/counter-values';
import { CounterStore, Sample } from './counters';
import { counterSchemaHash, counterTypeKey, schemaHashKey, SharedRegistry } from '../../../lib/shared-schema';

export { SAMPLES_KEPT } from './counters';
/** PERFCOUNTER_LONGRUNAVG: the counter carries (sum, count). */
const LONGRUNAVG = 4;
/** Ceph's PerfCountersBuilder::PRIO_USEFUL, get_all_perf_counters' default limit. */
export const PRIO_USEFUL = 5;

/** JSON text built by hand (exact 64-bit values): written into replies as it is. */
export class RawJson {
  constructor(readonly text: string) {}
}

export interface DaemonState {
  name: string;
  type: string;
  id: string;
  metadata: Record<string, string>;
  serviceDaemon: boolean;
  serviceName: string;
  /** The declared counters (shared with every daemon that declared the same). */
  schema: CounterSchema;
  /** The samples, laid out for the declared set; null until something is declared. */
  store: CounterStore | null;
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
  retired: { store: CounterStore; schema: CounterSchema } | null;
}

/** A declared set of counters, one shared copy per distinct set (10,000 OSDs declare the same one). */
export interface CounterSchema {
  /** path -> type, in declaration order (the order get_perf_schema lists them). */
  types: ReadonlyMap<string, PerfCounterType>;
  layout: CounterLayout;
  /** Values of the deprecated declaration-order list (averages: sum, count). */
  declaredSlots: number;
}

const typeRegistry = new SharedRegistry<PerfCounterType>();
const schemaRegistry = new SharedRegistry<CounterSchema>();
/** Schemas by content hash (hex), as DaemonReport.schema_hash names them: alive while a daemon uses one. */
const schemasByHash = new SharedRegistry<CounterSchema>();
const typeKey = counterTypeKey;

/** The shared schema for a declared set (its types shared too). */
function schemaOf(types: Iterable<PerfCounterType>): CounterSchema {
  const list = [...types];
  const keys = list.map(typeKey);
  return schemaRegistry.get(keys.join('\u0001'), () => {
    const shared = list.map((t, i) => typeRegistry.get(keys[i], () => ({ ...t })));
    return {
      types: new Map(shared.map((t) => [t.path, t])),
      layout: new CounterLayout(shared.map((t) => [t.path, t.type])),
      declaredSlots: declaredSlots(shared),
    };
  });
}

const NO_COUNTERS = schemaOf([]);

/** "osd.3" -> ["osd", "3"]; "rgw.gw.1" -> ["rgw", "gw.1"]. */
export function splitDaemonName(name: string): [string, string] | null {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) return null;
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/** Values a schema takes in the deprecated declaration-order list (averages: sum, count). */
function declaredSlots(types: Iterable<PerfCounterType>): number {
  let n = 0;
  for (const t of types) n += t.type & LONGRUNAVG ? 2 : 1;
  return n;
}

/** Values a schema takes in Ceph's packed layout (averages: sum, avgcount, avgcount2). */
function packedSlots(types: Iterable<PerfCounterType>): number {
  let n = 0;
  for (const t of types) n += t.type & LONGRUNAVG ? 3 : 1;
  return n;
}

export interface ApplyOutcome {
  applied: number;
  rejected: string[];
  /** Schema hashes named without a declaration that are not held here (the reports were refused). */
  unknownSchemas: Buffer[];
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
        schema: NO_COUNTERS,
        store: null,
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
    const values = r.counterValues;
    const packed = values !== undefined && values.length > 0;
    if (!packed && r.values.length === 0) return null;
    if (!Number.isFinite(r.stamp) || r.stamp < 0) return `${r.daemon}: stamp ${r.stamp} is not a time`;
    // The common case (values only, schema unchanged) is checked without building anything.
    let schema: { slots: number; declaredSlots: number; size: number };
    if (d && !r.opened && !r.declare.length && !r.undeclare.length) {
      schema = { slots: d.schema.layout.slots, declaredSlots: d.schema.declaredSlots, size: d.schema.types.size };
    } else {
      const next = new Map(r.opened || !d ? [] : [...d.schema.types]);
      for (const u of r.undeclare) next.delete(u);
      for (const t of r.declare) next.set(t.path, t);
      schema = { slots: packedSlots(next.values()), declaredSlots: declaredSlots(next.values()), size: next.size };
    }
    if (packed) {
      const problem = checkPacked(values, schema.slots);
      return problem && `${r.daemon}: ${problem}; report ignored`;
    }
    return schema.declaredSlots === r.values.length
      ? null
      : `${r.daemon}: ${r.values.length} values for a schema of ${schema.size} counters taking ${schema.declaredSlots} slots; report ignored`;
  }

  /** Checks a report's values against a schema named by hash (its whole schema). */
  private checkNamed(r: DaemonReport, schema: CounterSchema): string | null {
    if (!splitDaemonName(r.daemon)) return `'${r.daemon}': a daemon name is <type>.<id>, e.g. osd.3`;
    if (r.values.length) return `${r.daemon}: a report naming schema_hash carries counter_values, not the deprecated values; report ignored`;
    if (!r.counterValues?.length) return null;
    if (!Number.isFinite(r.stamp) || r.stamp < 0) return `${r.daemon}: stamp ${r.stamp} is not a time`;
    const problem = checkPacked(r.counterValues, schema.layout.slots);
    return problem && `${r.daemon}: ${problem}; report ignored`;
  }

  apply(reports: DaemonReport[], now: number): ApplyOutcome {
    const out: ApplyOutcome = { applied: 0, rejected: [], unknownSchemas: [], schemaChanged: [], metadataChanged: false, healthMetricsChanged: false };
    for (const report of reports) {
      let r = report;
      // the whole schema named by its hash: in full the first time (kept under the hash), by the hash alone after
      let named: CounterSchema | null = null;
      if (r.schemaHash?.length) {
        const h = schemaHashKey(r.schemaHash);
        if (r.undeclare.length) {
          out.rejected.push(`${r.daemon}: a report naming schema_hash undeclares nothing; report ignored`);
          continue;
        }
        if (r.declare.length) {
          const own = counterSchemaHash(r.declare);
          if (!own.equals(r.schemaHash)) {
            out.rejected.push(
              `${r.daemon}: schema_hash ${h.slice(0, 16)}... is not the hash of the ${r.declare.length} counters declared (${own.toString('hex').slice(0, 16)}...); report ignored`,
            );
            continue;
          }
          named = schemasByHash.get(h, () => schemaOf(r.declare));
        } else {
          named = schemasByHash.find(h) ?? null;
          if (!named) {
            out.rejected.push(`${r.daemon}: counter schema ${h.slice(0, 16)}... is not held here; declare it in full`);
            if (!out.unknownSchemas.some((u) => u.equals(r.schemaHash!))) out.unknownSchemas.push(Buffer.from(r.schemaHash));
            continue;
          }
        }
        // checked and applied as the whole schema: after an open, declared afresh
        r = { ...r, declare: [] };
      }
      const existing = this.daemons.get(r.daemon);
      const problem = named ? this.checkNamed(r, named) : this.check(r, existing);
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
        if (d.schema.types.size) schemaChanged = true;
        if (d.store?.count) d.retired = { store: d.store, schema: d.schema };
        d.schema = NO_COUNTERS;
        d.store = null;
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
      if (named) {
        if (d.schema !== named) {
          const before = d.schema;
          d.schema = named;
          schemaChanged = true;
          this.relayout(d, before);
        }
      } else if (r.undeclare.length || r.declare.length) {
        const before = d.schema;
        const next = new Map(before.types);
        for (const u of r.undeclare) if (next.delete(u)) schemaChanged = true;
        for (const t of r.declare) {
          next.set(t.path, t);
          schemaChanged = true;
        }
        if (schemaChanged) {
          d.schema = schemaOf(next.values());
          this.relayout(d, before);
        }
      }
      const packed = r.counterValues?.length ? r.counterValues : null;
      if (d.store && (packed || r.values.length)) {
        d.retired = null; // the new schema is complete once values flow
        d.store.push(packed ?? this.packDeprecated(d, r.values), r.stamp || now);
      }
      if (r.hasStatus) d.status = { ...r.status };
      if (Object.keys(r.taskStatus).length) d.taskStatus = { ...r.taskStatus };
      // the same metrics every report: nothing copied, nothing to tell
      if (!sameHealthMetrics(d.healthMetrics, r.healthMetrics)) {
        d.healthMetrics = r.healthMetrics.map((m) => ({ type: m.type, value: m.value }));
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

  /** A new store for the declared set, taking over the samples of counters that kept their type. */
  private relayout(d: DaemonState, before: CounterSchema): void {
    const next = new CounterStore(d.schema.layout);
    const sameType = (from: CounterSchema) => (path: string) => from.types.get(path)?.type === d.schema.types.get(path)?.type;
    if (d.store?.count) d.store.replayInto(next, sameType(before));
    else if (d.retired) d.retired.store.replayInto(next, sameType(d.retired.schema));
    d.store = d.schema.types.size ? next : null;
  }

  /** The deprecated declaration-order values, laid out as Ceph's packed bytes. */
  private packDeprecated(d: DaemonState, values: number[]): Buffer {
    const layout = d.store!.layout;
    const out = Buffer.alloc(layout.byteLength);
    writeHeader(out, layout.slots);
    let k = 0;
    for (const t of d.schema.types.values()) {
      const off = layout.offsets[layout.indexOf(t.path)];
      writeU64(out, off, values[k++]);
      if (t.type & LONGRUNAVG) {
        writeU64(out, off + 8, values[k]);
        writeU64(out, off + 16, values[k++]);
      }
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
        counters: d.schema.types.size,
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
      for (const [path, t] of d.schema.types) schema[path] = this.schemaEntry(t);
      out[d.name] = schema;
    }
    return out;
  }

  private samples(d: DaemonState | undefined, path: string): Sample[] {
    const i = d?.store ? d.store.layout.indexOf(path) : -1;
    return i < 0 ? [] : d!.store!.series(i);
  }

  /** get_counter: {path: [[t, v], ...]} (averages [t, sum, count]), oldest first, values exact. */
  getCounter(name: string, path: string): RawJson {
    const rows = this.samples(this.daemons.get(name), path).map(sampleJson);
    return new RawJson(`{${JSON.stringify(path)}:[${rows.join(',')}]}`);
  }

  /** get_latest_counter: {path: [t, v]} or [] when there is none. */
  getLatestCounter(name: string, path: string): RawJson {
    const d = this.daemons.get(name);
    const i = d?.store ? d.store.layout.indexOf(path) : -1;
    const s = i < 0 ? null : d!.store!.latestOf(i);
    return new RawJson(`{${JSON.stringify(path)}:${s ? sampleJson(s) : '[]'}}`);
  }

  /** get_all_perf_counters: per daemon, its counters at or above the priority, with their latest value. */
  allPerfCounters(prioLimit: number, services: string[]): RawJson {
    const wanted = new Set(services.length ? services : ['mds', 'mon', 'osd', 'rbd-mirror', 'cephfs-mirror', 'rgw', 'tcmu-runner']);
    const parts: string[] = [];
    const names = [...this.daemons.keys()].sort();
    for (const n of names) {
      const d = this.daemons.get(n)!;
      if (!wanted.has(d.type)) continue;
      const counters: string[] = [];
      for (const [path, t] of d.schema.types) {
        if (t.priority < prioLimit) continue;
        const i = d.store ? d.store.layout.indexOf(path) : -1;
        const s = i >= 0 ? d.store!.latestOf(i) : null;
        const avg = (t.type & LONGRUNAVG) !== 0;
        // keys in sorted order, as before
        let e = '{';
        if (avg) e += `"count":${s?.c ?? 0},`;
        e += `"description":${JSON.stringify(t.description)},`;
        if (t.nick) e += `"nick":${JSON.stringify(t.nick)},`;
        e += `"priority":${t.priority},"type":${t.type},"units":${t.units},"value":${s?.v ?? 0}}`;
        counters.push(`${JSON.stringify(path)}:${e}`);
      }
      parts.push(`${JSON.stringify(n)}:{${counters.join(',')}}`);
    }
    return new RawJson(`{${parts.join(',')}}`);
  }

  /** [daemon, its SLOW_OPS health metrics summed] for the daemons with slow ops, in index order. */
  slowOps(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const d of this.daemons.values()) {
      let n = 0;
      for (const m of d.healthMetrics) if (m.type === 'SLOW_OPS') n += Number(m.value);
      if (n > 0) out.push([d.name, n]);
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

function sameHealthMetrics(a: ReadonlyArray<{ type: string; value: number }>, b: ReadonlyArray<{ type: string; value: number }>): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k].type !== b[k].type || a[k].value !== b[k].value) return false;
  return true;
}

/** [t, v] or [t, sum, count], with exact values. */
function sampleJson(s: Sample): string {
  return s.c === undefined ? `[${JSON.stringify(s.t)},${s.v}]` : `[${JSON.stringify(s.t)},${s.v},${s.c}]`;
}
