# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules of a fleet document that a JSON Schema cannot express.

Standard library only. Every rule tolerates a document that also has schema errors: it looks only at the
parts that have the right shape, so the schema and the rules never report the same problem twice.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List

from ansible_collections.policygroups.core.plugins.module_utils._engine import _hierarchy
from ansible_collections.policygroups.core.plugins.module_utils._engine._names import node_list_problem
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validation_error import (
    ValidationError,
    render_path,
)

DEFAULT_NR_SWAP_TIERS = 4
LOWEST_PRIORITY = -1

Doc = Dict[str, Any]
Rule = Callable[[Doc, int], Iterator[ValidationError]]


def _items(doc: Doc, key: str) -> list[tuple[int, Doc]]:
    """``(index, item)`` for the mapping items of the list ``doc[key]``; anything else is the schema's job."""
    value = doc.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _err(path: List[Any], message: str) -> ValidationError:
    return ValidationError(render_path(path), message)


def _present(group: Doc) -> bool:
    return bool(group.get("state", "present") != "absent")


def unique_tiers(doc: Doc, nr_swap_tiers: int) -> Iterator[ValidationError]:
    """Tier names and start priorities are unique."""
    names: dict[str, int] = {}
    starts: dict[int, int] = {}
    for index, tier in _items(doc, "policy_swap_tiers"):
        name = _str(tier.get("name"))
        if name is not None:
            if name in names:
                yield _err(["policy_swap_tiers", index, "name"], "duplicate tier name %r (also policy_swap_tiers[%d])"
                           % (name, names[name]))
            else:
                names[name] = index
        start = tier.get("start_priority")
        if isinstance(start, int) and not isinstance(start, bool):
            if start in starts:
                yield _err(["policy_swap_tiers", index, "start_priority"],
                           "duplicate start priority %d (also policy_swap_tiers[%d]); each tier starts at its own "
                           "priority" % (start, starts[start]))
            else:
                starts[start] = index


def tier_layout(doc: Doc, nr_swap_tiers: int) -> Iterator[ValidationError]:
    """At most ``nr_swap_tiers`` tiers, and the lowest starts at -1 so that the tiers cover -1..32767."""
    tiers = _items(doc, "policy_swap_tiers")
    if len(tiers) > nr_swap_tiers:
        yield _err(["policy_swap_tiers"], "defines %d tiers; the kernel allows at most %d (nr_swap_tiers, the "
                   "kernel's CONFIG_NR_SWAP_TIERS)" % (len(tiers), nr_swap_tiers))
    starts: list[int] = [tier["start_priority"] for _index, tier in tiers
                         if isinstance(tier.get("start_priority"), int)
                         and not isinstance(tier.get("start_priority"), bool)]
    if starts and len(starts) == len(tiers) and LOWEST_PRIORITY not in starts:
        yield _err(["policy_swap_tiers"], "no tier starts at -1: the tiers must cover swap priorities -1..32767, so "
                   "the lowest tier needs start_priority: -1 (the lowest now starts at %d)" % min(starts))


def group_tree(doc: Doc, nr_swap_tiers: int) -> Iterator[ValidationError]:
    """Group names are unique fleet-wide; a parent is a group of the document, not the group itself, and not absent
    while the group is present; parents form no cycle (each reported once, at its first group). The tree is the
    one the render filter and the engine's model resolve (``_hierarchy``); type errors are the schema's."""
    for problem in _hierarchy.resolve(doc.get("policy_groups")).problems:
        if problem.kind not in _hierarchy.TYPE_KINDS:
            yield _err(["policy_groups", problem.index, problem.field], problem.message)


def swap_tier_references(doc: Doc, nr_swap_tiers: int) -> Iterator[ValidationError]:
    """Tiers a group allows are defined in policy_swap_tiers, and a group names at most nr_swap_tiers."""
    defined = [_str(tier.get("name")) for _index, tier in _items(doc, "policy_swap_tiers")]
    defined_names = sorted({n for n in defined if n is not None})
    for index, group in _items(doc, "policy_groups"):
        swap = group.get("swap")
        if not isinstance(swap, dict) or not isinstance(swap.get("tiers"), list):
            continue
        tiers = swap["tiers"]
        path = ["policy_groups", index, "swap", "tiers"]
        if len(tiers) > nr_swap_tiers:
            yield _err(path, "names %d tiers; at most %d tiers exist (nr_swap_tiers)" % (len(tiers), nr_swap_tiers))
        for position, tier in enumerate(tiers):
            if isinstance(tier, str) and tier not in defined_names:
                yield _err(path + [position], "tier %r is not defined in policy_swap_tiers (defined: %s)"
                           % (tier, ", ".join(defined_names) or "none"))


def numa_nodes(doc: Doc, nr_swap_tiers: int) -> Iterator[ValidationError]:
    """Node ranges ascend (the pattern in the schema checks the syntax)."""
    for index, group in _items(doc, "policy_groups"):
        numa = group.get("numa")
        nodes = numa.get("nodes") if isinstance(numa, dict) else None
        if isinstance(nodes, str):
            problem = node_list_problem(nodes)
            # Syntax problems come from the schema pattern; only a descending range is left for this rule.
            if problem and problem.startswith("range "):
                yield _err(["policy_groups", index, "numa", "nodes"], problem)


def exclusive_members(doc: Doc, nr_swap_tiers: int) -> Iterator[ValidationError]:
    """A cgroup, a unit or a PID belongs to at most one present group."""
    for kind, what in (("cgroups", "cgroup"), ("systemd_units", "unit"), ("pids", "process")):
        owner: dict[Any, tuple[str, List[Any]]] = {}
        for index, group in _items(doc, "policy_groups"):
            members = group.get("members")
            if not _present(group) or not isinstance(members, dict) or not isinstance(members.get(kind), list):
                continue
            name = _str(group.get("name")) or "policy_groups[%d]" % index
            for position, member in enumerate(members[kind]):
                if isinstance(member, bool) or not isinstance(member, (str, int)):
                    continue
                path = ["policy_groups", index, "members", kind, position]
                if member in owner and owner[member][0] != name:
                    yield _err(path, "%s %r is also a member of group %r (%s); it can belong to one group only"
                               % (what, member, owner[member][0], render_path(owner[member][1])))
                elif member not in owner:
                    owner[member] = (name, path)


RULES: tuple[Rule, ...] = (
    unique_tiers,
    tier_layout,
    group_tree,
    swap_tier_references,
    numa_nodes,
    exclusive_members,
)


def semantic_errors(doc: Any, nr_swap_tiers: int = DEFAULT_NR_SWAP_TIERS) -> list[ValidationError]:
    """Every rule violation in ``doc``; a document that is not a mapping is left to the schema."""
    if not isinstance(doc, dict):
        return []
    out: list[ValidationError] = []
    for rule in RULES:
        out.extend(rule(doc, nr_swap_tiers))
    return out
