// The audit queue: lines go out in batches, one call at a time, none lost
// silently, memory bounded. (The lines themselves reaching cluster-state:
// commands.test.ts and cluster-log.test.ts, on real services.)
import { AuditEntry, AuditLog } from '../domain/audit-log';
import { until } from '../../../lib/testing/wait';

function harness(opts: { maxBatch?: number; maxQueued?: number } = {}) {
  const calls: AuditEntry[][] = [];
  const lost: Array<{ count: number; reason: string }> = [];
  let gate: { open: () => void; fail: (e: Error) => void } | null = null;
  let hold = false;
  const log = new AuditLog({
    delayMs: 5,
    ...opts,
    send: (entries) => {
      calls.push(entries);
      if (!hold) return Promise.resolve();
      return new Promise<void>((resolve, reject) => (gate = { open: resolve, fail: reject }));
    },
    onLost: (count, reason) => lost.push({ count, reason }),
  });
  return {
    log,
    calls,
    lost,
    hold: (on: boolean) => (hold = on),
    release: () => gate!.open(),
    fail: (e: Error) => gate!.fail(e),
  };
}

test('lines appended together go in one call, in order, stamped when appended', async () => {
  const h = harness();
  const before = Date.now() / 1000;
  h.log.append('one', 'DBG');
  h.log.append('two', 'INF');
  h.log.append('three', 'WRN');
  expect(h.calls).toHaveLength(0); // never sent on the caller's path
  await until('the batch sent', () => h.calls.length === 1);
  expect(h.calls[0].map((e) => [e.message, e.priority])).toEqual([
    ['one', 'DBG'],
    ['two', 'INF'],
    ['three', 'WRN'],
  ]);
  expect(h.calls[0][0].stamp).toBeGreaterThanOrEqual(before - 1);
  expect(h.log.pending).toBe(0);
});

test('one call at a time: lines queued meanwhile go in the next call', async () => {
  const h = harness();
  h.hold(true);
  h.log.append('a', 'DBG');
  await until('the first call', () => h.calls.length === 1);
  h.log.append('b', 'DBG');
  h.log.append('c', 'DBG');
  await new Promise((r) => setTimeout(r, 30));
  expect(h.calls).toHaveLength(1);
  h.hold(false);
  h.release();
  await until('the second call', () => h.calls.length === 2);
  expect(h.calls[1].map((e) => e.message)).toEqual(['b', 'c']);
});

test('batches are bounded, and a failed call is reported with its count, not thrown', async () => {
  const h = harness({ maxBatch: 2 });
  h.hold(true);
  for (const m of ['a', 'b', 'c']) h.log.append(m, 'INF');
  await until('the first call', () => h.calls.length === 1);
  expect(h.calls[0]).toHaveLength(2);
  h.hold(false);
  h.fail(new Error('cluster-state is unavailable'));
  await until('the rest sent', () => h.calls.length === 2);
  expect(h.calls[1].map((e) => e.message)).toEqual(['c']);
  expect(h.lost).toEqual([{ count: 2, reason: 'cluster-state is unavailable' }]);
});

test('past maxQueued the oldest lines are dropped and counted', async () => {
  const h = harness({ maxQueued: 3 });
  h.hold(true);
  h.log.append('first', 'INF');
  await until('the first call', () => h.calls.length === 1);
  for (const m of ['a', 'b', 'c', 'd', 'e']) h.log.append(m, 'INF');
  expect(h.log.pending).toBe(3);
  expect(h.lost.reduce((n, l) => n + l.count, 0)).toBe(2);
  expect(h.lost[0].reason).toMatch(/more than 3 audit lines waiting/);
  h.hold(false);
  h.release();
  await until('the rest sent', () => h.calls.length === 2);
  expect(h.calls[1].map((e) => e.message)).toEqual(['c', 'd', 'e']);
});

test('flush sends what is queued at once, and gives up after its time when nobody takes it', async () => {
  const h = harness();
  h.log.append('x', 'INF');
  await h.log.flush(1000);
  expect(h.calls.map((c) => c.map((e) => e.message))).toEqual([['x']]);

  h.hold(true);
  h.log.append('y', 'INF');
  h.log.append('z', 'INF');
  await h.log.flush(50); // the call never ends: flush returns anyway
  expect(h.calls).toHaveLength(2);
  expect(h.log.pending).toBe(0);
  h.release();
});
