# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tree the groups of a fleet document form: duplicate names, parents, cycles and paths (private).

One answer for every caller: fleet validation and the render filter on the controller, the engine's model on the
host. What counts as a problem, the item it is reported at and its words are decided here; each caller only
reports the problems in its own form (validation errors, render errors, a module failure).

- A name given twice: reported at the later item; the first one is the group.
- A parent that is the group itself, that names no group of the document (nor, on a host, an existing group), or
  that is absent while the group is present. An absent group is removed by name wherever it is, so its parent
  may be unknown.
- A cycle of parents: reported once, at the first of its groups in the document.
- Paths: ``parent/child`` from the top, resolved iteratively (a chain of any depth, in any order), for every
  group whose chain ends at the top or at an existing group; ``order`` lists them parents first.

Items that are no mapping, names that are no string and parents that are neither a string nor null are reported
too (``field`` says which), for callers without the JSON schema; the schema reports them in its own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

DUPLICATE = "duplicate"
NAME_TYPE = "name_type"
PARENT_TYPE = "parent_type"
SELF_PARENT = "self_parent"
UNKNOWN_PARENT = "unknown_parent"
ABSENT_PARENT = "absent_parent"
CYCLE = "cycle"

# the kinds the JSON schema reports on its own
TYPE_KINDS = frozenset({NAME_TYPE, PARENT_TYPE})


@dataclass(frozen=True)
class Problem:
    kind: str
    index: int  # the item of policy_groups it is reported at
    field: str  # "name" or "parent"
    message: str

    @property
    def path(self) -> str:
        return f"policy_groups[{self.index}].{self.field}"


@dataclass
class Tree:
    paths: dict[str, str] = field(default_factory=dict)  # name -> path, for the groups that resolve
    order: list[str] = field(default_factory=list)  # those names, parents first
    problems: list[Problem] = field(default_factory=list)  # in document order


def _present(item: Mapping[str, Any]) -> bool:
    return (item.get("state") or "present") != "absent"


def resolve(groups: Any, existing: Mapping[str, str] | None = None) -> Tree:
    """The tree of ``groups`` (the ``policy_groups`` list). ``existing`` maps the names of groups already on a
    host to their paths: a parent the document does not define may be one of them (the engine's model, for the
    single-group module); ``None`` means the document stands alone (the fleet)."""
    tree = Tree()
    if not isinstance(groups, Sequence) or isinstance(groups, (str, bytes)):
        return tree
    by_name: dict[str, tuple[int, Mapping[str, Any]]] = {}
    problems: list[Problem] = []
    for index, item in enumerate(groups):
        if not isinstance(item, Mapping):
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name:
            problems.append(Problem(NAME_TYPE, index, "name", f"expected a group name, got {name!r}"))
        elif name in by_name:
            problems.append(Problem(DUPLICATE, index, "name", f"duplicate group name {name!r} (also "
                                    f"policy_groups[{by_name[name][0]}]); group names are unique fleet-wide"))
        else:
            by_name[name] = (index, item)
    known = dict(existing or {})
    parent_of: dict[str, str] = {}
    broken: set[str] = set()  # groups whose parent is in error: no path
    for name, (index, item) in by_name.items():
        parent = item.get("parent")
        if parent is None:
            continue
        if not isinstance(parent, str):
            problems.append(Problem(PARENT_TYPE, index, "parent", f"expected a group name, got {parent!r}"))
            broken.add(name)
        elif parent == name:
            problems.append(Problem(SELF_PARENT, index, "parent", "a group cannot be its own parent"))
            broken.add(name)
        elif parent in by_name:
            parent_item = by_name[parent]
            if _present(item) and not _present(parent_item[1]):
                problems.append(Problem(ABSENT_PARENT, index, "parent",
                                        f"parent {parent!r} has state: absent (policy_groups[{parent_item[0]}]) "
                                        "but this group is present; remove this group too, or keep its parent"))
            parent_of[name] = parent
        elif parent in known:
            parent_of[name] = parent
        elif _present(item):
            if existing is None:
                listed = ", ".join(sorted(by_name)) or "none"
                message = f"names {parent!r}, which is not a group in policy_groups (groups: {listed})"
            else:
                message = f"names {parent!r}, which is neither defined in policy_groups nor a group on the host"
            problems.append(Problem(UNKNOWN_PARENT, index, "parent", message))
            broken.add(name)
        # else: an absent group whose parent is unknown is removed by name; it resolves at the top
    _resolve_paths(tree, by_name, parent_of, known, broken, problems)
    tree.problems = sorted(problems, key=lambda p: (p.index, p.field != "name"))
    return tree


def _resolve_paths(tree: Tree, by_name: Mapping[str, tuple[int, Mapping[str, Any]]], parent_of: Mapping[str, str],
                   known: Mapping[str, str], broken: set[str], problems: list[Problem]) -> None:
    """Walk each group's chain up to the first resolved group (or the top, or an existing group), once; a chain
    that comes back to a group on it is a cycle, reported at the first of its groups in the document."""
    paths = tree.paths
    failed = set(broken)  # on a cycle or leading into one, or below a parent in error
    for name in by_name:
        chain: list[str] = []
        on_chain: set[str] = set()
        current = name
        base: str | None = ""
        while current not in paths:
            if current in failed:
                base = None
                break
            if current in on_chain:
                cycle = chain[chain.index(current):] + [current]
                first = min(cycle[:-1], key=lambda n: by_name[n][0])
                start = cycle[:-1].index(first)
                ordered = cycle[start:-1] + cycle[:start] + [first]
                problems.append(Problem(CYCLE, by_name[first][0], "parent", f"parent cycle: {' -> '.join(ordered)}"))
                base = None
                break
            chain.append(current)
            on_chain.add(current)
            parent = parent_of.get(current)
            if parent is None:
                break
            if parent not in by_name:  # an existing group on the host
                base = known[parent]
                break
            current = parent
        else:
            base = paths[current]
        if base is None:
            failed.update(chain)
            continue
        for member in reversed(chain):
            base = f"{base}/{member}" if base else member
            paths[member] = base
            tree.order.append(member)
