// MgrClient against a small in-test DaemonServerService that records what
// arrives (lib/testing/fake-daemon-server.ts): a temporary double until
// services/daemon-server lands.
import { Status } from 'nice-grpc';
import { MgrClient } from '../mgr-client';
import { createLogger } from '../log';
import type { SessionConfigure } from '../gen/ceph/mgr/v1/daemon_server';
import type { PerfCounterType } from '../gen/ceph/mgr/v1/cluster_state';
import { FakeDaemonServer, until, reportValues } from '../testing/fake-daemon-server';
import { PgStatsReport } from '../gen/ceph/mgr/v1/pg_stats';

// counters: two averages (2 slots) among five, with mixed priorities
const SCHEMA: PerfCounterType[] = [
  { path: 'osd.op', description: 'ops', nick: 'ops', type: 10, priority: 10, units: 1 },
  { path: 'osd.op_latency', description: 'lat', nick: 'l', type: 5, priority: 9, units: 1 },
  { path: 'osd.debug_thing', description: 'dbg', nick: '', type: 2, priority: 0, units: 1 },
  { path: 'osd.numpg', description: 'pgs', nick: 'pgs', type: 2, priority: 5, units: 1 },
  { path: 'bluestore.kv_lat', description: 'kv', nick: '', type: 5, priority: 2, units: 1 },
];
// values: slot k holds 100 + k, so what arrives shows which slots were taken
const VALUES = [100, 101, 102, 103, 104, 105, 106];
const counters = { schema: SCHEMA, values: () => VALUES };
// ...and arrive by path in Ceph's layout, averages as (sum, avgcount, avgcount2)
const BY_PATH: Record<string, bigint[]> = {
  'osd.op': [100n],
  'osd.op_latency': [101n, 102n, 102n],
  'osd.debug_thing': [103n],
  'osd.numpg': [104n],
  'bluestore.kv_lat': [105n, 106n, 106n],
};
const only = (...paths: string[]) => Object.fromEntries(paths.map((p) => [p, BY_PATH[p]]));
const quiet = createLogger({ test: 'mgr-client' }, 'error');

describe('MgrClient', () => {
  let srv: FakeDaemonServer;
  beforeEach(async () => {
    srv = new FakeDaemonServer();
    await srv.start();
  });
  afterEach(() => srv.stop());

  it("opens, waits for configure, declares once per session, then sends the values in Ceph's packed layout", async () => {
    const c = new MgrClient({
      daemonName: 'osd.0',
      address: srv.address,
      metadata: { hostname: 'h1' },
      counters,
      logger: quiet,
      phase: 0,
      auth: { entity: 'osd.0', key: 'k0' },
    }).start();
    await until(() => srv.sessions[0]?.reports.length >= 3);
    const s = srv.sessions[0];
    expect(s.open).toMatchObject({ daemonName: 'osd.0', metadata: { hostname: 'h1' }, serviceDaemon: false });
    expect(s.entity).toBe('osd.0');
    expect(s.reports[0].declareTypes.map((d) => d.path)).toEqual(SCHEMA.map((d) => d.path));
    expect(reportValues(s, 0)).toEqual(BY_PATH);
    expect(s.reports[1].declareTypes).toEqual([]);
    expect(s.reports[2].declareTypes).toEqual([]);
    expect(reportValues(s, 1)).toEqual(BY_PATH);
    // sorted paths, as Ceph's std::set: bluestore.kv_lat's three values come first
    expect(s.reports[1].counterValues!.readBigUInt64LE(6)).toBe(105n);
    await c.stop();
    await until(() => s.closed);
  });

  it('honours stats_threshold: only counters at or above it, undeclaring those that drop out', async () => {
    srv.configure = { statsPeriod: 0.02, statsThreshold: 5 };
    const c = new MgrClient({ daemonName: 'osd.1', address: srv.address, counters, logger: quiet, phase: 0 }).start();
    await until(() => srv.sessions[0]?.reports.length >= 2);
    const s = srv.sessions[0];
    expect(s.reports[0].declareTypes.map((d) => d.path)).toEqual(['osd.op', 'osd.op_latency', 'osd.numpg']);
    expect(reportValues(s, 0)).toEqual(only('osd.op', 'osd.op_latency', 'osd.numpg'));
    // raise the threshold on the same session
    s.push({ statsPeriod: 0.02, statsThreshold: 9 });
    await until(() => s.reports.some((r) => r.undeclareTypes.length > 0));
    const r = s.reports.find((x) => x.undeclareTypes.length > 0)!;
    expect(r.undeclareTypes).toEqual(['osd.numpg']);
    expect(r.declareTypes).toEqual([]);
    expect(reportValues(s, s.reports.indexOf(r))).toEqual(only('osd.op', 'osd.op_latency'));
    // lower it to 0: the rest are declared, appended after the kept ones
    s.push({ statsPeriod: 0.02, statsThreshold: 0 });
    await until(() => s.reports.some((x) => x.declareTypes.length > 0 && x !== s.reports[0]));
    const r2 = s.reports.find((x) => x.declareTypes.length > 0 && x !== s.reports[0])!;
    expect(r2.declareTypes.map((d) => d.path)).toEqual(['osd.debug_thing', 'osd.numpg', 'bluestore.kv_lat']);
    expect(reportValues(s, s.reports.indexOf(r2))).toEqual(BY_PATH);
    await c.stop();
  });

  it('follows a period change, and period 0 stops reports', async () => {
    srv.configure = { statsPeriod: 0, statsThreshold: 0 };
    const configures: SessionConfigure[] = [];
    const c = new MgrClient({ daemonName: 'mds.a', address: srv.address, counters, logger: quiet, phase: 0 });
    c.on('configure', (cfg) => configures.push(cfg));
    c.start();
    await until(() => configures.length === 1);
    const s = srv.sessions[0];
    // a round trip on another call proves the session had time to report if it would
    await c.command('status');
    expect(s.reports).toHaveLength(0);
    s.push({ statsPeriod: 0.02, statsThreshold: 0 });
    await until(() => s.reports.length >= 2);
    s.push({ statsPeriod: 0, statsThreshold: 0 });
    await until(() => configures.length === 3);
    const n = s.reports.length;
    await c.command('status');
    await c.command('status');
    expect(s.reports.length).toBeLessThanOrEqual(n + 1); // at most one already queued
    await c.stop();
  });

  it('reconnects after the server restarts and re-declares the full schema', async () => {
    const port = srv.port;
    const c = new MgrClient({
      daemonName: 'osd.2',
      address: srv.address,
      counters,
      logger: quiet,
      phase: 0,
      backoff: { initialMs: 20, maxMs: 100 },
      pgStats: () => ({ epoch: 27, report: PgStatsReport.encode({ pgStats: [], poolStatfs: [], osdStat: undefined }).finish() }),
    }).start();
    await until(() => srv.sessions[0]?.reports.length >= 2);
    expect(srv.sessions[0].pgStats[0].epoch).toBe(27);
    await srv.stop();
    await until(() => !c.isConnected);
    srv = new FakeDaemonServer();
    await srv.start(port);
    await until(() => srv.sessions[0]?.reports.length >= 2);
    expect(c.sessions).toBeGreaterThanOrEqual(2);
    expect(srv.sessions[0].open?.daemonName).toBe('osd.2');
    expect(srv.sessions[0].reports[0].declareTypes).toHaveLength(SCHEMA.length);
    expect(srv.sessions[0].reports[1].declareTypes).toHaveLength(0);
    await c.stop();
  });

  it('setAddress moves the session to a new active', async () => {
    const other = new FakeDaemonServer();
    await other.start();
    const c = new MgrClient({
      daemonName: 'rgw.gw1',
      serviceName: 'rgw',
      serviceDaemon: true,
      daemonStatus: { zone: 'default' },
      address: srv.address,
      counters,
      logger: quiet,
      phase: 0,
    }).start();
    await until(() => srv.sessions[0]?.reports.length >= 1);
    expect(srv.sessions[0].open).toMatchObject({ serviceName: 'rgw', serviceDaemon: true, daemonStatus: { zone: 'default' } });
    expect(srv.sessions[0].reports[0].hasDaemonStatus).toBe(true);
    c.setAddress(other.address);
    await until(() => other.sessions[0]?.reports.length >= 2);
    expect(other.sessions[0].reports[0].declareTypes).toHaveLength(SCHEMA.length);
    expect(other.sessions[0].reports[0].daemonStatus).toEqual({ zone: 'default' });
    expect(other.sessions[0].reports[1].hasDaemonStatus).toBe(false);
    await c.stop();
    await other.stop();
  });

  it('resends a command that got no reply after the server comes back', async () => {
    const port = srv.port;
    const lines: string[] = [];
    const logger = createLogger({}, 'warn', (l) => lines.push(l));
    const c = new MgrClient({ daemonName: 'client.admin', address: srv.address, logger, backoff: { initialMs: 20, maxMs: 100 } });
    expect((await c.command('hello', { person: 'x' })).result?.stdout).toBe('did hello');
    expect(JSON.parse(srv.commands[0].args)).toEqual({ prefix: 'hello', person: 'x' });
    await srv.stop();
    const pending = c.command('pg stat', {}, undefined, { attempts: 50, timeoutMs: 20000 });
    await until(() => lines.some((l) => l.includes('resending')));
    srv = new FakeDaemonServer();
    await srv.start(port);
    expect((await pending).result?.stdout).toBe('did pg stat');
    expect(srv.commands.map((x) => x.prefix)).toEqual(['pg stat']);
    await c.stop();
  });

  it('gives up on commands after the bounded attempts with the gRPC error', async () => {
    await srv.stop();
    const c = new MgrClient({ daemonName: 'client.admin', address: srv.address, logger: quiet, backoff: { initialMs: 5, maxMs: 10 } });
    await expect(c.command('status', '', undefined, { attempts: 2 })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    await c.stop();
  });

  it('rejects a malformed daemon name', () => {
    expect(() => new MgrClient({ daemonName: 'osd3', address: '127.0.0.1:1' })).toThrow(/<type>.<id>/);
  });
});
