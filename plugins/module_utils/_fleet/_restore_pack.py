# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time restore as one runnable zip (``python3 policygroups-restore.pyz --document ...``), packed on the
controller by the policy_groups_converge action for the policy_host module to install.

The archive holds the entry point as ``__main__.py`` and each package directory (one of the collection's
stdlib-only ``plugins/module_utils`` subpackages: the engine and its backends) with its ``*.py`` files as a
subpackage of ``policygroups_engine``, so the host gets one file and the packages' relative imports work as in
the collection. Entries are sorted and carry a fixed time stamp: the same inputs give the same bytes, so the host
compares them with the installed restore and writes only a different one."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence

PACKAGE = "policygroups_engine"
STAMP = (1980, 1, 1, 0, 0, 0)
INIT = b"# policygroups.core engine, packed for the boot-time restore\n"


class PackError(ValueError):
    """A package directory is not a package."""


def _entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def pack_bytes(entry_point: str, package_dirs: Sequence[str]) -> bytes:
    """The archive's bytes: ``entry_point`` (a file) as ``__main__.py`` and each of ``package_dirs``."""
    members: dict[str, str | None] = {"__main__.py": entry_point, f"{PACKAGE}/__init__.py": None}
    for directory in package_dirs:
        package = os.path.basename(os.path.normpath(directory))
        if not os.path.isfile(os.path.join(directory, "__init__.py")):
            raise PackError(f"{directory} is not a package (no __init__.py)")
        for name in sorted(os.listdir(directory)):
            if name.endswith(".py"):
                members[f"{PACKAGE}/{package}/{name}"] = os.path.join(directory, name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            source = members[name]
            if source is None:
                data = INIT
            else:
                with open(source, "rb") as handle:
                    data = handle.read()
            _entry(archive, name, data)
    return buffer.getvalue()
