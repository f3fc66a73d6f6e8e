// The feed against the run's shared Pacific cluster (real monitors, OSDs,
// MDS): cluster-state's maps equal the cluster's and follow its changes
// (the monitor restarts are in restart.live.test.ts, on a cluster of their own).
import { shapeDiff } from '../../lib/testing/shape';
import { describeCeph, sharedCephCluster, type CephCluster } from '../../lib/testing/ceph-cluster';
import { until } from '../../lib/testing/wait';
import { startTestServer } from '../../services/cluster-state/test/helpers';
import { startCephFeed, type CephFeedHandle } from '../server';

type Json = any;

describeCeph('feed.live.test.ts')('the Ceph map feed on a live Pacific cluster', () => {
  jest.setTimeout(300000);
  let cluster: CephCluster;
  let cs: Awaited<ReturnType<typeof startTestServer>>;
  let feed: CephFeedHandle;
  const get = async (what: string): Promise<{ epoch: number; doc: Json }> => {
    const r = await cs.client.get({ what });
    return { epoch: r.epoch, doc: JSON.parse(Buffer.from(r.json).toString('utf8')) };
  };
  /** Waits until cluster-state's osd_map has the epoch of `ceph osd dump` (other test files may change the cluster meanwhile). */
  const osdMapsAgree = () =>
    until(
      "cluster-state's osd_map at the cluster's epoch",
      async () => {
        const real = await cluster.ceph(['osd', 'dump']);
        const ours = await get('osd_map');
        return ours.epoch === real.epoch && { real, ours: ours.doc };
      },
      60000,
      300,
    );

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    cs = await startTestServer();
    feed = await startCephFeed({
      cephConf: cluster.confPath,
      keyring: cluster.keyringPath,
      clusterState: cs.handle.address,
      port: 0,
      metricsPort: -1,
      logLevel: 'warn',
      periodMs: 1000,
    });
    await feed.feed.firstSync;
  });
  afterAll(async () => {
    await feed?.stop();
    await cs?.close();
  });

  it('puts the osd map at the cluster’s epoch, equal to `ceph osd dump` in every key path', async () => {
    const { real, ours } = await osdMapsAgree();
    expect(shapeDiff(ours, real)).toEqual([]);
    expect(ours.fsid).toBe(cluster.fsid);
    expect(ours.osds.map((o: Json) => [o.osd, o.up, o.in])).toEqual(real.osds.map((o: Json) => [o.osd, o.up, o.in]));
    expect(ours.pools.map((p: Json) => p.pool_name)).toEqual(real.pools.map((p: Json) => p.pool_name));
  });

  it('serves GetOsdMap and GetFsMap from the real maps', async () => {
    await osdMapsAgree();
    const osd = (await cs.client.getOsdMap({})).osdMap!;
    const real = await cluster.ceph(['osd', 'dump']);
    expect(osd).toMatchObject({ epoch: real.epoch, fsid: cluster.fsid, maxOsd: real.max_osd });
    expect(osd.osds.map((o) => [o.osd, o.up, o.in])).toEqual(real.osds.map((o: Json) => [o.osd, !!o.up, !!o.in]));
    expect(osd.pools.map((p) => p.poolName)).toEqual(real.pools.map((p: Json) => p.pool_name));
    const fs = (await cs.client.getFsMap({})).fsMap!;
    const realFs = await cluster.ceph(['fs', 'dump']);
    expect(fs.epoch).toBe(realFs.epoch);
    expect(fs.filesystems.map((f) => [f.name, f.metadataPool, f.dataPools])).toEqual(
      realFs.filesystems.map((f: Json) => [f.mdsmap.fs_name, f.mdsmap.metadata_pool, f.mdsmap.data_pools]),
    );
    expect(fs.filesystems[0].mds.map((m) => [m.name, m.state])).toEqual([['a', 'up:active']]);
  });

  it('puts every other map the monitors answer, in the shapes modules get', async () => {
    const [fsMap, monMap, crush, tree, osdMeta, mdsMeta, monMeta, monStatus, _health] = await Promise.all(
      ['fs_map', 'mon_map', 'osd_map_crush', 'osd_map_tree', 'osd_metadata', 'mds_metadata', 'mon_metadata', 'mon_status', 'health'].map(get),
    );
    expect(fsMap.doc.filesystems[0].mdsmap.fs_name).toBe('cephfs');
    expect(monMap.doc).toMatchObject({ fsid: cluster.fsid, epoch: monMap.epoch });
    expect(monMap.doc.mons.map((m: Json) => m.name)).toEqual(cluster.mons.map((m) => m.name));
    expect(monMap.doc.quorum).toBeUndefined();
    expect(crush.doc.devices.map((d: Json) => d.name)).toEqual(['osd.0', 'osd.1', 'osd.2']);
    const realTree = await cluster.ceph(['osd', 'tree']);
    expect(tree.doc.nodes.map((n: Json) => n.id).sort()).toEqual(realTree.nodes.map((n: Json) => n.id).sort());
    expect(Object.keys(osdMeta.doc)).toEqual(['0', '1', '2']);
    expect(osdMeta.doc['0'].ceph_release).toBe('pacific');
    expect(Object.keys(mdsMeta.doc)).toEqual(['a']);
    expect(Object.keys(monMeta.doc)).toEqual(cluster.mons.map((m) => m.name));
    expect(Object.keys(monStatus.doc)).toEqual(['json']);
    // from the monitors' MMgrDigest (quorum_status has no feature_map)
    await until('mon_status from the monitors’ digest', async () => Object.keys(JSON.parse((await get('mon_status')).doc.json).feature_map).length > 0);
    expect(JSON.parse(monStatus.doc.json)).toMatchObject({ quorum: [0], monmap: { fsid: cluster.fsid } });
    const monConfig = (await get('mon_config')).doc;
    expect(monConfig.options).toEqual(await cluster.ceph(['config', 'dump']));
    const realHealth = await cluster.ceph(['health', 'detail']);
    await until('the monitors’ health checks in cluster-state', async () => {
      const h = JSON.parse((await get('health')).doc.json);
      return Object.keys(realHealth.checks).every((c) => c in h.checks);
    });
  });

  it("needs no more than mon 'allow r': an entity with only that gets every map", async () => {
    const keyring = `${cluster.dir}/client.mgrpc-ro.keyring`;
    const made = await cluster.run(['auth', 'get-or-create', 'client.mgrpc-ro', 'mon', 'allow r', '-o', keyring]);
    expect(made.code).toBe(0);
    const cs2 = await startTestServer();
    const ro = await startCephFeed({
      cephConf: cluster.confPath,
      keyring,
      entity: 'client.mgrpc-ro',
      clusterState: cs2.handle.address,
      port: 0,
      metricsPort: -1,
      logLevel: 'warn',
    });
    try {
      await ro.feed.firstSync;
      expect(ro.feed.status()).toMatchObject({ synced: true, checks: [] });
      const epoch = (await cs2.client.get({ what: 'osd_map' })).epoch;
      expect(epoch).toBeGreaterThan(0);
    } finally {
      await ro.stop();
      await cs2.close();
    }
  });

  it('follows `ceph osd out 1` to the new epoch, and `ceph osd in 1` back', async () => {
    // other test files change the shared cluster too: what is waited for is the epoch, which only grows
    const reaches = async (change: string[]) => {
      await cluster.ceph(change);
      const real = await cluster.ceph(['osd', 'dump']);
      const m = await until(`cluster-state's osd_map at epoch ${real.epoch} after \`ceph ${change.join(' ')}\``, async () => {
        const m = await get('osd_map');
        return m.epoch >= real.epoch && m;
      });
      expect(m.doc.epoch).toBe(m.epoch);
      if (m.epoch === real.epoch) expect(m.doc.osds.find((o: Json) => o.osd === 1).in).toBe(real.osds.find((o: Json) => o.osd === 1).in);
    };
    await reaches(['osd', 'out', '1']);
    await reaches(['osd', 'in', '1']);
    await osdMapsAgree();
  });
});
