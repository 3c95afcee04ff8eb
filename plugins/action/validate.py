# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for policygroups.core.validate: validates a fleet document on the controller.

No connection to the managed host is made; use it with ``run_once: true`` so the document is checked once
per play, before any host is touched. With ``hosts``, every distinct document those hosts get (the fleet document
with each host's layers merged over it and its selection made) is checked too, and each error names the layer
item or selection that caused it and the hosts it concerns.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.policygroups.core.plugins.filter.render import RenderError, merged_document
from ansible_collections.policygroups.core.plugins.module_utils._fleet._fleet_input import (
    HostVariables,
    fleet_document,
    host_inputs,
    plain,
)
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import (
    DEFAULT_NR_SWAP_TIERS,
    SchemaUnavailable,
    validate_fleet,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    # raw: the schema, not Ansible's type coercion, decides what a valid value is and says why.
    "policy_groups": {"type": "raw"},
    "policy_swap_tiers": {"type": "raw"},
    "nr_swap_tiers": {"type": "int", "default": DEFAULT_NR_SWAP_TIERS},
    "hosts": {"type": "list", "elements": "str", "default": []},
}
SHOWN_HOSTS = 3


def summary(doc: Mapping[str, Any]) -> str:
    groups = doc.get("policy_groups") or []
    tiers = doc.get("policy_swap_tiers") or []
    return "%d policy group%s and %d swap tier%s" % (
        len(groups), "" if len(groups) == 1 else "s", len(tiers), "" if len(tiers) == 1 else "s")


class ActionModule(ActionBase):
    """Validate ``policy_groups`` and ``policy_swap_tiers`` against the schema and the semantic rules."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp

        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        doc = fleet_document(args)
        try:
            errors = validate_fleet(doc, nr_swap_tiers=args["nr_swap_tiers"])
        except (SchemaUnavailable, ValueError) as exc:
            result.update(failed=True, changed=False, errors=[], msg=str(exc))
            return result

        result["changed"] = False
        result["errors"] = [error.to_dict() for error in errors]
        lines = [str(error) for error in errors]
        host_errors, documents = self._hosts(args["hosts"], task_vars or {}, args["nr_swap_tiers"]) \
            if not errors else ([], 0)
        result["host_errors"] = host_errors
        result["documents"] = documents
        for item in host_errors:
            hosts = item["hosts"]
            more = len(hosts) - SHOWN_HOSTS
            shown = ", ".join(hosts[:SHOWN_HOSTS]) + (f" and {more} more" if more > 0 else "")
            lines.extend(f"{shown}: {error}" for error in item["errors"])
        if lines:
            result["failed"] = True
            what = "the fleet document has" if errors else "the documents of the hosts have"
            result["msg"] = "%s %d error%s:\n%s" % (what, len(lines), "" if len(lines) == 1 else "s", "\n".join(lines))
        else:
            result["msg"] = "the fleet document is valid: %s" % summary(doc)
            if args["hosts"]:
                result["msg"] += "; %d host%s get %d distinct document%s, all valid" % (
                    len(args["hosts"]), "" if len(args["hosts"]) == 1 else "s", documents,
                    "" if documents == 1 else "s")
        return result

    @staticmethod
    def _hosts(hosts: list[str], task_vars: Mapping[str, Any], nr_swap_tiers: int
               ) -> tuple[list[dict[str, Any]], int]:
        """Each distinct document ``hosts`` get (layers merged, selection made), validated once: the errors of
        each, with the hosts that get it, and the number of distinct documents read. A host that is not in the
        inventory, or whose variables cannot be read, is an error of its own."""
        if not hosts:
            return [], 0
        all_vars: Any = task_vars["hostvars"]
        inventory = set((task_vars.get("groups") or {}).get("all") or ())
        by_document: dict[str, tuple[list[str], list[str]]] = {}
        unread: list[dict[str, Any]] = []
        for host in dict.fromkeys(hosts):  # each host once, in the order given
            if inventory and host not in inventory:
                unread.append({"hosts": [host], "errors": ["is not a host of the inventory"]})
                continue
            try:
                variables = HostVariables(all_vars.raw_get(host), functools.partial(all_vars.__getitem__, host))
                document, _facts, layers, select = host_inputs(variables)
                key = repr(plain([document, layers, select]))
            except Exception as exc:  # e.g. a template in its variables that fails: that host's error, not a crash
                unread.append({"hosts": [host], "errors": [f"cannot read its variables: {exc}"]})
                continue
            if key not in by_document:
                try:
                    errors = merged_document(document, layers, select, nr_swap_tiers)[1]
                except RenderError as exc:
                    errors = list(exc.errors)
                except Exception as exc:  # a value of a type no rule expected: that document's error, not a crash
                    errors = [f"cannot merge its layers and selection: {exc}"]
                by_document[key] = ([], errors)
            by_document[key][0].append(host)
        failed = [{"hosts": names, "errors": errors} for names, errors in by_document.values() if errors]
        return unread + failed, len(by_document)
