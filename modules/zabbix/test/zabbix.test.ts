// The zabbix module against trapper stand-ins that decode the sender
// protocol from its specification (receiver.ts), fed by the simulated
// cluster through cluster-state, daemon-server and module-host. Commands go
// through daemon-server as `mgrctl` sends them.
import * as net from 'net';
import { startModuleStack, Stack, until } from '../../influx/test/stack';
import { startReceiver, Receiver } from './receiver';
import { parseZabbixHosts } from '../index';
import { decodeMessage, encodeMessage, parseInfo } from '../sender';

const UNICODE_POOL = 'pööl-ünïcode';

describe('zabbix sender codec', () => {
  it('frames as the spec says: ZBXD, 0x01, little-endian byte length', () => {
    const m = encodeMessage('{"a":"ö"}');
    expect(m.subarray(0, 5).toString('latin1')).toBe('ZBXD\x01');
    expect(m.readBigUInt64LE(5)).toBe(10n); // bytes, not characters
    expect(decodeMessage(m)!.body.toString()).toBe('{"a":"ö"}');
    expect(decodeMessage(m.subarray(0, 12))).toBeNull();
    expect(() => decodeMessage(Buffer.from('HTTP/1.1 400'))).toThrow(/not a Zabbix protocol message/);
    expect(parseInfo('processed: 3; failed: 2; total: 5; seconds spent: 0.000060')).toEqual({ processed: 3, failed: 2, total: 5 });
  });

  it('parses zabbix_host lists', () => {
    expect(parseZabbixHosts('zbx1, zbx2:10052,10.0.0.1,[fd00::1]:123,fd00::2', 10051)).toEqual([
      { host: 'zbx1', port: 10051 },
      { host: 'zbx2', port: 10052 },
      { host: '10.0.0.1', port: 10051 },
      { host: 'fd00::1', port: 123 },
      { host: 'fd00::2', port: 10051 },
    ]);
    expect(() => parseZabbixHosts('ok,bad host', 10051)).toThrow(/'bad host' is not valid/);
    expect(() => parseZabbixHosts('h:99999', 10051)).toThrow(/outside 1..65535/);
  });
});

describe('zabbix module', () => {
  let s: Stack;
  let a: Receiver;
  let b: Receiver;
  const set = (key: string, value: string | number) => s.command('zabbix config-set', { key, value: String(value) });
  /** key -> value of every item in the receiver's requests from index `from` on. */
  const itemsOf = (r: Receiver, from = 0) => {
    const out = new Map<string, any>();
    for (const req of r.requests.slice(from)) for (const it of req.json.data) out.set(it.key, it);
    return out;
  };

  beforeAll(async () => {
    [a, b] = [await startReceiver(), await startReceiver()];
    // 40 pools: more than 250 items, so a round takes two requests per server.
    s = await startModuleStack({ modules: ['zabbix'], cluster: { pools: 40, pgs: 400 }, prepare: (sim) => sim.createPool(UNICODE_POOL, 8) });
  }, 60000);

  afterAll(async () => {
    await s?.close();
    await a?.close();
    await b?.close();
  });

  afterEach(() => {
    expect(a.violations).toEqual([]);
    expect(b.violations).toEqual([]);
  });

  it('lists its commands in help and declares its options', async () => {
    const help = await s.command('help');
    for (const c of ['zabbix config-set <key> <value>', 'zabbix config-show', 'zabbix send', 'zabbix discovery']) expect(help.stdout).toContain(c);
    const mod = s.mh.host.modules().find((m) => m.name === 'zabbix')!;
    expect(mod.state).toBe('running');
    expect(mod.options.map((o) => o.name)).toEqual(expect.arrayContaining(['zabbix_host', 'zabbix_port', 'identifier', 'interval', 'discovery_interval']));
  });

  it('without zabbix_host it raises MGR_ZABBIX_NO_SERVER', async () => {
    const c = await until('MGR_ZABBIX_NO_SERVER', async () => (await s.health()).checks.MGR_ZABBIX_NO_SERVER);
    expect(c.severity).toBe('HEALTH_WARN');
    const r = await s.command('zabbix send');
    expect(r.retcode).toBe(-5);
    expect(r.stderr).toContain('zabbix config-set zabbix_host');
  });

  it('refuses bad option values with -22 and a reason', async () => {
    const bad: Array<[string, string, RegExp]> = [
      ['zabbix_port', 'ten', /whole number/],
      ['zabbix_port', '70000', /at most 65535/],
      ['interval', '5', /at least 10 seconds/],
      ['discovery_interval', '3', /more frequent than once in 10/],
      ['zabbix_host', 'good,bad host!', /'bad host!' is not valid/],
      ['zabbix_host', 'h:0', /outside 1..65535/],
      ['zabbix_sender', '/usr/bin/zabbix_sender', /has no option 'zabbix_sender'/],
    ];
    for (const [key, value, re] of bad) {
      const r = await set(key, value);
      expect([key, r.retcode]).toEqual([key, -22]);
      expect(r.stderr).toMatch(re);
    }
  });

  it("sends Ceph's items to every server in zabbix_host, 250 per request", async () => {
    // One entry without a port uses zabbix_port; the other names its own.
    expect((await set('zabbix_port', a.port)).retcode).toBe(0);
    expect((await set('zabbix_host', `127.0.0.1,127.0.0.1:${b.port}`)).retcode).toBe(0);
    expect((await set('interval', 3600)).retcode).toBe(0);
    const [fromA, fromB] = [a.requests.length, b.requests.length];
    const before = Date.now();
    const r = await s.command('zabbix send');
    expect(r.retcode).toBe(0);
    expect(r.stdout).toMatch(
      /^Sent \d+ items of data to Zabbix as 'ceph-[0-9a-f-]+': 127\.0\.0\.1:\d+ \(processed \d+ of \d+ in 2 requests\), 127\.0\.0\.1:\d+/,
    );

    for (const rcv of [a, b]) {
      const reqs = rcv.requests.slice(rcv === a ? fromA : fromB);
      expect(reqs.length).toBe(2);
      for (const q of reqs) {
        expect(q.json.request).toBe('sender data');
        expect(q.json.data.length).toBeLessThanOrEqual(250);
        expect(q.json.clock * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      }
    }
    const items = itemsOf(a, fromA);
    const fsid = (await s.get('mon_map')).fsid;
    for (const it of items.values()) {
      expect(it.host).toBe(`ceph-${fsid}`);
      expect(typeof it.value).toBe('string');
      expect(Number.isInteger(it.clock)).toBe(true);
    }
    // Both servers got the same keys.
    expect([...itemsOf(b, fromB).keys()].sort()).toEqual([...items.keys()].sort());

    const v = (k: string) => items.get(`ceph.${k}`)?.value;
    const osdMap = await s.get('osd_map');
    const df = await s.get('df');
    const pgStatus = await s.get('pg_status');
    expect(v('num_osd')).toBe(String(osdMap.osds.length));
    expect(v('num_osd_up')).toBe(String(osdMap.osds.filter((o: any) => o.up === 1).length));
    expect(v('num_osd_in')).toBe(String(osdMap.osds.filter((o: any) => o.in === 1).length));
    expect(v('num_mon')).toBe('1');
    expect(v('num_pools')).toBe(String(df.pools.length));
    expect(v('total_bytes')).toBe(String(df.stats.total_bytes));
    expect(v('num_pg')).toBe(String(pgStatus.num_pgs));
    const activeClean = pgStatus.pgs_by_state.filter((x: any) => x.state_name.split('+').includes('active')).reduce((n: number, x: any) => n + x.count, 0);
    expect(v('num_pg_active')).toBe(String(activeClean));
    expect(['HEALTH_OK', 'HEALTH_WARN', 'HEALTH_ERR']).toContain(v('overall_status'));
    expect(v('overall_status_int')).toBe(String({ HEALTH_OK: 0, HEALTH_WARN: 1, HEALTH_ERR: 2 }[v('overall_status') as string]));
    expect(v('osd_full_ratio')).toBe(String(osdMap.full_ratio));
    for (const k of [
      'osd_max_fill',
      'osd_min_fill',
      'osd_avg_fill',
      'osd_latency_apply_avg',
      'osd_latency_commit_max',
      'osd_max_pgs',
      'num_pg_temp',
      'num_pg_degraded',
      'num_pg_backfill_wait',
      'wr_ops',
      'rd_ops',
      'wr_bytes',
      'rd_bytes',
      'total_used_bytes',
      'total_avail_bytes',
    ]) {
      expect([k, Number.isFinite(Number(v(k)))]).toEqual([k, true]);
    }
    // Per pool and per OSD, the Unicode pool included (the length header counts bytes).
    for (const p of df.pools)
      for (const k of ['rd_bytes', 'wr_bytes', 'rd_ops', 'wr_ops', 'bytes_used', 'stored_raw', 'percent_used']) expect(v(`[${p.name},${k}]`)).toBeDefined();
    expect(Number(v(`[${UNICODE_POOL},wr_ops]`))).toBeGreaterThanOrEqual(0);
    for (const o of osdMap.osds)
      for (const k of ['up', 'in', 'osd_fill', 'num_pgs', 'osd_latency_apply', 'osd_latency_commit']) expect(v(`[osd.${o.osd},${k}]`)).toBeDefined();
    expect(v('[osd.0,up]')).toBe('1');
    expect((await s.health()).checks.MGR_ZABBIX_SEND_FAILED).toBeUndefined();
    await until('no-server check cleared', async () => !(await s.health()).checks.MGR_ZABBIX_NO_SERVER);
  });

  it('uses identifier as the Zabbix host name', async () => {
    expect((await set('identifier', 'my-ceph')).retcode).toBe(0);
    const from = a.requests.length;
    expect((await s.command('zabbix send')).retcode).toBe(0);
    expect(new Set([...itemsOf(a, from).values()].map((i) => i.host))).toEqual(new Set(['my-ceph']));
  });

  it('sends low-level discovery of pools and OSDs with their CRUSH root', async () => {
    const from = a.requests.length;
    const r = await s.command('zabbix discovery');
    expect(r.retcode).toBe(0);
    const items = itemsOf(a, from);
    expect([...items.keys()].sort()).toEqual(['ceph.zabbix.osd.discovery', 'ceph.zabbix.pool.discovery']);
    const pools = JSON.parse(items.get('ceph.zabbix.pool.discovery').value).data;
    const osdMap = await s.get('osd_map');
    expect(pools.map((p: any) => p['{#POOL}']).sort()).toEqual(osdMap.pools.map((p: any) => p.pool_name).sort());
    expect(new Set(pools.map((p: any) => p['{#CRUSH_RULE}']))).toEqual(new Set(['default']));
    const osds = JSON.parse(items.get('ceph.zabbix.osd.discovery').value).data;
    expect(osds).toEqual(osdMap.osds.map((o: any) => ({ '{#OSD}': o.osd, '{#CRUSH_RULE}': 'default' })));
  });

  it('reads a compressed answer', async () => {
    a.behaviour = 'compressed';
    try {
      expect((await s.command('zabbix send')).retcode).toBe(0);
    } finally {
      a.behaviour = 'success';
    }
  });

  const failing: Array<[string, (r: Receiver) => void, RegExp]> = [
    [
      'a server that did not process some values',
      (r) => (r.behaviour = { failed: 2 }) /* per request; a round is two */,
      /processed \d+ and failed 4 of \d+ values/,
    ],
    ['a server that closes before answering', (r) => (r.behaviour = 'close-early'), /closed the connection after 8 bytes, before a complete answer/],
    ['a server that is not a Zabbix server', (r) => (r.behaviour = 'garbage'), /answered badly: not a Zabbix protocol message/],
  ];
  for (const [name, make, re] of failing) {
    it(`${name} raises MGR_ZABBIX_SEND_FAILED, and a good send clears it`, async () => {
      make(b);
      try {
        const r = await s.command('zabbix send');
        expect(r.retcode).toBe(-5);
        expect(r.stderr).toMatch(re);
        expect(r.stderr).toContain(`127.0.0.1:${b.port}`);
        const c = await until('MGR_ZABBIX_SEND_FAILED with this failure', async () => {
          const check = (await s.health()).checks.MGR_ZABBIX_SEND_FAILED;
          return check && re.test(check.detail.map((d) => d.message).join('\n')) && check;
        });
        expect(c.severity).toBe('HEALTH_WARN');
        expect(c.summary.message).toBe('Failed to send data to Zabbix');
      } finally {
        b.behaviour = 'success';
      }
      expect((await s.command('zabbix send')).retcode).toBe(0);
      await until('cleared', async () => !(await s.health()).checks.MGR_ZABBIX_SEND_FAILED);
    });
  }

  it('a refused connection raises MGR_ZABBIX_SEND_FAILED', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    expect((await set('zabbix_host', `127.0.0.1:${closed}`)).retcode).toBe(0);
    const r = await s.command('zabbix send');
    expect(r.retcode).toBe(-5);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    await until('MGR_ZABBIX_SEND_FAILED for the refused connection', async () => {
      const c = (await s.health()).checks.MGR_ZABBIX_SEND_FAILED;
      return c && c.detail.some((d) => /ECONNREFUSED/.test(d.message));
    });
    expect((await set('zabbix_host', `127.0.0.1:${a.port}`)).retcode).toBe(0);
    expect((await s.command('zabbix send')).retcode).toBe(0);
    await until('cleared', async () => !(await s.health()).checks.MGR_ZABBIX_SEND_FAILED);
  });

  it('config-show shows the settings', async () => {
    const r = await s.command('zabbix config-show');
    expect(JSON.parse(r.stdout)).toEqual({
      discovery_interval: 100,
      identifier: 'my-ceph',
      interval: 3600,
      zabbix_host: `127.0.0.1:${a.port}`,
      zabbix_port: a.port,
    });
  });

  it('sends by itself every interval, with discovery after zabbix_host changes', async () => {
    expect((await set('zabbix_host', `127.0.0.1:${b.port}`)).retcode).toBe(0);
    const from = b.requests.length;
    expect((await set('interval', 10)).retcode).toBe(0);
    // The next round is due at once (the last send was more than 10 s ago) or within 10 s.
    await until('a round without a command', async () => itemsOf(b, from).has('ceph.num_osd'), 16000);
    expect(itemsOf(b, from).has('ceph.zabbix.pool.discovery')).toBe(true);
    expect((await set('interval', 3600)).retcode).toBe(0);
  }, 30000);
});
