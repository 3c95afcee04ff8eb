# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``assess_report``, ``assess_summary`` and ``assess_markdown``: the host assessment of
playbooks/assess.yml.

``assess_report`` turns what ``policy_groups_assess`` read on a host into findings (where containment blocks a
behavioural wish, what only a reload or a restart would apply), a starter fleet document that reproduces the
host's per-unit settings as policy groups (validated by the collection's validator) and the settings it cannot
express. ``assess_summary`` counts the fleet's findings; ``assess_markdown`` renders either for people.
Pure functions: no I/O. Documentation: the ``.yml`` files next to this one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ansible_collections.policygroups.core.plugins.module_utils._fleet._fleet_input import plain
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import document_policies
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import SchemaUnavailable, validate_fleet

REPORT_FORMAT = 1
SEVERITIES = ("error", "warning", "info")
# Unit types with processes (OOMScoreAdjust= and the other exec settings act on them), and all with a cgroup.
PROCESS_UNITS = ("service", "socket", "mount", "swap")
UNIT_TYPES = PROCESS_UNITS + ("scope", "slice")
CONTAINMENT = {"MemoryLow": "memory.low", "MemoryHigh": "memory.high", "MemoryMax": "memory.max"}
NR_SWAP_TIERS = 4
# The policy fields of a fleet document group (what a starter document may carry).
_DOCUMENT_FIELDS = frozenset(("swap", "zswap_writeback", "thp", "ksm", "oom_score_adj", "numa", "mem_priority"))


def _finding(kind: str, severity: str, subject: str, message: str, action: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, "subject": subject, "message": message, "action": action, **extra}


def _unit_of(component: str) -> str | None:
    """The unit a cgroup path component names, if it is one with a cgroup (``x.service``, ``y.slice``)."""
    stem, dot, kind = component.rpartition(".")
    return component if dot and stem and kind in UNIT_TYPES else None


def _ancestors(path: str) -> list[str]:
    """``/a.slice/b.slice/c.service`` -> ``['/a.slice/b.slice', '/a.slice']`` (nearest first)."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 1, -1)]


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------------------
# Findings


def blocked_by_ancestor(cgroups: Mapping[str, Mapping[str, str]], units: Mapping[str, Any], file: str,
                        blocking: str, kind: str, allowed: str, prop: str) -> list[dict[str, Any]]:
    """Units whose own ``file`` allows what an ancestor's value ``blocking`` forbids, one finding per ancestor."""
    below: dict[str, list[str]] = {}
    for path, files in cgroups.items():
        unit = _unit_of(path.rpartition("/")[2])
        if unit is None or unit.endswith(".slice") or files.get(file, allowed) == blocking:
            continue
        for ancestor in _ancestors(path):
            if cgroups.get(ancestor, {}).get(file) == blocking:
                below.setdefault(ancestor, []).append(unit)
                break
    findings = []
    for ancestor, members in sorted(below.items()):
        explicit = sorted(u for u in members if prop in ((units.get(u) or {}).get("settings") or {}))
        what = "swap" if file == "memory.swap.max" else "write back from zswap"
        wish = f"; {', '.join(explicit)} set{'s' if len(explicit) == 1 else ''} {prop}= itself" if explicit else ""
        findings.append(_finding(
            kind, "warning", ancestor,
            f"{len(members)} unit(s) below {ancestor} may {what} by their own {file}, but {ancestor} has "
            f"{file}={blocking}, which binds every cgroup below it: none of them can{wish}",
            f"if a unit below should {what}, move it out of {ancestor} (Slice=) or drop {prop}= from the slice and "
            "give the units that must not a policy group that says so (a policy, not a containment limit)",
            units=sorted(members), explicit=explicit))
    return findings


def _classes(units: Mapping[str, Any], cgroups: Mapping[str, Mapping[str, str]]) -> tuple[list[str], list[str]]:
    """(latency-sensitive, batch) units: a negative OOMScoreAdjust or memory.low protects, a positive one yields."""
    latency: list[str] = []
    batch: list[str] = []
    for unit, entry in units.items():
        settings = entry.get("settings") or {}
        adj = _int(settings.get("OOMScoreAdjust", "0")) or 0
        low = cgroups.get(entry.get("control_group") or "", {}).get("memory.low", "0")
        if adj < 0 or settings.get("MemoryLow") or low != "0":
            latency.append(unit)
        elif adj > 0:
            batch.append(unit)
    return sorted(latency), sorted(batch)


def _tier_selection(info: Mapping[str, Any]) -> bool:
    """Whether the host's policy groups choose swap tiers (only the reference kernel can)."""
    if info.get("backend") != "policyfs" or not info.get("available") or not info.get("swap_tiers"):
        return False
    return any(str((g.get("policies") or {}).get("swap_tiers", "inherit")) not in ("inherit", "default", "none")
               for g in (info.get("groups") or {}).values())


def shared_swap(host: Mapping[str, Any], info: Mapping[str, Any]) -> list[dict[str, Any]]:
    devices = host.get("swap_devices") or []
    if not devices or _tier_selection(info):
        return []
    latency, batch = _classes(host.get("units") or {}, host.get("cgroups") or {})
    names = ", ".join(d["path"] for d in devices)
    why = ("the kernel has swap tiers but no policy group selects one" if info.get("tiers_supported")
           else "this kernel cannot choose swap devices per group (no swap tiers)")
    mixed = bool(latency and batch)
    message = f"every unit swaps to every device ({names}): {why}"
    if mixed:
        message += (f"; latency-sensitive units ({', '.join(latency)}) and batch units ({', '.join(batch)}) "
                    "compete for the same devices")
    action = ("on the reference kernel, define swap tiers and give latency-sensitive and batch units groups with "
              "different tiers; on a mainline kernel, only swap: {enabled: false} (MemorySwapMax=0) can keep a "
              "unit off swap")
    return [_finding("swap_devices_shared", "warning" if mixed else "info", "(host)", message, action,
                     latency_units=latency, batch_units=batch, devices=[d["path"] for d in devices])]


def _live_differs(prop: str, configured: str, live: str) -> bool:
    if prop == "MemoryZSwapWriteback":
        return {"yes": "1", "no": "0"}.get(configured, configured) != live
    want, have = _int(configured), _int(live)
    if want is None or have is None:
        return configured not in ("infinity",) or live != "max"
    return want // 4096 != have // 4096  # the kernel keeps whole pages


def pending(host: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Settings written but not in effect: unit files newer than what systemd loaded, a running main process
    started before OOMScoreAdjust= changed, a live cgroup file that is not what the unit says."""
    findings: list[dict[str, Any]] = []
    cgroups = host.get("cgroups") or {}
    seen = set(host.get("memory_files_seen") or [])
    for unit, entry in sorted((host.get("units") or {}).items()):
        settings = entry.get("settings") or {}
        if entry.get("need_daemon_reload"):
            findings.append(_finding(
                "daemon_reload_pending", "warning", unit,
                f"{unit}'s unit files or drop-ins changed since systemd loaded them: the values shown and applied "
                "are the old ones", "run systemctl daemon-reload (and restart the unit for exec settings such as "
                "OOMScoreAdjust=)"))
        active = entry.get("active_state") in ("active", "reloading")
        running = entry.get("running_oom_score_adj")
        if active and running is not None and "OOMScoreAdjust" in settings \
                and _int(running) != _int(settings["OOMScoreAdjust"]):
            findings.append(_finding(
                "restart_pending", "warning", unit,
                f"{unit} says OOMScoreAdjust={settings['OOMScoreAdjust']} but its main process (PID "
                f"{entry.get('main_pid')}) runs with oom_score_adj {running}: the setting acts only from the next "
                "start", f"restart {unit} in a maintenance window (systemctl try-restart {unit})"))
        cgroup = entry.get("control_group")
        if not active or not cgroup or cgroup not in cgroups:
            continue
        for prop, file, default in (("MemorySwapMax", "memory.swap.max", "max"),
                                    ("MemoryZSwapWriteback", "memory.zswap.writeback", "1")):
            if prop not in settings or (seen and file not in seen):
                continue
            live = cgroups[cgroup].get(file, default)
            if _live_differs(prop, settings[prop], live):
                findings.append(_finding(
                    "runtime_differs", "warning", unit,
                    f"{unit} says {prop}={settings[prop]} but its cgroup has {file}={live}",
                    f"apply it now with systemctl set-property --runtime {unit} {prop}={settings[prop]}, or find "
                    "what wrote the file by hand"))
    return findings


def host_findings(host: Mapping[str, Any]) -> list[dict[str, Any]]:
    info = host.get("policy_groups_info") or {}
    findings: list[dict[str, Any]] = []
    if not host.get("cgroup_v2"):
        findings.append(_finding(
            "no_cgroup_v2", "error", "(host)",
            f"{host.get('cgroup_v2_reason') or 'no cgroup v2 hierarchy'}: containment and per-unit "
            "memory files cannot be assessed, and the systemd backend needs cgroup v2",
            "boot with the unified hierarchy (systemd.unified_cgroup_hierarchy=1, the default since systemd 247)"))
    if not host.get("systemd"):
        findings.append(_finding(
            "systemd_not_read", "info", "(host)",
            f"systemd's units were not read: {host.get('systemd_reason') or 'unknown reason'}; the starter "
            "document has no unit settings", "run the assessment on a host booted with systemd, without host_root"))
    cgroups = host.get("cgroups") or {}
    units = host.get("units") or {}
    findings += blocked_by_ancestor(cgroups, units, "memory.swap.max", "0", "swap_blocked_by_ancestor", "max",
                                    "MemorySwapMax")
    findings += blocked_by_ancestor(cgroups, units, "memory.zswap.writeback", "0",
                                    "zswap_writeback_blocked_by_ancestor", "1", "MemoryZSwapWriteback")
    findings += shared_swap(host, info)
    findings += pending(host)
    if host.get("cgroups_truncated"):
        findings.append(_finding("cgroups_truncated", "info", "(host)",
                                 "the cgroup tree is larger than the assessment lists: later cgroups were not read",
                                 "assess the remaining slices by hand"))
    for error in host.get("errors") or []:
        findings.append(_finding("unreadable", "info", str(error.get("path")),
                                 f"could not be read: {error.get('error')}",
                                 "run the assessment as root; a symbolic link in /sys/fs/cgroup or /proc is never "
                                 "followed"))
    return findings


# --------------------------------------------------------------------------------------------------------------
# The starter fleet document


def unit_policy(unit: str, settings: Mapping[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fleet document's policy for one unit's settings, and what of them it cannot express."""
    policy: dict[str, Any] = {}
    left: list[dict[str, Any]] = []

    def unexpressed(setting: str, reason: str) -> None:
        left.append({"subject": unit, "setting": f"{setting}={settings[setting]}", "reason": reason})

    for prop, value in settings.items():
        if prop == "OOMScoreAdjust":
            adj = _int(value)
            if adj is not None and -1000 <= adj <= 1000:
                policy["oom_score_adj"] = adj
            else:
                unexpressed(prop, "not an integer -1000..1000")
        elif prop == "MemorySwapMax":
            if value == "0":
                policy["swap"] = {"enabled": False}
            else:
                unexpressed(prop, "an amount of swap is a containment limit, not a policy: keep it in the unit "
                                  "(only MemorySwapMax=0, no swap at all, is swap: {enabled: false})")
        elif prop == "MemoryZSwapWriteback":
            if value in ("yes", "no"):
                policy["zswap_writeback"] = value == "yes"
            else:
                unexpressed(prop, "not yes or no")
        elif prop == "MemoryKSM":
            if value == "yes":
                policy["ksm"] = True
        elif prop == "MemoryTHP":
            thp = {"disable": "never", "madvise": "madvise", "never": "never"}.get(value)
            if thp:
                policy["thp"] = thp
            else:
                unexpressed(prop, "only disable and madvise have a fleet document value (thp: never, madvise)")
        elif prop in CONTAINMENT:
            unexpressed(prop, f"{CONTAINMENT[prop]} is containment (a limit or protection of the unit's cgroup and "
                              "everything below it), not a behavioural policy: it stays in the unit's cgroup settings")
    kind = unit.rpartition(".")[2]
    if kind not in PROCESS_UNITS:
        for key in ("oom_score_adj", "ksm", "thp"):
            if key in policy:
                left.append({"subject": unit, "setting": key, "reason": f"a .{kind} starts no processes, so "
                             "process settings have nothing to act on"})
                del policy[key]
    return policy, left


def group_name(policy: Mapping[str, Any]) -> str:
    """A name that says the policy: ``oom_m500-noswap-ksm``."""
    parts = []
    if "oom_score_adj" in policy:
        adj = int(policy["oom_score_adj"])
        parts.append(f"oom_{'m' if adj < 0 else ''}{abs(adj)}")
    if "swap" in policy:
        parts.append("noswap")
    if "zswap_writeback" in policy:
        parts.append("zswap_wb" if policy["zswap_writeback"] else "no_zswap_wb")
    if "ksm" in policy:
        parts.append("ksm")
    if "thp" in policy:
        parts.append(f"thp_{policy['thp']}")
    return "-".join(parts)[:63] or "assessed"


def _document_policies(policies: Mapping[str, Any]) -> dict[str, Any]:
    """A group's kernel values (``policy_groups_info``) as fleet document fields (the modules' ``settings``);
    what the document cannot hold (a kernel's ``swap_tiers: default``) is left out of the starter document."""
    doc = document_policies({key: str(value) for key, value in policies.items()})
    return {key: value for key, value in doc.items() if key in _DOCUMENT_FIELDS}


def existing_groups(info: Mapping[str, Any]) -> tuple[list[dict[str, Any]], set[str], set[str]]:
    """The host's policy groups as fleet document groups (parents first), with the units and cgroups they hold."""
    out: list[dict[str, Any]] = []
    units: set[str] = set()
    cgroups: set[str] = set()
    if not info.get("available"):
        return out, units, cgroups
    for path, group in sorted((info.get("groups") or {}).items(), key=lambda kv: (kv[0].count("/"), kv[0])):
        item: dict[str, Any] = {"name": group.get("name") or path.rpartition("/")[2]}
        if group.get("parent"):
            item["parent"] = group["parent"]
        item.update(_document_policies(group.get("policies") or {}))
        members = group.get("members") or {}
        wanted = {kind: sorted(members.get(kind) or []) for kind in ("cgroups", "systemd_units")}
        units.update(wanted["systemd_units"])
        cgroups.update(wanted["cgroups"])
        if info.get("backend") == "systemd":
            wanted["cgroups"] = []
        kept = {kind: values for kind, values in wanted.items() if values}
        if kept:
            item["members"] = kept
        out.append(item)
    return out, units, cgroups


def starter_tiers(host: Mapping[str, Any], info: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Tiers for the starter document: the kernel's table as it is; when the kernel has swap tiers but none is
    defined, one per distinct device priority (at most four, the lowest from -1); None without swap tiers."""
    tiers = host.get("swap_tiers")
    if tiers is None or not info.get("tiers_supported", True):
        return None
    if tiers:
        return [{"name": t["name"], "start_priority": int(t["start_priority"])} for t in tiers]
    priorities = sorted({max(int(d["priority"]), -1) for d in host.get("swap_devices") or []}, reverse=True)
    if not priorities:
        return None
    starts = priorities[:NR_SWAP_TIERS - 1] + [-1]
    starts = sorted(set(starts), reverse=True)
    return [{"name": f"prio_{s}" if s >= 0 else "lowest", "start_priority": s} for s in starts]


def starter_document(host: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fleet document that reproduces the host's per-unit settings, and what it leaves out."""
    info = host.get("policy_groups_info") or {}
    groups, held_units, held_cgroups = existing_groups(info)
    unexpressed: list[dict[str, Any]] = []
    by_policy: dict[str, tuple[dict[str, Any], list[str]]] = {}
    units = host.get("units") or {}
    unit_cgroups: set[str] = set()
    for unit, entry in sorted(units.items()):
        if entry.get("control_group"):
            unit_cgroups.add(entry["control_group"])
        settings = entry.get("settings") or {}
        if not settings:
            continue
        if entry.get("transient"):
            unexpressed.append({"subject": unit, "setting": ", ".join(f"{k}={v}" for k, v in settings.items()),
                                "reason": "a transient unit (systemd-run, a login session, a container manager) has "
                                          "no unit file to give a policy; name the unit or the command that makes it"})
            continue
        if unit in held_units or entry.get("control_group") in held_cgroups:
            continue
        policy, left = unit_policy(unit, settings)
        unexpressed += left
        if not policy:
            continue
        key = repr(sorted(policy.items()))
        by_policy.setdefault(key, (policy, []))[1].append(unit)
    taken = {str(g["name"]) for g in groups}
    for policy, members in sorted(by_policy.values(), key=lambda pm: group_name(pm[0])):
        name = base = group_name(policy)
        n = 2
        while name in taken:
            name, n = f"{base[:60]}-{n}", n + 1
        taken.add(name)
        settings = sorted({f"{k}={v}" for u in members for k, v in (units[u].get("settings") or {}).items()
                           if k not in CONTAINMENT and not (k == "MemorySwapMax" and v != "0")})
        groups.append({"name": name, "description": "assessed: units that set " + ", ".join(settings),
                       **policy, "members": {"systemd_units": sorted(members)}})
    for path, files in sorted((host.get("cgroups") or {}).items()):
        if files and path not in unit_cgroups and _unit_of(path.rpartition("/")[2]) is None:
            for file, value in sorted(files.items()):
                unexpressed.append({"subject": path, "setting": f"{file}={value}",
                                    "reason": "set on a cgroup that is no systemd unit (written by hand or by another "
                                              "manager): a group can name it in members.cgroups on the reference "
                                              "kernel only" if file in ("memory.swap.max", "memory.zswap.writeback")
                                    else "containment of that cgroup; it stays where it is set"})
    devices = host.get("swap_devices") or []
    if devices:
        unexpressed.append({"subject": "(host)", "setting": "swap devices: " + ", ".join(
            f"{d['path']} priority {d['priority']}" for d in devices),
            "reason": "devices are host-specific, not part of the fleet document: list them in the role's "
                      "policy_groups_swap_devices (policygroups.core.swap_device) to keep their priorities"})
    doc: dict[str, Any] = {}
    tiers = starter_tiers(host, info)
    if tiers is not None:
        doc["policy_swap_tiers"] = tiers
    doc["policy_groups"] = groups
    return doc, unexpressed


def _validation(doc: Mapping[str, Any]) -> list[str]:
    try:
        return [f"{e.path}: {e.message}" for e in validate_fleet(doc)]
    except SchemaUnavailable as exc:
        return [f"(not validated) {exc}"]


# --------------------------------------------------------------------------------------------------------------
# Reports


def assess_report(assessment: Mapping[str, Any], host: str | None = None) -> dict[str, Any]:
    """One host's report: facts, findings, starter fleet document (validated) and what it cannot express."""
    data = plain(assessment) or {}
    info = data.get("policy_groups_info") or {}
    starter, unexpressed = starter_document(data)
    findings = host_findings(data)
    by_kind: dict[str, int] = {}
    for finding in findings:
        by_kind[finding["kind"]] = by_kind.get(finding["kind"], 0) + 1
    return {
        "format": REPORT_FORMAT,
        "report": "host",
        "host": host,
        "status": "assessed",
        "kernel_release": info.get("kernel_release"),
        "backend": info.get("backend") if info.get("available") else None,
        "backend_reason": None if info.get("available") else info.get("reason"),
        "cgroup_v2": bool(data.get("cgroup_v2")),
        "systemd": bool(data.get("systemd")),
        "units_loaded": data.get("units_loaded", 0),
        "units": data.get("units") or {},
        "swap_devices": data.get("swap_devices") or [],
        "swap_tiers": data.get("swap_tiers"),
        "globals": data.get("globals") or {},
        "policy_groups": info.get("groups") or {},
        "findings": findings,
        "findings_by_kind": dict(sorted(by_kind.items())),
        "starter": starter,
        "starter_errors": _validation(starter),
        "unexpressed": unexpressed,
    }


def failed_report(host: str, status: str, error: str) -> dict[str, Any]:
    """The report of a host that could not be assessed."""
    return {"format": REPORT_FORMAT, "report": "host", "host": host, "status": status, "error": error,
            "findings": [], "findings_by_kind": {}, "starter": None, "starter_errors": [], "unexpressed": []}


def assess_summary(reports: Sequence[Mapping[str, Any]], hosts: Sequence[str] | None = None,
                   generated_at: str | None = None) -> dict[str, Any]:
    """The fleet summary: each host's kernel, backend and findings by kind; hosts without a report are missing."""
    by_host = {str(r.get("host")): plain(r) for r in reports or []}
    names = list(hosts) if hosts is not None else sorted(by_host)
    rows: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for name in names:
        report = by_host.get(name) or failed_report(name, "missing", "no report (the host was not reached)")
        for kind, count in (report.get("findings_by_kind") or {}).items():
            totals[kind] = totals.get(kind, 0) + int(count)
        rows.append({"host": name, "status": report.get("status"), "error": report.get("error"),
                     "kernel_release": report.get("kernel_release"), "backend": report.get("backend"),
                     "findings": len(report.get("findings") or []),
                     "findings_by_kind": report.get("findings_by_kind") or {},
                     "starter_groups": len((report.get("starter") or {}).get("policy_groups") or []),
                     "starter_valid": report.get("starter") is not None and not report.get("starter_errors"),
                     "unexpressed": len(report.get("unexpressed") or [])})
    return {"format": REPORT_FORMAT, "report": "fleet", "generated_at": generated_at, "hosts": rows,
            "summary": {"hosts": len(rows), "assessed": sum(r["status"] == "assessed" for r in rows),
                        "findings_by_kind": dict(sorted(totals.items()))}}


def _cell(value: Any) -> str:
    text = "-" if value in (None, "", [], {}) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _host_markdown(r: Mapping[str, Any]) -> str:
    out = [f"# Memory policy assessment: {r.get('host')}", ""]
    if r.get("status") != "assessed":
        return "\n".join(out + [f"Not assessed ({r.get('status')}): {r.get('error')}", ""])
    backend = r.get("backend") or f"none ({r.get('backend_reason')})"
    out += [f"* kernel {_cell(r.get('kernel_release'))}, policy groups backend: {backend}",
            f"* cgroup v2: {'yes' if r.get('cgroup_v2') else 'no'}; systemd units loaded: "
            f"{r.get('units_loaded') if r.get('systemd') else 'no'}, with memory settings: {len(r.get('units') or {})}",
            f"* swap devices: {len(r.get('swap_devices') or [])}; swap tiers: "
            f"{'not supported' if r.get('swap_tiers') is None else len(r.get('swap_tiers') or [])}", ""]
    out += ["## Findings", ""]
    findings = r.get("findings") or []
    out += _table(["severity", "kind", "subject", "finding", "what to do"],
                  [[f["severity"], f["kind"], f["subject"], f["message"], f["action"]] for f in findings]) \
        if findings else ["None."]
    out += ["", "## Units with memory settings", ""]
    units = r.get("units") or {}
    out += _table(["unit", "state", "settings", "cgroup"],
                  [[u, e.get("active_state"), ", ".join(f"{k}={v}" for k, v in (e.get("settings") or {}).items()),
                    e.get("control_group")] for u, e in units.items()]) if units else ["None."]
    out += ["", "## Swap devices", ""]
    devices = r.get("swap_devices") or []
    out += _table(["device", "type", "priority", "size (KiB)", "used (KiB)"],
                  [[d["path"], d["type"], d["priority"], d["size_kb"], d["used_kb"]] for d in devices]) \
        if devices else ["None."]
    out += ["", "## Global settings", ""]
    out += _table(["setting", "value"], sorted((r.get("globals") or {}).items()))
    out += ["", "## Starter fleet document", ""]
    errors = r.get("starter_errors") or []
    out.append("Validated by the collection's schema and rules: " + ("valid." if not errors else "INVALID:"))
    out += [f"* {e}" for e in errors]
    out += ["", "```yaml", yaml.safe_dump(r.get("starter"), sort_keys=False, default_flow_style=False).rstrip(), "```",
            "", "## Not expressed in the starter document", ""]
    left = r.get("unexpressed") or []
    out += _table(["subject", "setting", "why"], [[u["subject"], u["setting"], u["reason"]] for u in left]) \
        if left else ["Nothing."]
    return "\n".join(out) + "\n"


def _fleet_markdown(s: Mapping[str, Any]) -> str:
    summary = s.get("summary") or {}
    out = ["# Memory policy assessment: fleet summary", "",
           f"{summary.get('assessed', 0)} of {summary.get('hosts', 0)} host(s) assessed"
           + (f" at {s['generated_at']}" if s.get("generated_at") else "") + ".", ""]
    out += _table(["host", "status", "kernel", "backend", "findings", "starter groups", "starter valid", "unexpressed"],
                  [[h["host"], h["status"] if not h.get("error") else f"{h['status']}: {h['error']}",
                    h.get("kernel_release"), h.get("backend"), h["findings"], h["starter_groups"],
                    "yes" if h["starter_valid"] else "no", h["unexpressed"]] for h in s.get("hosts") or []])
    out += ["", "## Findings by kind", ""]
    totals = summary.get("findings_by_kind") or {}
    out += _table(["kind", "count"], sorted(totals.items())) if totals else ["None."]
    return "\n".join(out) + "\n"


def assess_markdown(report: Mapping[str, Any]) -> str:
    """A host report (``assess_report``) or the fleet summary (``assess_summary``) as Markdown."""
    data = plain(report) or {}
    return _fleet_markdown(data) if data.get("report") == "fleet" else _host_markdown(data)


class FilterModule:
    """policygroups.core.assess_report, assess_summary, assess_markdown"""

    def filters(self) -> dict[str, Any]:
        return {"assess_report": assess_report, "assess_summary": assess_summary, "assess_markdown": assess_markdown}
