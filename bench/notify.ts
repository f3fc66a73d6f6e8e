// Notify latency: a new OSD map PutMap'd into cluster-state until ten
// modules' notify() ran. Ten tiny benchmark modules (written to a temp
// MGR_MODULE_PATH) subscribe to osd_map and, in notify(), store the wall-clock
// time they were called (setStore, so it comes back through cluster-state's
// Watch as a `store` event). Per trial: PutMap at t0, wait for the ten store
// events, read the ten stamps; the figure is the last module's stamp - t0.
// Baseline: the PutMap round trip alone (what the feeder itself waits for),
// measured in the same loop.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SimCluster } from '../sim/cluster';
import { BenchResult, Figure, MEASURE_MS, ROOT, SMOKE, WARMUP_MS, percentile } from './harness';
import { Stack, sharedStack, startStack, until } from './stack';

export const NOTIFY_MODULES = 10;

function writeModules(dir: string): string[] {
  const names: string[] = [];
  const sdk = path.join(ROOT, 'lib/mgr-module');
  for (let i = 0; i < NOTIFY_MODULES; i++) {
    const name = `bnotify${i}`;
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(
      path.join(dir, name, 'index.ts'),
      `// benchmark module: records when notify(osd_map) ran\n` +
        `import { MgrModule } from ${JSON.stringify(sdk)};\n` +
        `export default class Notified extends MgrModule {\n` +
        `  static override NOTIFY_TYPES = ['osd_map'];\n` +
        `  override async notify(): Promise<void> {\n` +
        `    const t = performance.timeOrigin + performance.now();\n` +
        `    await this.setStore('notified', String(t));\n` +
        `  }\n` +
        `}\n`,
    );
    names.push(name);
  }
  return names;
}

const wall = () => performance.timeOrigin + performance.now();

/**
 * The manager with hello and the ten benchmark modules loaded: command and
 * notify share it (hello does not react to notifications, so neither
 * disturbs the other; they run one after the other).
 */
export function moduleStack(): Promise<Stack> {
  return sharedStack('modules', async () => {
    const modDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-bench-modules-'));
    const names = writeModules(modDir);
    try {
      const stack = await startStack({ modulePath: [modDir], modules: ['hello', 'status', ...names] });
      const stop = stack.stop;
      stack.stop = async () => {
        await stop();
        fs.rmSync(modDir, { recursive: true, force: true });
      };
      return stack;
    } catch (e) {
      fs.rmSync(modDir, { recursive: true, force: true });
      throw e;
    }
  });
}

export async function runNotify(osds = SMOKE ? 10 : 100): Promise<BenchResult> {
  const names = Array.from({ length: NOTIFY_MODULES }, (_, i) => `bnotify${i}`);
  const stack = await moduleStack();
  const abort = new AbortController();
  try {
    const sim = new SimCluster({ osds, pgs: Math.max(89, osds * 10) });
    const map = sim.osdMap() as Record<string, unknown> & { epoch: number };
    let epoch = map.epoch;
    const put = () => {
      epoch++;
      return stack.csClient.putMap({ name: 'osd_map', epoch, json: Buffer.from(JSON.stringify({ ...map, epoch })) });
    };

    // store events (one per module per notify) from cluster-state's Watch
    let seen = new Set<string>();
    const waiter: { wake: (() => void) | null } = { wake: null };
    void (async () => {
      try {
        for await (const ev of stack.csClient.watch({ afterSeq: 0, types: ['store'] }, { signal: abort.signal })) {
          // the id of a store event is the key: mgr/<module>/<key>
          const m = /^mgr\/(bnotify\d+)\//.exec(ev.id);
          if (m) {
            seen.add(m[1]);
            if (seen.size === NOTIFY_MODULES) waiter.wake?.();
          }
        }
      } catch {
        /* ends with the benchmark */
      }
    })();
    const allNotified = () =>
      new Promise<void>((resolve, reject) => {
        if (seen.size === NOTIFY_MODULES) return resolve();
        const t = setTimeout(() => reject(new Error(`only ${[...seen].join(', ') || 'no module'} notified within 10 s (of ${NOTIFY_MODULES})`)), 10000);
        waiter.wake = () => {
          clearTimeout(t);
          waiter.wake = null;
          resolve();
        };
      });

    // every module is running before the first trial
    await until(
      'the ten benchmark modules to notify',
      async () => {
        seen = new Set();
        await put();
        await allNotified();
        return true;
      },
      60000,
      200,
    );

    const trial = async () => {
      seen = new Set();
      const t0 = wall();
      await put();
      const tPut = wall();
      await allNotified();
      const tSeen = wall();
      // the modules' store is readable by managers only
      const { entries } = await stack.csClient.listStore({ prefix: 'mgr/bnotify' }, stack.asManager());
      const stamps = names.map((n) => Number(entries[`mgr/${n}/notified`]));
      return { notify: Math.max(...stamps) - t0, first: Math.min(...stamps) - t0, put: tPut - t0, seen: tSeen - t0 };
    };
    const run = async (ms: number) => {
      const out: Array<Awaited<ReturnType<typeof trial>>> = [];
      const end = performance.now() + ms;
      while (performance.now() < end) out.push(await trial());
      return out;
    };
    await run(WARMUP_MS);
    const trials = await run(MEASURE_MS);
    const col = (k: keyof (typeof trials)[0]) => trials.map((t) => t[k]).sort((a, b) => a - b);
    const notify = col('notify');
    const first = col('first');
    const putRt = col('put');
    const seenAll = col('seen');
    const bn = 'PutMap round trip alone';
    const figures: Figure[] = [
      {
        name: `notify_ten_modules_p50`,
        value: percentile(notify, 50),
        unit: 'ms',
        baseline: percentile(putRt, 50),
        baselineName: bn,
        note: `${trials.length} maps of ${osds} OSDs`,
      },
      { name: `notify_ten_modules_p99`, value: percentile(notify, 99), unit: 'ms', baseline: percentile(putRt, 99), baselineName: bn },
      { name: `notify_first_module_p50`, value: percentile(first, 50), unit: 'ms', baseline: percentile(putRt, 50), baselineName: bn },
      {
        name: `notify_ten_stored_and_watched_p50`,
        value: percentile(seenAll, 50),
        unit: 'ms',
        baseline: percentile(putRt, 50),
        baselineName: bn,
        note: 'until the ten setStore calls came back through Watch',
      },
    ];
    return { bench: 'notify', figures, params: { modules: NOTIFY_MODULES, osds, trials: trials.length } };
  } finally {
    abort.abort();
  }
}
