// One daemon session's counter schema: counters are declared once, then
// every report carries their values in Ceph's packed layout
// (lib/counter-values.ts: sorted paths, long-running averages three
// values). daemon-server only checks the length; the bytes go on untouched.
import type { PerfCounterType } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { checkPacked } from '../../../lib/counter-values';
import { counterSchemaHash, schemaHashKey, SharedRegistry } from '../../../lib/shared-schema';

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

/** Ceph's packed values a counter takes: long-running averages three (sum, avgcount, avgcount2). */
const packedSlots = (type: number) => ((type & PERFCOUNTER_LONGRUNAVG) !== 0 ? 3 : 1);

/** A declared set of counters (path -> declared type, in declaration order), shared by the sessions that declared it. */
interface DeclaredSet {
  types: ReadonlyMap<string, PerfCounterType>;
  /** Values a report carries for it. */
  slots: number;
  /** Its content hash (SessionReport.schema_hash); empty for the empty set. */
  hash: Buffer;
}

const EMPTY_SET: DeclaredSet = { types: new Map(), slots: 0, hash: Buffer.alloc(0) };
/** Keyed by content hash (hex): a session may name a set another session declared. */
const declaredSets = new SharedRegistry<DeclaredSet>();

function declaredSet(types: Map<string, PerfCounterType>): DeclaredSet {
  if (!types.size) return EMPTY_SET;
  const hash = counterSchemaHash(types.values());
  return declaredSets.get(schemaHashKey(hash), () => {
    let slots = 0;
    for (const t of types.values()) slots += packedSlots(t.type);
    return { types, slots, hash };
  });
}

/**
 * The set a fresh session's first declaration makes, by the declaration
 * (lib/session-wire.ts gives every session declaring the same bytes one
 * array): checked and built once, not once per session. Weak: it goes with
 * the array.
 */
const firstDeclarations = new WeakMap<readonly PerfCounterType[], { set: DeclaredSet; shared: PerfCounterType[] }>();

function firstDeclaration(declare: PerfCounterType[], build: () => Map<string, PerfCounterType>): { set: DeclaredSet; shared: PerfCounterType[] } {
  let first = firstDeclarations.get(declare);
  if (!first) {
    const set = declaredSet(build());
    first = { set, shared: Object.freeze(declare.map((t) => set.types.get(t.path) ?? t)) as PerfCounterType[] };
    if (Object.isFrozen(declare)) firstDeclarations.set(declare, first);
  }
  return first;
}

/** The declared set held under a content hash, if a live session declared it. */
function namedSet(hash: Uint8Array): DeclaredSet | undefined {
  return hash.length === 32 ? declaredSets.find(schemaHashKey(hash)) : undefined;
}

export class SessionSchema {
  private set: DeclaredSet = EMPTY_SET;

  get slots(): number {
    return this.set.slots;
  }

  get size(): number {
    return this.set.types.size;
  }

  /** The schema's content hash (empty while nothing is declared). */
  get hash(): Buffer {
    return this.set.hash;
  }

  /** Every declared counter, in declaration order (to declare them again). */
  get declared(): PerfCounterType[] {
    return [...this.set.types.values()];
  }

  /**
   * Checks a report against the schema as it would be after its declares and
   * undeclares, without changing anything; apply() commits it. `values` is
   * the report's counter_values (Ceph's packed layout); empty or absent
   * means "no values this time".
   */
  check(declare: PerfCounterType[], undeclare: string[], values: Uint8Array | undefined): void {
    if (!declare.length && !undeclare.length) {
      // Almost every report: values only, for the schema as it stands.
      const problem = values?.length ? checkPacked(values, this.set.slots) : null;
      if (problem) throw new SchemaError(`${problem} (${this.set.types.size} counters declared)`);
      return;
    }
    if (this.fresh(undeclare)) {
      const { set } = firstDeclaration(declare, () => this.next(declare, undeclare));
      const problem = values?.length ? checkPacked(values, set.slots) : null;
      if (problem) throw new SchemaError(`${problem} (${set.types.size} counters declared)`);
      return;
    }
    const next = this.next(declare, undeclare);
    let slots = 0;
    for (const t of next.values()) slots += packedSlots(t.type);
    const problem = values?.length ? checkPacked(values, slots) : null;
    if (problem) throw new SchemaError(`${problem} (${next.size} counters declared)`);
  }

  /** Nothing declared yet and nothing undeclared: a first declaration, the same for every daemon of a version. */
  private fresh(undeclare: string[]): boolean {
    return this.set === EMPTY_SET && !undeclare.length;
  }

  /**
   * `declare` (as apply()'d) as the shared copies of the schema: a report
   * waiting to be forwarded then holds no counter types of its own (10,000
   * OSDs declaring ~224 counters each were ~400 MB of decoded copies while
   * they waited).
   */
  shared(declare: PerfCounterType[]): PerfCounterType[] {
    const first = firstDeclarations.get(declare);
    if (first?.set === this.set) return first.shared;
    return declare.map((t) => this.set.types.get(t.path) ?? t);
  }

  /**
   * A report naming its whole schema by hash (SessionReport.schema_hash):
   * the counters held under it, or null when none are (the daemon must
   * declare in full). Throws SchemaError when the report may not name one
   * or its values do not fit. Nothing changes until adopt().
   */
  checkNamed(hash: Uint8Array, declare: PerfCounterType[], undeclare: string[], values: Uint8Array | undefined): PerfCounterType[] | null {
    if (declare.length || undeclare.length) throw new SchemaError('a report naming schema_hash declares and undeclares nothing');
    if (this.set.types.size) throw new SchemaError(`schema_hash names a whole schema, but this session already declared ${this.set.types.size} counters`);
    if (hash.length !== 32) throw new SchemaError(`schema_hash is ${hash.length} bytes; a SHA-256 is 32`);
    const set = namedSet(hash);
    if (!set) return null;
    const problem = values?.length ? checkPacked(values, set.slots) : null;
    if (problem) throw new SchemaError(`${problem} (${set.types.size} counters under schema_hash)`);
    return [...set.types.values()];
  }

  /** Takes the schema held under `hash` (checked by checkNamed). */
  adopt(hash: Uint8Array): void {
    this.set = namedSet(hash) ?? this.set;
  }

  apply(declare: PerfCounterType[], undeclare: string[]): void {
    if (this.fresh(undeclare) && declare.length) this.set = firstDeclaration(declare, () => this.next(declare, undeclare)).set;
    else if (declare.length || undeclare.length) this.set = declaredSet(this.next(declare, undeclare));
  }

  private next(declare: PerfCounterType[], undeclare: string[]): Map<string, PerfCounterType> {
    const next = new Map(this.set.types);
    for (const t of declare) {
      if (!t.path) throw new SchemaError('a declared counter has an empty path');
      if (next.has(t.path)) throw new SchemaError(`counter '${t.path}' is already declared on this session`);
      next.set(t.path, t);
    }
    for (const p of undeclare) {
      if (!next.has(p)) throw new SchemaError(`cannot undeclare '${p}': it is not declared on this session`);
      next.delete(p);
    }
    return next;
  }
}
