"""Simulated hosts for the tests that run the playbooks and roles with ansible-playbook.

A simulated host is a FakeKernel tree (fakekernel.py) that plays reach with ``ansible_connection: local`` and
``policy_groups_host_root``. The simulated kernel's semantics (group files appearing on mkdir, effective values)
run in this process only: a module run by ansible-playbook writes through plain HostIO, i.e. plain files. So a
host that should start converged is reconciled here, before the playbook runs.

Test modules put this directory on sys.path and import from here; they keep their own documents and
assertions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fakekernel import FakeKernel, HostSpec

from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import reconcile

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".cache" / "collections"
LOCK_FILE = ("run", "policygroups.lock")  # taken by the modules in check mode too: the runs' rendezvous

needs_ansible_playbook = pytest.mark.skipif(
    shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) is None,
    reason="ansible-playbook not installed next to this interpreter",
)

TIERS: list[dict[str, Any]] = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
LATENCY: dict[str, Any] = {"name": "latency", "swap": {"tiers": ["fast"]}, "thp": "never", "oom_score_adj": -500,
                           "members": {"cgroups": ["/system.slice/api.service"]}}
BACKGROUND: dict[str, Any] = {"name": "background", "swap": {"tiers": ["slow"]}, "ksm": True}

# A host running api.service, with a fast (zram) and a slow (disk) swap device.
SERVICE_HOST = HostSpec(cgroups=("/system.slice", "/system.slice/api.service"),
                        swaps=(("/dev/zram0", 150), ("/dev/vdb", 10)))
# An address nothing answers (TEST-NET-1): an unreachable host.
UNREACHABLE: dict[str, str] = {"ansible_connection": "ssh", "ansible_host": "192.0.2.1", "ansible_user": "nobody"}

RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


# A play that runs the policy_groups role on every host, and where the role installs the boot-time restore.
ROLE_PLAY = """
- name: The policy_groups role
  hosts: all
  gather_facts: false
  roles: [policygroups.core.policy_groups]
"""
RESTORE_PYZ = "usr/local/lib/policygroups/policygroups-restore.pyz"


def fleet_document(*groups: dict[str, Any]) -> dict[str, Any]:
    """A fleet document: the two swap tiers and ``groups``."""
    return {"policy_swap_tiers": TIERS, "policy_groups": list(groups)}


def simulated_host(root: Path, spec: HostSpec = SERVICE_HOST, converged_to: dict[str, Any] | None = None) -> FakeKernel:
    """A host tree at ``root`` with an empty /etc/systemd/system; with ``converged_to``, its kernel already
    holds that document's tiers and groups."""
    kernel = FakeKernel(root, spec)
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    if converged_to is not None:
        document = converged_to
        outcome = reconcile(PolicyfsBackend(io=kernel), lambda _actual: normalize(document),
                            lock_path=str(root / "run" / "lock"))
        assert outcome.failed is None, outcome.error
    return kernel


def local_host(root: Path) -> dict[str, str]:
    """Inventory variables that make ansible-playbook manage the simulated host at ``root``."""
    return {"ansible_connection": "local", "policy_groups_host_root": str(root)}


def write_inventory(path: Path, hosts: dict[str, dict[str, Any]], variables: dict[str, Any],
                    children: dict[str, Any] | None = None) -> Path:
    """A JSON inventory: ``hosts``, ``variables`` for all of them (run with this interpreter), ``children``."""
    group: dict[str, Any] = {"hosts": hosts, "vars": {"ansible_python_interpreter": sys.executable, **variables}}
    if children:
        group["children"] = children
    path.write_text(json.dumps({"all": group}))
    return path


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment of ansible-playbook (and of the scripts that run it): this collection checkout, this
    interpreter's tools first on PATH, no colours, no retry files, short timeouts for unreachable hosts."""
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_TIMEOUT="3", PYTHON=sys.executable, **extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def ansible_playbook(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ansible-playbook", *args], cwd=cwd, env=env or ansible_env(), capture_output=True,
                          text=True, check=False)


ROLE_TASKS_PLAY = """
- name: {title}
  hosts: all
  gather_facts: false
  tasks:
    - name: Run {tasks_from}.yml
      ansible.builtin.include_role:
        name: {role}
        tasks_from: {tasks_from}
{after}"""


def run_role_tasks(tmp_path: Path, role: str, tasks_from: str, variables: dict[str, Any], *, title: str,
                   after: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one task file of ``role`` (include_role tasks_from) on this machine (ansible_connection: local) with the
    extra vars ``variables``; ``after`` holds tasks (YAML, indented as a play's) to run after it."""
    inventory = write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    (tmp_path / "play.yml").write_text(ROLE_TASKS_PLAY.format(title=title, role=role, tasks_from=tasks_from,
                                                              after=after))
    return ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "-e", json.dumps(variables), env=env)


RESULT_LINE = re.compile(r"^(?:ok|changed|fatal|failed): \[(\S+?)\](?: => |: FAILED! => )(\{.*\})$", re.MULTILINE)


def task_results(output: str, task: str, host: str) -> list[dict[str, Any]]:
    """The results ``host`` got from the tasks whose name contains ``task``, from a run with ``-v`` and
    ``json_results_env()`` (one line of JSON per result)."""
    found: list[dict[str, Any]] = []
    for block in output.split("\nTASK [")[1:]:
        header, _sep, body = block.partition("\n")
        if task in header:
            found += [json.loads(m.group(2)) for m in RESULT_LINE.finditer(body) if m.group(1) == host]
    return found


def json_results_env(**extra: str) -> dict[str, str]:
    """``ansible_env`` with each result on one line of JSON when ansible-playbook runs with ``-v``."""
    return ansible_env(ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_CALLBACK_FORMAT_PRETTY="false", **extra)


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of ansible-playbook's output: per host, its changed, unreachable and failed counts."""
    return {m.group(1): {"changed": int(m.group(3)), "unreachable": int(m.group(4)), "failed": int(m.group(5))}
            for m in RECAP.finditer(output.split("PLAY RECAP", 1)[-1])}


def host_files(base: Path, pattern: str = "**/*") -> list[str]:
    """The files and directories below ``base`` matching ``pattern``, relative to it, without the lock file."""
    return sorted(str(p.relative_to(base)) for p in base.glob(pattern) if p.parts[-2:] != LOCK_FILE)


def check_mode_by(mode: str) -> tuple[str, list[str]]:
    """What puts a run in check mode: the play (``play``; the ``check_mode: true`` line, indented for a play's
    keys, which ``ansible_check_mode`` does not show), the command line (``cli``: ``--check``) or nothing
    (``none``). Returns the play line (or "") and the arguments of ansible-playbook."""
    if mode not in ("play", "cli", "none"):
        raise ValueError(f"unknown check mode source {mode!r}")
    return ("  check_mode: true\n" if mode == "play" else ""), (["--check"] if mode == "cli" else [])
