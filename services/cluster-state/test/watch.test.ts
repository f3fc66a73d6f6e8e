// Watch: sequence numbers, resume after reconnect, RESYNC when too far
// behind, type filters, and clean ends on shutdown.
import { WatchEventKind, WatchResponse } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { startTestServer, json } from './helpers';

async function take(stream: AsyncIterable<WatchResponse>, n: number): Promise<WatchResponse[]> {
  const out: WatchResponse[] = [];
  if (n === 0) return out;
  for await (const ev of stream) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

describe('cluster-state Watch', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  let epoch = 0;
  const putServiceMap = () => {
    epoch++;
    return t.client.putMap({ name: 'service_map', epoch, json: json({ epoch, modified: '', services: {} }) });
  };
  beforeAll(async () => {
    t = await startTestServer({ watchBacklog: 5 });
  });
  afterAll(() => t.close());

  it('sends live events in order, filtered by type', async () => {
    const ac = new AbortController();
    // Start from a known seq, so the events below are seen however late the stream opens.
    const base = (await putServiceMap()).seq;
    const stream = t.client.watch({ afterSeq: base, types: ['store'] }, { signal: ac.signal });
    const got = take(stream, 2);
    await putServiceMap();
    await t.client.setStore({ key: 'mgr/hello/a', value: '1' });
    await putServiceMap();
    await t.client.setStore({ key: 'config/mgr/mgr/hello/b', value: '2' });
    await t.client.setStore({ key: 'mgr/hello/a' });
    const events = await got;
    ac.abort();
    expect(events.map((e) => [e.kind, e.type, e.id])).toEqual([
      [WatchEventKind.WATCH_EVENT_KIND_NOTIFY, 'store', 'mgr/hello/a'],
      [WatchEventKind.WATCH_EVENT_KIND_NOTIFY, 'store', 'mgr/hello/a'],
    ]);
    expect(events[1].seq).toBeGreaterThan(events[0].seq);
  });

  it('resumes after a reconnect with exactly the missed events', async () => {
    const first = (await putServiceMap()).seq;
    await putServiceMap();
    await putServiceMap();
    const events = await take(t.client.watch({ afterSeq: first, types: [] }), 2);
    expect(events.map((e) => [e.kind, e.seq, e.type, e.epoch])).toEqual([
      [WatchEventKind.WATCH_EVENT_KIND_NOTIFY, first + 1, 'service_map', epoch - 1],
      [WatchEventKind.WATCH_EVENT_KIND_NOTIFY, first + 2, 'service_map', epoch],
    ]);
  });

  it('sends one RESYNC to a watcher further behind than the backlog, then live events', async () => {
    const first = (await putServiceMap()).seq;
    for (let i = 0; i < 7; i++) await putServiceMap();
    const stream = t.client.watch({ afterSeq: first, types: [] });
    const iter = stream[Symbol.asyncIterator]();
    const resync = (await iter.next()).value as WatchResponse;
    expect(resync.kind).toBe(WatchEventKind.WATCH_EVENT_KIND_RESYNC);
    expect(resync.seq).toBe(first + 7);
    expect(resync.message).toMatch(/no longer kept \(backlog 5\)/);
    const live = (await putServiceMap()).seq;
    const next = (await iter.next()).value as WatchResponse;
    expect([next.kind, next.seq]).toEqual([WatchEventKind.WATCH_EVENT_KIND_NOTIFY, live]);
    await iter.return?.();
  });

  it('notifies cluster-log appends by channel', async () => {
    const base = (await putServiceMap()).seq;
    expect((await t.client.appendClusterLog({ entries: [{ channel: 'audit', priority: 'INF', name: 'mgr.x', message: 'hello', stamp: 0 }] })).appended).toBe(1);
    const [ev] = await take(t.client.watch({ afterSeq: base, types: ['clog'] }), 1);
    expect([ev.type, ev.id]).toEqual(['clog', 'audit']);
    const bad = t.client.appendClusterLog({ entries: [{ channel: 'cluster', priority: 'LOUD', name: '', message: '', stamp: 0 }] });
    await expect(bad).rejects.toThrow(/priority 'LOUD' is not one of DBG, INF, SEC, WRN, ERR/);
    expect(t.handle.state.clog).toHaveLength(1);
    // get('cluster_log'): the entries with a sequence number and Ceph's stamps (`ceph log last`).
    await t.client.appendClusterLog({ entries: [{ channel: 'cluster', priority: 'WRN', name: 'mon.a', message: 'second', stamp: 1795585000.5 }] });
    const log = JSON.parse(Buffer.from((await t.client.get({ what: 'cluster_log' })).json).toString());
    expect(log.entries.map((e: any) => [e.seq, e.channel, e.priority, e.name, e.message])).toEqual([
      [1, 'audit', 'INF', 'mgr.x', 'hello'],
      [2, 'cluster', 'WRN', 'mon.a', 'second'],
    ]);
    expect(log.entries[1].stamp).toBe('2026-11-25T05:36:40.500000+0000');
  });

  it('sends RESYNC to a watcher ahead of the server (it restarted)', async () => {
    const [ev] = await take(t.client.watch({ afterSeq: 1_000_000, types: [] }), 1);
    expect(ev.kind).toBe(WatchEventKind.WATCH_EVENT_KIND_RESYNC);
    expect(ev.message).toMatch(/ahead of this server/);
  });

  it('a watcher that reads nothing blocks nobody', async () => {
    const ac = new AbortController();
    // Never read: the other watcher below must still see everything.
    const stalled = t.client.watch({ afterSeq: 0, types: [] }, { signal: ac.signal })[Symbol.asyncIterator]();
    void stalled.next().catch(() => undefined);
    const start = (await putServiceMap()).seq;
    for (let i = 0; i < 20; i++) await putServiceMap();
    const events = await take(t.client.watch({ afterSeq: start + 18, types: [] }), 2);
    expect(events.map((e) => e.seq)).toEqual([start + 19, start + 20]);
    ac.abort();
  });
});

describe('cluster-state Watch on shutdown', () => {
  it('ends open streams cleanly when the server stops', async () => {
    const t = await startTestServer();
    // after_seq 0 means "only new events": resume after a first put instead.
    const { seq } = await t.client.putMap({ name: 'service_map', epoch: 1, json: json({ epoch: 1, services: {} }) });
    await t.client.putMap({ name: 'service_map', epoch: 2, json: json({ epoch: 2, services: {} }) });
    const stream = t.client.watch({ afterSeq: seq, types: [] });
    let gotFirst!: () => void;
    const first = new Promise<void>((r) => (gotFirst = r));
    const consumed = (async () => {
      const seen: WatchResponse[] = [];
      for await (const ev of stream) {
        seen.push(ev);
        gotFirst();
      }
      return seen;
    })();
    await first;
    await t.handle.stop();
    const seen = await consumed;
    expect(seen.map((e) => [e.type, e.epoch])).toEqual([['service_map', 2]]);
    await t.close();
  });
});
