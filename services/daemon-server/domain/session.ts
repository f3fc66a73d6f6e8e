// One daemon session's counter schema: counters are declared once, then
// every report carries packed values in declaration order. Long-running
// averages (type & 4) take two slots (sum, count).
import type { PerfCounterType } from '../../../lib/gen/ceph/mgr/v1/cluster_state';

export const PERFCOUNTER_LONGRUNAVG = 4;

/** "<type>.<id>": a lower-case type, a dot, and a non-empty id without spaces. */
export function checkDaemonName(name: string): string | null {
  if (!name) return 'daemon_name is empty; expected "<type>.<id>", e.g. "osd.3"';
  if (!/^[a-z][a-z0-9_-]*\.[^\s]+$/.test(name)) return `daemon_name '${name}' is not "<type>.<id>" (e.g. "osd.3", "mds.a")`;
  if (name.length > 256) return 'daemon_name is longer than 256 characters';
  const [type, id] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
  if (type === 'osd' && !/^\d+$/.test(id)) return `daemon_name '${name}': an OSD id is a whole number (e.g. "osd.3")`;
  return null;
}

export class SchemaError extends Error {}

export class SessionSchema {
  private paths: string[] = [];
  private types = new Map<string, number>();
  /** Values a report must carry now, kept so the common report is checked in O(1). */
  private slotCount = 0;

  get slots(): number {
    return this.slotCount;
  }

  get size(): number {
    return this.paths.length;
  }

  /**
   * Checks a report against the schema as it would be after its declares and
   * undeclares, without changing anything; apply() commits it.
   */
  check(declare: PerfCounterType[], undeclare: string[], packedLength: number): void {
    if (!declare.length && !undeclare.length) {
      // Almost every report: values only, for the schema as it stands.
      if (packedLength !== 0 && packedLength !== this.slotCount) {
        throw new SchemaError(`packed has ${packedLength} values but the declared schema (${this.paths.length} counters) needs ${this.slotCount}`);
      }
      return;
    }
    const next = new Set(this.paths);
    const types = new Map(this.types);
    for (const t of declare) {
      if (!t.path) throw new SchemaError('a declared counter has an empty path');
      if (next.has(t.path)) throw new SchemaError(`counter '${t.path}' is already declared on this session`);
      next.add(t.path);
      types.set(t.path, t.type);
    }
    for (const p of undeclare) {
      if (!next.has(p)) throw new SchemaError(`cannot undeclare '${p}': it is not declared on this session`);
      next.delete(p);
    }
    let slots = 0;
    for (const p of next) slots += (types.get(p)! & PERFCOUNTER_LONGRUNAVG) !== 0 ? 2 : 1;
    // An empty packed list means "no values this time"; otherwise it must fit exactly.
    if (packedLength !== 0 && packedLength !== slots) {
      throw new SchemaError(`packed has ${packedLength} values but the declared schema (${next.size} counters) needs ${slots}`);
    }
  }

  apply(declare: PerfCounterType[], undeclare: string[]): void {
    for (const t of declare) {
      this.paths.push(t.path);
      this.types.set(t.path, t.type);
    }
    if (undeclare.length) {
      const gone = new Set(undeclare);
      this.paths = this.paths.filter((p) => !gone.has(p));
      for (const p of gone) this.types.delete(p);
    }
    let n = 0;
    for (const p of this.paths) n += (this.types.get(p)! & PERFCOUNTER_LONGRUNAVG) !== 0 ? 2 : 1;
    this.slotCount = n;
  }
}
