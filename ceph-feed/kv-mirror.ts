// The modules' store kept where ceph-mgr keeps it: the monitors'
// config-key store under `mgr/` (`mgr/<module>/<key>`, `ceph config-key ls`).
// cluster-state's store stays what the modules read and write; this mirror
// keeps the two equal, both ways, so switching between ceph-mgr and mgrpc
// keeps Ceph's modules' state (crash reports, restful keys, balancer
// settings):
// - the monitors → cluster-state: a `kv:mgr/` subscription (MKVData: the
//   whole prefix on every session, then each change);
// - cluster-state → the monitors: its `store` events (one per key
//   changed), after which the key is compared with the monitors' and set
//   (`config-key set`) or removed (`config-key rm`).
// On the first full copy the monitors win where both hold a key (ceph-mgr
// may have changed it while mgrpc was away); keys only cluster-state holds
// are written to the monitors. A change equal to what the other side holds
// is not passed on, so nothing echoes. The module options
// (`config/mgr/...`) are not mirrored here.
import type { Logger } from '../lib/log';
import type { Message } from '../lib/ceph/message';
import { decodeMKVData } from '../lib/ceph/messages/mgr-mon';
import type { MonClient } from '../lib/ceph/monclient';
import { WatchEventKind, type ClusterStateServiceClient } from '../lib/gen/ceph/mgr/v1/cluster_state';

export const KV_PREFIX = 'mgr/';

/** What the monitors' config-key store may hold per value (Ceph's mon_config_key_max_entry_size: 64 KiB). */
const MAX_VALUE_BYTES = 64 * 1024;

export class KvMirror {
  /** The monitors' keys under mgr/ as last heard; undefined until the first full copy. */
  private mon: Map<string, string> | undefined;
  /** Keys that changed in cluster-state before the first full copy. */
  private dirtyKeys = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private lastError = '';
  private readonly abort = new AbortController();
  readonly stats = { fromMonitors: 0, toMonitors: 0, removedFromMonitors: 0, errors: 0 };
  /** Resolves once the first full copy from the monitors is in cluster-state. */
  readonly firstCopy: Promise<void>;
  private copied!: () => void;

  constructor(private readonly o: { mon: MonClient; cs: ClusterStateServiceClient; log: Logger; commandTimeoutMs?: number }) {
    this.firstCopy = new Promise((r) => (this.copied = r));
  }

  start(): void {
    this.o.mon.subscribe(`kv:${KV_PREFIX}`);
    this.o.mon.on('kvdata', (m: Message) => this.serial(() => this.fromMonitors(m)));
    void this.watchStore();
  }

  stop(): void {
    this.abort.abort();
  }

  /** Whether the first full copy from the monitors is in. */
  get synced(): boolean {
    return this.mon !== undefined;
  }

  /** Runs one step at a time, in order; a failure is logged and the next step runs. */
  private serial(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((e) => {
      this.stats.errors++;
      // the same failure again (say, caps that refuse a write) is logged once, not every period
      const error = (e as Error).message;
      this.o.log[error === this.lastError ? 'debug' : 'warn']("the modules' store and the monitors' config-key store could not be brought in step", { error });
      this.lastError = error;
    });
    return this.chain;
  }

  private async fromMonitors(m: Message): Promise<void> {
    const kv = decodeMKVData(m);
    if (kv.prefix !== KV_PREFIX) return;
    const text = (b: Buffer) => b.toString('utf8');
    if (!kv.incremental) {
      const theirs = new Map<string, string>();
      for (const [k, v] of kv.data) if (v) theirs.set(k, text(v));
      const first = this.mon === undefined;
      this.mon = theirs;
      const ours = new Map(Object.entries((await this.o.cs.listStore({ prefix: KV_PREFIX })).entries));
      for (const [k, v] of theirs) if (ours.get(k) !== v) await this.toClusterState(k, v);
      // keys only we hold: ours to write there (on the first copy: written while the monitors did not know them)
      for (const [k, v] of ours) if (!theirs.has(k)) await this.toMonitors(k, v);
      this.o.log.info(first ? "modules' store in step with the monitors' config-key store" : "modules' store compared again with the monitors'", {
        monitorKeys: theirs.size,
        ourKeys: ours.size,
      });
      this.dirtyKeys.clear(); // compared above
      this.copied();
      return;
    }
    if (!this.mon) return; // changes before the full copy: the full copy has them
    for (const [k, v] of kv.data) {
      if (v === undefined) {
        this.mon.delete(k);
        if ((await this.o.cs.getStore({ key: k })).found) await this.toClusterState(k, undefined);
      } else {
        const value = text(v);
        this.mon.set(k, value);
        const ours = await this.o.cs.getStore({ key: k });
        if (!ours.found || ours.value !== value) await this.toClusterState(k, value);
      }
    }
  }

  private async toClusterState(key: string, value: string | undefined): Promise<void> {
    await this.o.cs.setStore(value === undefined ? { key } : { key, value });
    this.stats.fromMonitors++;
    this.o.log.debug('store key from the monitors', { key, removed: value === undefined });
  }

  /** One key of cluster-state compared with the monitors': set when it differs, removed when gone. */
  private async keyToMonitors(key: string): Promise<void> {
    if (!this.mon) {
      this.dirtyKeys.add(key);
      return;
    }
    const ours = await this.o.cs.getStore({ key });
    if (ours.found) {
      if (this.mon.get(key) !== ours.value) await this.toMonitors(key, ours.value);
      return;
    }
    if (!this.mon.has(key)) return;
    const r = await this.o.mon.command({ prefix: 'config-key rm', key }, { timeoutMs: this.o.commandTimeoutMs });
    if (r.r !== 0 && r.r !== -2) throw new Error(`config-key rm ${key}: ${r.rs} (${r.r})`);
    this.mon.delete(key);
    this.stats.removedFromMonitors++;
  }

  private async toMonitors(key: string, value: string): Promise<void> {
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
      this.o.log.warn("a store value is too large for the monitors' config-key store; kept in cluster-state only", { key, bytes: Buffer.byteLength(value) });
      return;
    }
    const r = await this.o.mon.command({ prefix: 'config-key set', key }, { inbuf: Buffer.from(value), timeoutMs: this.o.commandTimeoutMs });
    if (r.r !== 0) throw new Error(`config-key set ${key}: ${r.rs} (${r.r})`);
    this.mon?.set(key, value);
    this.stats.toMonitors++;
  }

  /** cluster-state's store events (one per key changed), followed until stop(); resumed after a failure. */
  private async watchStore(): Promise<void> {
    let after = 0n;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        for await (const ev of this.o.cs.watch({ afterSeq: Number(after), types: ['store'] }, { signal })) {
          after = BigInt(ev.seq);
          if (ev.kind === WatchEventKind.WATCH_EVENT_KIND_RESYNC) void this.serial(() => this.allToMonitors());
          else if (ev.type === 'store' && ev.id.startsWith(KV_PREFIX)) void this.serial(() => this.keyToMonitors(ev.id));
        }
      } catch (e) {
        if (signal.aborted) return;
        this.o.log.debug('store watch ended; watching again', { error: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, 1000).unref());
    }
  }

  /** Every key either side holds under mgr/, compared (after a RESYNC of the watch). */
  private async allToMonitors(): Promise<void> {
    const ours = Object.keys((await this.o.cs.listStore({ prefix: KV_PREFIX })).entries);
    for (const k of new Set([...ours, ...(this.mon?.keys() ?? [])])) await this.keyToMonitors(k);
  }
}
