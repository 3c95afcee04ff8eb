# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet document as a playbook hands it to a controller plugin, made ready for ``validate_fleet``.

Shared by the ``validate`` action and the ``render`` filter: both receive the document's parts from Ansible
(lazily templated, tagged containers and ``str`` subclasses) and validate them before anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The top-level keys of a fleet document, in the order the schema lists them.
FLEET_PARTS = ("policy_swap_tiers", "policy_groups")


def plain(value: Any) -> Any:
    """A plain-Python copy of ``value`` (dict with ``str`` keys, list, str, int, float, bool, None).

    Ansible hands plugins lazily templated, tagged containers; every access to them may template again, which
    made deep copies and schema validation of a 50-group document take tens of seconds, and their subclasses
    leak into messages. One pass here, then everything downstream works on ordinary objects.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value  # already plain: the common case, without the isinstance checks below (a render of 1,000
        # hosts makes millions of these calls)
    if kind is dict:
        return {k if k.__class__ is str else str(k): plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def fleet_document(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The fleet document made of ``parts``, as plain Python: a part that is omitted or null is absent."""
    return {key: plain(parts[key]) for key in FLEET_PARTS if parts.get(key) is not None}
