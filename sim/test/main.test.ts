// The simulator's CLI as a child process against the real cluster-state.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { startClusterState, ClusterStateHandle } from '../../services/cluster-state/server';
import { openChannel, makeClient } from '../../lib/client';
import { ClusterStateServiceDefinition } from '../../lib/gen/ceph/mgr/v1/cluster_state';

describe('sim/main.ts', () => {
  let cs: ClusterStateHandle;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-main-'));
    cs = await startClusterState({ host: '127.0.0.1', port: 0, dataDir, metricsPort: -1, logLevel: 'error' });
  });
  afterAll(async () => {
    await cs.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('with --daemons off feeds maps and pg stats, and says so in its log', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(__dirname, '..', 'main.ts'),
        '--cluster-state',
        cs.address,
        '--daemons',
        'off',
        '--osds',
        '4',
        '--pgs',
        '32',
        '--keyring',
        '/nonexistent',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    try {
      while (!err.includes('first maps are in cluster-state')) {
        if (child.exitCode !== null) throw new Error(`sim exited: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const ch = openChannel(cs.address);
      const client = makeClient(ClusterStateServiceDefinition, ch);
      const osdMap = JSON.parse(Buffer.from((await client.get({ what: 'osd_map' })).json).toString('utf8'));
      expect(osdMap.osds).toHaveLength(4);
      // the first pg-stat round follows the maps
      let summary: any = {};
      while (Object.values(summary.all ?? {}).reduce((a: number, b) => a + (b as number), 0) !== 32) {
        summary = JSON.parse(Buffer.from((await client.get({ what: 'pg_summary' })).json).toString('utf8'));
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(summary.all).toEqual({ 'active+clean': 32 });
      ch.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(err).toContain('"stopping"');
  });
});
