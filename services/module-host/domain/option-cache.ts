// A worker's copy of its module's option values, so that a module reading
// an option on every command (hello reads `place`) pays no round trip to
// the host thread for it. The host posts `option_changed` whenever it drops
// its own copy (a config event from cluster-state's Watch, a set, a broken
// watch) and messages between the threads keep their order, so a command
// posted after a change reads the new value, as it would from the host. A
// read still in flight when a change arrives is answered but not kept.

export class OptionCache {
  private readonly values = new Map<string, unknown>();
  private generation = 0;

  /** `read` asks the host (getModuleOption); what it throws is not kept. */
  constructor(private readonly read: (key: string) => Promise<unknown>) {}

  async get(key: string): Promise<unknown> {
    if (this.values.has(key)) return this.values.get(key);
    const generation = this.generation;
    const value = await this.read(key);
    if (generation === this.generation) this.values.set(key, value);
    return value;
  }

  /** The option `key` changed; null: any of them may have. */
  forget(key: string | null): void {
    this.generation++;
    if (key === null) this.values.clear();
    else this.values.delete(key);
  }
}
