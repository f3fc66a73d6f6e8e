// The map feed against the real cluster-state service.
import * as fs from 'fs';
import * as os from 'os';
import * as net from 'net';
import * as path from 'path';
import { startClusterState, ClusterStateHandle } from '../../services/cluster-state/server';
import { openChannel, makeClient } from '../../lib/client';
import { createLogger } from '../../lib/log';
import { ClusterStateServiceDefinition } from '../../lib/gen/ceph/mgr/v1/cluster_state';
import { SimCluster } from '../cluster';
import { MapFeed } from '../feed';

const quiet = createLogger({ test: 'feed' }, 'error');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sim-feed-'));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('MapFeed -> cluster-state', () => {
  let cs: ClusterStateHandle;
  let dataDir: string;
  const clients: { close(): void }[] = [];
  beforeAll(async () => {
    dataDir = tmp();
    cs = await startClusterState({ host: '127.0.0.1', port: 0, dataDir, metricsPort: -1, logLevel: 'error' });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await cs.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const state = () => {
    const ch = openChannel(cs.address);
    clients.push(ch);
    return makeClient(ClusterStateServiceDefinition, ch);
  };
  const get = async (what: string) => {
    const r = await state().get({ what });
    return { epoch: r.epoch, json: JSON.parse(Buffer.from(r.json).toString('utf8')) };
  };

  it('pushes the maps, pg stats and events, with epochs that match the JSON', async () => {
    const cluster = new SimCluster({ osds: 6, pgs: 64 });
    const feed = new MapFeed({ cluster, address: cs.address, logger: quiet, pgStatsDirect: true, serviceMap: true });
    await feed.start();
    const osdMap = await get('osd_map');
    expect(osdMap.epoch).toBe(27);
    expect(osdMap.json.epoch).toBe(27);
    expect(osdMap.json.osds).toHaveLength(6);
    expect((await get('fs_map')).json.filesystems[0].mdsmap.fs_name).toBe('cephfs');
    expect((await get('osd_map_crush')).json.devices).toHaveLength(6);
    expect(Object.keys((await get('osd_metadata')).json)).toHaveLength(6);
    expect((await get('service_map')).json.services.rgw.daemons.gw1.gid).toBe(4235);
    expect(feed.pgStatRounds).toBe(1);
    expect((await get('pg_summary')).json.all).toEqual({ 'active+clean': 64 });

    const ev = await feed.applyEvent();
    expect(ev.kind).toBe('osd_down');
    const down = (ev as { osd: number }).osd;
    const after = await get('osd_map');
    expect(after.epoch).toBe(28);
    expect(after.json.osds[down].up).toBe(0);
    await feed.pushPgStats();
    const summary = (await get('pg_summary')).json.all;
    expect(summary['active+undersized+degraded']).toBe(cluster.pgStateCounts()['active+undersized+degraded']);
    expect(summary['active+undersized+degraded']).toBeGreaterThan(0);

    await feed.applyEvent(); // back up
    await feed.pushPgStats();
    expect((await get('osd_map')).epoch).toBe(29);
    expect((await get('pg_summary')).json.all).toEqual({ 'active+clean': 64 });
    await feed.stop();
  });

  it('a new feed run continues after the epochs cluster-state already holds', async () => {
    const cluster = new SimCluster({ osds: 6, pgs: 64 });
    expect(cluster.epoch).toBe(27);
    const feed = new MapFeed({ cluster, address: cs.address, logger: quiet });
    await feed.start();
    const m = await get('osd_map');
    expect(m.epoch).toBe(30);
    expect(m.json.epoch).toBe(30);
    expect(cluster.epoch).toBe(30);
    expect((await get('mon_map')).json.epoch).toBeGreaterThan(1);
    await feed.stop();
  });

  it('waits, with a log line, until cluster-state comes up', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const feed = new MapFeed({
      cluster: new SimCluster(),
      address: `127.0.0.1:${port}`,
      logger: createLogger({}, 'info', (l) => lines.push(l)),
      retry: { initialMs: 20, maxMs: 100 },
    });
    const started = feed.start();
    while (!lines.some((l) => l.includes('cluster-state not reachable yet'))) await new Promise((r) => setTimeout(r, 10));
    const dir = tmp();
    const late = await startClusterState({ host: '127.0.0.1', port, dataDir: dir, metricsPort: -1, logLevel: 'error' });
    try {
      await started;
      expect(lines.some((l) => l.includes('first maps are in cluster-state'))).toBe(true);
      expect(feed.pushed.get('osd_map')).toBe(27);
    } finally {
      await feed.stop();
      await late.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
