# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for policygroups.core.render_plans: every host's offline plan, written on the controller.

One task for the whole play (``run_once: true``): each host's inventory variables and cached facts are read
through ``hostvars``, rendered (``policygroups.core.render``), compared with the host's previous plan in the
directory (``policygroups.core.plan``) and written, then the fleet summary (``policygroups.core.fleet_plan``).
No host is contacted and no module runs: a task per host (and a file module run per host to write its plan)
made a render of 1,000 hosts take about 20 minutes.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Mapping
from typing import Any, Callable, Iterator

import yaml
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import to_nice_yaml

from ansible_collections.policygroups.core.plugins.filter.plan import fleet_plan, plan
from ansible_collections.policygroups.core.plugins.filter.render import ON_UNSUPPORTED, render

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "dest": {"type": "path", "required": True},
    "hosts": {"type": "list", "elements": "str", "required": True},
    "on_unsupported": {"type": "str", "default": "fail", "choices": list(ON_UNSUPPORTED)},
}
LAYER_PREFIX = "policy_groups__"
SUMMARY = "fleet-plan.md"


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


def host_inputs(variables: HostVariables) -> tuple[dict[str, Any], Any, list[Any]]:
    """(document, facts, layers) of one host, as the role's render step reads them: the fleet document, the
    facts from inventory or Ansible's fact cache, and the ``policy_groups__*`` layers in name order."""
    document = {"policy_swap_tiers": variables.get("policy_swap_tiers"),
                "policy_groups": variables.get("policy_groups") or []}
    facts = variables.get("policy_groups_facts")
    if facts is None:
        facts = (variables.get("ansible_facts") or {}).get("policy_groups_facts")
    layers = [variables.get(name)
              for name in sorted(k for k in variables if k.startswith(LAYER_PREFIX) and len(k) > len(LAYER_PREFIX))]
    return document, facts, layers


def previous_plan(path: str) -> Any:
    """The plan written at ``path`` by an earlier render, or None."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        return None


def write_if_changed(path: str, content: str, check_mode: bool) -> bool:
    """Write ``content`` to ``path`` (mode 0644, replaced atomically) unless it holds that already."""
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == content:
                return False
    except FileNotFoundError:
        pass
    if check_mode:
        return True
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".render-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return True


class ActionModule(ActionBase):
    """Render every host of ``hosts`` and write its plan and the fleet summary under ``dest``."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        all_vars: Any = (task_vars or {})["hostvars"]
        dest = os.path.realpath(args["dest"])
        check_mode = bool(self._task.check_mode)
        if not check_mode:
            os.makedirs(dest, mode=0o755, exist_ok=True)
        rendered: dict[str, dict[str, Any]] = {}
        plans: list[dict[str, Any]] = []
        errors: dict[str, str] = {}
        written: list[str] = []
        for host in args["hosts"]:
            try:
                variables = HostVariables(all_vars.raw_get(host), functools.partial(all_vars.__getitem__, host))
                document, facts, layers = host_inputs(variables)
                on_unsupported = variables.get("policy_groups_on_unsupported") or args["on_unsupported"]
                policy = render(document, facts, layers=layers, host=host, on_unsupported=on_unsupported)
            except Exception as exc:  # the host's render fails alone, as a per-host task would
                errors[host] = str(exc)
                continue
            path = os.path.join(dest, f"{host}.yml")
            host_plan = plan(policy, previous_plan(path))
            content = to_nice_yaml(host_plan, indent=2, sort_keys=False, width=1000)
            if write_if_changed(path, content, check_mode):
                written.append(path)
            rendered[host] = {"facts": policy["facts"], "unsupported": len(policy["unsupported"]),
                              "warnings": len(policy["warnings"])}
            plans.append(host_plan)
        if write_if_changed(os.path.join(dest, SUMMARY), fleet_plan(plans), check_mode):
            written.append(os.path.join(dest, SUMMARY))
        result.update(changed=bool(written), dest=dest, hosts=rendered, written=written, errors=errors)
        if errors:
            result["failed"] = True
            result["msg"] = "cannot render %d host(s):\n%s" % (
                len(errors), "\n".join(f"{host}: {message}" for host, message in sorted(errors.items())))
        return result
