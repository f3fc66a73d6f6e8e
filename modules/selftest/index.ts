// selftest: exercises every call of the module SDK, the way Ceph's selftest
// module does; the tests drive it.
//   mgr self-test run                    every SDK call, with a report
//   mgr self-test config get|set <key> [value]
//   mgr self-test health set <code> <summary> | clear
//   mgr self-test notify stats           notify calls seen, by type
//   mgr self-test remote <module> <method>
//   mgr self-test cluster-log <channel> <priority> <message>   (as Ceph's selftest)
import { CephJson, ClusterLogPriority, CommandResult, MgrModule } from '../../lib/mgr-module';

export default class SelfTest extends MgrModule {
  static override COMMANDS = [
    { cmd: 'mgr self-test run', desc: 'Run the SDK self-test', perm: 'rw' },
    { cmd: 'mgr self-test config get name=key,type=CephString', desc: "Read one of selftest's options", perm: 'r' },
    { cmd: 'mgr self-test config set name=key,type=CephString name=value,type=CephString', desc: "Set one of selftest's options (validated)", perm: 'rw' },
    { cmd: 'mgr self-test health set name=code,type=CephString name=summary,type=CephString', desc: 'Raise a health warning from this module', perm: 'rw' },
    { cmd: 'mgr self-test health clear', desc: "Clear this module's health checks", perm: 'rw' },
    { cmd: 'mgr self-test notify stats', desc: 'Notifications received, by type', perm: 'r' },
    { cmd: 'mgr self-test remote name=module,type=CephString name=method,type=CephString', desc: "Call another module's method", perm: 'rw' },
    {
      cmd: 'mgr self-test cluster-log name=channel,type=CephString name=priority,type=CephString name=message,type=CephString',
      desc: 'Create an audit log record.',
      perm: 'rw',
    },
  ];
  static override MODULE_OPTIONS = [
    { name: 'an_int', type: 'int' as const, default: 5, min: 1, max: 10, desc: 'a whole number 1..10' },
    { name: 'a_float', type: 'float' as const, default: 0.5, desc: 'a number' },
    { name: 'a_bool', type: 'bool' as const, default: false, desc: 'a flag' },
    { name: 'a_choice', type: 'str' as const, default: 'red', enum_allowed: ['red', 'green', 'blue'], desc: 'one of red, green, blue' },
  ];
  static override NOTIFY_TYPES = ['osd_map', 'fs_map', 'mon_map', 'pg_summary', 'service_map', 'mgr_map', 'health'];

  private notifies: Record<string, number> = {};
  private configChanges = 0;
  private stopping = false;
  private wake: (() => void) | null = null;

  override async serve(): Promise<void> {
    while (!this.stopping) {
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 1000).unref?.();
      });
    }
  }

  override shutdown(): void {
    this.stopping = true;
    this.wake?.();
  }

  override async notify(type: string): Promise<void> {
    this.notifies[type] = (this.notifies[type] ?? 0) + 1;
  }

  override async configNotify(): Promise<void> {
    this.configChanges++;
  }

  /** Callable by other modules through remote(). */
  async ping(x: unknown): Promise<unknown> {
    return { pong: x, from: this.moduleName };
  }

  override async handleCommand(_inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    try {
      switch (cmd.prefix) {
        case 'mgr self-test run':
          return [0, JSON.stringify(await this.runAll(), null, 2), 'Self-test succeeded'];
        case 'mgr self-test config get':
          return [0, JSON.stringify(await this.getModuleOption(String(cmd.key))), ''];
        case 'mgr self-test config set':
          await this.setModuleOption(String(cmd.key), cmd.value);
          return [0, '', `set ${String(cmd.key)}`];
        case 'mgr self-test health set':
          await this.setHealthChecks({
            [String(cmd.code)]: { severity: 'warning', summary: String(cmd.summary), count: 1, detail: ['raised by mgr self-test'] },
          });
          return [0, '', ''];
        case 'mgr self-test health clear':
          await this.setHealthChecks({});
          return [0, '', ''];
        case 'mgr self-test notify stats':
          return [0, JSON.stringify({ notifies: this.notifies, config_changes: this.configChanges }), ''];
        case 'mgr self-test cluster-log': {
          const priority = String(cmd.priority);
          const known: Record<string, ClusterLogPriority> = { info: 'INF', security: 'SEC', warning: 'WRN', error: 'ERR', debug: 'DBG' };
          if (!(priority in known)) return [-22, '', `Unknown priority '${priority}'; one of ${Object.keys(known).join(', ')}`];
          await this.clusterLog(String(cmd.channel), known[priority], String(cmd.message));
          return [0, '', ''];
        }
        case 'mgr self-test remote':
          return [0, JSON.stringify(await this.remote(String(cmd.module), String(cmd.method), 'x')), ''];
      }
      return [-22, '', `unknown command ${String(cmd.prefix)}`];
    } catch (e) {
      return [-22, '', (e as Error).message];
    }
  }

  override async selfTest(): Promise<string> {
    await this.runAll();
    return 'ok';
  }

  /** Every SDK call once; throws on the first that misbehaves. */
  private async runAll(): Promise<Record<string, string>> {
    const report: Record<string, string> = {};
    const check = async (name: string, fn: () => Promise<unknown>, ok: (v: CephJson) => boolean) => {
      const v = await fn();
      if (!ok(v)) throw new Error(`${name} returned ${JSON.stringify(v)?.slice(0, 200)}`);
      report[name] = 'ok';
    };
    await check(
      'get(osd_map)',
      () => this.get('osd_map'),
      (v) => v === null || typeof v.epoch === 'number',
    );
    await check(
      'get(fs_map)',
      () => this.get('fs_map'),
      (v) => v === null || Array.isArray(v.filesystems),
    );
    await check(
      'get(pg_summary)',
      () => this.get('pg_summary'),
      (v) => v === null || typeof v.all === 'object',
    );
    await check(
      'get(health)',
      () => this.get('health'),
      (v) => v === null || typeof v.json === 'string',
    );
    await check(
      'get(unknown) is null',
      () => this.get('no_such_thing'),
      (v) => v === null,
    );
    await check('listServers', () => this.listServers(), Array.isArray);
    const servers = await this.listServers();
    if (servers.length)
      await check(
        'getServer',
        () => this.getServer(servers[0].hostname),
        (v) => v && v.hostname === servers[0].hostname,
      );
    await check(
      'getMetadata(unknown) is null',
      () => this.getMetadata('osd', '999999'),
      (v) => v === null || (v && Object.keys(v).length === 0),
    );
    await check(
      'getDaemonStatus',
      () => this.getDaemonStatus('osd', '0'),
      () => true,
    );
    await check(
      'getPerfSchema',
      () => this.getPerfSchema('osd', '0'),
      (v) => typeof v === 'object',
    );
    await check(
      'getCounter',
      () => this.getCounter('osd', '0', 'osd.op_w'),
      (v) => typeof v === 'object',
    );
    await check(
      'getLatestCounter',
      () => this.getLatestCounter('osd', '0', 'osd.op_w'),
      (v) => typeof v === 'object',
    );
    await check(
      'getAllPerfCounters',
      () => this.getAllPerfCounters(),
      (v) => typeof v === 'object',
    );
    await check(
      'setStore/getStore',
      async () => {
        await this.setStore('selftest-key', 'value-1');
        return this.getStore('selftest-key');
      },
      (v) => v === 'value-1',
    );
    await check(
      'getStorePrefix',
      () => this.getStorePrefix('selftest-'),
      (v) => v['selftest-key'] === 'value-1',
    );
    await check(
      'setStore(null) deletes',
      async () => {
        await this.setStore('selftest-key', null);
        return this.getStore('selftest-key');
      },
      (v) => v === null,
    );
    await check(
      'getModuleOption default',
      () => this.getModuleOption('a_choice'),
      (v) => typeof v === 'string',
    );
    await check(
      'setModuleOption rejects out of range',
      async () => {
        try {
          await this.setModuleOption('an_int', 11);
          return 'accepted';
        } catch (e) {
          return (e as Error).message;
        }
      },
      (v) => /at most 10/.test(v),
    );
    await check(
      'setModuleOption rejects unknown key',
      async () => {
        try {
          await this.setModuleOption('nope', 1);
          return 'accepted';
        } catch (e) {
          return (e as Error).message;
        }
      },
      (v) => /no option 'nope'/.test(v),
    );
    await check(
      'remote',
      () => this.remote('selftest', 'ping', 42),
      (v) => v && v.pong === 42,
    );
    // A native command through the active daemon-server (never throws: without one it answers a negative code and says why).
    await check(
      'sendCommand',
      () => this.sendCommand('pg stat', { format: 'json' }),
      (v) => Array.isArray(v) && typeof v[0] === 'number' && (v[0] === 0 ? typeof JSON.parse(v[1]).pg_summary.num_pgs === 'number' : v[2].length > 0),
    );
    const [rc, , err] = await this.sendCommand('pg stat', { format: 'json' });
    report['sendCommand(pg stat)'] = rc === 0 ? 'answered' : `answered ${rc}: ${err}`;
    await check(
      'setHealthChecks',
      () => this.setHealthChecks({}),
      () => true,
    );
    await check(
      'clusterLog',
      () => this.clusterLog('cluster', 'INF', 'self-test ran'),
      () => true,
    );
    await check(
      'setUri',
      () => this.setUri('selftest://nowhere'),
      () => true,
    );
    report.getMgrId = this.getMgrId();
    this.log.info('self-test complete');
    return report;
  }
}
