// Ceph's own monitoring files, unchanged, on mgrpc's prometheus module: the
// alert rules of Debian's ceph-prometheus-alerts and the Grafana dashboards
// of ceph-grafana-dashboards, read from where Debian installs them.
//
// - every ceph_* name and every label the rules and dashboards use is in a
//   scrape of our module (a missing one fails naming it and where it is used);
// - `promtool check metrics` finds nothing in our output beyond what it finds
//   in Ceph's own exporter's (Ceph's Python module, run on a second
//   module-host against the same cluster-state);
// - a real Prometheus loads the rules unchanged and scrapes us; every
//   dashboard query that reads only the manager returns series;
// - the simulator makes things happen (an OSD down, PGs inactive, a pool
//   filling, a monitor down, slow ops, a health check raised and cleared)
//   and the matching alerts go pending, fire where their `for:` is a minute
//   or less, and resolve.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ModuleHostHandle } from '../../../services/module-host/server';
import { DEFAULT_CEPH_MGR_DIR } from '../../../services/module-host/server';
import { freePort, startStack, until } from './stack';
import { describeWith, prometheusMissing, PROMTOOL, PrometheusServer, startPrometheus } from './prometheus-server';
import { ALERTS_FILE, cephFilesMissing, dashboardFiles, parseLabelValues, readAlertRules, readDashboardQueries } from './ceph-files';
import { checkLabels, Families, metricNames, Node, parse, substituteVariables } from './promql';

const cephPython = [path.join(DEFAULT_CEPH_MGR_DIR, 'mgr_module.py'), path.join(DEFAULT_CEPH_MGR_DIR, 'prometheus'), '/usr/bin/python3'];
const cephPythonMissing = cephPython.some((f) => !fs.existsSync(f))
  ? `missing ${cephPython.filter((f) => !fs.existsSync(f)).join(', ')} (Debian's ceph-mgr and ceph-mgr-modules-core; .ci/run installs them)`
  : null;

// Labels Prometheus itself adds (job, instance), and two the dashboards' hidden variables read that a
// manager does not serve: `cluster` (set it as a target label) and `exported_instance` (what
// Prometheus renames our `instance` to when honor_labels is false; Ceph's docs say true).
const TARGET_LABELS = new Set(['job', 'instance', 'cluster', 'exported_instance']);

/** Families and their label names, from exposition text. */
function families(text: string): Families {
  const out: Families = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m) continue;
    const set = out.get(m[1]) ?? new Set<string>();
    out.set(m[1], set);
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(l[1]);
  }
  return out;
}

/** `promtool check metrics` on a body: its findings, one per line (its exit code is 3 when it only has lint). */
function promtoolLint(body: string): string[] {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** A PromQL expression reads only what a manager serves (no node_exporter or haproxy metrics). */
const managerOnly = (n: Node) => [...metricNames(n)].every((m) => m.startsWith('ceph_'));

/** Whether an expression may rightly be empty: it filters by value (a comparison without bool) or asks for absence. */
function filtersByValue(n: Node): boolean {
  switch (n.kind) {
    case 'binary':
      return (
        (['==', '!=', '>', '<', '>=', '<='].includes(n.op) && !n.bool) || ['and', 'unless'].includes(n.op) || filtersByValue(n.lhs) || filtersByValue(n.rhs)
      );
    case 'call':
      return n.fn === 'absent' || n.args.some(filtersByValue);
    case 'aggregate':
      return filtersByValue(n.expr);
    case 'range':
    case 'unary':
      return filtersByValue(n.expr);
    default:
      return false;
  }
}

function selectors(n: Node, out: string[] = []): string[] {
  if (n.kind === 'selector') {
    const m = n.matchers.map((x) => `${x.label}${x.op}${JSON.stringify(x.value)}`).join(',');
    out.push(`${n.name}{${m}}`);
  } else if (n.kind === 'range' || n.kind === 'unary') selectors(n.expr, out);
  else if (n.kind === 'call') n.args.forEach((a) => selectors(a, out));
  else if (n.kind === 'aggregate') [...n.params, n.expr].forEach((a) => selectors(a, out));
  else if (n.kind === 'binary') [n.lhs, n.rhs].forEach((a) => selectors(a, out));
  return out;
}

describeWith([prometheusMissing(), cephFilesMissing(), cephPythonMissing])("Ceph's alert rules and Grafana dashboards on mgrpc, unchanged", () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let ours: ModuleHostHandle;
  let prom: PrometheusServer;
  let oursUrl = '';
  let cephUrl = '';
  const rules = readAlertRules();

  const scrape = async (url: string) => {
    const res = await fetch(`${url}metrics`);
    return res.status === 200 ? res.text() : '';
  };
  const alertStates = async (alert: string) => (await prom.query(`ALERTS{alertname="${alert}"}`)).map((s) => s.metric.alertstate);
  const alertIs = (alert: string, state: 'pending' | 'firing', ms = 30000) =>
    until(`${alert} ${state}`, async () => (await alertStates(alert)).includes(state), ms, 500);
  const resolved = (alert: string, ms = 30000) => until(`${alert} resolved`, async () => (await alertStates(alert)).length === 0, ms, 500);
  const forOf = (alert: string) => rules.find((r) => r.alert === alert)!.forSeconds;
  const value = async (q: string) => {
    const r = await prom.query(q);
    return r.length === 1 ? Number(r[0].value[1]) : null;
  };

  beforeAll(async () => {
    const cephPort = await freePort();
    stack = await startStack({
      osds: 5,
      mons: 3,
      allDaemons: true,
      mgrMap: true,
      options: {
        'config/mgr/prometheus/server_addr': '127.0.0.1',
        'config/mgr/prometheus/server_port': '0',
        'config/mgr/prometheus/scrape_interval': '1',
        'config/mgr/prometheus/rbd_stats_pools': '*',
        // Ceph's own module runs as manager "c": its own port, Ceph's interval, no RBD (it needs librados)
        'config/mgr/prometheus/c/server_port': String(cephPort),
        'config/mgr/prometheus/c/scrape_interval': '5',
        'config/mgr/prometheus/c/stale_cache_strategy': 'return',
        'config/mgr/prometheus/c/rbd_stats_pools': '',
      },
    });
    // one compressed pool, for the dashboards' compression panels
    stack.sim.setPoolCompression(stack.sim.pools.find((p) => p.name === 'cephfs_data')!.id, 'aggressive');
    await stack.feed.pushOsdMap();
    ours = await stack.startHost({ enabledModules: ['prometheus'] });
    oursUrl = await until('our prometheus URI', () => ours.host.getServices().prometheus);
    // Ceph's own exporter beside ours (the stack stops it).
    await stack.startHost({
      name: 'c',
      enabledModules: ['prometheus'],
      python: { modulePath: [], cephMgrDir: DEFAULT_CEPH_MGR_DIR, python: '/usr/bin/python3', prefer: ['prometheus'], only: ['prometheus'] },
    });
    cephUrl = `http://127.0.0.1:${cephPort}/`;
    // A check raised and cleared before anything looks: ceph_health_detail keeps it, at 0.
    stack.sim.raiseHealthCheck('MON_CLOCK_SKEW', 'HEALTH_WARN', 'clock skew detected on mon.b', ['mon.b clock skew 0.31s > max 0.05s']);
    await stack.feed.pushMonitorState();
    await until('MON_CLOCK_SKEW in our /metrics', async () =>
      /^ceph_health_detail\{name="MON_CLOCK_SKEW",severity="HEALTH_WARN"\} 1$/m.test(await scrape(oursUrl)),
    );
    stack.sim.clearHealthCheck('MON_CLOCK_SKEW');
    await stack.feed.pushMonitorState();
    await until('MON_CLOCK_SKEW at 0', async () => /^ceph_health_detail\{name="MON_CLOCK_SKEW",severity="HEALTH_WARN"\} 0$/m.test(await scrape(oursUrl)));
    prom = await startPrometheus(path.join(stack.dir, 'prometheus'), { target: new URL(oursUrl).host, ruleFiles: [ALERTS_FILE] });
  }, 120000);

  afterAll(async () => {
    await prom?.stop();
    await stack?.close();
  }, 30000);

  it('serves every ceph_* name and label the shipped rules and dashboards use', async () => {
    const body = await until('a full scrape', async () => {
      const t = await scrape(oursUrl);
      return (
        ['ceph_rbd_write_ops', 'ceph_data_sync_from_zone_fetch_errors', 'ceph_rgw_metadata', 'ceph_daemon_health_metrics', 'ceph_mds_inodes'].every((n) =>
          t.includes(`\n${n}{`),
        ) && t
      );
    });
    const fams = families(body);
    const names = new Set<string>();
    const problems: string[] = [];
    const report = (where: string, expr: string) => {
      const n = parse(expr);
      for (const m of metricNames(n)) if (m.startsWith('ceph_')) names.add(m);
      for (const p of checkLabels(n, fams, TARGET_LABELS))
        problems.push(p.label ? `${where}: ${p.metric} has no label '${p.label}' (${p.use})` : `${where}: ${p.metric} is not served`);
    };
    for (const r of rules) for (const e of [r.expr, ...r.annotationQueries]) report(`alert ${r.alert}`, e);
    for (const q of readDashboardQueries()) {
      if (!q.variable) {
        report(`${q.dashboard} "${q.where}"`, q.expr);
        continue;
      }
      const lv = parseLabelValues(q.expr);
      if (!lv?.selector) continue;
      report(`${q.dashboard} ${q.where}`, lv.selector);
      for (const m of metricNames(parse(lv.selector)))
        if (fams.has(m) && !fams.get(m)!.has(lv.label) && !TARGET_LABELS.has(lv.label))
          problems.push(`${q.dashboard} ${q.where}: ${m} has no label '${lv.label}' (label_values)`);
    }
    expect(problems).toEqual([]);
    expect(rules).toHaveLength(58);
    expect(dashboardFiles()).toHaveLength(13);
    // what the files read, for the record (the count moves with Ceph's packages, not with us)
    process.stdout.write(`ceph monitoring files: ${rules.length} alerts, ${dashboardFiles().length} dashboards, ${names.size} ceph_* names, all served\n`);
    expect(names.size).toBeGreaterThan(70);
  }, 60000);

  it("promtool check metrics finds nothing in ours beyond what it finds in Ceph's own exporter's output", async () => {
    const theirs = await until(
      "Ceph's exporter's /metrics",
      async () => {
        const t = await scrape(cephUrl);
        return t.includes('ceph_mds_inodes{') && t.includes('ceph_osd_up{') && t;
      },
      90000,
      1000,
    );
    const mine = await scrape(oursUrl);
    // Ceph 16.2.15 writes ceph_pool_objects_repaired as one family per pool, so its own output does
    // not even parse; merge those repeated HELP/TYPE lines (no sample changes) to lint the rest.
    expect(promtoolLint(theirs).join('\n')).toMatch(/second HELP line for metric name "ceph_pool_objects_repaired"/);
    const seen = new Set<string>();
    const merged = theirs
      .split('\n')
      .filter((l) => {
        const m = /^# (HELP|TYPE) (\S+)/.exec(l);
        if (!m) return true;
        const k = `${m[1]} ${m[2]}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .join('\n');
    const cephLint = promtoolLint(merged);
    const ourLint = promtoolLint(mine);
    expect(ourLint.join('\n')).not.toMatch(/error while linting|parsing error/);
    // Per metric name: what promtool says about ours must be what it says about Ceph's.
    // Our ceph_rbd_* families are the ones Ceph's module cannot make here (it lists images with
    // librados); what promtool says about them must be among what it says about Ceph's others.
    const cephKinds = new Set(cephLint.map((l) => l.replace(/^\S+ /, '')));
    const extra = ourLint.filter((l) => !cephLint.includes(l) && !(l.startsWith('ceph_rbd_') && cephKinds.has(l.replace(/^\S+ /, ''))));
    expect(extra).toEqual([]);
    process.stdout.write(`promtool: ${ourLint.length} findings on ours, ${cephLint.length} on Ceph's (after merging its repeated family)\n`);
  }, 120000);

  it('Prometheus loads the 58 rules unchanged and evaluates every one without error', async () => {
    const check = spawnSync(PROMTOOL, ['check', 'rules', ALERTS_FILE], { encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toMatch(/SUCCESS: 58 rules found/);
    const loaded = await until('rules evaluated', async () => {
      const groups = await prom.rules();
      const all = groups.flatMap((g: any) => g.rules);
      return all.length === 58 && all.every((r: any) => r.lastEvaluation && !r.lastEvaluation.startsWith('0001')) && all;
    });
    expect(loaded.filter((r: any) => r.health !== 'ok').map((r: any) => `${r.name}: ${r.lastError}`)).toEqual([]);
  }, 40000);

  it("every dashboard query that reads only the manager returns series (node_exporter's and haproxy's are named)", async () => {
    await until('two samples of everything (rates)', async () => (await prom.query('count(count_over_time(ceph_osd_op_w[1m]) >= 3)')).length > 0, 30000, 500);
    const vars: Record<string, string> = {
      job: 'ceph',
      osd: 'osd.0',
      pool_name: 'rbd',
      pool: 'rbd',
      image: 'vm-disk-1',
      mds_servers: 'mds.a',
      rgw_servers: 'rgw.gw1',
      ceph_hosts: 'vm',
    };
    const fill = (e: string) => substituteVariables(e).replace(/\$(\w+)/g, (m, v) => vars[v] ?? m);
    const empty: string[] = [];
    const mayBeEmpty: string[] = [];
    const notManager: string[] = [];
    for (const q of readDashboardQueries()) {
      if (q.variable) {
        const lv = parseLabelValues(q.expr);
        if (!lv?.selector || TARGET_LABELS.has(lv.label) || !managerOnly(parse(lv.selector))) continue;
        const series = await prom.series(fill(lv.selector));
        if (!series.some((s) => s[lv.label])) empty.push(`${q.dashboard} ${q.where}: ${q.expr}`);
        continue;
      }
      const expr = fill(q.expr);
      const n = parse(expr);
      if (!managerOnly(n)) {
        notManager.push(`${q.dashboard} "${q.where}"`);
        continue;
      }
      for (const sel of selectors(n)) if (!(await prom.query(sel)).length) empty.push(`${q.dashboard} "${q.where}": ${sel} has no series`);
      if ((await prom.query(expr)).length) continue;
      if (filtersByValue(n)) mayBeEmpty.push(`${q.dashboard} "${q.where}"`);
      else empty.push(`${q.dashboard} "${q.where}": ${expr}`);
    }
    expect(empty).toEqual([]);
    process.stdout.write(
      `dashboards: ${notManager.length} queries read node_exporter or haproxy (${[...new Set(notManager.map((x) => x.split(' ')[0]))].join(', ')}); ` +
        `${mayBeEmpty.length} filter by value and are empty on this healthy cluster: ${mayBeEmpty.join('; ')}\n`,
    );
  }, 120000);

  it('an OSD down: CephOSDDownHigh fires, CephOSDDown, CephPGsUnclean and CephHealthWarning go pending; back up, all resolve', async () => {
    const osd = 3;
    stack.sim.markOsdDown(osd);
    await stack.feed.pushOsdMap();
    expect(forOf('CephOSDDownHigh')).toBe(0);
    await alertIs('CephOSDDownHigh', 'firing');
    // for: 5m and 15m: pending is what a test can see; pool_id joins CephPGsUnclean's two sides
    for (const a of ['CephOSDDown', 'CephPGsUnclean', 'CephHealthWarning']) {
      expect(forOf(a)).toBeGreaterThan(60);
      await alertIs(a, 'pending');
    }
    expect((await prom.query('ALERTS{alertname="CephPGsUnclean"}')).map((s) => s.metric.name).sort()).toContain('rbd');
    stack.sim.markOsdUp(osd);
    await stack.feed.pushOsdMap();
    for (const a of ['CephOSDDownHigh', 'CephOSDDown', 'CephPGsUnclean', 'CephHealthWarning']) await resolved(a);
    // the cleared check stays, at 0, so the rule built on it sees it resolve
    expect(await value('ceph_health_detail{name="OSD_DOWN"}')).toBe(0);
  }, 120000);

  it('PGs inactive (two replicas of three down): CephPGsInactive goes pending; the OSDs back, it resolves', async () => {
    const pg = stack.sim.pgs.find((p) => p.pool === stack.sim.pools.find((x) => x.name === 'rbd')!.id)!;
    const [a, b] = pg.acting.slice(1);
    stack.sim.markOsdDown(a);
    stack.sim.markOsdDown(b);
    await stack.feed.pushOsdMap();
    await until('PGs inactive in Prometheus', async () => ((await value('sum(ceph_pg_total) - sum(ceph_pg_active)')) ?? 0) > 0, 30000, 500);
    expect(forOf('CephPGsInactive')).toBe(300);
    await alertIs('CephPGsInactive', 'pending');
    const pools = (await prom.query('ALERTS{alertname="CephPGsInactive"}')).map((s) => s.metric.name);
    expect(pools).toContain('rbd');
    stack.sim.markOsdUp(a);
    stack.sim.markOsdUp(b);
    await stack.feed.pushOsdMap();
    await resolved('CephPGsInactive');
    await resolved('CephOSDDownHigh');
  }, 120000);

  it('a pool filling its OSDs, a monitor down, slow ops and clock skew raised: each alert fires after its for: (a minute or less), then resolves', async () => {
    const gib = 1024 ** 3;
    const rbd = stack.sim.pools.find((p) => p.name === 'rbd')!;
    // Fill the pool until its fullest OSD is 92% used: past backfillfull (0.90), short of full (0.95).
    // An OSD stores fill / pg_num for each of the pool's PGs it holds.
    const now = Date.now() / 1000;
    const fill = Math.min(
      ...stack.sim.osds.map((o) => {
        const held = stack.sim.pgs.filter((pg) => pg.pool === rbd.id && pg.up.includes(o.id)).length;
        const used = 1 - stack.sim.osdStat(o.id, now).statfs.available / gib;
        return held ? ((0.92 - used) * gib * rbd.pgNum) / held : Infinity;
      }),
    );
    const t0 = Date.now();
    stack.sim.fillPool(rbd.id, fill);
    stack.sim.markMonDown('c');
    stack.sim.setSlowOps('osd.1', 5);
    stack.sim.raiseHealthCheck('MON_CLOCK_SKEW', 'HEALTH_WARN', 'clock skew detected on mon.b', ['mon.b clock skew 0.42s > max 0.05s']);
    await stack.feed.pushMonitorState();
    await stack.reportAll();

    // no for: at once
    await alertIs('CephPoolBackfillFull', 'firing');
    // predict_linear over 2 days of a ratio that just jumped: fires at once, and stays until the jump leaves its window
    await alertIs('CephPoolGrowthWarning', 'firing');
    const quick = ['CephMonDown', 'CephMonDownQuorumAtRisk', 'CephDaemonSlowOps', 'CephSlowOps', 'CephMonClockSkew', 'CephOSDBackfillFull'];
    for (const a of quick) {
      expect(forOf(a)).toBeLessThanOrEqual(60);
      await alertIs(a, 'pending');
    }
    for (const a of quick) await alertIs(a, 'firing', 90000);
    // firing no earlier than the rule's for: after the condition arose
    expect(Date.now() - t0).toBeGreaterThanOrEqual(forOf('CephOSDBackfillFull') * 1000);
    expect(await value('ceph_healthcheck_slow_ops')).toBe(5);
    expect(await value('ceph_daemon_health_metrics{type="SLOW_OPS",ceph_daemon="osd.1"}')).toBe(5);

    stack.sim.fillPool(rbd.id, -(10 * gib));
    stack.sim.markMonUp('c');
    stack.sim.setSlowOps('osd.1', 0);
    stack.sim.clearHealthCheck('MON_CLOCK_SKEW');
    await stack.feed.pushMonitorState();
    await stack.reportAll();
    for (const a of ['CephPoolBackfillFull', ...quick]) await resolved(a);
    for (const name of ['MON_DOWN', 'SLOW_OPS', 'MON_CLOCK_SKEW', 'OSD_BACKFILLFULL', 'POOL_BACKFILLFULL'])
      expect(await value(`ceph_health_detail{name="${name}"}`)).toBe(0);
    expect(await value('ceph_healthcheck_slow_ops')).toBe(0);
  }, 240000);
});
