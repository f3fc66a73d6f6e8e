// The exposition text on its own: names, labels, HELP/TYPE lines, escaping,
// and the families built from the Ceph Pacific fixtures (what a real
// cluster's manager module would have read).
import * as fs from 'fs';
import * as path from 'path';
import { escapeLabelValue, formatValue, Metric, MetricSet, promethize } from '../exposition';
import { addrHost, collectMetrics, CollectInput, PG_STATES } from '../collect';

const FIXTURES = path.join(__dirname, '../../../../shared/fixtures/ceph-pacific');
const fixture = (name: string): any => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

/** Parses exposition text into samples and the HELP/TYPE of each family; throws on a malformed line. */
function parse(text: string) {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (help.has(m[1])) throw new Error(`second HELP for ${m[1]}`);
      help.set(m[1], m[2]);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped|histogram|summary)$/.exec(line);
    if (m) {
      type.set(m[1], m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    const body = m[3] ?? '';
    let lm: RegExpExecArray | null;
    let consumed = 0;
    while ((lm = re.exec(body))) {
      labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      consumed = re.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`malformed labels: ${line}`);
    if (!type.has(m[1])) throw new Error(`sample before its TYPE: ${line}`);
    samples.push({ name: m[1], labels, value: m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]) });
  }
  return { help, type, samples };
}

describe('exposition format', () => {
  it('names metrics as Ceph does', () => {
    expect(promethize('osd.op_w')).toBe('ceph_osd_op_w');
    expect(promethize('mds_mem.ino+')).toBe('ceph_mds_mem_ino_plus');
    expect(promethize('mds_mem.ino-')).toBe('ceph_mds_mem_ino_minus');
    expect(promethize('throttle-msgr_dispatch_throttler-client.val')).toBe('ceph_throttle_msgr_dispatch_throttler_client_val');
    expect(promethize('a::b/c d')).toBe('ceph_a_b_c_d');
    expect(promethize('weird%name')).toBe('ceph_weird_name');
  });

  it('writes HELP and TYPE once per family, labels in order, values Go can parse', () => {
    const ms = new MetricSet();
    const m = ms.metric('gauge', 'osd.numpg', 'Placement groups', ['ceph_daemon']);
    m.set(89, ['osd.0']);
    m.set(90, ['osd.1']);
    m.set(91, ['osd.1']); // a later set wins
    ms.metric('untyped', 'health_status', 'Cluster health status').set(1);
    ms.metric('gauge', 'osd.numpg', 'ignored: the first family wins', ['ceph_daemon']).set(1, ['osd.2']);
    ms.metric('gauge', 'empty', 'never set');
    expect(ms.render()).toBe(
      '# HELP ceph_osd_numpg Placement groups\n# TYPE ceph_osd_numpg gauge\nceph_osd_numpg{ceph_daemon="osd.0"} 89\nceph_osd_numpg{ceph_daemon="osd.1"} 91\nceph_osd_numpg{ceph_daemon="osd.2"} 1\n' +
        '# HELP ceph_health_status Cluster health status\n# TYPE ceph_health_status untyped\nceph_health_status 1\n',
    );
    expect([NaN, Infinity, -Infinity, 0.5, 1e21].map(formatValue)).toEqual(['NaN', '+Inf', '-Inf', '0.5', '1e+21']);
  });

  it('escapes label values and help text', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const ms = new MetricSet();
    ms.metric('gauge', 'x', 'line one\nline "two" \\ three', ['name']).set(1, ['pool "q"\\\n']);
    const text = ms.render();
    expect(text).toContain('# HELP ceph_x line one\\nline "two" \\\\ three\n');
    expect(text).toContain('ceph_x{name="pool \\"q\\"\\\\\\n"} 1\n');
    expect(parse(text).samples[0].labels.name).toBe('pool "q"\\\n');
  });

  it('refuses bad label names and the wrong number of label values', () => {
    expect(() => new Metric('gauge', 'x', 'x', ['bad-label'])).toThrow(/not a valid label name/);
    expect(() => new Metric('gauge', 'x', 'x', ['a', 'b']).set(1, ['only one'])).toThrow(/takes 2 label values \(a, b\), got 1/);
  });

  it('splits addresses as Ceph does', () => {
    expect(addrHost('127.0.0.1:6801/8103')).toBe('127.0.0.1');
    expect(addrHost('[::1]:6801/0')).toBe('::1');
    expect(addrHost('-')).toBe('-');
  });
});

describe('metrics from a Ceph Pacific cluster (fixtures)', () => {
  const input: CollectInput = {
    health: fixture('mgrget-health-warn.json'),
    df: fixture('mgrget-df.json'),
    osdPoolStats: fixture('mgrget-osd_pool_stats.json'),
    poolStats: fixture('mgrget-pool_stats.json'),
    fsMap: fixture('mgrget-fs_map.json'),
    osdStats: fixture('mgrget-osd_stats.json'),
    monStatus: fixture('mgrget-mon_status.json'),
    mgrMap: fixture('mgrget-mgr_map.json'),
    osdMap: fixture('mgrget-osd_map.json'),
    osdMapCrush: fixture('mgrget-osd_map_crush.json'),
    osdMetadata: fixture('mgrget-osd_metadata.json'),
    servers: fixture('mgrget-list_servers.json'),
    pgStatus: fixture('mgrget-pg_status.json'),
    pgSummary: fixture('mgrget-pg_summary.json'),
    perfCounters: fixture('mgrget-get_all_perf_counters.json'),
  };
  const text = collectMetrics({ ...input, collectDurations: { read_inputs: { sum: 0.01, count: 1 } } }).render();
  const { help, type, samples } = parse(text);
  const one = (name: string, labels: Record<string, string> = {}) => {
    const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
    return found[0];
  };
  const version = 'ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)';

  it('health: status 2 for HEALTH_ERR, and a health_detail per check', () => {
    expect(one('ceph_health_status').value).toBe(2);
    expect(type.get('ceph_health_status')).toBe('untyped');
    expect(one('ceph_health_detail', { name: 'MGR_MODULE_ERROR' }).labels.severity).toBe('HEALTH_ERR');
    expect(one('ceph_health_detail', { name: 'OSDMAP_FLAGS' }).labels.severity).toBe('HEALTH_WARN');
  });

  it('OSDs: up, in, weight and metadata with Ceph labels', () => {
    for (const id of [0, 1, 2]) {
      expect(one('ceph_osd_up', { ceph_daemon: `osd.${id}` }).value).toBe(1);
      expect(one('ceph_osd_in', { ceph_daemon: `osd.${id}` }).value).toBe(1);
      expect(one('ceph_osd_weight', { ceph_daemon: `osd.${id}` }).value).toBe(1);
    }
    expect(one('ceph_osd_metadata', { ceph_daemon: 'osd.0' }).labels).toEqual({
      back_iface: '',
      ceph_daemon: 'osd.0',
      cluster_addr: '127.0.0.1',
      device_class: 'hdd',
      front_iface: '',
      hostname: 'vm',
      objectstore: 'memstore',
      public_addr: '127.0.0.1',
      ceph_version: version,
    });
    expect(help.get('ceph_osd_up')).toBe('OSD status up');
    expect(one('ceph_osd_flag_noout').value).toBe(0);
    expect(one('ceph_osd_apply_latency_ms', { ceph_daemon: 'osd.2' }).value).toBe(0);
  });

  it('pools: df stats by pool_id, and pool metadata', () => {
    const df = fixture('mgrget-df.json');
    for (const pool of df.pools) {
      expect(one('ceph_pool_stored', { pool_id: String(pool.id) }).value).toBe(pool.stats.stored);
      expect(one('ceph_pool_max_avail', { pool_id: String(pool.id) }).value).toBe(pool.stats.max_avail);
      expect(one('ceph_pool_objects', { pool_id: String(pool.id) }).value).toBe(pool.stats.objects);
      expect(one('ceph_pool_wr', { pool_id: String(pool.id) }).value).toBe(pool.stats.wr);
      expect(one('ceph_pool_metadata', { pool_id: String(pool.id) }).labels.name).toBe(pool.name);
    }
    expect(one('ceph_cluster_total_bytes').value).toBe(df.stats.total_bytes);
    expect(one('ceph_pool_recovering_objects_per_sec', { pool_id: '5' }).value).toBe(0);
  });

  it('PGs: a gauge per state and a total, per pool (pool_id, as the alert rules join them), object counts', () => {
    const byPool = fixture('mgrget-pg_summary.json').by_pool as Record<string, Record<string, number>>;
    for (const [pool, states] of Object.entries(byPool)) {
      const n = Object.values(states).reduce((a, b) => a + b, 0);
      expect(one('ceph_pg_total', { pool_id: pool }).value).toBe(n);
      expect(one('ceph_pg_active', { pool_id: pool }).value).toBe(n);
      expect(one('ceph_pg_clean', { pool_id: pool }).value).toBe(n);
      expect(one('ceph_pg_degraded', { pool_id: pool }).value).toBe(0);
    }
    for (const s of PG_STATES) expect(type.get(`ceph_pg_${s}`)).toBe('gauge');
    expect(help.get('ceph_pg_total')).toBe('PG Total Count per Pool');
    expect(one('ceph_num_objects_degraded').value).toBe(0);
    // a state made of several words counts for each
    const two = parse(collectMetrics({ pgSummary: { by_pool: { '7': { 'active+undersized+degraded': 3, 'undersized+degraded+peered': 2 } } } }).render());
    const get = (n: string) => two.samples.find((x) => x.name === n && x.labels.pool_id === '7')!.value;
    expect([get('ceph_pg_total'), get('ceph_pg_active'), get('ceph_pg_undersized'), get('ceph_pg_peered'), get('ceph_pg_clean')]).toEqual([5, 3, 5, 2, 0]);
  });

  it('pools: rd/wr totals are counters, the rest of df gauges; objects repaired by poolid', () => {
    for (const c of ['rd', 'rd_bytes', 'wr', 'wr_bytes']) expect(type.get(`ceph_pool_${c}`)).toBe('counter');
    for (const g of ['stored', 'max_avail', 'percent_used', 'bytes_used', 'avail_raw']) expect(type.get(`ceph_pool_${g}`)).toBe('gauge');
    const df = fixture('mgrget-df.json');
    expect(one('ceph_pool_percent_used', { pool_id: String(df.pools[0].id) }).value).toBe(df.pools[0].stats.percent_used);
    for (const p of fixture('mgrget-pool_stats.json').pool_stats)
      expect(one('ceph_pool_objects_repaired', { poolid: String(p.poolid) }).value).toBe(p.stat_sum.num_objects_repaired);
  });

  it('health checks seen before stay in ceph_health_detail at 0; SLOW_OPS has a gauge of its own', () => {
    const health = {
      json: JSON.stringify({
        status: 'HEALTH_WARN',
        checks: { SLOW_OPS: { severity: 'HEALTH_WARN', summary: { message: '12 slow ops, osd.1 has slow ops' } } },
      }),
    };
    const history = {
      SLOW_OPS: { name: 'SLOW_OPS', severity: 'HEALTH_WARN', first_seen: 1, last_seen: 1, count: 1, active: true },
      OSD_DOWN: { name: 'OSD_DOWN', severity: 'HEALTH_WARN', first_seen: 1, last_seen: 1, count: 2, active: false },
    };
    const out = parse(collectMetrics({ health, healthHistory: history }).render());
    const v = (name: string, l: Record<string, string> = {}) =>
      out.samples.find((x) => x.name === name && Object.entries(l).every(([k, val]) => x.labels[k] === val))?.value;
    expect(v('ceph_health_detail', { name: 'SLOW_OPS', severity: 'HEALTH_WARN' })).toBe(1);
    expect(v('ceph_health_detail', { name: 'OSD_DOWN' })).toBe(0);
    expect(v('ceph_healthcheck_slow_ops')).toBe(12);
    const ok = parse(collectMetrics({ health: { json: JSON.stringify({ status: 'HEALTH_OK', checks: {} }) } }).render());
    expect(ok.samples.find((x) => x.name === 'ceph_healthcheck_slow_ops')!.value).toBe(0);
  });

  it('daemon health metrics, disks and rgw as the dashboards join them', () => {
    const out = parse(
      collectMetrics({
        healthMetrics: { 'osd.1': [{ type: 'SLOW_OPS', value: 4 }] },
        osdMap: {
          osds: [0, 1].map((osd) => ({ osd, up: 1, in: 1, weight: 1, public_addr: '10.0.0.1:6801/1', cluster_addr: '10.0.0.1:6803/1' })),
          pools: [],
        },
        osdMapCrush: {
          devices: [
            { id: 0, class: 'hdd' },
            { id: 1, class: 'hdd' },
          ],
        },
        osdMetadata: Object.fromEntries(
          [0, 1].map((o) => [
            String(o),
            { osd_objectstore: 'bluestore', bluestore_bdev_dev_node: '/dev/sdb', hostname: 'node1', devices: 'sdb', device_ids: 'sdb=X_Y_Z' },
          ]),
        ),
        servers: [{ hostname: 'gw-host', services: [{ type: 'rgw', id: '4235', name: 'gw1', ceph_version: 'v' }] }],
        perfCounters: {
          'rgw.4235': {
            'rgw.req': { type: 10, value: 5, description: 'Requests' },
            'data-sync-from-zone-b.fetch bytes': { type: 6, value: 100, count: 4, description: 'Number of object bytes replicated' },
          },
        },
      }).render(),
    );
    const find = (name: string) => out.samples.filter((x) => x.name === name);
    expect(find('ceph_daemon_health_metrics')).toEqual([{ name: 'ceph_daemon_health_metrics', labels: { type: 'SLOW_OPS', ceph_daemon: 'osd.1' }, value: 4 }]);
    expect(find('ceph_disk_occupation')[1].labels).toEqual({
      ceph_daemon: 'osd.1',
      device: '/dev/sdb',
      db_device: '',
      wal_device: '',
      instance: 'node1',
      devices: 'sdb',
      device_ids: 'sdb=X_Y_Z',
    });
    // two OSDs on one disk: one human line joining them
    expect(find('ceph_disk_occupation_human').map((x) => x.labels)).toEqual([{ ceph_daemon: 'osd.0, osd.1', device: '/dev/sdb', instance: 'node1' }]);
    expect(find('ceph_rgw_metadata')[0].labels).toMatchObject({ ceph_daemon: 'rgw.gw1', instance_id: '4235', hostname: 'gw-host' });
    expect(find('ceph_rgw_req')[0].labels).toEqual({ instance_id: '4235' });
    expect(find('ceph_data_sync_from_zone_fetch_bytes_sum')[0].labels).toEqual({ instance_id: '4235', source_zone: 'zone-b' });
    expect(find('ceph_data_sync_from_zone_b_fetch_bytes_count')[0].value).toBe(4);
  });

  it('rbd images: a family per counter with pool, namespace and image', () => {
    const out = parse(
      collectMetrics({
        rbdImages: [
          {
            pool: 'rbd',
            namespace: 'ns1',
            image: 'img',
            counters: [
              [1, 0],
              [2, 0],
              [3, 0],
              [4, 0],
              [50, 5],
              [60, 6],
            ],
          },
        ],
      }).render(),
    );
    const v = (n: string) => out.samples.find((x) => x.name === n)!;
    expect(v('ceph_rbd_write_ops')).toEqual({ name: 'ceph_rbd_write_ops', labels: { pool: 'rbd', namespace: 'ns1', image: 'img' }, value: 1 });
    expect([
      v('ceph_rbd_read_bytes').value,
      v('ceph_rbd_write_latency_sum').value,
      v('ceph_rbd_write_latency_count').value,
      v('ceph_rbd_read_latency_count').value,
    ]).toEqual([4, 50, 5, 6]);
    expect(out.type.get('ceph_rbd_read_latency_sum')).toBe('counter');
  });

  it('mons, mgrs, mds and fs metadata', () => {
    expect(one('ceph_mon_quorum_status', { ceph_daemon: 'mon.a' }).value).toBe(1);
    expect(one('ceph_mon_metadata', { ceph_daemon: 'mon.a' }).labels).toMatchObject({
      hostname: 'vm',
      public_addr: '127.0.0.1',
      rank: '0',
      ceph_version: version,
    });
    expect(one('ceph_mds_metadata', { ceph_daemon: 'mds.a' }).labels).toMatchObject({ fs_id: '1', hostname: 'vm', rank: '0', ceph_version: version });
    expect(one('ceph_fs_metadata').labels).toEqual({ data_pools: '3', fs_id: '1', metadata_pool: '1', name: 'cephfs' });
    const mgrMap = fixture('mgrget-mgr_map.json');
    expect(one('ceph_mgr_status', { ceph_daemon: `mgr.${mgrMap.active_name}` }).value).toBe(1);
    expect(one('ceph_mgr_module_status', { name: 'prometheus' }).value).toBe(1);
    expect(one('ceph_mgr_module_status', { name: 'status' }).value).toBe(2);
  });

  it('perf counters: one family per path with ceph_daemon, averages as _sum/_count, time in seconds', () => {
    const perf = fixture('mgrget-get_all_perf_counters.json');
    expect(one('ceph_osd_op_w', { ceph_daemon: 'osd.0' }).value).toBe(perf['osd.0']['osd.op_w'].value);
    expect(type.get('ceph_osd_op_w')).toBe('counter');
    expect(type.get('ceph_osd_numpg')).toBe('gauge');
    expect(one('ceph_osd_op_latency_sum', { ceph_daemon: 'osd.0' }).value).toBeCloseTo(perf['osd.0']['osd.op_latency'].value / 1e9, 9);
    expect(one('ceph_osd_op_latency_count', { ceph_daemon: 'osd.0' }).value).toBe(perf['osd.0']['osd.op_latency'].count);
    expect(help.get('ceph_osd_op_latency_sum')).toBe('Latency of client operations (including queue time) Total');
    expect(samples.some((s) => s.name === 'ceph_mds_caps' && s.labels.ceph_daemon === 'mds.a')).toBe(true);
    expect(one('ceph_prometheus_collect_duration_seconds_sum', { method: 'read_inputs' }).value).toBe(0.01);
    expect(one('ceph_prometheus_collect_duration_seconds_count', { method: 'read_inputs' }).value).toBe(1);
  });

  it('leaves out the families of maps not yet published instead of failing', () => {
    // As Ceph: an OSD's status lines come with its metadata line, so they need osd_metadata too.
    const partial = parse(collectMetrics({ osdMap: input.osdMap }).render());
    expect(partial.samples.filter((s) => s.name === 'ceph_osd_up')).toHaveLength(0);
    expect(partial.samples.filter((s) => s.name === 'ceph_osd_flag_noout')).toHaveLength(1);
    const withMetadata = parse(collectMetrics({ osdMap: input.osdMap, osdMetadata: input.osdMetadata }).render());
    expect(withMetadata.samples.filter((s) => s.name === 'ceph_osd_up')).toHaveLength(3);
    expect(partial.type.has('ceph_health_status')).toBe(false);
    expect(collectMetrics({}).render()).toBe('');
  });
});
