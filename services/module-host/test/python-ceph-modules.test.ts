// More of Ceph's own modules, unmodified from Debian's packages, on
// module-host against a real cluster-state fed by the simulator: balancer
// (status, eval: OSDMap/CRUSH from the dumps), zabbix and influx
// (config-set/config-show, read-your-writes), prometheus (its cherrypy
// server's /metrics over HTTP).
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { openChannel, makeClient } from '../../../lib/client';
import { createLogger } from '../../../lib/log';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { ModuleHostServiceDefinition, ModuleState } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { startClusterState, ClusterStateHandle } from '../../cluster-state/server';
import { SimCluster } from '../../../sim/cluster';
import { MapFeed } from '../../../sim/feed';
import { startModuleHost, ModuleHostHandle } from '../server';
import { DEFAULT_CEPH_MGR_DIR } from '../domain/python-modules';
import { until } from '../../../lib/testing/wait';
import { describeWith, itWith } from '../../../lib/testing/external';

const NEEDED = ['mgr_module.py', 'balancer', 'zabbix', 'influx', 'prometheus'].map((f) => path.join(DEFAULT_CEPH_MGR_DIR, f));
const missing = [...NEEDED, '/usr/bin/python3'].filter((f) => !fs.existsSync(f));
const PROMETHEUS = '/usr/bin/prometheus';
const describeCeph = describeWith(missing.length > 0 && `missing ${missing.join(', ')}`, "install Debian's ceph-mgr and ceph-mgr-modules-core (.ci/run does)");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function httpGet(url: string, opts: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { timeout: 10000, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describeCeph("Ceph's balancer, zabbix, influx and prometheus on module-host", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-pyc-cs-'));
  let cs: ClusterStateHandle;
  let mh: ModuleHostHandle;
  let feed: MapFeed;
  let promPort = 0;
  let restPort = 0;
  const sim = new SimCluster({ osds: 5, pgs: 64, seed: 11 });
  const client = () => makeClient(ModuleHostServiceDefinition, openChannel(mh.address));
  const cmd = async (prefix: string, args: Record<string, unknown> = {}) => {
    const res = await client().handleCommand({ prefix, args: JSON.stringify({ prefix, ...args }), inbuf: Buffer.alloc(0), entity: 'client.admin' });
    return res.result!;
  };
  const mod = async (n: string) => (await client().listModules({})).modules.find((m) => m.info!.name === n)!;

  beforeAll(async () => {
    cs = await startClusterState({ dataDir, logLevel: 'warn', metricsPort: -1 });
    const c = makeClient(ClusterStateServiceDefinition, openChannel(cs.address));
    promPort = await freePort();
    restPort = await freePort();
    // As `ceph config set mgr mgr/<module>/<key>` would: loopback only, a
    // free port, and no automatic balancing (it needs CRUSH's upmap optimizer).
    for (const [key, value] of [
      ['config/mgr/prometheus/server_addr', '127.0.0.1'],
      ['config/mgr/prometheus/server_port', String(promPort)],
      ['config/mgr/balancer/active', 'false'],
      ['config/mgr/restful/server_addr', '127.0.0.1'],
      ['config/mgr/restful/server_port', String(restPort)],
      // influx connects once a hostname is set: to a port nothing listens on.
      ['config/mgr/influx/port', String(await freePort())],
    ]) {
      await c.setStore({ key, value });
    }
    // What the monitors and the standby service put in a running system.
    const monmap = sim.monMap();
    const monStatus = {
      name: monmap.mons[0].name,
      rank: 0,
      state: 'leader',
      election_epoch: 4,
      quorum: monmap.mons.map((m: any) => m.rank),
      quorum_age: 60,
      features: {},
      outside_quorum: [],
      extra_probe_peers: [],
      sync_provider: [],
      monmap,
      feature_map: {},
      stretch_mode: false,
    };
    await c.putMap({ name: 'mon_status', epoch: 1, json: Buffer.from(JSON.stringify(monStatus)) });
    const mgrMap = fs.readFileSync(path.join(__dirname, '../../../../shared/fixtures/ceph-pacific/mgrget-mgr_map.json'));
    await c.putMap({ name: 'mgr_map', epoch: JSON.parse(mgrMap.toString()).epoch, json: mgrMap });
    // The OSDs' sessions (daemon-server reports them when the daemons connect).
    const blank = {
      serviceName: '',
      serviceDaemon: false,
      declare: [],
      undeclare: [],
      values: [],
      stamp: 0,
      status: {},
      hasStatus: false,
      taskStatus: {},
      healthMetrics: [],
      closed: false,
    };
    await c.reportDaemons({ reports: sim.osds.map((o) => ({ ...blank, daemon: `osd.${o.id}`, opened: true, metadata: sim.osdMetadataOf(o.id) })) });
    feed = new MapFeed({
      cluster: sim,
      address: cs.address,
      pgStatsDirect: true,
      pgStatsPeriodSec: 2,
      logger: createLogger({ component: 'sim-feed' }, 'warn'),
    });
    await feed.start();
    await feed.pushPgStats();
    mh = await startModuleHost({
      clusterStateAddr: cs.address,
      enabledModules: ['balancer', 'zabbix', 'influx', 'prometheus', 'restful'],
      commandTimeoutMs: 10000,
      logLevel: 'error',
      metricsPort: -1,
      python: {
        modulePath: [],
        cephMgrDir: DEFAULT_CEPH_MGR_DIR,
        python: '/usr/bin/python3',
        prefer: ['prometheus', 'zabbix', 'influx', 'balancer', 'restful'],
        only: ['balancer', 'zabbix', 'influx', 'prometheus', 'restful'],
      },
    });
    await until('modules running', async () => {
      for (const n of ['balancer', 'zabbix', 'influx', 'prometheus', 'restful']) if ((await mod(n)).state !== ModuleState.MODULE_STATE_RUNNING) return false;
      return true;
    });
  }, 60000);

  afterAll(async () => {
    await mh?.stop();
    await feed?.stop();
    await cs?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('balancer status and eval work on the OSDMap/CRUSH built from the dumps', async () => {
    const st = await cmd('balancer status');
    expect(st.retcode).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ active: false, mode: expect.any(String) });
    const ev = await cmd('balancer eval');
    expect(ev.retcode).toBe(0);
    expect(ev.stdout).toMatch(/current cluster score \d+\.\d+/);
    const pool = sim.pools[0].name;
    const evPool = await cmd('balancer eval', { option: pool });
    expect(evPool.stdout).toMatch(new RegExp(`pool "${pool}" score \\d+\\.\\d+`));
  });

  it('zabbix and influx: config-set then config-show reads the write back', async () => {
    expect((await cmd('zabbix config-set', { key: 'zabbix_host', value: '127.0.0.1' })).retcode).toBe(0);
    const z = JSON.parse((await cmd('zabbix config-show')).stdout);
    expect(z.zabbix_host).toBe('127.0.0.1');
    expect((await cmd('influx config-set', { key: 'hostname', value: '127.0.0.1' })).retcode).toBe(0);
    const i = JSON.parse((await cmd('influx config-show')).stdout);
    expect(i.hostname).toBe('127.0.0.1');
    const bad = await cmd('influx config-set', { key: 'port', value: 'not-a-number' });
    expect(bad.retcode).not.toBe(0);
  });

  it('prometheus serves /metrics over HTTP with ceph_osd_up for every simulated OSD', async () => {
    const channel = openChannel(cs.address);
    const csClient = makeClient(ClusterStateServiceDefinition, channel);
    const healthCode = async () => {
      const health = JSON.parse(JSON.parse(Buffer.from((await csClient.get({ what: 'health' })).json).toString()).json);
      return { HEALTH_OK: 0, HEALTH_WARN: 1, HEALTH_ERR: 2 }[health.status as string];
    };
    // The cluster's health changes as the simulator's reports arrive: wait for a scrape that agrees with it.
    const res = await until('prometheus /metrics with the health cluster-state holds', async () => {
      const r = await httpGet(`http://127.0.0.1:${promPort}/metrics`);
      const code = await healthCode();
      return r.status === 200 && r.body.includes('ceph_osd_up') && new RegExp(`^ceph_health_status ${code}\\.0$`, 'm').test(r.body) && r;
    });
    channel.close();
    for (const o of sim.osds) expect(res.body).toMatch(new RegExp(`^ceph_osd_up\\{ceph_daemon="osd\\.${o.id}"\\} 1\\.0$`, 'm'));
    expect((await client().listModules({})).services.prometheus).toBe(`http://127.0.0.1:${promPort}/`);
  });

  itWith(!fs.existsSync(PROMETHEUS) && `${PROMETHEUS} is missing`, "install Debian's prometheus (.ci/run does)")(
    'a real Prometheus scrapes it (Debian prometheus)',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-pyc-prom-'));
      fs.writeFileSync(
        path.join(dir, 'prometheus.yml'),
        [
          'global:',
          '  scrape_interval: 1s',
          'scrape_configs:',
          '  - job_name: ceph',
          '    scrape_interval: 1s',
          '    scrape_timeout: 1s',
          '    honor_labels: true',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${promPort}']`,
          '',
        ].join('\n'),
      );
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const prom: ChildProcess = spawn(
        PROMETHEUS,
        [
          `--config.file=${path.join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        { stdio: 'ignore' },
      );
      const exited = new Promise((r) => prom.once('exit', r));
      try {
        const scalar = async (q: string) => {
          const body = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as any;
          return body.status === 'success' && body.data.result.length === 1 ? Number(body.data.result[0].value[1]) : null;
        };
        await until('Prometheus scraped ceph_osd_up', async () => (await scalar('count(ceph_osd_up)')) === sim.osds.length, 40000);
        expect(await scalar('up{job="ceph"}')).toBe(1);
        expect(await scalar('sum(ceph_osd_up)')).toBe(sim.osds.length);
      } finally {
        prom.kill('SIGTERM');
        const timer = setTimeout(() => prom.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    60000,
  );

  it('restful serves its read API over HTTPS with a key it created', async () => {
    expect((await cmd('restful create-self-signed-cert')).retcode).toBe(0);
    const key = await cmd('restful create-key', { key_name: 'admin' });
    expect(key.retcode).toBe(0);
    expect(key.stdout).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse((await cmd('restful list-keys')).stdout)).toEqual({ admin: key.stdout });
    const auth = 'Basic ' + Buffer.from(`admin:${key.stdout}`).toString('base64');
    const get = (p: string, withAuth = true) =>
      httpGet(`https://127.0.0.1:${restPort}${p}`, { rejectUnauthorized: false, headers: withAuth ? { Authorization: auth } : {} });
    await until('restful HTTPS', async () => (await get('/')).status === 200);
    expect((await get('/osd', false)).status).toBe(401);
    const osds = JSON.parse((await get('/osd')).body);
    expect(osds.map((o: any) => o.osd).sort()).toEqual(sim.osds.map((o) => o.id).sort());
    const pools = JSON.parse((await get('/pool')).body);
    expect(pools.map((p: any) => p.pool_name).sort()).toEqual(sim.pools.map((p) => p.name).sort());
    expect((await get('/server')).status).toBe(200);
    expect((await client().listModules({})).services.restful).toBe(`https://127.0.0.1:${restPort}/`);
  });
});
