# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet document on a mainline kernel: policy values to systemd unit properties, and what cannot be
expressed there (stdlib only, pure).

systemd has no policy hierarchy, so every group is rendered first: an ``inherit`` value takes its parent
group's rendered value. Each rendered value becomes unit properties of the group's ``systemd_units``. What
mainline cannot express is returned as ``Unsupported`` findings, one per group and policy; nothing is ever
approximated (the caller decides whether a finding fails the run or is left out with a warning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .._engine._errors import PlanError
from .._engine._model import INHERIT, POLICY_KEYS, GroupSpec, HostPolicy


@dataclass(frozen=True)
class PolicyMapping:
    """How one policy maps: the unit properties it sets, whether they act on the cgroup (live, via
    ``set-property --runtime``) or on processes systemd starts (``exec``: from the next start), and the cgroup
    file the kernel must offer for it (None for exec-level properties). A policy with no mainline equivalent has
    no properties and the level ``none``: every host reports it unsupported (ALWAYS_UNSUPPORTED)."""

    key: str
    properties: tuple[str, ...]
    level: str
    kernel_file: str | None = None


MAPPINGS: dict[str, PolicyMapping] = {
    "oom_score_adj": PolicyMapping("oom_score_adj", ("OOMScoreAdjust",), "exec"),
    "ksm": PolicyMapping("ksm", ("MemoryKSM",), "exec"),
    "thp": PolicyMapping("thp", ("MemoryTHP",), "exec"),
    "numa": PolicyMapping("numa", ("NUMAPolicy", "NUMAMask"), "exec"),
    "zswap_writeback": PolicyMapping("zswap_writeback", ("MemoryZSwapWriteback",), "cgroup", "memory.zswap.writeback"),
    "swap_tiers": PolicyMapping("swap_tiers", ("MemorySwapMax",), "cgroup", "memory.swap.max"),
    "mem_priority": PolicyMapping("mem_priority", (), "none"),
}
ALL_PROPERTIES: tuple[str, ...] = tuple(p for m in MAPPINGS.values() for p in m.properties)
CGROUP_PROPERTIES: frozenset[str] = frozenset(p for m in MAPPINGS.values() if m.level == "cgroup" for p in m.properties)
# Unit types whose units run processes with an execution environment (systemd.exec(5)); slices and scopes
# take resource-control properties only.
EXEC_UNIT_TYPES = ("service", "socket", "mount", "swap")
CGROUP_UNIT_TYPES = EXEC_UNIT_TYPES + ("slice", "scope")
# Values where a child's own setting is looser than a restrictive parent; the kernel enforces the parent's
# value on every cgroup below it, so such a child is not what the document says once the cgroups nest.
RESTRICTIVE = {"zswap_writeback": "0", "swap_tiers": "none"}
THP_VALUES = {"never": "disable", "madvise": "madvise"}
# What no mainline host can express, whatever its systemd and kernel (policy_groups_info reports these).
ALWAYS_UNSUPPORTED = {
    "swap_tiers.tiers": "swap tier selection does not exist in mainline kernels; only swap: {enabled: false} maps (MemorySwapMax=0)",
    "members.pids": "processes by PID cannot be members: unit properties apply to what systemd starts",
    "members.cgroups": "cgroup paths cannot be members: nothing binds a cgroup to a policy on a mainline kernel",
    "mem_priority": (
        "no mainline equivalent: a mainline kernel cannot order reclaim across cgroups by class; MemoryLow= "
        "(memory.low) protects an amount of memory inside one subtree of the cgroup hierarchy, which is not the "
        "same, so nothing is set"),
}
BOOL_VALUES = {"1": "yes", "0": "no"}


@dataclass(frozen=True)
class Unsupported:
    """One thing the document asks of a group that this host cannot express."""

    group: str
    policy: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "policy": self.policy, "reason": self.reason}

    def __str__(self) -> str:
        return f"group {self.group!r}: {self.policy}: {self.reason}"


def unit_type(unit: str) -> str:
    return unit.rpartition(".")[2]


def section_of(unit: str) -> str:
    """The unit-file section that holds resource-control and exec settings for ``unit``."""
    return unit_type(unit).capitalize()


def properties_of(key: str, value: str) -> dict[str, str] | None:
    """Unit properties for one rendered policy value; None when mainline cannot express the value."""
    if key == "oom_score_adj":
        return {"OOMScoreAdjust": value}
    if key in ("ksm", "zswap_writeback"):
        return {MAPPINGS[key].properties[0]: BOOL_VALUES[value]}
    if key == "thp":
        return {"MemoryTHP": THP_VALUES[value]} if value in THP_VALUES else None
    if key == "swap_tiers":
        return {"MemorySwapMax": "0"} if value == "none" else None
    if key == "numa":
        mode, _sep, nodes = value.partition(":")
        return {"NUMAPolicy": mode, "NUMAMask": nodes} if nodes else {"NUMAPolicy": mode}
    if key in MAPPINGS and not MAPPINGS[key].properties:
        return None
    raise PlanError(f"unknown policy {key!r}")


def rendered_values(desired: HostPolicy) -> dict[str, dict[str, str]]:
    """Group path -> every policy's value with ``inherit`` replaced by the parent's rendered value."""
    present = sorted((g for g in desired.groups if g.present), key=lambda g: (g.depth, g.path))
    result: dict[str, dict[str, str]] = {}
    for group in present:
        parent = group.path.rpartition("/")[0]
        if parent and parent not in result:
            raise PlanError(
                f"group {group.path!r}: its parent {parent!r} must be in the same document: with the systemd "
                "backend the host keeps no group hierarchy, so inherited values are resolved from the document"
            )
        inherited = result.get(parent, dict.fromkeys(POLICY_KEYS, INHERIT))
        own = group.policies
        result[group.path] = {k: own.get(k, INHERIT) if own.get(k, INHERIT) != INHERIT else inherited[k] for k in POLICY_KEYS}
    return result


def _value_reason(key: str, value: str) -> str | None:
    if key in ALWAYS_UNSUPPORTED:
        return ALWAYS_UNSUPPORTED[key]
    if key == "swap_tiers" and value != "none":
        return (
            f"swap tier selection ({value}) does not exist in mainline kernels: memory.swap.max "
            "(MemorySwapMax=) limits how much a cgroup swaps, not to which devices; only swap: {enabled: false} maps"
        )
    if key == "thp" and value not in THP_VALUES:
        return f"thp {value} cannot be expressed: MemoryTHP= can only restrict THP (never -> disable, madvise -> madvise)"
    return None


def findings(desired: HostPolicy, support: Mapping[str, str | None]) -> list[Unsupported]:
    """Everything the document asks that this host cannot express. ``support`` maps each policy key to None
    (this host can) or the reason it cannot (systemd lacks the property, the kernel lacks the file)."""
    rendered = rendered_values(desired)
    found: list[Unsupported] = []
    for group in sorted((g for g in desired.groups if g.present), key=lambda g: g.path):
        found.extend(_group_findings(group, rendered, support))
    return found


def _group_findings(group: GroupSpec, rendered: Mapping[str, Mapping[str, str]], support: Mapping[str, str | None]) -> list[Unsupported]:
    found: list[Unsupported] = []
    path = group.path
    if group.members.pids:
        found.append(Unsupported(path, "members.pids", (
            "processes by PID cannot be members on a mainline kernel: unit properties apply to what systemd starts; "
            "run them as a systemd unit (systemd-run) and list it in systemd_units")))
    if group.members.cgroups:
        found.append(Unsupported(path, "members.cgroups", (
            "cgroup paths cannot be members on a mainline kernel: nothing binds a cgroup to a policy; "
            "list the unit that owns the cgroup in systemd_units")))
    parent = path.rpartition("/")[0]
    for key in POLICY_KEYS:
        own = group.policies.get(key, INHERIT)
        if own == INHERIT:
            continue
        reason = support.get(key) or _value_reason(key, own)
        if reason:
            found.append(Unsupported(path, key, reason))
            continue
        strict = RESTRICTIVE.get(key)
        if strict is not None and parent and rendered[parent][key] == strict and own != strict:
            kernel_file = MAPPINGS[key].kernel_file
            found.append(Unsupported(path, key, (
                f"looser than its parent {parent!r} ({rendered[parent][key]}): {kernel_file} is hierarchical in the "
                "kernel, a restrictive ancestor cgroup wins, so a looser child cannot be promised")))
    for key in POLICY_KEYS:
        if MAPPINGS[key].level != "exec" or rendered[path][key] == INHERIT:
            continue
        for unit in group.members.systemd_units:
            if unit_type(unit) in CGROUP_UNIT_TYPES and unit_type(unit) not in EXEC_UNIT_TYPES:
                found.append(Unsupported(path, "members.systemd_units", (
                    f"{key}: {'/'.join(MAPPINGS[key].properties)}= acts on processes systemd starts; unit {unit} is a "
                    f"{unit_type(unit)}, which starts none (list its services instead)")))
    for unit in group.members.systemd_units:
        if unit_type(unit) not in CGROUP_UNIT_TYPES:
            found.append(Unsupported(path, "members.systemd_units", f"unit {unit} has no cgroup of its own"))
    return found


def unit_properties(desired: HostPolicy, left_out: frozenset[tuple[str, str]] = frozenset()) -> dict[tuple[str, str], dict[str, str]]:
    """``(unit, group path) -> {property: value}`` for every unit of every present group, from the rendered
    values, leaving out ``(group, policy)`` pairs in ``left_out`` (findings the caller chose to skip).

    A unit listed by two groups is an error: its properties would depend on the order of drop-ins."""
    rendered = rendered_values(desired)
    owner: dict[str, str] = {}
    result: dict[tuple[str, str], dict[str, str]] = {}
    for group in sorted((g for g in desired.groups if g.present), key=lambda g: g.path):
        for unit in group.members.systemd_units:
            if unit in owner:
                raise PlanError(f"systemd unit {unit} is a member of both {owner[unit]!r} and {group.path!r}")
            owner[unit] = group.path
            props: dict[str, str] = {}
            for key in POLICY_KEYS:
                value = rendered[group.path][key]
                if value == INHERIT or (group.path, key) in left_out:
                    continue
                if MAPPINGS[key].level == "exec" and unit_type(unit) not in EXEC_UNIT_TYPES:
                    continue
                mapped = properties_of(key, value)
                if mapped is not None:
                    props.update(mapped)
            result[(unit, group.path)] = props
    return result


def left_out_of(found: list[Unsupported], desired: HostPolicy) -> frozenset[tuple[str, str]]:
    """``(group, policy)`` pairs to leave out when findings only warn: a finding's own group and every
    descendant that inherits the value from it."""
    pairs = {(f.group, f.policy) for f in found if f.policy in POLICY_KEYS}
    for group in sorted((g for g in desired.groups if g.present), key=lambda g: (g.depth, g.path)):
        parent = group.path.rpartition("/")[0]
        for key in POLICY_KEYS:
            if (parent, key) in pairs and group.policies.get(key, INHERIT) == INHERIT:
                pairs.add((group.path, key))
    return frozenset(pairs)
