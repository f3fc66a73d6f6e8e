// The modules' options kept where ceph-mgr keeps them: the monitors'
// configuration database, section `mgr`, names `mgr/<module>/<option>`
// (`ceph config set mgr mgr/prometheus/scrape_interval 20`). mgrpc's modules
// read and write them in cluster-state's store as `config/mgr/<module>/<option>`
// (module-host's options.ts), which tells the module (config_notify) when
// one changes; this mirror keeps the two equal, both ways:
// - the monitors → cluster-state: `config dump` every period (the
//   monitors announce no change of another entity's configuration);
// - cluster-state → the monitors: its `config` events (one per key), as
//   `config set mgr <name> <value>` / `config rm mgr <name>`.
// Each dump is a three-way merge against the one before: the side that
// changed an option since wins (on the first, the monitors where both hold
// it; options only cluster-state holds are written to the monitors).
import type { Logger } from '../lib/log';
import type { MonClient } from '../lib/ceph/monclient';
import { WatchEventKind, type ClusterStateServiceClient } from '../lib/gen/ceph/mgr/v1/cluster_state';

/** cluster-state's store prefix for module options, and the monitors' name prefix. */
const OURS = 'config/';
const THEIRS = 'mgr/';

const ourKey = (name: string) => `${OURS}${name}`;

export class OptionsMirror {
  /** The monitors' `mgr` section options named mgr/..., as last dumped; undefined until the first dump. */
  private mon: Map<string, string> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  readonly stats = { fromMonitors: 0, toMonitors: 0, errors: 0 };

  constructor(private readonly o: { mon: MonClient; cs: ClusterStateServiceClient; log: Logger; periodMs?: number; commandTimeoutMs?: number }) {}

  start(): void {
    const tick = () => {
      void this.serial(() => this.fromMonitors());
      this.timer = setTimeout(tick, this.o.periodMs ?? 5000);
      this.timer.unref();
    };
    this.o.mon.on('connected', () => void this.serial(() => this.fromMonitors()));
    tick();
    void this.watchOptions();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.abort.abort();
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((e) => {
      this.stats.errors++;
      // the same failure again (say, caps that refuse a write) is logged once, not every period
      const error = (e as Error).message;
      this.o.log[error === this.lastError ? 'debug' : 'warn']("module options could not be brought in step with the monitors' configuration", { error });
      this.lastError = error;
    });
    return this.chain;
  }

  /** The monitors' options now; what changed since the last dump goes to cluster-state. */
  private async fromMonitors(): Promise<void> {
    if (this.o.mon.status().state !== 'connected') return;
    const r = await this.o.mon.command({ prefix: 'config dump', format: 'json' }, { timeoutMs: this.o.commandTimeoutMs });
    if (r.r !== 0) throw new Error(`config dump: ${r.rs} (${r.r})`);
    const theirs = new Map<string, string>();
    for (const e of JSON.parse(r.data.toString('utf8') || '[]') as Array<{ section?: string; name?: string; value?: string }>) {
      if (e.section === 'mgr' && typeof e.name === 'string' && e.name.startsWith(THEIRS)) theirs.set(e.name, String(e.value ?? ''));
    }
    const before = this.mon;
    this.mon = new Map(theirs);
    const ours = new Map(Object.entries((await this.o.cs.listStore({ prefix: ourKey(THEIRS) })).entries).map(([k, v]) => [k.slice(OURS.length), v]));
    // a three-way merge against the last dump: whichever side changed an option since then wins
    for (const name of new Set([...theirs.keys(), ...ours.keys()])) {
      const t = theirs.get(name);
      const o = ours.get(name);
      if (t === o) continue;
      const monitorsChanged = before ? t !== before.get(name) : t !== undefined;
      if (monitorsChanged) {
        await this.o.cs.setStore(t === undefined ? { key: ourKey(name) } : { key: ourKey(name), value: t });
        this.stats.fromMonitors++;
      } else await this.toMonitors(name, o);
    }
    if (!before) this.o.log.info("module options in step with the monitors' configuration", { monitorOptions: theirs.size, ourOptions: ours.size });
  }

  private async toMonitors(name: string, value: string | undefined): Promise<void> {
    const cmd = value === undefined ? { prefix: 'config rm', who: 'mgr', name } : { prefix: 'config set', who: 'mgr', name, value };
    const r = await this.o.mon.command(cmd, { timeoutMs: this.o.commandTimeoutMs });
    if (r.r !== 0) throw new Error(`${cmd.prefix} mgr ${name}: ${r.rs} (${r.r})`);
    if (value === undefined) this.mon?.delete(name);
    else this.mon?.set(name, value);
    this.stats.toMonitors++;
  }

  /** One option of cluster-state compared with the monitors'. */
  private async keyToMonitors(key: string): Promise<void> {
    if (!this.mon) return; // the first dump compares everything
    const name = key.slice(OURS.length);
    const ours = await this.o.cs.getStore({ key });
    if (ours.found ? this.mon.get(name) !== ours.value : this.mon.has(name)) await this.toMonitors(name, ours.found ? ours.value : undefined);
  }

  private async watchOptions(): Promise<void> {
    let after = 0;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        for await (const ev of this.o.cs.watch({ afterSeq: after, types: ['config'] }, { signal })) {
          after = ev.seq;
          if (ev.kind === WatchEventKind.WATCH_EVENT_KIND_RESYNC) void this.serial(() => this.fromMonitors());
          else if (ev.type === 'config' && ev.id.startsWith(ourKey(THEIRS))) void this.serial(() => this.keyToMonitors(ev.id));
        }
      } catch (e) {
        if (signal.aborted) return;
        this.o.log.debug('option watch ended; watching again', { error: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, 1000).unref());
    }
  }
}
