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

    def _ceph_get_context(self):
        # ceph-mgr: a capsule around its CephContext, for `self.rados`. The
        # cluster is simulated: sim_rados.py's stand-in client is built from it.
        import sim_rados
        return sim_rados.SIM_CONTEXT

    def _ceph_register_client(self, addrs):
        # ceph-mgr records its RADOS clients' addresses to blocklist them on
        # failover; the simulated cluster's clients hold nothing to fence.
        pass

    def _ceph_unregister_client(self, addrs):
        pass

    def _ceph_update_progress_event(self, evid, desc, progress, add_to_ceph_s):
        _call('_ceph_update_progress_event', evid, desc, float(progress), bool(add_to_ceph_s))

    def _ceph_complete_progress_event(self, evid):
        _call('_ceph_complete_progress_event', evid)

    def _ceph_clear_all_progress_events(self):
        _call('_ceph_clear_all_progress_events')

    def _ceph_dispatch_remote(self, module_name, method_name, args, kwargs):
        try:
            return _call('_ceph_dispatch_remote', module_name, method_name, list(args), dict(kwargs or {}))
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
        # ceph-mgr builds a mgr_module.OSDMap around its current map; the
        # mappings are taken now, so an OSDMap kept for later stays that epoch's.
        import mgr_module
        import osdmap
        return mgr_module.OSDMap(_get('osd_map'), _get('osd_map_crush'), osdmap.Mappings.current())


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


# The native map objects (OSDMap, its incrementals, CRUSH): osdmap.py.
from osdmap import BasePyOSDMap, BasePyOSDMapIncremental, BasePyCRUSH  # noqa: E402,F401
