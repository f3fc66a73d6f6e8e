// The worker side of the boundary: loads one module, answers the host's
// messages (protocol.ts) and forwards the module's API calls to the host.
// Runs inside a worker thread started by module-runner.ts.
import { parentPort, workerData } from 'worker_threads';
import { CommandDeclaration, MgrModule, MgrStandbyModule, setModuleTransport } from '../../../lib/mgr-module';
import { OptionCache } from './option-cache';
import type { HostToModule, ModuleToHost, ModuleDeclaration } from './protocol';

interface WorkerInit {
  entry: string;
  name: string;
  mgrId: string;
}

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (m: ModuleToHost) => port.postMessage(m);
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

let nextCall = 1;
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

function callHost(method: string, args: unknown[]): Promise<unknown> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    send({ kind: 'api', id, method, args });
  });
}

const options = new OptionCache((key) => callHost('getModuleOption', [key]));

setModuleTransport({
  moduleName: init.name,
  mgrId: init.mgrId,
  call(method, args) {
    if (method === 'getModuleOption' && typeof args[0] === 'string') return options.get(args[0]);
    return callHost(method, args);
  },
  log(level, msg) {
    send({ kind: 'log', level, msg: String(msg) });
  },
});

type ModuleClass = (new () => MgrModule) & typeof MgrModule;
type StandbyClass = new () => MgrStandbyModule;

let ActiveClass: ModuleClass;
let Standby: StandbyClass | null = null;
let instance: MgrModule | MgrStandbyModule | null = null;

function load(): ModuleDeclaration {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(init.entry);
  const cls = mod.default ?? mod.Module;
  if (typeof cls !== 'function' || !(cls.prototype instanceof MgrModule)) {
    throw new Error(`${init.entry} does not export a class extending MgrModule (as default or Module)`);
  }
  ActiveClass = cls;
  const sb = mod.standby ?? mod.Standby;
  if (sb && typeof sb === 'function' && sb.prototype instanceof MgrStandbyModule) Standby = sb;
  let canRun: [boolean, string];
  try {
    const r = cls.canRun();
    canRun = Array.isArray(r) ? [!!r[0], String(r[1] ?? '')] : [!!r, ''];
  } catch (e) {
    canRun = [false, `can_run raised: ${errorText(e)}`];
  }
  return {
    commands: (cls.COMMANDS ?? []).map((c: Partial<CommandDeclaration>) => ({
      cmd: String(c.cmd),
      desc: String(c.desc ?? ''),
      perm: String(c.perm ?? 'rw'),
      poll: !!c.poll,
    })),
    options: cls.MODULE_OPTIONS ?? [],
    notifyTypes: (cls.NOTIFY_TYPES ?? []).map(String),
    canRun,
    hasStandby: !!Standby,
  };
}

function asResult(v: unknown): [number, string, string] {
  if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'number') return [v[0], String(v[1] ?? ''), String(v[2] ?? '')];
  if (v && typeof v === 'object' && 'retval' in v) {
    const o = v as { retval: number; stdout?: string; stderr?: string };
    return [Number(o.retval), String(o.stdout ?? ''), String(o.stderr ?? '')];
  }
  throw new Error(`handleCommand must return [retcode, stdout, stderr], got ${JSON.stringify(v)?.slice(0, 200)}`);
}

async function handle(m: HostToModule): Promise<unknown> {
  switch (m.kind) {
    case 'start': {
      instance = m.active ? new ActiveClass() : Standby ? new Standby() : null;
      if (instance && m.serve !== false) {
        const running = instance;
        Promise.resolve()
          .then(() => running.serve())
          .then(
            () => send({ kind: 'serve_ended' }),
            (e) => send({ kind: 'serve_ended', error: errorText(e) }),
          );
      }
      return null;
    }
    case 'command':
      if (!(instance instanceof MgrModule)) throw new Error('module is not active');
      return asResult(await instance.handleCommand(m.inbuf, m.cmd));
    case 'notify':
      if (instance instanceof MgrModule) await instance.notify(m.type, m.notifyId);
      return null;
    case 'config_notify':
      if (instance instanceof MgrModule) await instance.configNotify();
      return null;
    case 'self_test':
      if (!(instance instanceof MgrModule)) throw new Error('module is not active');
      return (await instance.selfTest()) ?? '';
    case 'remote': {
      const fn = instance && (instance as unknown as Record<string, unknown>)[m.method];
      if (!(instance instanceof MgrModule) || typeof fn !== 'function' || m.method.startsWith('_')) {
        throw new Error(`module '${init.name}' has no method '${m.method}'`);
      }
      if (m.kwargs && Object.keys(m.kwargs).length) throw new Error(`module '${init.name}' takes no keyword arguments (it is a TypeScript module)`);
      return await fn.apply(instance, m.args);
    }
    case 'heartbeat': {
      // This thread's own memory (a worker's process.memoryUsage() counts
      // its isolate's heap and its Buffers/ArrayBuffers, not the process's).
      const m = process.memoryUsage();
      return { heapUsed: m.heapUsed, external: m.external };
    }
    case 'shutdown':
      instance?.shutdown();
      return null;
    default:
      return null;
  }
}

port.on('message', (m: HostToModule) => {
  if (m.kind === 'api_result') {
    const c = calls.get(m.id);
    if (!c) return;
    calls.delete(m.id);
    if (m.ok) c.resolve(m.value);
    else c.reject(new Error(m.error));
    return;
  }
  if (m.kind === 'option_changed') return options.forget(m.key);
  handle(m).then(
    (value) => send({ kind: 'reply', id: m.id, ok: true, value }),
    (e) => send({ kind: 'reply', id: m.id, ok: false, error: errorText(e) }),
  );
});

try {
  send({ kind: 'loaded', declaration: load() });
} catch (e) {
  send({ kind: 'load_failed', error: errorText(e) });
}
