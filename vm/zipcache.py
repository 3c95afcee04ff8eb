"""Bytecode cache for Ansible's module payloads, in test guests only.

Ansible runs every module from a zip archive (AnsiballZ), and Python's zipimport compiles each
module it imports from that archive from source, every time: under software emulation that is
more than a second of every task. This keeps the compiled code of payload modules, keyed by the
interpreter's bytecode magic number and optimisation level, the module's path inside the archive
and the SHA-256 of its source, so an entry is used only for exactly the source it was compiled from. Only archives
named *_payload.zip (Ansible's) are affected; everything else imports as before.

vm/up.sh installs this file (as policygroups_test_zipcache.py) and a .pth line that imports it at interpreter start-up (unless
VM_PYCACHE=off). It is never part of the collection or of a managed host.
"""
import os
import zipimport

_DIR = "/var/cache/policygroups-test-pycache"
_MARK = "_payload.zip" + os.sep
_compile = zipimport._compile_source  # type: ignore[attr-defined]


def _refile(code, filename):
    """The code object with every co_filename set to filename (tracebacks name this run's archive)."""
    consts = tuple(_refile(c, filename) if isinstance(c, type(code)) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _compile_source(pathname, source):
    _archive, mark, inner = pathname.partition(_MARK)
    if not mark:
        return _compile(pathname, source)
    import hashlib
    import importlib.util
    import marshal
    import sys

    salt = importlib.util.MAGIC_NUMBER + b"%d\0" % sys.flags.optimize + inner.encode() + b"\0"
    key = hashlib.sha256(salt + source).hexdigest()
    path = os.path.join(_DIR, key)
    try:
        with open(path, "rb") as f:
            return _refile(marshal.load(f), pathname)
    except (OSError, EOFError, ValueError, TypeError):
        pass
    code = _compile(pathname, source)
    tmp = f"{path}.{os.getpid()}"
    try:
        os.makedirs(_DIR, mode=0o700, exist_ok=True)
        with open(tmp, "wb") as f:
            marshal.dump(code, f)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return code


zipimport._compile_source = _compile_source  # type: ignore[attr-defined]
