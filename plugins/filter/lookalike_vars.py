# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``policygroups.core.lookalike_vars``: variables that look like the collection's but are not.

A misspelt inventory variable (``policy_group:`` for ``policy_groups:``, ``policy_swap_tier:``, a layer named
``policy_group__web``, a setting ``policy_groups_purgee``) is silently unused: the document it was meant for is
then absent. Given the names of a host's variables, return each one that is not a name of the collection but
resembles one, with the name it resembles. Pure: no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from ansible_collections.policygroups.core.plugins.module_utils._fleet._fleet_input import LAYER_PREFIX, SELECT_PREFIX

# The fleet document's variables; layers are policy_groups__<layer>.
DOCUMENT_VARS = ("policy_groups", "policy_swap_tiers")
# Names the collection's roles and playbooks own: role settings and results (policy_groups_*), the kernel
# role's variables (policy_kernel_*).
OWN_PREFIXES = ("policy_groups_", "policy_kernel_")
CUTOFF = 0.8


def _like(name: str, candidates: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=CUTOFF)
    return match[0] if match else None


def _found(name: str, like: str) -> dict[str, str]:
    return {"name": name, "like": like, "message": f"{name}: did you mean {like}?"}


def _selection_like(name: str) -> str | None:
    """The selection variable a name without the double underscore means (``policy_groups_select_web``,
    ``policy_group_select_web``, a bare ``policy_groups_select``), or None."""
    if "__" in name:
        return None
    head, sep, tail = name.rpartition("_sel")
    if not sep or not _like(head, ["policy_groups"]):
        return None
    word, _sep, rest = f"sel{tail}".partition("_")
    if not _like(word, ["select"]):
        return None
    return SELECT_PREFIX + (rest or "<name>")


def lookalike_vars(
    varnames: Iterable[Any], settings: Iterable[Any] = (), ignore: Iterable[Any] = ()
) -> list[dict[str, str]]:
    """``[{name, like, message}]`` for each of ``varnames`` that resembles one of the collection's variables (the fleet
    document's, a layer, or one of ``settings``, the known ``policy_groups_*``/``policy_kernel_*`` names) without
    being one. Names in ``ignore`` are left alone. Sorted by name."""
    known_settings = sorted({str(s) for s in settings})
    skip = {str(i) for i in ignore}
    found: list[dict[str, str]] = []
    for name in sorted({str(v) for v in varnames}):
        if name in skip or name in DOCUMENT_VARS or name in known_settings:
            continue
        if name.startswith(SELECT_PREFIX) and len(name) > len(SELECT_PREFIX):
            continue
        if name.startswith(LAYER_PREFIX) and len(name) > len(LAYER_PREFIX):
            rest = name[len(LAYER_PREFIX):]
            if _like(rest.partition("__")[0], ["select"]) and "__" in rest:
                # policy_groups__select__web: a layer by its name, a selection by intent
                found.append(_found(name, SELECT_PREFIX + rest.partition("__")[2]))
            continue
        like: str | None = _selection_like(name)
        head, sep, tail = name.partition("__")
        if like is not None:
            pass
        elif sep and tail:
            # a layer's or a selection's name with its prefix misspelt: policy_group__web, policy_grups__db,
            # policy_group_select__web, policy_groups_selct__db
            near = _like(head, ["policy_groups", SELECT_PREFIX[:-2]])
            like = (LAYER_PREFIX if near == "policy_groups" else SELECT_PREFIX) + tail if near else None
        elif name.startswith(OWN_PREFIXES):
            # the collection's namespace: only a near miss of a known setting (after the shared prefix) is suspect
            prefix = next(p for p in OWN_PREFIXES if name.startswith(p))
            same_prefix = {s[len(prefix):]: s for s in known_settings if s.startswith(prefix)}
            near = _like(name[len(prefix):], same_prefix)
            like = same_prefix[near] if near is not None else None
        else:
            like = _like(name, DOCUMENT_VARS)
        if like is not None:
            found.append(_found(name, like))
    return found


class FilterModule:
    """policygroups.core.lookalike_vars"""

    def filters(self) -> dict[str, Any]:
        return {"lookalike_vars": lookalike_vars}
