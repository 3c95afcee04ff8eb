# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``systemd`` backend: policy groups on a mainline kernel, as systemd unit properties (stdlib only).

Groups whose members are ``systemd_units`` get one drop-in per unit with the group's rendered values
(see ``_mainline_map``). What this host's systemd and kernel support is probed, never looked up in a version
table: systemd is asked which of the properties it knows (``systemctl show -p``), the kernel for the cgroup
files. See docs/mainline.md.
"""

from __future__ import annotations

import json
from typing import Callable, Iterable, Mapping

from .._engine._backend import OperationDispatch
from .._engine._errors import BackendError, NotAvailableError, UnsupportedError
from .._engine._io import FlatKeyed, HostIO, Labeller, replace_nofollow
from .._engine._model import INHERIT, POLICY_KEYS
from .._engine._plan import Operation
from .._engine._procfs import kernel_release
from .._engine._state import Capabilities, GroupState, HostState
from .._engine._systemctl import Runner, Systemctl, no_runner
from ._dropins import Dropin, DropinStore, parse_properties
from ._mainline_map import ALL_PROPERTIES, ALWAYS_UNSUPPORTED, CGROUP_PROPERTIES, MAPPINGS
from ._mainline_plan import UnitRuntime

# Properties are probed on a service unit: a name systemd does not know still has the full property set of
# its type (LoadState=not-found), so the probe depends on no real unit.
PROBE_UNIT = "policygroups-probe.service"
CGROUP_ROOT = "/sys/fs/cgroup"
# A cgroup below the root: the root cgroup has no memory.* interface files.
CGROUP_PROBE_DIR = "/sys/fs/cgroup/system.slice"
KERNEL_DIRS = {"thp": "/sys/kernel/mm/transparent_hugepage", "ksm": "/sys/kernel/mm/ksm"}
LIVE_FILES = {"MemorySwapMax": "memory.swap.max", "MemoryZSwapWriteback": "memory.zswap.writeback"}
MEMBER_FEATURE = "systemd_units"
# Where ``systemctl set-property --runtime`` records what it set (systemd.unit(5), "system.control").
CONTROL_DIR = "/run/systemd/system.control"
# The units whose properties a run took away (a drop-in removed, or written with fewer properties) until the
# daemon-reload and the live reset that finish that are done: a run stopped in between left nothing else that names
# them (the drop-in is gone), and the next run reads this to finish the job. In /run: a reboot loads everything.
PENDING = "/run/policygroups/systemd-pending.json"
NO_STATS = (
    "stats: mainline kernels have no per-policy-group statistics (no policy.stat; the systemd backend's groups "
    "exist only as drop-ins); a unit's memory counters are in its cgroup's memory.stat (and OOM kills in "
    "memory.events): /sys/fs/cgroup/<ControlGroup>/memory.stat, ControlGroup from "
    "'systemctl show -p ControlGroup --value <unit>'"
)


def policies_from(props: dict[str, str]) -> dict[str, str]:
    """Policy values as a drop-in's properties express them (``inherit`` where it sets nothing)."""
    policies = dict.fromkeys(POLICY_KEYS, INHERIT)
    if "OOMScoreAdjust" in props:
        policies["oom_score_adj"] = props["OOMScoreAdjust"]
    for key, prop in (("ksm", "MemoryKSM"), ("zswap_writeback", "MemoryZSwapWriteback")):
        if prop in props:
            policies[key] = "1" if props[prop] == "yes" else "0"
    if props.get("MemorySwapMax") == "0":
        policies["swap_tiers"] = "none"
    if "MemoryTHP" in props:
        policies["thp"] = {"disable": "never"}.get(props["MemoryTHP"], props["MemoryTHP"])
    if "NUMAPolicy" in props:
        mask = props.get("NUMAMask", "")
        policies["numa"] = f"{props['NUMAPolicy']}:{mask}" if mask else props["NUMAPolicy"]
    return policies


def state_from(dropins: Mapping[str, list[Dropin]], capabilities: Capabilities, effective: bool = False) -> HostState:
    """Groups as the drop-ins ``{unit: [drop-ins]}`` record them: values are rendered ones, so own and effective
    are the same. Units are reported by ``units_from``; ``bindings`` stay empty (nothing is bound in the kernel)."""
    by_group: dict[str, dict[str, str]] = {}
    for unit_dropins in dropins.values():
        for dropin in unit_dropins:
            by_group.setdefault(dropin.group, {}).update(dropin.properties())
    groups = {}
    for path, props in sorted(by_group.items()):
        policies = policies_from(props)
        groups[path] = GroupState(path=path, policies=policies, effective=dict(policies) if effective else {})
    return HostState(capabilities=capabilities, tiers=None, groups=groups)


def units_from(dropins: Mapping[str, list[Dropin]]) -> dict[str, list[str]]:
    """``{group: [units]}`` of the drop-ins ``{unit: [drop-ins]}``, units sorted."""
    result: dict[str, list[str]] = {}
    for unit, unit_dropins in sorted(dropins.items()):
        for dropin in unit_dropins:
            result.setdefault(dropin.group, []).append(unit)
    return result


class SystemdBackend(OperationDispatch):
    """Policy groups as systemd drop-ins. ``root`` re-roots host files; ``runner`` runs ``systemctl``."""

    name = "systemd"

    def __init__(
        self, root: str = "/", policy_root: str = "", io: HostIO | None = None, runner: Runner | None = None,
        label: Labeller | None = None,
    ) -> None:
        self.io = io if io is not None else HostIO(root, label)
        self.systemctl = Systemctl(runner if runner is not None else no_runner)
        self.store = DropinStore(self.io)
        self.support: dict[str, str | None] = {}
        self.known: frozenset[str] = frozenset()
        self.systemd_version: str | None = None

    def use_runner(self, runner: Runner) -> None:
        self.systemctl = Systemctl(runner)

    # -- probe -------------------------------------------------------------------------------------------------
    def probe(self) -> Capabilities:
        release = kernel_release(self.io)
        why = self._why_unavailable()
        known: frozenset[str] = frozenset()
        if why is None:
            try:
                known = self.systemctl.known_properties(PROBE_UNIT, ALL_PROPERTIES)
                self.systemd_version = self.systemctl.version()
            except BackendError as exc:
                why = f"the systemd backend is not available on this host: {exc}"
        if why is not None:
            return Capabilities(self.name, False, why, None, (), release, False)
        self.known = known
        self.support = {key: self._support(key, known, release) for key in POLICY_KEYS}
        features = tuple(key for key in POLICY_KEYS if self.support[key] is None) + (MEMBER_FEATURE,)
        return Capabilities(self.name, True, None, None, features, release, False)

    def _why_unavailable(self) -> str | None:
        prefix = "the systemd backend is not available on this host: "
        if not self.io.isdir("/run/systemd/system"):
            return prefix + "systemd is not the running init system (no /run/systemd/system)"
        if not self.io.exists(f"{CGROUP_ROOT}/cgroup.controllers"):
            return prefix + f"no cgroup v2 hierarchy at {CGROUP_ROOT}"
        return None

    def _support(self, key: str, known: frozenset[str], release: str | None) -> str | None:
        if key in ALWAYS_UNSUPPORTED:
            return ALWAYS_UNSUPPORTED[key]
        mapping = MAPPINGS[key]
        missing = [p for p in mapping.properties if p not in known]
        if missing:
            version = self.systemd_version or "this systemd"
            return f"{version} has no {'= / '.join(missing)}= unit property (asked with systemctl show)"
        kernel = f"kernel {release}" if release else "the kernel"
        if mapping.kernel_file and not self.io.exists(f"{CGROUP_PROBE_DIR}/{mapping.kernel_file}"):
            return f"{kernel} has no {mapping.kernel_file} (looked in {CGROUP_PROBE_DIR})"
        if key in KERNEL_DIRS and not self.io.isdir(KERNEL_DIRS[key]):
            return f"{kernel} has no {KERNEL_DIRS[key]}"
        return None

    def require(self) -> Capabilities:
        capabilities = self.probe()
        if not capabilities.available:
            raise NotAvailableError(capabilities.reason or "the systemd backend is not available on this host")
        return capabilities

    # -- read --------------------------------------------------------------------------------------------------
    def read_dropins(self) -> dict[str, list[Dropin]]:
        return self.store.read_all()

    def read_state(self, capabilities: Capabilities | None = None, effective: bool = False) -> HostState:
        """Groups as our drop-ins record them (``state_from``)."""
        return state_from(self.read_dropins(), capabilities or self.require(), effective)

    def read_stats(self, capabilities: Capabilities, groups: Iterable[str]) -> dict[str, FlatKeyed]:
        """Never any: a mainline kernel keeps no statistics per policy group."""
        raise UnsupportedError(NO_STATS)

    def units_by_group(self) -> dict[str, list[str]]:
        return units_from(self.read_dropins())

    def read_pending(self) -> dict[str, list[str]]:
        """``{unit: properties}`` that runs took away from units and whose reload or live reset may not be done
        (PENDING); empty where there is none or it cannot be read."""
        try:
            data = json.loads(self.io.read(PENDING))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(u): [str(p) for p in props] for u, props in data.items() if isinstance(props, list)}

    def _write_pending(self, pending: Mapping[str, list[str]]) -> None:
        try:
            if pending:
                text = json.dumps(dict(sorted(pending.items())), sort_keys=True) + "\n"
                replace_nofollow(self.io.root, PENDING, text.encode(), 0o600, label=self.io.label)
            elif self.io.exists(PENDING):
                self.io.unlink(PENDING)
        except OSError as exc:
            raise BackendError(f"cannot record the units a run changes in {PENDING}: {exc.strerror or exc}",
                               exc.errno) from exc

    def _note_pending(self, unit: str, properties: Iterable[str]) -> None:
        """Before ``unit`` loses ``properties`` (its drop-in removed or rewritten): record them (PENDING)."""
        pending = self.read_pending()
        merged = sorted(set(pending.get(unit, [])) | set(properties))
        if pending.get(unit) != merged:
            pending[unit] = merged
            self._write_pending(pending)

    def _forget_pending(self, forget: Callable[[str, list[str]], bool]) -> None:
        """Take the units ``forget(unit, properties)`` says are done off the record (PENDING)."""
        pending = self.read_pending()
        kept = {u: props for u, props in pending.items() if not forget(u, props)}
        if kept != pending:
            self._write_pending(kept)

    def read_runtime(self, units: list[str]) -> dict[str, UnitRuntime]:
        """Each unit's state, main PID, the live values of the cgroup-level properties (cgroup files), whether
        systemd has loaded its unit files since they last changed, and the values it has loaded."""
        loaded_props = sorted(self.known)
        shown = self.systemctl.show(sorted(units), ["ActiveState", "MainPID", "ControlGroup", "NeedDaemonReload", *loaded_props])
        result: dict[str, UnitRuntime] = {}
        for unit, props in shown.items():
            cgroup = props.get("ControlGroup", "")
            live: dict[str, str] = {}
            for prop, name in LIVE_FILES.items() if cgroup else ():
                try:
                    live[prop] = self.io.read(f"{CGROUP_ROOT}{cgroup}/{name}").strip()
                except OSError:
                    continue
            main_pid = props.get("MainPID", "0")
            result[unit] = UnitRuntime(
                props.get("ActiveState", "inactive"), int(main_pid) if main_pid.isdigit() else 0, live,
                need_reload=props.get("NeedDaemonReload") == "yes",
                loaded={p: props[p] for p in loaded_props if p in props},
            )
        return result

    # -- apply -------------------------------------------------------------------------------------------------
    def _op_write_dropin(self, op: Operation) -> None:
        lost = set(parse_properties(str(op.before or ""))) - set(parse_properties(str(op.after)))
        if lost:
            self._note_pending(str(op.key), lost)
        self.store.write(Dropin(str(op.key), str(op.group), str(op.after)))

    def _op_remove_dropin(self, op: Operation) -> None:
        self._note_pending(str(op.key), parse_properties(str(op.before or "")))
        self.store.remove(str(op.key), str(op.group))

    def _op_daemon_reload(self, op: Operation) -> None:
        self.systemctl.daemon_reload()
        # loaded now: what is left pending is a live value to reset, which the reset_runtime operations that follow
        # do (each forgets its unit); a unit that lost no cgroup-level property needs nothing more
        self._forget_pending(lambda _unit, props: not set(props) & set(CGROUP_PROPERTIES))

    def _op_set_runtime(self, op: Operation) -> None:
        values = {str(k): str(v) for k, v in dict(op.after or {}).items()}
        self._set_live(str(op.key), values)

    def _op_reset_runtime(self, op: Operation) -> None:
        """After reload, set the live value back to what the unit's configuration now says."""
        unit = str(op.key)
        props = [p for p in op.after or () if p in CGROUP_PROPERTIES]
        configured = self.systemctl.show([unit], props).get(unit, {})
        values = {p: configured[p] for p in props if configured.get(p)}
        if values:
            self._set_live(unit, values)
        self._forget_pending(lambda done, _props: done == unit)

    def _set_live(self, unit: str, values: dict[str, str]) -> None:
        """``set-property --runtime`` writes the cgroup now (a daemon-reload does not) and also leaves a runtime
        drop-in in /run/systemd/system.control that would shadow /etc until reboot. The values equal what the
        unit's configuration says after the reload, so that runtime drop-in is redundant: it is removed when it
        holds exactly the value just set, and the configuration in /etc stays the one that counts."""
        self.systemctl.set_runtime(unit, values)
        for prop, value in values.items():
            path = f"{CONTROL_DIR}/{unit}.d/50-{prop}.conf"
            try:
                if parse_properties(self.io.read(path)) == {prop: value}:
                    self.io.unlink(path)
            except OSError:
                continue

    def _op_restart(self, op: Operation) -> None:
        self.systemctl.try_restart(str(op.key))
