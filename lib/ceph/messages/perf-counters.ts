// A daemon's performance counters as MMgrReport carries them: each counter
// is declared once per session (PerfCounterType: path, description, nick,
// type, priority, unit), then every report's `packed` bytes hold the values
// of all declared counters, in the order of the session's declared set
// (std::set<std::string>: sorted by bytes), with no names. Per counter: a
// le64 value, plus le64 avgcount and le64 avgcount2 when the counter is a
// long-running average. The whole is a versioned struct (v1).
// Sources: src/messages/MMgrReport.h (PerfCounterType), src/common/perf_counters.h
// (types, units, priorities), src/mgr/MgrClient.cc (_send_report),
// src/mgr/DaemonState.cc (DaemonPerfCounters::update).
import { Decoder, DecodeError, Encoder } from '../encoding';
import { compareBytes, writeString } from './common';

/** perfcounter_type_d bits. A counter is TIME or U64; LONGRUNAVG adds avgcount/avgcount2 to its packed value. */
export const CounterType = { NONE: 0, TIME: 0x1, U64: 0x2, LONGRUNAVG: 0x4, COUNTER: 0x8, HISTOGRAM: 0x10 } as const;

/** unit_t. */
export const CounterUnit = { BYTES: 0, NONE: 1 } as const;

/** PerfCountersBuilder's priorities; a daemon declares only counters at or above the manager's stats_threshold. */
export const CounterPriority = { CRITICAL: 10, INTERESTING: 8, USEFUL: 5, UNINTERESTING: 2, DEBUGONLY: 0 } as const;

/** One counter's schema, as a daemon declares it. */
export interface PerfCounterType {
  /** "osd.op_w", "bluestore.kv_flush_lat"... */
  path: string;
  description: string;
  nick: string;
  /** CounterType bits. */
  type: number;
  priority: number;
  unit: number;
}

export function decodePerfCounterType(d: Decoder): PerfCounterType {
  return d.struct(3, 'PerfCounterType', (_, v) => ({
    path: d.string(),
    description: d.string(),
    nick: d.string(),
    type: d.u8(),
    // a peer too old to send these gets Ceph's defaults for it
    priority: v >= 2 ? d.u8() : CounterPriority.USEFUL,
    unit: v >= 3 ? d.u8() : CounterUnit.NONE,
  }));
}

export function encodePerfCounterType(e: Encoder, t: PerfCounterType): void {
  e.struct(3, 1, () => {
    writeString(e, t.path);
    writeString(e, t.description);
    writeString(e, t.nick);
    e.u8(t.type).u8(t.priority).u8(t.unit);
  });
}

export function isLongRunAvg(type: number): boolean {
  return (type & CounterType.LONGRUNAVG) !== 0;
}

/** One counter's value from a report. */
export interface CounterValue {
  path: string;
  type: number;
  /** The value (for a long-running average: the sum). */
  value: bigint;
  /** Long-running averages only: how many samples the sum holds. */
  avgcount?: bigint;
  /** Long-running averages only: avgcount as of the value's update (Ceph reads the pair consistently with it). */
  avgcount2?: bigint;
}

const PACKED_HEADER_BYTES = 6;

/** The packed length a report must have for these declared types: 6 + 8 × Σ(3 if long-running average else 1). */
export function packedLength(types: Iterable<Pick<PerfCounterType, 'type'>>): number {
  let words = 0;
  for (const t of types) words += isLongRunAvg(t.type) ? 3 : 1;
  return PACKED_HEADER_BYTES + 8 * words;
}

/**
 * The values in `packed`, one per declared type. `sorted` must be the
 * session's declared types in the session's order (`CounterSchema` keeps
 * it). A packed buffer of any other length than `packedLength(sorted)` is
 * refused: it was packed for another schema.
 */
export function unpackCounters(sorted: readonly PerfCounterType[], packed: Buffer): CounterValue[] {
  const want = packedLength(sorted);
  if (packed.length !== want)
    throw new DecodeError(`packed counters are ${packed.length} bytes; the ${sorted.length} declared counters take ${want} (a report for another schema)`);
  const d = new Decoder(packed);
  return d.struct(1, 'packed counters', () =>
    sorted.map((t) => {
      const value = d.u64();
      if (!isLongRunAvg(t.type)) return { path: t.path, type: t.type, value };
      return { path: t.path, type: t.type, value, avgcount: d.u64(), avgcount2: d.u64() };
    }),
  );
}

/** Packs values for the declared types in the session's order, as a daemon does (missing values are 0). */
export function packCounters(sorted: readonly PerfCounterType[], values: ReadonlyMap<string, Omit<CounterValue, 'path' | 'type'>>): Buffer {
  const e = new Encoder(packedLength(sorted));
  e.struct(1, 1, () => {
    for (const t of sorted) {
      const v = values.get(t.path);
      e.u64(v?.value ?? 0n);
      if (isLongRunAvg(t.type)) e.u64(v?.avgcount ?? 0n).u64(v?.avgcount2 ?? 0n);
    }
  });
  return e.toBuffer();
}

/**
 * One daemon session's declared counters, as the manager keeps them
 * (DaemonPerfCounters): every report declares new types and undeclares
 * old ones, then its packed values follow the declared set in path order.
 * A new session starts empty: the daemon declares everything again.
 */
export class CounterSchema {
  private readonly types = new Map<string, PerfCounterType>();
  private order: PerfCounterType[] = [];

  /** Applies a report's declarations (declare first, then undeclare, as Ceph does; a path declared again keeps its first type, as Ceph's types.insert does). */
  update(declare: readonly PerfCounterType[], undeclare: readonly string[] = []): void {
    if (!declare.length && !undeclare.length) return;
    for (const t of declare) if (!this.types.has(t.path)) this.types.set(t.path, t);
    for (const p of undeclare) this.types.delete(p);
    this.order = [...this.types.values()].sort((a, b) => compareBytes(a.path, b.path));
  }

  /** How many counters the set would hold after these declarations, without applying them. */
  sizeAfter(declare: readonly PerfCounterType[], undeclare: readonly string[] = []): number {
    const added = new Set<string>();
    for (const t of declare) if (!this.types.has(t.path)) added.add(t.path);
    let n = this.types.size + added.size;
    for (const p of new Set(undeclare)) if (this.types.has(p) || added.has(p)) n--;
    return n;
  }

  /** The declared types in packed order. */
  get declared(): readonly PerfCounterType[] {
    return this.order;
  }

  get size(): number {
    return this.order.length;
  }

  /** The packed length the next report must have. */
  get packedLength(): number {
    return packedLength(this.order);
  }

  unpack(packed: Buffer): CounterValue[] {
    return unpackCounters(this.order, packed);
  }
}
