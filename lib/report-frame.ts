// A daemon's periodic report, pre-encoded: SessionRequest{ report (2) {
// counter_values (8) } } around Ceph's packed counter values, so that most
// periods a daemon only writes its values into a copy of these bytes. The
// shape (layout, where each value comes from, the frame's bytes) is shared
// by every daemon that declares the same counters of the same schema
// (thousands of simulated OSDs do). lib/mgr-client.ts and the simulator's
// sessions (sim/replay.ts) both use it.
import * as counterValues from './counter-values';
import { CounterLayout, writeHeader } from './counter-values';
import type { DaemonHealthMetric, PerfCounterType } from './gen/ceph/mgr/v1/cluster_state';
import { WireWriter, WIRE_LEN, WIRE_VARINT } from './wire';

// a module-local copy: imported bindings are getters under the TypeScript
// loader, and this runs for every value of every report
const { writeU64 } = counterValues;

export interface ReportShape {
  /** The declared counters, in schema order (as a session declares them). */
  declare: PerfCounterType[];
  layout: CounterLayout;
  /** Per layout position: where its value is in CounterSource.values(). */
  sourceSlot: Int32Array;
  /** SessionRequest{ report (2) { counter_values (8) } } with the header written and the values zero. */
  frame: Buffer;
  frameValues: number;
  /** Where the report's body (after its tag and length) starts in frame. */
  reportBody: number;
}

/** Shapes shared by the sessions that declare the same counters of the same schema (thousands of simulated OSDs do). */
const shapes = new WeakMap<PerfCounterType[], Map<string, ReportShape>>();

export function reportShape(schema: PerfCounterType[], declared: number[], slotStart: Int32Array): ReportShape {
  let bySchema = shapes.get(schema);
  if (!bySchema) shapes.set(schema, (bySchema = new Map()));
  const key = declared.join(',');
  let shape = bySchema.get(key);
  if (!shape) {
    const layout = new CounterLayout(declared.map((i) => [schema[i].path, schema[i].type]));
    const index = new Map(schema.map((c, i) => [c.path, i]));
    const n = layout.byteLength;
    const inner = new WireWriter(16).tag(8, WIRE_LEN).varint32(n).view();
    const outer = new WireWriter(16)
      .tag(2, WIRE_LEN)
      .varint32(inner.length + n)
      .view();
    const frame = Buffer.alloc(outer.length + inner.length + n);
    outer.copy(frame, 0);
    inner.copy(frame, outer.length);
    writeHeader(frame.subarray(outer.length + inner.length), layout.slots);
    shape = {
      declare: declared.map((i) => schema[i]),
      layout,
      sourceSlot: Int32Array.from(layout.paths, (p) => slotStart[index.get(p)!]),
      frame,
      frameValues: outer.length + inner.length,
      reportBody: outer.length,
    };
    if (bySchema.size > 64) bySchema.clear(); // a bound, should thresholds churn
    bySchema.set(key, shape);
  }
  return shape;
}

/**
 * Writes values() (schema order, averages as sum, count) into a frame's
 * counter_values at `base`, in Ceph's packed order (averages: sum, avgcount,
 * avgcount2).
 */
export function writeFrameValues(frame: Buffer, base: number, layout: CounterLayout, sourceSlot: Int32Array, values: ArrayLike<number | bigint>): void {
  const { offsets, averages } = layout;
  for (let k = 0; k < offsets.length; k++) {
    const s = sourceSlot[k];
    writeU64(frame, base + offsets[k], values[s]);
    if (averages[k]) {
      writeU64(frame, base + offsets[k] + 8, values[s + 1]);
      writeU64(frame, base + offsets[k] + 16, values[s + 1]);
    }
  }
}

// scratch writers for frameWithHealth (copied out before it returns)
const healthOut = new WireWriter(256);
const metricOut = new WireWriter(64);
const headOut = new WireWriter(16);

/**
 * A copy of the shape's frame with health metrics after the counter values
 * (SessionReport.daemon_health_metrics, 7): Ceph's OSDs and monitors send
 * them every period, so this is most reports' frame, not an exception for
 * the codec. Fields may come in any order, so the metrics are appended and
 * only the report's length prefix changes. Returns the frame and where its
 * counter values start (for writeFrameValues).
 */
export function frameWithHealth(shape: ReportShape, health: DaemonHealthMetric[]): { frame: Buffer; values: number } {
  const h = healthOut.reset();
  for (const m of health) {
    const one = metricOut.reset().stringField(1, m.type);
    if (m.value) one.tag(2, WIRE_VARINT).int64(m.value);
    h.bytesField(7, one.view());
  }
  const metrics = h.view();
  const body = shape.frame.length - shape.reportBody;
  const head = headOut
    .reset()
    .tag(2, WIRE_LEN)
    .varint32(body + metrics.length)
    .view();
  const frame = Buffer.allocUnsafe(head.length + body + metrics.length);
  head.copy(frame, 0);
  shape.frame.copy(frame, head.length, shape.reportBody);
  metrics.copy(frame, head.length + body);
  return { frame, values: head.length + shape.frameValues - shape.reportBody };
}
