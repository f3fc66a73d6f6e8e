// The production build: TypeScript compiled to dist/ (tsconfig.build.json)
// plus the files the code reads at run time, copied beside it. npm's prepare
// runs it (so `npm ci` leaves a built tree) and `npm start` runs it with
// --if-stale (a source newer than the last build rebuilds first; otherwise
// it costs a directory walk).
//
//   node --import tsx cli/build.ts [--if-stale]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.built');
/** Compiled from. */
const SOURCES = ['lib', 'services', 'modules', 'cli', 'sim', 'ceph-feed'];
/** Read at run time relative to the code, so copied to the same place under dist/. */
export const ASSETS = ['lib/descriptor.binpb', 'services/module-host/python', 'modules/dashboard/frontend', 'sim/templates'];

/** The newest modification time under `p` (tests, generated caches and dist/ left out). */
function newest(p: string): number {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const e of fs.readdirSync(p)) {
    if (e === 'test' || e === 'testing' || e === '__pycache__' || e === 'node_modules') continue;
    t = Math.max(t, newest(path.join(p, e)));
  }
  return t;
}

function stale(): boolean {
  const built = fs.statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const inputs = [...SOURCES, ...ASSETS, 'tsconfig.json', 'tsconfig.build.json'].map((p) => newest(path.join(ROOT, p)));
  return Math.max(...inputs) > built;
}

function compile(): void {
  let tsc: string;
  try {
    tsc = require.resolve('typescript/bin/tsc');
  } catch {
    throw new Error('the TypeScript compiler is not installed (a devDependency): run `npm ci` first');
  }
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal})`);
}

function copyAssets(): void {
  for (const a of ASSETS) {
    const from = path.join(ROOT, a);
    if (!fs.existsSync(from)) throw new Error(`${a} is missing${a.endsWith('.binpb') ? ': run `npm run gen` first' : ''}`);
    fs.rmSync(path.join(DIST, a), { recursive: true, force: true });
    fs.cpSync(from, path.join(DIST, a), { recursive: true, filter: (src) => !src.includes('__pycache__') });
  }
}

function main(): void {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && !stale()) return;
  const started = Date.now();
  compile();
  copyAssets();
  fs.writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  process.stderr.write(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`build failed: ${(e as Error).message}\n`);
  process.exit(1);
}
