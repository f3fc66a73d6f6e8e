// mgrpc as the active manager of the project's loopback Pacific cluster
// (lib/testing/ceph-cluster.ts, no ceph-mgr running): cluster-state, the
// Ceph map feed, module-host and daemon-server run as the product's own
// processes; daemon-server beacons as mgr.<name>, the monitors make it
// active, and from then on the cluster's real OSDs, MDS and monitor report
// to its msgr2 front door and the unmodified `ceph` CLI talks to it.
// This is issue 13's "done when": it fails if any of it does not work (and,
// under CI=true, when Ceph's programs are missing: describeCeph).
//   - `ceph -s` shows mgrpc's manager active
//   - `ceph hello` and `ceph tell mgr hello` print Hello World
//   - every real OSD reports to it (its counters land in cluster-state)
//   - an OSD's declared counters are `ceph tell osd.0 perf schema`'s at
//     the stats threshold, and the values mgrpc holds are never ahead of a
//     `perf dump` taken just after
//   - `ceph osd status|perf|df`, `ceph pg stat`, `ceph fs status`,
//     `ceph crash ls`, `ceph iostat` answer from the real daemons' reports
//   - prometheus' /metrics has ceph_osd_up and op counters for every OSD
//   - `rados bench` moves the io rates
import { keyringCredentials } from '../lib/auth/keys';
import { ChildProcess, execFile, spawn } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { HealthDefinition } from 'nice-grpc-server-health';
import { makeClient, openChannel } from '../lib/client';
import { ClusterStateServiceDefinition, DaemonQueryKind } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { describeCeph, sharedCephCluster, type CephCluster } from '../lib/testing/ceph-cluster';
import { freePort } from '../lib/testing/wait';
import { ROOT, until } from './launcher';

/** This test's manager (mgr.<NAME>): a name no other test gives its managers. */
const NAME = 'd';
/** Whole seconds between reports, shorter than Ceph's 5 so the test moves along. */
const PERIOD = 1;

interface Proc {
  name: string;
  child: ChildProcess;
  lines: string[];
  address: string;
  metricsPort: number;
}

describeCeph(__filename)('mgrpc as the active manager of a real Pacific cluster: real daemons report, the ceph CLI talks to it', () => {
  let cluster: CephCluster;
  let release: (() => Promise<void>) | undefined;
  let dir: string;
  const procs: Proc[] = [];
  let cs: Proc;
  let ds: Proc;
  let promPort: number;

  /** Starts a service's main.ts as its own process and waits for its listening line and SERVING. */
  const start = async (name: string, script: string, env: Record<string, string>): Promise<Proc> => {
    const log = fs.openSync(path.join(dir, `${name}.log`), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], {
      cwd: ROOT,
      env: {
        ...process.env,
        MGR_HOST: '127.0.0.1',
        MGR_PORT: '0',
        MGR_METRICS_PORT: '0',
        MGR_LOG_LEVEL: 'info',
        MGR_KEYRING: path.join(dir, 'keyring'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    for (const s of [child.stdout!, child.stderr!])
      readline.createInterface({ input: s }).on('line', (l) => {
        lines.push(l);
        if (lines.length > 2000) lines.shift();
        fs.writeSync(log, l + '\n');
      });
    const p: Proc = { name, child, lines, address: '', metricsPort: -1 };
    procs.push(p);
    const m = await until(
      `${name} to listen`,
      () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${lines.slice(-5).join('\n')}`);
        for (const l of lines) {
          const x = /"msg":"listening","address":"([^"]+)","metricsPort":(-?\d+)/.exec(l);
          if (x) return x;
        }
        return undefined;
      },
      120_000,
    );
    p.address = m[1];
    p.metricsPort = Number(m[2]);
    const channel = openChannel(p.address);
    try {
      const health = makeClient(HealthDefinition, channel);
      await until(`${name} SERVING`, async () => (await health.check({ service: '' }, { signal: AbortSignal.timeout(2000) })).status === 1, 180_000);
    } finally {
      channel.close();
    }
    return p;
  };

  /** `ceph <args>` as client.admin: what it printed and its exit code. */
  const ceph = (args: string[], timeoutMs = 60_000) => cluster.run(args, { timeoutMs });
  const metric = async (p: Proc, name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  };
  const osds = () => cluster.daemons.filter((d) => d.startsWith('osd.'));
  const query = async (kind: DaemonQueryKind, svcId: string, p = '') => {
    const channel = openChannel(cs.address);
    try {
      const r = await makeClient(ClusterStateServiceDefinition, channel, {
        credentials: keyringCredentials(path.join(dir, 'keyring'), 'client.admin'),
      }).queryDaemons({ kind, svcType: 'osd', svcId, path: p, services: [] });
      return JSON.parse(Buffer.from(r.json).toString('utf8'));
    } finally {
      channel.close();
    }
  };

  /** When this file's managers started (ms). */
  let startedAt = 0;

  beforeAll(async () => {
    startedAt = Date.now();
    cluster = await sharedCephCluster();
    // the shared cluster's manager role is one test file's at a time
    release = await cluster.holdManagers('test/ceph-daemons.live.test.ts');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-ceph-daemons-'));
    promPort = await freePort();
    const access = { MGR_CEPH_CONF: cluster.confPath, MGR_CEPH_KEYRING: cluster.keyringPath };
    cs = await start('cluster-state', 'services/cluster-state/main.ts', { MGR_DATA_DIR: path.join(dir, 'cluster-state') });
    const channel = openChannel(cs.address);
    await makeClient(ClusterStateServiceDefinition, channel, { credentials: keyringCredentials(path.join(dir, 'keyring'), 'client.admin') }).setStore({
      key: `mgr/prometheus/${NAME}/server_port`,
      value: String(promPort),
    });
    channel.close();
    await start('ceph-feed', 'ceph-feed/main.ts', { ...access, MGR_CLUSTER_STATE_ADDR: cs.address });
    const mh = await start('module-host', 'services/module-host/main.ts', {
      MGR_NAME: NAME,
      MGR_CLUSTER_STATE_ADDR: cs.address,
      MGR_MODULES: 'hello,status,prometheus,iostat,crash,selftest',
      MGR_PYTHON_MODULES: 'iostat,crash',
      MGR_KEYRING: path.join(dir, 'keyring'),
    });
    ds = await start('daemon-server', 'services/daemon-server/main.ts', {
      ...access,
      MGR_NAME: NAME,
      MGR_DATA_DIR: dir,
      MGR_CLUSTER_STATE_ADDR: cs.address,
      MGR_MODULE_HOST_ADDR: mh.address,
      MGR_MSGR2_PORT: '0',
      MGR_STATS_PERIOD: String(PERIOD),
    });
    // the monitors make it active; the cluster's daemons find it in the MgrMap and open their sessions
    await until(
      `mgr.${NAME} active`,
      async () => {
        const s = await cluster.ceph<{ active_name: string; available: boolean }>(['mgr', 'stat']);
        return s.active_name === NAME && s.available;
      },
      240_000,
    );
    await until(
      'every OSD, the MDS and the monitor in session',
      async () => ((await metric(ds, 'mgr_daemon_server_msgr2_sessions')) ?? 0) >= osds().length + 2,
      120_000,
    );
  }, 900_000);

  afterAll(async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.child.exitCode !== null) return r();
            p.child.once('exit', () => r());
            p.child.kill('SIGTERM');
          }),
      ),
    );
    await release?.();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("`ceph -s` shows mgrpc's manager active", async () => {
    const s = await ceph(['-s']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`mgr: ${NAME}\\(active, since [^)]*\\)`));
    const json = await cluster.ceph<{ mgrmap: { available: boolean } }>(['-s']);
    expect(json.mgrmap.available).toBe(true);
    // and it is mgrpc's: the metadata the beacon carries
    const meta = await cluster.ceph<{ ceph_version: string }>(['mgr', 'metadata', NAME]);
    expect(meta.ceph_version).toMatch(/^ceph version 16\.2\.15 \(mgrpc-[^)]+\) pacific \(stable\)$/);
  }, 120_000);

  it('`ceph hello` and `ceph tell mgr hello` print Hello World', async () => {
    expect((await ceph(['hello'])).stdout.trim()).toBe('Hello World');
    expect((await ceph(['tell', 'mgr', 'hello'])).stdout.trim()).toBe('Hello World');
  }, 120_000);

  it('every real OSD reports to it: its counters and PG stats land in cluster-state', async () => {
    expect(osds().length).toBeGreaterThan(0);
    for (const o of osds()) {
      const id = o.slice('osd.'.length);
      const schema = await until(
        `${o}'s declared counters`,
        async () => {
          const r = (await query(DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, id))[o] as Record<string, unknown> | undefined;
          return r && Object.keys(r).length > 0 ? r : undefined;
        },
        60_000,
      );
      expect(schema['osd.op_w']).toBeDefined();
    }
    const pgs = await until(
      'PG stats from every OSD',
      async () => {
        const r = await cluster.ceph<{ pg_ready: boolean; pg_map: { osd_stats: Array<{ osd: number }> } }>(['pg', 'dump', 'osds']).catch(() => undefined);
        const seen = new Set(((r as unknown as { osd_stats?: Array<{ osd: number }> })?.osd_stats ?? r?.pg_map?.osd_stats ?? []).map((x) => `osd.${x.osd}`));
        return osds().every((o) => seen.has(o)) ? seen : undefined;
      },
      60_000,
    );
    expect(pgs.size).toBe(osds().length);
  }, 180_000);

  it("an OSD's counters are its perf schema at the stats threshold, and mgrpc's values are never ahead of a perf dump taken after", async () => {
    type Schema = Record<string, Record<string, { type: number; priority: number }>>;
    const theirs = (await cluster.ceph<Schema>(['tell', 'osd.0', 'perf', 'schema'])) as Schema;
    const declared = new Map<string, number>();
    for (const [logger, counters] of Object.entries(theirs))
      for (const [name, c] of Object.entries(counters)) if (c.priority >= 5) declared.set(`${logger}.${name}`, c.type);
    const ours = (await query(DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, '0'))['osd.0'] as Record<string, { type: number }>;
    // the 2D histograms are declared too; `perf schema` leaves them to `perf histogram schema`
    const HISTOGRAM = 0x10;
    const plain = Object.keys(ours).filter((p) => !(ours[p].type & HISTOGRAM));
    expect(plain.sort()).toEqual([...declared.keys()].sort());
    for (const [p, t] of declared) expect(ours[p].type).toBe(t);
    const histograms = (await cluster.ceph<Record<string, Record<string, unknown>>>(['tell', 'osd.0', 'perf', 'histogram', 'schema'])) ?? {};
    const known = new Set(Object.entries(histograms).flatMap(([logger, hs]) => Object.keys(hs).map((h) => `${logger}.${h}`)));
    for (const p of Object.keys(ours).filter((x) => ours[x].type & HISTOGRAM)) expect(known.has(p)).toBe(true);
    // the latest values mgrpc holds, then the OSD's own, just after
    const latest: Record<string, number[]> = {};
    for (const p of declared.keys()) Object.assign(latest, await query(DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER, '0', p));
    const dump = await cluster.ceph<Record<string, Record<string, number | { avgcount: number; sum: number }>>>(['tell', 'osd.0', 'perf', 'dump']);
    let compared = 0;
    for (const [p, t] of declared) {
      if (!(t & 8)) continue; // only counters (they only go up)
      const dot = p.indexOf('.');
      const theirValue = dump[p.slice(0, dot)]?.[p.slice(dot + 1)];
      const [, value] = latest[p] ?? [];
      if (theirValue === undefined || value === undefined) continue;
      // a plain counter: its value; a long-running average: how many samples (its sum is in other units in perf dump)
      if (typeof theirValue === 'number') expect(value).toBeLessThanOrEqual(theirValue);
      else expect(latest[p][2]).toBeLessThanOrEqual(theirValue.avgcount);
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
  }, 120_000);

  it.each([
    [['osd', 'status'], /ID\W+HOST\W+USED/],
    [['osd', 'perf'], /commit_latency/],
    [['osd', 'df'], /TOTAL/],
    [['pg', 'stat'], /\d+ pgs: .*active\+clean/],
    [['fs', 'status'], /cephfs/],
    [['crash', 'ls'], /^$|ID/],
  ])(
    '`ceph %j` answers from the real daemons',
    async (args, want) => {
      let last: Awaited<ReturnType<typeof ceph>> | undefined;
      const r = await until(
        `ceph ${args.join(' ')}`,
        async () => {
          const x = (last = await ceph(args));
          return x.code === 0 && want.test(x.stdout) ? x : undefined;
        },
        60_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; last: exit ${last?.code}, stdout ${JSON.stringify(last?.stdout)}, stderr ${JSON.stringify(last?.stderr)}`);
      });
      expect(r.stderr).not.toMatch(/Error/);
    },
    120_000,
  );

  it('`ceph iostat` prints the io rates every period', async () => {
    // a polling command: the CLI asks again every second until stopped
    const child = spawn('ceph', ['-c', cluster.confPath, '-k', cluster.keyringPath, 'iostat'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    readline.createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    child.stderr!.on('data', (d) => (stderr += d));
    try {
      await until('two rows of iostat', () => lines.filter((l) => /\|\s+\d/.test(l)).length >= 2, 60_000).catch((e: Error) => {
        throw new Error(`${e.message}; exit ${child.exitCode}, stdout ${JSON.stringify(lines)}, stderr ${JSON.stringify(stderr.slice(-2000))}`);
      });
      expect(lines.join('\n')).toMatch(/Read.*Write.*Total/);
    } finally {
      child.kill('SIGINT');
    }
  }, 120_000);

  it("prometheus' /metrics has ceph_osd_up and op counters for every real OSD", async () => {
    let last = '';
    const text = await until(
      'a scrape with every OSD',
      async () => {
        const t = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
        last = t;
        return osds().every((o) => t.includes(`ceph_osd_up{ceph_daemon="${o}"} 1`) && t.includes(`ceph_osd_op_w{ceph_daemon="${o}"}`)) ? t : undefined;
      },
      90_000,
    ).catch((e) => {
      const seen = last.split('\n').filter((l) => /^ceph_osd_(up|op_w)\{/.test(l));
      throw new Error(`${(e as Error).message}; the last scrape's ceph_osd_up/ceph_osd_op_w lines: ${seen.join(' | ') || `none (${last.length} bytes)`}`);
    });
    expect(text).toMatch(/ceph_osd_op_r\{ceph_daemon="osd.0"\} \d+/);
  }, 120_000);

  // Issue 14: the monitors answer `ceph -s`, `ceph df` and `ceph health` from the active manager's MMonMgrReport.
  type Status = {
    pgmap: { num_pgs: number; num_objects: number; bytes_used: number; write_op_per_sec?: number; pgs_by_state: Array<{ state_name: string; count: number }> };
  };
  type Df = { pools: Array<{ name: string; stats: { objects: number; stored: number } }>; stats: { total_used_raw_bytes: number } };
  const poolObjects = async () => (await cluster.ceph<Df>(['df'])).pools.find((p) => p.name === 'mgrpc')?.stats.objects ?? -1;
  const rados = (args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile('rados', ['-c', cluster.confPath, '-k', cluster.keyringPath, '-p', 'mgrpc', ...args], { timeout: 120_000 }, (e, _out, err) =>
        e ? reject(new Error(`rados ${args.join(' ')}: ${e.message} ${err}`)) : resolve(),
      ),
    );

  it("a module's health check reaches `ceph health detail` through the report, and leaves it when cleared", async () => {
    type Health = { checks: Record<string, { severity: string; summary: { message: string } }> };
    const checks = async () => (await cluster.ceph<Health>(['health', 'detail'])).checks;
    expect((await ceph(['mgr', 'self-test', 'health', 'set', 'MGRPC_SELFTEST', 'raised by the live test'])).code).toBe(0);
    const c = await until("MGRPC_SELFTEST in the monitors' health", async () => (await checks()).MGRPC_SELFTEST, 60_000);
    expect(c).toEqual(expect.objectContaining({ severity: 'HEALTH_WARN', summary: expect.objectContaining({ message: 'raised by the live test' }) }));
    expect((await ceph(['mgr', 'self-test', 'health', 'clear'])).code).toBe(0);
    await until('MGRPC_SELFTEST cleared', async () => !(await checks()).MGRPC_SELFTEST, 60_000);
  }, 180_000);

  it("a module's cluster_log line appears in `ceph log last`", async () => {
    const line = `mgrpc live test ${process.pid}-${Date.now()}`;
    expect((await ceph(['mgr', 'self-test', 'cluster-log', 'cluster', 'warning', line])).code).toBe(0);
    type Entry = { name: string; channel: string; priority: string; message: string };
    const entry = await until(
      "the line in the monitors' cluster log",
      async () => (await cluster.ceph<Entry[]>(['log', 'last', '100'])).find((e) => e.message.includes(line)),
      60_000,
    );
    expect(entry).toEqual(expect.objectContaining({ name: `mgr.${NAME}`, channel: 'cluster', priority: '[WRN]', message: `[selftest] ${line}` }));
    expect((await ceph(['log', 'last', '100'])).stdout).toContain(`mgr.${NAME}`);
  }, 120_000);

  it("`ceph crash post` through mgrpc lands in the monitors' config-key store under mgr/crash/, and config-key changes reach the modules' store", async () => {
    const stamp = new Date().toISOString().replace(/Z$/, '000Z');
    const id = `${stamp}_${randomUUID()}`;
    const meta = { crash_id: id, timestamp: stamp, entity_name: 'osd.0', ceph_version: '16.2.15', backtrace: ['mgrpc live test'] };
    const posted = await cluster.run(['crash', 'post', '-i', '-'], { input: JSON.stringify(meta) });
    expect(posted.code).toBe(0);
    await until(
      `mgr/crash/crash/${id} in config-key`,
      async () => (await cluster.ceph<string[]>(['config-key', 'ls'])).includes(`mgr/crash/crash/${id}`),
      60_000,
    );
    expect(JSON.parse((await ceph(['config-key', 'get', `mgr/crash/crash/${id}`])).stdout).crash_id).toBe(id);
    // removed through mgrpc, removed from the monitors (and no RECENT_CRASH left for the test files after this one)
    expect((await ceph(['crash', 'rm', id])).code).toBe(0);
    await until(
      `mgr/crash/crash/${id} gone from config-key`,
      async () => !(await cluster.ceph<string[]>(['config-key', 'ls'])).includes(`mgr/crash/crash/${id}`),
      60_000,
    );
    // the other way: what the monitors' store gets, the modules' store gets; removed there, removed here
    const channel = openChannel(cs.address);
    try {
      // the store is the managers': read as this one
      const store = makeClient(ClusterStateServiceDefinition, channel, { credentials: keyringCredentials(path.join(dir, 'keyring'), `mgr.${NAME}`) });
      const key = `mgr/selftest/live-${process.pid}`;
      expect((await ceph(['config-key', 'set', key, 'from the monitors'])).code).toBe(0);
      await until(`${key} in cluster-state`, async () => (await store.getStore({ key })).value === 'from the monitors', 60_000);
      expect((await ceph(['config-key', 'rm', key])).code).toBe(0);
      await until(`${key} gone from cluster-state`, async () => !(await store.getStore({ key })).found, 60_000);
    } finally {
      channel.close();
    }
  }, 180_000);

  it("`ceph config set mgr mgr/<module>/<option>` reaches mgrpc's module, and a module's own change reaches `ceph config get`", async () => {
    const notified = async () => JSON.parse((await ceph(['mgr', 'self-test', 'notify', 'stats'])).stdout).config_changes as number;
    const before = await notified();
    expect((await ceph(['config', 'set', 'mgr', 'mgr/selftest/an_int', '7'])).code).toBe(0);
    await until('an_int 7 in the selftest module', async () => (await ceph(['mgr', 'self-test', 'config', 'get', 'an_int'])).stdout.trim() === '7', 60_000);
    expect(await notified()).toBeGreaterThan(before);
    const set = await ceph(['config', 'set', 'mgr', 'mgr/prometheus/scrape_interval', '20']);
    expect([set.code, set.stderr]).toEqual([0, '']);
    const channel = openChannel(cs.address);
    try {
      // the store is the managers': read as this one
      const store = makeClient(ClusterStateServiceDefinition, channel, { credentials: keyringCredentials(path.join(dir, 'keyring'), `mgr.${NAME}`) });
      await until(
        'scrape_interval 20 for the prometheus module',
        // the monitors may keep a float option as they parse it ("20.000000")
        async () => Number((await store.getStore({ key: 'config/mgr/prometheus/scrape_interval' })).value) === 20,
        60_000,
      );
    } finally {
      channel.close();
    }
    // the other way: the module sets its option, the monitors' configuration has it
    expect((await ceph(['mgr', 'self-test', 'config', 'set', 'an_int', '8'])).code).toBe(0);
    await until(
      "an_int 8 in the monitors' configuration",
      async () => (await ceph(['config', 'get', 'mgr', 'mgr/selftest/an_int'])).stdout.trim() === '8',
      60_000,
    );
    // the shared cluster's configuration as it was, for the test files after this one
    for (const name of ['mgr/prometheus/scrape_interval', 'mgr/selftest/an_int']) expect((await ceph(['config', 'rm', 'mgr', name])).code).toBe(0);
  }, 180_000);

  it("the monitors take mgrpc's service map: `ceph -s` shows one modified since this manager started", async () => {
    type S = { servicemap: { epoch: number; modified: string } };
    const m = await until(
      'a service map from mgrpc',
      async () => {
        const s = (await cluster.ceph<S>(['-s'])).servicemap;
        return s.epoch > 0 && Date.parse(s.modified.replace(/\.\d+/, '').replace('+0000', 'Z')) >= startedAt - 1000 ? s : undefined;
      },
      60_000,
    );
    expect(m.epoch).toBeGreaterThan(0);
  }, 120_000);

  // before any rados bench: with few objects to recover, the OSD is back in step within seconds
  it('an OSD stops: `ceph health detail` shows PG_DEGRADED raised through mgrpc, cleared when it returns', async () => {
    type Health = { checks: Record<string, { summary: { message: string } }> };
    const health = () => cluster.ceph<Health>(['health', 'detail']);
    // objects to degrade (this test may run alone)
    for (let i = 0; i < 4; i++) await rados(['put', `degraded-${i}`, '/etc/os-release']);
    const victim = osds()[osds().length - 1];
    await cluster.stopDaemon(victim);
    try {
      const h = await until("PG_DEGRADED in the monitors' health", async () => ((await health()).checks.PG_DEGRADED ? await health() : undefined), 120_000);
      expect(h.checks.PG_DEGRADED.summary.message).toMatch(/^Degraded data redundancy: \d+\/\d+ objects degraded/);
      const plain = await ceph(['health', 'detail']);
      expect(plain.stdout).toMatch(/\[WRN\] PG_DEGRADED: Degraded data redundancy/);
    } finally {
      await cluster.startDaemon(victim);
    }
    await until('PG_DEGRADED cleared', async () => !(await health()).checks.PG_DEGRADED, 180_000).catch(async (e: Error) => {
      const status = (await ceph(['-s'])).stdout;
      const pgs = (await ceph(['pg', 'dump', 'pgs_brief'])).stdout;
      throw new Error(
        `${e.message}\n${status}\n${pgs}\n${ds.lines
          .filter((l) => /report|monitor/i.test(l))
          .slice(-20)
          .join('\n')}`,
      );
    });
  }, 420_000);

  it('writing objects with rados bench moves the io rates', async () => {
    const ioWrite = async () => {
      const r = await cluster.ceph<Array<{ pool_name: string; client_io_rate: { write_op_per_sec?: number } }>>(['osd', 'pool', 'stats', 'mgrpc']);
      return r[0]?.client_io_rate?.write_op_per_sec ?? 0;
    };
    expect(await ioWrite()).toBe(0);
    const bench = new Promise<void>((resolve, reject) =>
      execFile(
        'rados',
        ['-c', cluster.confPath, '-k', cluster.keyringPath, '-p', 'mgrpc', 'bench', '10', 'write', '-b', '4096', '-t', '4'],
        { timeout: 120_000 },
        (e) => (e ? reject(e) : resolve()),
      ),
    );
    await until('client io on the pool', async () => (await ioWrite()) > 0, 60_000);
    await bench;
    await ceph(['tell', 'mgr', 'pg', 'stat']); // the manager still answers
  }, 180_000);

  it('`ceph -s` and `ceph df` are current: objects written show up in the pool, the usage and the client io', async () => {
    // every PG the OSDs reported, in the states they reported
    const pgs = await until(
      '`ceph -s` counting the PGs the OSDs report',
      async () => {
        const s = await cluster.ceph<Status>(['-s']);
        const total = (await cluster.ceph<{ pools: Array<{ pg_num: number }> }>(['osd', 'dump'])).pools.reduce((n, p) => n + p.pg_num, 0);
        return s.pgmap.num_pgs === total && s.pgmap.pgs_by_state.every((x) => /active/.test(x.state_name)) ? s : undefined;
      },
      90_000,
    );
    expect(pgs.pgmap.bytes_used).toBeGreaterThan(0);
    // a steady count first: the objects an earlier rados bench removed leave the stats over a few reports
    const { n: before } = await until(
      'a steady object count in pool mgrpc',
      async () => {
        const n = await poolObjects();
        await new Promise((r) => setTimeout(r, 3000));
        return n >= 0 && n === (await poolObjects()) ? { n } : undefined;
      },
      90_000,
    );
    const N = 12;
    for (let i = 0; i < N; i++) await rados(['put', `mon-report-${i}`, '/etc/os-release']);
    await until(`\`ceph df\` counting ${N} more objects in pool mgrpc`, async () => (await poolObjects()) >= before + N, 90_000);
    // client io while rados bench writes
    const bench = rados(['bench', '8', 'write', '-b', '4096', '-t', '4']);
    const io = await until(
      '`ceph -s` showing client writes',
      async () => ((await cluster.ceph<Status>(['-s'])).pgmap.write_op_per_sec ?? 0) > 0 || undefined,
      60_000,
    );
    expect(io).toBe(true);
    await bench;
    const plain = await ceph(['-s']);
    expect(plain.stdout).toMatch(/pgs:\s+\d+ active\+clean/);
    expect(plain.stdout).toMatch(/objects: [\d.]+k? objects/);
  }, 300_000);
});
