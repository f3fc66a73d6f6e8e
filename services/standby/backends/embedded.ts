// The embedded backend: one replica, the map in a file. Every new epoch is
// written atomically (temp file, fsync, rename, fsync of the directory)
// before it is answered, so a restart keeps the epoch, the enabled modules
// and the services; the managers in the map get a full grace period again.
import * as fs from 'fs';
import * as path from 'path';
import { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { Logger } from '../../../lib/log';
import { AuthorityError, emptyMap, MgrMapAuthority } from '../domain/authority';
import { MapFeed } from '../domain/feed';
import { AuthorityRunner, DurableStore, RunnerStopped } from '../domain/runner';
import { BackendStatus, BackendUnavailable, StandbyBackend } from './backend';

export interface EmbeddedOptions {
  dataDir: string;
  graceMs: number;
  beaconIntervalMs: number;
  tickMs: number;
  initialModules: string[];
  alwaysOnModules: string[];
  log: Logger;
  /** Every durable new map (publish it). */
  onCommitted(map: MgrMap, why: string): void;
  /** For a fresh map: the epoch to start after (cluster-state's copy), if known. */
  initialEpoch?: () => Promise<number>;
}

const FILE = 'mgrmap.json';

/** The map file: MgrMap's proto JSON with a format version. */
export class FileMapStore implements DurableStore {
  readonly file: string;
  constructor(private dir: string) {
    this.file = path.join(dir, FILE);
  }

  load(): MgrMap | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let doc: { version?: number; mgrMap?: unknown };
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(`${this.file}: not valid JSON (${(e as Error).message}); move it away to start with a fresh map`, { cause: e });
    }
    if (doc.version !== 1 || !doc.mgrMap) throw new Error(`${this.file}: unknown format (version ${doc.version}); move it away to start with a fresh map`);
    return MgrMap.fromJSON(doc.mgrMap);
  }

  async save(map: MgrMap): Promise<void> {
    const tmp = `${this.file}.tmp-${process.pid}`;
    const body = JSON.stringify({ version: 1, savedAt: new Date().toISOString(), mgrMap: MgrMap.toJSON(map) });
    const fh = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, this.file);
    // The rename itself is durable only once the directory is synced.
    const dh = await fs.promises.open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<StandbyBackend> {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const store = new FileMapStore(opts.dataDir);
  let map = store.load();
  const feed = new MapFeed();
  if (map) {
    // The always-on set is configuration, not state: follow it.
    const alwaysOn = [...new Set(opts.alwaysOnModules)].sort();
    if (JSON.stringify(alwaysOn) !== JSON.stringify(map.alwaysOnModules)) {
      map = { ...map, epoch: map.epoch + 1, alwaysOnModules: alwaysOn, modules: map.modules.filter((m) => !alwaysOn.includes(m)) };
      await store.save(map);
    }
    opts.log.info('mgr map loaded', { file: store.file, epoch: map.epoch, active: map.activeName, standbys: map.standbys.length, modules: map.modules });
  } else {
    map = emptyMap(opts.initialModules, opts.alwaysOnModules);
    const after = opts.initialEpoch ? await opts.initialEpoch().catch(() => 0) : 0;
    if (after >= map.epoch) map.epoch = after + 1;
    await store.save(map);
    opts.log.info('fresh mgr map', { file: store.file, epoch: map.epoch, modules: map.modules, alwaysOn: map.alwaysOnModules });
  }
  feed.publish(map);
  const runner = new AuthorityRunner(map, store, {
    graceMs: opts.graceMs,
    beaconIntervalMs: opts.beaconIntervalMs,
    onCommitted(m, why) {
      feed.publish(m);
      opts.log.info('new mgr map', { epoch: m.epoch, active: m.activeName, standbys: m.standbys.map((s) => s.name), why });
      opts.onCommitted(m, why);
    },
  });
  opts.onCommitted(map, 'loaded');
  runner.startTicking(opts.tickMs, (e) => opts.log.error('tick failed', { error: (e as Error).message }));
  const status: BackendStatus = { backend: 'embedded', role: 'leader', leader: '' };
  return {
    feed,
    ready: Promise.resolve(),
    status: () => status,
    write<T>(local: (a: MgrMapAuthority) => T, _forward: unknown, _forwarded: boolean): Promise<T> {
      return runner.run(local).catch((e) => {
        if (e instanceof AuthorityError || e instanceof RunnerStopped) throw e;
        throw new BackendUnavailable(`could not store the MgrMap in ${store.file}: ${(e as Error).message}`);
      });
    },
    stop: () => runner.stop(),
  };
}
