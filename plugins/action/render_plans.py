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
from typing import Any

import yaml
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import to_nice_yaml

from ansible_collections.policygroups.core.plugins.filter.plan import fleet_plan, plan
from ansible_collections.policygroups.core.plugins.filter.render import ON_UNSUPPORTED, render
from ansible_collections.policygroups.core.plugins.module_utils._fleet._fleet_input import HostVariables, host_inputs

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "dest": {"type": "path", "required": True},
    "hosts": {"type": "list", "elements": "str", "required": True},
    "on_unsupported": {"type": "str", "default": "fail", "choices": list(ON_UNSUPPORTED)},
}
SUMMARY = "fleet-plan.md"


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
                document, facts, layers, select = host_inputs(variables)
                on_unsupported = variables.get("policy_groups_on_unsupported") or args["on_unsupported"]
                policy = render(document, facts, layers=layers, host=host, on_unsupported=on_unsupported,
                                select=select)
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
