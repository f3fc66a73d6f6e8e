// The influx module against a real InfluxDB 1.x (Debian's influxdb), fed
// by the simulated cluster through cluster-state, daemon-server and
// module-host. Commands go through daemon-server as `mgrctl` sends them.
import * as fs from 'fs';
import * as net from 'net';
import { makeTestCerts, TestCerts } from '../../../lib/testing/certs';
import { startModuleStack, Stack, until } from './stack';
import { ADMIN, Influxd, influxdMissing, startInfluxd } from './influxd';
import { DF_TYPES } from '../index';
import { formatPoint } from '../line-protocol';
import { describeWith } from '../../../lib/testing/external';

describe('line protocol', () => {
  it('escapes, sorts tags, drops empty tags and unwritable fields, marks integers', () => {
    expect(
      formatPoint({
        measurement: 'm e,a',
        tags: { z: 'last', a: 'my pool,x=1', empty: '', back: 'a\\b' },
        fields: { value: { int: 42 }, 'f k': { float: 0.5 }, s: 'say "hi" \\', nan: { float: NaN }, ok: true },
        time: 1700000000123,
      }),
    ).toBe('m\\ e\\,a,a=my\\ pool\\,x\\=1,back=a\\b,z=last value=42i,f\\ k=0.5,s="say \\"hi\\" \\\\",ok=true 1700000000123');
    expect(formatPoint({ measurement: 'm', tags: {}, fields: { v: { float: Infinity } }, time: 1 })).toBeNull();
    expect(formatPoint({ measurement: 'm', tags: { t: 'a\nb' }, fields: { v: { int: 2 ** 60 } }, time: 1 })).toBe('m,t=a\\nb v=1152921504606846976i 1');
  });
});

const missing = influxdMissing();
const maybe = describeWith(missing, "install Debian's influxdb (.ci/run does)");

const SPECIAL_POOL = 'my pool,x=1';

maybe('influx module with a real InfluxDB', () => {
  let influx: Influxd;
  let s: Stack;
  const set = (key: string, value: string | number) => s.command('influx config-set', { key, value: String(value) });
  const values = (res: any, i = 0) => (res.results[i].series ?? []).flatMap((x: any) => x.values);
  const one = async (q: string, db = 'ceph') => values(await influx.query(q, db));
  const poolStat = async (pool: string, type: string) => Number((await s.get('df')).pools.find((p: any) => p.name === pool).stats[type]);

  beforeAll(async () => {
    influx = await startInfluxd();
    await influx.query('CREATE DATABASE ceph');
    s = await startModuleStack({ modules: ['influx'], prepare: (sim) => sim.createPool(SPECIAL_POOL, 8) });
  }, 60000);

  afterAll(async () => {
    await s?.close();
    await influx?.stop();
  });

  it('lists its commands in help and declares its options', async () => {
    const help = await s.command('help');
    expect(help.retcode).toBe(0);
    for (const c of ['influx config-set <key> <value>', 'influx config-show', 'influx send']) expect(help.stdout).toContain(c);
    const mod = s.mh.host.modules().find((m) => m.name === 'influx')!;
    expect(mod.state).toBe('running');
    const names = mod.options.map((o) => o.name);
    expect(names).toEqual(
      expect.arrayContaining(['hostname', 'port', 'database', 'username', 'password', 'interval', 'ssl', 'verify_ssl', 'threads', 'batch_size']),
    );
  });

  it('without a hostname it raises MGR_INFLUX_NO_SERVER', async () => {
    const h = await until('MGR_INFLUX_NO_SERVER', async () => (await s.health()).checks.MGR_INFLUX_NO_SERVER);
    expect(h.severity).toBe('HEALTH_WARN');
    expect((await s.command('influx send')).stderr).toContain('influx config-set hostname');
  });

  it('refuses bad option values with -22 and a reason', async () => {
    const bad: Array<[string, string, RegExp]> = [
      ['port', 'eighty', /whole number/],
      ['port', '70000', /at most 65535/],
      ['interval', '2', /at least 5/],
      ['ssl', 'maybe', /true or false/],
      ['batch_size', '0', /at least 1/],
      ['hostname', 'http://evil/', /host name or an IP address/],
      ['colour', 'red', /has no option 'colour'/],
    ];
    for (const [key, value, re] of bad) {
      const r = await set(key, value);
      expect([key, r.retcode]).toEqual([key, -22]);
      expect(r.stderr).toMatch(re);
    }
  });

  it('sends pools, daemon counters and PG summaries that InfluxDB returns', async () => {
    for (const [k, v] of [
      ['hostname', '127.0.0.1'],
      ['port', influx.port],
      ['username', ADMIN.user],
      ['password', ADMIN.password],
      ['interval', 3600],
    ] as const) {
      expect((await set(k, v)).retcode).toBe(0);
    }
    // wr only grows: the value InfluxDB holds must lie between df before and after the send.
    const before = await poolStat(SPECIAL_POOL, 'wr');
    const r = await s.command('influx send');
    const after = await poolStat(SPECIAL_POOL, 'wr');
    expect(r.retcode).toBe(0);
    expect(r.stdout).toMatch(/^Sent \d+ points to InfluxDB at http:\/\/127\.0\.0\.1:\d+ \(database 'ceph'\)$/);
    await until('health cleared', async () => !(await s.health()).checks.MGR_INFLUX_NO_SERVER);

    const [[, wr]] = await one(`SELECT last("value") FROM ceph_pool_stats WHERE pool_name = '${SPECIAL_POOL}' AND type_instance = 'wr'`);
    expect(wr).toBeGreaterThanOrEqual(before);
    expect(wr).toBeLessThanOrEqual(after);
    expect(after).toBeGreaterThan(0);

    // Tag escaping round-trips: every pool name comes back as it is, the odd one included.
    const df = await s.get('df');
    const names = (await one('SHOW TAG VALUES FROM ceph_pool_stats WITH KEY = "pool_name"')).map((v: any) => v[1]).sort();
    expect(names).toEqual(df.pools.map((p: any) => p.name).sort());
    expect(names).toContain(SPECIAL_POOL);
    const types = (await one('SHOW TAG VALUES FROM ceph_pool_stats WITH KEY = "type_instance"')).map((v: any) => v[1]).sort();
    expect(types).toEqual([...DF_TYPES].sort());
    const fsid = (await s.get('mon_map')).fsid;
    expect((await one('SHOW TAG VALUES FROM ceph_pool_stats WITH KEY = "fsid"')).map((v: any) => v[1])).toEqual([fsid]);
    // Integers as Ceph's client sends them (the `i` suffix), so later points cannot conflict.
    for (const m of ['ceph_pool_stats', 'ceph_daemon_stats', 'ceph_pg_summary_osd', 'ceph_pg_summary_pool']) {
      expect([m, await one(`SHOW FIELD KEYS FROM ${m}`)]).toEqual([m, [['value', 'integer']]]);
    }
    // One series per pool for every stat.
    const quota = await one(`SELECT last("value") FROM ceph_pool_stats WHERE type_instance = 'quota_bytes' GROUP BY pool_name`);
    expect(quota.length).toBe(df.pools.length);

    // Daemon counters: OSDs, the MDS and the mons, with their host, and no histograms.
    // (the mon and the MDS may report their first counters a little after the OSDs on a busy machine)
    const want = ['osd.0', 'osd.1', 'osd.2', 'mds.a', 'mon.a'];
    const daemons = await until("every fake daemon's counters in InfluxDB", async () => {
      const d = (await one('SHOW TAG VALUES FROM ceph_daemon_stats WITH KEY = "ceph_daemon"')).map((v: any) => v[1]);
      if (want.every((x) => d.includes(x))) return d;
      await s.command('influx send');
      return null;
    });
    expect(daemons).toEqual(expect.arrayContaining(want));
    const osdHost = s.sim.osdMetadataOf(1).hostname;
    const hosts = (await one(`SHOW TAG VALUES FROM ceph_daemon_stats WITH KEY = "host" WHERE ceph_daemon = 'osd.1'`)).map((v: any) => v[1]);
    expect(hosts).toEqual([osdHost]);
    const [[, opW]] = await one(`SELECT last("value") FROM ceph_daemon_stats WHERE ceph_daemon = 'osd.0' AND type_instance = 'osd.op_w'`);
    expect(opW).toBeGreaterThan(0);
    const counters = (await one(`SHOW TAG VALUES FROM ceph_daemon_stats WITH KEY = "type_instance" WHERE ceph_daemon = 'osd.0'`)).map((v: any) => v[1]);
    expect(counters.length).toBeGreaterThan(10);
    expect(counters.filter((c: string) => /histogram/.test(c))).toEqual([]);

    // PG summaries: per pool they add up to the cluster's PG count.
    const pgSum = await s.get('pg_summary');
    const total = Object.values<number>(pgSum.all).reduce((a, b) => a + b, 0);
    const perPool = await one('SELECT sum("value") FROM (SELECT last("value") AS "value" FROM ceph_pg_summary_pool GROUP BY pool_name, type_instance)');
    expect(perPool[0][1]).toBe(total);
    const byOsd = await one(`SELECT last("value") FROM ceph_pg_summary_osd WHERE ceph_daemon = 'osd.2' GROUP BY type_instance`);
    expect(byOsd.length).toBeGreaterThan(0);
  });

  it('splits a round into batch_size points per write request', async () => {
    expect((await set('batch_size', 7)).retcode).toBe(0);
    const before = await influx.httpStats();
    const r = await s.command('influx send');
    expect(r.retcode).toBe(0);
    const points = Number(/Sent (\d+) points/.exec(r.stdout)![1]);
    const after = await influx.httpStats();
    expect(after.writeReq - before.writeReq).toBe(Math.ceil(points / 7));
    expect(after.pointsWrittenOK - before.pointsWrittenOK).toBe(points);
    expect((await set('batch_size', 5000)).retcode).toBe(0);
  });

  it('creates a missing database with an 8-week retention policy', async () => {
    expect((await set('database', 'ceph_new')).retcode).toBe(0);
    expect((await s.command('influx send')).retcode).toBe(0);
    const dbs = (await one('SHOW DATABASES')).map((v: any) => v[0]);
    expect(dbs).toContain('ceph_new');
    const rps = await one('SHOW RETENTION POLICIES ON ceph_new');
    expect(rps.find((p: any) => p[0] === '8_weeks')).toEqual(['8_weeks', '1344h0m0s', expect.any(String), 1, true]);
    expect((await one('SELECT count("value") FROM ceph_pool_stats', 'ceph_new'))[0][1]).toBeGreaterThan(0);
    expect((await set('database', 'ceph')).retcode).toBe(0);
  });

  it('raises MGR_INFLUX_SEND_FAILED on a refused write or a refused connection, and clears it on success', async () => {
    expect((await set('password', 'wrong')).retcode).toBe(0);
    const r = await s.command('influx send');
    expect(r.retcode).toBe(-5);
    expect(r.stderr).toMatch(/HTTP 401/);
    const check = await until('MGR_INFLUX_SEND_FAILED', async () => (await s.health()).checks.MGR_INFLUX_SEND_FAILED);
    expect(check.severity).toBe('HEALTH_WARN');
    expect(check.detail.map((d) => d.message).join()).toMatch(/authorization failed/);

    expect((await set('password', ADMIN.password)).retcode).toBe(0);
    expect((await s.command('influx send')).retcode).toBe(0);
    await until('cleared', async () => !(await s.health()).checks.MGR_INFLUX_SEND_FAILED);

    // A port we just had and closed again: connection refused.
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    expect((await set('port', closed)).retcode).toBe(0);
    const r2 = await s.command('influx send');
    expect(r2.retcode).toBe(-5);
    expect(r2.stderr).toMatch(/ECONNREFUSED/);
    const c2 = await until('connection error', async () => {
      const c = (await s.health()).checks.MGR_INFLUX_SEND_FAILED;
      return c && /connection error/.test(c.summary.message) && c;
    });
    expect(c2.summary.message).toBe(`Failed to send data to InfluxDB server at 127.0.0.1:${closed} due to a connection error`);
    expect((await set('port', influx.port)).retcode).toBe(0);
    expect((await s.command('influx send')).retcode).toBe(0);
    await until('cleared again', async () => !(await s.health()).checks.MGR_INFLUX_SEND_FAILED);
  });

  it('config-show shows the settings, not the password', async () => {
    const r = await s.command('influx config-show');
    expect(r.retcode).toBe(0);
    const cfg = JSON.parse(r.stdout);
    expect(Object.keys(cfg)).toEqual([...Object.keys(cfg)].sort());
    expect(cfg).toMatchObject({
      hostname: '127.0.0.1',
      port: influx.port,
      database: 'ceph',
      username: ADMIN.user,
      password: '********',
      ssl: false,
      verify_ssl: true,
      interval: 3600,
      batch_size: 5000,
      threads: 5,
    });
  });

  it('speaks https; verify_ssl decides whether an untrusted certificate is accepted', async () => {
    let certs: TestCerts | undefined;
    let tls: Influxd | undefined;
    try {
      certs = makeTestCerts();
      tls = await startInfluxd({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca } });
      for (const [k, v] of [
        ['port', tls.port],
        ['ssl', 'true'],
        ['verify_ssl', 'false'],
      ] as const)
        expect((await set(k, v)).retcode).toBe(0);
      const r = await s.command('influx send');
      expect([r.retcode, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toContain(`https://127.0.0.1:${tls.port}`);
      expect((await tls.query('SELECT count("value") FROM ceph_pool_stats', 'ceph')).results[0].series[0].values[0][1]).toBeGreaterThan(0);
      // The test CA is not one the module trusts: with verification on, the write fails and says why.
      expect((await set('verify_ssl', 'true')).retcode).toBe(0);
      const bad = await s.command('influx send');
      expect(bad.retcode).toBe(-5);
      expect(bad.stderr).toMatch(/certificate/);
      await until('MGR_INFLUX_SEND_FAILED for tls', async () => (await s.health()).checks.MGR_INFLUX_SEND_FAILED);
    } finally {
      for (const [k, v] of [
        ['port', influx.port],
        ['ssl', 'false'],
        ['verify_ssl', 'true'],
      ] as const)
        await set(k, v);
      await tls?.stop();
      if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
    }
    expect((await s.command('influx send')).retcode).toBe(0);
    await until('cleared after tls', async () => !(await s.health()).checks.MGR_INFLUX_SEND_FAILED);
  });

  it('sends by itself every interval', async () => {
    const rounds = async () =>
      (await one('SELECT count("value") FROM ceph_pool_stats WHERE pool_name = \'' + SPECIAL_POOL + "' AND type_instance = 'wr'"))[0][1];
    const start = await rounds();
    // A new interval applies at once (config_notify wakes the loop), so the next round is at most 5 s away.
    expect((await set('interval', 5)).retcode).toBe(0);
    await until('two rounds without `influx send`', async () => (await rounds()) >= start + 2, 20000);
    expect((await set('interval', 3600)).retcode).toBe(0);
  }, 30000);
});
