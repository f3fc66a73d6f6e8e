// The host-module boundary: plain, JSON-able messages in both directions,
// each request carrying an id that its reply echoes. Nothing here is specific
// to worker threads, so a module could run in another runtime (a Python
// process speaking the same messages over a pipe) without changing the host.
import type { OptionDeclaration } from '../../../lib/mgr-module';

export type { OptionDeclaration };

/** Host -> module. */
export type HostToModule =
  | { kind: 'start'; id: number; active: boolean; mgrId: string; options: Record<string, unknown>; serve?: boolean }
  | { kind: 'command'; id: number; inbuf: string; cmd: Record<string, unknown> }
  | { kind: 'notify'; id: number; type: string; notifyId: string }
  | { kind: 'config_notify'; id: number; options: Record<string, unknown> }
  | { kind: 'self_test'; id: number }
  /** kwargs: keyword arguments (Python modules only). */
  | { kind: 'remote'; id: number; method: string; args: unknown[]; kwargs?: Record<string, unknown> }
  | { kind: 'heartbeat'; id: number }
  | { kind: 'shutdown'; id: number }
  /**
   * A module option changed (key: its name; null: any may have): a worker
   * drops its copy (option-cache.ts). Not a request: nothing answers it.
   */
  | { kind: 'option_changed'; id: number; key: string | null }
  /** The answer to one of the module's API calls. */
  | { kind: 'api_result'; id: number; ok: boolean; value?: unknown; error?: string };

/** What a module's class declares, sent once after loading. */
export interface ModuleDeclaration {
  commands: Array<{ cmd: string; desc: string; perm: string; poll?: boolean }>;
  options: OptionDeclaration[];
  notifyTypes: string[];
  canRun: [boolean, string];
  hasStandby: boolean;
}

/** Module -> host. */
export type ModuleToHost =
  | { kind: 'loaded'; declaration: ModuleDeclaration }
  | { kind: 'load_failed'; error: string }
  | { kind: 'reply'; id: number; ok: boolean; value?: unknown; error?: string }
  /** serve() returned (error set when it threw). */
  | { kind: 'serve_ended'; error?: string }
  /** A call into the host's module API (get, setStore, ...). */
  | { kind: 'api'; id: number; method: string; args: unknown[] }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string };

/** Every API method a module may call, with its argument list. */
export const API_METHODS = [
  'get',
  'getServer',
  'listServers',
  'getMetadata',
  'getDaemonStatus',
  'getPerfSchema',
  'getCounter',
  'getLatestCounter',
  'getAllPerfCounters',
  'setHealthChecks',
  'getModuleOption',
  'setModuleOption',
  'getStore',
  'setStore',
  'getStorePrefix',
  'remote',
  'setUri',
  'clusterLog',
  'getActiveUri',
  'sendCommand',
  'updateProgressEvent',
  'completeProgressEvent',
  'clearProgressEvents',
] as const;
export type ApiMethod = (typeof API_METHODS)[number];
