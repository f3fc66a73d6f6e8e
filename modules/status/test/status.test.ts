// status's `osd status` on the fake host (lib/testing/fake-host.ts), fed
// with what a Ceph Pacific manager gives a module (shared/fixtures).
import * as fs from 'fs';
import * as path from 'path';
import { FakeHost } from '../../../lib/testing/fake-host';
import { itWith } from '../../../lib/testing/external';
import Status from '../index';

const FIXTURES = path.join(__dirname, '../../../../shared/fixtures/ceph-pacific');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const itFx = itWith(!fs.existsSync(FIXTURES) && `the Ceph fixtures are not at ${FIXTURES}`, 'put shared/ beside the repository');

describe('status', () => {
  const host = new FakeHost('status');
  const status = host.load(Status);

  it('answers EAGAIN (-11) while there is no osd map', async () => {
    expect(await status.handleCommand('', { prefix: 'osd status' })).toEqual([-11, '', 'the osd map is not available yet (EAGAIN)']);
  });

  itFx('osd status: one row per OSD with host, usage and write rate from the counter history', async () => {
    host.setView('osd_map', fixture('mgrget-osd_map.json'));
    host.setView('osd_stats', fixture('mgrget-osd_stats.json'));
    host.setView('osd_metadata', fixture('mgrget-osd_metadata.json'));
    // Two samples 5 s apart: 10 more writes is 2 ops/s.
    host.answers.set('getCounter', (_type, id, p) => ({
      [String(p)]:
        p === 'osd.op_w' && id === '0'
          ? [
              [100, 5],
              [105, 15],
            ]
          : [],
    }));
    const [r, out] = await status.handleCommand('', { prefix: 'osd status', format: 'json' });
    expect(r).toBe(0);
    const rows = JSON.parse(out).OSDs;
    const osds = fixture('mgrget-osd_map.json').osds;
    expect(rows.map((x: { id: number }) => x.id)).toEqual(osds.map((o: { osd: number }) => o.osd));
    const meta = fixture('mgrget-osd_metadata.json');
    expect(rows[0]).toMatchObject({ id: 0, host_name: meta['0'].hostname, wr_ops_rate: 2, rd_ops_rate: 0, state: osds[0].state.join(',') });
    const stats0 = fixture('mgrget-osd_stats.json').osd_stats.find((s: { osd: number }) => s.osd === 0);
    expect(rows[0].kb_used).toBe(Math.round(stats0.kb_used));
    // The plain form is Ceph's table.
    const [, table] = await status.handleCommand('', { prefix: 'osd status' });
    expect(table.split('\n')[1]).toMatch(/^\| ID \| HOST +\| USED +\| AVAIL +\| WR OPS \| WR DATA \| RD OPS \| RD DATA \| STATE +\|$/);
  });
});
