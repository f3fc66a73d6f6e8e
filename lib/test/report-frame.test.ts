// A report's pre-encoded frame with health metrics appended decodes to what
// the generated codec makes of the same report.
import { SessionRequest } from '../gen/ceph/mgr/v1/daemon_server';
import { frameWithHealth, reportShape, writeFrameValues } from '../report-frame';
import type { PerfCounterType } from '../gen/ceph/mgr/v1/cluster_state';

describe('frameWithHealth', () => {
  // u64 gauges and counters, and long-running averages (two source slots, three packed values)
  const schema: PerfCounterType[] = Array.from({ length: 60 }, (_, i) => ({
    path: `osd.counter_${String(i).padStart(2, '0')}`,
    description: '',
    nick: '',
    type: [2, 10, 5, 6][i % 4],
    priority: 5,
    units: 1,
  }));
  const slotStart = new Int32Array(schema.length);
  let slots = 0;
  schema.forEach((c, i) => {
    slotStart[i] = slots;
    slots += c.type & 4 ? 2 : 1;
  });
  const shape = reportShape(
    schema,
    schema.map((_, i) => i),
    slotStart,
  );
  const values = Array.from({ length: slots }, (_, i) => i * 1000 + 7);

  function viaCodec(health: { type: string; value: number }[]) {
    const frame = Buffer.from(shape.frame);
    writeFrameValues(frame, shape.frameValues, shape.layout, shape.sourceSlot, values);
    const bytes = SessionRequest.encode({
      msg: {
        $case: 'report',
        value: {
          declareTypes: [],
          undeclareTypes: [],
          packed: [],
          counterValues: frame.subarray(shape.frameValues),
          daemonStatus: {},
          hasDaemonStatus: false,
          taskStatus: {},
          daemonHealthMetrics: health,
        },
      },
    }).finish();
    return SessionRequest.decode(bytes);
  }

  it.each([
    [
      'two metrics, one zero',
      [
        { type: 'SLOW_OPS', value: 3 },
        { type: 'PENDING_CREATING_PGS', value: 0 },
      ],
    ],
    ['a value past 2^32 and a long type name', [{ type: 'X'.repeat(300), value: 2 ** 40 + 5 }]],
    ['enough metrics that the length prefix grows a byte', Array.from({ length: 40 }, (_, i) => ({ type: `M${i}`, value: i }))],
  ])('%s', (_, health) => {
    const { frame, values: at } = frameWithHealth(shape, health);
    writeFrameValues(frame, at, shape.layout, shape.sourceSlot, values);
    expect(SessionRequest.decode(frame)).toEqual(viaCodec(health));
  });

  it('leaves the shared frame untouched', () => {
    const before = Buffer.from(shape.frame);
    const { frame, values: at } = frameWithHealth(shape, [{ type: 'SLOW_OPS', value: 9 }]);
    writeFrameValues(frame, at, shape.layout, shape.sourceSlot, values);
    expect(shape.frame.equals(before)).toBe(true);
  });
});
