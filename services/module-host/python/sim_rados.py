# The RADOS a module's `self.rados` reaches when the cluster is simulated.
#
# In ceph-mgr, `self.rados` is a librados client built on the manager's
# CephContext (get_context()); modules open pools with it and read and write
# objects (rbd_support's task queue and schedules, devicehealth's metrics,
# volumes' CephFS mounts through libcephfs). The simulator has OSD maps and
# statistics but no object store, so here `get_context()` returns SIM_CONTEXT
# and `rados.Rados(context=SIM_CONTEXT)` builds a SimRados instead: the pools
# are the OSD map's, every pool holds no objects (reads answer
# ObjectNotFound, which is what a module sees for an object nobody wrote),
# and writes fail with EROFS saying why. librbd and libcephfs calls on it
# answer as for empty pools (no images, no namespaces, mirroring off) or
# refuse with EOPNOTSUPP (no file system service to mount). Anything not
# listed raises NotImplementedError naming it, like ceph_module.py's
# unserved calls. The real classes are used for anything else.
import errno

import ceph_module


class _SimContext(object):
    """What get_context() returns: marks the simulated cluster (no CephContext)."""

    def __repr__(self):
        return '<simulated cluster context>'


SIM_CONTEXT = _SimContext()

_EROFS_MSG = 'the simulated cluster has no object store: {} is not simulated'


def _unserved(kind, name):
    ceph_module._conn.report_unserved(f'{kind}.{name}')
    raise NotImplementedError(f'{kind}.{name} is not served for the simulated cluster (module {ceph_module._module_name!r})')


def _osd_map():
    return ceph_module._get('osd_map') or {}


class SimRados(object):
    """librados' Rados for the simulated cluster (see the file comment)."""

    def __init__(self, *_args, **_kwargs):
        import rados
        self._rados = rados
        self.state = 'configuring'

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        _unserved('Rados', name)

    def connect(self, timeout=0):
        self.state = 'connected'

    def shutdown(self):
        self.state = 'shutdown'

    def wait_for_latest_osdmap(self):
        return 0

    def get_addrs(self):
        return ''

    def get_fsid(self):
        return str(_osd_map().get('fsid', ''))

    def conf_get(self, option):
        v = ceph_module._call('_ceph_get_option', option)
        if v is None:
            return None
        if isinstance(v, bool):
            return 'true' if v else 'false'
        return str(v)

    def _pools(self):
        return _osd_map().get('pools', [])

    def list_pools(self):
        return [p['pool_name'] for p in self._pools()]

    def pool_exists(self, pool_name):
        return pool_name in self.list_pools()

    def pool_lookup(self, pool_name):
        for p in self._pools():
            if p['pool_name'] == pool_name:
                return int(p['pool'])
        return None

    def pool_reverse_lookup(self, pool_id):
        for p in self._pools():
            if int(p['pool']) == int(pool_id):
                return p['pool_name']
        return None

    def open_ioctx(self, ioctx_name):
        pool_id = self.pool_lookup(ioctx_name)
        if pool_id is None:
            raise self._rados.ObjectNotFound(f"error opening pool '{ioctx_name}'", errno=errno.ENOENT)
        return SimIoctx(self._rados, pool_id, ioctx_name)

    def open_ioctx2(self, pool_id):
        name = self.pool_reverse_lookup(pool_id)
        if name is None:
            raise self._rados.ObjectNotFound(f"error opening pool id '{pool_id}'", errno=errno.ENOENT)
        return SimIoctx(self._rados, int(pool_id), name)


class SimIoctx(object):
    """An I/O context on one of the simulated cluster's (empty) pools."""

    def __init__(self, rados, pool_id, pool_name):
        self._rados = rados
        self._pool_id = pool_id
        self._pool_name = pool_name
        self.nspace = ''

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        _unserved('Ioctx', name)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        return False

    def close(self):
        pass

    def set_namespace(self, nspace):
        self.nspace = nspace or ''

    def get_namespace(self):
        return self.nspace

    def get_pool_id(self):
        return self._pool_id

    def get_pool_name(self):
        return self._pool_name

    def _missing(self, oid):
        return self._rados.ObjectNotFound(f'Failed to operate read op for oid {oid}', errno=errno.ENOENT)

    def _read_only(self, what):
        return self._rados.OSError(_EROFS_MSG.format(what), errno=errno.EROFS)

    # Reads: no object exists.
    def get_omap_vals(self, read_op, start_after, filter_prefix, max_return, omit_end=False):
        return iter(()), 0

    def get_omap_vals_by_keys(self, read_op, keys):
        return iter(()), 0

    def get_omap_keys(self, read_op, start_after, max_return):
        return iter(()), 0

    def operate_read_op(self, read_op, oid, flag=0):
        raise self._missing(oid)

    def read(self, key, length=8192, offset=0):
        raise self._missing(key)

    def stat(self, key):
        raise self._missing(key)

    def get_xattr(self, key, xattr_name):
        raise self._missing(key)

    def list_objects(self):
        return iter(())

    def application_list(self):
        for p in _osd_map().get('pools', []):
            if int(p['pool']) == self._pool_id:
                return list(p.get('application_metadata', {}))
        return []

    # Writes: refused.
    def set_omap(self, write_op, keys, values):
        pass

    def remove_omap_keys(self, write_op, keys):
        pass

    def operate_write_op(self, write_op, oid, mtime=0, flags=0):
        raise self._read_only(f'writing object {oid!r}')

    def write(self, key, data, offset=0):
        raise self._read_only(f'writing object {key!r}')

    def write_full(self, key, data):
        raise self._read_only(f'writing object {key!r}')

    def append(self, key, data):
        raise self._read_only(f'writing object {key!r}')

    def remove_object(self, key):
        raise self._missing(key)


class SimRBD(object):
    """librbd's RBD on a simulated pool: no images, namespaces, trash or
    mirror peers, mirroring disabled, the options at their configured
    values; anything that would write (or read an image) fails with
    EOPNOTSUPP saying why. Calls on a real Ioctx go to librbd."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if not callable(attr) or name.startswith('_'):
            return attr

        def call(*args, **kwargs):
            ioctx = args[0] if args else kwargs.get('ioctx')
            if isinstance(ioctx, SimIoctx):
                import rbd
                raise rbd.OSError(f'RBD.{name}: the simulated cluster has no object store', errno=errno.EOPNOTSUPP)
            return attr(*args, **kwargs)
        return call

    def namespace_list(self, ioctx):
        return [] if isinstance(ioctx, SimIoctx) else self._real.namespace_list(ioctx)

    def list(self, ioctx):
        return [] if isinstance(ioctx, SimIoctx) else self._real.list(ioctx)

    def list2(self, ioctx):
        return iter(()) if isinstance(ioctx, SimIoctx) else self._real.list2(ioctx)

    def trash_list(self, ioctx):
        return iter(()) if isinstance(ioctx, SimIoctx) else self._real.trash_list(ioctx)

    def mirror_mode_get(self, ioctx):
        import rbd
        return rbd.RBD_MIRROR_MODE_DISABLED if isinstance(ioctx, SimIoctx) else self._real.mirror_mode_get(ioctx)

    def mirror_peer_list(self, ioctx):
        return iter(()) if isinstance(ioctx, SimIoctx) else self._real.mirror_peer_list(ioctx)

    def mirror_image_info_list(self, ioctx, mode_filter=None):
        if isinstance(ioctx, SimIoctx):
            return iter(())
        return self._real.mirror_image_info_list(ioctx, mode_filter)

    def mirror_image_status_list(self, ioctx):
        return iter(()) if isinstance(ioctx, SimIoctx) else self._real.mirror_image_status_list(ioctx)

    def config_list(self, ioctx):
        """Every librbd option at its configured value (source 0: the config; no pool overrides)."""
        if not isinstance(ioctx, SimIoctx):
            return self._real.config_list(ioctx)
        options = (ceph_module._get('config_options') or {}).get('options', [])
        out = []
        for o in options:
            if 'rbd' in o.get('services', []) and o['name'].startswith('rbd_'):
                v = ceph_module._call('_ceph_get_option', o['name'])
                out.append({'name': o['name'], 'value': ('true' if v else 'false') if isinstance(v, bool) else ('' if v is None else str(v)), 'source': 0})
        return iter(out)


def _either(real, stand_in, use_stand_in, make=None):
    """A class standing for `real`: building it makes a stand-in when use_stand_in(args, kwargs)."""
    kinds = (real,) if stand_in is None else (real, stand_in)

    class Meta(type):
        def __instancecheck__(cls, obj):
            return isinstance(obj, kinds)

        def __call__(cls, *args, **kwargs):
            if use_stand_in(args, kwargs):
                return (make or stand_in)(*args, **kwargs)
            return real(*args, **kwargs)

    return Meta(real.__name__, (object,), {'__doc__': real.__doc__})


_installed = False


def install():
    """Makes librados/librbd/libcephfs's Python classes build stand-ins for SIM_CONTEXT clients."""
    global _installed
    if _installed:
        return
    _installed = True
    import rados
    import rbd
    real_rados, real_rbd, real_image = rados.Rados, rbd.RBD, rbd.Image

    rados.Rados = _either(real_rados, SimRados, lambda a, kw: kw.get('context') is SIM_CONTEXT)
    rbd.RBD = _either(real_rbd, SimRBD, lambda a, kw: True, lambda *a, **kw: SimRBD(real_rbd(*a, **kw)))

    def image_missing(*args, **kwargs):
        name = kwargs.get('name') or (args[1] if len(args) > 1 else None) or kwargs.get('image_id')
        raise rbd.ImageNotFound(f'error opening image {name} at snapshot None', errno=errno.ENOENT)
    rbd.Image = _either(real_image, None, lambda a, kw: isinstance(a[0] if a else kw.get('ioctx'), SimIoctx), image_missing)
    try:
        import cephfs
    except ImportError:
        return
    real_fs = cephfs.LibCephFS

    def no_fs(*_args, **_kwargs):
        raise cephfs.OSError(errno.EOPNOTSUPP, 'the simulated cluster has no file system service to mount')
    cephfs.LibCephFS = _either(real_fs, None, lambda a, kw: isinstance(kw.get('rados_inst'), SimRados), no_fs)

