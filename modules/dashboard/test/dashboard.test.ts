// The dashboard end to end: a real cluster-state fed by the simulator's maps,
// the simulator's daemons reporting through a real daemon-server (so pg stats,
// rates and hosts are the real pipeline's), a real module-host running the
// dashboard module, commands through daemon-server, and a real headless
// Chromium (Debian's package, driven by playwright-core) logging in and
// watching the page follow the cluster.
import * as crypto from 'crypto';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as tls from 'tls';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { asCredentials, CallCredentials } from '../../../lib/auth/proof';
import { chromium, Browser } from 'playwright-core';
import { openChannel, makeClient } from '../../../lib/client';
import { createLogger } from '../../../lib/log';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { DaemonServerServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { startClusterState, ClusterStateHandle } from '../../../services/cluster-state/server';
import { startDaemonServer, DaemonServerHandle } from '../../../services/daemon-server/server';
import { parseKeyring } from '../../../lib/keyring';
import { startModuleHost, ModuleHostHandle } from '../../../services/module-host/server';
import { SimCluster } from '../../../sim/cluster';
import { MapFeed } from '../../../sim/feed';
import { FakeDaemons } from '../../../sim/daemons';
import { until } from '../../../lib/testing/wait';

// Page functions run in the browser; the project compiles without the DOM types.
declare const document: any;
declare const window: any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, 'artifacts');
const PASSWORD = 'correct horse battery';
const PASSWORD2 = 'another horse, another battery';
const PASSWORD3 = 'a third horse and its battery';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('dashboard module', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-dashboard-'));
  const quiet = createLogger({ component: 'test' }, 'error');
  const sim = new SimCluster({ osds: 12, osdsPerHost: 4, pgs: 128, ioRate: 400 });
  let cs: ClusterStateHandle;
  let mh: ModuleHostHandle;
  let mhStandby: ModuleHostHandle | undefined;
  let ds: DaemonServerHandle;
  let feed: MapFeed;
  let daemons: FakeDaemons;
  let browser: Browser | undefined;
  let blocker: net.Server;
  let blockedPort: number;
  let admin: { credentials: CallCredentials };
  let uri = '';
  let csChannel: ReturnType<typeof openChannel>;
  let dsChannel: ReturnType<typeof openChannel>;
  const csClient = () => makeClient(ClusterStateServiceDefinition, csChannel);
  const command = async (prefix: string, args: Record<string, unknown> = {}, inbuf = '') => {
    const client = makeClient(DaemonServerServiceDefinition, dsChannel);
    return (await client.command({ prefix, args: JSON.stringify(args), inbuf: Buffer.from(inbuf) }, admin)).result!;
  };
  const health = async () => JSON.parse(JSON.parse(Buffer.from((await csClient().get({ what: 'health' })).json).toString()).json);
  const setConfig = (key: string, value: string | undefined) =>
    csClient().setStore(value === undefined ? { key: `config/mgr/dashboard/${key}` } : { key: `config/mgr/dashboard/${key}`, value });

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    cs = await startClusterState({ dataDir: path.join(dir, 'cs'), logLevel: 'error', metricsPort: -1 });
    csChannel = openChannel(cs.address);
    feed = new MapFeed({ cluster: sim, address: cs.address, logger: quiet });
    await feed.start();
    // Hold the port the module is told to use, to see it report that it cannot start.
    blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    blockedPort = (blocker.address() as net.AddressInfo).port;
    await csClient().setStore({ key: 'mgr/dashboard/x/server_port', value: String(blockedPort) });
    // A MgrMap as the standby service keeps it (x active, y standby), for the page's manager line.
    await csClient().putMap({
      name: 'mgr_map',
      epoch: 1,
      json: Buffer.from(JSON.stringify({ epoch: 1, active_name: 'x', available: true, standbys: [{ gid: 2, name: 'y' }], services: {} })),
    });
    mh = await startModuleHost({ clusterStateAddr: cs.address, name: 'x', enabledModules: [], alwaysOnModules: [], logLevel: 'error', metricsPort: -1 });
    const keyringPath = path.join(dir, 'keyring');
    ds = await startDaemonServer({
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      clusterStateAddr: cs.address,
      moduleHostAddr: mh.address,
      keyringPath,
      statsPeriod: 1,
      flushIntervalMs: 50,
    });
    dsChannel = openChannel(ds.address);
    const key = parseKeyring(fs.readFileSync(keyringPath, 'utf8')).get('client.admin')!.key;
    admin = { credentials: asCredentials({ entity: 'client.admin', key }) };
    daemons = new FakeDaemons({ cluster: sim, address: ds.address, auth: { entity: 'client.admin', key }, logger: quiet }).start();
    // Enable the module once every OSD has reported: while the first reports
    // trickle in, each new PG's lifetime counters count as one interval's
    // I/O (as in Ceph after a manager restart) and would spike the charts.
    await until('pg stats of every PG', async () => JSON.parse(Buffer.from((await csClient().get({ what: 'pg_status' })).json).toString()).num_pgs === 128);
    // Then 1.5 s more of reports, by the pg map's own clock, so the first reports' spike has left the rates.
    const pgMapStamp = async () => {
      const dump = JSON.parse(Buffer.from((await csClient().get({ what: 'pg_dump' })).json).toString());
      return Date.parse(String(dump.stamp).replace(/\+0000$/, 'Z'));
    };
    const complete = await pgMapStamp();
    await until('1.5 s more of pg stats', async () => (await pgMapStamp()) >= complete + 1500);
    await mh.host.setEnabledModules(['dashboard']);
  }, 40000);

  afterAll(async () => {
    await browser?.close();
    await daemons?.stop();
    await feed?.stop();
    await mhStandby?.stop();
    await mh?.stop();
    dsChannel?.close();
    csChannel?.close();
    await ds?.stop();
    await cs?.stop();
    blocker?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30000);

  it('raises MGR_DASHBOARD_SERVER_FAILED while its port is taken, then serves and publishes its URI once it is free', async () => {
    const h = await until('the health check', async () => (await health()).checks.MGR_DASHBOARD_SERVER_FAILED);
    expect(h.detail.map((d: any) => d.message).join(' ')).toMatch(new RegExp(`127\\.0\\.0\\.1:${blockedPort}.*EADDRINUSE`));
    expect(mh.host.getServices().dashboard).toBeUndefined();
    await new Promise((r) => blocker.close(r));
    uri = await until('the URI', async () => mh.host.getServices().dashboard);
    expect(uri).toBe(`http://127.0.0.1:${blockedPort}/`);
    await until('the health check to clear', async () => !(await health()).checks.MGR_DASHBOARD_SERVER_FAILED);
  });

  it('creates, shows and deletes users by command, storing only a scrypt hash', async () => {
    expect(await command('dashboard ac-user-create', { username: 'admin', password: PASSWORD })).toMatchObject({ retcode: 0 });
    const again = await command('dashboard ac-user-create', { username: 'admin', password: PASSWORD });
    expect(again.retcode).toBe(-17);
    expect(again.stderr).toContain("User 'admin' already exists");
    const weak = await command('dashboard ac-user-create', { username: 'weak', password: 'short' });
    expect(weak.retcode).toBe(-22);
    expect(weak.stderr).toMatch(/too weak/);
    // the password can come from -i, as in Ceph
    expect((await command('dashboard ac-user-create', { username: 'viewer' }, 'another password\n')).retcode).toBe(0);
    expect((await command('dashboard ac-user-create', { username: 'bad/name', password: PASSWORD })).retcode).toBe(-22);
    expect(JSON.parse((await command('dashboard ac-user-show')).stdout)).toEqual(['admin', 'viewer']);
    const shown = await command('dashboard ac-user-show', { username: 'admin' });
    expect(JSON.parse(shown.stdout)).toMatchObject({ username: 'admin', enabled: true });
    expect(shown.stdout).not.toContain('scrypt');
    const stored = await csClient().getStore({ key: 'mgr/dashboard/user/admin' });
    expect(JSON.parse(stored.value!).password).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(stored.value).not.toContain(PASSWORD);
    expect((await command('dashboard ac-user-delete', { username: 'viewer' })).retcode).toBe(0);
    const gone = await command('dashboard ac-user-delete', { username: 'viewer' });
    expect(gone.retcode).toBe(-2);
    expect(gone.stderr).toContain("User 'viewer' does not exist");
  });

  it('the JSON API needs a session from POST /api/auth; errors are JSON with the right status', async () => {
    expect((await fetch(uri + 'api/summary')).status).toBe(401);
    const post = (body: string, type = 'application/json') => fetch(uri + 'api/auth', { method: 'POST', headers: { 'content-type': type }, body });
    expect((await post(JSON.stringify({ username: 'admin', password: 'wrong password' }))).status).toBe(401);
    expect((await post(JSON.stringify({ username: 'nobody', password: 'wrong password' }))).status).toBe(401);
    const bad = await post('{not json');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).detail).toMatch(/not valid JSON/);
    expect((await post('username=admin', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await fetch(uri + 'api/auth')).status).toBe(405);
    const ok = await post(JSON.stringify({ username: 'admin', password: PASSWORD }));
    expect(ok.status).toBe(201);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^token=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
    const headers = { cookie: cookie.split(';')[0] };
    const summary: any = await (await fetch(uri + 'api/summary', { headers })).json();
    expect(summary.osd).toMatchObject({ total: 12, up: 12, in: 12 });
    expect(summary.fsid).toBe(sim.osdMap().fsid);
    const osds: any = await (await fetch(uri + 'api/osd', { headers })).json();
    expect(osds.osds.map((o: any) => o.id)).toEqual([...Array(12).keys()]);
    const nope = await fetch(uri + 'api/nope', { headers });
    expect(nope.status).toBe(404);
    expect(((await nope.json()) as any).detail).toContain('/api/summary');
    // a tampered token is refused: another user in the claims, or any changed character of the MAC
    const [body, mac] = cookie.split(';')[0].slice('token='.length).split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const otherUser = Buffer.from(JSON.stringify({ ...claims, u: 'root' })).toString('base64url');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const forged of [`${otherUser}.${mac}`, `${body}.${flip(mac, 0)}`, `${body}.${flip(mac, mac.length - 1)}`, body]) {
      expect((await fetch(uri + 'api/summary', { headers: { cookie: `token=${forged}` } })).status).toBe(401);
    }
    // a new password ends the sessions opened with the old one
    expect((await command('dashboard ac-user-set-password', { username: 'admin', password: PASSWORD2 })).retcode).toBe(0);
    expect((await fetch(uri + 'api/summary', { headers })).status).toBe(401);
    expect((await post(JSON.stringify({ username: 'admin', password: PASSWORD }))).status).toBe(401);
    expect((await post(JSON.stringify({ username: 'admin', password: PASSWORD2 }))).status).toBe(201);
    expect((await command('dashboard ac-user-set-password', { username: 'nobody', password: PASSWORD2 })).retcode).toBe(-2);
    // only the listed static files exist
    expect((await fetch(uri + 'static/vendor/preact.mjs')).status).toBe(200);
    expect((await fetch(uri + 'static/../index.ts')).status).toBe(404);
    expect((await fetch(uri + 'static/vendor/../../index.ts')).status).toBe(404);
  });

  it('in Chromium: logs in, shows the OSD count, follows an OSD going down without a reload; screenshot saved', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const consoleErrors: string[] = [];
    // The 401s of the session check before login and of the wrong password are expected.
    page.on('console', (m) => m.type() === 'error' && !/status of 401/.test(m.text()) && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(uri);
    await page.fill('#username', 'admin');
    await page.fill('#password', 'wrong password');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=Invalid credentials');
    await page.fill('#password', PASSWORD2);
    await page.click('button[type=submit]');
    const text = (id: string) => page.textContent(`[data-testid=${id}]`);
    await page.waitForSelector('[data-testid=osd-total]');
    expect(await text('osd-total')).toBe('12');
    expect(await text('osd-up')).toBe('12');
    // the session cookie is HttpOnly: scripts cannot read it
    expect(await page.evaluate(() => document.cookie)).toBe('');

    // A mark that a reload would wipe.
    await page.evaluate(() => (window.__noReload = true));
    const epochBefore = Number(await text('osd-epoch'));
    sim.markOsdDown(5);
    const map = sim.osdMap();
    await csClient().putMap({ name: 'osd_map', epoch: map.epoch, json: Buffer.from(JSON.stringify(map)) });
    await page.waitForFunction(() => document.querySelector('[data-testid=osd-up]')?.textContent === '11', null, { timeout: 15000 });
    expect(Number(await text('osd-epoch'))).toBeGreaterThan(epochBefore);
    expect(await page.evaluate(() => window.__noReload)).toBe(true);
    expect(await text('osd-total')).toBe('12');
    await page.waitForFunction(() => document.querySelector('[data-testid=health-status]')?.textContent === 'HEALTH_WARN', null, { timeout: 15000 });
    await page.waitForSelector('[data-testid=osd-table] >> text=down');

    // The tables and charts fill from the daemons' reports (hosts come from their metadata).
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=host-table] tbody tr').length >= 3, null, { timeout: 15000 });
    await page.waitForFunction(() => !/^0 op\/s$/.test(document.querySelector('[data-testid=write-ops]')?.textContent ?? ''), null, { timeout: 20000 });
    expect(await page.locator('[data-testid=pool-table] tbody tr').count()).toBe(sim.pools.length);
    expect(await page.locator('.uplot').count()).toBe(2);
    await page.waitForTimeout(2500); // a few more chart points for the picture
    const shot = path.join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10000);

    // A password changed by command ends the open page's session: it falls back to the login form.
    expect((await command('dashboard ac-user-set-password', { username: 'admin', password: PASSWORD3 })).retcode).toBe(0);
    await page.waitForSelector('#username', { timeout: 10000 });
    expect(await page.evaluate(() => window.__noReload)).toBe(true);
    await page.fill('#username', 'admin');
    await page.fill('#password', PASSWORD3);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=osd-total]');

    // Logging out ends the session for the page and the API.
    await page.click('button.logout');
    await page.waitForSelector('#username');
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 60000);

  it("a standby manager's dashboard redirects to the active one, or answers the configured error", async () => {
    const standbyPort = await freePort();
    await csClient().setStore({ key: 'mgr/dashboard/y/server_port', value: String(standbyPort) });
    mhStandby = await startModuleHost({
      clusterStateAddr: cs.address,
      name: 'y',
      active: false,
      enabledModules: ['dashboard'],
      logLevel: 'error',
      metricsPort: -1,
    });
    const standbyUrl = `http://127.0.0.1:${standbyPort}/`;
    // Before the MgrMap names the active's URI there is nothing to redirect to.
    const early = await until('the standby to listen', () => fetch(standbyUrl, { redirect: 'manual' }));
    expect(early.status).toBe(503);
    mhStandby.host.setActiveServices({ dashboard: uri });
    const r = await fetch(standbyUrl + 'api/summary', { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe(uri + 'api/summary');
    // A browser pointed at the standby lands on the active's login page.
    const page = await browser!.newPage();
    await page.goto(standbyUrl);
    expect(page.url()).toBe(uri);
    await page.waitForSelector('#username');
    await page.close();
    await setConfig('standby_behaviour', 'error');
    await setConfig('standby_error_status_code', '503');
    const e = await fetch(standbyUrl, { redirect: 'manual' });
    expect(e.status).toBe(503);
    expect(await e.text()).toContain('standby');
    await setConfig('standby_behaviour', undefined);
    await setConfig('standby_error_status_code', undefined);
    expect((await fetch(standbyUrl, { redirect: 'manual' })).status).toBe(303);
  });

  it('switches to HTTPS with a certificate set by command', async () => {
    const key = path.join(dir, 'key.pem');
    const crt = path.join(dir, 'crt.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        crt,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    expect((await command('dashboard set-ssl-certificate', {}, 'not a certificate')).retcode).toBe(-22);
    expect((await command('dashboard set-ssl-certificate', {}, fs.readFileSync(crt, 'utf8'))).retcode).toBe(0);
    expect((await command('dashboard set-ssl-certificate-key', {}, fs.readFileSync(key, 'utf8'))).retcode).toBe(0);
    const sslPort = await freePort();
    await csClient().setStore({ key: 'mgr/dashboard/x/ssl_server_port', value: String(sslPort) });
    await setConfig('ssl', 'true');
    const httpsUri = await until('the https URI', async () => (mh.host.getServices().dashboard?.startsWith('https:') ? mh.host.getServices().dashboard : null));
    expect(httpsUri).toBe(`https://127.0.0.1:${sslPort}/`);
    const res = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const req = https.request(httpsUri + 'api/auth', { method: 'POST', ca: fs.readFileSync(crt), headers: { 'content-type': 'application/json' } }, (r) => {
        r.resume();
        resolve({ status: r.statusCode!, cookie: String(r.headers['set-cookie'] ?? '') });
      });
      req.on('error', reject);
      req.end(JSON.stringify({ username: 'admin', password: PASSWORD3 }));
    });
    expect(res.status).toBe(201);
    // over HTTPS the session cookie is also Secure
    expect(res.cookie).toContain('; Secure');
    // the certificate served is the one set by command
    const served = await new Promise<string>((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port: sslPort, ca: fs.readFileSync(crt) }, () => {
        resolve(sock.getPeerX509Certificate()!.fingerprint256);
        sock.end();
      });
      sock.on('error', reject);
    });
    expect(served).toBe(new crypto.X509Certificate(fs.readFileSync(crt)).fingerprint256);
  });
});
