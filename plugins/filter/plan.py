# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``policygroups.core.plan`` and ``policygroups.core.fleet_plan``: rendered policies a reviewer can read.

``plan`` turns one host's rendered policy (``policygroups.core.render``) into the file an offline render writes:
a short summary (groups present and absent, what changes against the previous plan), each group's policy once
(its own values, and separately what it inherits), absent groups without any policy. ``fleet_plan`` makes the
fleet summary, a Markdown table, from every host's plan. Pure: no I/O. Documentation: ``plan.yml`` and
``fleet_plan.yml`` next to this file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.policygroups.core.plugins.filter.render import plain

# Kernel values a group does not set itself.
_UNSET = ("inherit", "default")


def _group_plan(group: Mapping[str, Any]) -> dict[str, Any]:
    if group.get("state") == "absent":
        return {"name": group.get("name"), "state": "absent"}
    own = {k: v for k, v in (group.get("policies") or {}).items() if v not in _UNSET}
    inherited = {k: v for k, v in (group.get("effective") or {}).items() if k not in own and v not in _UNSET}
    out: dict[str, Any] = {"name": group.get("name"), "state": "present", "parent": group.get("parent"),
                           "policy": own}
    if inherited:
        out["inherited"] = inherited
    members = {k: list(v) for k, v in (group.get("members") or {}).items() if v}
    if members:
        out["members"] = members
    return out


def _changes(now: Mapping[str, Any], before: Mapping[str, Any] | None) -> list[str]:
    """One line per difference against the previous plan of the host, in a stable order."""
    if not before or not isinstance(before.get("groups"), Mapping):
        return ["first plan for this host (no previous plan to compare)"]
    lines: list[str] = []
    if before.get("backend") != now.get("backend"):
        lines.append(f"backend: {before.get('backend')} -> {now.get('backend')}")
    if before.get("policy_swap_tiers") != now.get("policy_swap_tiers"):
        lines.append(f"policy_swap_tiers: {_tiers(before.get('policy_swap_tiers'))} -> "
                     f"{_tiers(now.get('policy_swap_tiers'))}")
    old, new = before["groups"], now["groups"]
    for path in sorted(set(old) | set(new)):
        was, will = old.get(path), new.get(path)
        if was is None:
            lines.append(f"{path}: new group ({will['state']})")
            continue
        if will is None:
            lines.append(f"{path}: no longer in the document")
            continue
        if was.get("state") != will.get("state"):
            lines.append(f"{path}: {was.get('state')} -> {will.get('state')}")
            continue
        for part in ("policy", "inherited", "members"):
            a, b = was.get(part) or {}, will.get(part) or {}
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    lines.append(f"{path}: {part}.{key}: {_show(a.get(key))} -> {_show(b.get(key))}")
    return lines


def _tiers(tiers: Any) -> str:
    if not tiers:
        return "not managed" if tiers is None else "none"
    return ", ".join(f"{t.get('name')}@{t.get('start_priority')}" for t in tiers if isinstance(t, Mapping))


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def plan(rendered: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The reviewer's plan of one host from its rendered policy, compared with ``previous`` (its last plan)."""
    rendered = plain(rendered)
    previous = plain(previous) if isinstance(previous, Mapping) else None
    groups = {path: _group_plan(g) for path, g in (rendered.get("groups") or {}).items()}
    body: dict[str, Any] = {
        "host": rendered.get("host"),
        "backend": rendered.get("backend"),
        "facts": rendered.get("facts"),
        "kernel_release": rendered.get("kernel_release"),
        "policy_swap_tiers": rendered.get("policy_swap_tiers"),
        "groups": groups,
    }
    summary = {
        "present": [p for p, g in groups.items() if g["state"] == "present"],
        "absent": [p for p, g in groups.items() if g["state"] == "absent"],
        "unsupported": [u.get("message") for u in rendered.get("unsupported") or []],
        "warnings": list(rendered.get("warnings") or []),
        "changes": _changes(body, previous),
    }
    return {"summary": summary, **body}


def fleet_plan(plans: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table with one line per host, then every host's changes: the fleet at a glance."""
    rows = ["| Host | Backend | Facts | Present | Absent | Unsupported | Warnings | Changes |",
            "|---|---|---|---|---|---|---|---|"]
    details: list[str] = []
    for item in sorted((plain(p) for p in plans), key=lambda p: str(p.get("host"))):
        s = item.get("summary") or {}
        changes = [c for c in s.get("changes") or [] if not c.startswith("first plan")]
        first = len(changes) != len(s.get("changes") or [])
        rows.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            item.get("host"), item.get("backend") or "-", item.get("facts"),
            ", ".join(s.get("present") or []) or "-", ", ".join(s.get("absent") or []) or "-",
            len(s.get("unsupported") or []), len(s.get("warnings") or []), "first plan" if first else len(changes)))
        if changes:
            details.append(f"\n### {item.get('host')}\n")
            details.extend(f"- {line}" for line in changes)
    tail = "\n## Changes against the previous plan\n" + "\n".join(details) + "\n" if details else ""
    return "# Fleet plan\n\n" + "\n".join(rows) + "\n" + tail


class FilterModule:
    """policygroups.core.plan, policygroups.core.fleet_plan"""

    def filters(self) -> dict[str, Any]:
        return {"plan": plan, "fleet_plan": fleet_plan}
