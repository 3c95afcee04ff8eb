"""The contract every backend keeps, run against both (the policyfs backend on the simulated kernel, the
systemd backend on a host tree with a fake systemctl): one run loop, one result shape.

- the result has the same keys, and ``groups`` entries the same shape, on both;
- check mode writes nothing, and returns the groups "as they would be": the same groups, diff and changes a
  real run then reports;
- a second run changes nothing;
- what the host cannot express fails the run before any write, or with ``unsupported="warn"`` is left out,
  reported in ``unsupported`` and the rest applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from fakekernel import FakeKernel, HostSpec

from ansible_collections.policygroups.core.plugins.module_utils._engine._backend import Backend
from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._systemd._backend_systemd import SystemdBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import (
    Outcome,
    UnsupportedPolicyError,
    reconcile,
)

from .fakesystemd import FakeSystemd

UNIT, PARENT_UNIT = "pg-demo.service", "pg-bg.service"
# What both backends express: policies set on a parent, a child that sets its own, units as members (the
# systemd backend keeps a group on the host only through its units' drop-ins).
DOC = [
    {"name": "background", "ksm": True, "oom_score_adj": 500, "members": {"systemd_units": [PARENT_UNIT]}},
    {"name": "demo", "parent": "background", "oom_score_adj": 300, "members": {"systemd_units": [UNIT]}},
]
RESULT_KEYS = {"changed", "backend", "changes", "diff", "groups", "unsupported", "restart_required"}
MEMBER_KEYS = {"cgroups", "systemd_units", "pids"}


@dataclass
class Host:
    """One backend on a test host, and how to tell that nothing on it was written."""

    name: str
    backend: Callable[[], Backend]
    lock: str
    snapshot: Callable[[], Any]


def policyfs_host(tmp_path: Path, without_thp: bool) -> Host:
    features = ("ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "mem_priority", "bind") \
        if without_thp else None
    spec = HostSpec(cgroups=("/system.slice", f"/system.slice/{UNIT}", f"/system.slice/{PARENT_UNIT}"))
    if features:
        spec = HostSpec(cgroups=spec.cgroups, features=features)
    kernel = FakeKernel(tmp_path / "host", spec)
    (tmp_path / "host" / "run").mkdir(exist_ok=True)
    return Host("policyfs", lambda: PolicyfsBackend(io=kernel), str(tmp_path / "host" / "run" / "lock"),
                lambda: (kernel.groups(), len(kernel.writes)))


def systemd_host(tmp_path: Path, without_thp: bool) -> Host:
    fake = FakeSystemd(tmp_path)  # systemd 257 has no MemoryTHP=: thp cannot be expressed
    fake.add_unit(UNIT)
    fake.add_unit(PARENT_UNIT)
    (tmp_path / "run").mkdir(exist_ok=True)

    def snapshot() -> Any:
        return sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "etc").rglob("*")), fake.ops()

    return Host("systemd", lambda: SystemdBackend(root=str(tmp_path), runner=fake), str(tmp_path / "run" / "lock"),
                snapshot)


HOSTS = {"policyfs": policyfs_host, "systemd": systemd_host}


@pytest.fixture(params=sorted(HOSTS))
def make_host(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[bool], Host]:
    return lambda without_thp=False: HOSTS[request.param](tmp_path, without_thp)


def run(host: Host, groups: list[dict[str, Any]], **kwargs: Any) -> Outcome[Any]:
    return reconcile(host.backend(), lambda _actual: normalize({"policy_groups": groups}), lock_path=host.lock,
                     resolve_unit=lambda unit: f"/system.slice/{unit}", **kwargs)


def test_both_backends_return_the_same_shape(make_host: Callable[[bool], Host]) -> None:
    host = make_host(False)
    result = run(host, DOC).result()
    assert set(result) == RESULT_KEYS and result["backend"] == host.name
    assert set(result["diff"]) == {"before", "after"}
    assert sorted(result["groups"]) == ["background", "background/demo"]
    for path, group in result["groups"].items():
        assert set(group) == {"name", "parent", "policies", "settings", "members"}
        assert set(group["members"]) == MEMBER_KEYS
        assert group["name"] == path.rpartition("/")[2]
    assert result["groups"]["background/demo"]["parent"] == "background"
    assert result["groups"]["background/demo"]["policies"]["oom_score_adj"] == "300"
    # settings: the policies in the fleet document's form and types, on both backends (a top-level group's as
    # written; the systemd backend flattens a child's unit to what it inherits too, so only its own value there)
    written = {k: v for k, v in DOC[0].items() if k not in ("name", "parent", "members")}
    assert result["groups"]["background"]["settings"] == written == {"ksm": True, "oom_score_adj": 500}
    assert result["diff"]["after"]["background"]["settings"] == written
    assert result["groups"]["background/demo"]["settings"]["oom_score_adj"] == 300
    assert all(isinstance(c, dict) and set(c) == {"op", "group", "key", "before", "after"} for c in result["changes"])


def test_check_mode_writes_nothing_and_shows_the_groups_as_they_would_be(make_host: Callable[[bool], Host]) -> None:
    host = make_host(False)
    before = host.snapshot()
    checked = run(host, DOC, check_mode=True).result()
    assert checked["changed"] and host.snapshot() == before
    applied = run(host, DOC).result()
    assert applied["changed"]
    assert checked["groups"] == applied["groups"] and checked["groups"] != {}
    assert checked["changes"] == applied["changes"] and checked["diff"] == applied["diff"]
    assert checked["diff"]["before"] == {} and sorted(checked["diff"]["after"]) == ["background", "background/demo"]


def test_a_second_run_changes_nothing(make_host: Callable[[bool], Host]) -> None:
    host = make_host(False)
    first = run(host, DOC).result()
    again = run(host, DOC).result()
    assert not again["changed"] and again["changes"] == [] and again["diff"] == {"before": {}, "after": {}}
    assert again["groups"] == first["groups"]


def test_what_the_host_cannot_express_fails_before_any_write(make_host: Callable[[bool], Host]) -> None:
    host = make_host(True)
    before = host.snapshot()
    with pytest.raises(UnsupportedPolicyError) as refused:
        run(host, [{**DOC[0], "thp": "never"}, DOC[1]])
    assert [(f.group, f.policy) for f in refused.value.findings] == [("background", "thp")]
    assert str(refused.value).startswith(f"not supported on this host ({host.name} backend), nothing was changed: ")
    assert host.snapshot() == before


def test_unsupported_warn_leaves_it_out_and_applies_the_rest(make_host: Callable[[bool], Host]) -> None:
    host = make_host(True)
    outcome = run(host, [{**DOC[0], "thp": "never"}, DOC[1]], unsupported="warn")
    result = outcome.result()
    assert outcome.ok and result["changed"]
    assert [(u["group"], u["policy"]) for u in result["unsupported"]] == [("background", "thp")]
    assert result["groups"]["background/demo"]["policies"]["oom_score_adj"] == "300"
    assert result["groups"]["background"]["policies"].get("thp", "inherit") == "inherit"
    again = run(host, [{**DOC[0], "thp": "never"}, DOC[1]], unsupported="warn").result()
    assert not again["changed"] and [(u["group"], u["policy"]) for u in again["unsupported"]] == [("background", "thp")]


def test_a_tier_table_on_a_mainline_kernel_is_refused_before_any_write(tmp_path: Path) -> None:
    # The systemd backend has no swap tiers: a table asked of it is refused, never answered with an empty one.
    from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import UnsupportedError

    host = systemd_host(tmp_path, False)
    before = host.snapshot()
    with pytest.raises(UnsupportedError, match="swap tiers are not supported by this kernel"):
        reconcile(host.backend(), lambda _actual: normalize({"policy_swap_tiers": [{"name": "fast", "start_priority": -1}]}),
                  lock_path=host.lock, resolve_unit=lambda unit: f"/system.slice/{unit}")
    assert host.snapshot() == before
