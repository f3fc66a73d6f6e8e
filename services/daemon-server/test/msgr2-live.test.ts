// The msgr2 front door with real cephx from the project's loopback Pacific
// cluster (lib/testing/ceph-cluster.ts): the front door verifies tickets
// with the rotating mgr secrets it holds as a manager entity (mgr.<name>,
// fetched from the live monitors), and our msgr2 client connects with
// tickets the live monitors issued: as an OSD entity (osd.90, made for
// the test, not one of the cluster's running OSDs), as client.admin, and as
// a key without mgr caps. Real OSDs and the real `ceph` CLI reaching mgrpc
// through the MgrMap are test/ceph-manager*.test.ts.
import { CephxClient } from '../../../lib/ceph/cephx/client';
import { RotatingKeys } from '../../../lib/ceph/cephx/rotating';
import { CounterType, packCounters, type PerfCounterType } from '../../../lib/ceph/messages/perf-counters';
import { mMgrReport } from '../../../lib/ceph/messages/mgr';
import { MonClient } from '../../../lib/ceph/monclient';
import { EntityType, type EntityAddr } from '../../../lib/ceph/types';
import { DaemonQueryKind } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { keyFromKeyring, parseKeyring } from '../../../lib/keyring';
import { createLogger } from '../../../lib/log';
import { describeCeph, sharedCephCluster, type CephCluster } from '../../../lib/testing/ceph-cluster';
import { MgrDaemonClient } from '../../../lib/testing/mgr-daemon-client';
import { until } from '../../../lib/testing/wait';
import type { CephManagerSession } from '../domain/ceph-session';
import { eventually, startStack } from './helpers';

const logger = createLogger({ test: 'msgr2-live' }, 'error');
const MGR = 'mgr.m2live';
const OSD = 'osd.90';
const NOMGR = 'client.m2nomgr';

describeCeph(__filename)('the msgr2 front door with tickets from live Pacific monitors', () => {
  let cluster: CephCluster;
  let t: Awaited<ReturnType<typeof startStack>>;
  const monClients: MonClient[] = [];
  const clients: MgrDaemonClient[] = [];
  const announced: EntityAddr[][] = [];

  const monitors = () =>
    cluster.mons.map((m) => {
      const i = m.v2.lastIndexOf(':');
      return { host: m.v2.slice(0, i), port: Number(m.v2.slice(i + 1)) };
    });
  /** `ceph auth get-or-create`, returning the key. */
  const entity = async (name: string, caps: string[]) => {
    const r = await cluster.run(['auth', 'get-or-create', name, ...caps]);
    if (r.code !== 0) throw new Error(`auth get-or-create ${name}: ${r.stderr}`);
    return parseKeyring(r.stdout).get(name)!.key;
  };
  /** A cephx client of `name`, authenticated with the live monitors and holding a mgr ticket. */
  const withMgrTicket = async (name: string, key: string) => {
    const auth = new CephxClient({ entity: name, key });
    const mc = new MonClient({ monitors: monitors(), auth, logger });
    monClients.push(mc);
    await mc.start();
    await until(`a mgr ticket for ${name}`, () => !auth.missingTickets().includes('mgr'), 30_000);
    return auth;
  };
  const connect = async (auth: CephxClient, hello: number) => {
    const c = await MgrDaemonClient.connect({
      host: '127.0.0.1',
      port: t.ds.msgr2!.port,
      auth: auth.serviceSession(EntityType.MGR),
      entityType: hello,
      globalId: auth.globalId,
      logger,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    // the manager side: mgr.<name> with Ceph's manager caps, holding the rotating mgr secrets
    const mgrKey = await entity(MGR, ['mon', 'allow profile mgr', 'osd', 'allow *', 'mds', 'allow *']);
    const rotating = new RotatingKeys(EntityType.MGR);
    const mgrAuth = new CephxClient({ entity: MGR, key: mgrKey, rotating });
    const mc = new MonClient({ monitors: monitors(), auth: mgrAuth, logger });
    monClients.push(mc);
    await mc.start();
    await until('the rotating mgr secrets', () => rotating.size > 0, 30_000);
    const ceph: CephManagerSession = {
      name: 'm2live',
      get fsid() {
        return mc.status().fsid ?? '';
      },
      get globalId() {
        return mgrAuth.globalId;
      },
      rotatingKeys: rotating,
      monClient: mc,
      setServerAddrs: (a) => announced.push(a),
    };
    t = await startStack({ ceph, msgr2Port: 0 });
  }, 400_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const mc of monClients) mc.stop();
    await t?.close();
    if (cluster) for (const e of [MGR, OSD, NOMGR]) await cluster.run(['auth', 'del', e]);
  });

  it("an OSD entity's real ticket opens its session; its counters reach cluster-state; it may not report as another OSD", async () => {
    const key = await entity(OSD, ['mon', 'allow profile osd', 'mgr', 'allow profile osd', 'osd', 'allow *']);
    const auth = await withMgrTicket(OSD, key);
    const c = await connect(auth, EntityType.OSD);
    c.open({ daemonName: '90' });
    expect(await c.configured).toMatchObject({ statsPeriod: 5, statsThreshold: 5 });
    const types: PerfCounterType[] = [
      { path: 'osd.op_w', description: 'writes', nick: 'w', type: CounterType.U64 | CounterType.COUNTER, priority: 8, unit: 1 },
      { path: 'osd.numpg', description: 'pgs', nick: 'pg', type: CounterType.U64, priority: 5, unit: 1 },
    ];
    const packed = packCounters(
      [...types].sort((a, b) => (a.path < b.path ? -1 : 1)),
      new Map([
        ['osd.op_w', { value: 42n }],
        ['osd.numpg', { value: 3n }],
      ]),
    );
    c.send(
      mMgrReport({
        daemonName: '90',
        declareTypes: types,
        packed,
        undeclareTypes: [],
        serviceName: '',
        daemonHealthMetrics: [],
        configBl: Buffer.alloc(0),
        osdPerfMetricReports: [],
      }),
    );
    await eventually(
      async () => {
        const r = await t.csClient.queryDaemons({
          kind: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER,
          svcType: 'osd',
          svcId: '90',
          path: 'osd.op_w',
          services: [],
        });
        return JSON.parse(Buffer.from(r.json).toString())['osd.op_w']?.at(-1)?.[1];
      },
      (v) => v === 42,
    );
    const other = await connect(auth, EntityType.OSD);
    other.open({ daemonName: '91' });
    expect(await other.closed).toBeDefined();
  }, 120_000);

  it("client.admin's ticket (caps mgr 'allow *') runs `ceph pg stat` and `ceph tell mgr mgr_status`", async () => {
    const auth = await withMgrTicket('client.admin', keyFromKeyring(cluster.keyringPath, 'client.admin'));
    const c = await connect(auth, EntityType.CLIENT);
    const pg = await c.command('mgr', [JSON.stringify({ prefix: 'pg stat', target: ['mon-mgr', ''], format: 'json' })]);
    expect(pg.r).toBe(0);
    expect(JSON.parse(pg.data.toString())).toHaveProperty('pg_summary');
    const status = await c.command('tell', ['{"prefix": "mgr_status"}'], { fsid: cluster.fsid });
    expect(JSON.parse(status.data.toString())).toEqual({ mgrmap_epoch: expect.any(Number), initialized: true });
  }, 120_000);

  it('a key without mgr caps is refused: -13, access denied', async () => {
    const key = await entity(NOMGR, ['mon', 'allow r']);
    const auth = await withMgrTicket(NOMGR, key);
    const c = await connect(auth, EntityType.CLIENT);
    expect(await c.command('mgr', ['{"prefix": "pg stat"}'])).toMatchObject({ r: -13, rs: expect.stringMatching(/access denied/) });
  }, 120_000);
});
