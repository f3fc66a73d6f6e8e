// Commands end to end: native output shapes against the Ceph fixtures,
// validation, permissions, the module route, and bad input.
import { createServer, Metadata, Server, ServerError, Status } from 'nice-grpc';
import { shapeDiff } from '../../../lib/testing/shape';
import { ModuleHostServiceDefinition, ModuleHostServiceImplementation } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';
import { until } from '../../../lib/testing/wait';
import { callError, startStack, SessionDriver, fixture, eventually } from './helpers';

type Stack = Awaited<ReturnType<typeof startStack>>;

/**
 * A stand-in ModuleHostService: one "hello" command, answered as
 * HandleCommand calls only (as a module-host without the command stream
 * would: daemon-server falls back to HandleCommand).
 */
async function startModuleHostDouble(): Promise<{ address: string; server: Server; calls: string[] }> {
  const calls: string[] = [];
  const impl: ModuleHostServiceImplementation = {
    async handleCommand(req) {
      calls.push(req.args);
      const args = JSON.parse(req.args);
      return { result: { retcode: 0, stdout: `Hello, ${args.person_name ?? 'world'}\n`, stderr: '' }, module: 'hello' };
    },
    // eslint-disable-next-line require-yield
    async *commandStream() {
      throw new ServerError(Status.UNIMPLEMENTED, 'no command stream here');
    },
    async listCommands() {
      return {
        commands: [
          { cmd: 'hello name=person_name,type=CephString,req=false', desc: 'Say hello', perm: 'r', module: 'hello', poll: false },
          { cmd: 'hello write', desc: 'needs w', perm: 'rw', module: 'hello', poll: false },
        ],
      };
    },
    async listModules() {
      return { modules: [] };
    },
    async getHealthChecks() {
      return { checks: [] };
    },
  };
  const server = createServer();
  server.add(ModuleHostServiceDefinition, impl);
  const port = await server.listen('127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, server, calls };
}

describe('commands', () => {
  let t: Stack;
  let mh: Awaited<ReturnType<typeof startModuleHostDouble>>;
  const cmd = (prefix: string, args: Record<string, unknown> | string = {}, md = t.admin, inbuf = Buffer.alloc(0)) =>
    t.client.command({ prefix, args: typeof args === 'string' ? args : JSON.stringify(args), inbuf }, md).then((r) => r.result!);

  beforeAll(async () => {
    mh = await startModuleHostDouble();
    t = await startStack({ moduleHostAddr: mh.address, maxInbufBytes: 1024 });
    // Feed pg stats so the pg views have data.
    const drivers = [0, 1, 2].map((i) => {
      const s = new SessionDriver(t.client, t.admin);
      s.send({ $case: 'open', value: { daemonName: `osd.${i}`, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } });
      s.send({ $case: 'pgStats', value: { epoch: t.sim.epoch, json: Buffer.alloc(0), report: pgStatsReportFromJson(t.sim.osdPgStats(i, 1795585000)) } });
      s.send({ $case: 'close', value: {} });
      s.end();
      return s;
    });
    await Promise.all(drivers.map((d) => d.ended));
    await eventually(
      async () => JSON.parse(Buffer.from((await t.csClient.get({ what: 'pg_dump' })).json).toString()),
      (v) => (v.pg_stats ?? []).length > 0 && (v.osd_stats ?? []).length === 3,
    );
  });
  afterAll(async () => {
    await t.close();
    await mh.server.shutdown();
  });

  const shapes: Array<[string, Record<string, unknown>, string]> = [
    ['pg stat', {}, 'pg-stat.json'],
    ['pg dump', {}, 'pg-dump.json'],
    ['pg ls', {}, 'pg-ls.json'],
    ['osd perf', {}, 'osd-perf.json'],
    ['osd df', {}, 'osd-df.json'],
    ['service dump', {}, 'service-dump.json'],
    ['status', {}, 'status.json'],
  ];
  it.each(shapes)('%s --format json has the fixture shape', async (prefix, args, file) => {
    const r = await cmd(prefix, { ...args, format: 'json' });
    expect(r.retcode).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(
      shapeDiff(body, fixture(file), {
        mapPaths: ['$.services', '$.servicemap.services', '$.health.checks', '$.mgrmap.services', '$.progress_events'],
        // Ceph prints I/O rates only when there is I/O; ping times come from the OSDs' own reports.
        optionalPaths: [
          ...['read_bytes_sec', 'write_bytes_sec', 'io_sec'].map((k) => `$.pg_summary.${k}`),
          ...['read_bytes_sec', 'write_bytes_sec', 'read_op_per_sec', 'write_op_per_sec'].map((k) => `$.pgmap.${k}`),
          ...[0, 1, 2].map((i) => `$.pg_map.osd_stats[${i}].network_ping_times`),
        ],
      }),
    ).toEqual([]);
  });

  it('answers plain output as readable text', async () => {
    const r = await cmd('pg stat');
    expect(r.retcode).toBe(0);
    expect(r.stdout).toMatch(/^\d+ pgs: .*active\+clean.*avail/);
    const df = await cmd('osd df');
    expect(df.stdout).toMatch(/^ID\s+CLASS\s+WEIGHT/);
    expect(df.stdout).toMatch(/TOTAL/);
  });

  it('pg ls filters by pool and state', async () => {
    const all = JSON.parse((await cmd('pg ls', { format: 'json' })).stdout).pg_stats;
    const pool1 = JSON.parse((await cmd('pg ls', { pool: 1, format: 'json' })).stdout).pg_stats;
    expect(pool1.length).toBeGreaterThan(0);
    expect(pool1.length).toBeLessThan(all.length);
    expect(pool1.every((p: any) => p.pgid.startsWith('1.'))).toBe(true);
    const down = JSON.parse((await cmd('pg ls', { states: ['down'], format: 'json' })).stdout).pg_stats;
    expect(down.every((p: any) => p.state.split('+').includes('down'))).toBe(true);
  });

  it('osd ok-to-stop and safe-to-destroy answer with Ceph return codes', async () => {
    const one = await cmd('osd ok-to-stop', { ids: ['0'], format: 'json' });
    expect(one.retcode).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ ok_to_stop: true, osds: [0] });
    const all = await cmd('osd ok-to-stop', { ids: ['0', '1', '2'], format: 'json' });
    expect(all.retcode).toBe(-16);
    expect(all.stderr).toMatch(/unsafe to stop/);
    const up = await cmd('osd safe-to-destroy', { ids: ['osd.1'], format: 'json' });
    expect(up.retcode).toBe(-16);
    expect(JSON.parse(up.stdout).active).toEqual([1]);
    const missing = await cmd('osd ok-to-stop', { ids: ['99'] });
    expect(missing.retcode).toBe(-2);
  });

  it('mgr map commands say plainly that the standby service is not configured', async () => {
    for (const p of ['mgr dump', 'mgr stat', 'mgr services', 'mgr module ls', 'mgr fail']) {
      const r = await cmd(p);
      expect(r.retcode).toBe(-95);
      expect(r.stderr).toMatch(/standby service not configured \(MGR_STANDBY_ADDR\)/);
    }
  });

  it('config show lists the mgr-local options', async () => {
    const r = await cmd('config show', { format: 'json' });
    expect(JSON.parse(r.stdout).mgr_stats_period.value).toBe('5');
  });

  it('validates arguments against the descriptor with Ceph messages', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['pg ls', { pool: 'abc' }, /pool: abc doesn't represent an int/],
      ['pg ls', { pool: 1.5 }, /doesn't represent an int/],
      ['pg ls', { states: ['active', 'shiny'] }, /states: shiny not in active\|clean/],
      ['pg dump', { dumpcontents: 'everything' }, /not in all\|summary/],
      ['osd pool stats', { pool_name: '' }, /empty pool name/],
      ['mgr dump', { epoch: -1 }, /-1 not in range \[0\]/],
      ['config set', { key: 'mgr_stats_period' }, /missing required parameter value/],
      ['osd safe-to-destroy', {}, /missing required parameter ids/],
      ['pg stat', { extra: 1 }, /unused arguments: \["extra"\]/],
      ['pg ls', { pool: [1, 2] }, /expected one value/],
      ['pg stat', { format: 'yaml' }, /format: "yaml" not in plain\|json/],
      ['pg ls', { pool: { x: 1 } }, /is not a CephInt value/],
    ];
    for (const [prefix, args, why] of cases) {
      const r = await cmd(prefix, args);
      expect(r.retcode).toBe(-22);
      expect(r.stderr).toMatch(/^Invalid command: /);
      expect(r.stderr).toMatch(why);
    }
    const unknown = await cmd('pg frobnicate');
    expect(unknown).toEqual({ retcode: -22, stdout: '', stderr: "No handler found for 'pg frobnicate'" });
  });

  it('routes other prefixes to module-host with validated args, and lists module commands', async () => {
    const r = await cmd('hello', { person_name: 'Ceph' });
    expect(r).toEqual({ retcode: 0, stdout: 'Hello, Ceph\n', stderr: '' });
    expect(JSON.parse(mh.calls.at(-1)!)).toEqual({ prefix: 'hello', person_name: 'Ceph' });
    const descs = await t.client.getCommandDescriptions({}, t.admin);
    expect(descs.commands.map((c) => c.cmd)).toEqual(expect.arrayContaining(['pg stat', 'hello name=person_name,type=CephString,req=false']));
    expect(descs.commands.find((c) => c.cmd === 'pg stat')?.module).toBe('mgr');
    const gcd = JSON.parse((await cmd('get_command_descriptions')).stdout);
    expect(Object.values(gcd).some((d: any) => d.sig[0] === 'hello')).toBe(true);
  });

  it('checks caps: allowed, denied (PERMISSION_DENIED), unauthenticated', async () => {
    const ro = t.creds('client.ro');
    expect((await cmd('pg stat', {}, ro)).retcode).toBe(0);
    expect((await cmd('hello', {}, ro)).retcode).toBe(0);
    const denied = await callError(cmd('config set', { key: 'mgr_stats_period', value: '1' }, ro));
    expect(denied.code).toBe(Status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/^access denied: does your client key have mgr caps\?/);
    expect((await callError(cmd('hello write', {}, ro))).code).toBe(Status.PERMISSION_DENIED);
    // nothing changed
    expect(JSON.parse((await cmd('config show', { format: 'json' })).stdout).mgr_stats_period.value).toBe('5');
    expect((await callError(cmd('pg stat', {}, t.creds('client.admin', 'not-the-key')))).code).toBe(Status.UNAUTHENTICATED);
    expect((await callError(cmd('pg stat', {}, t.creds('client.nobody', 'x')))).code).toBe(Status.UNAUTHENTICATED);
    const noHeaders = await callError(t.client.command({ prefix: 'pg stat', args: '', inbuf: Buffer.alloc(0) }));
    expect(noHeaders.code).toBe(Status.UNAUTHENTICATED);
    expect(noHeaders.details).toMatch(/x-mgr-entity/);
  });

  it('refuses requests that are not well-formed at call level, and keeps serving', async () => {
    const random = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 73 + 11) % 256)).toString('latin1');
    for (const args of [random, '[1,2]', '"str"', '42', 'null', '{']) {
      const e = await callError(cmd('pg stat', args));
      expect(e.code).toBe(Status.INVALID_ARGUMENT);
      expect(e.details).toMatch(/args (is not JSON|must be a JSON object)/);
    }
    expect((await callError(cmd('pg stat', { prefix: 'osd df' }))).code).toBe(Status.INVALID_ARGUMENT);
    expect((await callError(cmd('', {}))).code).toBe(Status.INVALID_ARGUMENT);
    const big = await callError(cmd('pg stat', {}, t.admin, Buffer.alloc(4096, 1)));
    expect(big.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(big.details).toMatch(/MGR_COMMAND_MAX_INBUF_BYTES/);
    expect((await cmd('pg stat')).retcode).toBe(0);
  });

  it('refuses arguments nested past a sane depth with INVALID_ARGUMENT, and audits it', async () => {
    const deep = `{"pool":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const e = await callError(cmd('pg stat', deep));
    expect(e.code).toBe(Status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/args nest deeper than 8 levels/);
    await until('the refusal audited', () => auditLines().some((l) => /cmd=\[\{"prefix":"pg stat"\}\]: refused \(invalid\): args nest deeper/.test(l)));
    expect((await cmd('pg stat')).retcode).toBe(0);
  });

  it('leaves one audit line per command, whatever its outcome, without secret values', async () => {
    const ro = t.creds('client.ro');
    await cmd('hello', { person_name: 'auditor' }, ro);
    await callError(cmd('config set', { key: 'mgr_tick_period', value: 'hunter2' }, ro));
    await cmd('osd ok-to-stop', { ids: ['999'] });
    await until('three audit lines', () => {
      const lines = auditLines();
      expect(lines.filter((l) => l.includes('"person_name":"auditor"'))).toEqual([
        `from='client.ro' entity='client.ro' cmd=[{"prefix":"hello","person_name":"auditor"}]: finished`,
      ]);
      expect(lines.filter((l) => l.includes('mgr_tick_period'))).toEqual([
        `from='client.ro' entity='client.ro' cmd=[{"prefix":"config set","key":"mgr_tick_period","value":"<hidden>"}]: access denied`,
      ]);
      expect(lines.some((l) => /entity='client.admin' cmd=\[\{"prefix":"osd ok-to-stop".*\]: failed \(-\d+\)/.test(l))).toBe(true);
      return true;
    });
    // a malformed args text is not echoed into the audit line either (the JSON parser's message quotes it)
    await callError(cmd('config set', '{"key":"mgr_tick_period","value":hunter3}', ro));
    await until('the malformed command audited', () => auditLines().some((l) => l.endsWith('refused (invalid): args is not JSON')));
    expect(auditLines().join('\n')).not.toMatch(/hunter[23]/);
    // only a manager may name whom it acts for: a forged x-mgr-on-behalf-of is refused, and audited under the real entity
    const forged = await callError(
      t.client.command({ prefix: 'status', args: '{}', inbuf: Buffer.alloc(0) }, { ...t.admin, metadata: Metadata({ 'x-mgr-on-behalf-of': 'mgr.x/restful' }) }),
    );
    expect(forged.code).toBe(Status.PERMISSION_DENIED);
    expect(forged.details).toMatch(/client\.admin may not act on behalf of another/);
    await until('the forged command audited', () =>
      auditLines().includes(`from='client.admin' entity='client.admin' cmd=[{"prefix":"status"}]: access denied`),
    );
    const priorities = t.cs.state.clog.filter((x) => x.channel === 'audit' && x.message.includes('auditor')).map((x) => x.priority);
    expect(priorities).toEqual(['DBG']);
  });

  const auditLines = () => t.cs.state.clog.filter((x) => x.channel === 'audit').map((x) => x.message);
});
