# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of a fleet document on the controller: the JSON Schema plus the rules a schema cannot say.

``validate_fleet`` is a pure function: it reports every problem, each with its exact path, in a
deterministic order (document position), and never stops at the first.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.policygroups.core.plugins.module_utils._fleet._fleet_rules import (
    DEFAULT_NR_SWAP_TIERS,
    semantic_errors,
)
from ansible_collections.policygroups.core.plugins.module_utils._fleet._schema import SchemaUnavailable
from ansible_collections.policygroups.core.plugins.module_utils._fleet._schema_errors import schema_errors
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validation_error import ValidationError

__all__ = ["DEFAULT_NR_SWAP_TIERS", "SchemaUnavailable", "ValidationError", "validate_fleet"]

MAX_NR_SWAP_TIERS = 30  # the kernel's CONFIG_NR_SWAP_TIERS range is 1..30
_GROUP_PATH = re.compile(r"^policy_groups\[(\d+)\]")
_PATH_TOKEN = re.compile(r"\[(\d+)\]|\[('(?:[^'\\]|\\.)*')\]|\.?([A-Za-z_][A-Za-z0-9_]*)")


def validate_fleet(doc: Any, nr_swap_tiers: int = DEFAULT_NR_SWAP_TIERS) -> list[ValidationError]:
    """All problems in the fleet document ``doc`` (``policy_swap_tiers`` and ``policy_groups``).

    An empty list means the document is valid. Raises ``ValueError`` for an ``nr_swap_tiers`` outside the
    kernel's range and ``SchemaUnavailable`` when the schema or jsonschema cannot be loaded.
    """
    if isinstance(nr_swap_tiers, bool) or not isinstance(nr_swap_tiers, int) \
            or not 1 <= nr_swap_tiers <= MAX_NR_SWAP_TIERS:
        raise ValueError("nr_swap_tiers must be an integer 1..%d, got %r" % (MAX_NR_SWAP_TIERS, nr_swap_tiers))
    errors = set(schema_errors(doc)) | set(semantic_errors(doc, nr_swap_tiers))
    return [_with_group_name(error, doc, errors) for error in sorted(errors, key=_order)]


def _with_group_name(error: ValidationError, doc: Any, errors: set[ValidationError]) -> ValidationError:
    """``policy_groups[1].oom_score_adj`` -> ``policy_groups[1] (postgres).oom_score_adj``.

    An index alone sends the reader counting list items across files; the name says which group at a glance.
    A name that is itself in error (missing, not a string, unsafe, duplicate) is left out: the message says it.
    """
    match = _GROUP_PATH.match(error.path)
    if not match or not isinstance(doc, dict) or not isinstance(doc.get("policy_groups"), list):
        return error
    index = int(match.group(1))
    group = doc["policy_groups"][index] if index < len(doc["policy_groups"]) else None
    name = group.get("name") if isinstance(group, dict) else None
    prefix = match.group(0)
    if not isinstance(name, str) or any(e.path == prefix + ".name" for e in errors):
        return error
    return ValidationError("%s (%s)%s" % (prefix, name, error.path[len(prefix):]), error.message)


def _order(error: ValidationError) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """Document position first (list indices numerically), then the message for a stable tie-break."""
    key: list[tuple[int, int, str]] = []
    for index, quoted, name in _PATH_TOKEN.findall(error.path):
        key.append((0, int(index), "") if index else (1, 0, quoted or name))
    return (tuple(key), error.message)
