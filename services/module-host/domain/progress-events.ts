// The active manager's progress events (ceph-mgr's ActivePyModules
// progress_events): modules report long operations with
// update_progress_event / complete_progress_event (the progress module does,
// for recovery), and the manager sends them to the monitors with its report
// (MMonMgrReport), where `ceph -s` shows them under "progress:". Here the
// report is the cluster-state map `progress_events`, put a moment after a
// change (changes come in bursts), in Ceph's JSON shape:
// {"<id>": {"message", "progress", "add_to_ceph_s"}}.

export interface ProgressEvent {
  message: string;
  progress: number;
  add_to_ceph_s: boolean;
}

/** How many events are kept (the progress module keeps far fewer). */
const MAX_EVENTS = 1000;

export class ProgressEvents {
  private events = new Map<string, ProgressEvent>();
  private timer: NodeJS.Timeout | null = null;

  /** publish(json) reports the events; its failures are retried with the next change. */
  constructor(
    private publish: (json: string) => Promise<void>,
    private log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void,
    private delayMs = 200,
  ) {}

  update(id: string, message: string, progress: number, addToCephS: boolean): void {
    if (!id) throw new Error('a progress event needs an id');
    if (!this.events.has(id) && this.events.size >= MAX_EVENTS) throw new Error(`too many progress events (${MAX_EVENTS}); complete some first`);
    const p = Number.isFinite(progress) ? Math.min(1, Math.max(0, progress)) : 0;
    this.events.set(id, { message: String(message), progress: p, add_to_ceph_s: !!addToCephS });
    this.schedule();
  }

  complete(id: string): void {
    if (this.events.delete(id)) this.schedule();
  }

  clear(): void {
    this.events.clear();
    this.schedule();
  }

  toJson(): Record<string, ProgressEvent> {
    return Object.fromEntries(this.events);
  }

  /** Reports the current events again (e.g. when this manager becomes active). */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.publish(JSON.stringify(this.toJson())).catch((e) =>
        this.log('warn', 'could not report progress events to cluster-state', { error: (e as Error).message }),
      );
    }, this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
