// The commands this manager answers, looked up by prefix on every command:
// native commands, and module-host's module commands, cached. A command
// never waits for module-host's list while a cached one exists: an expired
// cache is served and refreshed in the background (at most one refresh at a
// time); only a prefix nobody knows refreshes at once, in case a module was
// just enabled.
import type { CommandDescriptor } from '../../../lib/gen/ceph/mgr/v1/common';
import { CommandSignature, parseSignature } from '../../../lib/command-descriptor';

/** One row of the command table: a descriptor with its parsed signature and, for native commands, what runs it. */
export interface CommandEntry<N = unknown> {
  desc: CommandDescriptor;
  sig: CommandSignature;
  native?: N;
}

export interface CommandTableOptions<N> {
  native: Array<CommandEntry<N>>;
  /** module-host's commands, or null when there is no module-host. */
  listModuleCommands: (() => Promise<CommandDescriptor[]>) | null;
  ttlMs: number;
  onWarn: (msg: string, fields: Record<string, unknown>) => void;
  now?: () => number;
}

export class CommandTable<N> {
  private modules: { at: number; entries: Array<CommandEntry<N>>; byPrefix: Map<string, Array<CommandEntry<N>>> } | null = null;
  private refreshing: Promise<void> | null = null;
  /** Why module-host's command list could not be had, while it cannot. */
  listError: string | null = null;
  private readonly nativeByPrefix = new Map<string, Array<CommandEntry<N>>>();
  private readonly now: () => number;

  constructor(private readonly opts: CommandTableOptions<N>) {
    this.now = opts.now ?? Date.now;
    for (const e of opts.native) addTo(this.nativeByPrefix, e);
  }

  /** Whether module-host's command list was had at least once. */
  get hasModuleList(): boolean {
    return this.modules !== null;
  }

  /** Every command, native first. */
  async all(): Promise<Array<CommandEntry<N>>> {
    return [...this.opts.native, ...(await this.moduleTable()).entries];
  }

  /** The entries for a prefix (native first), refreshing module commands once if none is known. */
  async lookup(prefix: string): Promise<Array<CommandEntry<N>>> {
    const native = this.nativeByPrefix.get(prefix) ?? [];
    let mods = (await this.moduleTable()).byPrefix.get(prefix);
    if (!native.length && !mods?.length && this.opts.listModuleCommands) {
      // a module may have just been enabled: look once more past the cache
      await this.refresh();
      mods = this.modules?.byPrefix.get(prefix);
    }
    return mods?.length ? [...native, ...mods] : native;
  }

  private async moduleTable(): Promise<NonNullable<CommandTable<N>['modules']>> {
    if (!this.opts.listModuleCommands) return { at: 0, entries: [], byPrefix: new Map() };
    if (!this.modules) await this.refresh();
    else if (this.now() - this.modules.at >= this.opts.ttlMs) void this.refresh();
    return this.modules ?? { at: 0, entries: [], byPrefix: new Map() };
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const descs = await this.opts.listModuleCommands!();
        // The list rarely changes between refreshes: a signature already parsed is reused, not parsed again.
        const parsed = new Map(this.modules?.entries.map((e) => [e.desc.cmd, e.sig]));
        const entries: Array<CommandEntry<N>> = [];
        const byPrefix = new Map<string, Array<CommandEntry<N>>>();
        for (const desc of descs) {
          try {
            const e = { desc, sig: parsed.get(desc.cmd) ?? parseSignature(desc.cmd) };
            entries.push(e);
            addTo(byPrefix, e);
          } catch (err) {
            this.opts.onWarn('module command has a bad descriptor; skipped', { module: desc.module, cmd: desc.cmd, error: (err as Error).message });
          }
        }
        this.modules = { at: this.now(), entries, byPrefix };
        this.listError = null;
      } catch (err) {
        this.opts.onWarn('cannot list module commands', { error: (err as Error).message });
        this.listError = (err as Error).message;
        // keep serving what we had; try again at the next command
        if (this.modules) this.modules.at = this.now() - this.opts.ttlMs;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }
}

function addTo<N>(m: Map<string, Array<CommandEntry<N>>>, e: CommandEntry<N>): void {
  const list = m.get(e.sig.prefix);
  if (list) list.push(e);
  else m.set(e.sig.prefix, [e]);
}
