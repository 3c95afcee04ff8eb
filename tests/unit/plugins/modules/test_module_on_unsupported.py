"""One vocabulary for what a host cannot honour: on_unsupported fail|drop on the modules, as on the role and the
render filter; the old names (option unsupported, value warn; the filter's keep) still work, deprecated."""

from __future__ import annotations

from typing import Any

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.policygroups.core.plugins.filter.render import render
from ansible_collections.policygroups.core.plugins.module_utils._module import _mainline_module
from ansible_collections.policygroups.core.plugins.module_utils._module._mainline_module import MAINLINE_ARGS


class FakeModule:
    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.deprecations: list[str] = []

    def deprecate(self, msg: str, **_: Any) -> None:
        self.deprecations.append(msg)


def validated(params: dict[str, Any]) -> Any:
    return ArgumentSpecValidator(MAINLINE_ARGS).validate(params)


@pytest.mark.parametrize(("given", "engine"), [("fail", "fail"), ("drop", "warn")])
def test_on_unsupported_fail_or_drop(given: str, engine: str) -> None:
    result = validated({"on_unsupported": given})
    assert result.error_messages == [] and result._deprecations == []
    module = FakeModule(result.validated_parameters)
    assert _mainline_module.engine_unsupported(module) == engine and module.deprecations == []


def test_old_option_name_and_value_are_deprecated() -> None:
    result = validated({"unsupported": "warn"})
    assert result.error_messages == []
    assert ["unsupported" in d["msg"] for d in result._deprecations] == [True]
    module = FakeModule(result.validated_parameters)
    assert _mainline_module.engine_unsupported(module) == "warn"
    assert module.deprecations and "drop" in module.deprecations[0]


def test_render_filter_speaks_fail_and_drop() -> None:
    doc = {"policy_groups": [{"name": "g", "numa": {"mode": "bind", "nodes": "5"}}]}
    facts = {"available": True, "abi_version": 1, "features": ["numa"], "swap_tiers": [], "swap_devices": [],
             "numa_nodes": [0]}
    failing = render(doc, facts, on_unsupported="fail")
    assert [u["action"] for u in failing["unsupported"]] == ["kept"]
    assert render(doc, facts)["unsupported"] == failing["unsupported"]  # fail is the default
    assert [u["action"] for u in render(doc, facts, on_unsupported="drop")["unsupported"]] == ["dropped"]
    assert render(doc, facts, on_unsupported="keep")["unsupported"] == failing["unsupported"]
