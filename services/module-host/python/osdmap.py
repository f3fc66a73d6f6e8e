# Our stand-ins for ceph-mgr's native map objects (BasePyOSDMap,
# BasePyOSDMapIncremental, BasePyCRUSH: C++ in Ceph), which Ceph's
# mgr_module.OSDMap / OSDMapIncremental / CRUSHMap subclass. They are built
# from cluster-state's dumps: the osd map, its CRUSH map, and where the map
# puts each PG (the `pg_mappings` the simulator's CRUSH computes, or failing
# that the PGs' reported up/acting sets). ceph_module.py exports them.
#
# What they do: epochs, dumps, pools, CRUSH queries, PG up/acting and pool
# mappings; incrementals that record reweights and pg_upmap_items; applying
# an incremental's upmap items to get the mappings of the new map; and the
# upmap optimizer (upmap.py) for the balancer's upmap mode. Mapping a map
# whose CRUSH weights changed (the balancer's crush-compat mode) needs CRUSH
# itself and keeps the old mappings.
import json

import ceph_module


class _Partial(object):
    """Methods of the C++ objects not re-implemented raise NotImplementedError naming them."""
    _KIND = ''

    def __getattr__(self, name):
        if name.startswith('_') and not name.startswith('__'):
            return ceph_module._unserved(self._KIND + '.' + name)
        raise AttributeError(name)


def _copy(o):
    return json.loads(json.dumps(o))


def pgid_of(pool_id, ps):
    return '%d.%x' % (int(pool_id), int(ps))


class Mappings(object):
    """Where one epoch's map puts each PG: pgid -> (up, acting)."""

    def __init__(self, by_pgid):
        self.by_pgid = by_pgid

    @classmethod
    def current(cls):
        """The current map's: the simulator's CRUSH results, else the PGs' reported sets."""
        m = ceph_module._get('pg_mappings')
        by_pgid = {}
        if m and m.get('pools'):
            for pool, sets in m['pools'].items():
                acting = sets.get('acting') or []
                for ps, up in enumerate(sets.get('up') or []):
                    if up is not None:
                        by_pgid[pgid_of(pool, ps)] = (list(up), list(acting[ps] if ps < len(acting) and acting[ps] is not None else up))
            return cls(by_pgid)
        for pg in (ceph_module._get('pg_stats') or {}).get('pg_stats', []):
            by_pgid[pg['pgid']] = (list(pg.get('up', [])), list(pg.get('acting', [])))
        return cls(by_pgid)

    def up(self, pgid):
        return self.by_pgid.get(pgid, ([], []))[0]

    def acting(self, pgid):
        return self.by_pgid.get(pgid, ([], []))[1]

    def with_up(self, changes):
        """A copy where the PGs in `changes` (pgid -> up) map there (up and acting alike)."""
        by_pgid = dict(self.by_pgid)
        for pgid, up in changes.items():
            by_pgid[pgid] = (list(up), list(up))
        return Mappings(by_pgid)


def upmap_items_of(osd_map):
    """pgid -> [(from, to), ...] from the dump's pg_upmap_items."""
    return {e['pgid']: [(m['from'], m['to']) for m in e.get('mappings', [])] for e in osd_map.get('pg_upmap_items', [])}


def raw_mapping(up, items):
    """The CRUSH mapping under a PG's upmap items: each `to` put back to its `from`."""
    raw = list(up)
    for frm, to in reversed(items):
        if to in raw and frm not in raw:
            raw[raw.index(to)] = frm
    return raw


def apply_items(raw, items, usable):
    """OSDMap::_apply_upmap for pg_upmap_items."""
    out = list(raw)
    for frm, to in items:
        if frm in out and to not in out and usable(to):
            out[out.index(frm)] = to
    return out


class BasePyOSDMap(_Partial):
    _KIND = 'OSDMap'

    def __init__(self, osd_map=None, crush=None, mappings=None):
        self._osd_map = osd_map or {}
        self._crush = crush or {}
        self._mappings = mappings

    def _pg_mappings(self):
        if self._mappings is None:
            self._mappings = Mappings.current()
        return self._mappings

    def _get_epoch(self):
        return self._osd_map.get('epoch', 0)

    def _get_crush_version(self):
        return self._osd_map.get('crush_version', 1)

    def _dump(self):
        return _copy(self._osd_map)

    def _new_incremental(self):
        import mgr_module
        return mgr_module.OSDMapIncremental(self._get_epoch() + 1)

    def _get_crush(self):
        import mgr_module
        return mgr_module.CRUSHMap(self._crush)

    def _get_pools_by_take(self, take):
        rules = set()
        for r in self._crush.get('rules', []):
            if any(st.get('op') == 'take' and st.get('item') == take for st in r.get('steps', [])):
                rules.add(r.get('rule_id'))
        return {'pools': [p['pool'] for p in self._osd_map.get('pools', []) if p.get('crush_rule') in rules]}

    def _map_pool_pgs_up(self, poolid):
        m = self._pg_mappings()
        for p in self._osd_map.get('pools', []):
            if p.get('pool') == int(poolid):
                return {pgid_of(poolid, ps): m.up(pgid_of(poolid, ps)) for ps in range(int(p.get('pg_num', 0)))}
        return {}

    def _pg_to_up_acting_osds(self, pool_id, ps):
        m = self._pg_mappings()
        pgid = pgid_of(pool_id, ps)
        up, acting = m.up(pgid), m.acting(pgid)
        return {'up': list(up), 'acting': list(acting),
                'up_primary': up[0] if up else -1, 'acting_primary': acting[0] if acting else -1}

    def _pool_raw_used_rate(self, pool_id):
        for p in self._osd_map.get('pools', []):
            if p.get('pool') == int(pool_id):
                if p.get('type') == 3:  # erasure: (k + m) / k
                    prof = self._osd_map.get('erasure_code_profiles', {}).get(p.get('erasure_code_profile'), {})
                    k, m = float(prof.get('k', 2)), float(prof.get('m', 1))
                    return (k + m) / k
                return float(p.get('size', 1))
        return 1.0

    def usable(self, osd):
        """An OSD a PG may map to: it exists, is in, and has a weight."""
        for o in self._osd_map.get('osds', []):
            if o.get('osd') == osd:
                return bool(o.get('in')) and float(o.get('weight', 0)) > 0
        return False

    def _apply_incremental(self, inc):
        import mgr_module
        d = inc._dump()
        new = _copy(self._osd_map)
        new['epoch'] = d['epoch']
        for w in d.get('new_weight', []):
            for o in new.get('osds', []):
                if o.get('osd') == w['osd']:
                    o['weight'] = w['weight']
        items = upmap_items_of(self._osd_map)
        changed = {}
        old_mappings = self._pg_mappings()
        for pgid in d.get('old_pg_upmap_items', []):
            if pgid in items:
                changed[pgid] = raw_mapping(old_mappings.up(pgid), items.pop(pgid))
        for e in d.get('new_pg_upmap_items', []):
            pgid = e['pgid']
            raw = changed.get(pgid) or raw_mapping(old_mappings.up(pgid), items.get(pgid, []))
            items[pgid] = [(m['from'], m['to']) for m in e['mappings']]
            changed[pgid] = raw
        up = {pgid: apply_items(raw, items.get(pgid, []), self.usable) for pgid, raw in changed.items()}
        new['pg_upmap_items'] = [{'pgid': pgid, 'mappings': [{'from': f, 'to': t} for f, t in pairs]}
                                 for pgid, pairs in sorted(items.items(), key=lambda kv: _pg_order(kv[0]))]
        return mgr_module.OSDMap(new, self._crush, old_mappings.with_up(up))

    def _calc_pg_upmaps(self, inc, max_deviation, max_iterations, pools):
        import upmap  # it builds on this file's helpers
        return upmap.calc_pg_upmaps(self, inc, max_deviation, max_iterations, pools)


def _pg_order(pgid):
    pool, ps = pgid.split('.')
    return (int(pool), int(ps, 16))


class BasePyOSDMapIncremental(_Partial):
    """What a module would change (a plan): reweights, compat weight-set weights, upmap items."""
    _KIND = 'OSDMapIncremental'

    def __init__(self, epoch=0):
        self._epoch = epoch
        self._new_weight = {}
        self._weight_set = {}
        self.new_pg_upmap_items = {}
        self.old_pg_upmap_items = set()

    def _get_epoch(self):
        return self._epoch

    def _dump(self):
        return {'epoch': self._epoch,
                'new_weight': [{'osd': int(k), 'weight': v} for k, v in self._new_weight.items()],
                'crush_compat_weight_set_weights': dict(self._weight_set),
                'new_pg_upmap': [], 'old_pg_upmap': [],
                'new_pg_upmap_items': [{'pgid': pgid, 'mappings': [{'from': f, 'to': t} for f, t in pairs]}
                                       for pgid, pairs in sorted(self.new_pg_upmap_items.items(), key=lambda kv: _pg_order(kv[0]))],
                'old_pg_upmap_items': sorted(self.old_pg_upmap_items, key=_pg_order)}

    def _set_osd_reweights(self, weightmap):
        self._new_weight.update({int(k): float(v) for k, v in weightmap.items()})

    def _set_crush_compat_weight_set_weights(self, weightmap):
        self._weight_set.update({str(k): float(v) for k, v in weightmap.items()})


class BasePyCRUSH(_Partial):
    """CRUSH map queries from the crush dump (weights in its 16.16 fixed point)."""
    _KIND = 'CRUSHMap'

    def __init__(self, dump=None):
        self._d = dump or {}
        self._buckets = {b['id']: b for b in self._d.get('buckets', [])}

    def _dump(self):
        return _copy(self._d)

    def _get_item_name(self, item):
        b = self._buckets.get(item)
        if b is not None:
            return b.get('name')
        for dev in self._d.get('devices', []):
            if dev.get('id') == item:
                return dev.get('name')
        return None

    def _get_item_weight(self, item):
        b = self._buckets.get(item)
        if b is not None:
            return b.get('weight')
        for b in self._buckets.values():
            for it in b.get('items', []):
                if it.get('id') == item:
                    return it.get('weight')
        return None

    def _find_roots(self):
        children = {it['id'] for b in self._buckets.values() for it in b.get('items', [])}
        return {'roots': [i for i in self._buckets if i not in children]}

    def _find_takes(self):
        takes = []
        for r in self._d.get('rules', []):
            for st in r.get('steps', []):
                if st.get('op') == 'take' and st.get('item') not in takes:
                    takes.append(st.get('item'))
        return {'takes': takes}

    def _get_take_weight_osd_map(self, root):
        weights = {}

        def walk(bid):
            for it in self._buckets.get(bid, {}).get('items', []):
                if it['id'] >= 0:
                    weights[it['id']] = weights.get(it['id'], 0) + it.get('weight', 0)
                else:
                    walk(it['id'])
        walk(root)
        total = float(sum(weights.values()))
        return {'weights': {str(k): (w / total if total else 0.0) for k, w in weights.items()}}
