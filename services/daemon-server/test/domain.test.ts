// Domain units: caps and keyrings, argument types, ingest batching.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { isCapable, loadOrCreateKeyring, mayOpenSession, parseCaps, parsePrincipals as parseKeyring } from '../domain/auth';
import { parseSignature } from '../../../lib/command-descriptor';
import { CommandTable } from '../domain/command-table';
import { emptyReport, Ingest, IngestCounters, IngestSink, mergeReports } from '../domain/ingest';
import type { DaemonReport } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import type { PgStatsEntry } from '../domain/forward';
import { until } from '../../../lib/testing/wait';
import { getEventListeners } from 'events';
import * as prom from 'prom-client';
import { createLogger } from '../../../lib/log';
import { decodeSessionFrame, type SessionFrame } from '../../../lib/session-wire';
import { SessionReport, SessionRequest, type SessionResponse } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { CounterLayout, packCounterValues } from '../../../lib/counter-values';
import { CounterLimits } from '../domain/counter-limits';
import { Sessions } from '../domain/sessions';
import { SchemaError, SessionSchema } from '../domain/session';
import { counterSchemaHash } from '../../../lib/shared-schema';

describe('caps', () => {
  const can = (caps: string, req: Partial<Parameters<typeof isCapable>[1]>) =>
    isCapable(parseCaps(caps), { service: 'pg', module: '', prefix: 'pg stat', perm: 'r', ...req });
  it('supports allow *, rwx bits, command, module, service and profiles', () => {
    expect(can('allow *', { perm: 'rwx' })).toBe(true);
    expect(can('allow r', { perm: 'r' })).toBe(true);
    expect(can('allow r', { perm: 'rw' })).toBe(false);
    expect(can('allow rw', { perm: 'rw' })).toBe(true);
    expect(can('allow command "config set"', { prefix: 'config set', perm: 'rw' })).toBe(true);
    expect(can('allow command "config set"', { prefix: 'config show', perm: 'r' })).toBe(false);
    expect(can('allow module hello rw', { service: 'py', module: 'hello', prefix: 'hello', perm: 'rw' })).toBe(true);
    expect(can('allow module hello r', { service: 'py', module: 'other', prefix: 'x', perm: 'r' })).toBe(false);
    expect(can('allow service pg r', { perm: 'r' })).toBe(true);
    expect(can('allow service osd r', { perm: 'r' })).toBe(false);
    expect(can('allow profile read-only', { perm: 'r' })).toBe(true);
    expect(can('allow r, allow command "mgr fail"', { prefix: 'mgr fail', perm: 'rw' })).toBe(true);
    expect(mayOpenSession(parseCaps('allow profile osd'), 'osd.3')).toBe(true);
    expect(mayOpenSession(parseCaps('allow profile osd'), 'mds.a')).toBe(false);
    expect(mayOpenSession(parseCaps('allow rw'), 'osd.3')).toBe(false);
    expect(() => parseCaps('allow everything please')).toThrow(/cannot parse cap/);
    expect(() => parseCaps('deny r')).toThrow(/expected 'allow/);
  });

  it("creates a keyring with client.admin, client.ro and the services' entities, mode 0600, and parses it back", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyring-'));
    const file = path.join(dir, 'sub', 'keyring');
    const first = loadOrCreateKeyring(file);
    expect(first.created).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect([...first.entries.keys()]).toEqual(['client.admin', 'client.ro', 'client.mgrpc-standby', 'client.mgrpc-feed']);
    const again = loadOrCreateKeyring(file);
    expect(again.created).toBe(false);
    expect(again.entries.get('client.admin')!.key).toBe(first.entries.get('client.admin')!.key);
    expect(() => parseKeyring('[client.x]\n\tkey = abc\n\tcaps mgr = "allow sideways"\n')).toThrow(/\[client.x\] cannot parse cap/);
    expect(() => parseKeyring('[client.x]\n\tcaps mgr = "allow *"\n')).toThrow(/has no key/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an existing keyring without mgr.<name> or the services entities gets them added once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyring-mgr-'));
    const file = path.join(dir, 'keyring');
    fs.writeFileSync(file, '[client.admin]\n\tkey = QUJD\n\tcaps mgr = "allow *"\n', { mode: 0o600 });
    const first = loadOrCreateKeyring(file, 'y');
    expect(first.added).toEqual(['mgr.y', 'client.mgrpc-standby', 'client.mgrpc-feed']);
    expect([...first.entries.keys()]).toEqual(['client.admin', 'mgr.y', 'client.mgrpc-standby', 'client.mgrpc-feed']);
    const again = loadOrCreateKeyring(file, 'y');
    expect(again.added).toEqual([]);
    expect(again.entries.get('mgr.y')!.key).toBe(first.entries.get('mgr.y')!.key);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('ingest', () => {
  function fakeSink() {
    const calls = { reports: [] as DaemonReport[][], pg: [] as PgStatsEntry[][], stale: [] as Array<[string[], string[]]> };
    let fail = false;
    let hold: Promise<void> | null = null;
    const sink: IngestSink = {
      async reportDaemons(r) {
        if (hold) await hold;
        if (fail) throw new Error('unavailable');
        calls.reports.push(r);
        return { applied: r.length, rejected: [] };
      },
      async ingestPgStats(s) {
        if (hold) await hold;
        if (fail) throw new Error('unavailable');
        calls.pg.push(s);
        return { applied: s.length, rejected: [] };
      },
      async setDaemonsStale(stale, fresh) {
        calls.stale.push([stale, fresh]);
      },
    };
    return { sink, calls, setFail: (f: boolean) => (fail = f), setHold: (p: Promise<void> | null) => (hold = p) };
  }
  /** Ingest's counters, all ignored but those given. */
  const counting = (given: Partial<IngestCounters>): IngestCounters => ({
    coalesced: () => {},
    pgStatsReplaced: () => {},
    forwarded: () => {},
    rejectedUpstream: () => {},
    flushFailed: () => {},
    ...given,
  });
  const report = (daemon: string, values: number[]): DaemonReport => ({ ...emptyReport(daemon), values, stamp: values[0] });
  const pg = (osd: number): PgStatsEntry => ({ osd, epoch: 1, stamp: 0, report: Buffer.from([0x12, 0]) });

  it('coalesces per daemon (newest values win) and sends one batch per flush', async () => {
    const f = fakeSink();
    let coalesced = 0;
    const ing = new Ingest({
      sink: f.sink,
      flushIntervalMs: 1e6,
      flushAtPending: 1000,
      maxPendingPgStats: 10,
      counters: counting({ coalesced: (n) => (coalesced += n) }),
    });
    ing.addReport({ ...emptyReport('osd.1'), opened: true, declare: [{ path: 'a', description: '', nick: '', type: 2, priority: 5, units: 0 }] });
    for (let i = 1; i <= 5; i++) ing.addReport(report('osd.1', [i]));
    ing.addReport(report('osd.2', [9]));
    await ing.flush();
    expect(f.calls.reports).toHaveLength(1);
    const [batch] = f.calls.reports;
    expect(batch.map((r) => r.daemon)).toEqual(['osd.1', 'osd.2']);
    expect(batch[0]).toMatchObject({ opened: true, values: [5] });
    expect(batch[0].declare.map((d) => d.path)).toEqual(['a']);
    expect(coalesced).toBe(4);
  });

  it('declares every session again, ahead of what waits, when cluster-state answers from a new run', async () => {
    const calls: DaemonReport[][] = [];
    let instance = 'run-1';
    let held: DaemonReport[] = [];
    const declare = [{ path: 'a', description: '', nick: '', type: 2, priority: 5, units: 0 }];
    const ing = new Ingest({
      sink: {
        reportDaemons: async (r) => {
          calls.push(r);
          // while it answers, the daemon's next values arrive
          held.forEach((x) => ing.addReport(x));
          held = [];
          return { applied: r.length, rejected: [], instance };
        },
        ingestPgStats: async (x) => ({ applied: x.length, rejected: [] }),
        setDaemonsStale: async () => {},
      },
      flushIntervalMs: 1e6,
      flushAtPending: 1000,
      maxPendingPgStats: 10,
      redeclare: () => [{ ...emptyReport('osd.1'), opened: true, metadata: { hostname: 'h1' }, declare }],
    });
    ing.addReport({ ...emptyReport('osd.1'), opened: true, declare });
    await ing.flush();
    ing.addReport(report('osd.1', [1]));
    await ing.flush();
    expect(calls).toHaveLength(2); // the same run: nothing declared again
    instance = 'run-2';
    ing.addReport(report('osd.1', [2]));
    held = [report('osd.1', [3])];
    await ing.flush();
    await ing.flush();
    expect(calls).toHaveLength(4);
    // the session as a new one, with the values that waited merged on top
    expect(calls[3]).toEqual([expect.objectContaining({ daemon: 'osd.1', opened: true, metadata: { hostname: 'h1' }, declare, values: [3] })]);
  });

  it('splits what is pending into bounded calls, oldest first, and sends the rest at once', async () => {
    const f = fakeSink();
    const ing = new Ingest({ sink: f.sink, flushIntervalMs: 1e6, flushAtPending: 1000, maxPendingPgStats: 100, maxBatchDaemons: 3, maxBatchPgStats: 4 });
    for (let i = 0; i < 10; i++) ing.addReport(report(`osd.${i}`, [i]));
    for (let i = 0; i < 10; i++) ing.addPgStats(pg(i));
    await ing.flush();
    await until('the follow-up flushes', () => f.calls.reports.flat().length === 10 && f.calls.pg.flat().length === 10, 2000, 10);
    expect(f.calls.reports.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    expect(f.calls.reports.flat().map((r) => r.daemon)).toEqual([...Array(10).keys()].map((i) => `osd.${i}`));
    expect(Math.max(...f.calls.pg.map((b) => b.length))).toBeLessThanOrEqual(4);
    expect(f.calls.pg.flat().map((p) => p.osd)).toEqual([...Array(10).keys()]);
  });

  it('bounds a call by its size too (counter declarations are large)', async () => {
    const f = fakeSink();
    const ing = new Ingest({ sink: f.sink, flushIntervalMs: 1e6, flushAtPending: 1000, maxPendingPgStats: 100, maxBatchBytes: 20000 });
    const declare = Array.from({ length: 100 }, (_, i) => ({
      path: `osd.counter_${i}`,
      description: 'a counter with a description of some length',
      nick: '',
      type: 2,
      priority: 5,
      units: 0,
    }));
    for (let i = 0; i < 6; i++) ing.addReport({ ...emptyReport(`osd.${i}`), opened: true, declare });
    await ing.flush();
    await until('the follow-up flushes', () => f.calls.reports.flat().length === 6, 2000, 10);
    expect(f.calls.reports.length).toBeGreaterThan(1);
    for (const b of f.calls.reports) expect(b.length).toBeLessThan(6);
  });

  it('keeps pg stats and reports when cluster-state fails, and sends them on the next flush', async () => {
    const f = fakeSink();
    const ing = new Ingest({ sink: f.sink, flushIntervalMs: 1e6, flushAtPending: 1000, maxPendingPgStats: 100 });
    f.setFail(true);
    ing.addReport(report('osd.1', [1]));
    ing.addPgStats(pg(1));
    await ing.flush();
    ing.addReport(report('osd.1', [2]));
    ing.addPgStats(pg(2));
    f.setFail(false);
    await ing.flush();
    expect(f.calls.reports).toEqual([[expect.objectContaining({ daemon: 'osd.1', values: [2] })]]);
    expect(f.calls.pg[0].map((p) => p.osd)).toEqual([1, 2]);
  });

  it('sends pg stats beside a report batch, not behind it', async () => {
    const f = fakeSink();
    let releaseReports!: () => void;
    const reportsHeld = new Promise<void>((r) => (releaseReports = r));
    const pgCalled: PgStatsEntry[][] = [];
    const sink: IngestSink = {
      ...f.sink,
      async reportDaemons(r) {
        await reportsHeld; // cluster-state slow to take a large report batch
        return f.sink.reportDaemons(r);
      },
      async ingestPgStats(s) {
        pgCalled.push(s);
        return f.sink.ingestPgStats(s);
      },
    };
    const ing = new Ingest({ sink, flushIntervalMs: 1e6, flushAtPending: 1000, maxPendingPgStats: 100 });
    ing.addReport(report('osd.1', [1]));
    ing.addPgStats(pg(1));
    const flushed = ing.flush();
    await until('the pg stats to be sent while the reports are held', () => pgCalled.length === 1, 2000, 5);
    expect(f.calls.reports).toHaveLength(0);
    releaseReports();
    await flushed;
    expect(f.calls.reports.flat().map((r) => r.daemon)).toEqual(['osd.1']);
    expect(f.calls.pg.flat().map((p) => p.osd)).toEqual([1]);
  });

  it('bounds the pg queue: waiters get room after a flush, or false when none comes', async () => {
    const f = fakeSink();
    let release!: () => void;
    f.setHold(new Promise<void>((r) => (release = r)));
    const ing = new Ingest({ sink: f.sink, flushIntervalMs: 1e6, flushAtPending: 1000, maxPendingPgStats: 2 });
    ing.addPgStats(pg(0)); // 2/4 = flush threshold 0 -> starts a held flush
    ing.addPgStats(pg(1));
    ing.addPgStats(pg(2));
    expect(ing.hasPgRoom()).toBe(false);
    expect(await ing.waitForPgRoom(10)).toBe(false);
    const waiting = ing.waitForPgRoom(60000);
    f.setHold(null);
    release();
    await ing.flush();
    expect(await waiting).toBe(true);
    expect(
      f.calls.pg
        .flat()
        .map((p) => p.osd)
        .sort(),
    ).toEqual([0, 1, 2]);
  });

  it('keeps one pg-stats snapshot per OSD: a newer one replaces the one waiting, in its place', async () => {
    const f = fakeSink();
    let replaced = 0;
    const ing = new Ingest({
      sink: f.sink,
      flushIntervalMs: 1e6,
      flushAtPending: 1000,
      maxPendingPgStats: 100,
      counters: counting({ pgStatsReplaced: (n) => (replaced += n) }),
    });
    const at = (osd: number, epoch: number): PgStatsEntry => ({ ...pg(osd), epoch });
    ing.addPgStats(at(3, 1));
    ing.addPgStats(at(4, 1));
    ing.addPgStats(at(3, 2));
    ing.addPgStats(at(3, 3));
    expect(ing.pendingPgStats).toBe(2);
    await ing.flush();
    expect(f.calls.pg).toEqual([[at(3, 3), at(4, 1)]]);
    expect(replaced).toBe(2);
  });

  it('an OSD already waiting always has room; a new one waits for it', async () => {
    const f = fakeSink();
    const ing = new Ingest({ sink: f.sink, flushIntervalMs: 1e6, flushAtPending: 1000, maxPendingPgStats: 8 });
    ing.addPgStats(pg(0));
    f.setHold(new Promise<void>(() => undefined)); // cluster-state never answers
    ing.addPgStats(pg(1)); // a quarter of the bound: a flush takes 0 and 1, and hangs
    for (let osd = 2; osd < 10; osd++) ing.addPgStats(pg(osd));
    expect(ing.pendingPgStats).toBe(8);
    expect(ing.hasPgRoom()).toBe(false);
    expect(ing.hasPgRoom(10)).toBe(false);
    expect(ing.hasPgRoom(9)).toBe(true);
    ing.addPgStats(pg(9));
    expect(ing.pendingPgStats).toBe(8);
  });

  it('a failed pg-stats batch goes back ahead of what waits, unless its OSD sent newer stats meanwhile', async () => {
    const f = fakeSink();
    const ing = new Ingest({ sink: f.sink, flushIntervalMs: 1e6, flushAtPending: 1000, maxPendingPgStats: 100 });
    let release!: () => void;
    f.setHold(new Promise<void>((r) => (release = r)));
    f.setFail(true);
    const at = (osd: number, epoch: number): PgStatsEntry => ({ ...pg(osd), epoch });
    ing.addPgStats(at(1, 1));
    ing.addPgStats(at(2, 1));
    const failing = ing.flush();
    ing.addPgStats(at(2, 2)); // arrives while the batch with (2, 1) is in flight
    ing.addPgStats(at(5, 1));
    release();
    await failing;
    f.setHold(null);
    f.setFail(false);
    await ing.flush();
    expect(f.calls.pg).toEqual([[at(1, 1), at(2, 2), at(5, 1)]]);
  });

  it('marks silent daemons stale and fresh again', async () => {
    const f = fakeSink();
    let now = 0;
    const ing = new Ingest({ sink: f.sink, flushIntervalMs: 1e6, flushAtPending: 1000, maxPendingPgStats: 10, now: () => now });
    ing.addReport(report('osd.1', [1]));
    ing.addReport(report('osd.2', [1]));
    now = 10000;
    ing.addReport(report('osd.2', [2]));
    expect(await ing.checkStale(5000)).toEqual({ stale: ['osd.1'], fresh: [] });
    expect(await ing.checkStale(5000)).toEqual({ stale: [], fresh: [] });
    ing.addReport(report('osd.1', [3]));
    expect(await ing.checkStale(5000)).toEqual({ stale: [], fresh: ['osd.1'] });
  });
});

describe('ingest by schema hash', () => {
  const schema = Array.from({ length: 5 }, (_, i) => ({ path: `osd.h${i}`, description: `h ${i}`, nick: '', type: 2 | 8, priority: 5, units: 0 }));
  const hash = counterSchemaHash(schema);
  const first = (daemon: string): DaemonReport => ({
    ...emptyReport(daemon),
    declare: schema,
    schemaHash: hash,
    counterValues: Buffer.from([1, 1, 0, 0, 0, 0]),
  });

  it('sends a schema in full once a run, by hash after; a hash cluster-state does not hold goes again in full', async () => {
    const calls: DaemonReport[][] = [];
    let forget = false;
    let instance = 'run-1';
    const sink: IngestSink = {
      reportDaemons: async (r) => {
        calls.push(r);
        const unknown = forget ? r.filter((x) => x.schemaHash?.length && !x.declare.length).map((x) => x.schemaHash!) : [];
        forget = false;
        return { applied: r.length - unknown.length, rejected: unknown.map(() => 'not held'), instance, unknownSchemas: unknown.slice(0, 1) };
      },
      ingestPgStats: async (s) => ({ applied: s.length, rejected: [] }),
      setDaemonsStale: async () => {},
    };
    const ing = new Ingest({ sink, flushIntervalMs: 1e6, flushAtPending: 1e6, maxPendingPgStats: 10 });
    const shape = (batch: DaemonReport[]) => batch.map((r) => `${r.daemon}:${r.declare.length ? 'full' : r.schemaHash?.length ? 'hash' : 'none'}`);
    ing.addReport(first('osd.1'));
    ing.addReport(first('osd.2'));
    await ing.flush();
    expect(shape(calls[0])).toEqual(['osd.1:full', 'osd.2:hash']);
    ing.addReport(first('osd.3'));
    await ing.flush();
    expect(shape(calls[1])).toEqual(['osd.3:hash']);
    // cluster-state no longer holds it (its last daemon of that schema left): refused, and sent again in full
    forget = true;
    ing.addReport(first('osd.4'));
    await ing.flush();
    await ing.flush();
    expect(shape(calls[2])).toEqual(['osd.4:hash']);
    expect(shape(calls[3])).toEqual(['osd.4:full']);
    // a new run of cluster-state holds nothing: in full again
    instance = 'run-2';
    ing.addReport(first('osd.5'));
    await ing.flush();
    ing.addReport(first('osd.6'));
    await ing.flush();
    expect(shape(calls.at(-1)!)).toEqual(['osd.6:full']);
  });

  it('keeps a report named by hash apart from declares that came before it, and drops the hash when declares follow', () => {
    const declared: DaemonReport = { ...emptyReport('osd.1'), declare: schema.slice(0, 2) };
    expect(mergeReports(declared, first('osd.1'))).toBeNull();
    const opened: DaemonReport = { ...emptyReport('osd.1'), opened: true };
    expect(mergeReports(opened, first('osd.1'))?.schemaHash).toEqual(hash);
    const more: DaemonReport = { ...emptyReport('osd.1'), declare: [{ ...schema[0], path: 'osd.extra' }], counterValues: Buffer.from([1, 1, 0, 0, 0, 0]) };
    const merged = mergeReports(first('osd.1'), more)!;
    expect(merged.declare.length).toBe(6);
    expect(merged.schemaHash).toBeUndefined();
  });
});

describe('first declarations', () => {
  const schema = Array.from({ length: 30 }, (_, i) => ({ path: `osd.d${i}`, description: `counter ${i}`, nick: '', type: 2 | 8, priority: 5, units: 0 }));
  const layout = new CounterLayout(schema.map((c) => [c.path, c.type]));
  const values = packCounterValues(layout, Object.fromEntries(schema.map((c, i) => [c.path, BigInt(i)])));
  /** A first report as daemon-server decodes it from the wire. */
  const received = (declareTypes: typeof schema, counterValues = values, extra: Partial<SessionReport> = {}) => {
    const report = {
      declareTypes,
      undeclareTypes: [],
      packed: [],
      counterValues,
      daemonStatus: {},
      hasDaemonStatus: false,
      taskStatus: {},
      daemonHealthMetrics: [],
      ...extra,
    };
    const m = decodeSessionFrame(SessionRequest.encode({ msg: { $case: 'report', value: report } }).finish()).msg;
    if (m?.$case !== 'report') throw new Error(`not a report: ${JSON.stringify(m)}`);
    return m.value;
  };

  it('the same declared bytes decode to one frozen array, equal to what the generated decoder reads; the rest of each report its own', () => {
    const a = received(schema, values, { daemonStatus: { x: '1' }, hasDaemonStatus: true });
    const b = received(schema, Buffer.from(values).reverse());
    expect(b.declareTypes).toBe(a.declareTypes);
    expect(Object.isFrozen(a.declareTypes) && Object.isFrozen(a.declareTypes[0])).toBe(true);
    expect(a.declareTypes).toEqual(SessionReport.decode(SessionReport.encode({ ...a, declareTypes: schema }).finish()).declareTypes);
    expect([a.daemonStatus, a.hasDaemonStatus, b.daemonStatus, b.hasDaemonStatus]).toEqual([{ x: '1' }, true, {}, false]);
    expect(Buffer.compare(a.counterValues!, values)).toBe(0);
    expect(Buffer.compare(b.counterValues!, Buffer.from(values).reverse())).toBe(0);
    // another declaration is its own
    const other = received(schema.slice(1));
    expect(other.declareTypes).not.toBe(a.declareTypes);
    expect(other.declareTypes.map((t) => t.path)).toEqual(schema.slice(1).map((t) => t.path));
  });

  it('keeps 16 declarations: a 17th new one turns the oldest out, which then decodes afresh', () => {
    const first = received(schema.slice(0, 2)).declareTypes;
    for (let n = 3; n <= 18; n++) received(schema.slice(0, n));
    const again = received(schema.slice(0, 2)).declareTypes;
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  it('sessions declaring the same bytes share one schema, checked once; values that do not fit are refused all the same', () => {
    const [a, b] = [received(schema), received(schema)];
    const [s1, s2] = [new SessionSchema(), new SessionSchema()];
    for (const [s, r] of [[s1, a] as const, [s2, b] as const]) {
      s.check(r.declareTypes, r.undeclareTypes, r.counterValues);
      s.apply(r.declareTypes, r.undeclareTypes);
    }
    expect(s2.shared(b.declareTypes)).toBe(s1.shared(a.declareTypes));
    expect(s1.hash).toEqual(counterSchemaHash(schema));
    expect([s1.size, s1.slots]).toEqual([30, layout.slots]);
    // a wrong number of values for the shared declaration is still refused
    expect(() => new SessionSchema().check(a.declareTypes, [], values.subarray(8))).toThrow(SchemaError);
    // a declaration naming a counter twice is refused every time, cached or not
    const twice = received([...schema, schema[0]]);
    for (let i = 0; i < 2; i++) expect(() => new SessionSchema().check(twice.declareTypes, [], undefined)).toThrow(/already declared/);
  });
});

describe('command table', () => {
  const desc = (cmd: string, module = 'm') => ({ cmd, desc: '', perm: 'r', module, poll: false });
  it('never waits for module-host while it has a list: an expired one is served and refreshed behind', async () => {
    let now = 0;
    let calls = 0;
    let list = [desc('hello'), desc('fs status name=fs,type=CephString,req=false', 'status')];
    let release: (() => void) | null = null;
    const table = new CommandTable<string>({
      native: [{ desc: desc('pg stat', 'mgr'), sig: parseSignature('pg stat'), native: 'pgstat' }],
      listModuleCommands: async () => {
        calls++;
        if (release === null && calls > 1) await new Promise<void>((r) => (release = r));
        return list;
      },
      ttlMs: 1000,
      onWarn: () => undefined,
      now: () => now,
    });
    expect((await table.lookup('hello')).map((e) => e.desc.module)).toEqual(['m']);
    expect((await table.lookup('pg stat'))[0].native).toBe('pgstat');
    expect((await table.lookup('fs status'))[0].desc.module).toBe('status');
    expect(calls).toBe(1);
    // expired: served from the cache while the refresh is held up
    now = 5000;
    list = [desc('hello', 'other')];
    expect((await table.lookup('hello'))[0].desc.module).toBe('m');
    expect(calls).toBe(2);
    release!();
    await until('the refresh', async () => (await table.lookup('hello'))[0].desc.module === 'other');
    // an unknown prefix looks past the cache once
    list = [desc('hello', 'other'), desc('new thing')];
    expect((await table.lookup('new thing')).length).toBe(1);
    expect(await table.lookup('nobody has this')).toEqual([]);
  });

  it('a refresh parses only descriptors it has not seen: an unchanged one keeps its signature, a changed one is parsed anew', async () => {
    let now = 0;
    let list = [desc('hello name=person_name,type=CephString,req=false'), desc('fs status name=fs,type=CephString,req=false', 'status')];
    const table = new CommandTable<string>({ native: [], listModuleCommands: async () => list, ttlMs: 1000, onWarn: () => undefined, now: () => now });
    const hello = (await table.lookup('hello'))[0];
    const fs = (await table.lookup('fs status'))[0];
    now = 5000;
    list = [desc('hello name=person_name,type=CephString,req=false'), desc('fs status name=fs,type=CephString,req=true', 'status')];
    await table.lookup('hello'); // starts the refresh behind
    await until('the refresh', async () => (await table.lookup('fs status'))[0] !== fs);
    expect((await table.lookup('hello'))[0].sig).toBe(hello.sig);
    const changed = (await table.lookup('fs status'))[0];
    expect(changed.sig).not.toBe(fs.sig);
    expect(changed.sig.args.map((a) => [a.name, a.required])).toEqual([['fs', true]]);
  });

  it('keeps its list when module-host cannot answer', async () => {
    let fail = false;
    const warnings: string[] = [];
    const table = new CommandTable<string>({
      native: [],
      listModuleCommands: async () => {
        if (fail) throw new Error('unavailable');
        return [desc('hello')];
      },
      ttlMs: 0,
      onWarn: (m) => warnings.push(m),
    });
    expect(await table.lookup('hello')).toHaveLength(1);
    fail = true;
    expect(await table.lookup('hello')).toHaveLength(1);
    await until('a warning', async () => warnings.includes('cannot list module commands'));
    expect(await table.lookup('hello')).toHaveLength(1);
  });
});

describe('Sessions', () => {
  /** Sessions feeding `ingest`, at Ceph's default period and threshold, ended by `shutdownSignal`. */
  const sessionsOver = (ingest: Ingest, shutdownSignal: AbortSignal) =>
    new Sessions({
      log: createLogger({ test: 'sessions' }, 'error'),
      registry: new prom.Registry(),
      ingest,
      counterLimits: new CounterLimits(),
      shutdownSignal,
      statsPeriod: () => 5,
      statsThreshold: () => 5,
      pgBackpressureMs: 1000,
    });
  /** An Ingest that flushes only when told, into a sink that takes everything (and keeps the reports). */
  const heldIngest = () => {
    const forwarded: DaemonReport[] = [];
    const sink: IngestSink = {
      reportDaemons: async (r) => (forwarded.push(...r), { applied: r.length, rejected: [] }),
      ingestPgStats: async (s) => ({ applied: s.length, rejected: [] }),
      setDaemonsStale: async () => {},
    };
    return { forwarded, ingest: new Ingest({ sink, flushIntervalMs: 1e6, flushAtPending: 1e6, maxPendingPgStats: 10 }) };
  };
  const admin = { entity: 'client.admin', grants: [{ kind: 'all' as const }] };
  it('holds one listener on the shutdown signal however many streams are read, and shutdown ends them all', async () => {
    const shutdown = new AbortController();
    const { ingest } = heldIngest();
    const sessions = sessionsOver(ingest, shutdown.signal);
    const caller = admin;
    const callEnded = new AbortController(); // the callers stay; only the server stops
    // a daemon's stream: open, then nothing more until it is ended
    async function* requests(n: number): AsyncGenerator<SessionFrame> {
      yield { msg: { $case: 'open', value: { daemonName: `osd.${n}`, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } } };
      await new Promise(() => {});
    }
    const streams = Array.from({ length: 50 }, (_, n) => sessions.serve(requests(n), caller, callEnded.signal));
    // each stream answers its open with configure
    const first = await Promise.all(streams.map((s) => s.next()));
    expect(first.every((r) => !r.done && r.value.msg?.$case === 'configure')).toBe(true);
    expect(sessions.sessionCount).toBe(50);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    shutdown.abort();
    const ends = await Promise.all(streams.map((s) => s.next()));
    expect(ends.every((r) => r.done)).toBe(true);
    expect(sessions.sessionCount).toBe(0);
  });
  it('keeps no message of an idle session once it is handled (10,000 sessions waiting between reports)', async () => {
    // the collector, to see what is still reachable (a flag Node takes at run time)
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const { ingest } = heldIngest();
    const shutdown = new AbortController();
    const sessions = sessionsOver(ingest, shutdown.signal);
    const caller = admin;
    // the daemon's messages, made when asked for and held by nothing of the test's
    const make: Array<() => SessionFrame> = [
      () => ({ msg: { $case: 'open', value: { daemonName: 'osd.7', serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } } }),
      () => ({ msg: { $case: 'pgStats', value: { epoch: 1, json: new Uint8Array(0), report: new Uint8Array(64) } } }),
    ];
    const sent: Array<WeakRef<SessionFrame>> = [];
    let asked = 0;
    const requests = (): AsyncIterable<SessionFrame> => ({
      [Symbol.asyncIterator]: () => ({
        next: () => {
          asked++;
          const next = make.shift();
          if (!next) return new Promise(() => {}); // the daemon waits for its next period
          const frame = next();
          sent.push(new WeakRef(frame));
          return Promise.resolve({ value: frame, done: false });
        },
      }),
    });
    const stream = sessions.serve(requests(), caller, new AbortController().signal);
    expect((await stream.next()).value?.msg?.$case).toBe('configure');
    // both handled: the session asks for a third
    await until('both messages handled', async () => asked === 3 && ingest.pendingPgStats === 1);
    await new Promise((r) => setTimeout(r, 10));
    gc();
    // the session is open and waiting: neither message is reachable from it any more
    expect(sessions.sessionCount).toBe(1);
    expect(sent.map((w) => w.deref() === undefined)).toEqual([true, true]);
    shutdown.abort();
    await stream.next();
  });
  it('forwards a schema many daemons declare in full once (then by its hash), and counter values in memory of their own', async () => {
    const { ingest, forwarded } = heldIngest();
    const shutdown = new AbortController();
    const sessions = sessionsOver(ingest, shutdown.signal);
    const caller = admin;
    const schema = Array.from({ length: 40 }, (_, i) => ({ path: `osd.c${i}`, description: `counter ${i}`, nick: '', type: 2 | 8, priority: 5, units: 0 }));
    const values = (osd: number) =>
      packCounterValues(
        new CounterLayout(schema.map((c) => [c.path, c.type])),
        Object.fromEntries(schema.map((c, i) => [c.path, BigInt(osd * 1000 + i) + 2n ** 60n])),
      );
    // each daemon's messages decoded from its own bytes, as the server receives them
    const wire = (m: SessionRequest['msg']) => decodeSessionFrame(SessionRequest.encode({ msg: m }).finish());
    async function* requests(osd: number): AsyncGenerator<SessionFrame> {
      yield wire({ $case: 'open', value: { daemonName: `osd.${osd}`, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
      yield wire({
        $case: 'report',
        value: {
          declareTypes: schema,
          undeclareTypes: [],
          packed: [],
          counterValues: values(osd),
          daemonStatus: {},
          hasDaemonStatus: false,
          taskStatus: {},
          daemonHealthMetrics: [],
        },
      });
    }
    const streams = [1, 2].map((osd) => sessions.serve(requests(osd), caller, new AbortController().signal));
    for (const s of streams) for await (const _ of s); // each ends after its report
    await ingest.flush();
    const [a, b] = [1, 2].map((osd) => forwarded.find((r) => r.daemon === `osd.${osd}` && r.counterValues)!);
    expect(a.declare.map((t) => t.path)).toEqual(schema.map((t) => t.path));
    // the schema goes to cluster-state in full once, named by its hash; the second daemon's by the hash alone
    expect(a.schemaHash).toEqual(counterSchemaHash(schema));
    expect(b.schemaHash).toEqual(a.schemaHash);
    expect(b.declare).toEqual([]);
    for (const [osd, r] of [[1, a] as const, [2, b] as const]) {
      expect(Buffer.compare(r.counterValues!, values(osd))).toBe(0); // unchanged, u64 exact
      expect(r.counterValues!.byteLength).toBe(r.counterValues!.buffer.byteLength); // not a slice of a pool slab
    }
  });
  it('takes a schema named by its hash once a session declared it in full; an unknown hash is answered schema_unknown and the session stays', async () => {
    const { ingest, forwarded } = heldIngest();
    const sessions = sessionsOver(ingest, new AbortController().signal);
    const caller = admin;
    // a schema of this test's own: no other session in this process holds it
    const schema = Array.from({ length: 12 }, (_, i) => ({ path: `osd.named${i}`, description: `named ${i}`, nick: '', type: 2 | 8, priority: 5, units: 0 }));
    const hash = counterSchemaHash(schema);
    const layout = new CounterLayout(schema.map((c) => [c.path, c.type]));
    const values = (osd: number) => packCounterValues(layout, Object.fromEntries(schema.map((c, i) => [c.path, 2n ** 63n + BigInt(osd * 100 + i)])));
    const wire = (m: SessionRequest['msg']) => decodeSessionFrame(SessionRequest.encode({ msg: m }).finish());
    const open = (osd: number) =>
      wire({ $case: 'open', value: { daemonName: `osd.${osd}`, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
    const report = (osd: number, named: boolean) =>
      wire({
        $case: 'report',
        value: {
          schemaHash: named ? hash : undefined,
          declareTypes: named ? [] : schema,
          undeclareTypes: [],
          packed: [],
          counterValues: values(osd),
          daemonStatus: {},
          hasDaemonStatus: false,
          taskStatus: {},
          daemonHealthMetrics: [],
        },
      });
    const run = async (frames: SessionFrame[]) => {
      const out: SessionResponse[] = [];
      async function* requests() {
        yield* frames;
      }
      for await (const m of sessions.serve(requests(), caller, new AbortController().signal)) out.push(m);
      return out;
    };
    // nobody declared it yet: refused with schema_unknown, then the same session declares in full and is taken
    const first = await run([open(10), report(10, true), report(10, false)]);
    expect(first.map((m) => m.msg?.$case)).toEqual(['configure', 'schemaUnknown']);
    expect(first[1].msg).toEqual({ $case: 'schemaUnknown', value: { schemaHash: hash } });
    // while a session of that schema lives, another names it by hash alone and is taken
    const holder = sessions.serve(
      (async function* () {
        yield open(11);
        yield report(11, false);
        await new Promise(() => undefined); // stays open
      })(),
      caller,
      new AbortController().signal,
    );
    const it = holder[Symbol.asyncIterator]();
    await it.next(); // configure: open read
    await until('the declaring session to be read', async () => ingest.pendingDaemons >= 2, 5000, 10);
    const second = await run([open(12), report(12, true)]);
    expect(second.map((m) => m.msg?.$case)).toEqual(['configure']);
    await ingest.flush();
    const got = (osd: number) => forwarded.find((r) => r.daemon === `osd.${osd}` && r.counterValues)!;
    expect(got(10).declare.map((t) => t.path)).toEqual(schema.map((t) => t.path));
    expect(got(10).schemaHash).toEqual(hash);
    expect(got(12).schemaHash).toEqual(hash);
    for (const osd of [10, 11, 12]) expect(Buffer.compare(got(osd).counterValues!, values(osd))).toBe(0); // unchanged, u64 exact
    // a hash may name only a whole schema: in a session that declared, it is rejected (session kept)
    const third = await run([open(13), report(13, false), report(13, true)]);
    expect(third.map((m) => m.msg?.$case)).toEqual(['configure']);
    sessions.endAllSessions('test over');
    await it.return?.(undefined);
  });
});
