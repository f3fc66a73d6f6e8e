// Sessions end to end: daemon-server -> real cluster-state.
import { Status } from 'nice-grpc';
import { DaemonQueryKind } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { startStack, SessionDriver, eventually } from './helpers';
import { CounterLayout, packCounterValues } from '../../../lib/counter-values';
import { encodePgStatsFrame } from '../../../lib/session-wire';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';

type Stack = Awaited<ReturnType<typeof startStack>>;

const SCHEMA = [
  { path: 'osd.op_w', description: 'writes', nick: 'w', type: 2 | 8, priority: 8, units: 0 },
  { path: 'osd.op_r_latency', description: 'read latency', nick: 'rl', type: 1 | 4, priority: 5, units: 0 },
  { path: 'osd.numpg', description: 'pgs', nick: 'pg', type: 2, priority: 5, units: 0 },
];

describe('daemon sessions', () => {
  let t: Stack;
  beforeAll(async () => {
    t = await startStack();
  });
  afterAll(() => t.close());

  const counter = async (svcId: string, path: string) => {
    const res = await t.csClient.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, svcType: 'osd', svcId, path, services: [] });
    return JSON.parse(Buffer.from(res.json).toString('utf8'));
  };

  const layout = new CounterLayout(SCHEMA.map((c) => [c.path, c.type]));
  const report = (values?: Buffer, declareTypes: typeof SCHEMA = []) => ({
    $case: 'report' as const,
    value: {
      declareTypes,
      undeclareTypes: [],
      packed: [],
      counterValues: values,
      daemonStatus: {},
      hasDaemonStatus: false,
      taskStatus: {},
      daemonHealthMetrics: [],
    },
  });

  it('opens, gets configure, and its counter values reach cluster-state exactly; a bad report is rejected but the session stays', async () => {
    const s = new SessionDriver(t.client, t.admin);
    s.send({ $case: 'open', value: { daemonName: 'osd.0', serviceName: '', serviceDaemon: false, metadata: { hostname: 'h0' }, daemonStatus: {} } });
    const first = await s.response(1);
    expect(first?.msg).toEqual({ $case: 'configure', value: { statsPeriod: 5, statsThreshold: 5 } });
    // Ceph's layout: numpg, op_r_latency (sum, avgcount, avgcount2), op_w
    s.send(report(packCounterValues(layout, { 'osd.op_w': 100, 'osd.op_r_latency': [50, 2], 'osd.numpg': 7 }), SCHEMA));
    const got = await eventually(
      () => counter('0', 'osd.op_w'),
      (v) => (v?.['osd.op_w'] ?? []).length > 0,
    );
    expect(got['osd.op_w'].at(-1)[1]).toBe(100);
    // Wrong length for the declared schema: rejected, counted, session kept.
    s.send(report(packCounterValues(new CounterLayout([['osd.op_w', 10]]), { 'osd.op_w': 999 })));
    // A value above 2^53 (2^64 - 1): neither ends the session nor loses a digit.
    s.send(report(packCounterValues(layout, { 'osd.op_w': 2n ** 64n - 1n, 'osd.op_r_latency': [2n ** 60n + 3n, 9], 'osd.numpg': 7 })));
    const text = await eventually(
      async () =>
        Buffer.from(
          (await t.csClient.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, svcType: 'osd', svcId: '0', path: 'osd.op_w', services: [] })).json,
        ).toString(),
      (v) => v.includes('18446744073709551615'),
    );
    expect(text).toMatch(/,100\],\[[\d.]+,18446744073709551615\]\]\}$/);
    const latency = Buffer.from(
      (
        await t.csClient.queryDaemons({
          kind: DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER,
          svcType: 'osd',
          svcId: '0',
          path: 'osd.op_r_latency',
          services: [],
        })
      ).json,
    ).toString();
    expect(latency).toMatch(/^\{"osd.op_r_latency":\[[\d.]+,1152921504606846979,9\]\}$/);
    const metrics = await (await fetch(`http://127.0.0.1:${t.ds.service.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/mgr_daemon_server_reports_rejected_total\{reason="schema"\} 1/);
    s.send({ $case: 'close', value: {} });
    s.end();
    expect(await s.ended).toBeNull();
  });

  it('refuses the deprecated forms with INVALID_ARGUMENT, and a message that does not decode', async () => {
    const open = (s: SessionDriver, name: string) =>
      s.send({ $case: 'open', value: { daemonName: name, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
    const old = new SessionDriver(t.client, t.admin);
    open(old, 'osd.1');
    old.send({ $case: 'report', value: { ...report().value, declareTypes: SCHEMA, packed: [1, 2, 3, 4] } });
    const e1: any = await old.ended;
    expect(e1.code).toBe(Status.INVALID_ARGUMENT);
    expect(e1.details).toMatch(/SessionReport.packed .* is no longer accepted: send counter_values/);
    const json = new SessionDriver(t.client, t.admin);
    open(json, 'osd.1');
    json.send({ $case: 'pgStats', value: { epoch: 1, json: Buffer.from('{}') } });
    const e2: any = await json.ended;
    expect(e2.code).toBe(Status.INVALID_ARGUMENT);
    expect(e2.details).toMatch(/SessionPgStats.json is no longer accepted: send report/);
    const bad = new SessionDriver(t.client, t.admin);
    open(bad, 'osd.1');
    bad.sendRaw(Buffer.from([0x12, 0x7f, 0x01])); // a report of 127 bytes, 1 present
    const e3: any = await bad.ended;
    expect(e3.code).toBe(Status.INVALID_ARGUMENT);
    expect(e3.details).toMatch(/does not decode/);
  });

  it('forwards pg stats untouched: every PG reaches cluster-state as the OSD reported it; a report that does not decode is refused upstream', async () => {
    const T = 1795585000;
    const drivers = [0, 1, 2].map((i) => {
      const s = new SessionDriver(t.client, t.admin);
      s.send({ $case: 'open', value: { daemonName: `osd.${i}`, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
      s.sendRaw(encodePgStatsFrame(1, Buffer.from([0x0a, 0x05, 0x0a]))); // truncated: refused by cluster-state
      s.send({ $case: 'pgStats', value: { epoch: t.sim.epoch, json: Buffer.alloc(0), report: pgStatsReportFromJson(t.sim.osdPgStats(i, T)) } });
      return s;
    });
    const pgs = await eventually(
      async () => JSON.parse(Buffer.from((await t.csClient.get({ what: 'pg_stats' })).json).toString()).pg_stats,
      (v: any[]) => v.length === t.sim.pgs.length,
    );
    const sent = Object.assign({}, ...[0, 1, 2].map((i) => t.sim.osdPgStats(i, T).pg_stat));
    expect(Object.fromEntries(pgs.map((p: any) => [p.pgid, p]))).toEqual(sent);
    const osdStats = JSON.parse(Buffer.from((await t.csClient.get({ what: 'osd_stats' })).json).toString()).osd_stats;
    for (const i of [0, 1, 2]) {
      const { kb, kb_avail, kb_used, ...rest } = t.sim.osdPgStats(i, T).osd_stat;
      expect(osdStats.find((o: any) => o.osd === i)).toEqual({ ...rest, kb, kb_avail, kb_used, osd: i });
    }
    const metrics = await eventually(
      async () => (await fetch(`http://127.0.0.1:${t.ds.service.metricsPort}/metrics`)).text(),
      (m) => /mgr_daemon_server_upstream_rejected_total\{kind="pg_stats"\} 3/.test(m),
    );
    expect(metrics).toMatch(/mgr_daemon_server_forwarded_total\{kind="pg_stats"\} 3/);
    for (const s of drivers) s.end();
    await Promise.all(drivers.map((d) => d.ended));
  });

  it('refuses a report before open with FAILED_PRECONDITION, and bad daemon names with INVALID_ARGUMENT', async () => {
    const s = new SessionDriver(t.client, t.admin);
    s.send({
      $case: 'report',
      value: { declareTypes: [], undeclareTypes: [], packed: [], daemonStatus: {}, hasDaemonStatus: false, taskStatus: {}, daemonHealthMetrics: [] },
    });
    const err: any = await s.ended;
    expect(err.code).toBe(Status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/open .*first/);
    for (const bad of ['osd', 'osd.x', '', 'OSD.1', 'a b.c']) {
      const b = new SessionDriver(t.client, t.admin);
      b.send({ $case: 'open', value: { daemonName: bad, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
      const e: any = await b.ended;
      expect(e.code).toBe(Status.INVALID_ARGUMENT);
      expect(e.details).toMatch(/<type>\.<id>|whole number|empty/);
    }
  });

  it('a second open for the same daemon replaces the first, which ends cleanly', async () => {
    const a = new SessionDriver(t.client, t.admin);
    a.send({ $case: 'open', value: { daemonName: 'mds.a', serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
    await a.response(1);
    const b = new SessionDriver(t.client, t.admin);
    b.send({ $case: 'open', value: { daemonName: 'mds.a', serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
    await b.response(1);
    expect(await a.ended).toBeNull();
    expect(t.ds.sessions.sessionCount).toBeGreaterThanOrEqual(1);
    b.end();
    await b.ended;
  });

  it('pushes a new configure to open sessions after `config set mgr_stats_period`', async () => {
    const s = new SessionDriver(t.client, t.admin);
    s.send({ $case: 'open', value: { daemonName: 'osd.2', serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
    await s.response(1);
    const res = await t.client.command(
      { prefix: 'config set', args: JSON.stringify({ key: 'mgr_stats_period', value: '2' }), inbuf: Buffer.alloc(0) },
      t.admin,
    );
    expect(res.result?.retcode).toBe(0);
    const second = await s.response(2);
    expect(second?.msg).toEqual({ $case: 'configure', value: { statsPeriod: 2, statsThreshold: 5 } });
    const bad = await t.client.command(
      { prefix: 'config set', args: JSON.stringify({ key: 'mgr_stats_period', value: 'soon' }), inbuf: Buffer.alloc(0) },
      t.admin,
    );
    expect(bad.result?.retcode).toBe(-22);
    await t.client.command({ prefix: 'config set', args: JSON.stringify({ key: 'mgr_stats_period', value: '5' }), inbuf: Buffer.alloc(0) }, t.admin);
    s.end();
    await s.ended;
  });

  it('refuses sessions without credentials or with caps that do not allow daemons', async () => {
    const none = new SessionDriver(t.client, t.creds('client.admin', 'wrong'));
    none.send({ $case: 'open', value: { daemonName: 'osd.1', serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
    expect(((await none.ended) as any).code).toBe(Status.UNAUTHENTICATED);
    const ro = new SessionDriver(t.client, t.creds('client.ro'));
    ro.send({ $case: 'open', value: { daemonName: 'osd.1', serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
    const e: any = await ro.ended;
    expect(e.code).toBe(Status.PERMISSION_DENIED);
    expect(e.details).toMatch(/access denied/);
  });
});
