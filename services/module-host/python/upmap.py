# The upmap optimizer (what OSDMap::calc_pg_upmaps does for the balancer's
# upmap mode), our own, over the stand-in OSDMap (osdmap.py): it moves PG
# replicas from the OSDs holding the most PGs above their share (by CRUSH
# weight times reweight) to the ones holding the fewest, one pg_upmap_items
# pair at a time, until every OSD is within max_deviation PGs of its share,
# nothing more can move, or max_iterations PGs changed. A replica never
# moves onto an OSD already in the PG, nor onto a host another replica of
# the PG is on when the pool's rule spreads replicas over hosts (and there
# are enough hosts). Moving a replica back where an earlier upmap took it
# from is preferred: that removes a pair instead of adding one.
from collections import defaultdict

from osdmap import apply_items, pgid_of, raw_mapping, upmap_items_of


def _crush_layout(crush):
    """(osd -> crush weight, osd -> host name), from the dump's host buckets (not the ~class shadows)."""
    weight, host = {}, {}
    for b in crush.get('buckets', []):
        if '~' in b.get('name', '') or b.get('type_name', 'host') != 'host':
            continue
        for it in b.get('items', []):
            if it['id'] >= 0:
                weight[it['id']] = weight.get(it['id'], 0) + it.get('weight', 0) / 65536.0
                host[it['id']] = b['name']
    return weight, host


def _spreads_over_hosts(crush, rule_id):
    for r in crush.get('rules', []):
        if r.get('rule_id') == rule_id:
            return any(st.get('op', '').startswith('choose') and st.get('type') == 'host' for st in r.get('steps', []))
    return False


def calc_pg_upmaps(osdmap, inc, max_deviation, max_iterations, pool_names):
    dump = osdmap._osd_map
    crush = osdmap._crush
    max_deviation = max(1, int(max_deviation))
    pools = [p for p in dump.get('pools', []) if not pool_names or p['pool_name'] in pool_names or str(p['pool']) in pool_names]
    crush_weight, host_of = _crush_layout(crush)
    weight = {}
    for o in dump.get('osds', []):
        if o.get('up') and o.get('in') and float(o.get('weight', 0)) > 0:
            weight[o['osd']] = crush_weight.get(o['osd'], 1.0) * float(o['weight'])
    if not weight or not pools:
        return 0

    items = upmap_items_of(dump)
    mappings = osdmap._pg_mappings()
    up, spread = {}, {}
    target = defaultdict(float)
    total_weight = sum(weight.values())
    for p in pools:
        hosts = {host_of.get(o) for o in weight}
        spread_pool = _spreads_over_hosts(crush, p.get('crush_rule')) and len(hosts) >= int(p.get('size', 1))
        for ps in range(int(p.get('pg_num', 0))):
            pgid = pgid_of(p['pool'], ps)
            up[pgid] = list(mappings.up(pgid))
            spread[pgid] = spread_pool
        per_weight = int(p.get('size', 1)) * int(p.get('pg_num', 0)) / total_weight
        for o, w in weight.items():
            target[o] += w * per_weight

    pgs_of = defaultdict(set)
    for pgid, osds in up.items():
        for o in osds:
            pgs_of[o].add(pgid)

    def deviation(o):
        return len(pgs_of[o]) - target[o]

    def host_ok(pgid, leaving, arriving):
        if not spread[pgid]:
            return True
        others = {host_of.get(x) for x in up[pgid] if x != leaving}
        return host_of.get(arriving) not in others

    def move(pgid, frm, to):
        pairs = [list(x) for x in items.get(pgid, [])]
        back = [x for x in pairs if x[1] == frm]
        if back:
            back[0][1] = to
            pairs = [x for x in pairs if x[0] != x[1]]
        else:
            pairs.append([frm, to])
        items[pgid] = [tuple(x) for x in pairs]
        up[pgid] = [to if x == frm else x for x in up[pgid]]
        pgs_of[frm].discard(pgid)
        pgs_of[to].add(pgid)
        changed.add(pgid)

    changed = set()
    while len(changed) < max_iterations:
        by_dev = sorted(weight, key=lambda o: (-deviation(o), o))
        overfull = [o for o in by_dev if deviation(o) >= max_deviation]
        if not overfull:
            break
        underfull = [o for o in reversed(by_dev) if deviation(o) <= -max_deviation] or [o for o in reversed(by_dev) if deviation(o) < 0]
        moved = False
        for o in overfull:
            # First, undo an earlier pair that brought a replica here, if its source has room.
            for pgid in sorted(pgs_of[o]):
                for frm, to in items.get(pgid, []):
                    if to == o and frm in weight and frm not in up[pgid] and deviation(frm) < deviation(o) - 1 and host_ok(pgid, o, frm):
                        move(pgid, o, frm)
                        moved = True
                        break
                if moved:
                    break
            if moved:
                break
            for pgid in sorted(pgs_of[o]):
                if pgid not in up:
                    continue
                for u in underfull:
                    if u in up[pgid] or deviation(u) >= deviation(o) - 1 or not host_ok(pgid, o, u):
                        continue
                    move(pgid, o, u)
                    moved = True
                    break
                if moved:
                    break
            if moved:
                break
        if not moved:
            break

    existing = upmap_items_of(dump)
    for pgid in changed:
        pairs = items.get(pgid, [])
        # What the map's own upmap would give must be the PG's new set.
        raw = raw_mapping(mappings.up(pgid), existing.get(pgid, []))
        if apply_items(raw, pairs, lambda x: x in weight) != up[pgid]:
            continue
        if pairs:
            inc.new_pg_upmap_items[pgid] = list(pairs)
            inc.old_pg_upmap_items.discard(pgid)
        elif pgid in existing:
            inc.old_pg_upmap_items.add(pgid)
            inc.new_pg_upmap_items.pop(pgid, None)
    return len([p for p in changed if p in inc.new_pg_upmap_items or p in inc.old_pg_upmap_items])
