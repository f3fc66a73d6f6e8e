// The manager's messages against the captures of a real Pacific cluster
// (shared/ceph-wire/vectors): what daemons send a manager (MMgrOpen,
// MMgrReport with its packed counters, MPGStats), what it answers
// (MMgrConfigure), the commands of `ceph <prefix>` and `ceph tell mgr`,
// and what it exchanges with the monitors (MMgrBeacon, MMgrMap,
// MMonMgrReport with its PGMapDigest, MMgrDigest, MKVData, MServiceMap, MLog).
// Every message decodes; every message mgrpc sends re-encodes byte for byte.
import { DecodeError, Decoder, Encoder } from '../encoding';
import { Tag } from '../frames';
import { decodeMessageFrame, MsgType, msgTypeName, type Message } from '../message';
import * as L from '../messages/log';
import * as G from '../messages/mgr';
import * as R from '../messages/mgr-mon';
import * as B from '../messages/mgrmap';
import * as C from '../messages/perf-counters';
import * as P from '../messages/pg-stats';
import * as D from '../messages/pgmap-digest';
import * as S from '../messages/service-map';
import { readVector } from '../testing/pcap';
import { ZERO_UUID } from '../types';

const FSID = '878ce9f2-7ae8-4c08-b31d-209ddd0eafc9';
/** The captures of cluster A in the order they were taken: a connection of one goes on in the next. */
const CLUSTER_A = ['01-bringup', '02-steady-30s', '03-tell-mgr', '04-mgr-commands', '05-mon-commands'];

interface Captured {
  capture: string;
  /** "host:port->host:port": one direction of one TCP connection. */
  session: string;
  m: Message;
}

function* captured(names: string[], types?: number[]): Generator<Captured> {
  for (const capture of names)
    for (const c of readVector(capture))
      for (const d of [c.client, c.server])
        for (const f of d.frames) {
          if (f.tag !== Tag.MESSAGE) continue;
          const m = decodeMessageFrame(f.segments);
          if (!types || types.includes(m.type)) yield { capture, session: `${d.from}->${d.to}`, m };
        }
}

/** Decodes, re-encodes, and compares with what Ceph sent (type, versions, front, data). */
function sameAsCaptured(m: Message, ours: Message): void {
  expect([msgTypeName(ours.type), ours.version, ours.compatVersion]).toEqual([msgTypeName(m.type), m.version, m.compatVersion]);
  if (!ours.front.equals(m.front)) {
    const at = ours.front.findIndex((b, i) => b !== m.front[i]);
    throw new Error(`${msgTypeName(m.type)}: our front differs from the captured one at byte ${at} (${ours.front.length} vs ${m.front.length} bytes)`);
  }
  expect((ours.data ?? Buffer.alloc(0)).equals(m.data ?? Buffer.alloc(0))).toBe(true);
}

const json = (b: Buffer) => JSON.parse(b.toString('utf8'));

describe('daemon sessions: MMgrOpen, MMgrConfigure, MMgrReport', () => {
  it('every MMgrOpen decodes and re-encodes; an OSD sends its config and defaults, the monitor names its service', () => {
    const opens = [...captured(['01-bringup', '08-default-osds-crc-only-mgr'], [MsgType.MGR_OPEN])];
    expect(opens.length).toBe(20);
    for (const { m } of opens) sameAsCaptured(m, G.mMgrOpen(G.decodeMMgrOpen(m)));
    const all = opens.map(({ m }) => G.decodeMMgrOpen(m));
    const osd = all.find((o) => o.daemonName === '0' && o.serviceName === '')!;
    expect(osd.serviceDaemon).toBe(false);
    expect(osd.configDefaultsBl.length).toBeGreaterThan(60_000);
    const defaults = G.decodeConfigDefaults(osd.configDefaultsBl);
    expect(Object.keys(defaults).length).toBeGreaterThan(1000);
    expect(defaults.mgr_stats_period).toBe('5');
    const config = G.decodeDaemonConfig(osd.configBl); // option → source level → value
    expect([...config.get('osd_objectstore')!]).toEqual([[2, 'memstore']]);
    expect([...config.get('keyring')!.keys()]).toEqual([0, 2]);
    expect(all.find((o) => o.serviceName === 'mon')).toMatchObject({ daemonName: 'a' });
  });

  it('MMgrConfigure: period 5 and threshold 5; an MDS also gets an (empty) MDS metric configuration', () => {
    const configures = [...captured(['01-bringup', '08-default-osds-crc-only-mgr'], [MsgType.MGR_CONFIGURE])];
    expect(configures.length).toBe(18);
    for (const { m } of configures) sameAsCaptured(m, G.mMgrConfigure(G.decodeMMgrConfigure(m)));
    const all = configures.map(({ m }) => G.decodeMMgrConfigure(m));
    expect(all.every((c) => c.statsPeriod === 5 && c.statsThreshold === 5 && c.osdPerfMetricQueries.length === 0)).toBe(true);
    const withMetrics = all.filter((c) => c.metricConfig);
    expect(withMetrics.length).toBeGreaterThan(0);
    for (const c of withMetrics) expect(c.metricConfig).toEqual(G.EMPTY_MDS_METRIC_CONFIG);
  });

  it('every MMgrReport of pcaps 01-04 and 08 decodes, re-encodes, and its packed values fit its session`s declared counters', () => {
    // pcaps 02 and 04 catch sessions opened in 01: their schemas carry over
    const schemas = new Map<string, C.CounterSchema>();
    const firstDeclared = new Map<string, { daemon: string; declared: number; packed: number }>();
    const last = new Map<string, Map<string, C.CounterValue>>();
    let reports = 0;
    let checked = 0;
    for (const { session, m } of captured([...CLUSTER_A, '08-default-osds-crc-only-mgr'], [MsgType.MGR_REPORT])) {
      const r = G.decodeMMgrReport(m);
      sameAsCaptured(m, G.mMgrReport(r));
      reports++;
      let schema = schemas.get(session);
      if (!schema) schemas.set(session, (schema = new C.CounterSchema()));
      schema.update(r.declareTypes, r.undeclareTypes);
      if (r.declareTypes.length && !firstDeclared.has(session))
        firstDeclared.set(session, { daemon: r.daemonName, declared: r.declareTypes.length, packed: r.packed.length });
      expect(r.packed.length).toBe(schema.packedLength);
      // counters only go up within a session
      const values = new Map(schema.unpack(r.packed).map((v) => [v.path, v]));
      const before = last.get(session);
      for (const [path, v] of values) {
        const was = before?.get(path);
        if (!was || !(v.type & C.CounterType.COUNTER)) continue;
        expect(v.value >= was.value).toBe(true);
        if (C.isLongRunAvg(v.type)) expect(v.avgcount! >= was.avgcount!).toBe(true);
        checked++;
      }
      last.set(session, values);
    }
    expect(reports).toBe(28 + 42 + 7 + 7 + 12);
    expect(checked).toBeGreaterThan(1000);
    // the sizes the capture's summary records: OSD 37 counters in 494 bytes, MDS 129 in 1534, monitor 98 in 1158
    const sizes = [...firstDeclared.values()].map((f) => `${f.declared}:${f.packed}`);
    expect(sizes).toEqual(expect.arrayContaining(['37:494', '129:1534', '98:1158']));
  });

  it('an OSD declares its counters with their types, priorities and units', () => {
    const first = [...captured(['01-bringup'], [MsgType.MGR_REPORT])].map(({ m }) => G.decodeMMgrReport(m)).find((r) => r.declareTypes.length === 37)!;
    const byPath = new Map(first.declareTypes.map((t) => [t.path, t]));
    expect(first.declareTypes.map((t) => t.path)).toEqual(first.declareTypes.map((t) => t.path).sort());
    expect(byPath.get('osd.op')).toMatchObject({ type: C.CounterType.U64 | C.CounterType.COUNTER, priority: C.CounterPriority.CRITICAL, nick: 'ops' });
    expect(byPath.get('osd.op_latency')).toMatchObject({ type: C.CounterType.TIME | C.CounterType.LONGRUNAVG, priority: 9 });
    expect(byPath.get('osd.op_w_latency_in_bytes_histogram')!.type & C.CounterType.HISTOGRAM).toBeTruthy(); // packed as one le64 like the others
    expect(first.declareTypes.every((t) => t.priority >= 5)).toBe(true); // stats_threshold 5
    expect(byPath.get('osd.stat_bytes')?.unit).toBe(C.CounterUnit.BYTES);
  });

  it('packed values: exact past 2^53, in path byte order, refused when packed for another schema', () => {
    const t = (path: string, type: number): C.PerfCounterType => ({ path, description: '', nick: '', type, priority: 5, unit: C.CounterUnit.NONE });
    const schema = new C.CounterSchema();
    schema.update([
      t('osd.op_w', C.CounterType.U64 | C.CounterType.COUNTER),
      t('osd.op_r_latency', C.CounterType.TIME | C.CounterType.LONGRUNAVG),
      t('osd.Z', C.CounterType.U64),
    ]);
    expect(schema.declared.map((x) => x.path)).toEqual(['osd.Z', 'osd.op_r_latency', 'osd.op_w']); // bytes: 'Z' < 'o'
    const big = 2n ** 63n + 12345n;
    const packed = C.packCounters(
      schema.declared,
      new Map([
        ['osd.op_w', { value: big }],
        ['osd.op_r_latency', { value: 7n, avgcount: 3n, avgcount2: 3n }],
      ]),
    );
    expect(packed.length).toBe(6 + 8 * 5);
    expect(schema.unpack(packed)).toEqual([
      { path: 'osd.Z', type: C.CounterType.U64, value: 0n },
      { path: 'osd.op_r_latency', type: C.CounterType.TIME | C.CounterType.LONGRUNAVG, value: 7n, avgcount: 3n, avgcount2: 3n },
      { path: 'osd.op_w', type: C.CounterType.U64 | C.CounterType.COUNTER, value: big },
    ]);
    schema.update([], ['osd.Z']);
    expect(schema.packedLength).toBe(6 + 8 * 4);
    expect(() => schema.unpack(packed)).toThrow(/46 bytes; the 2 declared counters take 38/);
    expect(() => schema.unpack(packed)).toThrow(DecodeError);
  });
});

describe('MPGStats', () => {
  it('every MPGStats of pcaps 01, 02, 04 and 08 decodes and re-encodes byte for byte', () => {
    let n = 0;
    let pgs = 0;
    for (const { m } of captured([...CLUSTER_A, '08-default-osds-crc-only-mgr'], [P.MSG_PGSTATS])) {
      const s = P.decodeMPGStats(m);
      sameAsCaptured(m, P.mPGStats(s));
      n++;
      pgs += s.pgStat.length;
      for (const { pgid, stat } of s.pgStat) {
        expect(stat.up_primary).toBe(stat.acting_primary);
        expect(stat.acting).toContain(stat.acting_primary);
        expect(pgid.pool).toBeGreaterThan(0);
      }
    }
    expect(n).toBe(12 + 18 + 3 + 3 + 9);
    expect(pgs).toBeGreaterThan(400);
  });

  it('an OSD`s own statistics: its up_from in its seq, its heartbeat peers, its store', () => {
    const s = P.decodeMPGStats([...captured(['02-steady-30s'], [P.MSG_PGSTATS])][0].m);
    expect(s.fsid).toBe(FSID);
    const o = s.osdStat;
    expect(o.seq >> 32n).toBe(BigInt(o.up_from));
    expect(o.hb_peers.length).toBe(2);
    expect([...o.hb_pingtime.keys()].sort()).toEqual([...o.hb_peers].sort());
    expect(o.statfs.total).toBe(1n << 30n); // memstore's 1 GiB
    expect(o.statfs.available).toBeLessThan(o.statfs.total);
    expect(o.num_pgs).toBe(33);
    expect(P.pgStateString(s.pgStat[0].stat.state)).toBe('active+clean');
  });

  it('the OSDs` latest PG stats of pcap 02 add up to the digest the manager sent the monitors', () => {
    const latest = new Map<string, P.PgStat>();
    let digest: D.PGMapDigest | undefined;
    for (const { m } of captured(['02-steady-30s'], [P.MSG_PGSTATS, MsgType.MON_MGR_REPORT])) {
      if (m.type === P.MSG_PGSTATS) for (const { pgid, stat } of P.decodeMPGStats(m).pgStat) latest.set(P.pgIdString(pgid), stat);
      else digest = R.reportDigest(R.decodeMMonMgrReport(m));
    }
    const sum = (f: P.ObjectStatField) => [...latest.values()].reduce((a, s) => a + s.stats[f], 0n);
    expect(latest.size).toBe(digest!.num_pg);
    expect(sum('num_objects')).toBe(digest!.pg_sum.stats.num_objects);
    expect(sum('num_bytes')).toBe(digest!.pg_sum.stats.num_bytes);
    for (const [osd, count] of digest!.num_pg_by_osd) expect([...latest.values()].filter((s) => s.acting_primary === osd).length).toBe(count.primary);
  });

  it('PG state names follow pg_state_string', () => {
    expect(P.pgStateString(0)).toBe('unknown');
    expect(P.pgStateString(2 + 4)).toBe('active+clean');
    expect(P.pgStateString(2 + 4 + 2 ** 8 + 2 ** 19)).toBe('active+clean+scrubbing+deep');
    expect(P.pgStateString(2 ** 17 + 2 + 2 ** 23 + 2 ** 10 + 2 ** 34)).toBe('stale+active+undersized+degraded+wait');
  });

  it('a PG stat whose struct is longer than v26 (a newer OSD) decodes, the unknown tail skipped', () => {
    const s = P.decodeMPGStats([...captured(['02-steady-30s'], [P.MSG_PGSTATS])][0].m).pgStat[0].stat;
    const e = new Encoder();
    P.encodePgStat(e, s);
    const v26 = e.toBuffer();
    const newer = Buffer.concat([v26, Buffer.from([1, 2, 3, 4, 5])]);
    newer[0] = 27;
    newer.writeUInt32LE(v26.readUInt32LE(2) + 5, 2);
    expect(P.decodePgStat(new Decoder(newer))).toEqual(s);
  });
});

describe('commands', () => {
  it('MMgrCommand and its reply (pcap 04): `ceph hello`, `osd status`, `pg stat -f json`, byte for byte', () => {
    const seen = [...captured(['04-mgr-commands'], [MsgType.MGR_COMMAND, MsgType.MGR_COMMAND_REPLY])];
    expect(seen.length).toBe(8);
    const requests = seen
      .filter(({ m }) => m.type === MsgType.MGR_COMMAND)
      .map(({ m }) => (sameAsCaptured(m, G.mMgrCommand(G.decodeMMgrCommand(m))), G.decodeMMgrCommand(m)));
    const replies = seen
      .filter(({ m }) => m.type === MsgType.MGR_COMMAND_REPLY)
      .map(({ m }) => (sameAsCaptured(m, G.mMgrCommandReply(G.decodeMMgrCommandReply(m))), G.decodeMMgrCommandReply(m)));
    expect(requests.every((q) => q.fsid === ZERO_UUID)).toBe(true); // the CLI's MMgrCommand carries no fsid
    const prefixes = requests.map((q) => JSON.parse(q.cmd[0]).prefix);
    expect(prefixes).toEqual(['hello', 'osd status', 'pg stat', 'pg stat']);
    expect(JSON.parse(requests[0].cmd[0]).target).toEqual(['mon-mgr', '']);
    expect(replies[0]).toMatchObject({ r: 0, rs: 'Hello World' });
    expect(replies[1].data.toString()).toMatch(/ID.*HOST.*USED/);
    expect(json(replies[3].data)).toMatchObject({ pg_ready: true, pg_summary: { num_pgs: 33, num_bytes: 396278 } });
  });

  it('MCommand and its reply (pcap 03): `ceph tell mgr` gets the command table first, then its command', () => {
    const seen = [...captured(['03-tell-mgr'], [MsgType.COMMAND, MsgType.COMMAND_REPLY])];
    expect(seen.length).toBe(10);
    // tids count per connection: key each call by its connection and tid
    const calls = new Map<string, { cmd?: string; r?: number; rs?: string; data?: Buffer }>();
    const key = (session: string, tid: bigint) => `${session.split('->').sort().join('|')}#${tid}`;
    for (const { session, m } of seen) {
      const k = key(session, m.tid ?? 0n);
      if (m.type === MsgType.COMMAND) {
        const q = G.decodeMCommand(m);
        sameAsCaptured(m, G.mCommand(q));
        calls.set(k, { ...calls.get(k), cmd: JSON.parse(q.cmd[0]).prefix });
      } else {
        const a = G.decodeMCommandReply(m);
        sameAsCaptured(m, G.mCommandReply(a));
        calls.set(k, { ...calls.get(k), r: a.r, rs: a.rs, data: a.data });
      }
    }
    expect([...calls.values()].every((c) => c.cmd !== undefined && c.r !== undefined)).toBe(true); // every reply answers a request's tid
    const descs = [...calls.values()].filter((c) => c.cmd === 'get_command_descriptions');
    expect(descs.length).toBe(3);
    expect(Object.keys(json(descs[0].data!)).length).toBeGreaterThan(10);
    expect([...calls.values()].find((c) => c.cmd === 'mgr_status')).toMatchObject({ r: 0 });
    expect([...calls.values()].find((c) => c.cmd === 'version')).toMatchObject({ r: 0 });
    expect(json([...calls.values()].find((c) => c.cmd === 'version')!.data!)).toMatchObject({ version: '16.2.15', release: 'pacific' });
    // `ceph tell mgr hello` never reaches the manager: Pacific's table has no hello, and the CLI refuses it itself (EINVAL)
    expect([...calls.values()].map((c) => c.cmd).sort()).toEqual([
      'get_command_descriptions',
      'get_command_descriptions',
      'get_command_descriptions',
      'mgr_status',
      'version',
    ]);
    const table = Object.values(json(descs[0].data!)) as { sig: unknown[] }[];
    expect(table.some((d) => JSON.stringify(d.sig).includes('"hello"'))).toBe(false);
  });
});

describe('the manager and the monitors', () => {
  it('every MMgrBeacon of pcaps 01-05 re-encodes byte for byte; the first as active lists 279 commands (75 KB)', () => {
    const beacons = [...captured(CLUSTER_A, [MsgType.MGR_BEACON])].map(({ m }) => {
      const b = B.decodeMMgrBeacon(m);
      sameAsCaptured(m, B.mMgrBeacon(b));
      return { b, bytes: m.front.length };
    });
    expect(beacons.length).toBe(65);
    const withCommands = beacons.filter(({ b }) => b.commandDescs.length);
    expect(withCommands.map(({ b, bytes }) => [b.commandDescs.length, bytes])).toEqual([
      [279, 75028],
      [279, 75028],
    ]);
    const { b } = withCommands[0];
    expect(b).toMatchObject({ fsid: FSID, available: true, name: 'x' });
    expect(b.commandDescs.find((c) => c.cmdstring.startsWith('pg stat'))).toMatchObject({ module: 'pg', perm: 'r' });
    expect(b.metadata.ceph_version).toMatch(/^ceph version 16\.2\.15 /);
    expect(b.serverAddrs.map((a) => a.port)).toEqual([40226, 40227]);
    const seedhello = beacons[beacons.length - 1].b.modules.find((m) => m.name === 'seedhello');
    expect(seedhello).toMatchObject({ canRun: true, errorString: '' });
    expect(beacons.filter(({ b }) => !b.commandDescs.length).every(({ bytes }) => bytes < 23_000)).toBe(true);
  });

  it('our beacon, built from parts, equals the captured one', () => {
    const { m } = [...captured(['02-steady-30s'], [MsgType.MGR_BEACON])][0];
    const b = B.decodeMMgrBeacon(m);
    const ours = B.mMgrBeacon({
      ...b,
      paxos: undefined,
      // sets and maps come out sorted whatever order they go in
      metadata: Object.fromEntries(Object.entries(b.metadata).reverse()),
      modules: b.modules.map((x) => ({ ...x, moduleOptions: [...x.moduleOptions].reverse() })),
    });
    expect(ours.front.equals(m.front)).toBe(true);
  });

  it('every MMgrMap of pcaps 01-05 decodes in full (MgrMap v12) and re-encodes byte for byte', () => {
    const maps = [...captured(CLUSTER_A, [MsgType.MGR_MAP])].map(({ m }) => (sameAsCaptured(m, B.mMgrMap(B.decodeMMgrMap(m))), B.decodeMMgrMap(m)));
    expect(maps.length).toBeGreaterThan(100);
    const last = maps.reduce((a, x) => (x.epoch > a.epoch ? x : a));
    expect(last).toMatchObject({ activeName: 'x', available: true, activeGid: 4166n });
    expect(last.modules).toEqual(['iostat', 'nfs', 'restful', 'seedhello']);
    expect(last.standbys.map((s) => s.name)).toEqual(['y']);
    expect(last.standbys[0].availableModules.map((x) => x.name)).toEqual(last.availableModules.map((x) => x.name));
    expect(last.alwaysOnModules.get(16)).toContain('pg_autoscaler');
    expect(last.clients.map((c) => c.name)).toContain('rbd_support');
    const option = last.availableModules.find((x) => x.name === 'alerts')!.moduleOptions.find((o) => o.name === 'interval');
    expect(option).toMatchObject({ type: B.OptionType.SECS, defaultValue: '60' });
  });

  it('every MMonMgrReport of pcaps 01-04 re-encodes byte for byte, its PGMapDigest too', () => {
    const reports = [...captured(CLUSTER_A, [MsgType.MON_MGR_REPORT])].map(({ m }) => {
      const r = R.decodeMMonMgrReport(m);
      const digest = R.reportDigest(r);
      expect(D.encodePGMapDigest(digest).equals(r.digestBl)).toBe(true);
      sameAsCaptured(m, R.mMonMgrReport({ ...r, digest }));
      return { r, digest };
    });
    expect(reports.length).toBeGreaterThanOrEqual(10 + 16 + 1 + 2);
    const { r, digest } = reports.find(({ r }) => r.gid === 4166n)!;
    expect(r.healthChecks.size).toBe(0);
    expect(digest).toMatchObject({ num_pg: 33, num_pg_active: 33, num_pg_unknown: 0, num_osd: 3 });
    expect([...digest.num_pg_by_state]).toEqual([[6, 33]]); // active+clean
    expect(digest.osd_sum.statfs.total).toBe(3n << 30n);
    expect([...digest.osd_sum_by_class.keys()]).toEqual(['hdd']);
    expect(digest.osd_last_seq.length).toBe(3);
    const autoscale = reports.flatMap(({ r }) => [...r.progressEvents.values()]).find((p) => /PG autoscaler/.test(p.message));
    expect(autoscale).toMatchObject({ addToCephS: false });
  });

  it('health checks encode as health_check_map_t v1 of health_check_t v2', () => {
    const checks: R.HealthChecks = new Map([
      [
        'PG_DEGRADED',
        { severity: R.HealthStatus.WARN, summary: 'Degraded data redundancy: 1 pg degraded', detail: ['pg 1.0 is active+undersized+degraded'], count: 1n },
      ],
      ['MGR_MODULE_ERROR', { severity: R.HealthStatus.ERR, summary: "Module 'x' has failed", detail: [], count: 1n }],
    ]);
    const e = new Encoder();
    R.encodeHealthChecks(e, checks);
    const bytes = e.toBuffer();
    // the map's codes in byte order: MGR_MODULE_ERROR first
    const expected = new Encoder()
      .struct(1, 1, (x) => {
        x.u32(2);
        x.string('MGR_MODULE_ERROR').struct(2, 1, (y) => y.u8(0).string("Module 'x' has failed").u32(0).i64(1));
        x.string('PG_DEGRADED').struct(2, 1, (y) =>
          y.u8(1).string('Degraded data redundancy: 1 pg degraded').u32(1).string('pg 1.0 is active+undersized+degraded').i64(1),
        );
      })
      .toBuffer();
    expect(bytes.equals(expected)).toBe(true);
    expect(R.decodeHealthChecks(new Decoder(bytes))).toEqual(new Map([...checks].reverse()));
    const report = R.decodeMMonMgrReport(
      R.mMonMgrReport({ healthChecks: checks, serviceMapBl: Buffer.alloc(0), progressEvents: new Map(), gid: 7n, digest: D.emptyPGMapDigest() }),
    );
    expect(report.healthChecks.get('PG_DEGRADED')).toEqual(checks.get('PG_DEGRADED'));
    expect(R.reportDigest(report)).toEqual(D.emptyPGMapDigest());
  });

  it('MMgrDigest carries mon_status and health as JSON', () => {
    const digests = [...captured(['01-bringup', '02-steady-30s'], [MsgType.MGR_DIGEST])].map(
      ({ m }) => (sameAsCaptured(m, R.mMgrDigest(R.decodeMMgrDigest(m))), R.decodeMMgrDigest(m)),
    );
    expect(digests.length).toBe(6 + 6);
    const last = digests[digests.length - 1];
    expect(json(last.monStatusJson)).toMatchObject({ name: 'a', state: 'leader', monmap: { fsid: FSID } });
    expect(json(last.healthJson)).toHaveProperty('status');
  });

  it('MKVData brings the monitors` config-key store under mgr/ (full, then changes), byte for byte', () => {
    const kv = [...captured(['01-bringup'], [R.MSG_KV_DATA])].map(({ m }) => (sameAsCaptured(m, R.mKVData(R.decodeMKVData(m))), R.decodeMKVData(m)));
    expect(kv.length).toBe(15);
    expect(new Set(kv.map((k) => k.prefix))).toEqual(new Set(['config/', 'device/', 'mgr/']));
    const full = kv.filter((k) => k.prefix === 'mgr/' && !k.incremental && k.data.size).pop()!;
    expect([...full.data.keys()]).toEqual(['mgr/devicehealth/last_scrape', 'mgr/telemetry/report_id', 'mgr/telemetry/salt']);
    expect(full.data.get('mgr/devicehealth/last_scrape')!.toString()).toMatch(/^\d{8}-\d{6}$/);
    const removed = R.decodeMKVData(R.mKVData({ version: 9n, prefix: 'mgr/', incremental: true, data: new Map([['mgr/crash/x', undefined]]) }));
    expect(removed.data.has('mgr/crash/x')).toBe(true);
    expect(removed.data.get('mgr/crash/x')).toBeUndefined();
  });

  it('MServiceMap decodes; a service map with daemons round-trips in std::map order', () => {
    const maps = [...captured(['01-bringup'], [MsgType.SERVICE_MAP])].map(
      ({ m }) => (sameAsCaptured(m, S.mServiceMap(S.decodeMServiceMap(m))), S.decodeMServiceMap(m)),
    );
    expect(maps.length).toBe(2);
    expect(maps[0].services.size).toBe(0);
    const daemon = (gid: bigint): S.ServiceDaemon => ({
      gid,
      addr: { type: 2, nonce: 77, family: 'v4', host: '127.0.0.1', port: 7480 },
      startEpoch: 3,
      startStamp: { sec: 1700000000, nsec: 5 },
      metadata: { zone_name: 'default', hostname: 'h1' },
      taskStatus: {},
    });
    const map: S.ServiceMap = {
      epoch: 4,
      modified: { sec: 1700000001, nsec: 0 },
      services: new Map([
        [
          'rgw',
          {
            daemons: new Map([
              ['rgw.b', daemon(20n)],
              ['rgw.a', daemon(10n)],
            ]),
            summary: '',
          },
        ],
      ]),
    };
    const back = S.decodeServiceMap(new Decoder(S.serviceMapBytes(map)));
    expect([...back.services.get('rgw')!.daemons.keys()]).toEqual(['rgw.a', 'rgw.b']);
    expect(back.services.get('rgw')!.daemons.get('rgw.b')).toEqual(daemon(20n));
    expect(Object.keys(back.services.get('rgw')!.daemons.get('rgw.a')!.metadata)).toEqual(['hostname', 'zone_name']);
  });

  it('the active manager`s cluster log (MLog to the monitors) decodes', () => {
    const logs = [...captured(['01-bringup'], [MsgType.LOG])].filter(({ session }) => session.endsWith(':40200')).map(({ m }) => L.decodeMLog(m));
    const fromMgr = logs.flatMap((l) => l.entries).filter((e) => e.name.type === 0x10);
    expect(fromMgr.length).toBeGreaterThan(0);
    expect(fromMgr.every((e) => e.channel === 'cluster' || e.channel === 'audit')).toBe(true);
  });
});

describe('hostile input', () => {
  const decoders: [number, (m: Message) => unknown][] = [
    [MsgType.MGR_OPEN, G.decodeMMgrOpen],
    [MsgType.MGR_CONFIGURE, G.decodeMMgrConfigure],
    [MsgType.MGR_REPORT, G.decodeMMgrReport],
    [P.MSG_PGSTATS, P.decodeMPGStats],
    [MsgType.MGR_COMMAND, G.decodeMMgrCommand],
    [MsgType.COMMAND_REPLY, G.decodeMCommandReply],
    [MsgType.MGR_BEACON, B.decodeMMgrBeacon],
    [MsgType.MGR_MAP, B.decodeMMgrMap],
    [MsgType.MON_MGR_REPORT, (m) => R.reportDigest(R.decodeMMonMgrReport(m))],
    [MsgType.MGR_DIGEST, R.decodeMMgrDigest],
    [MsgType.SERVICE_MAP, S.decodeMServiceMap],
    [R.MSG_KV_DATA, R.decodeMKVData],
  ];

  /** Cut short, a byte set to 0xff, a le32 made huge: at 64 places spread over the message. */
  function* mutations(b: Buffer): Generator<Buffer> {
    const step = Math.max(1, Math.floor(b.length / 64));
    for (let at = 0; at < b.length; at += step) {
      yield b.subarray(0, at);
      const flipped = Buffer.from(b);
      flipped[at] = 0xff;
      yield flipped;
      if (at + 4 <= b.length) {
        const huge = Buffer.from(b);
        huge.writeUInt32LE(0xfffffff0, at);
        yield huge;
      }
    }
  }

  it('mangled fronts and data make the decoders throw DecodeError and nothing else', () => {
    let cases = 0;
    const samples = new Map<number, Message>();
    for (const { m } of captured(['01-bringup', '02-steady-30s', '03-tell-mgr', '04-mgr-commands'])) if (!samples.has(m.type)) samples.set(m.type, m);
    for (const [type, decode] of decoders) {
      const m = samples.get(type);
      expect(m).toBeDefined();
      const segment = type === MsgType.MON_MGR_REPORT ? 'data' : 'front';
      for (const bad of mutations((m as Message)[segment] as Buffer)) {
        cases++;
        try {
          decode({ ...(m as Message), [segment]: bad });
        } catch (e) {
          if (!(e instanceof DecodeError)) throw new Error(`${msgTypeName(type)}: ${(e as Error).name} ${(e as Error).message}`);
        }
      }
    }
    expect(cases).toBeGreaterThan(1500);
  });

  it('a count no message can hold is refused before anything is allocated', () => {
    const { m } = [...captured(['02-steady-30s'], [P.MSG_PGSTATS])][0];
    const s = P.decodeMPGStats(m);
    const front = Buffer.from(m.front);
    const pgCountAt = 18 + 16 + 6 + front.readUInt32LE(18 + 16 + 2); // paxos, fsid, osd_stat_t envelope and body
    expect(front.readUInt32LE(pgCountAt)).toBe(s.pgStat.length);
    front.writeUInt32LE(0x7fffffff, pgCountAt);
    expect(() => P.decodeMPGStats({ ...m, front })).toThrow(/does not fit/);
    expect(() => G.decodeMMgrReport({ ...m, type: MsgType.MGR_REPORT, front: Buffer.from([1, 0, 0, 0, 0x61, 0xff, 0xff, 0xff, 0x7f]) })).toThrow(
      /does not fit/,
    );
  });

  it('a message of another type is refused by name', () => {
    const { m } = [...captured(['04-mgr-commands'], [MsgType.MGR_COMMAND])][0];
    expect(() => G.decodeMMgrReport(m)).toThrow(/expected MGR_REPORT \(type 0x702\), got MGR_COMMAND/);
    expect(() => P.decodeMPGStats(m)).toThrow(/expected 0x57/);
  });

  it('an unknown metric payload kind is refused, not taken for an empty one', () => {
    const front = new Encoder()
      .u32(5)
      .u32(5)
      .u32(0)
      .u8(1)
      .u32(9)
      .struct(1, 1, (e) => e.u32(0))
      .toBuffer();
    expect(() => G.decodeMMgrConfigure({ type: MsgType.MGR_CONFIGURE, version: 4, compatVersion: 1, front })).toThrow(/unknown kind 9/);
  });
});
