// Scrape: the prometheus module's /metrics at 10,000 OSDs (100,000 PGs,
// every OSD's metadata and health metrics, perf counters of 200 OSDs, the
// MDS, the monitors and rgw) while the module keeps rebuilding it
// (scrape_interval 5 s), against a bare Node http server answering the very
// same bytes from a Buffer in the same run. Both are fetched as Prometheus
// does (gzip) and whole (identity), one request at a time on a kept-alive
// connection, taking turns with the baseline; the time is until the last byte.
import { keyringCredentials } from '../lib/auth/keys';
import { FEED_ENTITY, provisionKeyring } from '../lib/auth/provision';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { openChannel, makeClient } from '../lib/client';
import { createLogger } from '../lib/log';
import { freePort } from '../lib/testing/wait';
import { ClusterStateServiceDefinition, DaemonReport } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { ModuleHostServiceDefinition } from '../lib/gen/ceph/mgr/v1/module_host';
import { SimCluster } from '../sim/cluster';
import { MapFeed } from '../sim/feed';
import { mdsPerfSchema, monPerfSchema, osdPerfSchema, PerfValueGenerator, rgwPerfSchema } from '../sim/perf';
import { BenchResult, Figure, MEASURE_MS, SMOKE, WARMUP_MS, percentile, startNode } from './harness';
import { startServiceProc, until } from './stack';

const PERF_OSDS = SMOKE ? 5 : 200;
const REBUILD_SECONDS = SMOKE ? 1 : 5;

/** GET a whole body on a kept-alive connection; resolves with its byte count. */
function fetchAll(agent: http.Agent, port: number, gzip: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent, headers: gzip ? { 'Accept-Encoding': 'gzip' } : {} }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`status ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function fetchBody(port: number, gzip: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', headers: gzip ? { 'Accept-Encoding': 'gzip' } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`status ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/** What every daemon's session would have told cluster-state: metadata, health metrics, perf counters (some OSDs). */
async function reportDaemons(client: ReturnType<typeof makeClient<typeof ClusterStateServiceDefinition>>, sim: SimCluster): Promise<void> {
  const osdSchema = osdPerfSchema();
  const now = Date.now() / 1000;
  const base = { serviceName: '', serviceDaemon: false, undeclare: [], status: {}, hasStatus: false, taskStatus: {}, closed: false, stamp: now, opened: true };
  let batch: DaemonReport[] = [];
  const flush = async () => {
    const res = await client.reportDaemons({ reports: batch });
    if (res.rejected.length) throw new Error(`reports rejected: ${res.rejected.slice(0, 3).join('; ')}`);
    batch = [];
  };
  for (const o of sim.osds) {
    const perf = o.id < PERF_OSDS;
    batch.push({
      ...base,
      daemon: `osd.${o.id}`,
      metadata: sim.osdMetadataOf(o.id),
      declare: perf ? osdSchema : [],
      values: perf ? [...sim.osdPerfValues(o.id, now)] : [],
      healthMetrics: sim.daemonHealthMetrics(`osd.${o.id}`),
    });
    if (batch.length >= 500) await flush();
  }
  const others: Array<[string, Record<string, string>, PerfValueGenerator, boolean]> = [
    ...Object.entries(sim.mdsMetadata()).map(([n, md]): [string, Record<string, string>, PerfValueGenerator, boolean] => [
      `mds.${n}`,
      md,
      new PerfValueGenerator(mdsPerfSchema(), 11),
      false,
    ]),
    ...Object.entries(sim.monMetadata()).map(([n, md]): [string, Record<string, string>, PerfValueGenerator, boolean] => [
      `mon.${n}`,
      md,
      new PerfValueGenerator(monPerfSchema(), 13),
      false,
    ]),
    ['rgw.gw1', sim.rgwMetadata(), new PerfValueGenerator(rgwPerfSchema(), 17), true],
  ];
  for (const [daemon, metadata, gen, service] of others)
    batch.push({
      ...base,
      daemon,
      metadata,
      serviceName: service ? 'rgw' : '',
      serviceDaemon: service,
      declare: gen.schema,
      values: [...gen.values(600, 1)],
      healthMetrics: sim.daemonHealthMetrics(daemon),
    });
  await flush();
}

export async function runScrape(osds = SMOKE ? 50 : 10000): Promise<BenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-bench-scrape-'));
  const stops: Array<() => Promise<void> | void> = [];
  try {
    // One keyring for both processes (each call proves a key of it), with the manager module-host calls as.
    const keyring = path.join(dir, 'keyring');
    provisionKeyring(keyring, ['x']);
    const as = (entity: string) => ({ credentials: keyringCredentials(keyring, entity) });
    const cs = await startServiceProc(
      'cluster-state',
      'services/cluster-state/main.ts',
      ['--port', '0', '--metrics-port', '-1', '--data-dir', path.join(dir, 'cs')],
      {
        MGR_LOG_LEVEL: 'info',
        MGR_KEYRING: keyring,
      },
    );
    stops.push(() => cs.child.kill());
    const channel = openChannel(cs.address);
    stops.push(() => channel.close());
    const client = makeClient(ClusterStateServiceDefinition, channel, as(FEED_ENTITY));
    const port = await freePort();
    for (const [key, value] of Object.entries({
      server_addr: '127.0.0.1',
      server_port: String(port),
      scrape_interval: String(REBUILD_SECONDS),
      rbd_stats_pools: '*',
    }))
      await client.setStore({ key: `config/mgr/prometheus/${key}`, value });

    const sim = new SimCluster({ osds, pgs: osds * 10, pools: 10, mons: 3 });
    const feed = new MapFeed({
      cluster: sim,
      channel,
      credentials: as(FEED_ENTITY).credentials,
      pgStatsDirect: true,
      pgStatsPeriodSec: 3600, // one round at start: the figure is the scrape, not pg-stat ingest
      serviceMap: true,
      logger: createLogger({ component: 'sim-feed' }, 'warn'),
    });
    stops.push(() => feed.stop());
    await feed.start();
    await reportDaemons(client, sim);

    const mh = await startServiceProc(
      'module-host',
      'services/module-host/main.ts',
      ['--port', '0', '--metrics-port', '-1', '--cluster-state-addr', cs.address],
      { MGR_LOG_LEVEL: 'info', MGR_MODULES: 'prometheus', MGR_PYTHON_MODULES: 'none', MGR_KEYRING: keyring },
    );
    stops.push(() => mh.child.kill());
    const body = await until(
      `/metrics with ${osds} OSDs`,
      async () => {
        const b = await fetchBody(port, false).catch(() => null);
        return b && b.toString('latin1').split('\nceph_osd_up{').length - 1 === osds && b;
      },
      SMOKE ? 60000 : 300000,
      1000,
    );
    const gz = await fetchBody(port, true);
    fs.writeFileSync(path.join(dir, 'body'), body);
    fs.writeFileSync(path.join(dir, 'body.gz'), gz);
    const base = startNode('bench/baseline-http.ts', [path.join(dir, 'body'), path.join(dir, 'body.gz')]);
    stops.push(() => base.kill());
    const [, basePort] = await base.waitForLine(/baseline http listening on (\d+)/);

    // the window spans several rebuilds, so a scrape that meets one is counted
    const measureMs = SMOKE ? MEASURE_MS : Math.max(MEASURE_MS, 4 * REBUILD_SECONDS * 1000);
    // Ours and the baseline take turns (a second each, for the whole window, after a warm-up) so
    // that both meet the same background: the module's rebuilds, the other services, the machine's
    // other users. The worst scrape (one that met a rebuild) is kept with the percentiles.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    stops.push(() => agent.destroy());
    const turns = async (gzip: boolean) => {
      const lat: [number[], number[]] = [[], []];
      const ports = [port, Number(basePort)];
      const run = async (k: 0 | 1, ms: number, record: boolean) => {
        const end = performance.now() + ms;
        while (performance.now() < end) {
          const t0 = performance.now();
          await fetchAll(agent, ports[k], gzip);
          if (record) lat[k].push(performance.now() - t0);
        }
      };
      await run(0, WARMUP_MS, false);
      await run(1, WARMUP_MS, false);
      const turnMs = SMOKE ? 100 : 1000;
      for (let t = 0; t * 2 * turnMs < 2 * measureMs; t++) {
        await run(0, turnMs, true);
        await run(1, turnMs, true);
      }
      return lat.map((l) => {
        l.sort((a, b) => a - b);
        return { p50Ms: percentile(l, 50), p99Ms: percentile(l, 99), maxMs: l[l.length - 1], n: l.length };
      });
    };
    const [oursGz, bareGz] = await turns(true);
    const [ours, bare] = await turns(false);

    const mhClient = makeClient(ModuleHostServiceDefinition, openChannel(mh.address), as('mgr.x'));
    const st = await mhClient.handleCommand({
      prefix: 'prometheus status',
      args: JSON.stringify({ prefix: 'prometheus status' }),
      inbuf: Buffer.alloc(0),
      entity: 'client.admin',
    });
    const status = JSON.parse(st.result?.stdout || '{}');

    const mb = (n: number) => (n / 1e6).toFixed(1);
    const bn = 'bare Node http, same bytes from a Buffer';
    const figures: Figure[] = [
      {
        name: `prometheus_scrape_gzip_p50 (${osds} OSDs, ${mb(gz.length)} MB gzip of ${mb(body.length)} MB)`,
        value: oursGz.p50Ms,
        unit: 'ms',
        baseline: bareGz.p50Ms,
        baselineName: bn,
      },
      {
        name: 'prometheus_scrape_gzip_p99',
        value: oursGz.p99Ms,
        unit: 'ms',
        baseline: bareGz.p99Ms,
        baselineName: bn,
        note: `rebuilt every ${REBUILD_SECONDS} s during the window`,
      },
      {
        name: 'prometheus_scrape_gzip_max',
        value: oursGz.maxMs,
        unit: 'ms',
        baseline: bareGz.maxMs,
        baselineName: bn,
        note: 'the worst scrape of the window',
      },
      { name: 'prometheus_scrape_identity_p50', value: ours.p50Ms, unit: 'ms', baseline: bare.p50Ms, baselineName: bn },
      { name: 'prometheus_scrape_identity_p99', value: ours.p99Ms, unit: 'ms', baseline: bare.p99Ms, baselineName: bn },
      {
        name: 'prometheus_rebuild',
        value: Number(status.collect_seconds ?? NaN),
        unit: 's',
        note: 'the last rebuild, off the request path (read, collect, render, gzip)',
      },
    ];
    return {
      bench: 'scrape',
      figures,
      params: { osds, pgs: osds * 10, perfOsds: PERF_OSDS, bytes: body.length, gzipBytes: gz.length, rebuildSeconds: REBUILD_SECONDS, measureMs },
    };
  } finally {
    for (const s of stops.reverse()) await s();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
