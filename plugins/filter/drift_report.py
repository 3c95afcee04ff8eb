# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``drift_report``, ``drift_markdown`` and ``drift_junit``: the fleet drift report of playbooks/drift.yml.

``drift_report`` turns the per-host records the drift play collects (the modules' check-mode ``changes``, the
persisted document and the one the role would persist, or why the host could not be checked) into one report;
the other two render it for people and for CI. Pure functions: no I/O. Documentation: the ``.yml`` files
next to this one.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.policygroups.core.plugins.filter.render import kernel_policies, plain

REPORT_FORMAT = 1
STATUSES = ("in_sync", "drifted", "error", "unreachable")
EXIT_IN_SYNC = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2
HOST_LEVEL = "(host)"


# --------------------------------------------------------------------------------------------------------------
# Findings


def _finding(group: str | None, policy: str, desired: Any, actual: Any, kind: str, op: str | None = None
             ) -> dict[str, Any]:
    return {"group": group, "policy": policy, "desired": desired, "actual": actual, "kind": kind, "op": op}


def _tiers_text(tiers: Any) -> str | None:
    if tiers is None:
        return None
    if not tiers:
        return "none"
    return " ".join(f"{t['name']}:{t['start_priority']}" for t in
                    sorted(tiers, key=lambda t: -int(t["start_priority"])))


def runtime_findings(changes: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """One finding per planned operation of a check-mode run (what the host has vs what it should have)."""
    out: list[dict[str, Any]] = []
    for ch in changes or []:
        op = str(ch.get("op"))
        group = ch.get("group")
        before, after = ch.get("before"), ch.get("after")
        if op == "create_group":
            out.append(_finding(group, "group", "present", "absent", "runtime", op))
        elif op == "remove_group":
            out.append(_finding(group, "group", "absent", "present", "runtime", op))
        elif op == "set_tiers":
            out.append(_finding(None, "swap_tiers", _tiers_text(after), _tiers_text(before), "runtime", op))
        elif op == "bind":
            out.append(_finding(group, "members.cgroups", after, None, "runtime", op))
        elif op == "unbind":
            out.append(_finding(group, "members.cgroups", None, before, "runtime", op))
        elif op == "join_pid":
            out.append(_finding(group, "members.pids", after, None, "runtime", op))
        elif op == "move_members":
            out.append(_finding(group, "members.pids", after, before, "runtime", op))
        else:
            out.append(_finding(group, str(ch.get("key") or op), after, before, "runtime", op))
    return out


def _paths(groups: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    by_name = {g["name"]: g for g in groups}
    paths: dict[str, str] = {}

    def path(name: str, depth: int = 0) -> str:
        if name not in paths:
            parent = by_name[name].get("parent") if name in by_name else None
            paths[name] = name if parent is None or parent not in by_name or depth > 64 else \
                f"{path(parent, depth + 1)}/{name}"
        return paths[name]

    for name in by_name:
        path(name)
    return paths


def _group_view(group: Mapping[str, Any], tiers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    members = group.get("members") or {}
    view: dict[str, Any] = dict(kernel_policies(group, tiers))
    view["members.cgroups"] = sorted(members.get("cgroups") or [])
    view["members.systemd_units"] = sorted(members.get("systemd_units") or [])
    return view


def persisted_findings(expected: Mapping[str, Any] | None, persisted: Mapping[str, Any] | None,
                       path: str | None = None) -> list[dict[str, Any]]:
    """Differences between what the role would persist (``expected``) and the host's persisted document."""
    if expected is None:
        return []
    if not persisted:
        return [_finding(None, "persisted_file", path or "present", "missing", "persisted")]
    out: list[dict[str, Any]] = []
    want_tiers, have_tiers = expected.get("policy_swap_tiers"), persisted.get("policy_swap_tiers")
    if _tiers_text(want_tiers) != _tiers_text(have_tiers):
        out.append(_finding(None, "swap_tiers", _tiers_text(want_tiers), _tiers_text(have_tiers), "persisted"))
    want_groups = [g for g in expected.get("policy_groups") or [] if g.get("state", "present") == "present"]
    have_groups = [g for g in persisted.get("policy_groups") or [] if g.get("state", "present") == "present"]
    want_paths, have_paths = _paths(want_groups), _paths(have_groups)
    want = {want_paths[g["name"]]: _group_view(g, want_tiers or []) for g in want_groups}
    have = {have_paths[g["name"]]: _group_view(g, have_tiers or []) for g in have_groups}
    for gpath in sorted(set(want) | set(have)):
        if gpath not in have:
            out.append(_finding(gpath, "group", "present", "absent", "persisted"))
        elif gpath not in want:
            out.append(_finding(gpath, "group", "absent", "present", "persisted"))
        else:
            for key, value in want[gpath].items():
                if have[gpath].get(key) != value:
                    out.append(_finding(gpath, key, value, have[gpath].get(key), "persisted"))
    return out


# --------------------------------------------------------------------------------------------------------------
# Report


def host_report(record: Mapping[str, Any]) -> dict[str, Any]:
    """One host's entry: status and findings from the record the drift play collected."""
    host = str(record.get("host"))
    base: dict[str, Any] = {
        "host": host,
        "kernel_release": record.get("kernel_release"),
        "groups": list(record.get("groups") or []),
        "warnings": list(record.get("warnings") or []),
        "unsupported": list(record.get("unsupported") or []),
        "error": None,
        "findings": [],
    }
    status = record.get("status")
    if status in STATUSES and "findings" in record:  # an entry of an earlier report: merging slices of an audit
        base.update(status=status, error=record.get("error"), findings=list(record["findings"]))
        return base
    if status in ("unreachable", "error"):
        base["status"] = status
        base["error"] = str(record.get("error") or ("host unreachable" if status == "unreachable" else "failed"))
        if record.get("failed_task"):
            base["error"] = f"{record['failed_task']}: {base['error']}"
        return base
    findings = runtime_findings(record.get("tier_changes")) + runtime_findings(record.get("changes"))
    if record.get("persist"):
        findings += persisted_findings(record.get("persist_expected"), record.get("persisted"),
                                       record.get("persist_path"))
    base["findings"] = findings
    base["status"] = "drifted" if findings else "in_sync"
    return base


def drift_report(records: Sequence[Mapping[str, Any] | None], hosts: Sequence[str] | None = None,
                 generated_at: str | None = None) -> dict[str, Any]:
    """The fleet report. ``hosts`` (the play's hosts) adds hosts without a record as unreachable.

    ``records`` may also be the ``hosts`` entries of earlier reports (e.g. the slices of a sliced AWX job):
    they are taken as they are, so concatenating them and calling this again merges the reports.
    """
    by_host: dict[str, Mapping[str, Any]] = {}
    for rec in plain(records):
        if rec:
            by_host[str(rec.get("host"))] = rec
    for name in hosts or []:
        by_host.setdefault(str(name), {"host": name, "status": "unreachable",
                                       "error": "no result: the host dropped out of the play"})
    entries = [host_report(by_host[name]) for name in sorted(by_host)]
    counts = {s: sum(e["status"] == s for e in entries) for s in STATUSES}
    if counts["error"] or counts["unreachable"]:
        status, code = "error", EXIT_ERROR
    elif counts["drifted"]:
        status, code = "drifted", EXIT_DRIFT
    else:
        status, code = "in_sync", EXIT_IN_SYNC
    return {
        "format": REPORT_FORMAT,
        "generated_at": generated_at,
        "summary": {"status": status, "exit_code": code, "hosts": len(entries), **counts,
                    "findings": sum(len(e["findings"]) for e in entries)},
        "hosts": entries,
    }


# --------------------------------------------------------------------------------------------------------------
# Renderings


def _cell(value: Any) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ") or '""'


def drift_markdown(report: Mapping[str, Any]) -> str:
    """The report for people: a summary, then one table of findings per host that is not in sync."""
    report = plain(report)
    s = report["summary"]
    lines = ["# Policy groups drift report", ""]
    if report.get("generated_at"):
        lines += [f"Generated {report['generated_at']}.", ""]
    lines += [f"**{s['status']}** (exit status {s['exit_code']}): {s['hosts']} host(s), {s['in_sync']} in sync, "
              f"{s['drifted']} drifted, {s['error']} error, {s['unreachable']} unreachable; "
              f"{s['findings']} finding(s).", "",
              "| Host | Status | Findings | Kernel |", "|---|---|---|---|"]
    for h in report["hosts"]:
        lines.append(f"| {_cell(h['host'])} | {h['status']} | {len(h['findings'])} | {_cell(h['kernel_release'])} |")
    for h in report["hosts"]:
        if h["status"] == "in_sync":
            continue
        lines += ["", f"## {h['host']}: {h['status']}", ""]
        if h["error"]:
            lines += [f"Error: {_cell(h['error'])}"]
            continue
        lines += ["| Group | Policy | Desired | Actual | Kind |", "|---|---|---|---|---|"]
        for f in h["findings"]:
            lines.append(f"| {_cell(f['group'] or HOST_LEVEL)} | {_cell(f['policy'])} | {_cell(f['desired'])} | "
                         f"{_cell(f['actual'])} | {f['kind']} |")
    notes = [(h["host"], w) for h in report["hosts"] for w in h.get("warnings") or []]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {host}: {_cell(text)}" for host, text in notes]
    return "\n".join(lines) + "\n"


def drift_junit(report: Mapping[str, Any]) -> str:
    """The report for CI: one test suite per host, one test case per group (plus one for host-wide state);
    drift is a failure, an unreachable or failed host an error."""
    report = plain(report)
    s = report["summary"]
    root = ET.Element("testsuites", name="policygroups drift", tests="0", failures="0", errors="0")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for h in report["hosts"]:
        suite = ET.SubElement(root, "testsuite", name=str(h["host"]))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        if h["error"]:
            case = ET.SubElement(suite, "testcase", classname=f"policygroups.{h['host']}", name="check host")
            err = ET.SubElement(case, "error", type=h["status"], message=str(h["error"]))
            err.text = str(h["error"])
            counts["tests"] += 1
            counts["errors"] += 1
        else:
            by_group: dict[str, list[Mapping[str, Any]]] = {HOST_LEVEL: []}
            for g in h["groups"]:
                by_group.setdefault(str(g), [])
            for f in h["findings"]:
                by_group.setdefault(f["group"] or HOST_LEVEL, []).append(f)
            for group, findings in by_group.items():
                case = ET.SubElement(suite, "testcase", classname=f"policygroups.{h['host']}",
                                     name="host-wide (tiers, persisted file)" if group == HOST_LEVEL else group)
                counts["tests"] += 1
                if findings:
                    counts["failures"] += 1
                    text = "\n".join(f"{f['kind']} {f['policy']}: desired {_cell(f['desired'])}, "
                                     f"actual {_cell(f['actual'])}" for f in findings)
                    fail = ET.SubElement(case, "failure", type="drift",
                                         message=f"{len(findings)} finding(s) on {group}")
                    fail.text = text
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("status", str(s["status"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


class FilterModule:
    """policygroups.core.drift_report, drift_markdown, drift_junit"""

    def filters(self) -> dict[str, Any]:
        return {"drift_report": drift_report, "drift_markdown": drift_markdown, "drift_junit": drift_junit}
