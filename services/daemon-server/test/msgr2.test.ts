// The msgr2 front door end to end on loopback: our msgr2 client (lib/ceph)
// as an OSD, a CLI or a stranger, authenticated with cephx tickets sealed
// the way the monitors seal them (lib/ceph/testing/issuer.ts), against
// a real daemon-server and cluster-state. Sessions, reconnects, bad input,
// refusals, limits, and the commands of `ceph` and `ceph tell mgr`. The
// same against a live Pacific cluster's tickets and daemons is
// msgr2-live.test.ts.
import * as net from 'net';
import * as prom from 'prom-client';
import { RotatingKeys } from '../../../lib/ceph/cephx/rotating';
import { cephxServiceSession } from '../../../lib/ceph/cephx/service-session';
import { freshRotatingSecrets, issueTicket } from '../../../lib/ceph/testing/issuer';
import { ConnectionError } from '../../../lib/ceph/connection';
import { MsgType, type Message } from '../../../lib/ceph/message';
import { mMgrReport, type MMgrReport } from '../../../lib/ceph/messages/mgr';
import { CounterType, packCounters, type PerfCounterType } from '../../../lib/ceph/messages/perf-counters';
import { EntityType, type EntityAddr, type EntityName } from '../../../lib/ceph/types';
import { DaemonQueryKind } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { createLogger } from '../../../lib/log';
import { MgrDaemonClient } from '../../../lib/testing/mgr-daemon-client';
import { until } from '../../../lib/testing/wait';
import { CommandDoor } from '../msgr2/commands';
import { Msgr2FrontDoor } from '../msgr2/front-door';
import { CounterLimits, DEFAULT_COUNTER_LIMITS } from '../domain/counter-limits';
import { eventually, FAKE_FSID as FSID, fakeCephSession, FIXTURES, startStack } from './helpers';
import * as fs from 'fs';
import * as path from 'path';
import { Tag } from '../../../lib/ceph/frames';
import { decodeMessageFrame } from '../../../lib/ceph/message';
import { decodeMPGStats, mPGStats, MSG_PGSTATS, pgIdString, pgStateString } from '../../../lib/ceph/messages/pg-stats';
import { readVector } from '../../../lib/ceph/testing/pcap';
import { shapeDiff } from '../../../lib/testing/shape';

const logger = createLogger({ test: 'msgr2' }, 'error');

const SCHEMA: PerfCounterType[] = [
  { path: 'osd.op_w', description: 'writes', nick: 'w', type: CounterType.U64 | CounterType.COUNTER, priority: 8, unit: 1 },
  { path: 'osd.op_r_latency', description: 'read latency', nick: 'rl', type: CounterType.TIME | CounterType.LONGRUNAVG, priority: 5, unit: 1 },
  { path: 'osd.numpg', description: 'pgs', nick: 'pg', type: CounterType.U64, priority: 5, unit: 1 },
];
/** Ceph's order: the declared set sorted by bytes. */
const SORTED = [...SCHEMA].sort((a, b) => (a.path < b.path ? -1 : 1));

function report(daemonName: string, values: { w: bigint; lat: bigint; latCount: bigint; pgs: bigint }, declare = false): Message {
  const r: MMgrReport = {
    daemonName,
    declareTypes: declare ? SCHEMA : [],
    packed: packCounters(
      SORTED,
      new Map([
        ['osd.op_w', { value: values.w }],
        ['osd.op_r_latency', { value: values.lat, avgcount: values.latCount, avgcount2: values.latCount }],
        ['osd.numpg', { value: values.pgs }],
      ]),
    ),
    undeclareTypes: [],
    serviceName: '',
    daemonHealthMetrics: [{ type: 0, n: 3n }],
    configBl: Buffer.alloc(0),
    osdPerfMetricReports: [],
  };
  return mMgrReport(r);
}

describe('the msgr2 front door on loopback', () => {
  type Stack = Awaited<ReturnType<typeof startStack>>;
  let t: Stack;
  let port: number;
  const secrets = freshRotatingSecrets();
  const keys = new RotatingKeys(EntityType.MGR);
  keys.set(secrets);
  const announced: EntityAddr[][] = [];
  const clients: MgrDaemonClient[] = [];

  let nextGid = 5000n;
  /** Connects as `name` holding a mgr ticket with `cap`, sealed with the manager's secrets unless `sealedWith` says otherwise. */
  const connect = async (name: EntityName, cap: string, o: { sealedWith?: ReturnType<typeof freshRotatingSecrets>; hello?: number } = {}) => {
    const globalId = nextGid++;
    const ticket = issueTicket({ name, globalId, serviceId: EntityType.MGR, cap, secrets: o.sealedWith ?? secrets });
    const c = await MgrDaemonClient.connect({
      host: '127.0.0.1',
      port,
      auth: cephxServiceSession({ globalId, ticket }),
      entityType: o.hello ?? name.type,
      globalId,
      logger,
    });
    clients.push(c);
    return c;
  };
  const osd = (id: number) => connect({ type: EntityType.OSD, id: String(id) }, 'allow profile osd');
  const cli = (cap: string) => connect({ type: EntityType.CLIENT, id: 'someone' }, cap);
  const metrics = async () => (await fetch(`http://127.0.0.1:${t.ds.service.metricsPort}/metrics`)).text();
  const counter = async (svcId: string, path: string, kind = DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER) => {
    const res = await t.csClient.queryDaemons({ kind, svcType: 'osd', svcId, path, services: [] });
    return JSON.parse(Buffer.from(res.json).toString('utf8'));
  };
  const lastOpW = async (id: string) => (await counter(id, 'osd.op_w'))['osd.op_w']?.at(-1)?.[1];

  beforeAll(async () => {
    t = await startStack({ ceph: fakeCephSession(keys, announced), msgr2Port: 0, maxCounters: 100 });
    port = t.ds.msgr2!.port;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t.close();
  });

  it('announces where it listens: the msgr2 address the beacon carries', () => {
    expect(announced).toHaveLength(1);
    expect(announced[0]).toEqual([expect.objectContaining({ type: 2, host: '127.0.0.1', port })]);
    expect(announced[0][0].nonce).toBeGreaterThan(0);
  });

  it('an OSD opens, is configured (period 5, threshold 5), and its counters and health metrics reach cluster-state', async () => {
    const c = await osd(7);
    c.open({ daemonName: '7' });
    expect(await c.configured).toEqual({ statsPeriod: 5, statsThreshold: 5, osdPerfMetricQueries: [], metricConfig: undefined });
    c.send(report('7', { w: 100n, lat: 5000n, latCount: 10n, pgs: 12n }, true));
    await eventually(
      () => lastOpW('7'),
      (v) => v === 100,
    );
    const lat = await counter('7', 'osd.op_r_latency', DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER);
    expect(lat['osd.op_r_latency']).toEqual([expect.any(Number), 5000, 10]);
    const schema = await counter('7', '', DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA);
    expect(Object.keys(schema['osd.7']).sort()).toEqual(SORTED.map((x) => x.path));
    expect(schema['osd.7']['osd.op_r_latency']).toMatchObject({ type: CounterType.TIME | CounterType.LONGRUNAVG, priority: 5 });
    const hm = await t.csClient.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_HEALTH_METRICS, svcType: '', svcId: '', path: '', services: [] });
    expect(JSON.parse(Buffer.from(hm.json).toString())['osd.7']).toEqual([{ type: 'SLOW_OPS', value: 3 }]);
    // values only, as every later report
    c.send(report('7', { w: 150n, lat: 6000n, latCount: 12n, pgs: 12n }));
    await eventually(
      () => lastOpW('7'),
      (v) => v === 150,
    );
  });

  it("an OSD that sends no metadata gets the monitors' (the feed's osd_metadata), as Ceph's DaemonServer asks them", async () => {
    const c = await osd(1);
    c.open({ daemonName: '1' });
    await c.configured;
    const md = await eventually(
      async () => {
        const r = await t.csClient.queryDaemons({ kind: DaemonQueryKind.DAEMON_QUERY_KIND_METADATA, svcType: 'osd', svcId: '1', path: '', services: [] });
        return JSON.parse(Buffer.from(r.json).toString('utf8'));
      },
      (v) => !!v?.hostname,
    );
    expect(md).toMatchObject({ hostname: t.sim.osdMetadata()['1'].hostname });
  });

  it("an OSD's MPGStats (osd.0's last of pcap 02) land in cluster-state's pg dump in the shapes of Ceph's", async () => {
    const m = [...readVector('02-steady-30s')]
      .filter((c) => c.client.to === '127.0.0.1:40226')
      .flatMap((c) => c.client.frames.filter((f) => f.tag === Tag.MESSAGE).map((f) => decodeMessageFrame(f.segments)))
      .filter((x) => x.type === MSG_PGSTATS)
      .map(decodeMPGStats)
      .filter((x) => x.osdStat.hb_peers.length && x.pgStat.some((p) => p.stat.acting_primary === 0))
      .pop()!;
    const c = await connect({ type: EntityType.OSD, id: '0' }, 'allow profile osd');
    c.open({ daemonName: '0' });
    await c.configured;
    c.send(mPGStats(m));
    const dump = await eventually(
      async () => JSON.parse(Buffer.from((await t.csClient.get({ what: 'pg_dump' })).json).toString('utf8')),
      (d) =>
        (d.pg_stats ?? []).some(
          (p: { pgid: string; reported_seq: number }) => p.pgid === pgIdString(m.pgStat[0].pgid) && p.reported_seq === Number(m.pgStat[0].stat.reported_seq),
        ),
    );
    const mine = new Map(dump.pg_stats.map((p: { pgid: string }) => [p.pgid, p]));
    for (const { pgid, stat } of m.pgStat) {
      const p = mine.get(pgIdString(pgid)) as Record<string, any>;
      expect(p).toMatchObject({ state: pgStateString(stat.state), up: stat.up, acting: stat.acting, reported_epoch: stat.reported_epoch });
      expect(p.stat_sum.num_bytes).toBe(Number(stat.stats.num_bytes));
      expect(p.stat_sum.num_write).toBe(Number(stat.stats.num_wr));
    }
    const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'pg-dump.json'), 'utf8')).pg_map;
    expect(shapeDiff(mine.get(pgIdString(m.pgStat[0].pgid)), fixture.pg_stats[0])).toEqual([]);
    const osd0 = dump.osd_stats.find((o: { osd: number }) => o.osd === 0);
    expect(osd0).toMatchObject({ up_from: m.osdStat.up_from, hb_peers: m.osdStat.hb_peers, statfs: { total: Number(m.osdStat.statfs.total) } });
    // get('pg_dump') leaves the ping times out, as Ceph's manager does (mgrget-pg_dump.json); they are get('osd_ping_times')
    const { network_ping_times: _pings, ...monitorOsd0 } = fixture.osd_stats[0];
    expect(shapeDiff(osd0, monitorOsd0, { mapPaths: [] })).toEqual([]);
  });

  it('64-bit values arrive in cluster-state exact: a counter of 2^64-1 and a PG byte count of 2^63-1, no session ended', async () => {
    const c = await osd(20);
    c.open({ daemonName: '20' });
    await c.configured;
    c.send(report('20', { w: 2n ** 64n - 1n, lat: 2n ** 53n + 1n, latCount: 3n, pgs: 1n }, true));
    const raw = async (path: string, kind = DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER) =>
      Buffer.from((await t.csClient.queryDaemons({ kind, svcType: 'osd', svcId: '20', path, services: [] })).json).toString('utf8');
    expect(
      await eventually(
        () => raw('osd.op_w'),
        (s) => s.includes('18446744073709551615'),
      ),
    ).toMatch(/\[[\d.]+,18446744073709551615\]/);
    expect(await raw('osd.op_r_latency', DaemonQueryKind.DAEMON_QUERY_KIND_LATEST_COUNTER)).toMatch(/\[[\d.]+,9007199254740993,3\]/);

    const m = [...readVector('02-steady-30s')]
      .filter((x) => x.client.to === '127.0.0.1:40226')
      .flatMap((x) => x.client.frames.filter((f) => f.tag === Tag.MESSAGE).map((f) => decodeMessageFrame(f.segments)))
      .filter((x) => x.type === MSG_PGSTATS)
      .map(decodeMPGStats)
      .filter((x) => x.pgStat.some((p) => p.stat.acting_primary === 0))
      .pop()!;
    const pg = m.pgStat[0];
    pg.stat.stats.num_bytes = 2n ** 63n - 1n;
    pg.stat.reported_seq = 2n ** 60n + 3n;
    c.send(mPGStats(m));
    const dump = await eventually(
      async () => Buffer.from((await t.csClient.get({ what: 'pg_dump' })).json).toString('utf8'),
      (d) => d.includes('1152921504606846979'),
    );
    const entry = dump.slice(dump.indexOf(`"pgid":"${pgIdString(pg.pgid)}"`));
    expect(entry.slice(0, entry.indexOf('"stat_sum"') + 40)).toContain('"reported_seq":1152921504606846979');
    expect(entry.slice(entry.indexOf('"stat_sum"'))).toMatch(/^"stat_sum":\{[^}]*"num_bytes":9223372036854775807[,}]/);
    expect(await metrics()).not.toMatch(/mgr_daemon_server_msgr2_sessions_ended_total\{reason="(malformed|schema)"\} [1-9]/);
  });

  it('config set mgr_stats_period sends every session a new MMgrConfigure', async () => {
    const c = await osd(8);
    c.open({ daemonName: '8' });
    await c.configured;
    const admin = await cli('allow *');
    const r = await admin.command('mgr', [JSON.stringify({ prefix: 'config set', key: 'mgr_stats_period', value: '3' })]);
    expect(r).toMatchObject({ r: 0 });
    await until('a second configure', () => c.configures.length === 2);
    expect(c.configures[1]).toMatchObject({ statsPeriod: 3, statsThreshold: 5 });
    await admin.command('mgr', [JSON.stringify({ prefix: 'config set', key: 'mgr_stats_period', value: '5' })]);
  });

  it('a daemon that reconnects declares again: the new session starts empty and its values win', async () => {
    const first = await osd(9);
    first.open({ daemonName: '9' });
    await first.configured;
    first.send(report('9', { w: 1000n, lat: 1n, latCount: 1n, pgs: 1n }, true));
    await eventually(
      () => lastOpW('9'),
      (v) => v === 1000,
    );
    first.close();
    const again = await osd(9);
    again.open({ daemonName: '9' });
    await again.configured;
    // values without declaring first do not fit the new, empty session: it ends
    again.send(report('9', { w: 5n, lat: 1n, latCount: 1n, pgs: 1n }));
    expect(await again.closed).toBeDefined();
    expect(await metrics()).toMatch(/mgr_daemon_server_msgr2_sessions_ended_total\{reason="schema"\} 1/);
    const third = await osd(9);
    third.open({ daemonName: '9' });
    await third.configured;
    third.send(report('9', { w: 7n, lat: 1n, latCount: 1n, pgs: 1n }, true));
    await eventually(
      () => lastOpW('9'),
      (v) => v === 7,
    );
  });

  it('a malformed message ends that session only; a session for the same daemon replaces the older one', async () => {
    const good = await osd(10);
    good.open({ daemonName: '10' });
    await good.configured;
    good.send(report('10', { w: 1n, lat: 1n, latCount: 1n, pgs: 1n }, true));
    const bad = await osd(11);
    bad.open({ daemonName: '11' });
    await bad.configured;
    bad.send({ type: MsgType.MGR_REPORT, version: 9, compatVersion: 1, front: Buffer.from([2, 0, 0, 0, 0x31, 0x31, 0xff, 0xff, 0xff, 0x7f]) });
    expect(await bad.closed).toBeDefined();
    good.send(report('10', { w: 2n, lat: 1n, latCount: 1n, pgs: 1n }));
    await eventually(
      () => lastOpW('10'),
      (v) => v === 2,
    );
    expect(await metrics()).toMatch(/mgr_daemon_server_msgr2_sessions_ended_total\{reason="malformed"\} 1/);
    // osd.10 again, from a new connection: the old one is closed
    const newer = await osd(10);
    newer.open({ daemonName: '10' });
    await newer.configured;
    await good.closed;
    expect(await metrics()).toMatch(/mgr_daemon_server_msgr2_sessions_ended_total\{reason="replaced"\} 1/);
  });

  it('an OSD opens a session for itself only; a client only as a service daemon its caps allow', async () => {
    const o = await osd(12);
    o.open({ daemonName: '13' });
    expect(await o.closed).toBeDefined();
    const plain = await cli('allow r');
    plain.open({ daemonName: 'gw1', serviceName: 'rgw', serviceDaemon: true });
    expect(await plain.closed).toBeDefined();
    const rgw = await cli('allow profile rgw');
    rgw.open({ daemonName: 'gw1', serviceName: 'rgw', serviceDaemon: true, daemonMetadata: { hostname: 'h1' }, daemonStatus: { zone: 'z' } });
    expect(await rgw.configured).toMatchObject({ statsPeriod: 5 });
    expect(await metrics()).toMatch(/mgr_daemon_server_msgr2_sessions_ended_total\{reason="refused_open"\} 2/);
  });

  it('more counters than MGR_MAX_COUNTERS end the session with the reason', async () => {
    const c = await osd(14);
    c.open({ daemonName: '14' });
    await c.configured;
    const many: PerfCounterType[] = Array.from({ length: 101 }, (_, i) => ({ path: `osd.c${i}`, description: '', nick: '', type: 2, priority: 5, unit: 1 }));
    c.send(
      mMgrReport({
        daemonName: '14',
        declareTypes: many,
        packed: packCounters(
          [...many].sort((a, b) => (a.path < b.path ? -1 : 1)),
          new Map(),
        ),
        undeclareTypes: [],
        serviceName: '',
        daemonHealthMetrics: [],
        configBl: Buffer.alloc(0),
        osdPerfMetricReports: [],
      }),
    );
    expect(await c.closed).toBeDefined();
    expect(await metrics()).toMatch(/mgr_daemon_server_msgr2_sessions_ended_total\{reason="counter_limit"\} 1/);
  });

  it('an authorizer that does not verify is refused and counted; nothing is read from the peer', async () => {
    await expect(connect({ type: EntityType.OSD, id: '15' }, 'allow profile osd', { sealedWith: freshRotatingSecrets() })).rejects.toMatchObject({
      code: 'auth',
    });
    expect(await metrics()).toMatch(/mgr_daemon_server_msgr2_wire_events\{kind="auth_failure"\} 1/);
  });

  describe('commands', () => {
    const cmd = (prefix: string, args: Record<string, unknown> = {}) => [JSON.stringify({ prefix, ...args })];

    it('`ceph pg stat` and `ceph osd perf` (MMgrCommand, all-zero fsid) answer through the command path', async () => {
      const c = await cli('allow r');
      const pg = await c.command('mgr', cmd('pg stat', { target: ['mon-mgr', ''], format: 'json' }));
      expect(pg.r).toBe(0);
      expect(JSON.parse(pg.data.toString())).toHaveProperty('pg_ready');
      const perf = await c.command('mgr', cmd('osd perf', { target: ['mon-mgr', ''] }));
      expect(perf).toMatchObject({ r: 0 });
      const nope = await c.command('mgr', cmd('no such thing'));
      expect(nope).toMatchObject({ r: -22, rs: "No handler found for 'no such thing'" });
      const bad = await c.command('mgr', ['{"prefix": "pg', ' stat"']);
      expect(bad).toMatchObject({ r: -22, rs: expect.stringMatching(/not JSON/) });
    });

    it('the CLI asks `get_command_descriptions` first: Ceph JSON of the manager commands, no monitor commands', async () => {
      const c = await cli('allow r');
      const d = await c.command('mgr', cmd('get_command_descriptions'));
      const table = JSON.parse(d.data.toString()) as Record<string, { sig: unknown[]; help: string; perm: string }>;
      const sigs = Object.values(table).map((x) => x.sig);
      expect(sigs).toContainEqual(['pg', 'stat']);
      expect(sigs).toContainEqual([
        'osd',
        'df',
        { name: 'output_method', type: 'CephChoices', strings: 'plain|tree', req: 'false' },
        expect.anything(),
        expect.anything(),
      ]);
      // the monitors' commands stay the monitors'
      expect(sigs).not.toContainEqual(['osd', 'tree', expect.anything(), expect.anything()]);
      expect(Object.keys(table)[0]).toBe('cmd000');
    });

    it('`ceph tell mgr`: the admin-socket table first, then the manager commands; table commands need allow *', async () => {
      const admin = await cli('allow *');
      const d = await admin.command('tell', cmd('get_command_descriptions'), { fsid: FSID });
      const sigs = Object.values(JSON.parse(d.data.toString()) as Record<string, { sig: unknown[] }>).map((x) => x.sig);
      expect(sigs).toEqual(expect.arrayContaining([['mgr_status'], ['version'], ['config', 'show'], ['pg', 'stat']]));
      expect(JSON.parse((await admin.command('tell', cmd('mgr_status'), { fsid: FSID })).data.toString())).toEqual({ mgrmap_epoch: 0, initialized: true });
      expect(JSON.parse((await admin.command('tell', cmd('version'), { fsid: FSID })).data.toString())).toMatchObject({ release: 'pacific' });
      const show = await admin.command('tell', cmd('config show'), { fsid: FSID });
      expect(JSON.parse(show.data.toString())).toMatchObject({ mgr_stats_period: '5' });
      const perf = JSON.parse((await admin.command('tell', cmd('perf dump'), { fsid: FSID })).data.toString());
      expect(perf['mgr-msgr2'].sessions).toBeGreaterThan(0);
      expect(perf['mgr-msgr2'].command).toBeGreaterThan(0);
      // a manager command through tell, beyond Pacific
      expect(await admin.command('tell', cmd('pg stat'), { fsid: FSID })).toMatchObject({ r: 0 });
      const ro = await cli('allow r');
      expect(await ro.command('tell', cmd('config show'), { fsid: FSID })).toMatchObject({ r: -13, rs: expect.stringMatching(/allow \*/) });
      expect(await ro.command('tell', cmd('config get', { var: 'nope' }), { fsid: FSID })).toMatchObject({ r: -13 });
      expect(await admin.command('tell', cmd('config get', { var: 'nope' }), { fsid: FSID })).toMatchObject({ r: -2 });
    });

    it('caps come from the ticket: a key without mgr caps is denied (-13, audited), allow r cannot write', async () => {
      const none = await cli('');
      expect(await none.command('mgr', cmd('pg stat'))).toMatchObject({ r: -13, rs: expect.stringMatching(/access denied/) });
      const ro = await cli('allow r');
      expect(await ro.command('mgr', cmd('config set', { key: 'mgr_stats_period', value: '4' }))).toMatchObject({ r: -13 });
      expect(await metrics()).toMatch(/mgr_daemon_server_commands_denied_total [1-9]/);
    });
  });
});

describe('the msgr2 front door alone', () => {
  const secrets = freshRotatingSecrets();
  const keys = new RotatingKeys(EntityType.MGR);
  keys.set(secrets);
  const door = (o: { notActive?: () => string | null; maxConnections?: number; maxMessageBytes?: number }) =>
    Msgr2FrontDoor.start({
      host: '127.0.0.1',
      port: 0,
      keys,
      globalId: () => 1n,
      log: logger,
      registry: new prom.Registry(),
      notActive: o.notActive ?? (() => null),
      sink: { addReport: () => undefined, addPgStats: () => true },
      commands: new CommandDoor({
        runner: { run: async () => ({ retcode: 0, stdout: '', stderr: '' }) },
        tell: {
          mgrmapEpoch: () => 0,
          initialized: () => true,
          config: { show: () => ({}), set: () => null },
          perf: () => ({}),
          managerCommands: async () => [],
        },
        log: logger,
        appendAudit: () => undefined,
        maxCommandBytes: 1024,
      }),
      statsPeriod: () => 5,
      statsThreshold: () => 5,
      maxConnections: o.maxConnections ?? 10,
      maxMessageBytes: o.maxMessageBytes ?? 1 << 20,
      counterLimits: new CounterLimits({ ...DEFAULT_COUNTER_LIMITS, perSession: 10 }),
    });
  const asOsd = (port: number) => {
    const ticket = issueTicket({ name: { type: EntityType.OSD, id: '1' }, globalId: 9n, serviceId: EntityType.MGR, cap: 'allow profile osd', secrets });
    return MgrDaemonClient.connect({ host: '127.0.0.1', port, auth: cephxServiceSession({ globalId: 9n, ticket }), entityType: EntityType.OSD, logger });
  };

  it('a standby closes every connection at once, as a Ceph standby has no server', async () => {
    const d = await door({ notActive: () => 'mgr.x is a standby' });
    await expect(asOsd(d.port)).rejects.toBeInstanceOf(ConnectionError);
    await d.stop();
  });

  it('connections past MGR_MSGR2_MAX_CONNECTIONS are closed at once; the others go on', async () => {
    const d = await door({ maxConnections: 1 });
    const first = await asOsd(d.port);
    await expect(asOsd(d.port)).rejects.toBeInstanceOf(ConnectionError);
    first.open({ daemonName: '1' });
    expect(await first.configured).toMatchObject({ statsPeriod: 5 });
    first.close();
    await d.stop();
  });

  it('a message over MGR_MSGR2_MAX_MESSAGE_BYTES ends its connection before it is read', async () => {
    const d = await door({ maxMessageBytes: 4096 });
    const c = await asOsd(d.port);
    c.open({ daemonName: '1', configBl: Buffer.alloc(8192) });
    expect(await c.closed).toMatchObject({ code: 'closed' });
    await d.stop();
  });

  it('a peer that goes away during the handshake is forgotten', async () => {
    const d = await door({});
    const s = net.connect(d.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    expect(d.connectionCount).toBe(1);
    s.destroy();
    await until('the connection gone', () => d.connectionCount === 0);
    await d.stop();
  });
});
