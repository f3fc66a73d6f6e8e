// Finding the Python modules: sub-folders holding an `__init__.py` (Ceph's
// layout) in MGR_MODULE_PATH's folders, then in Ceph's module folder
// (MGR_PYTHON_MODULE_PATH, /usr/share/ceph/mgr from Debian's ceph-mgr and
// ceph-mgr-modules-core). Each becomes a PythonModuleRunner next to the
// TypeScript ones.
//
// Names: a Python module with the name of a TypeScript module (Ceph's
// `status`, `selftest`, `prometheus` vs ours) is an error that says so, and
// the TypeScript one keeps the name, unless the name is listed in
// MGR_PREFER_PYTHON_MODULES: then the Python module replaces it (how Ceph's
// own `status` answers `fs status`).
import * as fs from 'fs';
import * as path from 'path';
import type { ModuleRunner, RunnerDeps } from './module-runner';
import type { ModuleDeclaration } from './protocol';
import type { PythonRuntime } from './python-api';
import { haveMaps, probeMany, PythonModuleRunner, waitForMaps } from './python-runner';

export interface PythonModulesConfig {
  /** Folders searched first (MGR_MODULE_PATH): a Python module found here wins over Ceph's of the same name. */
  modulePath: string[];
  /** Ceph's module folder, holding mgr_module.py too (MGR_PYTHON_MODULE_PATH). */
  cephMgrDir: string;
  /** The interpreter (MGR_PYTHON). */
  python: string;
  /** Names whose Python module replaces the TypeScript one (MGR_PREFER_PYTHON_MODULES). */
  prefer: string[];
  /** Only these Python modules are loaded (MGR_PYTHON_MODULES); empty or '*': all. */
  only: string[];
}

export const DEFAULT_CEPH_MGR_DIR = '/usr/share/ceph/mgr';

function isPythonModule(dir: string): boolean {
  return fs.existsSync(path.join(dir, '__init__.py')) && !fs.existsSync(path.join(dir, 'index.ts')) && !fs.existsSync(path.join(dir, 'index.js'));
}

/**
 * Adds a runner for every Python module found to `runners` (keyed by name),
 * recording name clashes in `clashes`. Returns the names added.
 */
export function addPythonModules(
  cfg: PythonModulesConfig,
  runners: Map<string, ModuleRunner>,
  clashes: string[],
  deps: RunnerDeps,
  rt: Omit<PythonRuntime, 'python' | 'cephMgrDir' | 'hostApi' | 'mapsReady' | 'mapsPresent'>,
  stopped: AbortSignal,
): string[] {
  // The maps ceph-mgr waits for before starting modules, looked up through
  // the host's get() cache.
  const MAPS = ['osd_map', 'fs_map'];
  const hostGet = async (name: string) => ((await deps.api('module-host', 'get', [name, -1])) as { json: string | null } | null)?.json != null;
  let ready: Promise<boolean> | null = null;
  const mapsReady = () => (ready ??= waitForMaps(hostGet, MAPS, stopped, deps.log));
  const mapsPresent = async () => (await haveMaps(hostGet, MAPS)).every(Boolean);
  const runtime: PythonRuntime = { ...rt, python: cfg.python, cephMgrDir: cfg.cephMgrDir, hostApi: deps.api, mapsReady, mapsPresent };
  // One python3 reads every module's declaration (mgr_probe.py), started on
  // the first probe(), once the list below is complete.
  const toProbe: Array<{ name: string; dir: string }> = [];
  let batch: Promise<Map<string, ModuleDeclaration>> | null = null;
  const batchProbe = () => (batch ??= probeMany(runtime, deps.mgrId, toProbe, deps.log));
  const pyDeps = { ...deps, python: runtime, batchProbe };
  const wanted = (n: string) => !cfg.only.length || cfg.only.includes('*') || cfg.only.includes(n);
  const added: string[] = [];
  const dirs = [...cfg.modulePath, cfg.cephMgrDir].filter((d, i, all) => all.indexOf(d) === i);
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) {
      if (dir === cfg.cephMgrDir)
        deps.log('info', "no Ceph Python modules: the folder does not exist (Debian's ceph-mgr and ceph-mgr-modules-core install it)", { path: dir });
      continue;
    }
    for (const name of fs.readdirSync(dir).sort()) {
      const folder = path.join(dir, name);
      if (name.startsWith('_') || name.startsWith('.') || !wanted(name) || !isPythonModule(folder)) continue;
      const existing = runners.get(name);
      if (existing && existing.runtime === 'python') {
        clashes.push(`${folder} ignored: a Python module named '${name}' was already found at ${existing.entry}`);
        continue;
      }
      if (existing && !cfg.prefer.includes(name)) {
        const msg = `Python module '${name}' at ${folder} has the same name as the TypeScript module at ${path.dirname(existing.entry)}: it is not loaded (set MGR_PREFER_PYTHON_MODULES=${name} to run the Python one instead)`;
        clashes.push(msg);
        deps.log('error', msg, { module: name });
        continue;
      }
      if (existing)
        deps.log('info', 'the Python module replaces the TypeScript module of the same name (MGR_PREFER_PYTHON_MODULES)', {
          module: name,
          python: folder,
          typescript: existing.entry,
        });
      runners.set(name, new PythonModuleRunner(name, folder, pyDeps));
      toProbe.push({ name, dir });
      added.push(name);
    }
  }
  return added;
}
