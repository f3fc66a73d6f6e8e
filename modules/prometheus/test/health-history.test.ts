// The health history (Ceph's HealthHistory) and the rbd_stats_pools option, on their own.
import { HealthHistory, HEALTH_HISTORY_MAX } from '../health-history';
import { parseRbdStatsPools, selectRbdImages } from '../rbd-stats';

describe('health history', () => {
  it('keeps a cleared check inactive, counts re-activations, keeps the first severity', () => {
    const h = new HealthHistory();
    expect(h.check({ OSD_DOWN: { severity: 'HEALTH_WARN' } }, 100)).toBe(true);
    expect(h.check({ OSD_DOWN: { severity: 'HEALTH_WARN' } }, 101)).toBe(false);
    expect(h.check({}, 102)).toBe(true);
    expect(h.entries.OSD_DOWN).toEqual({ name: 'OSD_DOWN', severity: 'HEALTH_WARN', first_seen: 100, last_seen: 100, count: 1, active: false });
    expect(h.check({ OSD_DOWN: { severity: 'HEALTH_ERR' } }, 103)).toBe(true);
    expect(h.entries.OSD_DOWN).toMatchObject({ severity: 'HEALTH_WARN', last_seen: 103, count: 2, active: true });
  });

  it("reads and writes Ceph's JSON, and says why a bad one is dropped", () => {
    const h = new HealthHistory();
    h.check({ MON_DOWN: { severity: 'HEALTH_WARN' } }, 5);
    const again = HealthHistory.parse(JSON.stringify(h));
    expect(again.error).toBeUndefined();
    expect(again.history.entries).toEqual(h.entries);
    expect(HealthHistory.parse('{oops').error).toMatch(/not JSON/);
    expect(HealthHistory.parse('[1]').error).toBe('not a JSON object');
    expect(HealthHistory.parse(null).history.entries).toEqual({});
    expect(again.history.toText()).toMatch(
      /^Healthcheck Name {10}First Seen \(UTC\) {6}Last seen \(UTC\) {7}Count  Active\nMON_DOWN {18}1970\/01\/01 00:00:05 {3}1970\/01\/01 00:00:05 {7}1   Yes  \n1 health check\(s\) listed\n$/,
    );
    expect(new HealthHistory().toText()).toBe('No healthchecks have been recorded');
  });

  it('stays bounded: the oldest inactive checks go first', () => {
    const h = new HealthHistory();
    for (let i = 0; i < HEALTH_HISTORY_MAX + 5; i++) h.check({ [`CHECK_${i}`]: { severity: 'HEALTH_WARN' } }, i);
    expect(Object.keys(h.entries)).toHaveLength(HEALTH_HISTORY_MAX);
    expect(h.entries.CHECK_0).toBeUndefined();
    expect(h.entries[`CHECK_${HEALTH_HISTORY_MAX + 4}`].active).toBe(true);
  });
});

describe('rbd_stats_pools', () => {
  const rbdPools = ['rbd', 'images'];
  it('reads pool[/namespace] lists as Ceph does: *, namespaces, unknown pools ignored', () => {
    expect([...parseRbdStatsPools('', rbdPools)]).toEqual([]);
    expect([...parseRbdStatsPools('*', rbdPools)]).toEqual([
      ['rbd', null],
      ['images', null],
    ]);
    expect([...parseRbdStatsPools('rbd/a, rbd/b nope images/*', rbdPools)]).toEqual([
      ['rbd', new Set(['a', 'b'])],
      ['images', null],
    ]);
  });

  it('selects the images of the chosen pools and namespaces, counters in Ceph order', () => {
    const stats = {
      pools: [
        {
          pool_name: 'rbd',
          images: [
            { namespace: '', name: 'one', write_ops: 1, read_ops: 2, write_bytes: 3, read_bytes: 4, write_latency: [5, 1], read_latency: [6, 2] },
            { namespace: 'a', name: 'two', write_ops: 7 },
          ],
        },
        { pool_name: 'other', images: [{ namespace: '', name: 'three' }] },
      ],
    };
    const sel = selectRbdImages(stats, parseRbdStatsPools('rbd/', rbdPools));
    expect(sel).toEqual([
      {
        pool: 'rbd',
        namespace: '',
        image: 'one',
        counters: [
          [1, 0],
          [2, 0],
          [3, 0],
          [4, 0],
          [5, 1],
          [6, 2],
        ],
      },
    ]);
    expect(selectRbdImages(stats, parseRbdStatsPools('rbd', rbdPools)).map((i) => i.image)).toEqual(['one', 'two']);
    expect(selectRbdImages(null, parseRbdStatsPools('rbd', rbdPools))).toEqual([]);
  });
});
