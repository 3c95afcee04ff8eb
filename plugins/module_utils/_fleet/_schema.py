# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet document JSON Schema: loading it and validating against it with ECMA-262 pattern semantics.

Controller side: needs the ``jsonschema`` package (see requirements.txt). The import is guarded so the
module can be imported without it; :func:`validator` then raises :class:`SchemaUnavailable`.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any, Iterator

try:
    import jsonschema
    import jsonschema.validators
    from jsonschema.exceptions import ValidationError as JsonSchemaError
except ImportError:  # pragma: no cover - exercised only where jsonschema is missing
    jsonschema = None  # type: ignore[assignment]
    JsonSchemaError = Exception  # type: ignore[assignment,misc]

SCHEMA_FILE = "policy_groups.schema.json"


class SchemaUnavailable(RuntimeError):
    """The schema file or the jsonschema library cannot be used."""


def schema_path() -> str:
    """The schema shipped with the collection: ``<collection root>/schemas/policy_groups.schema.json``."""
    here = os.path.abspath(__file__)  # <collection root>/plugins/module_utils/_fleet/_schema.py
    root = here
    for _level in range(4):
        root = os.path.dirname(root)
    return os.path.join(root, "schemas", SCHEMA_FILE)


@functools.lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """Read and parse the schema file (cached)."""
    path = schema_path()
    try:
        with open(path, encoding="utf-8") as handle:
            schema = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SchemaUnavailable("cannot read the fleet document schema %s: %s" % (path, exc)) from exc
    if not isinstance(schema, dict):
        raise SchemaUnavailable("the fleet document schema %s is not a JSON object" % path)
    return schema


def python_pattern(pattern: str) -> "re.Pattern[str]":
    """Compile a JSON Schema (ECMA-262) pattern with ECMA semantics for ``$``: the end of the string.

    Python's ``$`` also matches just before a trailing newline, so ``^[a-z]+$`` would accept ``"abc\\n"``;
    every unescaped ``$`` outside a character class becomes ``\\Z``.
    """
    return _compiled(pattern)


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> "re.Pattern[str]":
    out = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def _pattern_keyword(validator_: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    if validator_.is_type(instance, "string") and not python_pattern(pattern).search(instance):
        yield JsonSchemaError("%r does not match %r" % (instance, pattern))


@functools.lru_cache(maxsize=1)
def validator() -> Any:
    """A ``Draft202012Validator`` for the schema (cached per process). The schema ships with the collection and
    its unit tests check it against the metaschema (tests/unit/plugins/module_utils/test_schema.py), so it is not
    checked again here: each task's worker is a process of its own, and the check cost 30 ms of every one."""
    if jsonschema is None:
        raise SchemaUnavailable(
            "the Python package 'jsonschema' is required on the controller to validate fleet documents "
            "(pip install -r requirements.txt)")
    schema = load_schema()
    cls = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"pattern": _pattern_keyword})
    return cls(schema)
