// Ceph's own manager modules, unmodified from Debian's packages, on the
// system as `npm start` runs it (one stack for the whole file): Ceph's
// dashboard (ceph-mgr-dashboard) driven by a real headless Chromium through
// its pages, asserting what they show against the simulated cluster; each of
// Pacific's always-on modules answering its main command through mgrctl;
// and a balancer plan (upmap mode) that moves PGs in the simulator.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, Browser, Page } from 'playwright-core';
import { runCaptured } from '../cli/mgrctl';
import { ALWAYS_ON_MODULES } from '../lib/always-on-modules';
import { Launcher, randomPortOffset, startLauncher, stopLauncher, until } from './launcher';
import { until as waitUntil } from '../lib/testing/wait';

// Page functions run in the browser; the project compiles without the DOM types.
declare const document: any;

const CEPH_MGR = '/usr/share/ceph/mgr';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const NEEDED = [
  '/usr/bin/python3',
  CHROMIUM,
  path.join(CEPH_MGR, 'mgr_module.py'),
  path.join(CEPH_MGR, 'dashboard/module.py'),
  ...ALWAYS_ON_MODULES.map((m) => path.join(CEPH_MGR, m, '__init__.py')),
];
const missing = NEEDED.filter((f) => !fs.existsSync(f));
// Under CI a missing program is a failure, never a silent skip.
if (missing.length && process.env.CI !== 'true')
  process.stdout.write(`SKIP ceph-modules.test.ts: missing ${missing.join(', ')} (.ci/run installs ceph-mgr-dashboard, ceph-mgr-modules-core, chromium)\n`);
const describeCeph = missing.length && process.env.CI !== 'true' ? describe.skip : describe;

const OFFSET = randomPortOffset();

describeCeph("Ceph's dashboard and always-on modules on npm start", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-ceph-modules-'));
  const env = { ...process.env, MGR_STANDBY_ADDR: `127.0.0.1:${7200 + OFFSET}`, MGR_KEYRING: path.join(dataDir, 'keyring'), MGR_ADDR: '' };
  let launcher: Launcher | undefined;
  let browser: Browser | undefined;

  /** mgrctl as a user types it: [exit code, stdout, stderr]. */
  const mgrctl = async (...argv: string[]): Promise<[number, string, string]> => {
    const r = await runCaptured([...argv, '--wait-ms', '30000'], env);
    return [r.code, r.stdout, r.stderr];
  };
  const ok = async (...argv: string[]): Promise<string> => {
    const [code, out, err] = await mgrctl(...argv);
    if (code !== 0) throw new Error(`mgrctl ${argv.join(' ')} exited ${code}: ${err}`);
    return out;
  };

  beforeAll(async () => {
    if (missing.length) throw new Error(`missing ${missing.join(', ')}: .ci/run installs ceph-mgr-dashboard, ceph-mgr-modules-core and chromium`);
    launcher = startLauncher(dataDir, OFFSET);
    const l = launcher;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      l.ready,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`npm start not ready in 230 s:\n${l.lines.join('\n')}`)), 230000))),
    ]).finally(() => clearTimeout(timer));
  }, 240000);

  afterAll(async () => {
    await browser?.close();
    await stopLauncher(launcher);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 60000);

  it("npm start serves Ceph's dashboard over HTTPS with an admin whose password is in a 0600 file", async () => {
    expect(launcher!.lines.some((l) => /dashboard login: admin, password in .*\(Ceph's dashboard, from ceph-mgr-dashboard\)/.test(l))).toBe(true);
    const file = path.join(dataDir, 'dashboard-admin');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^admin \S{8,}\n$/);
    const services = JSON.parse(await ok('mgr', 'services', '--format', 'json'));
    expect(services.dashboard).toBe(`https://127.0.0.1:${8443 + OFFSET}/`);
  });

  describe('in Chromium', () => {
    let page: Page;
    const problems: string[] = [];

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      // The dashboard's certificate is the self-signed one npm start created.
      const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } });
      page = await ctx.newPage();
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} ${r.url()}`));
    }, 60000);

    const base = `https://127.0.0.1:${8443 + OFFSET}/`;
    /** Opens a route and waits until the page's text matches every `ready` pattern (its data came); returns the text. */
    const show = async (route: string, ...ready: RegExp[]): Promise<string> => {
      await page.goto(`${base}#/${route}`);
      const patterns = ready.map((r) => [r.source, r.flags]);
      try {
        await page.waitForFunction(
          (ps) => ps.every(([src, flags]) => new RegExp(src, flags).test(document.querySelector('cd-root')?.innerText ?? '')),
          patterns,
          { timeout: 60000, polling: 500 },
        );
      } catch {
        const text = await page.evaluate(() => document.querySelector('cd-root')?.innerText ?? '');
        throw new Error(`${route}: ${ready.filter((r) => !r.test(text)).join(', ')} never showed in:\n${text.slice(0, 3000)}`);
      }
      return page.evaluate(() => document.querySelector('cd-root').innerText as string);
    };

    it('logs in with the admin npm start created', async () => {
      const password = fs.readFileSync(path.join(dataDir, 'dashboard-admin'), 'utf8').trim().split(' ')[1];
      await page.goto(`${base}#/login`);
      await page.fill('input[name=username]', 'admin');
      await page.fill('input[name=password]', password);
      await page.click('input[type=submit]');
      await page.waitForURL(/#\/dashboard/, { timeout: 60000 });
    }, 90000);

    it('the landing page shows the cluster: health, OSDs, hosts, monitors, managers, pools, PGs', async () => {
      await show(
        'dashboard',
        /OSDs\s+12 total\s+12 up, 12 in/,
        /Cluster Status\s+HEALTH_OK/,
        /Hosts\s+2 total/,
        /Monitors\s+1 \(quorum 0\)/,
        /Managers\s+1 active\s+1 standby/,
        /Metadata Servers\s+1 active/,
        /Pools\s+5\b/,
        // 89 PGs of 3 replicas over 12 OSDs (the capacity charts themselves are canvases).
        /PGs per OSD\s+22\.3/,
      );
    }, 90000);

    it('hosts, OSDs, pools, CephFS and monitors show the simulated daemons', async () => {
      const hosts = await show('hosts', /node0001/);
      expect(hosts).toMatch(/node0000\s+mds: 1\s+mon: 1\s+osd: 10\s+rgw: 1/);
      expect(hosts).toMatch(/node0001\s+osd: 2/);
      const osds = await show('osd', /\/ 12 total/);
      expect(osds).toMatch(/\b0\s+node0000\s+in\s+up\s+hdd/);
      const pools = await show('pool', /\/ 5 total/);
      for (const name of ['cephfs_metadata', 'device_health_metrics', 'cephfs_data', 'rbd', 'anchor']) expect(pools).toContain(name);
      expect(pools).toMatch(/replica: ×3/);
      const cephfs = await show('cephfs', /\/ 1 total/);
      expect(cephfs).toContain('cephfs');
      await show('monitor', /In Quorum\s+Name\s+Rank\s+Public Address\s+Open Sessions\s+a\s+0\s+127\.\d+\.\d+\.\d+:\d+/);
    }, 240000);

    it('manager modules lists every module mgr module ls lists, the always-on ones marked', async () => {
      const ls = JSON.parse(await ok('mgr', 'module', 'ls', '--format', 'json'));
      // The dashboard leaves out selftest, as Ceph's does.
      const all = new Set([...ls.always_on_modules, ...ls.enabled_modules, ...ls.disabled_modules.map((m: { name: string }) => m.name)]);
      const total = [...all].filter((m) => m !== 'selftest').length;
      const text = await show('mgr-modules', new RegExp(`/ ${total} total`));
      for (const m of ['alerts', 'balancer', 'crash', 'dashboard', 'devicehealth']) expect(text).toContain(m);
      expect(ls.always_on_modules).toEqual(expect.arrayContaining(ALWAYS_ON_MODULES));
    }, 90000);

    it("configuration lists Ceph's 1808 options; users and roles show the admin", async () => {
      const config = await show('configuration', /\/ 1808 total/);
      expect(config).toMatch(/fsid\s+cluster fsid \(uuid\)/);
      const users = await show('user-management/users', /\/ 1 total/);
      expect(users).toMatch(/admin\s+administrator/);
      const roles = await show('user-management/roles', /read-only/);
      expect(roles).toContain('administrator');
    }, 120000);

    it('logs show what the monitors logged (a pool created by command)', async () => {
      expect(await ok('osd', 'pool', 'create', 'dashlogs', '8')).toBe('');
      await show('logs', /Audit Logs/);
      await page.click('text=Audit Logs');
      await page.waitForFunction(() => /osd pool create/.test(document.querySelector('cd-root')?.innerText ?? ''), undefined, { timeout: 60000, polling: 500 });
    }, 90000);

    it("the pool and configuration forms' writes reach the monitors: rename, applications, an option set and reset", async () => {
      // The dashboard's REST API as its forms call it (same session rules: a token from /api/auth).
      const password = fs.readFileSync(path.join(dataDir, 'dashboard-admin'), 'utf8').trim().split(' ')[1];
      const headers = { Accept: 'application/vnd.ceph.api.v1.0+json', 'Content-Type': 'application/json' };
      const auth = await page.request.post(`${base}api/auth`, { headers, data: { username: 'admin', password } });
      expect(auth.status()).toBe(201);
      const bearer = { ...headers, Authorization: `Bearer ${(await auth.json()).token}` };
      const pools = async () =>
        JSON.parse(await ok('osd', 'pool', 'ls', 'detail', '--format', 'json')) as Array<{ pool_name: string; application_metadata: object }>;
      // The pool form: a new name and an application (osd pool rename, osd pool application enable).
      const edit = await page.request.put(`${base}api/pool/dashlogs`, { headers: bearer, data: { pool: 'dashlogs2', application_metadata: ['rbd'] } });
      expect([200, 202]).toContain(edit.status());
      const renamed = await until(
        'dashlogs renamed with rbd on',
        async () => (await pools()).find((p) => p.pool_name === 'dashlogs2' && 'rbd' in p.application_metadata),
        60000,
      );
      expect(renamed.application_metadata).toEqual({ rbd: {} });
      expect((await pools()).some((p) => p.pool_name === 'dashlogs')).toBe(false);
      // No application any more (osd pool application disable --yes-i-really-mean-it).
      expect([200, 202]).toContain((await page.request.put(`${base}api/pool/dashlogs2`, { headers: bearer, data: { application_metadata: [] } })).status());
      await until(
        'rbd off dashlogs2',
        async () => Object.keys((await pools()).find((p) => p.pool_name === 'dashlogs2')!.application_metadata).length === 0,
        60000,
      );
      // The configuration form: a value for osd (config set), every other section cleared (config rm); then reset.
      const dump = async () =>
        (JSON.parse(await ok('config', 'dump', '--format', 'json')) as Array<{ section: string; name: string; value: string }>).filter(
          (e) => e.name === 'osd_recovery_sleep',
        );
      const set = await page.request.post(`${base}api/cluster_conf`, {
        headers: bearer,
        data: { name: 'osd_recovery_sleep', value: [{ section: 'osd', value: '0.5' }] },
      });
      expect(set.status()).toBe(201);
      expect(await dump()).toEqual([expect.objectContaining({ section: 'osd', value: '0.5' })]);
      expect((await page.request.delete(`${base}api/cluster_conf/osd_recovery_sleep?section=osd`, { headers: bearer })).status()).toBe(204);
      expect(await dump()).toEqual([]);
    }, 180000);

    it('the browser console stayed free of errors', () => {
      expect(problems).toEqual([]);
    });
  });

  describe("Pacific's always-on modules", () => {
    it('are on and cannot be disabled, as in Ceph', async () => {
      const ls = JSON.parse(await ok('mgr', 'module', 'ls', '--format', 'json'));
      expect([...ls.always_on_modules].sort()).toEqual([...ALWAYS_ON_MODULES].sort());
      const [code, , err] = await mgrctl('mgr', 'module', 'disable', 'balancer');
      expect(code).toBe(22);
      expect(err).toContain("module 'balancer' cannot be disabled (always-on)");
      const health = await ok('health', 'detail');
      expect(health).not.toContain('MGR_MODULE_ERROR');
    }, 60000);

    it('balancer status, crash post/ls, device ls, orch status answer', async () => {
      const balancer = JSON.parse(await ok('balancer', 'status', '--format', 'json'));
      expect(balancer).toEqual(expect.objectContaining({ mode: 'upmap', active: true, plans: [] }));
      const crash = path.join(dataDir, 'crash.json');
      fs.writeFileSync(
        crash,
        JSON.stringify({ crash_id: '2026-01-01T00:00:00.000000Z_mgrpc-test', timestamp: '2026-01-01T00:00:00.000000Z', entity_name: 'osd.3' }),
      );
      expect(await ok('crash', 'post', '-i', crash)).toBe('');
      expect(await ok('crash', 'ls')).toMatch(/2026-01-01T00:00:00.000000Z_mgrpc-test\s+osd\.3\s+\*/);
      await ok('crash', 'archive-all');
      const devices = await ok('device', 'ls');
      expect(devices.split('\n')[0]).toMatch(/^DEVICE\s+HOST:DEV\s+DAEMONS\s+LIFE EXPECTANCY$/);
      for (let i = 0; i < 12; i++) expect(devices).toMatch(new RegExp(`SIMULATED_HDD_SIM\\d+\\s+node000[01]:sd[a-z]\\s+osd\\.${i}\\b`));
      const [code, , err] = await mgrctl('orch', 'status');
      expect(code).toBe(2);
      expect(err).toContain('No orchestrator configured (try `ceph orch set backend`)');
    }, 90000);

    it('osd pool autoscale-status, progress, rbd task list, fs status, telemetry status, fs volume ls answer', async () => {
      const autoscale = JSON.parse(await ok('osd', 'pool', 'autoscale-status', '--format', 'json'));
      expect(autoscale.map((p: { pool_name: string }) => p.pool_name)).toEqual(expect.arrayContaining(['cephfs_metadata', 'rbd', 'anchor']));
      expect(JSON.parse(await ok('progress', 'json'))).toEqual(expect.objectContaining({ events: expect.any(Array), completed: expect.any(Array) }));
      expect(JSON.parse(await ok('rbd', 'task', 'list'))).toEqual([]);
      expect(await ok('fs', 'status')).toMatch(/cephfs - \d+ clients/);
      // Telemetry is off until a user turns it on: nothing leaves the machine.
      const telemetry = JSON.parse(await ok('telemetry', 'status'));
      expect(telemetry).toEqual(expect.objectContaining({ enabled: false, last_upload: null }));
      expect(JSON.parse(await ok('fs', 'volume', 'ls'))).toEqual([{ name: 'cephfs' }]);
    }, 90000);

    it('progress follows the recovery when an OSD is marked out, and status shows it', async () => {
      await until('every PG active+clean', async () => /^\d+ pgs: \d+ active\+clean;/.test(await ok('pg', 'stat')), 60000);
      await ok('osd', 'out', '11');
      const event = await until(
        'a recovery event for osd.11',
        async () =>
          (JSON.parse(await ok('progress', 'json')).events as Array<{ message: string; refs: unknown[] }>).find(
            (e) => e.message === 'Rebalancing after osd.11 marked out',
          ),
        60000,
      );
      expect(event.refs).toEqual([['osd', 11]]);
      expect(await ok('progress')).toContain('Rebalancing after osd.11 marked out');
      // While PGs recover, the active manager reports the module's global event, which status prints.
      const shown = await until(
        'a progress event in status',
        async () =>
          Object.values(JSON.parse(await ok('status', '--format', 'json')).progress_events as Record<string, { message: string; add_to_ceph_s: boolean }>).find(
            (e) => e.add_to_ceph_s,
          ),
        60000,
      );
      expect(shown.message).toMatch(/^Global Recovery Event/);
      // Completed once the moved PGs are clean again.
      await until(
        'the event completed',
        async () =>
          (JSON.parse(await ok('progress', 'json')).completed as Array<{ message: string }>).some((e) => e.message === 'Rebalancing after osd.11 marked out'),
        90000,
      );
      await ok('osd', 'in', '11');
    }, 200000);

    it('a balancer plan in upmap mode moves PGs in the simulator', async () => {
      await ok('balancer', 'off');
      await ok('config', 'set', 'mgr', 'mgr/balancer/upmap_max_deviation', '1');
      /** Per pool, the PG replicas each OSD holds; the spread is the most minus the fewest. */
      const spreadsOf = (pgs: Array<{ pgid: string; up: number[] }>) => {
        const counts = new Map<string, number[]>();
        for (const p of pgs) {
          const pool = p.pgid.split('.')[0];
          if (!counts.has(pool)) counts.set(pool, new Array(12).fill(0));
          for (const o of p.up) counts.get(pool)![o]++;
        }
        return new Map([...counts].map(([pool, c]) => [pool, Math.max(...c) - Math.min(...c)]));
      };
      const upSets = async () => {
        const brief = JSON.parse(await ok('pg', 'dump', 'pgs_brief', '--format', 'json')) as { pg_stats: Array<{ pgid: string; up: number[] }> };
        return brief.pg_stats.map((p) => ({ pgid: p.pgid, up: p.up })).sort((a, b) => a.pgid.localeCompare(b.pgid));
      };
      /**
       * The spreads once the reported mapping has settled: every PG active+clean and the same
       * up sets a report period apart. The OSDs report a changed mapping one by one, so a
       * spread read in between mixes the map of a moment ago with the new one (the plan is
       * made from the OSD map itself).
       */
      const settledSpreads = async () => {
        let last = '';
        const pgs = await waitUntil(
          'the reported PG mapping to settle',
          async () => {
            if (!/^\d+ pgs: \d+ active\+clean;/.test(await ok('pg', 'stat'))) return false;
            const now = await upSets();
            const same = JSON.stringify(now) === last;
            last = JSON.stringify(now);
            return same && now;
          },
          120000,
          6000, // a report period (5 s) and a little
        );
        return spreadsOf(pgs);
      };
      // The test before put osd.11 back in: its PGs must be mapped back onto it before the spread is measured.
      await until('PGs on osd.11 again', async () => (await upSets()).some((p) => p.up.includes(11)), 60000);
      const before = await settledSpreads();
      await ok('balancer', 'optimize', 'plan1');
      // In upmap mode the plan is the OSD map incremental (`balancer show` just says "upmap plan").
      const inc = JSON.parse(await ok('balancer', 'dump', 'plan1'));
      const moves = (inc.new_pg_upmap_items as Array<{ pgid: string; mappings: Array<{ from: number; to: number }> }>).map((e) => ({
        pgid: e.pgid,
        ids: e.mappings.flatMap((x) => [x.from, x.to]),
      }));
      expect(moves.length).toBeGreaterThan(0);
      await ok('balancer', 'execute', 'plan1');
      // The OSD map carries the plan's items, and each PG moved off its 'from' OSDs onto its 'to' OSDs.
      const dump = JSON.parse(await ok('osd', 'dump', '--format', 'json'));
      for (const m of moves) {
        const items = dump.pg_upmap_items.find((e: { pgid: string }) => e.pgid === m.pgid);
        expect(items?.mappings.flatMap((x: { from: number; to: number }) => [x.from, x.to])).toEqual(m.ids);
      }
      await until(
        'the moved PGs reported on their new OSDs',
        async () => {
          const brief = JSON.parse(await ok('pg', 'dump', 'pgs_brief', '--format', 'json')) as { pg_stats: Array<{ pgid: string; up: number[] }> };
          const up = new Map(brief.pg_stats.map((p) => [p.pgid, p.up]));
          return moves.every((m) => m.ids.every((id, i) => (i % 2 ? up.get(m.pgid)!.includes(id) : !up.get(m.pgid)!.includes(id)))) && up;
        },
        60000,
      );
      // Each pool the plan touched is more even (the balancer balances pool by pool).
      const after = await settledSpreads();
      for (const pool of new Set(moves.map((m) => m.pgid.split('.')[0]))) expect(after.get(pool)!).toBeLessThan(before.get(pool)!);
    }, 240000);
  });
});
