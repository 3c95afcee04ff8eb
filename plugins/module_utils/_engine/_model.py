# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired state: the fleet document normalised into typed, kernel-ready values (stdlib only).

``normalize()`` is the single entry point. It is deliberately strict on its own (names that could escape the
policy root, parents, cycles, value ranges), because it also runs on hosts without the controller-side JSON
Schema, e.g. when persisted state is restored at boot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from typing import TypeGuard

from . import _hierarchy
from ._errors import ModelError
from ._names import cgroup_path_problem, group_name_problem, tier_name_problem, unit_name_problem

# Policies in the order of the ABI's policy.features (bind is membership, not a policy).
POLICY_KEYS: tuple[str, ...] = ("thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "mem_priority")
INHERIT = "inherit"

NODELIST_RE = re.compile(r"^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$")
THP_MODES = ("inherit", "never", "madvise", "always")
NUMA_MODES = ("default", "local", "preferred", "bind", "interleave")
NUMA_MODES_WITHOUT_NODES = ("default", "local")
# Reclaim classes of policy.mem_priority, the order in which reclaim takes memory ("inherit" is omitting it).
MEM_PRIORITIES = ("low", "normal", "high")
PRIO_MIN, PRIO_MAX = -1, 32767
OOM_MIN, OOM_MAX = -1000, 1000
# A group's path below the policy root, so that root, path and the longest policy file name fit PATH_MAX.
GROUP_PATH_MAX = 3968

_GROUP_FIELDS = frozenset(
    ("name", "description", "parent", "state", "swap", "zswap_writeback", "thp", "ksm", "oom_score_adj", "numa",
     "mem_priority", "members")
)


@dataclass(frozen=True)
class TierSpec:
    """One swap tier: a named range of swap priorities starting at ``start_priority``."""

    name: str
    start_priority: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "start_priority": self.start_priority}


@dataclass(frozen=True)
class Members:
    """Desired members: bound cgroup v2 paths, systemd units (bound via their cgroup) and joined PIDs."""

    cgroups: tuple[str, ...] = ()
    systemd_units: tuple[str, ...] = ()
    pids: tuple[int, ...] = ()


@dataclass(frozen=True)
class GroupSpec:
    """One desired group. ``path`` is its identity on the host (``parent/child``).

    ``policies`` holds every key of POLICY_KEYS with its kernel value (``inherit`` when unset); for
    ``swap_tiers`` the value is ``inherit``, ``none`` or tier names separated by one space.
    """

    name: str
    path: str
    parent: str | None = None
    state: str = "present"
    description: str | None = None
    policies: Mapping[str, str] = field(default_factory=dict)
    members: Members = field(default_factory=Members)

    @property
    def present(self) -> bool:
        return self.state == "present"

    @property
    def depth(self) -> int:
        return self.path.count("/") + 1


@dataclass(frozen=True)
class HostPolicy:
    """What one host should look like. ``tiers`` is None when tier definitions are not managed."""

    groups: tuple[GroupSpec, ...] = ()
    tiers: tuple[TierSpec, ...] | None = None

    def group(self, name: str) -> GroupSpec | None:
        for group in self.groups:
            if group.name == name:
                return group
        return None


def parent_path(path: str) -> str:
    """``a/b/c`` -> ``a/b``; a top-level group's parent is the root, ``""``."""
    return path.rpartition("/")[0]


def is_normalised_cgroup_path(path: str) -> bool:
    """Absolute, no empty, ``.`` or ``..`` component, no trailing slash (``/`` itself is allowed)."""
    if not path.startswith("/") or "\0" in path:
        return False
    if path == "/":
        return True
    parts = path[1:].split("/")
    return all(part not in ("", ".", "..") for part in parts)


def parse_nodelist(text: str) -> tuple[int, ...]:
    """``0-2,4`` -> (0, 1, 2, 4). Raises ValueError on syntax errors."""
    nodes: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        first, _sep, last = part.partition("-")
        low, high = int(first), int(last or first)
        if high < low:
            raise ValueError(f"descending node range {part!r}")
        nodes.update(range(low, high + 1))
    return tuple(sorted(nodes))


def render_nodelist(nodes: tuple[int, ...]) -> str:
    """(0, 1, 2, 4) -> ``0-2,4``: the kernel's ``%*pbl`` form, so comparisons are exact."""
    parts: list[str] = []
    ordered = sorted(set(nodes))
    start = 0
    for index in range(1, len(ordered) + 1):
        if index == len(ordered) or ordered[index] != ordered[index - 1] + 1:
            low, high = ordered[start], ordered[index - 1]
            parts.append(str(low) if low == high else f"{low}-{high}")
            start = index
    return ",".join(parts)


def _err(where: str, message: str) -> ModelError:
    return ModelError(f"{where}: {message}")


def _is_int(value: Any) -> "TypeGuard[int]":
    return isinstance(value, int) and not isinstance(value, bool)


def normalize_tiers(items: Any, where: str = "policy_swap_tiers") -> tuple[TierSpec, ...]:
    """Validate tier definitions; return them highest start priority first (the kernel's order)."""
    if not isinstance(items, (list, tuple)):
        raise _err(where, "expected a list of {name, start_priority}")
    tiers: list[TierSpec] = []
    names: set[str] = set()
    prios: set[int] = set()
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            raise _err(at, "expected a mapping with name and start_priority")
        unknown = set(item) - {"name", "start_priority"}
        if unknown:
            raise _err(at, f"unknown key(s) {', '.join(sorted(unknown))}")
        name = item.get("name")
        prio = item.get("start_priority")
        if not isinstance(name, str):
            raise _err(f"{at}.name", f"{name!r} is not a tier name (1 to 15 of A-Z a-z 0-9 _)")
        if (problem := tier_name_problem(name)) is not None:
            raise _err(f"{at}.name", f"{name!r} is not a tier name: it {problem}")
        if not _is_int(prio) or not PRIO_MIN <= prio <= PRIO_MAX:
            raise _err(f"{at}.start_priority", f"{prio!r} is not an integer in {PRIO_MIN}..{PRIO_MAX}")
        if name in names:
            raise _err(f"{at}.name", f"tier {name!r} is defined twice")
        if prio in prios:
            raise _err(f"{at}.start_priority", f"start priority {prio} is used by another tier")
        names.add(name)
        prios.add(prio)
        tiers.append(TierSpec(name, prio))
    if tiers and PRIO_MIN not in prios:
        raise _err(where, f"one tier must start at {PRIO_MIN} so that the tiers cover {PRIO_MIN}..{PRIO_MAX}")
    return tuple(sorted(tiers, key=lambda t: -t.start_priority))


def _bool_value(value: Any, where: str) -> str:
    if not isinstance(value, bool):
        raise _err(where, f"expected true or false, got {value!r}")
    return "1" if value else "0"


def _swap_value(swap: Any, where: str) -> str:
    if not isinstance(swap, Mapping):
        raise _err(where, "expected {tiers: [...]} or {enabled: false}")
    tiers = swap.get("tiers")
    enabled = swap.get("enabled")
    unknown = set(swap) - {"tiers", "enabled"}
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    if tiers is not None and enabled is not None:
        raise _err(where, "set either tiers or enabled: false, not both")
    if enabled is not None:
        if enabled is not False:
            raise _err(f"{where}.enabled", "only false is meaningful (no swap); to allow swap, list tiers or omit swap")
        return "none"
    if tiers is None:
        raise _err(where, "expected tiers (a non-empty list of tier names) or enabled: false")
    if not isinstance(tiers, (list, tuple)) or not tiers:
        raise _err(f"{where}.tiers", "expected a non-empty list of tier names")
    seen: list[str] = []
    for index, name in enumerate(tiers):
        if not isinstance(name, str):
            raise _err(f"{where}.tiers[{index}]", f"{name!r} is not a tier name")
        if (problem := tier_name_problem(name)) is not None:
            raise _err(f"{where}.tiers[{index}]", f"{name!r} is not a tier name: it {problem}")
        if name in seen:
            raise _err(f"{where}.tiers[{index}]", f"tier {name!r} is listed twice")
        seen.append(name)
    return " ".join(seen)


def _numa_value(numa: Any, where: str) -> str:
    if not isinstance(numa, Mapping):
        raise _err(where, "expected {mode: ..., nodes: ...}")
    unknown = set(numa) - {"mode", "nodes"}
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    mode = numa.get("mode")
    nodes = numa.get("nodes")
    if mode not in NUMA_MODES:
        raise _err(f"{where}.mode", f"{mode!r} is not one of {', '.join(NUMA_MODES)}")
    if mode in NUMA_MODES_WITHOUT_NODES:
        if nodes not in (None, ""):
            raise _err(f"{where}.nodes", f"mode {mode} takes no nodes")
        return str(mode)
    if _is_int(nodes):
        nodes = str(nodes)
    if not isinstance(nodes, str) or not NODELIST_RE.fullmatch(nodes):
        raise _err(f"{where}.nodes", f"mode {mode} needs a node list such as 0-1 or 0,2 (got {nodes!r})")
    try:
        canonical = render_nodelist(parse_nodelist(nodes))
    except ValueError as exc:
        raise _err(f"{where}.nodes", str(exc)) from exc
    return f"{mode}:{canonical}"


def _policies(item: Mapping[str, Any], where: str) -> dict[str, str]:
    policies = dict.fromkeys(POLICY_KEYS, INHERIT)
    thp = item.get("thp")
    if thp is not None:
        if thp not in THP_MODES:
            raise _err(f"{where}.thp", f"{thp!r} is not one of {', '.join(THP_MODES)}")
        policies["thp"] = thp
    if item.get("ksm") is not None:
        policies["ksm"] = _bool_value(item["ksm"], f"{where}.ksm")
    oom = item.get("oom_score_adj")
    if oom is not None:
        if not _is_int(oom) or not OOM_MIN <= oom <= OOM_MAX:
            raise _err(f"{where}.oom_score_adj", f"{oom!r} is not an integer in {OOM_MIN}..{OOM_MAX}")
        policies["oom_score_adj"] = str(oom)
    if item.get("swap") is not None:
        policies["swap_tiers"] = _swap_value(item["swap"], f"{where}.swap")
    if item.get("zswap_writeback") is not None:
        policies["zswap_writeback"] = _bool_value(item["zswap_writeback"], f"{where}.zswap_writeback")
    if item.get("numa") is not None:
        policies["numa"] = _numa_value(item["numa"], f"{where}.numa")
    priority = item.get("mem_priority")
    if priority is not None:
        if priority not in MEM_PRIORITIES:
            raise _err(f"{where}.mem_priority", f"{priority!r} is not one of {', '.join(MEM_PRIORITIES)}")
        policies["mem_priority"] = priority
    return policies


def document_policies(policies: Mapping[str, str]) -> dict[str, Any]:
    """The inverse of what ``normalize`` makes of a group's policy fields: kernel values back in the fleet
    document's form and types (``oom_score_adj`` an integer, ``ksm`` and ``zswap_writeback`` booleans,
    ``swap`` as ``{tiers: [...]}`` or ``{enabled: false}``, ``numa`` as ``{mode, nodes}``), a policy at
    ``inherit`` left out as the document leaves it out, swap tiers in the kernel's order (highest first). A value
    the document cannot hold (``swap_tiers: default``, every tier named explicitly by the kernel; a newer kernel's
    value) is kept under the kernel's key as the kernel's string rather than guessed at."""
    out: dict[str, Any] = {}
    for key in POLICY_KEYS:
        value = policies.get(key, INHERIT)
        if value == INHERIT:
            continue
        if key in ("ksm", "zswap_writeback") and value in ("0", "1"):
            out[key] = value == "1"
        elif key == "oom_score_adj" and re.fullmatch(r"-?[0-9]+", value):
            out[key] = int(value)
        elif key == "swap_tiers" and value != "default":
            out["swap"] = {"enabled": False} if value == "none" else {"tiers": re.split(r"[\s,]+", value.strip())}
        elif key == "numa":
            mode, _sep, nodes = value.partition(":")
            out["numa"] = {"mode": mode, "nodes": nodes} if nodes else {"mode": mode}
        else:
            out[key] = value
    return out


def _members(value: Any, where: str) -> Members:
    if value is None:
        return Members()
    if not isinstance(value, Mapping):
        raise _err(where, "expected {cgroups: [...], systemd_units: [...], pids: [...]}")
    unknown = set(value) - {"cgroups", "systemd_units", "pids"}
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("cgroups", "systemd_units", "pids"):
        if value.get(key) is not None and not isinstance(value[key], (list, tuple)):
            raise _err(f"{where}.{key}", f"expected a list, got {value[key]!r}")
    cgroups: list[str] = []
    for index, path in enumerate(value.get("cgroups") or ()):
        problem = cgroup_path_problem(path) if isinstance(path, str) else f"expected a cgroup v2 path, got {path!r}"
        if problem:
            raise _err(f"{where}.cgroups[{index}]", problem)
        if path not in cgroups:
            cgroups.append(path)
    units: list[str] = []
    for index, unit in enumerate(value.get("systemd_units") or ()):
        problem = unit_name_problem(unit) if isinstance(unit, str) else f"expected a systemd unit name, got {unit!r}"
        if problem:
            raise _err(f"{where}.systemd_units[{index}]", problem)
        if unit not in units:
            units.append(unit)
    pids: list[int] = []
    for index, pid in enumerate(value.get("pids") or ()):
        if not _is_int(pid) or pid < 1:
            raise _err(f"{where}.pids[{index}]", f"{pid!r} is not a process ID")
        if pid not in pids:
            pids.append(pid)
    return Members(tuple(sorted(cgroups)), tuple(sorted(units)), tuple(sorted(pids)))


def _resolve_paths(items: list[Mapping[str, Any]], existing: Mapping[str, str]) -> dict[str, str]:
    """Group name -> path, following parents through the document, then through ``existing``.

    The tree (duplicate names, parents, cycles, paths) is the one the fleet validator and the render filter see
    (``_hierarchy``); its first problem in document order is refused here, and so is a path longer than
    GROUP_PATH_MAX, before anything is written."""
    tree = _hierarchy.resolve(items, existing)
    if tree.problems:
        problem = tree.problems[0]
        raise _err(problem.path, problem.message)
    for index, item in enumerate(items):
        path = tree.paths[item["name"]]
        if len(path) > GROUP_PATH_MAX:
            raise _err(f"policy_groups[{index}]",
                       f"the group's path {path[:40]}... is longer than {GROUP_PATH_MAX} characters "
                       "(too deep a chain of parents for the kernel's path limit)")
    return tree.paths


def normalize(doc: Mapping[str, Any], existing: Mapping[str, str] | None = None) -> HostPolicy:
    """Turn a fleet document (``policy_groups``, optional ``policy_swap_tiers``) into a HostPolicy.

    ``existing`` maps names of groups already on the host to their paths, for parents the document does not
    define (the single-group module). ``policy_swap_tiers`` absent or None means tiers are not managed.
    """
    if not isinstance(doc, Mapping):
        raise ModelError("the document must be a mapping")
    raw_tiers = doc.get("policy_swap_tiers")
    tiers = None if raw_tiers is None else normalize_tiers(raw_tiers)
    items_raw = doc.get("policy_groups") or []
    if not isinstance(items_raw, (list, tuple)):
        raise ModelError("policy_groups: expected a list of groups")
    items: list[Mapping[str, Any]] = []
    for index, item in enumerate(items_raw):
        where = f"policy_groups[{index}]"
        if not isinstance(item, Mapping):
            raise _err(where, "expected a mapping")
        unknown = set(item) - _GROUP_FIELDS
        if unknown:
            raise _err(where, f"unknown key(s) {', '.join(sorted(unknown))}")
        name = item.get("name")
        if not isinstance(name, str):
            raise _err(f"{where}.name", f"expected a group name, got {name!r}")
        problem = group_name_problem(name)
        if problem:
            raise _err(f"{where}.name", problem)
        parent = item.get("parent")
        if parent is not None:
            problem = group_name_problem(parent) if isinstance(parent, str) else f"expected a group name, got {parent!r}"
            if problem:
                raise _err(f"{where}.parent", problem)
        state = item.get("state") or "present"
        if state not in ("present", "absent"):
            raise _err(f"{where}.state", f"{state!r} is not present or absent")
        description = item.get("description")
        if description is not None and not isinstance(description, str):
            raise _err(f"{where}.description", "expected a string")
        items.append(item)
    paths = _resolve_paths(items, existing or {})
    groups: list[GroupSpec] = []
    for index, item in enumerate(items):
        where = f"policy_groups[{index}]"
        groups.append(
            GroupSpec(
                name=item["name"],
                path=paths[item["name"]],
                parent=item.get("parent"),
                state=item.get("state") or "present",
                description=item.get("description"),
                policies=_policies(item, where),
                members=_members(item.get("members"), f"{where}.members"),
            )
        )
    by_name = {g.name: g for g in groups}
    for index, group in enumerate(groups):
        if group.present and group.parent in by_name and not by_name[group.parent].present:
            raise _err(f"policy_groups[{index}].parent", f"parent {group.parent!r} has state absent")
    _check_tier_references(groups, tiers)
    return HostPolicy(groups=tuple(sorted(groups, key=lambda g: (g.depth, g.path))), tiers=tiers)


def _check_tier_references(groups: list[GroupSpec], tiers: tuple[TierSpec, ...] | None) -> None:
    if tiers is None:
        return
    defined = {t.name for t in tiers}
    for group in groups:
        value = group.policies["swap_tiers"]
        if not group.present or value in (INHERIT, "none"):
            continue
        for name in value.split():
            if name not in defined:
                raise ModelError(f"group {group.name!r}: swap tier {name!r} is not in policy_swap_tiers")
