# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cgroup a systemd unit has, or will get when it starts (stdlib only, pure).

A running unit reports its cgroup (``ControlGroup``). A unit that is not running yet (a timer's oneshot, a
service started later) has none, but systemd puts it at ``<path of its slice>/<unit name>`` when it starts, and
adopts a directory that already exists there. Its slice is systemd's ``Slice`` property: ``system.slice`` for
most services, ``system-<template>.slice`` for a template's instances (``report@1.service`` runs in
``/system.slice/system-report.slice/report@1.service``). The run-time modules and the boot-time restore both
use this one rule, so a binding made for a unit that is not running is the one it gets once it starts.
"""

from __future__ import annotations

from typing import Mapping

from ._names import UNIT_TYPES_WITH_CGROUP

# What ``systemctl show`` must report for ``unit_cgroup`` to decide.
UNIT_PROPERTIES = ("LoadState", "ActiveState", "ControlGroup", "Slice")
# LoadState values of a unit that cannot start, so it will never have a cgroup.
NOT_STARTABLE = ("not-found", "masked", "bad-setting", "error")


def slice_path(slice_name: str) -> str:
    """``a-b.slice`` -> ``/a.slice/a-b.slice``; ``-.slice`` (the root slice) -> ``""`` (systemd.slice(5))."""
    if slice_name in ("", "-.slice"):
        return ""
    stem = slice_name[: -len(".slice")] if slice_name.endswith(".slice") else slice_name
    parts = stem.split("-")
    return "".join("/" + "-".join(parts[: i + 1]) + ".slice" for i in range(len(parts)))


def default_slice(unit: str) -> str:
    """The slice systemd gives a system unit that names none: ``system-<template>.slice`` for an instance
    (a ``-`` in the template name is escaped as ``\\x2d``, as systemd does), else ``system.slice``."""
    prefix, at, _rest = unit.partition("@")
    if not at or unit.endswith(".slice"):
        return "system.slice" if not unit.endswith(".slice") else "-.slice"
    return "system-%s.slice" % prefix.replace("\\", "\\x5c").replace("-", "\\x2d")


def unit_cgroup(unit: str, props: Mapping[str, str]) -> str | None:
    """The cgroup of ``unit`` from its ``systemctl show`` properties (``UNIT_PROPERTIES``): the running unit's
    own, else the one it will get when it starts; None when systemd does not know the unit or cannot start it."""
    if props.get("LoadState", "loaded") in NOT_STARTABLE:
        return None
    running = props.get("ControlGroup", "").strip()
    if running and running != "/":
        return running
    slice_name = props.get("Slice", "").strip() or default_slice(unit)
    return "%s/%s" % (slice_path(slice_name), unit)


def is_unit_cgroup_path(path: str) -> bool:
    """``path`` is where systemd puts a unit: slices all the way down, then one unit of a type with a cgroup.

    Only such a cgroup may be created ahead of its unit (systemd adopts it on start); any other bound path must
    exist already, so that a mistyped path is an error rather than an empty cgroup."""
    parts = path.split("/")
    if len(parts) < 2 or parts[0] != "" or any(not p for p in parts[1:]):
        return False
    *slices, unit = parts[1:]
    if not slices:
        return False
    kind = unit.rpartition(".")[2]
    return all(s.endswith(".slice") for s in slices) and kind in UNIT_TYPES_WITH_CGROUP and kind != "slice" \
        and "." in unit
