"""The boot-time restore as one runnable zip (module_utils/_fleet/_restore_pack.py), as the role installs it."""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
FILES = REPO / "roles" / "policy_groups" / "files"
ENGINE = REPO / "plugins" / "module_utils"
# The subpackages the role packs: read from the role itself, so that the tests pack what the role packs.
PACKAGES: list[str] = yaml.safe_load((REPO / "roles" / "policy_groups" / "vars" / "main.yml").read_text())[
    "__policy_groups_engine_packages"]
# Code the host's Python cannot import at boot: the collection by its absolute name (the restore carries the
# engine as its own package), ansible-core, jsonschema.
CONTROLLER_PACKAGES = {"ansible_collections", "ansible", "jsonschema"}
sys.path.insert(0, str(REPO / "tests" / "unit"))

from fakekernel import FakeKernel, HostSpec  # noqa: E402

from ansible_collections.policygroups.core.plugins.module_utils._fleet._restore_pack import (  # noqa: E402
    PackError,
    pack_bytes,
)


def pack(out: Path) -> Path:
    out.write_bytes(pack_bytes(str(FILES / "policygroups-restore.py"), [str(ENGINE / p) for p in PACKAGES]))
    return out


def test_archive_layout_and_reproducible_bytes(tmp_path: Path) -> None:
    first, second = pack(tmp_path / "a.pyz"), pack(tmp_path / "b.pyz")
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    names = zipfile.ZipFile(first).namelist()
    assert names == sorted(names) and names[0] == "__main__.py"
    assert "policygroups_engine/__init__.py" in names and "policygroups_engine/_engine/_reconcile.py" in names
    assert "policygroups_engine/_systemd/__init__.py" in names
    assert {n.split("/")[1] for n in names if n.count("/") == 2} == set(PACKAGES)


def test_a_directory_that_is_no_package_is_refused(tmp_path: Path) -> None:
    (tmp_path / "loose").mkdir()
    with pytest.raises(PackError, match="no __init__.py"):
        pack_bytes(str(FILES / "policygroups-restore.py"), [str(tmp_path / "loose")])


def test_the_packed_restore_runs_with_the_host_python_alone(tmp_path: Path) -> None:
    root = tmp_path / "host"
    FakeKernel(root, HostSpec(swaps=(("/dev/zram0", 150),)))
    doc = {"format": 1, "policy_root": "/sys/fs/cgroup/policy", "purge": False, "tiers_purge": True,
           "policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
           "policy_groups": [{"name": "latency", "parent": None, "state": "present", "thp": "never",
                              "swap": {"tiers": ["fast"]}, "members": {"cgroups": [], "systemd_units": [], "pids": []}}]}
    (root / "etc" / "policygroups").mkdir(parents=True)
    (root / "etc" / "policygroups" / "policy.json").write_text(json.dumps(doc))
    pyz = pack(tmp_path / "policygroups-restore.pyz")
    # -I: isolated, nothing from this checkout or the venv's site-packages is importable, only the archive
    run = subprocess.run([sys.executable, "-I", str(pyz), "--root", str(root), "--check"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "would set_tiers" in run.stderr and "would create_group latency" in run.stderr
    assert "would apply 4 operation(s)" in run.stderr


def _absolute_imports(path: Path) -> set[str]:
    """Top-level packages a module imports by absolute name (at module level or inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_pack_carries_no_controller_only_code() -> None:
    # A packed file importing the collection by name, ansible or jsonschema fails at boot, when the restore runs.
    packed = sorted(p for package in PACKAGES for p in (ENGINE / package).glob("*.py"))
    offending = {str(p.relative_to(ENGINE)): sorted(_absolute_imports(p) & CONTROLLER_PACKAGES) for p in packed}
    assert {name: found for name, found in offending.items() if found} == {}


def _engine_imports(path: Path, package: str) -> set[tuple[str, str]]:
    """The (subpackage, module) pairs of module_utils that a file imports: relative imports from ``package``, and
    ``policygroups_engine.<subpackage>.<module>`` as the restore's entry point names them. A form not recognised
    here fails the test rather than being skipped."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "policygroups_engine":
                    assert len(parts) == 3, f"{path.name}: import {alias.name}"
                    found.add((parts[1], parts[2]))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        parts = node.module.split(".") if node.module else []
        names = [alias.name for alias in node.names]
        if node.level == 0:
            if parts[:1] != ["policygroups_engine"]:
                continue
            if len(parts) == 3:
                found.add((parts[1], parts[2]))
            elif len(parts) == 2:
                found |= {(parts[1], name) for name in names}
            else:
                raise AssertionError(f"{path.name}: from {node.module} import {', '.join(names)}")
        elif node.level == 1 and len(parts) <= 1:
            found |= {(package, parts[0])} if parts else {(package, name) for name in names}
        elif node.level == 2 and len(parts) in (1, 2):
            found |= {(parts[0], parts[1])} if len(parts) == 2 else {(parts[0], name) for name in names}
        else:
            raise AssertionError(f"{path.name}: a relative import this test does not follow "
                                 f"(level {node.level}, module {node.module!r})")
    return found


def test_the_pack_is_exactly_what_the_restore_imports() -> None:
    # Follow the imports from the entry point: every module it reaches is in a packed subpackage (nothing is missing
    # at boot), and every packed subpackage is reached (the list stays exact).
    todo = _engine_imports(FILES / "policygroups-restore.py", "")
    seen: set[tuple[str, str]] = set()
    while todo:
        package, module = todo.pop()
        if (package, module) in seen:
            continue
        seen.add((package, module))
        source = ENGINE / package / f"{module}.py"
        assert source.is_file(), f"{package}.{module} is imported but is no module of plugins/module_utils"
        todo |= _engine_imports(source, package)
    assert {pair[0] for pair in seen} == set(PACKAGES)
