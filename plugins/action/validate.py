# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for policygroups.core.validate: validates a fleet document on the controller.

No connection to the managed host is made; use it with ``run_once: true`` so the document is checked once
per play, before any host is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.policygroups.core.plugins.module_utils._fleet_input import fleet_document
from ansible_collections.policygroups.core.plugins.module_utils._validate import (
    DEFAULT_NR_SWAP_TIERS,
    SchemaUnavailable,
    validate_fleet,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    # raw: the schema, not Ansible's type coercion, decides what a valid value is and says why.
    "policy_groups": {"type": "raw"},
    "policy_swap_tiers": {"type": "raw"},
    "nr_swap_tiers": {"type": "int", "default": DEFAULT_NR_SWAP_TIERS},
}


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
        if errors:
            lines = [str(error) for error in errors]
            result["failed"] = True
            result["msg"] = "the fleet document has %d error%s:\n%s" % (
                len(errors), "" if len(errors) == 1 else "s", "\n".join(lines))
        else:
            result["msg"] = "the fleet document is valid: %s" % summary(doc)
        return result
