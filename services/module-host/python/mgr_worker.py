# The Python side of module-host's host-module boundary: one process per
# Python module (Ceph's mgr_module keeps per-class registries, and some
# modules patch process-global state, so modules cannot share an
# interpreter). It speaks the same messages as the TypeScript worker
# (domain/protocol.ts), one JSON object per line: host -> worker on fd 3,
# worker -> host on fd 4, so a module's own print()s on stdout/stderr cannot
# corrupt the protocol (module-host logs them).
#
# It loads the module as ceph-mgr's PyModule::load does (import, find the
# MgrModule subclass, can_run, _register_options, _register_commands), then
# runs it as ActivePyModule does: construct, serve() in its own thread right
# away, commands via _handle_command on their own threads, notify and
# config_notify one at a time on a finisher thread, shutdown with a bounded
# wait.
#
# usage: mgr_worker.py <module name> <folder holding the module> <folder holding mgr_module.py> <mgr id>
# (mgr_probe.py imports it to read many modules' declarations at once.)
import enum
import importlib
import json
import math
import os
import queue
import sys
import threading
import traceback

# prometheus replaces os._exit with a no-op for the whole process; keep ours.
_exit = os._exit

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import ceph_module  # noqa: E402  (ours, from HERE)

NAME = MODULE_DIR = CEPH_MGR_DIR = MGR_ID = ''


def setup(name, module_dir, ceph_mgr_dir, mgr_id):
    """Which module this process is for; its folder and Ceph's go first on sys.path."""
    global NAME, MODULE_DIR, CEPH_MGR_DIR, MGR_ID
    NAME, MODULE_DIR, CEPH_MGR_DIR, MGR_ID = name, module_dir, ceph_mgr_dir, mgr_id
    for p in (ceph_mgr_dir, module_dir, HERE):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)

LEVELS = {'DEBUG': 'debug', 'INFO': 'info', 'WARNING': 'warn', 'ERROR': 'error', 'CRITICAL': 'error'}


def _json_default(o):
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, bytes):
        return o.decode('utf-8', 'replace')
    raise TypeError(f'{type(o).__name__} is not JSON-able and cannot cross the module boundary')


def _finite(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _dumps(msg):
    try:
        return json.dumps(msg, default=_json_default, allow_nan=False).encode()
    except ValueError:
        # NaN/Infinity are not JSON (the host's parser rejects them): null.
        return json.dumps(_finite(json.loads(json.dumps(msg, default=_json_default))), allow_nan=False).encode()


HostError = ceph_module.HostError


class _Slot(object):
    __slots__ = ('ev', 'ok', 'value', 'error', 'callback')

    def __init__(self, callback=None):
        self.ev = threading.Event()
        self.ok = False
        self.value = None
        self.error = None
        self.callback = callback


class Conn(object):
    """One multiplexed connection to the host: request ids, any thread may call."""

    def __init__(self):
        self.rd = os.fdopen(3, 'rb')
        self.wr = os.fdopen(4, 'wb')
        self.wlock = threading.Lock()
        self.slots = {}
        self.slots_lock = threading.Lock()
        self.next_id = 1
        self.unserved = set()
        self.closed = False

    def send(self, msg):
        data = _dumps(msg) + b'\n'
        with self.wlock:
            try:
                self.wr.write(data)
                self.wr.flush()
            except (BrokenPipeError, ValueError):
                # The host is gone: nothing to tell it; the reader exits.
                pass

    def _register(self, slot):
        with self.slots_lock:
            if self.closed:
                raise HostError('module-host connection closed')
            i = self.next_id
            self.next_id += 1
            self.slots[i] = slot
        return i

    def call(self, method, args):
        slot = _Slot()
        i = self._register(slot)
        self.send({'kind': 'api', 'id': i, 'method': method, 'args': args})
        slot.ev.wait()
        if not slot.ok:
            raise HostError(slot.error)
        return slot.value

    def call_async(self, method, args, callback):
        i = self._register(_Slot(callback))
        self.send({'kind': 'api', 'id': i, 'method': method, 'args': args})

    def deliver(self, m):
        with self.slots_lock:
            slot = self.slots.pop(m.get('id'), None)
        if slot is None:
            return
        slot.ok = bool(m.get('ok'))
        slot.value = m.get('value')
        slot.error = m.get('error')
        if slot.callback:
            try:
                slot.callback(slot.ok, slot.value, slot.error)
            except Exception:
                self.log('[%s ERROR mgr_worker] completion raised: %s' % (NAME, traceback.format_exc()))
        else:
            slot.ev.set()

    def close(self):
        with self.slots_lock:
            self.closed = True
            slots = list(self.slots.values())
            self.slots.clear()
        for s in slots:
            s.ok, s.error = False, 'module-host connection closed'
            if s.callback:
                try:
                    s.callback(False, None, s.error)
                except Exception:
                    pass
            else:
                s.ev.set()

    def log(self, msg):
        level = 'info'
        # CPlusPlusHandler's format: "[module LEVEL logger] message"
        head = msg[:64].split(None, 2)
        if len(head) >= 2 and head[0].startswith('['):
            level = LEVELS.get(head[1], 'info')
        self.send({'kind': 'log', 'level': level, 'msg': msg})

    def report_unserved(self, name):
        if name in self.unserved:
            return
        self.unserved.add(name)
        self.call_async('_unserved', [name], lambda *a: None)

    def notify_command(self, tag):
        RUNTIME.finisher.put((lambda: RUNTIME.notify('command', tag), None))


def _describe(e):
    text = str(e)
    return f'{type(e).__name__}: {text}' if text else type(e).__name__


def _find_subclass(mod, base):
    """PyModule::load_subclass_of: a class in the module deriving from base."""
    found = []
    for v in vars(mod).values():
        if isinstance(v, type) and issubclass(v, base) and v is not base:
            found.append(v)
    if not found:
        return None
    own = [c for c in found if (c.__module__ or '').split('.')[0] == NAME]
    return (own or found)[0]


def _option(o):
    d = dict(o)
    out = {'name': str(d['name'])}
    typ = d.get('type')
    out['type'] = typ if typ in ('str', 'int', 'uint', 'float', 'bool', 'secs', 'size', 'addr', 'uuid') else 'str'
    if 'default' in d and d['default'] is not None:
        # Ceph: an option without a type is a string, its default too.
        out['default'] = d['default'] if typ else str(d['default'])
    for k in ('min', 'max'):
        if d.get(k) is not None:
            try:
                out[k] = float(d[k]) if isinstance(d[k], float) else int(d[k])
            except (TypeError, ValueError):
                pass
    if d.get('enum_allowed'):
        out['enum_allowed'] = [str(x) for x in d['enum_allowed']]
    for k in ('desc', 'long_desc'):
        if d.get(k):
            out[k] = str(d[k])
    out['runtime'] = bool(d.get('runtime', False))
    return out


class Runtime(object):
    def __init__(self):
        self.cls = None
        self.standby_cls = None
        self.instance = None
        self.active = False
        self.notify_types = set()
        self.serve_thread = None
        self.finisher = queue.Queue()

    def load(self):
        try:
            import mgr_module
        except Exception as e:
            reason = (f"Ceph's mgr_module cannot be imported from {CEPH_MGR_DIR} ({_describe(e)}): "
                      'install Debian\'s ceph-mgr, python3-rados and python3-ceph-argparse')
            return {'commands': [], 'options': [], 'notifyTypes': [], 'canRun': [False, reason], 'hasStandby': False}
        ceph_module._module_name = NAME
        ceph_module._mgr_id = MGR_ID
        # `self.rados` on the simulated cluster (before the module imports rados' classes).
        import sim_rados
        sim_rados.install()
        try:
            mod = importlib.import_module(NAME)
        except ImportError as e:
            # A missing dependency of the module itself: listed as unable to run.
            return {'commands': [], 'options': [], 'notifyTypes': [],
                    'canRun': [False, f'cannot import module {NAME!r}: {_describe(e)}'], 'hasStandby': False}
        cls = _find_subclass(mod, mgr_module.MgrModule)
        if cls is None:
            raise RuntimeError(f'module {NAME!r} ({getattr(mod, "__file__", MODULE_DIR)}) has no class deriving from MgrModule')
        self.cls = cls
        self.standby_cls = _find_subclass(mod, mgr_module.MgrStandbyModule)
        try:
            r = cls.can_run()
            can_run = [bool(r[0]), str(r[1] or '')] if isinstance(r, (tuple, list)) else [bool(r), '']
        except Exception as e:
            can_run = [False, f'can_run raised {_describe(e)}']
        cls._register_options(NAME)
        cls._register_commands(NAME)
        if self.standby_cls is not None:
            self.standby_cls._register_options(NAME)
        commands = []
        for c in cls.COMMANDS:
            commands.append({'cmd': str(c['cmd']), 'desc': str(c.get('desc', '')), 'perm': str(c.get('perm', 'rw')),
                             'poll': bool(c.get('poll', False))})
        self.notify_types = set(t.value if isinstance(t, enum.Enum) else str(t) for t in getattr(cls, 'NOTIFY_TYPES', []))
        return {
            'commands': commands,
            'options': [_option(o) for o in cls.MODULE_OPTIONS],
            'notifyTypes': sorted(self.notify_types),
            'canRun': can_run,
            'hasStandby': self.standby_cls is not None,
        }

    def start(self, m):
        self.active = bool(m.get('active', True))
        if self.active:
            self.instance = self.cls(NAME, None, None)
        elif self.standby_cls is not None:
            self.instance = self.standby_cls(NAME, None)
        if self.instance is not None and m.get('serve', True) is not False:
            # Right after construction, as ceph-mgr does: zabbix and crash
            # set up state in serve() that their commands rely on.
            self.serve_thread = threading.Thread(target=self._serve, name=f'{NAME}-serve', daemon=True)
            self.serve_thread.start()
        return None

    def _serve(self):
        try:
            self.instance.serve()
        except Exception as e:
            CONN.log(f'[{NAME} ERROR mgr_worker] serve() raised: {traceback.format_exc()}')
            CONN.send({'kind': 'serve_ended', 'error': _describe(e)})
            return
        CONN.send({'kind': 'serve_ended'})

    def command(self, m):
        if not self.active or self.instance is None:
            raise RuntimeError('module is not active')
        r = self.instance._handle_command(m.get('inbuf') or '', m.get('cmd') or {})
        r = tuple(r)
        return [int(r[0]), '' if r[1] is None else str(r[1]), '' if r[2] is None else str(r[2])]

    def notify(self, ntype, nid):
        if self.active and self.instance is not None and ntype in self.notify_types:
            self.instance.notify(ntype, nid)

    def config_notify(self):
        if self.active and self.instance is not None:
            self.instance._config_notify()

    def self_test(self):
        if not self.active or self.instance is None:
            raise RuntimeError('module is not active')
        r = self.instance.self_test()
        return '' if r is None else str(r)

    def remote(self, m):
        # Any method, as ceph-mgr allows (the dashboard calls progress's _json), but no dunders.
        method = str(m.get('method'))
        fn = getattr(self.instance, method, None) if self.active and self.instance is not None and not method.startswith('__') else None
        if fn is None or not callable(fn):
            raise RuntimeError(f'module {NAME!r} has no method {method!r}')
        return fn(*(m.get('args') or []), **(m.get('kwargs') or {}))

    def shutdown(self, grace=1.5):
        if self.instance is not None:
            self.instance.shutdown()
        if self.serve_thread is not None:
            self.serve_thread.join(grace)
        return None

    def run_finisher(self):
        while True:
            fn, reply_id = self.finisher.get()
            _run(reply_id, fn)


def _run(reply_id, fn):
    try:
        value = fn()
        if reply_id is not None:
            CONN.send({'kind': 'reply', 'id': reply_id, 'ok': True, 'value': value})
    except Exception as e:
        CONN.log(f'[{NAME} ERROR mgr_worker] {traceback.format_exc()}')
        if reply_id is not None:
            CONN.send({'kind': 'reply', 'id': reply_id, 'ok': False, 'error': _describe(e)})


def _on_thread(reply_id, fn, name):
    threading.Thread(target=_run, args=(reply_id, fn), name=f'{NAME}-{name}', daemon=True).start()


CONN = None
RUNTIME = Runtime()


def main():
    global CONN
    setup(*sys.argv[1:5])
    CONN = Conn()
    ceph_module._conn = CONN
    try:
        decl = RUNTIME.load()
        CONN.send({'kind': 'loaded', 'declaration': decl})
    except Exception as e:
        CONN.log(f'[{NAME} ERROR mgr_worker] load failed: {traceback.format_exc()}')
        CONN.send({'kind': 'load_failed', 'error': _describe(e)})
    threading.Thread(target=RUNTIME.run_finisher, name=f'{NAME}-finisher', daemon=True).start()
    for line in CONN.rd:
        try:
            m = json.loads(line)
        except ValueError:
            continue
        kind = m.get('kind')
        i = m.get('id')
        if kind == 'api_result':
            CONN.deliver(m)
        elif kind == 'heartbeat':
            CONN.send({'kind': 'reply', 'id': i, 'ok': True, 'value': None})
        elif kind == 'start':
            _on_thread(i, lambda m=m: RUNTIME.start(m), 'start')
        elif kind == 'command':
            _on_thread(i, lambda m=m: RUNTIME.command(m), 'command')
        elif kind == 'notify':
            RUNTIME.finisher.put((lambda m=m: RUNTIME.notify(str(m.get('type')), str(m.get('notifyId') or '')), i))
        elif kind == 'config_notify':
            RUNTIME.finisher.put((RUNTIME.config_notify, i))
        elif kind == 'self_test':
            _on_thread(i, RUNTIME.self_test, 'self-test')
        elif kind == 'remote':
            _on_thread(i, lambda m=m: RUNTIME.remote(m), 'remote')
        elif kind == 'shutdown':
            _on_thread(i, RUNTIME.shutdown, 'shutdown')
        else:
            CONN.send({'kind': 'reply', 'id': i, 'ok': False, 'error': f'unknown message kind {kind!r}'})
    # The host closed the connection: this module's process ends with it.
    CONN.close()
    _exit(0)


if __name__ == '__main__':
    main()
