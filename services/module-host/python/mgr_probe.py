# Reads the declarations (commands, options, NOTIFY_TYPES, can_run, standby
# class) of many Python modules at start-up for the price of one
# interpreter: Ceph's mgr_module (and rados) is imported once here, then each
# module is loaded in a fork()ed child, so every module still gets pristine
# class-level registries (CLICommand.COMMANDS, MODULE_OPTIONS) as in its own
# process. Each child loads exactly as mgr_worker.py does.
#
# usage: mgr_probe.py <folder holding mgr_module.py> <mgr id>
#   stdin: JSON [[name, folder holding the module], ...]
#   stdout: one JSON object per module, {"name", "declaration"} or {"name", "error"}
import json
import os
import sys

import mgr_worker


def main():
    ceph_dir, mgr_id = sys.argv[1:3]
    pairs = json.loads(sys.stdin.read() or '[]')
    mgr_worker.setup('', ceph_dir, ceph_dir, mgr_id)
    try:
        import mgr_module  # noqa: F401  (the shared, expensive part)
    except Exception:
        pass  # each child reports why, as its own process would
    out = sys.stdout.buffer
    for name, folder in pairs:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.dup2(2, 1)  # a module's print() must not reach our stdout
            try:
                mgr_worker.setup(name, folder, ceph_dir, mgr_id)
                res = {'name': name, 'declaration': mgr_worker.RUNTIME.load()}
            except BaseException as e:
                res = {'name': name, 'error': mgr_worker._describe(e)}
            with os.fdopen(w, 'wb') as f:
                f.write(mgr_worker._dumps(res) + b'\n')
            # prometheus makes os._exit a no-op when imported; not ours.
            mgr_worker._exit(0)
        os.close(w)
        with os.fdopen(r, 'rb') as f:
            data = f.read()
        os.waitpid(pid, 0)
        if not data.endswith(b'\n'):
            data = mgr_worker._dumps({'name': name, 'error': 'the probe process ended without an answer'}) + b'\n'
        out.write(data)
        out.flush()


if __name__ == '__main__':
    main()
