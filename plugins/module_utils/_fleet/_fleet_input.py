# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet document as a playbook hands it to a controller plugin, made ready for ``validate_fleet``.

Shared by the ``validate`` and ``render_plans`` actions and the ``render`` filter: they receive the document's
parts from Ansible (lazily templated, tagged containers and ``str`` subclasses) and validate them before anything
else; the actions read every host's parts (document, facts, layers, selection) through ``hostvars``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Iterator

# The top-level keys of a fleet document, in the order the schema lists them.
FLEET_PARTS = ("policy_swap_tiers", "policy_groups")
# Inventory variables that shape a host's document: layers merged over policy_groups, and the groups it runs.
LAYER_PREFIX = "policy_groups__"
SELECT_PREFIX = "policy_groups_select__"


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


def _templated(value: Any) -> bool:
    """Whether ``value`` holds a string Jinja would template (a host's variables usually hold none)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value or "{#" in value
    if isinstance(value, Mapping):
        return any(_templated(k) or _templated(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_templated(v) for v in value)
    return False


class HostVariables:
    """One host's variables: a value without a template is taken as it is, the others are templated in the
    host's context (``hostvars``). Templating a document of 50 groups costs about 20 ms even when nothing in it
    is a template, which was most of a render of 1,000 hosts."""

    def __init__(self, raw: Mapping[str, Any], templated: Callable[[], Mapping[str, Any]]) -> None:
        self.raw = raw
        self._templated = templated
        self._view: Mapping[str, Any] | None = None

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def get(self, name: str) -> Any:
        if name not in self.raw:
            return None
        value = self.raw[name]
        if not _templated(value):
            return value
        if self._view is None:
            self._view = self._templated()
        return self._view[name]


def host_inputs(variables: HostVariables) -> tuple[dict[str, Any], Any, dict[str, Any], dict[str, Any]]:
    """(document, facts, layers, select) of one host, as the role's render step reads them: the fleet document,
    the facts from inventory or Ansible's fact cache, the ``policy_groups__*`` layers and the
    ``policy_groups_select__*`` selections, each by variable name."""
    document = {"policy_swap_tiers": variables.get("policy_swap_tiers"),
                "policy_groups": variables.get("policy_groups") or []}
    facts = variables.get("policy_groups_facts")
    if facts is None:
        facts = (variables.get("ansible_facts") or {}).get("policy_groups_facts")
    return document, facts, _named(variables, LAYER_PREFIX), _named(variables, SELECT_PREFIX)


def _named(variables: HostVariables, prefix: str) -> dict[str, Any]:
    """The host's variables named ``<prefix><something>``, by name, in sorted order."""
    names = sorted(k for k in variables if k.startswith(prefix) and len(k) > len(prefix))
    return {name: variables.get(name) for name in names}
