// Fake daemons against the in-test DaemonServerService double
// (lib/testing/fake-daemon-server.ts), which records what arrives.
import { createLogger } from '../../lib/log';
import { SimCluster } from '../cluster';
import { FakeDaemons } from '../daemons';
import { osdPerfSchema } from '../perf';
import { FakeDaemonServer, until } from '../../lib/testing/fake-daemon-server';

const quiet = createLogger({ test: 'daemons' }, 'error');

describe('FakeDaemons', () => {
  let srv: FakeDaemonServer;
  beforeEach(async () => {
    srv = new FakeDaemonServer();
    await srv.start();
  });
  afterEach(() => srv.stop());

  it('runs every OSD, the MDS, the mons and rgw over shared channels, with counters and pg stats', async () => {
    const cluster = new SimCluster({ osds: 25, pgs: 128, mons: 3 });
    const d = new FakeDaemons({ cluster, address: srv.address, logger: quiet, daemonsPerChannel: 10, auth: { entity: 'client.admin', key: 'k' } }).start();
    expect(d.clients).toHaveLength(25 + 1 + 3 + 1);
    expect(d.channelCount).toBe(3);
    await until(() => d.connectedCount === 30 && srv.sessions.every((s) => s.reports.length >= 2));
    const byName = new Map(srv.sessions.map((s) => [s.open!.daemonName, s]));
    expect([...byName.keys()].sort()).toEqual([...Array.from({ length: 25 }, (_, i) => `osd.${i}`), 'mds.a', 'mon.a', 'mon.b', 'mon.c', 'rgw.gw1'].sort());
    const osd7 = byName.get('osd.7')!;
    expect(osd7.entity).toBe('client.admin');
    expect(osd7.open!.metadata.hostname).toBe(cluster.hostName(0));
    expect(osd7.reports[0].declareTypes).toHaveLength(osdPerfSchema().length);
    expect(osd7.reports[1].declareTypes).toHaveLength(0);
    expect(osd7.reports[1].counterValues!.length).toBe(osd7.reports[0].counterValues!.length);
    const pgs = osd7.pgStats[0].report!;
    expect(pgs.pgStats.map((p) => `${p.pgid!.pool}.${p.pgid!.seed.toString(16)}`).sort()).toEqual(
      cluster
        .pgsOfPrimary(7)
        .map((p) => p.pgid)
        .sort(),
    );
    expect(pgs.osdStat!.numPgs).toBeGreaterThan(0);
    expect(osd7.pgStats[0].epoch).toBe(cluster.epoch);
    const rgw = byName.get('rgw.gw1')!;
    expect(rgw.open).toMatchObject({ serviceName: 'rgw', serviceDaemon: true });
    expect(rgw.reports[0].daemonStatus.zone).toBe('default');
    expect(byName.get('mds.a')!.pgStats).toHaveLength(0);
    await d.stop();
  });

  it('reconnects every daemon after daemon-server restarts', async () => {
    const port = srv.port;
    const cluster = new SimCluster({ osds: 12, pgs: 64 });
    const d = new FakeDaemons({ cluster, address: srv.address, logger: quiet, others: false, backoff: { initialMs: 20, maxMs: 100 } }).start();
    await until(() => d.connectedCount === 12);
    await srv.stop();
    await until(() => d.connectedCount === 0);
    srv = new FakeDaemonServer();
    await srv.start(port);
    await until(() => d.connectedCount === 12 && srv.sessions.length >= 12 && srv.sessions.every((s) => s.reports.length >= 1));
    for (const s of srv.sessions) expect(s.reports[0].declareTypes).toHaveLength(osdPerfSchema().length);
    await d.stop();
  });
});
