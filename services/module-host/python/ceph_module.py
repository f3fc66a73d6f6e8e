# Our stand-in for ceph-mgr's built-in `ceph_module` (C++ in Ceph: the
# BaseMgrModule type behind every Python module). Ceph's unmodified
# mgr_module.py subclasses the classes below; every `_ceph_*` call they make
# is forwarded to module-host over the worker's connection (mgr_worker.py),
# as a request with an id, so calls from the serve thread, command threads,
# the notify thread and a module's own HTTP threads can be in flight at once.
#
# A `_ceph_*` call module-host does not serve raises NotImplementedError naming
# the call (and module-host raises a health warning saying so) instead of an
# AttributeError deep inside the module.
import json
import threading

# Set by mgr_worker.py before mgr_module is imported.
_conn = None
# Filled in by mgr_worker.py once the module is loaded.
_module_name = ''
_mgr_id = ''

_PRIO = {0: 'debug', 1: 'info', 2: 'sec', 3: 'warn', 4: 'error'}

# get(name) answers are cached per name with the host's version of that
# data: an unchanged osd_map costs one small round trip, not its whole JSON.
_get_cache = {}
_get_lock = threading.Lock()


def _call(method, *args):
    return _conn.call(method, list(args))


def _unserved(name):
    def fail(*_args, **_kwargs):
        _conn.report_unserved(name)
        raise NotImplementedError(f'{name} is not served by module-host (module {_module_name!r})')
    fail.__name__ = name
    return fail


def _get(name):
    with _get_lock:
        known = _get_cache.get(name)
    res = _call('_ceph_get', name, known[0] if known else -1)
    if res is None:
        return None
    if res.get('unchanged') and known:
        text = known[1]
    else:
        text = res.get('json')
        with _get_lock:
            _get_cache[name] = (res.get('version', -1), text)
    if text is None:
        return None
    # A fresh object per call, as the C++ side builds one: modules mutate them.
    return json.loads(text)


class _Forwarding(object):
    """The calls shared by the active and the standby API."""

    def __getattr__(self, name):
        if name.startswith('_ceph_'):
            return _unserved(name)
        raise AttributeError(name)

    def _ceph_get(self, data_name):
        return _get(data_name)

    def _ceph_get_mgr_id(self):
        return _mgr_id

    def _ceph_get_option(self, key):
        return _call('_ceph_get_option', key)

    def _ceph_get_store(self, key):
        return _call('_ceph_get_store', key)

    def _ceph_log(self, *args):
        # Pacific passes one formatted string: "[module LEVEL logger] message".
        msg = str(args[-1]) if args else ''
        _conn.log(msg)


class BaseMgrModule(_Forwarding):
    def __init__(self, py_modules_ptr=None, this_ptr=None):
        pass

    def _ceph_get_server(self, hostname):
        return _call('_ceph_get_server', hostname)

    def _ceph_get_metadata(self, svc_type, svc_id):
        return _call('_ceph_get_metadata', svc_type, svc_id)

    def _ceph_get_daemon_status(self, svc_type, svc_id):
        return _call('_ceph_get_daemon_status', svc_type, svc_id)

    def _ceph_get_perf_schema(self, svc_type, svc_id):
        return _call('_ceph_get_perf_schema', svc_type, svc_id)

    def _ceph_get_counter(self, svc_type, svc_id, path):
        return _call('_ceph_get_counter', svc_type, svc_id, path)

    def _ceph_get_latest_counter(self, svc_type, svc_id, path):
        return _call('_ceph_get_latest_counter', svc_type, svc_id, path)

    def _ceph_get_daemon_health_metrics(self):
        return _call('_ceph_get_daemon_health_metrics')

    def _ceph_get_foreign_option(self, entity, key):
        return _call('_ceph_get_foreign_option', entity, key)

    def _ceph_get_module_option(self, module, key, prefix=''):
        return _call('_ceph_get_module_option', module, key, prefix or '')

    def _ceph_set_module_option(self, module, key, val):
        _call('_ceph_set_module_option', module, key, val)

    def _ceph_set_store(self, key, val):
        _call('_ceph_set_store', key, val)

    def _ceph_get_store_prefix(self, prefix):
        return _call('_ceph_get_store_prefix', prefix)

    def _ceph_get_version(self):
        return _call('_ceph_get_version')

    def _ceph_get_release_name(self):
        return _call('_ceph_get_release_name')

    def _ceph_lookup_release_name(self, major):
        return _call('_ceph_lookup_release_name', major)

    def _ceph_have_mon_connection(self):
        return _call('_ceph_have_mon_connection')

    def _ceph_set_uri(self, uri):
        _call('_ceph_set_uri', uri)

    def _ceph_set_health_checks(self, checks):
        _call('_ceph_set_health_checks', checks)

    def _ceph_cluster_log(self, channel, priority, message):
        _call('_ceph_cluster_log', channel, _PRIO.get(int(priority), 'info'), message)

    def _ceph_get_ceph_conf_path(self):
        return ''

    def _ceph_dispatch_remote(self, module_name, method_name, args, kwargs):
        if kwargs:
            raise TypeError('remote() across module processes takes positional, JSON-able arguments only')
        try:
            return _call('_ceph_dispatch_remote', module_name, method_name, list(args))
        except HostError as e:
            # Ceph: errors in the other module come back as RuntimeError,
            # a module that is not there as ImportError.
            if 'not enabled or not running' in str(e):
                raise ImportError(str(e))
            raise RuntimeError(str(e))

    def _ceph_send_command(self, result, svc_type, svc_id, command, tag, inbuf=None):
        # Completed from the connection's reader thread, never the caller's
        # (mon_command() waits on `result` on the calling thread).
        _conn.call_async('_ceph_send_command', [svc_type, svc_id, command, tag, inbuf or ''],
                         lambda ok, value, error: _complete_command(result, tag, ok, value, error))

    def _ceph_get_osdmap(self):
        # ceph-mgr builds a mgr_module.OSDMap around its current map.
        import mgr_module
        return mgr_module.OSDMap(_get('osd_map'), _get('osd_map_crush'))


def _complete_command(result, tag, ok, value, error):
    if ok and isinstance(value, list) and len(value) == 3:
        result.complete(int(value[0]), str(value[1] or ''), str(value[2] or ''))
    else:
        result.complete(-22, '', str(error or value))
    if tag:
        _conn.notify_command(tag)


class BaseMgrStandbyModule(_Forwarding):
    def __init__(self, capsule=None):
        pass

    def _ceph_get_module_option(self, key, prefix=''):
        return _call('_ceph_get_module_option', _module_name, key, prefix or '')

    def _ceph_get_active_uri(self):
        return _call('_ceph_get_active_uri')


class HostError(RuntimeError):
    """module-host answered a call with an error (its message as given)."""


class _Partial(object):
    """Methods of the C++ objects not re-implemented raise NotImplementedError naming them."""
    _KIND = ''

    def __getattr__(self, name):
        if name.startswith('_') and not name.startswith('__'):
            return _unserved(self._KIND + '.' + name)
        raise AttributeError(name)


def _copy(o):
    return json.loads(json.dumps(o))


class BasePyOSDMap(_Partial):
    """The current OSDMap, from cluster-state's dumps (osd_map, osd_map_crush,
    pg_stats). Mapping a *modified* map (apply_incremental, calc_pg_upmaps)
    needs CRUSH itself and is not served."""
    _KIND = 'OSDMap'

    def __init__(self, osd_map=None, crush=None, pg_stats=None):
        self._osd_map = osd_map or {}
        self._crush = crush or {}
        self._pg_stats = pg_stats

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

    def _pgs(self):
        if self._pg_stats is None:
            self._pg_stats = (_get('pg_stats') or {}).get('pg_stats', [])
        return self._pg_stats

    def _map_pool_pgs_up(self, poolid):
        prefix = '%d.' % int(poolid)
        return {pg['pgid']: list(pg.get('up', [])) for pg in self._pgs() if pg.get('pgid', '').startswith(prefix)}

    def _pg_to_up_acting_osds(self, pool_id, ps):
        pgid = '%d.%x' % (int(pool_id), int(ps))
        for pg in self._pgs():
            if pg.get('pgid') == pgid:
                return {'up': list(pg.get('up', [])), 'acting': list(pg.get('acting', [])),
                        'up_primary': pg.get('up_primary', -1), 'acting_primary': pg.get('acting_primary', -1)}
        return {'up': [], 'acting': [], 'up_primary': -1, 'acting_primary': -1}

    def _pool_raw_used_rate(self, pool_id):
        for p in self._osd_map.get('pools', []):
            if p.get('pool') == int(pool_id):
                if p.get('type') == 3:  # erasure: (k + m) / k
                    prof = self._osd_map.get('erasure_code_profiles', {}).get(p.get('erasure_code_profile'), {})
                    k, m = float(prof.get('k', 2)), float(prof.get('m', 1))
                    return (k + m) / k
                return float(p.get('size', 1))
        return 1.0


class BasePyOSDMapIncremental(_Partial):
    """Records what a module would change (a plan); nothing applies it."""
    _KIND = 'OSDMapIncremental'

    def __init__(self, epoch=0):
        self._epoch = epoch
        self._new_weight = {}
        self._weight_set = {}

    def _get_epoch(self):
        return self._epoch

    def _dump(self):
        return {'epoch': self._epoch, 'new_weight': [{'osd': int(k), 'weight': v} for k, v in self._new_weight.items()],
                'crush_compat_weight_set_weights': dict(self._weight_set),
                'new_pg_upmap_items': [], 'old_pg_upmap_items': []}

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
