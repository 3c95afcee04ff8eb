# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve members before planning: systemd units to their cgroups, and PIDs that no longer exist.

A unit is bound through its cgroup: the running unit's, or the one it will get when it starts
(``_unit_cgroup``); the caller passes the lookup as a callable so the engine needs no systemd. A unit systemd
does not know (or cannot start) or a PID with no process is an error naming it, unless ``missing="skip"``: then
it is left out and reported.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from ._errors import PlanError
from ._model import GroupSpec, HostPolicy, Members, is_normalised_cgroup_path

UnitResolver = Callable[[str], "str | None"]
MISSING_CHOICES = ("fail", "skip")


def resolve_members(
    desired: HostPolicy,
    resolve_unit: UnitResolver | None,
    pid_exists: Callable[[int], bool],
    missing: str = "fail",
) -> tuple[HostPolicy, list[str]]:
    """Return ``desired`` with units folded into cgroups and live PIDs only, plus the skipped members."""

    def resolved(group: GroupSpec, skipped: list[str]) -> Members:
        cgroups = list(group.members.cgroups)
        for unit in group.members.systemd_units:
            path = _unit_cgroup(group, unit, resolve_unit, missing, skipped)
            if path is not None and path not in cgroups:
                cgroups.append(path)
        pids = []
        for pid in group.members.pids:
            if pid_exists(pid):
                pids.append(pid)
                continue
            problem = f"group {group.path!r}: process {pid} does not exist"
            if missing == "fail":
                raise PlanError(problem)
            skipped.append(problem)
        return Members(cgroups=tuple(sorted(cgroups)), systemd_units=(), pids=tuple(pids))

    return _each_present(desired, missing, resolved)


def _each_present(desired: HostPolicy, missing: str,
                  members: Callable[[GroupSpec, list[str]], Members]) -> tuple[HostPolicy, list[str]]:
    """``desired`` with each present group's members replaced by ``members(group, skipped)``, and the skipped."""
    if missing not in MISSING_CHOICES:
        raise ValueError(f"missing must be one of {MISSING_CHOICES}")
    skipped: list[str] = []
    groups = [replace(group, members=members(group, skipped)) if group.present else group for group in desired.groups]
    return replace(desired, groups=tuple(groups)), skipped


def _unit_cgroup(group: GroupSpec, unit: str, resolve_unit: UnitResolver | None, missing: str,
                 skipped: list[str]) -> str | None:
    """The cgroup of ``unit`` (running, or the one it will get), or None where systemd does not know it or it is
    masked: a PlanError with ``missing="fail"``, else added to ``skipped``."""
    path = resolve_unit(unit) if resolve_unit is not None else None
    if path and not is_normalised_cgroup_path(path):
        raise PlanError(f"group {group.path!r}: systemd unit {unit} reports an unusable cgroup {path!r}")
    if not path or path == "/":
        problem = (f"group {group.path!r}: systemd unit {unit} has no cgroup and will get none: systemd "
                   "does not know it, or it is masked (is it installed?)")
        if missing == "fail":
            raise PlanError(problem)
        skipped.append(problem)
        return None
    return path


def known_units(
    desired: HostPolicy,
    resolve_unit: UnitResolver | None,
    missing: str = "fail",
) -> tuple[HostPolicy, list[str]]:
    """``desired`` with only the units systemd knows, plus the skipped members: the same check and errors as
    ``resolve_members``, for a backend that binds units by name (systemd's drop-ins) rather than by cgroup. Without
    a resolver (no systemd to ask) the units are taken as given."""
    if resolve_unit is None:
        return _each_present(desired, missing, lambda group, _skipped: group.members)

    def known(group: GroupSpec, skipped: list[str]) -> Members:
        units = tuple(u for u in group.members.systemd_units
                      if _unit_cgroup(group, u, resolve_unit, missing, skipped) is not None)
        return replace(group.members, systemd_units=units)

    return _each_present(desired, missing, known)
