# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``policygroups.core.health_findings``: does the host's kernel have the rendered policy in effect?

Compares a rendered policy (``policygroups.core.render``) with the host's ``policy_groups_info``: every present
group exists, its effective values (``policy.effective``) are the rendered ones, its cgroups are bound, and the
tier definitions match. On the systemd backend a group is what its units' drop-ins say: a group without units of
its own has none (its values reach the host through its children's), and a value no drop-in sets reads back as
``inherit`` where the render says ``default``. Returns human-readable problems; an empty list is healthy. Pure:
no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.policygroups.core.plugins.filter.render import plain


def _same(key: str, want: str, have: str) -> bool:
    if key == "swap_tiers" and want not in ("none", "default") and have not in ("none", "default"):
        return set(want.replace(",", " ").split()) == set(have.replace(",", " ").split())
    return want == have


def health_findings(rendered: Mapping[str, Any], info: Mapping[str, Any] | None) -> list[str]:
    """Problems that show the rendered policy is not in effect on the host (empty: healthy)."""
    rendered, info = plain(rendered), plain(info)
    if not info or not info.get("available"):
        reason = (info or {}).get("reason") or "no host information"
        return [f"policy groups are not available: {reason}"]
    problems: list[str] = []
    tiers = rendered.get("policy_swap_tiers")
    if tiers is not None:
        want_tiers = sorted((t["name"], int(t["start_priority"])) for t in tiers)
        have_tiers = sorted((t["name"], int(t["start_priority"])) for t in info.get("swap_tiers") or [])
        if want_tiers != have_tiers:
            problems.append(f"swap tiers are {have_tiers}, expected {want_tiers}")
    groups = info.get("groups") or {}
    systemd = info.get("backend") == "systemd"
    for path, want in (rendered.get("groups") or {}).items():
        if want.get("state", "present") != "present":
            if path in groups:
                problems.append(f"{path}: group should be absent")
            continue
        have = groups.get(path)
        if have is None:
            if not (systemd and not (want.get("members") or {}).get("systemd_units")):
                problems.append(f"{path}: group missing")
            continue
        for key, value in (have.get("effective") or {}).items():
            expected = (want.get("effective") or {}).get(key)
            if systemd and value == "inherit":
                value = "default"  # the drop-ins set nothing for it: what the render calls default
            if expected is not None and not _same(key, str(expected), str(value)):
                problems.append(f"{path}: effective {key} is {value}, expected {expected}")
        bound = set((have.get("members") or {}).get("cgroups") or [])
        for cgroup in (want.get("members") or {}).get("cgroups") or []:
            if cgroup not in bound:
                problems.append(f"{path}: cgroup {cgroup} is not bound")
    return problems


class FilterModule:
    """policygroups.core.health_findings"""

    def filters(self) -> dict[str, Any]:
        return {"health_findings": health_findings}
