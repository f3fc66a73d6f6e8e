// Sessions end to end: daemon-server -> real cluster-state.
import { Status } from 'nice-grpc';
import { DaemonQueryKind } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { startStack, SessionDriver, eventually } from './helpers';

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

  it('opens, gets configure, and its packed counters reach cluster-state; a bad report is rejected but the session stays', async () => {
    const s = new SessionDriver(t.client, t.admin);
    s.send({ $case: 'open', value: { daemonName: 'osd.0', serviceName: '', serviceDaemon: false, metadata: { hostname: 'h0' }, daemonStatus: {} } });
    const first = await s.response(1);
    expect(first?.msg).toEqual({ $case: 'configure', value: { statsPeriod: 5, statsThreshold: 5 } });
    // 4 slots: op_w, latency (sum, count), numpg
    s.send({
      $case: 'report',
      value: {
        declareTypes: SCHEMA,
        undeclareTypes: [],
        packed: [100, 50, 2, 7],
        daemonStatus: {},
        hasDaemonStatus: false,
        taskStatus: {},
        daemonHealthMetrics: [],
      },
    });
    const got = await eventually(
      () => counter('0', 'osd.op_w'),
      (v) => (v?.['osd.op_w'] ?? []).length > 0,
    );
    expect(got['osd.op_w'].at(-1)[1]).toBe(100);
    // Wrong length for the declared schema: rejected, counted, session kept.
    s.send({
      $case: 'report',
      value: { declareTypes: [], undeclareTypes: [], packed: [999, 1], daemonStatus: {}, hasDaemonStatus: false, taskStatus: {}, daemonHealthMetrics: [] },
    });
    s.send({
      $case: 'report',
      value: {
        declareTypes: [],
        undeclareTypes: [],
        packed: [200, 60, 3, 7],
        daemonStatus: {},
        hasDaemonStatus: false,
        taskStatus: {},
        daemonHealthMetrics: [],
      },
    });
    const later = await eventually(
      () => counter('0', 'osd.op_w'),
      (v) => v['osd.op_w'].at(-1)[1] === 200,
    );
    expect(later['osd.op_w'].map((x: number[]) => x[1])).not.toContain(999);
    const metrics = await (await fetch(`http://127.0.0.1:${t.ds.service.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/mgr_daemon_server_reports_rejected_total\{reason="schema"\} 1/);
    s.send({ $case: 'close', value: {} });
    s.end();
    expect(await s.ended).toBeNull();
  });

  it('forwards pg stats so they reach pg_summary, and rejects pg stats that do not parse', async () => {
    const drivers = [0, 1, 2].map((i) => {
      const s = new SessionDriver(t.client, t.admin);
      s.send({ $case: 'open', value: { daemonName: `osd.${i}`, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
      s.send({ $case: 'pgStats', value: { epoch: 1, json: Buffer.from('{not json') } }); // refused here
      s.send({ $case: 'pgStats', value: { epoch: 1, json: Buffer.from('{"shaped": like an object}') } }); // refused by cluster-state
      s.send({ $case: 'pgStats', value: { epoch: t.sim.epoch, json: Buffer.from(JSON.stringify(t.sim.osdPgStats(i, 1795585000))) } });
      return s;
    });
    const summary = await eventually(
      async () => JSON.parse(Buffer.from((await t.csClient.get({ what: 'pg_summary' })).json).toString()),
      (v) => Object.values(v.all ?? {}).reduce((a: number, n) => a + Number(n), 0) > 0,
    );
    const total = Object.values(summary.all).reduce((a: number, n) => a + Number(n), 0);
    expect(total).toBe(t.sim.osdMap().pools.reduce((a: number, p: any) => a + p.pg_num, 0));
    const metrics = await eventually(
      async () => (await fetch(`http://127.0.0.1:${t.ds.service.metricsPort}/metrics`)).text(),
      (m) => /mgr_daemon_server_upstream_rejected_total\{kind="pg_stats"\} 3/.test(m),
    );
    expect(metrics).toMatch(/mgr_daemon_server_reports_rejected_total\{reason="pg_stats_json"\} 3/);
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
      { metadata: t.admin },
    );
    expect(res.result?.retcode).toBe(0);
    const second = await s.response(2);
    expect(second?.msg).toEqual({ $case: 'configure', value: { statsPeriod: 2, statsThreshold: 5 } });
    const bad = await t.client.command(
      { prefix: 'config set', args: JSON.stringify({ key: 'mgr_stats_period', value: 'soon' }), inbuf: Buffer.alloc(0) },
      { metadata: t.admin },
    );
    expect(bad.result?.retcode).toBe(-22);
    await t.client.command(
      { prefix: 'config set', args: JSON.stringify({ key: 'mgr_stats_period', value: '5' }), inbuf: Buffer.alloc(0) },
      { metadata: t.admin },
    );
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
