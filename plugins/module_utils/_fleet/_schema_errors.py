# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema violations of a fleet document as readable errors: a path into the document and what was expected.

jsonschema's own messages quote regular expressions and say "is not valid under any of the given schemas";
operators get an explanation instead (from ``_names`` for name patterns, from the schema's ``errorMessage``
annotations for combinations such as ``swap``).
"""

from __future__ import annotations

import difflib
import functools
import json
from typing import Any, Callable, Iterator

from ansible_collections.policygroups.core.plugins.module_utils._engine._names import (
    cgroup_path_problem,
    group_name_problem,
    node_list_problem,
    tier_name_problem,
    unit_name_problem,
)
from ansible_collections.policygroups.core.plugins.module_utils._fleet._schema import load_schema, validator
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validation_error import (
    PathElement,
    ValidationError,
    render_path,
)

_EXPLAINERS_BY_DEF: dict[str, Callable[[str], "str | None"]] = {
    "groupName": group_name_problem,
    "tierName": tier_name_problem,
    "cgroupPath": cgroup_path_problem,
    "unitName": unit_name_problem,
}

# Validators whose failure is better explained by the schema's own ``errorMessage`` annotation.
_CUSTOM_MESSAGE_VALIDATORS = frozenset({"oneOf", "anyOf", "not", "const", "required"})


@functools.lru_cache(maxsize=1)
def _pattern_explainers() -> dict[str, Callable[[str], "str | None"]]:
    """Schema pattern -> function explaining a failure (the raw regex says nothing to an operator)."""
    defs = load_schema().get("$defs", {})
    explainers = {defs[name]["pattern"]: explain for name, explain in _EXPLAINERS_BY_DEF.items()
                  if "pattern" in defs.get(name, {})}
    nodes = defs.get("numa", {}).get("properties", {}).get("nodes", {})
    if "pattern" in nodes:
        explainers[nodes["pattern"]] = node_list_problem
    return explainers


_JSON_TYPES = {
    "object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "a boolean (true or false)", "null": "null",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected_types(types: Any) -> str:
    if isinstance(types, str):
        types = [types]
    return " or ".join(_JSON_TYPES.get(t, t) for t in types)


def schema_errors(doc: Any) -> list[ValidationError]:
    """Every schema violation in ``doc`` (not only the first), each with a path and a readable message."""
    out: list[ValidationError] = []
    for error in validator().iter_errors(doc):
        out.extend(_translate(error, list(error.absolute_path)))
    return out


def _translate(error: Any, path: list[PathElement]) -> Iterator[ValidationError]:
    kind = error.validator
    value = error.instance
    custom = None
    if kind in _CUSTOM_MESSAGE_VALIDATORS and isinstance(error.schema, dict):
        custom = error.schema.get("errorMessage")

    if kind == "required":
        for name in error.validator_value:
            if isinstance(value, dict) and name not in value:
                yield ValidationError(render_path(path + [name]), custom or "is required")
        return
    if kind == "not" and isinstance(error.validator_value, dict) and "required" in error.validator_value:
        for name in error.validator_value["required"]:
            yield ValidationError(render_path(path + [name]), custom or "is not allowed here")
        return
    if custom:
        yield ValidationError(render_path(path), custom)
        return
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(error.schema.get("properties", {}))
        for name in sorted(set(value) - set(allowed), key=str):
            yield ValidationError(render_path(path + [str(name)]), _unknown_field(str(name), allowed))
        return
    if kind == "uniqueItems" and isinstance(value, list):
        seen: dict[str, int] = {}
        for index, item in enumerate(value):
            key = json.dumps(item, sort_keys=True, default=str)
            if key in seen:
                yield ValidationError(render_path(path + [index]), "duplicate of %s (%s); each entry may appear once"
                                      % (render_path(path + [seen[key]]), _show(item)))
            else:
                seen[key] = index
        return
    if kind in ("anyOf", "oneOf") and error.context:
        # Explain the branch whose type matched (e.g. parent: a name that is not a valid group name).
        relevant = [sub for sub in error.context if sub.validator != "type"]
        if relevant:
            for sub in relevant:
                yield from _translate(sub, path + list(sub.relative_path))
            return
        types = [sub.validator_value for sub in error.context if sub.validator == "type"]
        yield ValidationError(render_path(path), "expected %s, got %s" % (
            " or ".join(_expected_types(t) for t in types), _type_name(value)))
        return
    yield ValidationError(render_path(path), _message(error))


def _boolean_hint(value: bool) -> str:
    """YAML 1.1 (Ansible's inventory and vars files) reads yes/no/on/off/true/false, unquoted, as booleans."""
    words = "'yes', 'on'" if value else "'no', 'off'"
    return " (YAML reads an unquoted yes, no, on, off, true or false as a boolean; to mean the word, quote it: " \
        "%s)" % words


def _unknown_field(name: str, allowed: list[str]) -> str:
    """Name the field the writer probably meant (a typo such as ``oom_score`` or ``member``) before the list."""
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return "unknown field; did you mean %r? (expected one of: %s)" % (close[0], ", ".join(allowed))
    message = "unknown field; expected one of: %s" % ", ".join(allowed)
    if name in ("True", "False"):
        message += " (a key written yes, no, on, off, true or false is read by YAML as a boolean)"
    return message


def _wants_text(schema: Any) -> bool:
    """The schema expects a string (type string, or an enum of strings), so a boolean there was a word."""
    if not isinstance(schema, dict):
        return False
    types = schema.get("type")
    if types == "string" or (isinstance(types, list) and "string" in types and "boolean" not in types):
        return True
    enum = schema.get("enum")
    return isinstance(enum, list) and any(isinstance(v, str) for v in enum) and not any(
        isinstance(v, bool) for v in enum)


def _message(error: Any) -> str:
    kind = error.validator
    expected = error.validator_value
    value = error.instance
    if kind == "type":
        hint = ""
        if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false", "on", "off") \
                and "boolean" in (expected if isinstance(expected, list) else [expected]):
            hint = " (write true or false without quotes)"
        if isinstance(value, str) and "integer" in (expected if isinstance(expected, list) else [expected]):
            hint = " (write the number without quotes)"
        if isinstance(value, bool) and _wants_text(error.schema):
            hint = _boolean_hint(value)
        return "expected %s, got %s %s%s" % (_expected_types(expected), _type_name(value), _show(value), hint)
    if kind == "enum":
        hint = _boolean_hint(value) if isinstance(value, bool) and _wants_text(error.schema) else ""
        return "expected one of: %s; got %s%s" % (", ".join(str(v) for v in expected), _show(value), hint)
    if kind == "const":
        return "must be %s; got %s" % (json.dumps(expected), _show(value))
    if kind == "pattern" and isinstance(value, str):
        explain = _pattern_explainers().get(expected)
        problem = explain(value) if explain else None
        return problem or "does not match the pattern %s" % expected
    if kind == "minimum":
        return "must be at least %s; got %s" % (expected, _show(value))
    if kind == "maximum":
        return "must be at most %s; got %s" % (expected, _show(value))
    if kind == "minItems":
        return "must list at least %d item%s" % (expected, "" if expected == 1 else "s")
    if kind == "maxItems":
        return "must list at most %d items; got %d" % (expected, len(value))
    if kind == "maxLength":
        return "is %d characters long; at most %d are allowed" % (len(value), expected)
    if kind == "minLength":
        return "must be at least %d characters long" % expected
    return str(error.message)
