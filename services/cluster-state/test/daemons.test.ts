// Daemon state: reports built from the fixtures' metadata and counter
// schemas, then the module-API views compared with what Ceph returned.
import { Status } from 'nice-grpc';
import { DaemonQueryKind, PerfCounterType, DaemonReport } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { shapeDiff } from '../../../lib/testing/shape';
import { startTestServer, fixture, parse, failure } from './helpers';
import { counterSchemaHash } from '../../../lib/shared-schema';
import { CounterLayout, packCounterValues } from '../../../lib/counter-values';
import { DaemonIndex } from '../domain/daemons';

const schema = fixture('mgrget-get_perf_schema-osd-0.json')['osd.0'];
const declare: PerfCounterType[] = Object.entries<any>(schema).map(([path, s]) => ({
  path,
  description: s.description,
  nick: s.nick ?? '',
  type: s.type,
  priority: s.priority,
  units: s.units,
}));
const slots = declare.reduce((n, t) => n + (t.type & 4 ? 2 : 1), 0);

function report(daemon: string, extra: Partial<DaemonReport> = {}): DaemonReport {
  return {
    daemon,
    opened: false,
    serviceName: '',
    serviceDaemon: false,
    metadata: {},
    declare: [],
    undeclare: [],
    values: [],
    stamp: 0,
    status: {},
    hasStatus: false,
    taskStatus: {},
    healthMetrics: [],
    closed: false,
    ...extra,
  };
}
const values = (base: number) => Array.from({ length: slots }, (_, i) => base + i);

describe('cluster-state daemons', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  const query = async (kind: DaemonQueryKind, q: Record<string, unknown> = {}) =>
    parse((await t.client.queryDaemons({ kind, svcType: '', svcId: '', hostname: '', path: '', services: [], ...q })).json);
  beforeAll(async () => {
    t = await startTestServer();
    const res = await t.client.reportDaemons({
      reports: [
        report('osd.0', { opened: true, metadata: fixture('mgrget-get_metadata-osd-0.json'), declare, values: values(100), stamp: 1795585632.5 }),
        report('mds.a', { opened: true, metadata: fixture('mgrget-get_metadata-mds-a.json') }),
        report('mon.a', { opened: true, metadata: fixture('mgrget-get_metadata-mon-a.json'), healthMetrics: [{ type: 'SLOW_OPS', value: 2 }] }),
      ],
    });
    expect(res).toEqual({ applied: 3, rejected: [], unknownSchemas: [], instance: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });
  afterAll(() => t.close());

  it("without a put service map, get('service_map') is the one the service daemons' sessions make, as Ceph's manager builds it", async () => {
    const get = async () => parse((await t.client.get({ what: 'service_map' })).json);
    expect((await get()).services).toEqual({});
    const md = { zone_name: 'default', frontend_type: 'beast' };
    await t.client.reportDaemons({ reports: [report('rgw.gw1', { opened: true, serviceName: 'rgw', serviceDaemon: true, metadata: md })] });
    const map = await get();
    expect(shapeDiff(map, fixture('service-dump.json'), { mapPaths: ['$.services'] })).toEqual([]);
    expect(map.epoch).toBeGreaterThan(0);
    expect(Object.keys(map.services)).toEqual(['rgw']);
    expect(map.services.rgw.daemons.gw1).toMatchObject({ metadata: md, task_status: {} });
    expect(map.services.rgw.daemons.gw1.start_stamp).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+\+0000$/);
    await t.client.reportDaemons({ reports: [report('rgw.gw1', { closed: true })] });
    expect((await get()).services).toEqual({});
  });

  it('answers get_metadata and get_perf_schema as Ceph', async () => {
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_METADATA, { svcType: 'osd', svcId: '0' })).toEqual(fixture('mgrget-get_metadata-osd-0.json'));
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_METADATA, { svcType: 'osd', svcId: '99' })).toBeNull();
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, { svcType: 'osd', svcId: '0' })).toEqual(fixture('mgrget-get_perf_schema-osd-0.json'));
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_STATUS, { svcType: 'osd', svcId: '0' })).toEqual(fixture('mgrget-get_daemon_status-osd-0.json'));
  });

  it('answers get_server and list_servers in their shapes', async () => {
    const server = await query(DaemonQueryKind.DAEMON_QUERY_KIND_SERVER, { hostname: 'vm' });
    expect(shapeDiff(server, fixture('mgrget-get_server.json'))).toEqual([]);
    expect(server.services.map((s: any) => `${s.type}.${s.id}`)).toEqual(['mds.a', 'mon.a', 'osd.0']);
    expect(shapeDiff(await query(DaemonQueryKind.DAEMON_QUERY_KIND_LIST_SERVERS), fixture('mgrget-list_servers.json'))).toEqual([]);
  });

  it('keeps the last 20 samples and serves get_counter / get_latest_counter', async () => {
    const opW = declare.findIndex((d) => d.path === 'osd.op_w');
    const slot = declare.slice(0, opW).reduce((n, t) => n + (t.type & 4 ? 2 : 1), 0);
    for (let i = 1; i <= 25; i++) {
      const res = await t.client.reportDaemons({ reports: [report('osd.0', { values: values(100 + i), stamp: 1795585632.5 + 5 * i })] });
      expect(res.applied).toBe(1);
    }
    const counter = await query(DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, { svcType: 'osd', svcId: '0', path: 'osd.op_w' });
    expect(shapeDiff(counter, fixture('mgrget-get_counter-osd-0-osd.op_w.json'))).toEqual([]);
    expect(counter['osd.op_w']).toHaveLength(20);
    expect(counter['osd.op_w'][19]).toEqual([1795585632.5 + 125, 125 + slot]);
    const latest = await query(DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER, { svcType: 'osd', svcId: '0', path: 'osd.op_w' });
    expect(latest).toEqual({ 'osd.op_w': [1795585632.5 + 125, 125 + slot] });
    expect(shapeDiff(latest, fixture('mgrget-get_latest_counter-osd-0-osd.op_w.json'))).toEqual([]);
  });

  it('answers get_all_perf_counters in its shape, averages with their count', async () => {
    const all = await query(DaemonQueryKind.DAEMON_QUERY_KIND_ALL_PERF_COUNTERS);
    const ref = fixture('mgrget-get_all_perf_counters.json');
    // Keys are daemon and counter names; each counter must look like one of Ceph's
    // (with or without a nick, an average with its count).
    const refCounters = Object.values<any>(ref['osd.0']);
    for (const [path, c] of Object.entries<any>(all['osd.0'])) {
      expect([path, shapeDiff([c], refCounters)]).toEqual([path, []]);
      expect('count' in c).toBe(!!(c.type & 4));
      expect(c.priority).toBeGreaterThanOrEqual(5);
    }
    expect(Object.keys(all['osd.0']).length).toBe(declare.filter((d) => d.priority >= 5).length);
    expect(Object.keys(all['osd.0'])).toContain('osd.op_latency');
  });

  it('rejects a values array that does not fit the schema, applying nothing for that daemon', async () => {
    const before = await query(DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER, { svcType: 'osd', svcId: '0', path: 'osd.op_w' });
    const res = await t.client.reportDaemons({
      reports: [
        report('osd.0', { values: [1, 2, 3], stamp: 1795590000 }),
        report('nodot'),
        report('mds.a', { hasStatus: true, status: { state: 'up:active' } }),
      ],
    });
    expect(res.applied).toBe(1);
    expect(res.rejected).toEqual([
      expect.stringMatching(/osd.0: 3 values for a schema of \d+ counters taking \d+ slots/),
      expect.stringMatching(/'nodot': a daemon name is <type>.<id>/),
    ]);
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER, { svcType: 'osd', svcId: '0', path: 'osd.op_w' })).toEqual(before);
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_STATUS, { svcType: 'mds', svcId: 'a' })).toEqual({ state: 'up:active' });
  });

  it('serves health metrics and lists daemons', async () => {
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_HEALTH_METRICS)).toEqual({ 'mon.a': [{ type: 'SLOW_OPS', value: 2 }] });
    const { daemons } = await t.client.listDaemons({ type: 'osd' });
    expect(daemons.map((d) => [d.daemon, d.hostname, d.counters])).toEqual([['osd.0', 'vm', declare.length]]);
  });

  it('marks daemons stale, raising MGR_DAEMON_STALE, and fresh again', async () => {
    expect((await t.client.setDaemonsStale({ stale: ['osd.0', 'mds.a'], fresh: [] })).staleCount).toBe(2);
    let health = JSON.parse(parse((await t.client.get({ what: 'health' })).json).json);
    expect(health.status).toBe('HEALTH_WARN');
    expect(health.checks.MGR_DAEMON_STALE.summary.count).toBe(2);
    expect((await t.client.setDaemonsStale({ stale: [], fresh: ['osd.0', 'mds.a'] })).staleCount).toBe(0);
    health = JSON.parse(parse((await t.client.get({ what: 'health' })).json).json);
    expect(health.checks.MGR_DAEMON_STALE).toBeUndefined();
    expect((await failure(t.client.setDaemonsStale({ stale: ['bogus'], fresh: [] }))).code).toBe(Status.INVALID_ARGUMENT);
  });

  it('opened forgets counters and the schema', async () => {
    await t.client.reportDaemons({ reports: [report('osd.0', { opened: true })] });
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, { svcType: 'osd', svcId: '0' })).toEqual({ 'osd.0': {} });
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, { svcType: 'osd', svcId: '0', path: 'osd.op_w' })).toEqual({ 'osd.op_w': [] });
  });

  it('answers bad queries with INVALID_ARGUMENT', async () => {
    const unspecified = await failure(t.client.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_UNSPECIFIED }));
    expect(unspecified.code).toBe(Status.INVALID_ARGUMENT);
    expect(unspecified.message).toMatch(/not a daemon query/);
    expect((await failure(t.client.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_METADATA, svcType: 'osd' }))).message).toMatch(
      /svc_type and svc_id are required/,
    );
    expect((await failure(t.client.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, svcType: 'osd', svcId: '0' }))).message).toMatch(
      /path is required/,
    );
  });
  it("keeps a counter's samples when a new session re-declares it with the same type (a manager failover)", async () => {
    const opW = declare.find((d) => d.path === 'osd.op_w')!;
    const first = [report('osd.7', { opened: true, declare: [opW], values: [1], stamp: 1000 }), report('osd.7', { values: [2], stamp: 1005 })];
    expect((await t.client.reportDaemons({ reports: first })).applied).toBe(2);
    // Reconnected (to another daemon-server): the open, then the same
    // counter declared again with the same type in a later report.
    await t.client.reportDaemons({ reports: [report('osd.7', { opened: true })] });
    await t.client.reportDaemons({ reports: [report('osd.7', { declare: [opW], values: [3], stamp: 1010 })] });
    const kept = await query(DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, { svcType: 'osd', svcId: '7', path: 'osd.op_w' });
    expect(kept['osd.op_w']).toEqual([
      [1000, 1],
      [1005, 2],
      [1010, 3],
    ]);
    // Re-declared with another type: the old samples mean something else now.
    await t.client.reportDaemons({ reports: [report('osd.7', { opened: true, declare: [{ ...opW, type: opW.type ^ 1 }], values: [9], stamp: 1015 })] });
    const reset = await query(DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, { svcType: 'osd', svcId: '7', path: 'osd.op_w' });
    expect(reset['osd.op_w']).toEqual([[1015, 9]]);
  });

  it('keeps one schema per content hash: declared in full once, named by the hash after, values exact; an unknown or wrong hash is refused', async () => {
    const schema = declare.slice(0, 6);
    const hash = counterSchemaHash(schema);
    const layout = new CounterLayout(schema.map((c) => [c.path, c.type]));
    const packed = (base: bigint) =>
      packCounterValues(layout, Object.fromEntries(schema.map((c, i) => [c.path, c.type & 4 ? [base + BigInt(i), 3] : base + BigInt(i)])));
    const full = report('osd.20', { opened: true, declare: schema, schemaHash: hash, counterValues: packed(2n ** 63n), stamp: 2000 });
    const named = report('osd.21', { opened: true, schemaHash: hash, counterValues: packed(2n ** 64n - 10n), stamp: 2000 });
    expect(await t.client.reportDaemons({ reports: [full, named] })).toMatchObject({ applied: 2, rejected: [], unknownSchemas: [] });
    const schemaOf = async (id: string) =>
      Object.keys((await query(DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, { svcType: 'osd', svcId: id }))[`osd.${id}`]);
    expect(await schemaOf('21')).toEqual(await schemaOf('20'));
    expect((await schemaOf('21')).sort()).toEqual(schema.map((c) => c.path).sort());
    const path = schema.find((c) => !(c.type & 4))!.path;
    const latest = Buffer.from(
      (await t.client.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER, svcType: 'osd', svcId: '21', path, services: [] })).json,
    ).toString();
    expect(latest).toContain(String(2n ** 64n - 10n + BigInt(schema.findIndex((c) => c.path === path))));
    // a hash nobody declared: refused and listed, so daemon-server sends it in full
    const other = Buffer.alloc(32, 7);
    const res = await t.client.reportDaemons({ reports: [report('osd.22', { opened: true, schemaHash: other })] });
    expect(res.applied).toBe(0);
    expect(res.unknownSchemas).toEqual([other]);
    expect(res.rejected[0]).toMatch(/osd\.22: counter schema 0707.* is not held here; declare it in full/);
    // a declaration that is not what its hash names
    const wrong = await t.client.reportDaemons({ reports: [report('osd.23', { opened: true, declare: schema.slice(1), schemaHash: hash })] });
    expect(wrong.rejected[0]).toMatch(/osd\.23: schema_hash .* is not the hash of the 5 counters declared/);
  });
});

describe('daemon index: health metrics', () => {
  it('keeps the same metrics reported again as they were (no copy, no change), and takes changed ones', () => {
    const index = new DaemonIndex();
    const slow = (n: number) => [
      { type: 'SLOW_OPS', value: n },
      { type: 'PENDING_CREATING_PGS', value: 0 },
    ];
    expect(index.apply([report('osd.1', { opened: true, healthMetrics: slow(0) })], 1).healthMetricsChanged).toBe(true);
    const kept = index.daemons.get('osd.1')!.healthMetrics;
    expect(index.apply([report('osd.1', { healthMetrics: slow(0) })], 2).healthMetricsChanged).toBe(false);
    expect(index.daemons.get('osd.1')!.healthMetrics).toBe(kept);
    expect(index.apply([report('osd.1', { healthMetrics: slow(3) })], 3).healthMetricsChanged).toBe(true);
    expect(index.slowOps()).toEqual([['osd.1', 3]]);
    expect(index.apply([report('osd.1')], 4).healthMetricsChanged).toBe(true);
    expect(index.daemons.get('osd.1')!.healthMetrics).toEqual([]);
    expect(index.slowOps()).toEqual([]);
  });
});
