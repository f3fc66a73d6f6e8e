// The `_ceph_*` calls of Ceph's mgr_module.py, served for one Python module.
// Most map onto the host API the TypeScript workers use (get, store, daemon
// queries, health, URI, remote); the rest are what ceph-mgr's C++ answers on
// its own (its config options, version, release name) or the Python-specific
// semantics of module options (prefix then plain key, None when unset, the
// module applies its own defaults). A call not listed here raises
// NotImplementedError in the module (ceph_module.py) and is reported as a
// health warning naming it.
import * as os from 'os';
import * as path from 'path';
import type { RunnerDeps } from './module-runner';
import { convertOption, declaredOptions, optionKey } from './options';
import type { ClusterStateApi } from './cluster-api';
import type { ModuleDeclaration } from './protocol';
import { EINVAL, EOPNOTSUPP } from '../../../lib/errno';
import { configOption, typedOptionValue } from '../../../lib/ceph-config-options';

/** What a Python module's process needs from the host (python-runner.ts runs it). */
export interface PythonRuntime {
  /** The interpreter (Debian's /usr/bin/python3: python3-rados is built for it). */
  python: string;
  /** Where Ceph's mgr_module.py and mgr_util.py live (/usr/share/ceph/mgr). */
  cephMgrDir: string;
  cluster: ClusterStateApi;
  /** Another module's declaration, for get_module_option_ex / set_module_option_ex. */
  declarationOf(module: string): ModuleDeclaration | null;
  /** The host's module API (the same one TypeScript workers call). */
  hostApi: RunnerDeps['api'];
  /**
   * Resolves true once cluster-state has the maps ceph-mgr waits for before
   * it starts any module (the OSD map and the FS map: Ceph's modules take
   * them for granted), false if the host stops first.
   */
  mapsReady(): Promise<boolean>;
  /** Whether the maps are there now (one look, at most one fetch per map change). */
  mapsPresent(): Promise<boolean>;
}

export const CEPH_VERSION = 'ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)';
const RELEASES: Record<number, string> = { 12: 'luminous', 13: 'mimic', 14: 'nautilus', 15: 'octopus', 16: 'pacific', 17: 'quincy', 18: 'reef' };

/**
 * ceph-mgr's options that are this manager instance's own (its files, and
 * its log level: the modules log through module-host's log, at info unless
 * a module's log_level says otherwise), whatever the cluster's configuration
 * says; the rest come from the manager's running configuration
 * (get('config')) or the option's default.
 */
function localOptions(mgrId: string): Record<string, unknown> {
  return {
    debug_mgr: '2/5',
    log_file: path.join(os.tmpdir(), `ceph-mgr.${mgrId}.log`),
    keyring: '/etc/ceph/ceph.client.admin.keyring',
  };
}

export class PythonApi {
  private ownChecks: Record<string, unknown> = {};
  private unserved = new Set<string>();
  private options: Record<string, unknown>;
  private config: { version: number; values: Record<string, unknown> } = { version: -1, values: {} };

  constructor(
    private module: string,
    private rt: PythonRuntime,
    mgrId: string,
    private log: RunnerDeps['log'],
  ) {
    this.options = localOptions(mgrId);
  }

  private host(method: string, args: unknown[]): Promise<unknown> {
    return this.rt.hostApi(this.module, method, args);
  }

  async call(method: string, args: unknown[]): Promise<unknown> {
    const s = (i: number) => (args[i] === null || args[i] === undefined ? '' : String(args[i]));
    switch (method) {
      case '_ceph_get': {
        // { version, json | null, unchanged? }: the worker keeps the text per version.
        const res = (await this.host('get', [s(0), Number(args[1] ?? -1)])) as { json: string | null; unchanged?: boolean } | null;
        // ceph-mgr answers its own addresses; we publish none (modules fall back to the host name).
        if (s(0) === 'mgr_ips' && res && !res.unchanged && res.json === null) return { version: 0, json: '{"ips": []}' };
        return res;
      }
      case '_ceph_get_server':
        return args[0] === null || args[0] === undefined ? this.host('listServers', []) : this.host('getServer', [s(0)]);
      case '_ceph_get_metadata':
        return this.host('getMetadata', [s(0), s(1)]);
      case '_ceph_get_daemon_status':
        return this.host('getDaemonStatus', [s(0), s(1)]);
      case '_ceph_get_perf_schema':
        return this.host('getPerfSchema', [s(0), s(1)]);
      case '_ceph_get_counter':
        return this.host('getCounter', [s(0), s(1), s(2)]);
      case '_ceph_get_latest_counter':
        return this.host('getLatestCounter', [s(0), s(1), s(2)]);
      case '_ceph_get_daemon_health_metrics':
        return this.rt.cluster.queryDaemons('health_metrics', {});
      case '_ceph_get_option':
        return this.getOption(s(0));
      case '_ceph_get_foreign_option':
        return null;
      case '_ceph_get_module_option':
        return this.getModuleOption(s(0), s(1), s(2));
      case '_ceph_set_module_option':
        return this.setModuleOption(s(0), s(1), args[2]);
      case '_ceph_get_store':
        return this.host('getStore', [s(0)]);
      case '_ceph_set_store':
        return this.host('setStore', [s(0), args[1] ?? null]);
      case '_ceph_get_store_prefix':
        return this.host('getStorePrefix', [s(0)]);
      case '_ceph_get_version':
        return CEPH_VERSION;
      case '_ceph_get_release_name':
        return 'pacific';
      case '_ceph_lookup_release_name':
        return RELEASES[Number(args[0])] ?? 'unknown';
      case '_ceph_have_mon_connection':
        // The monitors' part is cluster-state: answering this call means it is reachable enough.
        return true;
      case '_ceph_set_uri':
        return this.host('setUri', [s(0)]);
      case '_ceph_get_active_uri':
        return this.host('getActiveUri', []);
      case '_ceph_set_health_checks':
        this.ownChecks = args[0] && typeof args[0] === 'object' ? (args[0] as Record<string, unknown>) : {};
        return this.pushHealth();
      case '_ceph_cluster_log':
        return this.host('clusterLog', [s(0), s(1), s(2)]);
      case '_ceph_update_progress_event':
        return this.host('updateProgressEvent', [s(0), s(1), Number(args[2]), !!args[3]]);
      case '_ceph_complete_progress_event':
        return this.host('completeProgressEvent', [s(0)]);
      case '_ceph_clear_all_progress_events':
        return this.host('clearProgressEvents', []);
      case '_ceph_dispatch_remote':
        return this.host('remote', [s(0), s(1), Array.isArray(args[2]) ? args[2] : [], args[3] ?? {}]);
      case '_ceph_send_command': {
        // [svc_type, svc_id, command JSON, tag, inbuf]. The manager's own
        // commands (svc_type 'mgr') and the monitors' (svc_type 'mon': a
        // monitor hands the manager's commands on to it, and daemon-server
        // answers the monitors' through its Monitors seam) go through
        // daemon-server's command path, validated, cap-checked and audited;
        // a command neither knows answers as Ceph's would. Commands to one
        // daemon (osd, mds, pg) have no daemon to reach here.
        let cmd: Record<string, unknown> = {};
        try {
          const parsed = JSON.parse(s(2));
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) cmd = parsed;
        } catch {
          return [EINVAL, '', `send_command: command is not JSON: ${s(2).slice(0, 80)}`];
        }
        const prefix = String(cmd.prefix ?? '').trim();
        const target = s(0) || 'mon';
        if (target === 'mgr' || target === 'mon') {
          const args = { ...cmd };
          delete args.prefix;
          return this.host('sendCommand', [prefix, args, s(4)]);
        }
        return [
          EOPNOTSUPP,
          '',
          `module-host does not forward commands to ${target}${s(1) ? `.${s(1)}` : ''} ('${prefix}'): only the manager's and the monitors' commands are served (send_command to 'mgr' or 'mon')`,
        ];
      }
      case '_unserved':
        if (!this.unserved.has(s(0))) {
          this.unserved.add(s(0));
          this.log('warn', 'python module called something module-host does not serve', { module: this.module, call: s(0) });
          await this.pushHealth();
        }
        return null;
      default:
        throw new Error(`unknown call '${method}' from python module '${this.module}'`);
    }
  }

  /**
   * get_ceph_option: this instance's own settings, else the manager's running
   * configuration (get('config'), strings), else the option's default; typed
   * by the option's type as ceph-mgr types them. None for an unknown name.
   */
  private async getOption(name: string): Promise<unknown> {
    if (name in this.options) return this.options[name];
    const opt = configOption(name);
    const res = (await this.host('get', ['config', this.config.version])) as { version: number; json: string | null; unchanged?: boolean } | null;
    if (res && !res.unchanged) {
      let values: Record<string, unknown> = {};
      try {
        values = res.json ? JSON.parse(res.json) : {};
      } catch {
        // not JSON: defaults only
      }
      this.config = { version: res.version, values };
    }
    const v = this.config.values[name];
    if (v !== undefined && v !== null) return opt ? typedOptionValue(opt.type, String(v)) : v;
    return opt ? (opt.default ?? null) : null;
  }

  /** Ceph: `mgr/<module>/<prefix>/<key>`, then `mgr/<module>/<key>`, typed; None when unset. */
  private async getModuleOption(module: string, key: string, prefix: string): Promise<unknown> {
    const decl = this.rt.declarationOf(module);
    const opt = decl ? declaredOptions(decl.options).get(key) : undefined;
    for (const k of prefix ? [`${prefix}/${key}`, key] : [key]) {
      const stored = await this.rt.cluster.getStore(optionKey(module, k));
      if (stored === null) continue;
      if (!opt) return stored;
      try {
        return convertOption(module, opt, stored);
      } catch (e) {
        this.log('warn', 'stored option value does not fit its declaration; the module uses its default', { module, key, stored, error: (e as Error).message });
        return null;
      }
    }
    return null;
  }

  /** Read-your-writes: the value is in cluster-state before the call returns. */
  private async setModuleOption(module: string, key: string, value: unknown): Promise<null> {
    const parts = key.split('/');
    const decl = this.rt.declarationOf(module);
    const opt = decl ? declaredOptions(decl.options).get(parts[parts.length - 1]) : undefined;
    if (value === null || value === undefined) {
      await this.rt.cluster.setStore(optionKey(module, key), null);
      return null;
    }
    const v = opt ? convertOption(module, opt, value) : value;
    await this.rt.cluster.setStore(optionKey(module, key), String(v));
    return null;
  }

  /** The module's own checks plus ours about calls it made that are not served. */
  private async pushHealth(): Promise<null> {
    const checks: Record<string, unknown> = { ...this.ownChecks };
    if (this.unserved.size) {
      const calls = [...this.unserved];
      checks.MGR_PYTHON_UNSERVED_CALL = {
        severity: 'warning',
        summary: `Module '${this.module}' called ${calls.length === 1 ? calls[0] : `${calls.length} functions`} that module-host does not serve`,
        count: calls.length,
        detail: calls.map((c) => `${c} is not served by module-host (the module got NotImplementedError)`),
      };
    }
    await this.host('setHealthChecks', [checks]);
    return null;
  }
}
