// The layer check (npm run layers, .dependency-cruiser.js) fails on each
// kind of break, naming the rule, and passes a tree that keeps the rules.
// It runs on small trees written to a temporary folder, with this
// project's config, tsconfig and node_modules.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');

function check(files: Record<string, string>): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layers-'));
  try {
    fs.copyFileSync(path.join(ROOT, '.dependency-cruiser.js'), path.join(dir, '.dependency-cruiser.js'));
    for (const f of ['tsconfig.json', 'package.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    const tops = [...new Set(Object.keys(files).map((f) => f.split('/')[0]))];
    const r = spawnSync(path.join(ROOT, 'node_modules/.bin/depcruise'), [...tops, '--config', '.dependency-cruiser.js'], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A tree that keeps every rule: each break below adds one file to it. */
const CLEAN: Record<string, string> = {
  'lib/util.ts': 'export const x = 1;\n',
  'lib/mgr-module.ts': "export { x } from './util';\n",
  'services/a/domain/logic.ts': "import { x } from '../../../lib/util';\nexport const y = x;\n",
  'services/a/grpc.ts': "import { Status } from 'nice-grpc';\nimport { y } from './domain/logic';\nexport const z = [y, Status.OK];\n",
  'services/a/server.ts': "import { z } from './grpc';\nexport const start = () => z;\n",
  'services/b/server.ts': "import { x } from '../../lib/util';\nexport const start = () => x;\n",
  'services/b/test/b.test.ts': "import { start } from '../../a/server';\nexport const t = start;\n",
  'modules/m/index.ts': "import { x } from '../../lib/mgr-module';\nexport default x;\n",
  'cli/tool.ts': "import { x } from '../lib/util';\nexport const c = x;\n",
};

const BREAKS: Array<[string, Record<string, string>]> = [
  ['lib-is-ground-floor', { 'lib/bad.ts': "import { start } from '../services/a/server';\nexport const b = start;\n" }],
  ['services-meet-through-contracts', { 'services/b/bad.ts': "import { y } from '../a/domain/logic';\nexport const b = y;\n" }],
  ['domain-has-no-grpc', { 'services/a/domain/bad.ts': "import { Status } from 'nice-grpc';\nexport const b = Status.OK;\n" }],
  ['modules-see-only-the-sdk', { 'modules/m/bad.ts': "import { x } from '../../lib/util';\nexport const b = x;\n" }],
  ['processes-talk-through-contracts', { 'cli/bad.ts': "import { start } from '../services/a/server';\nexport const b = start;\n" }],
  ['service-tests-keep-to-their-service', { 'services/b/test/bad.test.ts': "import { y } from '../../a/domain/logic';\nexport const b = y;\n" }],
  ['tests-start-services-through-server-ts', { 'test/bad.test.ts': "import { z } from '../services/a/grpc';\nexport const b = z;\n" }],
  ['product-code-imports-no-tests', { 'services/a/domain/imports-test.ts': "import { t } from '../../b/test/b.test';\nexport const b = t;\n" }],
  ['product-code-imports-no-dev-dependencies', { 'services/a/bad.ts': "import * as yaml from 'js-yaml';\nexport const b = yaml;\n" }],
  [
    'no-circular',
    {
      'services/a/domain/one.ts': "import type { Two } from './two';\nexport interface One { two?: Two }\n",
      'services/a/domain/two.ts': "import type { One } from './one';\nexport interface Two { one?: One }\n",
    },
  ],
];

describe('the layer check', () => {
  it('passes a tree that keeps the rules', () => {
    const r = check(CLEAN);
    expect(r.out).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  // One run over a tree holding every break (a depcruise run costs seconds): each is reported under its rule, from its own file.
  const broken = check(Object.assign({}, CLEAN, ...BREAKS.map(([, extra]) => extra)));
  it.each(BREAKS)('fails on a break of %s, naming the rule', (rule, extra) => {
    expect(broken.status).not.toBe(0);
    // (a loop is reported once, from one of its files)
    const named = Object.keys(extra).filter((file) => broken.out.includes(`error ${rule}: ${file}`));
    expect(named).not.toEqual([]);
  });
});
