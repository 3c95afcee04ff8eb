# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning: desired HostPolicy + actual HostState -> ordered list of Operations (stdlib only, pure).

Order (each step only ever needs what earlier steps made):
  1. tier definitions: additions and changes (tiers still named by groups are kept for now)
  2. create groups, parents first, each followed by its non-inherit policies
  3. policy changes on existing groups
  4. unbind cgroups that must go (before binding them elsewhere: a cgroup has one group)
  5. bind cgroups
  6. join PIDs
  7. remove groups, children first: members moved out (to the root, or to the group's new path when its parent
     changed), then rmdir
  8. tier definitions: removal of tiers that groups named until step 3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ._errors import PlanError, UnsupportedError
from ._model import INHERIT, POLICY_KEYS, GroupSpec, HostPolicy, TierSpec, parse_nodelist
from ._state import GroupState, HostState
from ._swaptiers import same_table

OPS = ("set_tiers", "create_group", "set_policy", "unbind", "bind", "join_pid", "move_members", "remove_group")
ROOT = ""


@dataclass(frozen=True)
class Operation:
    """One change. ``group`` is a group path (None for host-wide tier definitions)."""

    op: str
    group: str | None = None
    key: str | None = None
    before: Any = None
    after: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "group": self.group, "key": self.key, "before": _plain(self.before), "after": _plain(self.after)}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, TierSpec):
        return value.to_dict()
    return value


def swap_names(value: str) -> frozenset[str]:
    """Tier names in a swap_tiers value (empty for ``inherit``/``none``)."""
    if value in (INHERIT, "none"):
        return frozenset()
    return frozenset(value.replace(",", " ").split())


def same_value(key: str, a: str, b: str) -> bool:
    if key == "swap_tiers" and a not in (INHERIT, "none") and b not in (INHERIT, "none"):
        return swap_names(a) == swap_names(b)
    return a == b


def canonical_swap(value: str, tiers: Iterable[TierSpec] | None) -> str:
    """Tier names as the kernel prints them: highest tier first, one space apart."""
    if value in (INHERIT, "none"):
        return value
    order = {t.name: -t.start_priority for t in tiers or ()}
    return " ".join(sorted(swap_names(value), key=lambda n: (order.get(n, 1 << 20), n)))


def plan(desired: HostPolicy, actual: HostState, purge: bool = False) -> list[Operation]:
    """Operations taking ``actual`` to ``desired``. Raises before any write if that is impossible or unsafe.

    ``desired`` must have its systemd units resolved into cgroups (see ``_members.resolve_members``).
    Groups on the host that ``desired`` does not name are left alone unless ``purge``; a group named in
    ``desired`` whose path differs on the host (its parent changed) is moved: created at the new path, its
    members moved there, the old one removed.
    """
    present = {g.path: g for g in desired.groups if g.present}
    final_tiers = desired.tiers if desired.tiers is not None else actual.tiers
    _check_supported(present.values(), actual, final_tiers)
    removals = _removals(desired, actual, present, purge)
    untouched = [g for p, g in actual.groups.items() if p not in present and p not in removals]
    _check_bindings(present, untouched)
    batch_a, batch_b = _tier_batches(desired, actual, untouched)

    ops: list[Operation] = []
    if batch_a is not None:
        ops.append(batch_a)
    for path, group in sorted(present.items(), key=lambda kv: (kv[1].depth, kv[0])):
        if path not in actual.groups:
            ops.append(Operation("create_group", path))
            ops.extend(_policy_ops(group, None, actual, final_tiers))
    for path, group in sorted(present.items()):
        if path in actual.groups:
            ops.extend(_policy_ops(group, actual.groups[path], actual, final_tiers))
    ops.extend(_unbind_ops(present, removals, actual))
    for path, group in sorted(present.items()):
        have = set(actual.groups[path].bindings) if path in actual.groups else set()
        ops.extend(Operation("bind", path, "bind", None, cg) for cg in group.members.cgroups if cg not in have)
    for path, group in sorted(present.items()):
        have_pids = set(actual.groups[path].pids) if path in actual.groups else set()
        ops.extend(Operation("join_pid", path, "cgroup.procs", None, pid) for pid in group.members.pids if pid not in have_pids)
    for path in sorted(removals, key=lambda p: (-p.count("/"), p)):
        group_state = actual.groups[path]
        if group_state.pids:
            ops.append(Operation("move_members", path, "cgroup.procs", group_state.pids, removals[path]))
        ops.append(Operation("remove_group", path))
    if batch_b is not None:
        ops.append(batch_b)
    return ops


def _check_supported(groups: Iterable[GroupSpec], actual: HostState, tiers: tuple[TierSpec, ...] | None) -> None:
    features = set(actual.capabilities.features)
    listed = " ".join(actual.capabilities.features) or "(empty)"
    defined = {t.name for t in tiers or ()}
    for group in groups:
        for key in POLICY_KEYS:
            value = group.policies.get(key, INHERIT)
            if value == INHERIT:
                continue
            if key not in features:
                raise UnsupportedError(
                    f"group {group.path!r}: policy {key!r} is not supported by this kernel (policy.features: {listed})"
                )
            if key == "swap_tiers":
                missing = sorted(swap_names(value) - defined)
                if missing:
                    raise PlanError(
                        f"group {group.path!r}: swap tier(s) {', '.join(missing)} are not defined on this host "
                        f"(defined: {', '.join(sorted(defined)) or 'none'})"
                    )
            if key == "numa" and ":" in value and actual.online_nodes is not None:
                offline = sorted(set(parse_nodelist(value.partition(":")[2])) - set(actual.online_nodes))
                if offline:
                    raise PlanError(
                        f"group {group.path!r}: NUMA node(s) {', '.join(map(str, offline))} are not online "
                        f"(online: {','.join(map(str, actual.online_nodes))})"
                    )
        if group.members.cgroups and "bind" not in features:
            raise UnsupportedError(
                f"group {group.path!r}: cgroup members need the 'bind' feature, which this kernel lacks "
                f"(policy.features: {listed})"
            )


def _check_bindings(present: Mapping[str, GroupSpec], untouched: Iterable[GroupState]) -> None:
    """A cgroup is bound to one group: refuse to take it from a group this run does not manage."""
    owner = {cgroup: group.path for group in untouched for cgroup in group.bindings}
    for path, group in sorted(present.items()):
        for cgroup in group.members.cgroups:
            if cgroup in owner:
                raise PlanError(
                    f"group {path!r}: cgroup {cgroup} is bound to group {owner[cgroup]!r}, which this run does not "
                    "manage (list that group too, or use purge)"
                )


def _removals(desired: HostPolicy, actual: HostState, present: Mapping[str, GroupSpec], purge: bool) -> dict[str, str]:
    """Host paths to remove -> where their member processes go (ROOT or the group's new path)."""
    new_path = {g.name: p for p, g in present.items()}
    absent = {g.name for g in desired.groups if not g.present}
    removals: dict[str, str] = {}
    for path, group in actual.groups.items():
        if path in present:
            continue
        if group.name in new_path:
            removals[path] = new_path[group.name]
        elif purge or group.name in absent:
            removals[path] = ROOT
    # Descendants of a removed group go too. Every descendant added here has an ancestor removed above, so it is
    # enough to look up a group's own ancestors (as many as its depth) among those: linear in the groups, where
    # testing every removal against every group was quadratic (10,000 purged groups took over a minute).
    order = {path: index for index, path in enumerate(removals)}
    for path, group in actual.groups.items():
        if path in removals:
            continue
        ancestor = _first_removed_ancestor(path, order)
        if ancestor is None:
            continue
        if path in present:
            raise PlanError(
                f"group {path!r} is in the document but its ancestor {ancestor!r} is to be removed "
                "(a parent that is not in the document is removed by purge)"
            )
        removals[path] = new_path.get(group.name, ROOT)
    return removals


def _first_removed_ancestor(path: str, order: Mapping[str, int]) -> str | None:
    """Of the ancestors of ``path`` that are in ``order`` (paths to remove, by when they were chosen), the one
    chosen first; None when no ancestor is removed."""
    found: str | None = None
    ancestor = path.rpartition("/")[0]
    while ancestor:
        if ancestor in order and (found is None or order[ancestor] < order[found]):
            found = ancestor
        ancestor = ancestor.rpartition("/")[0]
    return found


def _policy_ops(group: GroupSpec, have: GroupState | None, actual: HostState, tiers: tuple[TierSpec, ...] | None) -> list[Operation]:
    ops: list[Operation] = []
    features = set(actual.capabilities.features)
    for key in POLICY_KEYS:
        if key not in features:
            continue
        want = group.policies.get(key, INHERIT)
        current = have.policies.get(key, INHERIT) if have is not None else INHERIT
        if not same_value(key, current, want):
            if key == "swap_tiers":
                want = canonical_swap(want, tiers)
            ops.append(Operation("set_policy", group.path, key, current, want))
    return ops


def _unbind_ops(present: Mapping[str, GroupSpec], removals: Mapping[str, str], actual: HostState) -> list[Operation]:
    ops: list[Operation] = []
    for path in sorted(actual.groups):
        have = actual.groups[path].bindings
        if path in present:
            keep = set(present[path].members.cgroups)
            ops.extend(Operation("unbind", path, "bind", cg, None) for cg in have if cg not in keep)
        elif path in removals:
            ops.extend(Operation("unbind", path, "bind", cg, None) for cg in have)
    return ops


def _tier_batches(desired: HostPolicy, actual: HostState, untouched: list[GroupState]) -> tuple[Operation | None, Operation | None]:
    if desired.tiers is None:
        return None, None
    if actual.tiers is None:
        raise UnsupportedError("swap tiers are not supported by this kernel (no /sys/kernel/mm/swap/tiers)")
    if same_table(actual.tiers, desired.tiers):
        return None, None
    wanted = {t.name for t in desired.tiers}
    removed = {t.name for t in actual.tiers} - wanted
    still_named: dict[str, list[str]] = {}
    for group in untouched:
        for name in swap_names(group.policies.get("swap_tiers", INHERIT)) & removed:
            still_named.setdefault(name, []).append(group.path)
    if still_named:
        name = sorted(still_named)[0]
        raise PlanError(
            f"swap tier {name!r} cannot be removed: group(s) {', '.join(still_named[name])} still name it "
            "in policy.swap.tiers and are not managed by this run"
        )
    named_now: set[str] = set()
    for group in actual.groups.values():
        named_now |= swap_names(group.policies.get("swap_tiers", INHERIT))
    keep = [t for t in actual.tiers if t.name in removed & named_now]
    prios = {t.start_priority: t.name for t in desired.tiers}
    for tier in keep:
        if tier.start_priority in prios:
            raise PlanError(
                f"swap tier {tier.name!r} is still named by groups on this host and its start priority "
                f"{tier.start_priority} is taken by new tier {prios[tier.start_priority]!r}: first add the new tier "
                "at another priority and move the groups to it, then remove the old one"
            )
    intermediate = list(desired.tiers) + keep
    if intermediate and all(t.start_priority != -1 for t in intermediate):
        intermediate += [t for t in actual.tiers if t.start_priority == -1]
    ordered = tuple(sorted(intermediate, key=lambda t: -t.start_priority))
    batch_a = None if same_table(actual.tiers, ordered) else Operation("set_tiers", None, "tiers", actual.tiers, ordered)
    batch_b = None if same_table(ordered, desired.tiers) else Operation("set_tiers", None, "tiers", ordered, desired.tiers)
    return batch_a, batch_b
