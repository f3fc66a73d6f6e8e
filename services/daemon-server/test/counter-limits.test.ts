// Limits on declared counters on both doors (issue 21, finding 3): per
// session, name length and all sessions together, against a real
// daemon-server and cluster-state with small limits. A declaration past a
// limit ends its session with a reason naming the setting (gRPC:
// RESOURCE_EXHAUSTED; msgr2: the connection closed, counted by reason), and
// nothing of it reaches cluster-state; the daemons refused are a health
// check naming them; a session that ends gives its counters back to the
// total.
import { RotatingKeys } from '../../../lib/ceph/cephx/rotating';
import { cephxServiceSession } from '../../../lib/ceph/cephx/service-session';
import { freshRotatingSecrets, issueTicket } from '../../../lib/ceph/testing/issuer';
import { mMgrReport } from '../../../lib/ceph/messages/mgr';
import { packCounters, type PerfCounterType } from '../../../lib/ceph/messages/perf-counters';
import { EntityType } from '../../../lib/ceph/types';
import { DaemonQueryKind } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { createLogger } from '../../../lib/log';
import { MgrDaemonClient } from '../../../lib/testing/mgr-daemon-client';
import { until } from '../../../lib/testing/wait';
import { fakeCephSession, SessionDriver, startStack } from './helpers';

const logger = createLogger({ test: 'counter-limits' }, 'error');
const LIMITS = { maxCounters: 50, maxCountersTotal: 120, maxCounterNameBytes: 32 };

/** n counters named `<prefix>.c<i>`. */
const counters = (n: number, prefix = 'osd') =>
  Array.from({ length: n }, (_, i) => ({ path: `${prefix}.c${i}`, description: 'd', nick: '', type: 2, priority: 5 }));

describe('limits on declared counters, both doors', () => {
  let t: Awaited<ReturnType<typeof startStack>>;
  const secrets = freshRotatingSecrets();
  const keys = new RotatingKeys(EntityType.MGR);
  keys.set(secrets);
  beforeAll(async () => {
    t = await startStack({ ceph: fakeCephSession(keys, []), msgr2Port: 0, ...LIMITS });
  });
  afterAll(() => t.close());

  const metrics = async () => (await fetch(`http://127.0.0.1:${t.ds.service.metricsPort}/metrics`)).text();
  const schemaOf = async (type: string, id: string) =>
    JSON.parse(
      Buffer.from(
        (await t.csClient.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, svcType: type, svcId: id, path: '', services: [] })).json,
      ).toString('utf8'),
    );

  /** A gRPC session for osd.<id> declaring `declare`; resolves with how the stream ended (null: still open after its configure). */
  const grpcDeclare = async (id: number, declare: ReturnType<typeof counters>) => {
    const s = new SessionDriver(t.client, t.admin);
    s.send({ $case: 'open', value: { daemonName: `osd.${id}`, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
    await s.response(1);
    s.send({
      $case: 'report',
      value: {
        declareTypes: declare.map((c) => ({ ...c, units: 1 })),
        undeclareTypes: [],
        packed: [],
        daemonStatus: {},
        hasDaemonStatus: false,
        taskStatus: {},
        daemonHealthMetrics: [],
      },
    });
    return s;
  };
  let gid = 100n;
  /** An msgr2 session (our client as Ceph's MgrClient) for osd.<id> declaring `declare`. */
  const msgr2Declare = async (id: number, declare: ReturnType<typeof counters>) => {
    const globalId = gid++;
    const ticket = issueTicket({ name: { type: EntityType.OSD, id: String(id) }, globalId, serviceId: EntityType.MGR, cap: 'allow profile osd', secrets });
    const c = await MgrDaemonClient.connect({
      host: '127.0.0.1',
      port: t.ds.msgr2!.port,
      auth: cephxServiceSession({ globalId, ticket }),
      entityType: EntityType.OSD,
      globalId,
      logger,
    });
    c.open({ daemonName: String(id) });
    await c.configured;
    const types: PerfCounterType[] = declare.map((x) => ({ ...x, unit: 1 }));
    c.send(
      mMgrReport({
        daemonName: String(id),
        declareTypes: types,
        undeclareTypes: [],
        packed: packCounters(
          [...types].sort((a, b) => (a.path < b.path ? -1 : 1)),
          new Map(),
        ),
        serviceName: '',
        daemonHealthMetrics: [],
        configBl: Buffer.alloc(0),
        osdPerfMetricReports: [],
      }),
    );
    return c;
  };

  it('gRPC: more counters than MGR_MAX_COUNTERS, or a name longer than MGR_MAX_COUNTER_NAME_BYTES, end the session with the reason', async () => {
    const many = await grpcDeclare(1, counters(51));
    expect(await many.ended).toMatchObject({
      code: 8,
      details: expect.stringMatching(/osd\.1 declares 51 counters, more than the 50 a session may \(MGR_MAX_COUNTERS/),
    });
    const long = await grpcDeclare(2, [{ ...counters(1)[0], path: `osd.${'x'.repeat(40)}` }]);
    expect(await long.ended).toMatchObject({
      code: 8,
      details: expect.stringMatching(/path or nick of 44 bytes, more than 32 \(MGR_MAX_COUNTER_NAME_BYTES\)/),
    });
    const description = await grpcDeclare(3, [{ ...counters(1)[0], description: 'd'.repeat(200) }]);
    expect(await description.ended).toMatchObject({ code: 8, details: expect.stringMatching(/description of 200 bytes, more than 128/) });
    expect(await metrics()).toMatch(/mgr_daemon_server_sessions_refused_total\{reason="counter_limit"\} 3/);
    for (const id of ['1', '2', '3']) expect((await schemaOf('osd', id))[`osd.${id}`] ?? {}).toEqual({}); // opened, nothing declared
  });

  it('msgr2: the same limits end the connection, counted by reason', async () => {
    const many = await msgr2Declare(4, counters(51));
    expect(await many.closed).toBeDefined();
    const long = await msgr2Declare(5, [{ ...counters(1)[0], nick: 'n'.repeat(33) }]);
    expect(await long.closed).toBeDefined();
    expect(await metrics()).toMatch(/mgr_daemon_server_msgr2_sessions_ended_total\{reason="counter_limit"\} 2/);
    for (const id of ['4', '5']) expect((await schemaOf('osd', id))[`osd.${id}`] ?? {}).toEqual({});
  });

  it('the daemons refused are the health check DAEMON_COUNTER_LIMIT, each named with its reason', async () => {
    const health = await until('DAEMON_COUNTER_LIMIT in cluster-state', async () => {
      // as Ceph's get('health'): {"json": "<the health as JSON text>"}
      const h = JSON.parse(JSON.parse(Buffer.from((await t.csClient.get({ what: 'health' })).json).toString('utf8')).json);
      return h.checks?.DAEMON_COUNTER_LIMIT?.summary?.count === 5 && h;
    });
    expect(health.status).toBe('HEALTH_WARN');
    const check = health.checks.DAEMON_COUNTER_LIMIT;
    expect(check).toMatchObject({
      severity: 'HEALTH_WARN',
      summary: { message: '5 daemons refused: more perf counters declared than this manager allows', count: 5 },
    });
    const details = check.detail.map((d: { message: string }) => d.message);
    for (const id of [1, 2, 3, 4, 5]) expect(details.filter((m: string) => m.startsWith(`osd.${id} declares`))).toHaveLength(1);
    expect(details.join('\n')).toMatch(/MGR_MAX_COUNTERS\b[\s\S]*MGR_MAX_COUNTER_NAME_BYTES/);
  });

  it('MGR_MAX_COUNTERS_TOTAL bounds all sessions of both doors together; an ended session gives its counters back', async () => {
    const a = await grpcDeclare(10, counters(50));
    const b = await msgr2Declare(11, counters(50));
    await until(
      'both sessions declared in cluster-state',
      async () =>
        Object.keys((await schemaOf('osd', '10'))['osd.10'] ?? {}).length === 50 && Object.keys((await schemaOf('osd', '11'))['osd.11'] ?? {}).length === 50,
    );
    // 100 declared: 30 more would make 130
    const c = await grpcDeclare(12, counters(30));
    expect(await c.ended).toMatchObject({
      code: 8,
      details: expect.stringMatching(/osd\.12 declares 30 counters: all sessions would hold 130, more than 120 \(MGR_MAX_COUNTERS_TOTAL\)/),
    });
    const d = await msgr2Declare(13, counters(30));
    expect(await d.closed).toBeDefined();
    // osd.10 goes: its 50 are free again
    a.send({ $case: 'close', value: {} });
    a.end();
    await a.ended;
    const again = await grpcDeclare(12, counters(30));
    await until('osd.12 declared once osd.10 left', async () => Object.keys((await schemaOf('osd', '12'))['osd.12'] ?? {}).length === 30);
    let ended = false;
    void again.ended.then(() => (ended = true));
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    again.end();
    b.close();
  });
});
