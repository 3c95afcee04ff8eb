# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``policygroups.core.render``: one host's concrete policy from the fleet document and host facts.

Pure: no I/O, no Ansible state. The documentation lives in ``render.yml`` next to this file.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Union

# plain: re-exported for the drift_report and health_findings filters, which take Ansible's values the same way.
from ansible_collections.policygroups.core.plugins.module_utils._engine import _hierarchy
from ansible_collections.policygroups.core.plugins.module_utils._fleet._fleet_input import fleet_document, plain as plain

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without ansible-core (e.g. a bare interpreter)
    AnsibleFilterError = ValueError  # type: ignore[assignment,misc,unused-ignore]

# The systemd backend's own account of what a mainline host can express (the module's planner uses the same).
from ansible_collections.policygroups.core.plugins.module_utils._systemd._mainline_map import (
    ALWAYS_UNSUPPORTED as MAINLINE_NEVER,
    MAPPINGS as MAINLINE_MAPPINGS,
    findings as mainline_findings,
)
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import POLICY_KEYS, normalize

try:
    from ansible.utils.display import Display
except ImportError:  # pragma: no cover - only without ansible-core
    Display = None  # type: ignore[assignment,misc,unused-ignore]


def _deprecated(msg: str) -> None:
    if Display is not None:
        Display().deprecated(msg, version="1.0.0", collection_name="policygroups.core")


# Optional: the collection's full validator (JSON Schema + semantic rules). When it is importable, every
# merged host document goes through it; the structural checks below count when it is not (or finds nothing),
# because rendering itself depends on them (unique names, known parents, no cycles).
from ansible_collections.policygroups.core.plugins.module_utils._fleet._fleet_rules import DEFAULT_NR_SWAP_TIERS

try:
    from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import validate_fleet
except ImportError:  # pragma: no cover - exercised when the validator or jsonschema is missing
    validate_fleet = None  # type: ignore[assignment]

SUPPORTED_ABI_VERSIONS = (1,)

# Model key -> (kernel feature in policy.features, policy name in the kernel view).
POLICY_FEATURES: dict[str, str] = {
    "thp": "thp",
    "ksm": "ksm",
    "oom_score_adj": "oom_score_adj",
    "swap": "swap_tiers",
    "zswap_writeback": "zswap_writeback",
    "numa": "numa",
    "mem_priority": "mem_priority",
}
POLICY_ORDER = ("thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "mem_priority")
GROUP_KEYS = (
    "name", "description", "parent", "state", "swap", "zswap_writeback", "thp", "ksm", "oom_score_adj",
    "numa", "mem_priority", "members",
)
MEMBER_KINDS = ("cgroups", "systemd_units", "pids")
BOUND_MEMBER_KINDS = ("cgroups", "systemd_units")
# One vocabulary with the role (policy_groups_on_unsupported) and the modules (on_unsupported): fail keeps the
# values, so applying them fails (the role stops the host before any change); drop leaves them out.
# keep is the deprecated name of fail.
ON_UNSUPPORTED = ("fail", "drop", "keep")
_NODELIST = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def _copy(value: Any) -> Any:
    """A deep copy of plain data (what ``plain`` makes), without ``copy.deepcopy``'s bookkeeping: most of a
    render's time went there. Anything else is copied by ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)


class RenderError(AnsibleFilterError):  # type: ignore[misc,valid-type,unused-ignore]
    """The document cannot be rendered; ``errors`` lists every problem as ``<path>: <message>``."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("the policy document is invalid:\n" + "\n".join(f"  - {e}" for e in self.errors))


# --------------------------------------------------------------------------------------------------------------
# Layering


LayerInput = Union[Mapping[str, Any], Sequence[Any], None]


def named_layers(layers: LayerInput, kind: str = "layers") -> list[tuple[str, Any]]:
    """``[(label, layer)]`` in merge order. Layers (or selections, ``kind``) come as a mapping of inventory variable
    names to values (the role's and render_plans' way: the label is the variable's name, the order its sorted
    order) or as a plain list (labelled ``<kind>[i]``)."""
    if not layers:
        return []
    if isinstance(layers, Mapping):
        return [(str(name), layers[name]) for name in sorted(layers, key=str)]
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise RenderError([f"{kind}: must be a mapping of variable names to lists or a list, got "
                           f"{type(layers).__name__}"])
    return [(f"{kind}[{li}]", layer) for li, layer in enumerate(layers)]


def layer_warnings(groups: Sequence[Mapping[str, Any]], layers: LayerInput) -> list[str]:
    """A layer item that names no group of the fleet document adds one; when its name is close to a known group's
    (a typo), or it only says ``state: absent`` (which then removes nothing that was meant), say so."""
    known = [str(g.get("name")) for g in groups if isinstance(g, Mapping) and isinstance(g.get("name"), str)]
    out: list[str] = []
    for label, layer in named_layers(layers):
        if not isinstance(layer, Sequence) or isinstance(layer, (str, bytes)):
            continue
        for ii, item in enumerate(layer):
            name = item.get("name") if isinstance(item, Mapping) else None
            if not isinstance(name, str) or name in known:
                continue
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            if item.get("state") == "absent":
                out.append(f"{label}[{ii}]: {name!r} (state: absent) names no group of the fleet document, so it "
                           f"removes only a group of that name left on a host{hint}")
            elif close:
                out.append(f"{label}[{ii}]: {name!r} names no group of the fleet document and adds a new "
                           f"group{hint}")
    return out


class Origins:
    """Where each merged group's values came from, so an error in the merged document names the layer item that
    set the value (``policy_groups__20_db[0] (latency).oom_score_adj``) rather than an index into a document
    nobody wrote."""

    def __init__(self) -> None:
        self.group: dict[str, str] = {}  # group name -> the layer item that added it
        self.keys: dict[tuple[str, str], str] = {}  # (group, key or "members.<kind>") -> the layer item that set it

    def of(self, name: str, keys: Sequence[str]) -> str | None:
        for depth in range(len(keys), 0, -1):
            label = self.keys.get((name, ".".join(keys[:depth])))
            if label is not None:
                return label
        return self.group.get(name)


def _merge(groups: Sequence[Mapping[str, Any]], layers: LayerInput) -> tuple[list[dict[str, Any]], Origins]:
    merged: list[dict[str, Any]] = [_copy(dict(g)) for g in groups]
    index = {g.get("name"): i for i, g in enumerate(merged)}
    origins = Origins()
    for label, layer in named_layers(layers):
        if layer is None:
            continue
        if not isinstance(layer, Sequence) or isinstance(layer, (str, bytes)):
            raise RenderError([f"{label}: must be a list of group items, got {type(layer).__name__}"])
        for ii, item in enumerate(layer):
            where = f"{label}[{ii}]"
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                raise RenderError([f"{where}: a layer item must be a mapping with a 'name'"])
            name = item["name"]
            if name not in index:
                index[name] = len(merged)
                merged.append(_copy(dict(item)))
                origins.group[name] = where
                continue
            target = merged[index[name]]
            for key, value in item.items():
                if key == "name":
                    continue
                if key == "members" and isinstance(value, Mapping) and isinstance(target.get("members"), Mapping):
                    members = dict(target["members"])
                    members.update(_copy(dict(value)))
                    target["members"] = members
                    for kind in value:
                        origins.keys[(name, f"members.{kind}")] = where
                else:
                    target[key] = _copy(value)
                    origins.keys[(name, str(key))] = where
    return merged, origins


def merge_layers(groups: Sequence[Mapping[str, Any]], layers: LayerInput) -> list[dict[str, Any]]:
    """Apply inventory layers (lists of partial group dicts, in order) over the base ``policy_groups`` list.

    A layer item names a group; its keys replace the group's keys, except ``members``, whose kinds
    (cgroups, systemd_units, pids) are replaced one by one. An item naming a new group adds it.
    """
    return _merge(groups, layers)[0]


def select_groups(groups: list[dict[str, Any]], select: LayerInput, origins: Origins | None = None
                  ) -> list[str]:
    """Keep only the groups a host runs: every ``policy_groups_select__*`` variable visible to the host names
    groups; the union of those names and their ancestors stays as it is, every other group becomes
    ``state: absent`` (removed from the host if it is there). No select variable: every group stays; a select
    variable that is empty (or null) selects nothing. Changes ``groups`` in place and returns the errors: a name
    that is no group, a selected group that is absent."""
    chosen = named_layers(select, "select")
    if not chosen:
        return []
    by_name = {g.get("name"): g for g in groups if isinstance(g, Mapping)}
    known = sorted(str(n) for n in by_name if isinstance(n, str))
    errors: list[str] = []
    wanted: dict[str, str] = {}  # selected group -> where it was selected first
    for label, names in chosen:
        if names is None:
            continue
        if isinstance(names, str) or not isinstance(names, Sequence):
            errors.append(f"{label}: must be a list of group names, got {type(names).__name__}")
            continue
        for i, name in enumerate(names):
            if not isinstance(name, str):
                errors.append(f"{label}[{i}]: must be a group name, got {type(name).__name__}")
            elif name not in by_name:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else f" (groups: {', '.join(known) or 'none'})"
                errors.append(f"{label}[{i}]: {name!r} is no group of the fleet document{hint}")
            elif by_name[name].get("state", "present") == "absent":
                removed = (origins.of(name, ["state"]) if origins else None) or "the fleet document"
                errors.append(f"{label}[{i}]: {name!r} is selected but {removed} sets it state: absent")
            else:
                wanted.setdefault(name, f"{label}[{i}]")
    keep: set[str] = set()
    for selected, where in wanted.items():
        seen: set[str] = set()
        current: Any = selected
        while isinstance(current, str) and current in by_name and current not in seen:
            seen.add(current)
            keep.add(current)
            if current != selected and by_name[current].get("state", "present") == "absent":
                removed = (origins.of(current, ["state"]) if origins else None) or "the fleet document"
                errors.append(f"{where}: {selected!r} is selected but its ancestor {current!r} is absent "
                              f"({removed} sets it state: absent)")
                break
            current = by_name[current].get("parent")
    for group in groups:
        if isinstance(group, Mapping) and group.get("name") not in keep:
            group["state"] = "absent"
    return errors


_ERROR_PATH = re.compile(r"^policy_groups\[(\d+)\](?: \((?P<name>[^)]*)\))?(?P<rest>(?:\.[A-Za-z_]+)*)(?P<tail>.*)$")


def name_origin(path: str, groups: Sequence[Mapping[str, Any]], origins: Origins) -> str:
    """``path`` in the merged document, rewritten to the layer item that set the value it points to (the path
    unchanged when the fleet document itself holds that value)."""
    match = _ERROR_PATH.match(path)
    if not match:
        return path
    index = int(match.group(1))
    if index >= len(groups) or not isinstance(groups[index], Mapping):
        return path
    name = groups[index].get("name")
    if not isinstance(name, str):
        return path
    keys = [k for k in match.group("rest").split(".") if k]
    label = origins.of(name, keys)
    if label is None:
        return path
    shown = f" ({match.group('name')})" if match.group("name") else ""
    return f"{label}{shown}{match.group('rest')}{match.group('tail')}"


# --------------------------------------------------------------------------------------------------------------
# Structure: names, parents, paths


def _structure(groups: Sequence[Mapping[str, Any]]) -> tuple[dict[str, str], list[str], list[str]]:
    """Return (name -> path, names parents-first, errors): the tree the fleet validator and the engine's model
    resolve too (``_hierarchy``), its problems as ``policy_groups[i].field: message``."""
    tree = _hierarchy.resolve(groups)
    errors = [f"{problem.path}: {problem.message}" for problem in tree.problems]
    if errors:
        return {}, [], errors
    return tree.paths, tree.order, errors


# --------------------------------------------------------------------------------------------------------------
# Kernel values


def _flag(value: Any) -> str:
    return "1" if value else "0"


def tier_order(tiers: Sequence[Mapping[str, Any]]) -> list[str]:
    """Tier names highest first, as the kernel prints them."""
    return [t["name"] for t in sorted(tiers, key=lambda t: -int(t["start_priority"]))]


def kernel_policies(group: Mapping[str, Any], tiers: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The group's own policy values as the kernel reads them back (``inherit`` when unset)."""
    ranking = {name: i for i, name in enumerate(tier_order(tiers))}
    out = {name: "inherit" for name in POLICY_ORDER}
    if group.get("thp") is not None:
        out["thp"] = str(group["thp"])
    if group.get("ksm") is not None:
        out["ksm"] = _flag(group["ksm"])
    if group.get("oom_score_adj") is not None:
        out["oom_score_adj"] = str(int(group["oom_score_adj"]))
    swap = group.get("swap")
    if isinstance(swap, Mapping):
        if swap.get("tiers"):
            names = sorted(dict.fromkeys(swap["tiers"]), key=lambda n: (ranking.get(n, len(ranking)), n))
            out["swap_tiers"] = " ".join(names)
        elif swap.get("enabled") is False:
            out["swap_tiers"] = "none"
    if group.get("zswap_writeback") is not None:
        out["zswap_writeback"] = _flag(group["zswap_writeback"])
    numa = group.get("numa")
    if isinstance(numa, Mapping) and numa.get("mode"):
        nodes = numa.get("nodes")
        if nodes in (None, ""):
            out["numa"] = str(numa["mode"])
        else:
            try:
                nodes = render_nodelist(parse_nodelist(str(nodes)))
            except ValueError:
                pass  # reported by validation; shown as written
            out["numa"] = f"{numa['mode']}:{nodes}"
    if group.get("mem_priority") is not None:
        out["mem_priority"] = str(group["mem_priority"])
    return out


def parse_nodelist(text: str) -> list[int]:
    """``0-2,5`` -> [0, 1, 2, 5]; raises ValueError on bad syntax."""
    text = str(text).strip()
    if not _NODELIST.match(text):
        raise ValueError(f"bad NUMA node list '{text}'")
    nodes: set[int] = set()
    for part in text.split(","):
        lo, hi = part.split("-", 1) if "-" in part else (part, "")
        first, last = int(lo), int(hi or lo)
        if last < first:
            raise ValueError(f"bad NUMA node range '{part}'")
        nodes.update(range(first, last + 1))
    return sorted(nodes)


def render_nodelist(nodes: Sequence[int]) -> str:
    """[0, 1, 2, 5] -> ``0-2,5``: the kernel's list format, as ``policy.numa`` reads back."""
    ordered = sorted(set(nodes))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def device_tier(priority: int, tiers: Sequence[Mapping[str, Any]]) -> str | None:
    """The tier whose priority range contains ``priority`` under the given definitions. An automatic priority
    (below -1: swapped on without one) is in the lowest tier, as the kernel counts it."""
    priority = max(int(priority), -1)
    for t in sorted(tiers, key=lambda t: -int(t["start_priority"])):
        if priority >= int(t["start_priority"]):
            return str(t["name"])
    return None


# --------------------------------------------------------------------------------------------------------------
# Host checks


class _Report:
    def __init__(self) -> None:
        self.unsupported: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    def unsupported_value(self, group: str | None, path: str | None, key: str, value: Any, reason: str,
                          action: str) -> None:
        where = f"{path}.{key}" if path else key
        self.unsupported.append({"group": group, "path": path, "key": key, "value": value, "reason": reason,
                                 "action": action, "message": f"{where}: {reason}"})


def _features(facts: Mapping[str, Any]) -> set[str]:
    feats = facts.get("features") or []
    if isinstance(feats, str):
        feats = feats.split()
    return {str(f) for f in feats}


# A finding of the systemd backend (policy key or member kind) -> the group's key in the fleet document.
_MAINLINE_KEYS = {"swap_tiers": "swap", "members.pids": "members", "members.cgroups": "members",
                  "members.systemd_units": "members"}


def _mainline_support(facts: Mapping[str, Any]) -> dict[str, str | None]:
    """Policy key -> None (this host can) or the reason it cannot, from ``policy_groups_info`` of a systemd host:
    its ``unsupported`` reasons when present, else its ``features`` (the policy keys the probe found). A policy no
    mainline host can express (``mem_priority``) is unsupported whatever the facts say."""
    reasons = facts.get("unsupported")
    if isinstance(reasons, Mapping):
        return {key: (str(reasons[key]) if reasons.get(key) else MAINLINE_NEVER.get(key)) for key in POLICY_KEYS}
    features = _features(facts)
    return {key: MAINLINE_NEVER.get(key) or (
        None if key in features else f"this host's systemd or kernel lacks {key} (not in its features)")
        for key in POLICY_KEYS}


def _check_host_systemd(facts: Mapping[str, Any], tiers: list[dict[str, Any]], managed_tiers: bool,
                        groups: list[dict[str, Any]], drop: bool, report: _Report) -> None:
    """What a mainline host cannot express, by the systemd backend's own rules (unit properties, not kernel
    features): the findings the policy_groups module reports there, so an offline plan tells the truth."""
    action = "dropped" if drop else "kept"
    if managed_tiers and tiers and not facts.get("tiers_supported"):
        report.unsupported_value(None, None, "policy_swap_tiers", [t["name"] for t in tiers],
                                 "a mainline kernel has no swap tiers (no /sys/kernel/mm/swap/tiers)", action)
    by_name = {g["name"]: g for g in groups}
    desired = normalize({"policy_groups": [{k: v for k, v in g.items() if k != "description"} for g in groups]})
    path_of = {spec.name: spec.path for spec in desired.groups}
    reported: set[tuple[str, str]] = set()
    for finding in mainline_findings(desired, _mainline_support(facts)):
        g = by_name[finding.group.rpartition("/")[2]]
        reported.add((g["name"], finding.policy))
        kind = finding.policy.partition(".")[2] if finding.policy.startswith("members.") else ""
        key = finding.policy if kind else _MAINLINE_KEYS.get(finding.policy, finding.policy)
        value = _copy(g["members"].get(kind) if kind else g.get(key))
        # pids and cgroups are left out as the module leaves them out; a unit stays (its services keep the rest)
        droppable = drop and (kind in ("pids", "cgroups") or (not kind and key in g))
        report.unsupported_value(g["name"], finding.group, key, value, finding.reason,
                                 action if droppable or not drop else "kept")
        if droppable and kind:
            g["members"][kind] = []
        elif droppable:
            del g[key]
    exec_keys = [key for key in POLICY_KEYS if MAINLINE_MAPPINGS[key].level == "exec"]
    for g in groups:
        own = sorted(k for k in exec_keys if g.get(k) is not None and (g["name"], k) not in reported)
        units = g["members"].get("systemd_units") or []
        if g.get("state") == "present" and own and units:
            report.warnings.append(
                f"{path_of[g['name']]}: {', '.join(own)} take effect when {', '.join(units)} next start(s) "
                f"(unit properties set at process start; the module's restart_units: true restarts active units)")


def _check_host(facts: Mapping[str, Any], tiers: list[dict[str, Any]], managed_tiers: bool,
                groups: list[dict[str, Any]], paths: dict[str, str], drop: bool, report: _Report) -> None:
    """Record what this host cannot honour; with ``drop`` remove it from ``groups``/``tiers`` in place.

    ``tiers`` are the tiers the host will have: the document's when ``managed_tiers``, else the host's own.
    """
    action = "dropped" if drop else "kept"
    if facts.get("available") is False:
        report.unsupported_value(None, None, "backend", facts.get("backend"),
                                 str(facts.get("reason") or "policy groups are not available on this host"), "kept")
        return
    if facts.get("backend") == "systemd":
        _check_host_systemd(facts, tiers, managed_tiers, groups, drop, report)
        return
    abi = facts.get("abi_version")
    if abi is not None and int(abi) not in SUPPORTED_ABI_VERSIONS:
        report.unsupported_value(None, None, "abi_version", abi, f"unsupported policy ABI version {abi}", "kept")
        return
    features = _features(facts)
    if managed_tiers and tiers and "swap_tiers" not in features:
        report.unsupported_value(None, None, "policy_swap_tiers", [t["name"] for t in tiers],
                                 "the kernel has no swap tiers (feature 'swap_tiers' missing)", action)
    tier_names = {t["name"] for t in tiers}
    device_tiers: dict[str, list[str]] = {}
    for dev in facts.get("swap_devices") or []:
        tier = device_tier(int(dev.get("priority", -1)), tiers) if tiers else None
        if tier is not None:
            device_tiers.setdefault(tier, []).append(str(dev.get("path")))
    numa_nodes = facts.get("numa_nodes")
    online = {int(n) for n in numa_nodes} if numa_nodes is not None else None

    for g in groups:
        if g.get("state", "present") != "present":
            continue
        name, path = g["name"], paths[g["name"]]
        for key, feature in POLICY_FEATURES.items():
            if g.get(key) is None:
                continue
            if feature not in features:
                report.unsupported_value(name, path, key, g[key], f"the kernel does not enforce '{feature}' "
                                         f"(missing from policy.features)", action)
                if drop:
                    del g[key]
        swap = g.get("swap")
        if isinstance(swap, Mapping) and swap.get("tiers"):
            unknown = [t for t in swap["tiers"] if t not in tier_names]
            if unknown:
                report.unsupported_value(name, path, "swap", _copy(swap),
                                         f"tier(s) {', '.join(unknown)} not defined on this host", action)
                if drop:
                    del g["swap"]
            elif facts.get("swap_devices") is not None and not any(t in device_tiers for t in swap["tiers"]):
                report.warnings.append(
                    f"{path}: swap tiers {', '.join(swap['tiers'])} have no active swap device on this host; "
                    f"the group's pages will not be swapped out")
        numa = g.get("numa")
        if isinstance(numa, Mapping) and numa.get("nodes") not in (None, "") and online is not None:
            try:
                wanted = parse_nodelist(numa["nodes"])
            except ValueError as exc:
                report.unsupported_value(name, path, "numa", _copy(numa), str(exc), action)
                wanted = []
            absent = [n for n in wanted if n not in online]
            if absent:
                report.unsupported_value(name, path, "numa", _copy(numa),
                                         f"NUMA node(s) {','.join(map(str, absent))} not present on this host "
                                         f"(online: {','.join(map(str, sorted(online))) or 'none'})", action)
                if drop and "numa" in g:
                    del g["numa"]
        members = g.get("members") or {}
        bound = {k: members.get(k) for k in BOUND_MEMBER_KINDS if members.get(k)}
        if bound and "bind" not in features:
            report.unsupported_value(name, path, "members", bound,
                                     "the kernel cannot bind cgroups (feature 'bind' missing)", action)
            if drop:
                for k in bound:
                    g["members"][k] = []


def mem_priority_warnings(groups: Sequence[Mapping[str, Any]], paths: Mapping[str, str], order: Sequence[str],
                          skip: frozenset[str] = frozenset()) -> list[str]:
    """A present group that sets ``mem_priority`` orders the reclaim of the memory charged to the cgroups bound to it
    and to the groups below it that inherit its value; a warning for each group where no such cgroup is listed
    (``members.cgroups``, or ``members.systemd_units``, bound through their cgroups): its value covers no memory.
    Processes joined by PID never count. Groups named in ``skip`` (already reported unsupported) are left out."""
    by_name = {g["name"]: g for g in groups}
    children: dict[str, list[str]] = {}
    for name in order:
        parent = by_name[name].get("parent")
        if parent is not None and by_name[name].get("state", "present") == "present":
            children.setdefault(parent, []).append(name)
    out: list[str] = []
    for name in order:
        g = by_name[name]
        if g.get("state", "present") != "present" or g.get("mem_priority") is None or name in skip:
            continue
        covered, pending = False, [name]
        while pending and not covered:
            node = by_name[pending.pop()]
            members = node.get("members") or {}
            covered = any(members.get(kind) for kind in BOUND_MEMBER_KINDS)
            pending.extend(c for c in children.get(node["name"], []) if by_name[c].get("mem_priority") is None)
        if not covered:
            out.append(f"{paths[name]}: mem_priority {g['mem_priority']} covers no memory: no cgroup is bound to the "
                       f"group or to a group below it that inherits the value (members.cgroups, members.systemd_units), "
                       f"and processes joined by PID are not covered")
    return out


# --------------------------------------------------------------------------------------------------------------
# The filter


def _tiers(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({"name": str(t["name"]), "start_priority": int(t["start_priority"])} for t in items),
                  key=lambda t: -t["start_priority"])


def _normal_group(g: Mapping[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {"parent": None, "state": "present"}
    out: dict[str, Any] = {}
    for key in GROUP_KEYS:
        if g.get(key) is not None:
            out[key] = _copy(g[key])
        elif key in defaults:
            out[key] = defaults[key]
    members = dict(g.get("members") or {})
    out["members"] = {k: list(members.get(k) or []) for k in MEMBER_KINDS}
    return out


def _effective(name: str, by_name: Mapping[str, Mapping[str, Any]], views: Mapping[str, Mapping[str, str]]
               ) -> dict[str, str]:
    out: dict[str, str] = {}
    for policy in POLICY_ORDER:
        node: str | None = name
        value = "default"
        while node is not None:
            own = views[node][policy]
            if own != "inherit":
                value = own
                break
            node = by_name[node].get("parent")
        out[policy] = value
    return out


# Validation results by merged document, in this process: the schema check is most of a render's cost, and most
# hosts of a fleet merge to the same document (playbooks/render.yml renders every host in one process).
_VALIDATED: dict[str, list[tuple[str, str]]] = {}
_VALIDATED_MAX = 256


def _schema_errors(merged_doc: Mapping[str, Any], nr_swap_tiers: int = DEFAULT_NR_SWAP_TIERS
                   ) -> list[tuple[str, str]]:
    """``validate_fleet``'s errors as ``(path, message)``, computed once per distinct document."""
    if validate_fleet is None:  # the caller checks; kept for the type checker
        raise RuntimeError("the fleet validator could not be imported")
    key = f"{nr_swap_tiers}:{merged_doc!r}"  # plain data (render made it so): equal text, equal document
    if key not in _VALIDATED:
        if len(_VALIDATED) >= _VALIDATED_MAX:
            _VALIDATED.clear()
        _VALIDATED[key] = [(e.path, e.message) for e in validate_fleet(merged_doc, nr_swap_tiers=nr_swap_tiers)]
    return list(_VALIDATED[key])


def merged_document(document: Mapping[str, Any] | None, layers: LayerInput = None, select: LayerInput = None,
                    nr_swap_tiers: int = DEFAULT_NR_SWAP_TIERS) -> tuple[dict[str, Any], list[str], list[str]]:
    """One host's fleet document as the role applies it: ``policy_groups`` with the layers merged over it and the
    selection made, and ``policy_swap_tiers``. Returns (document, errors, notes); each error's path names the
    layer item or select variable it came from."""
    document = plain(document or {})
    layers = plain(layers) if layers else None
    select = plain(select) if select else None
    groups_in, origins = _merge(document.get("policy_groups") or [], layers)
    errors = select_groups(groups_in, select, origins)
    merged_doc = fleet_document({"policy_groups": groups_in, "policy_swap_tiers": document.get("policy_swap_tiers")})
    notes: list[str] = []
    schema_errors: list[str] = []
    if validate_fleet is not None:
        try:
            schema_errors = [f"{name_origin(path, groups_in, origins)}: {message}"
                             for path, message in _schema_errors(merged_doc, nr_swap_tiers)]
        except Exception as exc:  # SchemaUnavailable: jsonschema or the schema file missing on this controller
            notes.append(f"schema validation skipped ({exc}); structural checks only")
    errors.extend(schema_errors)
    if not schema_errors:  # the schema's rules include these; alone (no jsonschema, or to be safe) they still count
        for error in _structure(groups_in)[2]:
            path, _sep, message = error.partition(": ")
            named = f"{name_origin(path, groups_in, origins)}: {message}"
            if named not in errors:
                errors.append(named)
    return merged_doc, errors, notes


def render(document: Mapping[str, Any] | None, facts: Mapping[str, Any] | None = None,
           layers: LayerInput = None, host: str | None = None, on_unsupported: str = "fail",
           select: LayerInput = None) -> dict[str, Any]:
    """Render one host's concrete policy. See ``render.yml`` for the contract."""
    if on_unsupported not in ON_UNSUPPORTED:
        raise AnsibleFilterError(f"on_unsupported must be one of fail, drop, got '{on_unsupported}'")
    if on_unsupported == "keep":
        _deprecated("the render filter's on_unsupported=keep is now called on_unsupported=fail")
    document = plain(document or {})
    facts = plain(facts) if facts else None
    layers = plain(layers) if layers else None
    # policy_swap_tiers undefined (None) means the host's tiers are not managed: checks use the host's own.
    tiers_in = document.get("policy_swap_tiers")
    merged_doc, errors, notes = merged_document(document, layers, select)
    if errors:
        raise RenderError(errors)
    groups_in = merged_doc["policy_groups"]
    paths, order, _structural = _structure(groups_in)

    tiers = _tiers(tiers_in) if tiers_in is not None else None
    groups = [_normal_group(g) for g in groups_in]
    by_name = {g["name"]: g for g in groups}
    report = _Report()
    report.warnings.extend(notes)
    report.warnings.extend(layer_warnings(document.get("policy_groups") or [], layers))
    facts_state = "present" if facts else "missing"
    if facts:
        host_tiers = tiers if tiers is not None else _tiers(facts.get("swap_tiers") or [])
        _check_host(facts, host_tiers, tiers is not None, groups, paths, on_unsupported == "drop", report)
        if any(u["key"] == "policy_swap_tiers" and u["action"] == "dropped" for u in report.unsupported):
            tiers = None
    else:
        report.warnings.append("rendered without host facts: features, swap devices and NUMA nodes not checked")
    for g in groups:
        pids = g["members"]["pids"]
        if pids and g["state"] == "present":
            report.warnings.append(f"{paths[g['name']]}: pids {', '.join(map(str, pids))} are joined now but not "
                                   f"restored at boot (processes do not survive a reboot)")
    unsupported_priority = frozenset(u["group"] for u in report.unsupported if u["key"] == "mem_priority")
    report.warnings.extend(mem_priority_warnings(groups, paths, order, unsupported_priority))

    ranking_tiers = tiers if tiers is not None else _tiers((facts or {}).get("swap_tiers") or [])
    views = {name: kernel_policies(by_name[name], ranking_tiers) for name in order}
    rendered_groups: dict[str, Any] = {}
    for name in order:
        g = by_name[name]
        rendered_groups[paths[name]] = {
            "name": name,
            "parent": g["parent"],
            "state": g["state"],
            "policies": views[name],
            "effective": _effective(name, by_name, views),
            "members": _copy(g["members"]),
        }
    persist_groups = []
    for name in order:
        g = by_name[name]
        if g["state"] != "present":
            continue
        item = _copy(g)
        item["members"]["pids"] = []
        persist_groups.append(item)
    facts = facts or {}
    return {
        "host": host,
        "facts": facts_state,
        "available": facts.get("available") if facts else None,
        "backend": facts.get("backend"),
        "kernel_release": facts.get("kernel_release"),
        "abi_version": facts.get("abi_version"),
        "policy_swap_tiers": tiers,
        "policy_groups": [by_name[name] for name in order],
        "groups": rendered_groups,
        "unsupported": report.unsupported,
        "warnings": report.warnings,
        "persist": {"policy_swap_tiers": _copy(tiers), "policy_groups": persist_groups},
    }


class FilterModule:
    """policygroups.core.render"""

    def filters(self) -> dict[str, Any]:
        return {"render": render}
