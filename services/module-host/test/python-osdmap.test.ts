// The stand-in OSDMap (python/osdmap.py) and our upmap optimizer
// (python/upmap.py) under Ceph's own mgr_module.OSDMap classes, offline: a
// skewed placement over 8 OSDs on 4 hosts is balanced to within the
// deviation without two replicas of a PG on one host, the new map's mappings
// follow the incremental, an upmap item that made an OSD overfull is removed
// rather than stacked on, and a balanced map needs nothing.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PYTHON_DIR } from '../domain/python-runner';
import { DEFAULT_CEPH_MGR_DIR } from '../domain/python-modules';

const NEEDED = ['/usr/bin/python3', path.join(DEFAULT_CEPH_MGR_DIR, 'mgr_module.py')];
const missing = NEEDED.filter((f) => !fs.existsSync(f));
if (missing.length && process.env.CI !== 'true')
  process.stdout.write(`SKIP python-osdmap.test.ts: missing ${missing.join(', ')} (.ci/run installs ceph-mgr)\n`);
const describeCeph = missing.length && process.env.CI !== 'true' ? describe.skip : describe;

const SCRIPT = `
import json, random, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import ceph_module, mgr_module, osdmap
from collections import Counter

random.seed(7)
host = {o: 'h%d' % (o // 2) for o in range(8)}
crush = {
    'buckets': [{'id': -3 - h, 'name': 'h%d' % h, 'type_name': 'host',
                 'items': [{'id': o, 'weight': 65536} for o in range(8) if o // 2 == h]} for h in range(4)],
    'rules': [{'rule_id': 0, 'steps': [{'op': 'take', 'item': -1}, {'op': 'chooseleaf_firstn', 'num': 0, 'type': 'host'}, {'op': 'emit'}]}],
}
def skewed():
    # Three of four hosts per PG; within a host, the even OSD four times in five.
    by = {}
    for ps in range(64):
        up = [2 * h + (0 if random.random() < 0.8 else 1) for h in random.sample(range(4), 3)]
        by['1.%x' % ps] = (up, up)
    return by
def osd_map(items=()):
    return {'epoch': 10, 'osds': [{'osd': i, 'up': 1, 'in': 1, 'weight': 1.0} for i in range(8)],
            'pools': [{'pool': 1, 'pool_name': 'rbd', 'pg_num': 64, 'pg_num_target': 64, 'size': 3, 'crush_rule': 0}],
            'pg_upmap_items': [{'pgid': p, 'mappings': [{'from': f, 'to': t}]} for p, f, t in items]}
def counts(m):
    c = Counter()
    for up in m.map_pool_pgs_up(1).values():
        c.update(up)
    return [c[i] for i in range(8)]
def same_host(m):
    return [pg for pg, up in m.map_pool_pgs_up(1).items() if len({host[o] for o in up}) != len(up)]

out = {}
m = mgr_module.OSDMap(osd_map(), crush, osdmap.Mappings(skewed()))
out['before'] = counts(m)
inc = m.new_incremental()
out['changed'] = m.calc_pg_upmaps(inc, 1, 100, ['rbd'])
out['inc'] = inc.dump()
m2 = m.apply_incremental(inc)
out['after'] = counts(m2)
out['after_epoch'] = m2.get_epoch()
out['same_host'] = same_host(m2)
out['items_in_new_map'] = len(m2.dump()['pg_upmap_items'])
out['second_round'] = m2.calc_pg_upmaps(m2.new_incremental(), 1, 100, ['rbd'])
# A balanced placement (24 replicas per OSD), except that an earlier item
# moved 1.0's replica from osd.a to its host partner osd.b, now one over:
by = {}
for ps in range(64):
    up = [2 * ((ps + k) % 4) + ((ps // 4 + k) % 2) for k in range(3)]
    by['1.%x' % ps] = up
out['balanced'] = sorted(Counter(o for up in by.values() for o in up).values())
a = by['1.0'][0]
b = a ^ 1
by['1.0'] = [b] + by['1.0'][1:]
out['undo_expect'] = [a] + by['1.0'][1:]
m3 = mgr_module.OSDMap(osd_map([('1.0', a, b)]), crush, osdmap.Mappings({pg: (up, up) for pg, up in by.items()}))
inc3 = m3.new_incremental()
out['undo_changed'] = m3.calc_pg_upmaps(inc3, 1, 1, ['rbd'])
out['undo_inc'] = inc3.dump()
out['undo_up'] = m3.apply_incremental(inc3).pg_to_up_acting_osds(1, 0)['up']
print(json.dumps(out))
`;

describeCeph('stand-in OSDMap and the upmap optimizer', () => {
  let out: any;
  beforeAll(() => {
    if (missing.length) throw new Error(`missing ${missing.join(', ')}`);
    const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT, PYTHON_DIR, DEFAULT_CEPH_MGR_DIR], { encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) throw new Error(`python exited ${r.status}: ${r.stderr}`);
    out = JSON.parse(r.stdout);
  });

  it('balances a skewed pool to within the deviation, one replica per host', () => {
    expect(Math.max(...out.before) - Math.min(...out.before)).toBeGreaterThan(20);
    expect(out.after.reduce((a: number, b: number) => a + b, 0)).toBe(64 * 3);
    // 64 PGs x 3 replicas over 8 equal OSDs: 24 each, within 1.
    for (const n of out.after) expect(Math.abs(n - 24)).toBeLessThanOrEqual(1);
    expect(out.same_host).toEqual([]);
    expect(out.changed).toBeGreaterThan(0);
    expect(out.changed).toBe(out.inc.new_pg_upmap_items.length);
  });

  it("records the moves as pg_upmap_items in Ceph's incremental dump, which the new map applies", () => {
    expect(out.inc.epoch).toBe(11);
    expect(out.inc.old_pg_upmap_items).toEqual([]);
    for (const e of out.inc.new_pg_upmap_items) {
      expect(e.pgid).toMatch(/^1\.[0-9a-f]+$/);
      for (const m of e.mappings) expect(m.from).not.toBe(m.to);
    }
    expect(out.after_epoch).toBe(11);
    expect(out.items_in_new_map).toBe(out.changed);
    expect(out.second_round).toBe(0);
  });

  it('undoes an earlier item that made an OSD overfull instead of adding one', () => {
    expect(out.balanced).toEqual(new Array(8).fill(24));
    expect(out.undo_changed).toBe(1);
    expect(out.undo_inc.old_pg_upmap_items).toEqual(['1.0']);
    expect(out.undo_inc.new_pg_upmap_items).toEqual([]);
    expect(out.undo_up).toEqual(out.undo_expect);
  });
});
