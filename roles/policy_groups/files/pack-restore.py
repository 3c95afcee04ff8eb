# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pack the boot-time restore into one runnable zip: ``python3 policygroups-restore.pyz --document ...``.

Run on the controller by the policy_groups role:  pack-restore.py OUT ENTRY_POINT PACKAGE_DIR...
                                        or:  pack-restore.py --new-tempdir NAME ENTRY_POINT PACKAGE_DIR...
(the second makes a private temporary directory, packs into NAME there and prints the archive's path, so one
task both makes the scratch space and fills it; the caller removes the directory).

The archive holds ENTRY_POINT as ``__main__.py`` and each PACKAGE_DIR (one of the collection's stdlib-only
``plugins/module_utils`` subpackages: the engine and its backends) with its ``*.py`` files as a subpackage of
``policygroups_engine``, so the host gets one file in one transfer and the packages' relative imports work as in
the collection. Entries are sorted
and carry a fixed time stamp: the same inputs give the same bytes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile

PACKAGE = "policygroups_engine"
STAMP = (1980, 1, 1, 0, 0, 0)


def entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def pack(out: str, entry_point: str, package_dirs: list[str]) -> None:
    members: dict[str, str | None] = {"__main__.py": entry_point, f"{PACKAGE}/__init__.py": None}
    for directory in package_dirs:
        package = os.path.basename(os.path.normpath(directory))
        if not os.path.isfile(os.path.join(directory, "__init__.py")):
            raise SystemExit(f"pack-restore.py: {directory} is not a package (no __init__.py)")
        for name in sorted(os.listdir(directory)):
            if name.endswith(".py"):
                members[f"{PACKAGE}/{package}/{name}"] = os.path.join(directory, name)
    tmp = f"{out}.tmp"
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(members):
            source = members[name]
            if source is None:
                data = b"# policygroups.core engine, packed for the boot-time restore\n"
            else:
                with open(source, "rb") as handle:
                    data = handle.read()
            entry(archive, name, data)
    os.replace(tmp, out)


def main(argv: list[str]) -> int:
    new_tempdir = bool(argv) and argv[0] == "--new-tempdir"
    if new_tempdir:
        argv = argv[1:]
    if len(argv) < 3 or (new_tempdir and os.path.basename(argv[0]) != argv[0]):
        print(__doc__.split("\n\n", maxsplit=2)[1], file=sys.stderr)
        return 2
    out = os.path.join(tempfile.mkdtemp(suffix=".policygroups"), argv[0]) if new_tempdir else argv[0]
    pack(out, argv[1], argv[2:])
    if new_tempdir:
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
