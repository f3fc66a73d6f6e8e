// A restful request as Ceph's restful keeps it (CommandsRequest): a list of
// waves, each a list of commands; the commands of a wave run in parallel,
// the next wave starts when all of them have finished (failed or not).
// `[[c1, c2], [c3]]` runs c1 and c2, then c3. Its JSON is Ceph's: id,
// running / finished / failed (command, outs, outb), waiting (the waves still
// to run, as command lines), is_waiting, is_finished, has_failed, state.
import * as crypto from 'crypto';

export type Command = Record<string, unknown>;
/** Ceph's (retcode, outb, outs). */
export type Outcome = [number, string, string];

/** Python's str() of a JSON value, as Ceph's humanify_command prints arguments. */
function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  if (Array.isArray(v)) return `[${v.map((x) => (typeof x === 'string' ? `'${x}'` : pyStr(x))).join(', ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Ceph's humanify_command: "osd pool set pool=rbd var=size val=2". */
export function humanify(c: Command): string {
  return [
    String(c.prefix ?? ''),
    ...Object.entries(c)
      .filter(([k]) => k !== 'prefix')
      .map(([k, v]) => `${k}=${pyStr(v)}`),
  ].join(' ');
}

interface Running {
  command: string;
  outs: string;
  outb: string;
}

export class CommandsRequest {
  /** A decimal id, as Ceph's str(id(self)). */
  readonly id = BigInt(`0x${crypto.randomBytes(6).toString('hex')}`).toString();
  running: Running[] = [];
  finished: Running[] = [];
  failed: Running[] = [];
  waiting: Command[][];
  /** Settles when every wave has run. */
  readonly done: Promise<void>;

  constructor(waves: Command[][], run: (c: Command) => Promise<Outcome>) {
    // Ceph drops empty waves.
    this.waiting = waves.filter((w) => w.length);
    this.done = this.runAll(run);
  }

  private async runAll(run: (c: Command) => Promise<Outcome>): Promise<void> {
    while (this.waiting.length) {
      const wave = this.waiting.shift()!;
      const entries = wave.map((c) => ({ command: humanify(c), outs: '', outb: '' }));
      this.running.push(...entries);
      await Promise.all(
        wave.map(async (c, i) => {
          const [r, outb, outs] = await run(c);
          const e = entries[i];
          Object.assign(e, { outb, outs });
          this.running = this.running.filter((x) => x !== e);
          (r === 0 ? this.finished : this.failed).push(e);
        }),
      );
    }
  }

  isFinished(): boolean {
    return !this.running.length && !this.waiting.length;
  }

  toJSON(): Record<string, unknown> {
    const finished = this.isFinished();
    return {
      id: this.id,
      running: this.running.map((x) => ({ ...x })),
      finished: this.finished.map((x) => ({ ...x })),
      waiting: this.waiting.map((w) => w.map(humanify)),
      failed: this.failed.map((x) => ({ ...x })),
      is_waiting: this.waiting.length > 0,
      is_finished: finished,
      has_failed: this.failed.length > 0,
      state: !finished ? 'pending' : this.failed.length ? 'failed' : 'success',
    };
  }
}
