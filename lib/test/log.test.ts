// The logger's default sink: lines written in batches still come
// out whole and in order, including those logged just before an exit.
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.join(__dirname, '../..');

function run(script: string): { status: number | null; stdout: string; lines: Array<Record<string, unknown>> } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const lines = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stdout: r.stdout, lines };
}

test('lines logged across turns come out whole, in order, with their fields', () => {
  const r = run(`
    const { createLogger } = require('./lib/log');
    const log = createLogger({ service: 't' }, 'info');
    log.info('one', { n: 1 });
    log.debug('hidden');
    log.warn('two', { n: 2 });
    setTimeout(() => log.error('three', { n: 3 }), 10);
  `);
  expect(r.status).toBe(0);
  expect(r.lines.map((l) => [l.msg, l.level, l.n, l.service])).toEqual([
    ['one', 'info', 1, 't'],
    ['two', 'warn', 2, 't'],
    ['three', 'error', 3, 't'],
  ]);
});

test('lines logged right before process.exit are not lost', () => {
  const r = run(`
    const { createLogger } = require('./lib/log');
    const log = createLogger({ service: 't' }, 'info');
    for (let i = 0; i < 100; i++) log.info('line', { i });
    log.error('failed to start', { error: 'no port' });
    process.exit(3);
  `);
  expect(r.status).toBe(3);
  expect(r.lines).toHaveLength(101);
  expect(r.lines.slice(0, 100).map((l) => l.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(r.lines[100]).toMatchObject({ msg: 'failed to start', error: 'no port' });
});

test('the exit listener is there only while lines wait', () => {
  const r = run(`
    const { createLogger } = require('./lib/log');
    const ours = () => process.listeners('exit').filter((f) => f.name === 'flushAtExit').length;
    createLogger({ service: 't' }, 'info').info('one');
    const waiting = ours();
    setTimeout(() => console.log(JSON.stringify([waiting, ours()])), 200);
  `);
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual([1, 0]);
  expect(r.lines.map((l) => l.msg)).toEqual(['one']);
});
