// A module host in memory, for a module's own unit tests: it speaks the
// SDK's transport (lib/mgr-module.ts ModuleTransport), so a module runs its
// real code with no worker, no module-host and no cluster-state. The test
// sets what get() returns, the store and option values, how sendCommand
// answers, and reads back what the module did (health checks, store
// writes, cluster log, logs, every call).
//
//   const host = new FakeHost('hello');
//   const hello = host.load(Hello);
//   host.setOption('place', 'Mars');
//   expect(await hello.handleCommand('', { prefix: 'hello' })).toEqual([0, 'Hello Mars', '']);
import { CommandResult, HealthCheckSpec, MgrModule, MgrStandbyModule, ModuleTransport, OptionDeclaration, setModuleTransport } from '../mgr-module';

type ModuleClass<M> = (new () => M) & { MODULE_OPTIONS?: OptionDeclaration[] };

/** get() versions never repeat across hosts: the SDK caches parsed views by version. */
let nextVersion = 1;

export class FakeHost implements ModuleTransport {
  /** Every call the module made, in order. */
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  readonly logs: Array<{ level: string; msg: string }> = [];
  readonly clusterLog: Array<{ channel: string; priority: string; message: string }> = [];
  /** The module's store (keys without the module prefix). */
  readonly store = new Map<string, string>();
  /** The last setHealthChecks (code -> check). */
  healthChecks: Record<string, HealthCheckSpec> = {};
  uri = '';
  activeUri = '';
  /** How sendCommand answers; unset: -95 "not set up". */
  onCommand: ((prefix: string, args: Record<string, unknown>, inbuf: string) => CommandResult | Promise<CommandResult>) | null = null;
  /** Answers for the other host calls (getServer, getCounter, remote, ...), by method. */
  readonly answers = new Map<string, (...args: unknown[]) => unknown>();
  private views = new Map<string, { version: number; json: string }>();
  private options = new Map<string, unknown>();
  private declared = new Map<string, OptionDeclaration>();

  constructor(
    readonly moduleName: string,
    readonly mgrId = 'x',
  ) {}

  /** Builds the module (its class's MgrModule or MgrStandbyModule) under this host. */
  load<M extends MgrModule | MgrStandbyModule>(cls: ModuleClass<M>): M {
    for (const o of cls.MODULE_OPTIONS ?? []) this.declared.set(o.name, o);
    setModuleTransport(this);
    return new cls();
  }

  /** What get(what) returns from now on (null: Ceph's None). */
  setView(what: string, value: unknown): void {
    this.views.set(what, { version: nextVersion++, json: JSON.stringify(value) });
  }

  /** A declared option's value (as module-host would return it, already typed). */
  setOption(key: string, value: unknown): void {
    if (!this.declared.has(key)) throw new Error(`module '${this.moduleName}' declares no option '${key}'`);
    this.options.set(key, value);
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    this.logs.push({ level, msg });
  }

  async call(method: string, args: unknown[]): Promise<unknown> {
    this.calls.push({ method, args });
    const s = (i: number) => String(args[i]);
    switch (method) {
      case 'get': {
        const v = this.views.get(s(0));
        if (!v) return { version: 0, json: null };
        return v.version === args[1] ? { version: v.version, json: null, unchanged: true } : { version: v.version, json: v.json };
      }
      case 'getModuleOption': {
        const decl = this.declared.get(s(0));
        if (!decl) throw new Error(`module '${this.moduleName}' has no option '${s(0)}'`);
        return this.options.has(s(0)) ? this.options.get(s(0)) : (decl.default ?? null);
      }
      case 'setModuleOption':
        this.setOption(s(0), args[1]);
        return null;
      case 'getStore':
        return this.store.get(s(0)) ?? null;
      case 'setStore':
        if (args[1] === null) this.store.delete(s(0));
        else this.store.set(s(0), s(1));
        return null;
      case 'getStorePrefix':
        return Object.fromEntries([...this.store].filter(([k]) => k.startsWith(s(0))));
      case 'setHealthChecks':
        this.healthChecks = args[0] as Record<string, HealthCheckSpec>;
        return null;
      case 'clusterLog':
        this.clusterLog.push({ channel: s(0), priority: s(1), message: s(2) });
        return null;
      case 'setUri':
        this.uri = s(0);
        return null;
      case 'getActiveUri':
        return this.activeUri;
      case 'sendCommand':
        if (!this.onCommand) return [-95, '', `FakeHost: sendCommand('${s(0)}') has no answer set up (onCommand)`];
        return this.onCommand(s(0), (args[1] ?? {}) as Record<string, unknown>, String(args[2] ?? ''));
    }
    const answer = this.answers.get(method);
    if (!answer) throw new Error(`FakeHost: ${method}(${args.map((a) => JSON.stringify(a)).join(', ')}) has no answer set up (answers.set('${method}', ...))`);
    return answer(...args);
  }
}
