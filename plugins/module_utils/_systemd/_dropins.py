# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd drop-ins this collection writes: render, find, write atomically, remove (stdlib only).

One file per unit and group: ``/etc/systemd/system/<unit>.d/50-policygroups-<group>.conf``. Its first line
is a marker naming the group's path; only files that start with it are ever read back as ours or removed,
so a hand-written file with a similar name is never touched.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping

from .._engine._errors import BackendError
from .._engine._io import HostIO, open_nofollow, replace_nofollow
from ._mainline_map import section_of

UNIT_DIR = "/etc/systemd/system"
MARKER = "# policygroups.core group="
PREFIX = "50-policygroups-"
_FILE_RE = re.compile(r"^50-policygroups-([A-Za-z0-9][A-Za-z0-9_-]{0,62})\.conf$")


@dataclass(frozen=True)
class Dropin:
    """One drop-in of ours on the host (or wanted there)."""

    unit: str
    group: str
    content: str

    @property
    def host_path(self) -> str:
        return dropin_path(self.unit, self.group)

    def properties(self) -> dict[str, str]:
        return parse_properties(self.content)


def dropin_path(unit: str, group: str) -> str:
    return f"{UNIT_DIR}/{unit}.d/{PREFIX}{group.rpartition('/')[2]}.conf"


def render(unit: str, group: str, properties: Mapping[str, str]) -> str:
    """The whole file: marker, a note for people, the unit type's section, one property per line (sorted)."""
    lines = [
        f"{MARKER}{group}",
        "# Written by the policygroups.core collection from the fleet document; local edits are overwritten.",
        f"[{section_of(unit)}]",
    ]
    lines.extend(f"{key}={value}" for key, value in sorted(properties.items()))
    return "\n".join(lines) + "\n"


def parse_properties(content: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in content.splitlines():
        if line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        props[key.strip()] = value.strip()
    return props


def marker_group(content: str) -> str | None:
    first = content.partition("\n")[0]
    return first[len(MARKER):].strip() or None if first.startswith(MARKER) else None


class DropinStore:
    """Our drop-ins under ``io``'s root."""

    def __init__(self, io: HostIO) -> None:
        self.io = io

    def read_all(self) -> dict[str, list[Dropin]]:
        """``{unit: [drop-ins of ours]}``; files without our marker are ignored."""
        found: dict[str, list[Dropin]] = {}
        try:
            unit_dirs = [d for d in self.io.subdirs(UNIT_DIR) if d.endswith(".d")]
        except FileNotFoundError:
            return found
        except OSError as exc:
            raise BackendError(f"cannot list {UNIT_DIR}: {exc.strerror or exc}", exc.errno) from exc
        for unit_dir in unit_dirs:
            unit = unit_dir[:-2]
            directory = f"{UNIT_DIR}/{unit_dir}"
            try:
                names = sorted(os.listdir(self.io.real(directory)))
            except OSError as exc:
                raise BackendError(f"cannot list {directory}: {exc.strerror or exc}", exc.errno) from exc
            for name in names:
                if not _FILE_RE.fullmatch(name):
                    continue
                path = f"{directory}/{name}"
                try:
                    content = self.io.read(path)
                except OSError as exc:
                    raise BackendError(f"cannot read {path}: {exc.strerror or exc}", exc.errno) from exc
                group = marker_group(content)
                if group is not None and dropin_path(unit, group) == path:
                    found.setdefault(unit, []).append(Dropin(unit, group, content))
        return found

    def write(self, dropin: Dropin) -> None:
        """Write the whole file or nothing (``_io.replace_nofollow``: temporary file, fsync, rename, fsync of the
        directory), every directory reached without following a link and a link in the drop-in's place refused."""
        try:
            replace_nofollow(self.io.root, dropin.host_path, dropin.content.encode("utf-8"), label=self.io.label)
        except OSError as exc:
            raise BackendError(f"cannot write {dropin.host_path}: {exc.strerror or exc}", exc.errno) from exc

    def remove(self, unit: str, group: str) -> None:
        """Remove our drop-in (and fsync its directory), and the unit's ``.d`` directory when nothing else is
        left in it."""
        host_path = dropin_path(unit, group)
        directory, name = os.path.split(host_path)
        try:
            content = self.io.read(host_path)
            if marker_group(content) != group:
                raise BackendError(f"{host_path} no longer carries this collection's marker: left in place")
            dfd = open_nofollow(self.io.root, directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.unlink(name, dir_fd=dfd)
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise BackendError(f"cannot remove {host_path}: {exc.strerror or exc}", exc.errno) from exc
        try:
            self.io.rmdir(directory)
        except OSError:
            pass  # not empty, or already gone: both fine
