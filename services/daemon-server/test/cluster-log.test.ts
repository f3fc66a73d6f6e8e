// The active manager's cluster log to the monitors (ceph/cluster-log.ts),
// offline against a real cluster-state: only this manager's entries, only
// those written while active, sent again until acknowledged.
import { MsgType } from '../../../lib/ceph/message';
import { decodeMLog, LogPriority } from '../../../lib/ceph/messages/log';
import { EntityType } from '../../../lib/ceph/types';
import { createLogger } from '../../../lib/log';
import { startTestServer } from '../../cluster-state/test/helpers';
import { ClusterLogForwarder, RESEND_MS } from '../ceph/cluster-log';

describe("the active manager's cluster log to the monitors", () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  const getView = async (what: string) => JSON.parse(Buffer.from((await t.client.get({ what })).json).toString('utf8'));
  const me = { name: 'x', gid: 4150n, addrs: [], fsid: '878ce9f2-7ae8-4c08-b31d-209ddd0eafc9' };
  const append = (name: string, message: string, priority = 'INF', channel = 'cluster') =>
    t.client.appendClusterLog({ entries: [{ channel, priority, name, message, stamp: 1_764_000_000.25 }] });

  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("sends this manager's entries written while active, once acknowledged never again", async () => {
    let now = 1_000_000;
    const f = new ClusterLogForwarder({ getView }, createLogger({}, 'error'), () => now);
    await append('mgr.x', 'before: standby');
    expect(await f.next(false, me)).toBeUndefined();
    expect(await f.next(true, me)).toBeUndefined(); // what came before activation is not sent
    await append('mgr.x', '[selftest] hello', 'WRN');
    await append('mon.a', 'Health check failed: ... (PG_DEGRADED)');
    await append('mgr.y', 'another manager');
    await append('mgr.x', 'from mgr x', 'ERR', 'audit');
    const m = (await f.next(true, me))!;
    expect(m.type).toBe(MsgType.LOG);
    const { fsid, entries } = decodeMLog(m);
    expect(fsid).toBe(me.fsid);
    expect(entries.map((e) => [e.msg, e.priority, e.channel, e.seq])).toEqual([
      ['[selftest] hello', LogPriority.WARN, 'cluster', 1n],
      ['from mgr x', LogPriority.ERROR, 'audit', 2n],
    ]);
    expect(entries[0].name).toEqual({ type: EntityType.MGR, id: 'x' });
    expect(entries[0].rank).toEqual({ type: EntityType.MGR, num: 4150n });
    expect(entries[0].stamp).toEqual({ sec: 1_764_000_000, nsec: 250_000_000 });
    // not acknowledged: nothing until RESEND_MS, then both again
    expect(await f.next(true, me)).toBeUndefined();
    now += RESEND_MS;
    expect(decodeMLog((await f.next(true, me))!).entries.map((e) => e.seq)).toEqual([1n, 2n]);
    f.acked(1n);
    expect(f.pending).toBe(1);
    f.reconnected();
    expect(decodeMLog((await f.next(true, me))!).entries.map((e) => e.seq)).toEqual([2n]);
    f.acked(2n);
    now += RESEND_MS;
    expect(await f.next(true, me)).toBeUndefined();
    expect(f.stats).toEqual({ entriesSent: 2, entriesAcked: 2, dropped: 0 });
  });
});
