# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pack the boot-time restore into one runnable zip: ``python3 policygroups-restore.pyz --document ...``.

Run on the controller by the policy_groups role:  pack-restore.py OUT ENTRY_POINT ENGINE_FILE...
                                        or:  pack-restore.py --new-tempdir NAME ENTRY_POINT ENGINE_FILE...
(the second makes a private temporary directory, packs into NAME there and prints the archive's path, so one
task both makes the scratch space and fills it; the caller removes the directory).

The archive holds ENTRY_POINT as ``__main__.py`` and each ENGINE_FILE (the collection's stdlib-only engine
modules) in the package ``policygroups_engine``, so the host gets one file in one transfer. Entries are sorted
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


def pack(out: str, entry_point: str, engine_files: list[str]) -> None:
    members = {"__main__.py": entry_point, f"{PACKAGE}/__init__.py": None}
    for path in engine_files:
        members[f"{PACKAGE}/{os.path.basename(path)}"] = path
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
