import { EventEmitter } from 'events';
import { ModuleRunner, ModuleTransport, RunnerDeps } from '../domain/module-runner';
import type { HostToModule, ModuleToHost } from '../domain/protocol';

/** A module's side in memory: answers start, and a command with a log line sent right before its answer. */
class ModuleInMemory extends EventEmitter implements ModuleTransport {
  constructor() {
    super();
    setImmediate(() =>
      this.emit('message', {
        kind: 'loaded',
        declaration: { commands: [{ cmd: 'hello', desc: '', perm: 'r' }], options: [], notifyTypes: [], canRun: [true, ''], hasStandby: false },
      } satisfies ModuleToHost),
    );
  }
  postMessage(m: HostToModule): void {
    const reply = (value: unknown) => this.emit('message', { kind: 'reply', id: m.id, ok: true, value } satisfies ModuleToHost);
    if (m.kind === 'start' || m.kind === 'shutdown') setImmediate(() => reply(null));
    if (m.kind === 'command')
      setImmediate(() => {
        // Both arrive in one turn, as a worker's messages do when the host is busy.
        this.emit('message', { kind: 'log', level: 'info', msg: 'greeting World' } satisfies ModuleToHost);
        reply([0, 'Hello World', '']);
      });
    if (m.kind === 'self_test')
      setImmediate(() => {
        this.emit('message', { kind: 'log', level: 'error', msg: 'about to fail' } satisfies ModuleToHost);
        this.emit('message', { kind: 'serve_ended', error: 'boom' } satisfies ModuleToHost);
      });
  }
  async terminate(): Promise<number> {
    return 0;
  }
}

class InMemoryRunner extends ModuleRunner {
  protected override spawn(): ModuleTransport {
    return new ModuleInMemory();
  }
}

describe("a module's log lines", () => {
  const start = async () => {
    const events: string[] = [];
    const deps: RunnerDeps = {
      mgrId: 'x',
      api: async () => null,
      log: (level, msg, fields) => events.push(`${level} ${msg}${fields?.from === 'module' ? ' (module)' : ''}`),
      changed: () => undefined,
      limits: { maxOldGenerationSizeMb: 64 },
      watchdogMs: 60000,
      notifyTimeoutMs: 1000,
    };
    const runner = new InMemoryRunner('hello', '/nowhere', deps);
    await runner.start(true, {});
    expect(runner.state).toBe('running');
    events.length = 0;
    return { runner, events };
  };

  it('are written after the answer waiting behind them is passed on, in order, none lost', async () => {
    const { runner, events } = await start();
    const answered = runner.command('', { prefix: 'hello' }, 1000).then((r) => events.push(`answer ${r[1]}`));
    await answered;
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['answer Hello World', 'info greeting World (module)']);
    await runner.stop();
  });

  it('come before the line saying the module failed', async () => {
    const { runner, events } = await start();
    void runner.selfTest(1000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events[0]).toBe('error about to fail (module)');
    expect(events[1]).toMatch(/^error Module 'hello' has failed: boom/);
  });
});
