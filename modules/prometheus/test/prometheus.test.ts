// The prometheus module against a REAL Prometheus (Debian's `prometheus`):
// cluster-state fed by the simulator, a module-host running the module on a
// loopback port of its own, and Prometheus scraping it every second. Also the
// standby part, the port-in-use health check, and the HTTP edges.
import * as http from 'http';
import * as zlib from 'zlib';
import * as net from 'net';
import * as path from 'path';
import { ModuleHostHandle } from '../../../services/module-host/server';
import { freePort, opW, startStack, until } from './stack';
import { describeWith, prometheusMissing, PrometheusServer, startPrometheus } from './prometheus-server';

describeWith([prometheusMissing()])('prometheus module scraped by a real Prometheus', () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let mh: ModuleHostHandle;
  let prom: PrometheusServer;
  let promUrl = '';
  let metricsUri = '';

  const query = (q: string) => prom.query(q);
  const scalar = async (q: string): Promise<number | null> => {
    const r = await query(q);
    return r.length === 1 ? Number(r[0].value[1]) : null;
  };

  beforeAll(async () => {
    stack = await startStack({
      options: { 'config/mgr/prometheus/server_port': '0', 'config/mgr/prometheus/scrape_interval': '1' },
    });
    // A short outage budget: the last test stops cluster-state and waits for the module to say so.
    mh = await stack.startHost({ enabledModules: ['prometheus'], clusterStateRetryMs: 2000 });
    metricsUri = await until('prometheus URI', () => mh.host.getServices().prometheus);
    prom = await startPrometheus(path.join(stack.dir, 'prometheus'), { target: new URL(metricsUri).host });
    promUrl = prom.url;
  }, 60000);

  afterAll(async () => {
    await prom?.stop();
    await stack?.close();
  }, 30000);

  it('publishes its URI and is scraped: up is 1', async () => {
    expect(metricsUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // generous: Prometheus' first scrape on a busy machine
    expect(await until('up == 1', async () => (await scalar('up{job="ceph"}')) === 1, 100000, 250)).toBe(true);
  }, 120000);

  it('Ceph metrics in Prometheus have the simulated values', async () => {
    const osds = stack.sim.osds.length;
    await until('ceph_osd_up scraped', async () => (await scalar('count(ceph_osd_up)')) === osds, 60000, 250);
    expect(await scalar('sum(ceph_osd_up)')).toBe(osds);
    expect(await scalar('sum(ceph_osd_in)')).toBe(osds);
    for (const o of stack.sim.osds) expect(await scalar(`ceph_osd_op_w{ceph_daemon="osd.${o.id}"}`)).toBe(opW(o.id));
    expect(await scalar('ceph_health_status')).not.toBeNull();
    const pools = stack.sim.osdMap().pools as Array<{ pool: number; pool_name: string }>;
    expect(await scalar('count(ceph_pool_metadata)')).toBe(pools.length);
    const names = (await query('ceph_pool_metadata')).map((r) => r.metric.name).sort();
    expect(names).toEqual(pools.map((p) => p.pool_name).sort());
    await until('pg stats scraped', async () => (await scalar('sum(ceph_pg_total)')) === stack.sim.pgs.length, 60000, 250);
    expect(await scalar('ceph_mon_quorum_status{ceph_daemon="mon.a"}')).toBe(1);
    expect(await scalar('count(ceph_mds_metadata)')).toBeGreaterThanOrEqual(1);
  }, 150000);

  it("Prometheus' own parser took the HELP and TYPE lines", async () => {
    const res = await fetch(`${promUrl}/api/v1/metadata?metric=ceph_osd_op_w`);
    const meta = ((await res.json()) as any).data.ceph_osd_op_w;
    expect(meta).toEqual([expect.objectContaining({ type: 'counter', help: 'Client write operations' })]);
    const up = ((await (await fetch(`${promUrl}/api/v1/metadata?metric=ceph_osd_up`)).json()) as any).data.ceph_osd_up;
    expect(up).toEqual([expect.objectContaining({ type: 'unknown', help: 'OSD status up' })]); // untyped is "unknown" to Prometheus
    expect(await scalar('scrape_samples_scraped{job="ceph"}')).toBeGreaterThan(1000);
  });

  it('follows the cluster: an OSD marked down shows as ceph_osd_up 0 within a few scrapes', async () => {
    const ev = await stack.feed.applyEvent();
    expect(ev.kind).toBe('osd_down');
    const id = ev.kind === 'osd_down' ? ev.osd : -1;
    await until(`osd.${id} down in Prometheus`, async () => (await scalar(`ceph_osd_up{ceph_daemon="osd.${id}"}`)) === 0, 20000, 250);
    expect(await scalar('sum(ceph_osd_up)')).toBe(stack.sim.osds.length - 1);
  }, 30000);

  it('serves /metrics in the text format from cache, an index page, 404 and 405', async () => {
    const res = await fetch(`${metricsUri}metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE ceph_osd_up untyped\n');
    expect(text).toMatch(/^ceph_osd_op_w\{ceph_daemon="osd\.0"\} 1000$/m);
    const index = await (await fetch(metricsUri)).text();
    expect(index).toContain('href="/metrics"');
    expect((await fetch(`${metricsUri}nope`)).status).toBe(404);
    const post = await fetch(`${metricsUri}metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    // Asked for gzip (as Prometheus does), the cached compressed body is sent.
    const gz = await new Promise<{ enc: string | undefined; body: Buffer }>((resolve, reject) => {
      http
        .get(`${metricsUri}metrics`, { headers: { 'Accept-Encoding': 'gzip' } }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c) => chunks.push(c));
          r.on('end', () => resolve({ enc: r.headers['content-encoding'], body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
    expect(gz.enc).toBe('gzip');
    expect(zlib.gunzipSync(gz.body).toString()).toMatch(/^ceph_osd_op_w\{ceph_daemon="osd\.0"\} 1000$/m);
    // `prometheus status` reports a cached body of the size served.
    const st = await mh.host.handleCommand('prometheus status', { prefix: 'prometheus status' }, '');
    const status = JSON.parse(st.result[1]);
    expect(status.listening).toBe(new URL(metricsUri).host);
    expect(status.body_bytes).toBeGreaterThan(1000);
  });

  it('with cache off, a scrape waits for a body rebuilt after it arrived', async () => {
    await stack.csClient.setStore({ key: 'config/mgr/prometheus/cache', value: 'false' });
    // the serve loop reads options every interval (1 s here)
    await until('cache off applied', async () => {
      const ev = stack.sim.createPool(undefined, 4);
      await stack.feed.pushOsdMap();
      const name = ev.kind === 'pool_create' ? ev.name : '';
      return (await (await fetch(`${metricsUri}metrics`)).text()).includes(`name="${name}"`);
    });
    // What module-host's get('osd_map') serves its modules (a moment after PutMap, when cluster-state's watch event arrives).
    const hostsOsdMapEpoch = async (): Promise<number> => {
      const r = await (mh.host as unknown as { cachedGet(what: string, known: number): Promise<{ json: string | null }> }).cachedGet('osd_map', -1);
      return r.json ? JSON.parse(r.json).epoch : 0;
    };
    for (let i = 0; i < 3; i++) {
      const ev = stack.sim.createPool(undefined, 4);
      await stack.feed.pushOsdMap();
      const epoch = stack.sim.osdMap().epoch;
      await until(`module-host serving osd_map epoch ${epoch}`, async () => (await hostsOsdMapEpoch()) >= epoch);
      const name = ev.kind === 'pool_create' ? ev.name : '';
      // With the cache off the scrape waits for a body whose collection began after the scrape arrived, so after the
      // map did (with it on, it would get the older body at once).
      expect(await (await fetch(`${metricsUri}metrics`)).text()).toContain(`name="${name}"`);
    }
    await stack.csClient.setStore({ key: 'config/mgr/prometheus/cache', value: 'true' });
  }, 30000);

  it('lists its commands and answers file_sd_config', async () => {
    const cmds = mh.host
      .commands()
      .filter((c) => c.module === 'prometheus')
      .map((c) => c.cmd);
    expect(cmds).toEqual(expect.arrayContaining(['prometheus file_sd_config', 'prometheus status', expect.stringMatching(/^prometheus set-local /)]));
    const r = await mh.host.handleCommand('prometheus file_sd_config', { prefix: 'prometheus file_sd_config' }, '');
    expect(r.result[0]).toBe(0);
    expect(JSON.parse(r.result[1])[0]).toHaveProperty('targets');
  });

  it('a standby answers with an index page pointing at the active, or with the configured error code', async () => {
    const port = await freePort();
    const set = (args: Record<string, unknown>) => mh.host.handleCommand('prometheus set-local', { prefix: 'prometheus set-local', ...args }, '');
    expect((await set({ mgr_id: 'y', key: 'server_port', value: 'abc' })).result[0]).toBe(-22);
    expect((await set({ mgr_id: 'y', key: 'server_port', value: String(port) })).result).toEqual([0, '', `set mgr/prometheus/y/server_port to ${port}`]);
    const standby = await stack.startHost({ name: 'y', active: false, enabledModules: ['prometheus'] });
    standby.host.setActiveServices({ prometheus: metricsUri });
    const base = `http://127.0.0.1:${port}`;
    const index = await until('standby serving', async () => (await fetch(`${base}/`)).text());
    expect(index).toContain(`href="${metricsUri}metrics"`);
    const empty = await fetch(`${base}/metrics`);
    expect(empty.status).toBe(200);
    expect(await empty.text()).toBe('');
    await stack.csClient.setStore({ key: 'config/mgr/prometheus/standby_behaviour', value: 'error' });
    await stack.csClient.setStore({ key: 'config/mgr/prometheus/standby_error_status_code', value: '503' });
    const err = await fetch(`${base}/metrics`);
    expect(err.status).toBe(503);
    expect(await err.text()).toContain('standby');
    expect((await fetch(`${base}/`)).status).toBe(503);
    await stack.csClient.setStore({ key: 'config/mgr/prometheus/standby_behaviour', value: 'default' });
    await stack.stopHost(standby);
  }, 30000);

  it('a taken port raises MGR_PROMETHEUS_ERROR until the port is free', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    await stack.csClient.setStore({ key: 'mgr/prometheus/z/server_port', value: String(port) });
    const z = await stack.startHost({ name: 'z', enabledModules: ['prometheus'] });
    const check = await until('MGR_PROMETHEUS_ERROR', () => z.host.healthChecks().find((c) => c.code === 'MGR_PROMETHEUS_ERROR'));
    expect(check.summary).toBe(`prometheus module cannot serve: cannot listen on 127.0.0.1:${port}: address already in use`);
    expect(check.detail.join(' ')).toContain('mgr/prometheus/z/server_port');
    expect(z.host.getServices().prometheus).toBeUndefined();
    await new Promise<void>((r) => blocker.close(() => r()));
    await until('check cleared', () => !z.host.healthChecks().some((c) => c.code === 'MGR_PROMETHEUS_ERROR'), 15000);
    expect(z.host.getServices().prometheus).toBe(`http://127.0.0.1:${port}/`);
    // Once its first collection is done it serves the metrics there (503 "not collected yet" until then).
    await until('metrics on the freed port', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`);
      return r.status === 200 && (await r.text()).includes('ceph_health_status');
    });
    await stack.stopHost(z);
  }, 30000);

  it('when cluster-state is gone it keeps serving the last body and raises MGR_PROMETHEUS_COLLECT_FAILED', async () => {
    const before = await (await fetch(`${metricsUri}metrics`)).text();
    expect(before).toContain('ceph_osd_up');
    await stack.cs.stop();
    const check = await until('MGR_PROMETHEUS_COLLECT_FAILED', () => mh.host.healthChecks().find((c) => c.code === 'MGR_PROMETHEUS_COLLECT_FAILED'), 20000);
    expect(check.severity).toBeDefined();
    expect(check.detail.join(' ')).toMatch(/UNAVAILABLE|ECONNREFUSED|connect/i);
    const after = await fetch(`${metricsUri}metrics`);
    expect(after.status).toBe(200);
    expect(await after.text()).toContain('ceph_osd_up{ceph_daemon="osd.0"}');
  }, 30000);
});
