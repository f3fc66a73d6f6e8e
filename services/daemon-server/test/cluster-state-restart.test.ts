// cluster-state restarts under a running stack (issue 21, finding 1): it
// keeps daemons' counter schemas in memory only, so the new one would refuse
// every values-only report until the daemons reconnected. daemon-server
// sees the new run (ReportDaemonsResponse.instance) and declares every open
// session again on the daemons' behalf, on both doors: here two gRPC
// sessions (an OSD, a service daemon with metadata and status) and one
// msgr2 OSD keep reporting values only, and all their counters, schemas
// and metadata are back in the new cluster-state with no session ended.
import { RotatingKeys } from '../../../lib/ceph/cephx/rotating';
import { cephxServiceSession } from '../../../lib/ceph/cephx/service-session';
import { freshRotatingSecrets, issueTicket } from '../../../lib/ceph/testing/issuer';
import { mMgrReport } from '../../../lib/ceph/messages/mgr';
import { CounterType, packCounters, type PerfCounterType } from '../../../lib/ceph/messages/perf-counters';
import { EntityType } from '../../../lib/ceph/types';
import { CounterLayout, packCounterValues } from '../../../lib/counter-values';
import { DaemonQueryKind } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { createLogger } from '../../../lib/log';
import { MgrDaemonClient } from '../../../lib/testing/mgr-daemon-client';
import { until } from '../../../lib/testing/wait';
import { startClusterState } from '../../cluster-state/server';
import { fakeCephSession, SessionDriver, startStack } from './helpers';

const logger = createLogger({ test: 'cluster-state-restart' }, 'error');

const GRPC_SCHEMA = [
  { path: 'osd.op_w', description: 'writes', nick: 'w', type: CounterType.U64 | CounterType.COUNTER, priority: 8, units: 1 },
  { path: 'osd.op_r_latency', description: 'read latency', nick: 'rl', type: CounterType.TIME | CounterType.LONGRUNAVG, priority: 5, units: 1 },
];
const GRPC_LAYOUT = new CounterLayout(GRPC_SCHEMA.map((c) => [c.path, c.type]));
const MSGR2_SCHEMA: PerfCounterType[] = GRPC_SCHEMA.map(({ units, ...t }) => ({ ...t, unit: units }));
const MSGR2_SORTED = [...MSGR2_SCHEMA].sort((a, b) => (a.path < b.path ? -1 : 1));

describe('a cluster-state restart under running sessions', () => {
  let t: Awaited<ReturnType<typeof startStack>>;
  let restarted: Awaited<ReturnType<typeof startClusterState>> | undefined;
  const secrets = freshRotatingSecrets();
  const keys = new RotatingKeys(EntityType.MGR);
  keys.set(secrets);
  beforeAll(async () => {
    t = await startStack({ ceph: fakeCephSession(keys, []), msgr2Port: 0 });
  });
  afterAll(async () => {
    await t.close();
    await restarted?.stop();
  });

  it("every daemon's counters (schema and values) and metadata are back without the daemons reconnecting", async () => {
    // gRPC: an OSD and a service daemon
    const grpc = new Map<string, SessionDriver>();
    for (const [daemon, open] of [
      ['osd.5', { serviceName: '', serviceDaemon: false, metadata: { hostname: 'h5' }, daemonStatus: {} }],
      ['rgw.gw1', { serviceName: 'rgw', serviceDaemon: true, metadata: { hostname: 'gw-host', zone_name: 'z1' }, daemonStatus: { state: 'up' } }],
    ] as const) {
      const s = new SessionDriver(t.client, t.admin);
      s.send({ $case: 'open', value: { daemonName: daemon, ...open } });
      await s.response(1);
      grpc.set(daemon, s);
    }
    const grpcReport = (n: number, declare: boolean) => ({
      $case: 'report' as const,
      value: {
        declareTypes: declare ? GRPC_SCHEMA : [],
        undeclareTypes: [],
        packed: [],
        counterValues: packCounterValues(GRPC_LAYOUT, { 'osd.op_w': n, 'osd.op_r_latency': [n * 10, n] }),
        daemonStatus: {},
        hasDaemonStatus: false,
        taskStatus: {},
        daemonHealthMetrics: [],
      },
    });
    // msgr2: an OSD as Ceph's MgrClient talks
    const ticket = issueTicket({ name: { type: EntityType.OSD, id: '7' }, globalId: 7007n, serviceId: EntityType.MGR, cap: 'allow profile osd', secrets });
    const osd7 = await MgrDaemonClient.connect({
      host: '127.0.0.1',
      port: t.ds.msgr2!.port,
      auth: cephxServiceSession({ globalId: 7007n, ticket }),
      entityType: EntityType.OSD,
      globalId: 7007n,
      logger,
    });
    osd7.open({ daemonName: '7' });
    await osd7.configured;
    const msgr2Report = (n: number, declare: boolean) =>
      mMgrReport({
        daemonName: '7',
        declareTypes: declare ? MSGR2_SCHEMA : [],
        undeclareTypes: [],
        packed: packCounters(
          MSGR2_SORTED,
          new Map([
            ['osd.op_w', { value: BigInt(n) }],
            ['osd.op_r_latency', { value: BigInt(n * 10), avgcount: BigInt(n), avgcount2: BigInt(n) }],
          ]),
        ),
        serviceName: '',
        daemonHealthMetrics: [],
        configBl: Buffer.alloc(0),
        osdPerfMetricReports: [],
      });
    const send = (n: number, declare = false) => {
      for (const s of grpc.values()) s.send(grpcReport(n, declare));
      osd7.send(msgr2Report(n, declare));
    };

    const daemons = [
      ['osd', '5'],
      ['rgw', 'gw1'],
      ['osd', '7'],
    ] as const;
    const query = async (kind: DaemonQueryKind, svcType: string, svcId: string, path = '') =>
      JSON.parse(Buffer.from((await t.csClient.queryDaemons({ kind, svcType, svcId, path, services: [] })).json).toString('utf8'));
    /** Whether every daemon's latest op_w is between `from` and `to`, its latency pair (10 op_w, op_w), and its schema the two counters. */
    const allAt = async (from: number, to: number) => {
      for (const [type, id] of daemons) {
        const w = (await query(DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, type, id, 'osd.op_w'))['osd.op_w']?.at(-1)?.[1];
        if (!(w >= from && w <= to)) return false;
        const latest = await query(DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER, type, id, 'osd.op_r_latency');
        if (latest['osd.op_r_latency']?.[1] !== latest['osd.op_r_latency']?.[2] * 10 || !(latest['osd.op_r_latency']?.[2] >= from)) return false;
        const schema = await query(DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, type, id);
        if (
          Object.keys(schema[`${type}.${id}`] ?? {})
            .sort()
            .join() !== 'osd.op_r_latency,osd.op_w'
        )
          return false;
      }
      return true;
    };

    send(1, true);
    await until('every daemon reporting to the first cluster-state', () => allAt(1, 1));

    // the restart: same address, same data directory
    const address = t.cs.address;
    await t.cs.stop();
    restarted = await startClusterState({
      port: Number(address.slice(address.lastIndexOf(':') + 1)),
      metricsPort: -1,
      logLevel: 'error',
      dataDir: `${t.dir}/cs`,
    });
    expect(await query(DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, 'osd', '5')).toEqual({});

    // the daemons go on as if nothing happened: values only, once a "period"
    let n = 2;
    await until(
      'every daemon counters back in the restarted cluster-state',
      async () => {
        send(n);
        // the newest values, or the ones before them (still on their way), all sent after the restart
        const ok = n > 2 && (await allAt(2, n));
        n++;
        return ok;
      },
      45000,
      300,
    );
    const md = await query(DaemonQueryKind.DAEMON_QUERY_KIND_METADATA, 'rgw', 'gw1');
    expect(md).toMatchObject({ hostname: 'gw-host', zone_name: 'z1' });
    // nothing reconnected: the same streams and the same msgr2 connection
    let ended = false;
    for (const s of grpc.values()) void s.ended.then(() => (ended = true));
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    expect(osd7.configures).toHaveLength(1);
    const metrics = await (await fetch(`http://127.0.0.1:${t.ds.service.metricsPort}/metrics`)).text();
    expect(metrics).not.toMatch(/mgr_daemon_server_msgr2_sessions_ended_total\{[^}]*\} [1-9]/);
    for (const s of grpc.values()) s.end();
    osd7.close();
  });
});
