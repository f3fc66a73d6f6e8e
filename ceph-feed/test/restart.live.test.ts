// Monitors that go away under the feed, on a small Pacific cluster of this
// file's own (restarting the shared cluster's monitor would disturb the
// other test files): a monitor restarted under the feed is reconnected to
// and the maps keep following; monitors away when the feed starts raise
// MGR_CEPH_MON_UNREACHABLE, cleared once they answer. (A TCP proxy in front
// of a monitor will not do: a Pacific monitor drops a client whose ident
// names another address than its own.)
import { describeCeph, startCephCluster, type CephCluster } from '../../lib/testing/ceph-cluster';
import { until } from '../../lib/testing/wait';
import { startTestServer } from '../../services/cluster-state/test/helpers';
import { startCephFeed, type CephFeedConfig, type CephFeedHandle } from '../server';

type Json = any;

describeCeph('restart.live.test.ts')('the Ceph map feed when monitors go away', () => {
  jest.setTimeout(300000);
  let cluster: CephCluster;
  let cs: Awaited<ReturnType<typeof startTestServer>>;
  const feeds: CephFeedHandle[] = [];
  const get = async (what: string): Promise<{ epoch: number; doc: Json }> => {
    const r = await cs.client.get({ what });
    return { epoch: r.epoch, doc: JSON.parse(Buffer.from(r.json).toString('utf8')) };
  };
  const health = async (): Promise<Json> => JSON.parse((await get('health')).doc.json);
  const start = async (cfg: Partial<CephFeedConfig> = {}) => {
    const f = await startCephFeed({
      cephConf: cluster.confPath,
      keyring: cluster.keyringPath,
      clusterState: cs.handle.address,
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      periodMs: 500,
      ...cfg,
    });
    feeds.push(f);
    return f;
  };
  /** osd.0 marked out (or in) by `ceph`, until cluster-state's osd map shows it at a later epoch. */
  const followsOsdOut = async (out: boolean) => {
    const before = (await cluster.ceph(['osd', 'dump'])).epoch;
    await cluster.ceph(['osd', out ? 'out' : 'in', '0']);
    await until(`osd.0 ${out ? 'out' : 'in'} in cluster-state`, async () => {
      const m = await get('osd_map');
      return m.epoch > before && m.doc.osds.find((o: Json) => o.osd === 0).in === (out ? 0 : 1);
    });
  };

  beforeAll(async () => {
    cluster = await startCephCluster({ osds: 1, mds: false });
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  beforeEach(async () => {
    cs = await startTestServer();
  });
  afterEach(async () => {
    for (const f of feeds.splice(0)) await f.stop();
    await cs.close();
  });

  it('reconnects to a monitor restarted under it and keeps following the maps', async () => {
    const f = await start();
    await f.feed.firstSync;
    const sessions = f.mon.status().sessions;
    await cluster.restartDaemon('mon.a');
    await until('a new monitor session', () => f.mon.status().sessions > sessions && f.mon.status().state === 'connected', 60000);
    await followsOsdOut(true);
    await followsOsdOut(false);
    expect(f.feed.status().checks).toEqual([]);
  });

  it('monitors away at start: retried with backoff, MGR_CEPH_MON_UNREACHABLE while away, cleared once they answer', async () => {
    await cluster.stopDaemon('mon.a');
    let f: CephFeedHandle;
    try {
      f = await start({ monGraceMs: 500, backoffMs: 100, maxBackoffMs: 400 });
      const check = await until('MGR_CEPH_MON_UNREACHABLE in cluster-state', async () => (await health()).checks.MGR_CEPH_MON_UNREACHABLE, 30000);
      expect(check.severity).toBe('HEALTH_WARN');
      expect(check.summary.message).toContain(`v2:${cluster.mons[0].v2}`);
      expect(check.detail.map((d: Json) => d.message).join('\n')).toMatch(/last error: .*ECONNREFUSED/);
    } finally {
      await cluster.startDaemon('mon.a');
    }
    await f.feed.firstSync;
    await until('the check cleared', async () => !(await health()).checks.MGR_CEPH_MON_UNREACHABLE, 30000);
    expect(f.feed.status().checks).toEqual([]);
    await followsOsdOut(true);
    await followsOsdOut(false);
  });
});
