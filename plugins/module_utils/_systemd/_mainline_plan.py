# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for the systemd backend: wanted drop-ins + what is on the host -> ordered operations (pure).

Order: drop-ins written and removed (each file atomically), one ``daemon_reload``, then ``set_runtime`` for
active units whose live cgroup value differs from the wanted one (``systemctl set-property --runtime``, so
no restart is needed for cgroup-level properties). Exec-level properties act from a unit's next start: the
plan names those units in ``restart_required`` and restarts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .._engine._plan import Operation
from ._dropins import Dropin, parse_properties, render
from ._mainline_map import CGROUP_PROPERTIES

ACTIVE_STATES = ("active", "reloading", "activating")
# Live kernel value of each cgroup-level property value, as the cgroup file prints it.
KERNEL_VALUES = {"MemorySwapMax": {"0": "0", "infinity": "max"}, "MemoryZSwapWriteback": {"yes": "1", "no": "0"}}


@dataclass(frozen=True)
class UnitRuntime:
    """A unit as systemd and the kernel see it now: its state, and the live value of each cgroup-level
    property (read from its cgroup's files; a property whose file is unreadable is absent and not compared)."""

    active_state: str = "inactive"
    main_pid: int = 0
    live: Mapping[str, str] = field(default_factory=dict)
    need_reload: bool = False
    loaded: Mapping[str, str] = field(default_factory=dict)

    def unloaded(self, properties: Mapping[str, str]) -> dict[str, str]:
        """Those of ``properties`` systemd has not loaded yet: it says its unit files changed since it loaded
        them (``NeedDaemonReload``) and a value it holds differs from ours. A property it does not show is not
        compared; an edit of someone else's file alone (our values loaded) is not ours to reload."""
        if not self.need_reload:
            return {}
        return {p: v for p, v in properties.items() if p in self.loaded and self.loaded[p] != v}

    @property
    def active(self) -> bool:
        return self.active_state in ACTIVE_STATES


@dataclass
class MainlinePlan:
    operations: list[Operation] = field(default_factory=list)
    restart_required: list[str] = field(default_factory=list)


def _name(group_path: str) -> str:
    return group_path.rpartition("/")[2]


def plan_dropins(
    wanted: Mapping[tuple[str, str], Mapping[str, str]],
    actual: Mapping[str, list[Dropin]],
    runtime: Mapping[str, UnitRuntime],
    managed_names: frozenset[str],
    purge: bool = False,
    absent: tuple[str, ...] = (),
    pending: Mapping[str, list[str]] | None = None,
) -> MainlinePlan:
    """``wanted`` is ``(unit, group path) -> properties``; ``actual`` our drop-ins by unit. Drop-ins of groups
    named in ``managed_names`` (present or absent) that are not wanted are removed, and those of groups below a
    group of ``absent`` (paths: its subtree goes, as on policyfs); others only with ``purge``. ``pending``: the
    properties earlier runs took away from units (``SystemdBackend.read_pending``), whose reload and live reset a
    run stopped before them left undone."""
    want = {(unit, _name(group)): Dropin(unit, group, render(unit, group, props)) for (unit, group), props in wanted.items()}
    have = {(d.unit, _name(d.group)): d for dropins in actual.values() for d in dropins}
    result = MainlinePlan()
    exec_changed: set[str] = set()
    for key in sorted(want):
        new, old = want[key], have.get(key)
        if old is None or old.content != new.content:
            result.operations.append(Operation("write_dropin", new.group, new.unit, old.content if old else None, new.content))
            if _exec_props(old.content if old else "") != _exec_props(new.content):
                exec_changed.add(new.unit)
    removed: set[tuple[str, str]] = set()
    for key in sorted(have):
        old = have[key]
        below_absent = any(old.group.startswith(path + "/") for path in absent)
        if key in want or not (purge or key[1] in managed_names or below_absent):
            continue
        removed.add(key)
        result.operations.append(Operation("remove_dropin", old.group, old.unit, old.content, None))
        if _exec_props(old.content):
            exec_changed.add(old.unit)
    # A run that wrote drop-ins and stopped before its daemon-reload left systemd on the old values; a later
    # run sees nothing to write, so it must notice from systemd itself and finish that run's job.
    unfinished: set[str] = set()
    for (unit, _group), dropin in want.items():
        unloaded = runtime.get(unit, UnitRuntime()).unloaded(dropin.properties())
        if unloaded:
            unfinished.add(unit)
        if any(prop not in CGROUP_PROPERTIES for prop in unloaded):
            exec_changed.add(unit)
    # A run that removed drop-ins or properties and stopped before the reload or the live reset: nothing on disk
    # names those units any more; the backend's record of them does.
    pending = dict(pending or {})
    for unit in pending:
        if runtime.get(unit, UnitRuntime()).need_reload:
            unfinished.add(unit)
    if result.operations or unfinished:
        result.operations.append(Operation("daemon_reload"))
    for (unit, _group), dropin in sorted(want.items()):
        state = runtime.get(unit, UnitRuntime())
        if not state.active:
            continue
        props = dropin.properties()
        stale = {
            prop: value for prop, value in sorted(props.items())
            if prop in CGROUP_PROPERTIES and prop in state.live and state.live[prop] != KERNEL_VALUES[prop].get(value)
        }
        if stale:
            before = {prop: state.live.get(prop) for prop in stale}
            result.operations.append(Operation("set_runtime", dropin.group, unit, before, stale))
    final = {**{k: d for k, d in have.items() if k not in removed}, **want}
    wanted_props = _props_by_unit(final)
    resets = _reset_ops(wanted_props, have, runtime)
    result.operations.extend(resets)
    result.operations.extend(_pending_resets(wanted_props, pending, runtime, {str(op.key) for op in resets}))
    result.restart_required = sorted(u for u in exec_changed if runtime.get(u, UnitRuntime()).active)
    return result


def _props_by_unit(dropins: Mapping[tuple[str, str], Dropin]) -> dict[str, set[str]]:
    """The properties our ``dropins`` set, by unit."""
    props: dict[str, set[str]] = {}
    for (unit, _group), dropin in dropins.items():
        props.setdefault(unit, set()).update(dropin.properties())
    return props


def _reset_ops(
    wanted_props: Mapping[str, set[str]], have: Mapping[tuple[str, str], Dropin], runtime: Mapping[str, UnitRuntime]
) -> list[Operation]:
    """For active units that lose a cgroup-level property of ours (``wanted_props``: what our drop-ins set after the
    run, by unit): put the live value back to what the unit's own configuration says without it
    (``reset_runtime``; the backend asks systemd after the reload)."""
    ops: list[Operation] = []
    for (unit, _group), dropin in sorted(have.items()):
        lost = sorted(p for p in dropin.properties() if p in CGROUP_PROPERTIES and p not in wanted_props.get(unit, set()))
        if lost and runtime.get(unit, UnitRuntime()).active:
            ops.append(Operation("reset_runtime", dropin.group, unit, {p: dropin.properties()[p] for p in lost}, lost))
    return ops


def _pending_resets(
    wanted_props: Mapping[str, set[str]], pending: Mapping[str, list[str]], runtime: Mapping[str, UnitRuntime],
    planned: set[str],
) -> list[Operation]:
    """``reset_runtime`` for active units that lost cgroup-level properties in a stopped run (``pending``) and
    still run with our value: its reload is pending, or the live value is not what systemd has loaded."""
    ops: list[Operation] = []
    for unit, props in sorted(pending.items()):
        state = runtime.get(unit, UnitRuntime())
        if unit in planned or not state.active:
            continue
        lost = sorted(p for p in props if p in CGROUP_PROPERTIES and p not in wanted_props.get(unit, set()))
        stale = [p for p in lost if state.need_reload or (
            p in state.live and p in state.loaded and KERNEL_VALUES[p].get(state.loaded[p], state.live[p]) != state.live[p])]
        if stale:
            ops.append(Operation("reset_runtime", None, unit, {p: state.live.get(p) for p in stale}, stale))
    return ops


def _exec_props(content: str) -> dict[str, str]:
    return {k: v for k, v in parse_properties(content).items() if k not in CGROUP_PROPERTIES}
