// The module SDK: what a module author imports. A module is a folder whose
// index.ts exports a class extending MgrModule (as `default` or `Module`).
// It runs in its own worker; every call below is a message to module-host
// (the host's side is module-host's domain/protocol.ts), so a slow or broken module
// cannot stall the host or another module.
//
//   import { MgrModule, CommandResult } from '../../lib/mgr-module';
//   export default class Hello extends MgrModule {
//     static override COMMANDS = [{ cmd: 'hello', desc: 'Say hello', perm: 'r' }];
//     override async handleCommand(): Promise<CommandResult> {
//       return [0, 'Hello World', ''];
//     }
//   }
export { EACCES, EAGAIN, EBUSY, EEXIST, EFBIG, EINVAL, EIO, ENOENT, ENOTCONN, EOPNOTSUPP, EPERM, ERANGE, ETIMEDOUT } from './errno';

/** One module option (Ceph's Option in MODULE_OPTIONS), stored as config/mgr/<module>/<name>. */
export interface OptionDeclaration {
  name: string;
  type: 'str' | 'int' | 'uint' | 'float' | 'bool' | 'secs' | 'size' | 'addr' | 'uuid';
  default?: unknown;
  min?: number;
  max?: number;
  enum_allowed?: string[];
  desc?: string;
  long_desc?: string;
  runtime?: boolean;
}

/**
 * JSON in one of Ceph's shapes (a map, a get() view, perf counters): read
 * field by field, as Ceph's Python modules read their dicts.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shapes are Ceph's, documented by its fixtures, not by types
export type CephJson = any;

/** [retcode, stdout, stderr], as Ceph's HandleCommandResult. */
export type CommandResult = [number, string, string];

export interface CommandDeclaration {
  /** Ceph's descriptor syntax: `hello name=person_name,type=CephString,req=false`. */
  cmd: string;
  desc: string;
  /** r, w, x combinations. */
  perm: string;
  poll?: boolean;
}

export interface HealthCheckSpec {
  severity: 'warning' | 'error';
  summary: string;
  count?: number;
  detail?: string[];
}

export type ClusterLogPriority = 'DBG' | 'INF' | 'SEC' | 'WRN' | 'ERR';

export interface ModuleLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** How a module reaches the host; set by the worker before the module is built. */
export interface ModuleTransport {
  call(method: string, args: unknown[]): Promise<unknown>;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  moduleName: string;
  mgrId: string;
}

let transport: ModuleTransport | null = null;
/** get(what) results parsed in this worker, by the host's version of `what`. */
const getCache = new Map<string, { version: number; value: unknown }>();

/** For serve() loops (lib/waiter.ts). */
export { Waiter } from './waiter';

/** For the worker runtime only. */
export function setModuleTransport(t: ModuleTransport): void {
  transport = t;
}

function host(): ModuleTransport {
  if (!transport) throw new Error('this module is not running under module-host');
  return transport;
}

abstract class ModuleBase {
  readonly moduleName: string = host().moduleName;
  readonly log: ModuleLogger = {
    debug: (m) => host().log('debug', m),
    info: (m) => host().log('info', m),
    warn: (m) => host().log('warn', m),
    error: (m) => host().log('error', m),
  };

  protected call<T>(method: string, ...args: unknown[]): Promise<T> {
    return host().call(method, args) as Promise<T>;
  }

  /** Long-running body; must return soon after shutdown() is called. */
  async serve(): Promise<void> {}
  /** Asks serve() to return. */
  shutdown(): void {}

  getMgrId(): string {
    return host().mgrId;
  }
  /** A declared option's value (its default when unset); unknown keys throw. */
  getModuleOption<T = unknown>(key: string): Promise<T> {
    return this.call('getModuleOption', key);
  }
  /** A store value, or null. */
  getStore(key: string): Promise<string | null> {
    return this.call('getStore', key);
  }
}

/** The active part of a module (Ceph's MgrModule). */
export abstract class MgrModule extends ModuleBase {
  /** Commands this module serves. */
  static COMMANDS: CommandDeclaration[] = [];
  /** Options (stored as config/mgr/<module>/<name>). */
  static MODULE_OPTIONS: OptionDeclaration[] = [];
  /** The notify types delivered to notify(): osd_map, fs_map, pg_summary, ... */
  static NOTIFY_TYPES: string[] = [];
  /** False plus a reason when a dependency is missing (MGR_MODULE_DEPENDENCY). */
  static canRun(): [boolean, string] {
    return [true, ''];
  }

  /** New state of a subscribed type is available. */
  async notify(_type: string, _id: string): Promise<void> {}
  /** A command of this module. */
  async handleCommand(_inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    return [-22, '', `Command '${String(cmd.prefix)}' is not handled by module '${this.moduleName}'`];
  }
  /** Some option changed. */
  async configNotify(): Promise<void> {}
  /** Developer self-test: throw on failure. */
  async selfTest(): Promise<string | void> {}

  /**
   * What Ceph's self.get(what) returns (osd_map, fs_map, pg_summary, ...);
   * null when unknown. Parsed once per version: reading osd_map in a loop
   * costs a message to the host, not a 9.5 MB copy, until the map changes.
   */
  async get<T = CephJson>(what: string): Promise<T> {
    const cached = getCache.get(what);
    const res = await this.call<{ version: number; json: string | null; unchanged?: boolean }>('get', what, cached?.version ?? -1);
    if (res.unchanged && cached) return cached.value as T;
    const value = res.json === null ? null : JSON.parse(res.json);
    getCache.set(what, { version: res.version, value });
    return value as T;
  }
  getServer(hostname: string): Promise<CephJson> {
    return this.call('getServer', hostname);
  }
  listServers(): Promise<CephJson[]> {
    return this.call('listServers');
  }
  getMetadata(svcType: string, svcId: string): Promise<Record<string, string> | null> {
    return this.call('getMetadata', svcType, svcId);
  }
  getDaemonStatus(svcType: string, svcId: string): Promise<Record<string, string> | null> {
    return this.call('getDaemonStatus', svcType, svcId);
  }
  getPerfSchema(svcType: string, svcId: string): Promise<CephJson> {
    return this.call('getPerfSchema', svcType, svcId);
  }
  getCounter(svcType: string, svcId: string, path: string): Promise<Record<string, Array<[number, number]>>> {
    return this.call('getCounter', svcType, svcId, path);
  }
  getLatestCounter(svcType: string, svcId: string, path: string): Promise<CephJson> {
    return this.call('getLatestCounter', svcType, svcId, path);
  }
  getAllPerfCounters(prioLimit?: number, services?: string[]): Promise<CephJson> {
    return this.call('getAllPerfCounters', prioLimit ?? null, services ?? null);
  }
  /**
   * Ceph's get_daemon_health_metrics(): daemon name -> the health metrics it
   * last reported, e.g. {"osd.3": [{"type": "SLOW_OPS", "value": 2}]}.
   */
  getDaemonHealthMetrics(): Promise<Record<string, Array<{ type: string; value: number }>>> {
    return this.call('getDaemonHealthMetrics');
  }
  /**
   * Replaces this module's health checks (code -> check); {} clears them.
   * Each check is taken on its own: a code that is not upper-case letters,
   * digits and _ is refused (and logged) while the others are raised; the
   * answer lists the refused ones with why.
   */
  setHealthChecks(checks: Record<string, HealthCheckSpec>): Promise<{ refused: Array<{ code: string; reason: string }> }> {
    return this.call('setHealthChecks', checks);
  }
  /** Validated against MODULE_OPTIONS; null resets to the default. */
  setModuleOption(key: string, value: unknown): Promise<void> {
    return this.call('setModuleOption', key, value);
  }
  /** null deletes. */
  setStore(key: string, value: string | null): Promise<void> {
    return this.call('setStore', key, value);
  }
  /** key (without the module prefix) -> value, for keys starting with prefix. */
  getStorePrefix(prefix: string): Promise<Record<string, string>> {
    return this.call('getStorePrefix', prefix);
  }
  /** Calls a method of another enabled module (JSON-able arguments and result). */
  remote<T = unknown>(module: string, method: string, ...args: unknown[]): Promise<T> {
    return this.call('remote', module, method, args);
  }
  /** Publishes this module's endpoint (shown by `mgr services`). */
  setUri(uri: string): Promise<void> {
    return this.call('setUri', uri);
  }
  clusterLog(channel: string, priority: ClusterLogPriority, message: string): Promise<void> {
    return this.call('clusterLog', channel, priority, message);
  }
  /**
   * Runs a command of this manager (Ceph's send_command to the mgr: native
   * commands such as `pg stat` and module commands alike) through the
   * active manager's daemon-server, so its arguments are validated, caps
   * checked and the call audited (as mgr.<name>, on behalf of this module).
   * Never throws: failures are a negative retcode with a message.
   */
  sendCommand(prefix: string, args: Record<string, unknown> = {}, inbuf = ''): Promise<CommandResult> {
    return this.call('sendCommand', prefix, args, inbuf);
  }
}

/** The part of a module that runs on a standby manager (Ceph's MgrStandbyModule). */
export abstract class MgrStandbyModule extends ModuleBase {
  /** The URI the active manager's instance of this module published. */
  getActiveUri(): Promise<string> {
    return this.call('getActiveUri');
  }
}
