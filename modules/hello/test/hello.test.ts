// hello on the fake host (lib/testing/fake-host.ts): the module's own code,
// no worker, no module-host, no cluster-state.
import { FakeHost } from '../../../lib/testing/fake-host';
import Hello from '../index';

describe('hello', () => {
  const host = new FakeHost('hello');
  const hello = host.load(Hello);

  it('greets its place option: World by default, then what it is set to', async () => {
    expect(await hello.handleCommand('', { prefix: 'hello' })).toEqual([0, 'Hello World', '']);
    host.setOption('place', 'Mars');
    expect(await hello.handleCommand('', { prefix: 'hello' })).toEqual([0, 'Hello Mars', '']);
    expect(host.logs).toContainEqual({ level: 'info', msg: 'greeting Mars' });
  });

  it('greets a person by name, without reading the option', async () => {
    const before = host.calls.length;
    expect(await hello.handleCommand('', { prefix: 'hello', person_name: 'Alice' })).toEqual([0, 'Hello Alice', '']);
    expect(host.calls.slice(before)).toEqual([]);
  });

  it('counts 1..num, and refuses a num outside 1..10 with -22', async () => {
    expect(await hello.handleCommand('', { prefix: 'hello count', num: 3 })).toEqual([0, '1\n2\n3', '']);
    for (const num of [0, 11, 2.5, 'many']) {
      const [r, out, err] = await hello.handleCommand('', { prefix: 'hello count', num });
      expect([r, out]).toEqual([-22, '']);
      expect(err).toBe(`num must be a whole number from 1 to 10, got ${JSON.stringify(num)}`);
    }
  });

  it('passes its self-test', async () => {
    expect(await hello.selfTest()).toBe('hello: ok');
  });
});
