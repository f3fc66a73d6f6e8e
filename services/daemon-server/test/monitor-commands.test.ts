// The monitors' commands through daemon-server, end to end (startMonitorStack:
// a real cluster-state fed by the simulator, a real standby service, the
// simulated monitors' command endpoint, and daemon-server in front). Reads are checked
// against Ceph Pacific's JSON (the fixtures' key paths) and plain text
// (fixtures/pacific-mon: line and table layouts); writes by their answer and
// their effect in a following read; caps and the advertising mark too.
import * as fs from 'fs';
import * as path from 'path';
import { Status } from 'nice-grpc';
import { openChannel, makeClient } from '../../../lib/client';
import { DaemonServerServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { shapeDiff } from '../../../lib/testing/shape';
import { until } from '../../../lib/testing/wait';
import type { ClusterStateHandle } from '../../cluster-state/server';
import { SimCluster } from '../../../sim/cluster';
import { MapFeed } from '../../../sim/feed';
import { startDaemonServer } from '../server';
import { advertisedCommands, COMMAND_TABLE } from '../domain/commands';
import { MONITOR_COMMANDS } from '../domain/monitor/commands';
import { fixture, startMonitorStack } from './helpers';

const CAPTURES = path.join(__dirname, 'fixtures/pacific-mon');
const captured = (name: string): string => fs.readFileSync(path.join(CAPTURES, name), 'utf8');
const capturedJson = (name: string): any => JSON.parse(captured(name));

/** A table's header cells (split where Ceph's TextTable put two or more spaces). */
const headerCells = (text: string, marker: RegExp) => (text.split('\n').find((l) => marker.test(l)) ?? '').trim().split(/\s{2,}/);

describe('monitor commands', () => {
  let stack: Awaited<ReturnType<typeof startMonitorStack>>;
  let sim: SimCluster;
  let feed: MapFeed;
  let cs: ClusterStateHandle;
  let dir: string;
  const run = (prefix: string, args: Record<string, unknown> = {}, who = 'client.admin') => stack.run(prefix, args, who);
  const json = async (prefix: string, args: Record<string, unknown> = {}) => {
    const r = await run(prefix, { ...args, format: 'json' });
    expect([prefix, r.retcode, r.stderr]).toEqual([prefix, 0, expect.any(String)]);
    return JSON.parse(r.stdout);
  };
  const plain = async (prefix: string, args: Record<string, unknown> = {}) => {
    const r = await run(prefix, args);
    expect([prefix, r.retcode]).toEqual([prefix, 0]);
    return r.stdout;
  };

  beforeAll(async () => {
    stack = await startMonitorStack();
    ({ sim, feed, cs, dir } = stack);
  }, 60000);

  afterAll(() => stack?.close());

  it("JSON: each read has the key paths of Ceph's output", async () => {
    const rates = ['$.pgmap.read_bytes_sec', '$.pgmap.write_bytes_sec', '$.pgmap.read_op_per_sec', '$.pgmap.write_op_per_sec'];
    const checks: Array<[string, Record<string, unknown>, unknown, Parameters<typeof shapeDiff>[2]?]> = [
      ['status', {}, fixture('status.json'), { mapPaths: ['$.servicemap.services', '$.mgrmap.services'], optionalPaths: rates }],
      ['health', {}, fixture('health.json')],
      ['df', {}, fixture('df.json')],
      ['df', { detail: 'detail' }, capturedJson('df-detail.json')],
      ['osd tree', {}, fixture('osd-tree.json')],
      ['osd dump', {}, fixture('osd-dump.json'), { mapPaths: ['$.blocklist'] }],
      ['osd stat', {}, capturedJson('osd-stat.json')],
      ['osd pool ls', { detail: 'detail' }, fixture('osd-pool-ls-detail.json')],
      ['mon stat', {}, capturedJson('mon-stat.json')],
      ['mon dump', {}, fixture('mon-dump.json')],
      ['quorum_status', {}, fixture('quorum-status.json')],
      ['versions', {}, fixture('versions.json'), { mapPaths: ['$.mon', '$.mgr', '$.osd', '$.mds', '$.overall'] }],
      ['config dump', {}, capturedJson('config-dump.json')],
      ['fs ls', {}, fixture('fs-ls.json')],
      [
        'fs dump',
        {},
        fixture('fs-dump.json'),
        { mapPaths: ['$.filesystems[0].mdsmap.info', '$.filesystems[0].mdsmap.up', '$.compat.incompat', '$.filesystems[0].mdsmap.compat.incompat'] },
      ],
    ];
    // Something in the configuration database, and a cluster log, to compare.
    expect((await run('config set', { who: 'global', name: 'osd_pool_default_size', value: '3' })).retcode).toBe(0);
    for (const [prefix, args, reference, opts] of checks) {
      const got = await json(prefix, args);
      const diff = shapeDiff(got, reference, opts);
      // An rgw daemon is a service Ceph's fixture cluster did not run; it had no client reads either.
      expect([prefix, args, diff.filter((d) => !/^\$\.(rgw|pgmap\.read_bytes_sec)/.test(d))]).toEqual([prefix, args, []]);
    }
    expect(await json('osd pool ls')).toEqual(sim.pools.map((p) => p.name));
    expect(await json('osd ls')).toEqual([0, 1, 2]);
    // The health check detail shape, from Ceph's HEALTH_WARN capture.
    await run('osd set', { key: 'noout' });
    const detail = await json('health', { detail: 'detail' });
    expect(shapeDiff(detail, fixture('health-detail-warn.json'), { mapPaths: ['$.checks'] })).toEqual([]);
    expect(detail.checks.OSDMAP_FLAGS).toEqual({ severity: 'HEALTH_WARN', summary: { message: 'noout flag(s) set', count: 1 }, detail: [], muted: false });
    expect(
      shapeDiff(
        await json('health'),
        { status: 'x', checks: { X: fixture('status-warn.json').health.checks.OSDMAP_FLAGS }, mutes: [] },
        { mapPaths: ['$.checks'] },
      ),
    ).toEqual([]);
    await run('osd unset', { key: 'noout' });
    const log = await json('log last', { channel: '*' });
    expect(log.length).toBeGreaterThan(0);
    expect(shapeDiff(log, capturedJson('log-last.json'))).toEqual([]);
  });

  it('plain: status reads as `ceph -s` (services with mds and rgw, the active manager, data, io)', async () => {
    const lines = (await plain('status')).split('\n');
    const ceph = captured('status.plain').split('\n');
    // The same sections, in the same order, separated by " " lines.
    const sections = (l: string[]) => l.filter((x) => /^ {2}\w+:$/.test(x) || x === ' ');
    expect(sections(lines)).toEqual(sections(ceph));
    const expectLine = (re: RegExp) => expect(lines.find((l) => re.test(l))).toBeDefined();
    expectLine(new RegExp(`^ {4}id: {5}${sim.fsid}$`));
    expectLine(/^ {4}health: HEALTH_OK$/);
    expectLine(/^ {4}mon: 1 daemons, quorum a \(age \d+[smhdw]\)$/);
    expectLine(/^ {4}mgr: x\(active, since \d+(\.\d+)?[smhd]\)$/);
    expectLine(/^ {4}mds: 1\/1 daemons up$/);
    expectLine(/^ {4}osd: 3 osds: 3 up \(since \d+[smhd]\), 3 in \(since \d+[smhd]\)$/);
    expectLine(/^ {4}rgw: 1 daemon active \(1 hosts, 1 zones\)$/);
    expectLine(/^ {4}volumes: 1\/1 healthy$/);
    expectLine(/^ {4}pools: {3}5 pools, 89 pgs$/);
    expectLine(/^ {4}objects: [\d.]+k? objects, [\d.]+ [KMG]iB$/);
    expectLine(/^ {4}usage: {3}[\d.]+ [KMG]iB used, [\d.]+ [KMG]iB \/ 3 GiB avail$/);
    expectLine(/^ {4}pgs: {5}89 active\+clean$/);
    expectLine(/^ {4}client: {3}[\d.]+ [KMG]?i?B\/s rd, [\d.]+ [KMG]?i?B\/s wr, \d+ op\/s rd, \d+ op\/s wr$/);
    // Each line of Ceph's capture has a counterpart of the same form.
    const form = (l: string) => l.replace(/:\s.*$/, ':');
    expect(lines.map(form)).toEqual(expect.arrayContaining(ceph.filter((l) => l.trim()).map(form)));
  });

  it('plain: a warning, the flags and the pg states as Ceph lays them out', async () => {
    await run('osd set', { key: 'noout' });
    await run('osd out', { ids: ['2'] });
    const s = await plain('status');
    expect(s).toContain('    health: HEALTH_WARN\n            noout flag(s) set\n');
    expect(s).toMatch(/\n {4}osd: 3 osds: 3 up \(since [^)]+\), 2 in \(since [^)]+\)\n {9}flags noout\n/);
    expect(captured('status-warn.plain')).toMatch(/\n {4}osd: .*\n {9}flags noout\n/);
    const stat = await plain('osd stat');
    expect(stat).toMatch(/^3 osds: 3 up \(since [^)]+\), 2 in \(since [^)]+\); epoch: e\d+\nflags noout\n$/);
    expect(captured('osd-stat-flags.plain')).toMatch(/^3 osds: 3 up \(since [^)]+\), 3 in \(since [^)]+\); epoch: e\d+; 21 remapped pgs\nflags noout\n$/);
    const detail = await plain('health', { detail: 'detail' });
    expect(detail).toBe('HEALTH_WARN noout flag(s) set\n[WRN] OSDMAP_FLAGS: noout flag(s) set\n');
    // The cluster log says it as a Pacific monitor does.
    expect(await plain('log last', { num: 5 })).toMatch(/ mon\.a \(mon\.0\) \d+ : cluster \[WRN\] Health check failed: noout flag\(s\) set \(OSDMAP_FLAGS\)\n/);
    expect(captured('health-detail-warn.plain').split('\n')[1]).toBe('[WRN] OSDMAP_FLAGS: noout flag(s) set');
    await run('osd unset', { key: 'noout' });
    await run('osd in', { ids: ['2'] });
  });

  it("plain: df, osd tree, config dump tables have Ceph's columns and alignment", async () => {
    const df = await plain('df');
    expect(df.split('\n').filter((l) => l.startsWith('---'))).toEqual(['--- RAW STORAGE ---', '--- POOLS ---']);
    expect(headerCells(df, /^CLASS/)).toEqual(headerCells(captured('df.plain'), /^CLASS/));
    expect(headerCells(df, /^POOL/)).toEqual(headerCells(captured('df.plain'), /^POOL/));
    expect(df).toMatch(/\nTOTAL +3 GiB +[\d.]+ [KMG]iB/);
    const dfd = await plain('df', { detail: 'detail' });
    expect(headerCells(dfd, /^POOL/)).toEqual(headerCells(captured('df-detail.plain'), /^POOL/));
    // Right-aligned columns end where their header ends (TextTable).
    const rows = df.split('\n').filter((l) => /^(cephfs_data|POOL) /.test(l));
    expect(rows[0].indexOf('MAX AVAIL') + 'MAX AVAIL'.length).toBe(rows[1].length);

    const tree = await plain('osd tree');
    const cephTree = captured('osd-tree.plain').split('\n');
    expect(tree.split('\n')[0]).toBe(cephTree[0]);
    // Same shape as the capture, which has the same one-host layout.
    const skeleton = (l: string) => l.replace(/\d\.\d{5}/g, 'W').replace(/[0-9a-f-]{36}/, 'U');
    expect(tree.split('\n').map(skeleton)).toEqual(cephTree.map(skeleton));

    await run('config set', { who: 'mon', name: 'mon_max_pg_per_osd', value: '300' });
    await run('config set', { who: 'osd.0', name: 'debug_osd', value: '5/5' });
    const cfg = await plain('config dump');
    expect(headerCells(cfg, /^WHO/)).toEqual(['WHO', 'MASK', 'LEVEL', 'OPTION', 'VALUE', 'RO']);
    expect(cfg).toMatch(
      /\nglobal +advanced +osd_pool_default_size +3 +\n {2}mon +advanced +mon_max_pg_per_osd +300 +\n {4}osd\.0 +advanced +debug_osd +5\/5 +\n/,
    );
    expect(captured('config-dump.plain')).toMatch(
      /\nglobal +advanced +osd_pool_default_size +2 +\n {2}mon +advanced +mon_max_pg_per_osd +300 +\n {4}osd\.0 +advanced/,
    );
  });

  it('plain: osd dump, pool ls detail, mon stat, mon dump, fs ls, fs dump, log last line by line', async () => {
    const dump = (await plain('osd dump')).split('\n');
    const cephDump = captured('osd-dump-flags.plain').split('\n');
    const key = (l: string) => l.split(/[ \t]/)[0].replace(/\d+/g, '#');
    expect([...new Set(dump.filter(Boolean).map(key))]).toEqual([...new Set(cephDump.filter((l) => l && !l.startsWith('pg_temp')).map(key))]);
    const poolRe =
      /^pool \d+ '[^']+' replicated size \d+ min_size \d+ crush_rule 0 object_hash rjenkins pg_num \d+ pgp_num \d+( pgp_num_target \d+)? autoscale_mode on last_change \d+( lfor \d+\/\d+\/\d+)? flags hashpspool stripe_width 0( [a-z_]+ [\d.]+)*( application [a-z_,]+)?$/;
    for (const l of cephDump.filter((x) => x.startsWith('pool '))) expect(l).toMatch(poolRe);
    for (const l of dump.filter((x) => x.startsWith('pool '))) expect(l).toMatch(poolRe);
    const osdRe =
      /^osd\.\d+ (up  |down) (in |out) weight [\d.]+ up_from \d+ up_thru \d+ down_at \d+ last_clean_interval \[\d+,\d+\) \[v2:[\d.:/]+,v1:[\d.:/]+\] \[v2:[\d.:/]+,v1:[\d.:/]+\] exists(,up)? [0-9a-f-]{36}$/;
    for (const l of cephDump.filter((x) => x.startsWith('osd.'))) expect(l).toMatch(osdRe);
    for (const l of dump.filter((x) => x.startsWith('osd.'))) expect(l).toMatch(osdRe);
    const ls = await plain('osd pool ls', { detail: 'detail' });
    expect(
      ls
        .split('\n')
        .filter(Boolean)
        .every((l) => poolRe.test(l)),
    ).toBe(true);
    expect(ls.endsWith('\n\n')).toBe(captured('osd-pool-ls-detail.plain').endsWith('\n\n'));

    const monRe = /^e\d+: \d+ mons at \{a=\[v2:[\d.:]+\/0,v1:[\d.:]+\/0\]\} removed_ranks: \{\}, election epoch \d+, leader 0 a, quorum 0 a$/;
    expect(captured('mon-stat.plain').trim()).toMatch(monRe);
    expect((await plain('mon stat')).trim()).toMatch(monRe);
    const monDump = await run('mon dump');
    expect(monDump.stderr).toBe('dumped monmap epoch 1');
    expect(monDump.stdout.split('\n').map(key)).toEqual(captured('mon-dump.plain').split('\n').map(key));
    expect(await plain('fs ls')).toBe('name: cephfs, metadata pool: cephfs_metadata, data pools: [cephfs_data ]\n');
    expect(captured('fs-ls.plain')).toBe('name: cephfs, metadata pool: cephfs_metadata, data pools: [cephfs_data ]\n');
    const fsDump = (await plain('fs dump')).split('\n');
    expect(fsDump.map(key)).toEqual(captured('fs-dump.plain').split('\n').map(key));
    expect(fsDump.find((l) => l.startsWith('[mds.a{0:'))).toMatch(
      /^\[mds\.a\{0:\d+\} state up:active seq \d+ addr \[v2:[\d.:/]+,v1:[\d.:/]+\] compat \{c=\[1\],r=\[1\],i=\[7ff\]\}\]$/,
    );
    const logRe = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000 mon\.a \(mon\.0\) \d+ : cluster \[(INF|WRN)\] .+$/;
    for (const l of captured('log-last.plain').trim().split('\n')) expect(l).toMatch(logRe);
    await run('osd out', { ids: ['1'] });
    await run('osd in', { ids: ['1'] });
    const log = (await plain('log last', { num: 2 })).trim().split('\n');
    expect(log).toHaveLength(2);
    for (const l of log) expect(l).toMatch(logRe);
    expect(log[1]).toMatch(/ Client client\.admin marked osd\.1 in, while it was still marked up$/);
    // versions and quorum_status print JSON in every format, as Ceph's do.
    expect(JSON.parse(await plain('versions')).osd).toEqual({ [sim.osdMetadataOf(0).ceph_version]: 3 });
    expect(JSON.parse(await plain('quorum_status')).quorum_names).toEqual(['a']);
  });

  it('writes answer as Ceph does and change the maps a following read sees', async () => {
    // Ceph's answers, from writes.txt (a real monitor's transcript).
    const transcript = captured('writes.txt');
    const expectOuts = async (prefix: string, args: Record<string, unknown>, retcode: number, outs: string | RegExp) => {
      const r = await run(prefix, args);
      expect([prefix, args, r.retcode]).toEqual([prefix, args, retcode]);
      if (typeof outs === 'string') expect(r.stderr).toBe(outs);
      else expect(r.stderr).toMatch(outs);
      return r;
    };
    await expectOuts('osd pool create', { pool: 'foo', pg_num: 8 }, 0, "pool 'foo' created");
    expect(transcript).toContain("pool 'foo' created");
    await expectOuts('osd pool create', { pool: 'foo', pg_num: 8 }, 0, "pool 'foo' already exists");
    expect(await json('osd pool ls')).toContain('foo');
    const foo = sim.pool('foo')!;
    await expectOuts('osd pool set', { pool: 'foo', var: 'size', val: '2' }, 0, `set pool ${foo.id} size to 2`);
    await expectOuts('osd pool set', { pool: 'foo', var: 'pg_num', val: '16' }, 0, `set pool ${foo.id} pg_num to 16`);
    await expectOuts('osd pool set', { pool: 'nopool', var: 'size', val: '2' }, -2, "unrecognized pool 'nopool'");
    await expectOuts('osd pool set', { pool: 'foo', var: 'size', val: '1' }, -1, 'configuring pool size as 1 is disabled by default.');
    await expectOuts(
      'osd pool set',
      { pool: 'foo', var: 'hashpspool', val: 'true' },
      -1,
      'are you SURE?  this will remap all placement groups in this pool, this triggers large data movement, pass --yes-i-really-mean-it if you really do.',
    );
    await expectOuts('osd pool set', { pool: 'foo', var: 'crush_rule', val: '0' }, -2, 'crush rule 0 does not exist');
    await expectOuts('osd pool set-quota', { pool: 'foo', field: 'max_bytes', val: '1000' }, 0, 'set-quota max_bytes = 1000 for pool foo');
    const detail = (await json('osd pool ls', { detail: 'detail' })).find((p: any) => p.pool_name === 'foo');
    expect(detail).toMatchObject({ size: 2, min_size: 1, pg_num: 16, pg_placement_num: 16, quota_max_bytes: 1000, application_metadata: {} });
    expect((await plain('osd pool ls', { detail: 'detail' })).split('\n').find((l) => l.includes("'foo'"))).toMatch(/ max_bytes 1000 stripe_width 0$/);
    await expectOuts('osd pool delete', { pool: 'foo' }, -1, /^WARNING: this will \*PERMANENTLY DESTROY\* all data stored in pool foo\./);
    await expectOuts('osd pool delete', { pool: 'foo', pool2: 'foo', yes_i_really_really_mean_it: true }, 0, "pool 'foo' removed");
    await expectOuts('osd pool delete', { pool: 'foo', pool2: 'foo', yes_i_really_really_mean_it: true }, 0, "pool 'foo' does not exist");
    expect(await json('osd pool ls')).not.toContain('foo');

    await expectOuts('osd out', { ids: ['0'] }, 0, 'marked out osd.0. ');
    await expectOuts('osd out', { ids: ['0'] }, 0, 'osd.0 is already out. ');
    expect((await json('osd stat')).num_in_osds).toBe(2);
    // Out: its PGs moved to the OSDs still in.
    expect(sim.pgs.some((pg) => pg.acting.includes(0))).toBe(false);
    await expectOuts('osd in', { ids: ['0'] }, 0, 'marked in osd.0. ');
    await expectOuts('osd reweight', { id: 'osd.1', weight: 0.5 }, 0, 'reweighted osd.1 to 0.5 (8000)');
    expect(transcript).toContain('reweighted osd.1 to 0.5 (8000)');
    expect((await json('osd tree')).nodes.find((n: any) => n.id === 1).reweight).toBe(0.5);
    expect((await run('osd reweight', { id: '1', weight: 1.5 })).stderr).toMatch(/^Invalid command: weight: 1.5 not in range \[0, 1\]/);
    await expectOuts('osd down', { ids: ['2'] }, 0, 'marked down osd.2. ');
    expect((await json('osd dump')).osds.find((o: any) => o.osd === 2).up).toBe(0);
    expect(await json('health')).toMatchObject({ status: 'HEALTH_WARN', checks: { OSD_DOWN: expect.anything() } });
    await feed.apply(() => ({ result: sim.markOsdUp(2), changed: ['osd_map'] }));
    await expectOuts('osd set', { key: 'pause' }, 0, 'pauserd,pausewr is set');
    expect((await json('osd dump')).flags).toMatch(/^pauserd,pausewr,sortbitwise/);
    await expectOuts('osd unset', { key: 'pause' }, 0, 'pauserd,pausewr is unset');

    await expectOuts('config set', { who: 'global', name: 'no_such_option', value: '1' }, -22, "unrecognized config option 'no_such_option'");
    await expectOuts('config set', { who: 'nowhere', name: 'debug_osd', value: '1' }, -22, "unrecognized config target 'nowhere'");
    await expectOuts('config set', { who: 'global', name: 'mon_max_pg_per_osd', value: 'many' }, -22, /^error parsing value/);
    await expectOuts('config set', { who: 'mon', name: 'mon_max_pg_per_osd', value: '10' }, 0, '');
    // The monitors use it: 10 PGs per OSD leave no room for a new pool.
    await expectOuts(
      'osd pool create',
      { pool: 'big', pg_num: 64 },
      -34,
      /^pg_num 64 size 3 would mean \d+ total pgs, which exceeds max 30 \(mon_max_pg_per_osd 10 \* num_in_osds 3\)$/,
    );
    await expectOuts('config set', { who: 'mon', name: 'mon_max_pg_per_osd', value: '250' }, 0, '');
    // A module's option reaches the managers' module options.
    await expectOuts('config set', { who: 'mgr', name: 'mgr/restful/server_port', value: '8100' }, 0, '');
    expect((await cs.state.kv.get('config/mgr/restful/server_port')) ?? '').toBe('8100');
    expect((await json('config dump')).map((o: any) => `${o.section} ${o.name}=${o.value}`)).toEqual(
      expect.arrayContaining(['mgr mgr/restful/server_port=8100']),
    );
  });

  it('caps: reads need r, writes w; the read-only key reads but is refused writes (PERMISSION_DENIED, audited)', async () => {
    expect((await run('osd tree', {}, 'client.ro')).retcode).toBe(0);
    expect((await run('status', {}, 'client.ro')).retcode).toBe(0);
    await expect(run('osd pool create', { pool: 'ro' }, 'client.ro')).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    await expect(run('config set', { who: 'global', name: 'debug_osd', value: '1' }, 'client.ro')).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    expect(sim.pool('ro')).toBeUndefined();
    // Audit lines reach the cluster log shortly after the answers (domain/audit-log.ts batches them).
    const denied = /entity='client\.ro' cmd=.*osd pool create.*: access denied/;
    await until('the refusal audited', async () => (await json('log last', { channel: 'audit', level: 'debug' })).some((e: any) => denied.test(e.message)));
  });

  it('osd scrub: an OSD that is down answers EAGAIN, one without a session here says so', async () => {
    expect(await run('osd scrub', { who: '7' })).toMatchObject({ retcode: -11, stderr: 'osd.7 is not up' });
    expect(await run('osd deep-scrub', { who: '1' })).toMatchObject({ retcode: -11, stderr: 'osd.1 has no session with this manager' });
    expect(await run('osd repair', { who: 'x' })).toMatchObject({ retcode: -22 });
  });

  it("the monitor commands are marked and never advertised as the manager's own; get_command_descriptions flags them as Ceph does", async () => {
    const advertised = new Set(advertisedCommands().map((c) => c.cmd));
    for (const c of MONITOR_COMMANDS) {
      expect(c.monitor).toBe(true);
      expect(advertised.has(c.cmd)).toBe(false);
    }
    // Also left out: the MgrMonitor's `mgr ...` commands (monitor: true), the mgr-local `config set` and the command table itself.
    const prefixes = [...advertised].map((c) => c.split(' name=')[0]);
    for (const p of ['mgr module ls', 'mgr fail', 'mgr dump', 'config set', 'get_command_descriptions', 'help']) expect(prefixes).not.toContain(p);
    expect(advertised.size).toBe(COMMAND_TABLE.filter((c) => !c.monitor).length - 3);
    expect([...advertised].some((c) => c.startsWith('osd scrub'))).toBe(true); // a manager command in Pacific
    expect(prefixes).toEqual(expect.arrayContaining(['pg stat', 'osd perf', 'config show', 'service dump']));
    const descs = Object.values<any>(JSON.parse((await run('get_command_descriptions')).stdout));
    const flagsOf = (words: string) => descs.find((d) => d.sig.filter((w: string) => !w.includes('=')).join(' ') === words)?.flags;
    expect([flagsOf('osd pool create'), flagsOf('status'), flagsOf('mgr module ls'), flagsOf('pg stat'), flagsOf('osd scrub')]).toEqual([0, 0, 0, 8, 8]);
  });

  it('without a monitor endpoint, writes answer -95 naming MGR_MON_ADDR; reads still answer', async () => {
    const lone = await startDaemonServer({ port: 0, metricsPort: -1, logLevel: 'error', clusterStateAddr: cs.address, keyringPath: path.join(dir, 'keyring') });
    try {
      const c = makeClient(DaemonServerServiceDefinition, openChannel(lone.address));
      const r = (prefix: string, args: Record<string, unknown>) =>
        c.command({ prefix, args: JSON.stringify(args), inbuf: Buffer.alloc(0) }, stack.creds['client.admin']).then((x) => x.result!);
      expect(await r('osd out', { ids: ['1'] })).toMatchObject({ retcode: -95, stderr: expect.stringContaining('MGR_MON_ADDR') });
      expect((await r('osd stat', {})).retcode).toBe(0);
    } finally {
      await lone.stop();
    }
  });
});
