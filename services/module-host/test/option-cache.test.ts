import { OptionCache } from '../domain/option-cache';

describe("a worker's copy of its module options", () => {
  const reader = () => {
    const reads: string[] = [];
    const answers = new Map<string, unknown>([
      ['place', 'World'],
      ['interval', 5],
    ]);
    const read = async (key: string) => {
      reads.push(key);
      if (!answers.has(key)) throw new Error(`module 'hello' has no option '${key}'`);
      return answers.get(key);
    };
    return { reads, answers, read };
  };

  it('asks the host once per option, until the option changes', async () => {
    const r = reader();
    const cache = new OptionCache(r.read);
    expect(await cache.get('place')).toBe('World');
    expect(await cache.get('place')).toBe('World');
    expect(await cache.get('interval')).toBe(5);
    expect(r.reads).toEqual(['place', 'interval']);
    r.answers.set('place', 'Mars');
    cache.forget('place');
    expect(await cache.get('place')).toBe('Mars');
    expect(await cache.get('interval')).toBe(5);
    expect(r.reads).toEqual(['place', 'interval', 'place']);
    cache.forget(null);
    await cache.get('place');
    await cache.get('interval');
    expect(r.reads).toEqual(['place', 'interval', 'place', 'place', 'interval']);
  });

  it('keeps no failure: an unknown option is asked again, and throws again', async () => {
    const r = reader();
    const cache = new OptionCache(r.read);
    await expect(cache.get('nope')).rejects.toThrow("has no option 'nope'");
    await expect(cache.get('nope')).rejects.toThrow("has no option 'nope'");
    expect(r.reads).toEqual(['nope', 'nope']);
  });

  it('does not keep a value read across a change (it may be the old one)', async () => {
    let release!: (v: unknown) => void;
    const reads: string[] = [];
    const cache = new OptionCache((key) => {
      reads.push(key);
      return reads.length === 1 ? new Promise((resolve) => (release = resolve)) : Promise.resolve('Mars');
    });
    const first = cache.get('place');
    cache.forget('place'); // the change arrives while the first read is answered from the old value
    release('World');
    expect(await first).toBe('World');
    expect(await cache.get('place')).toBe('Mars');
    expect(await cache.get('place')).toBe('Mars');
    expect(reads).toEqual(['place', 'place']);
  });
});
