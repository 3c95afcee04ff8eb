"""reconcile(verify=True): after applying, the host is read and planned again under the same lock; anything still
to do fails the run with what it is (the role's verification, without a round trip of its own)."""

from __future__ import annotations

from pathlib import Path

from fakekernel import FakeKernel, HostSpec

from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import HostPolicy, normalize
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import Outcome, reconcile

DOC = {"policy_groups": [{"name": "latency", "thp": "never", "oom_score_adj": -500}]}


class ForgetfulKernel(FakeKernel):
    """Accepts a write to policy.thp and keeps the old value, as a kernel that takes a write it then undoes."""

    def _write_group_file(self, path: str, group: str, name: str, value: str) -> None:
        if name == "policy.thp":
            return
        super()._write_group_file(path, group, name, value)


def run(kernel: FakeKernel, **kwargs: object) -> Outcome:
    desired: HostPolicy = normalize(DOC)
    return reconcile(PolicyfsBackend(io=kernel), lambda _actual: desired,
                     lock_path=kernel.real("/run/policygroups.lock"), **kwargs)


def test_verify_passes_on_a_host_that_took_every_write(kernel: FakeKernel) -> None:
    outcome = run(kernel, verify=True)
    assert outcome.ok and outcome.changed
    assert "verify_remaining" not in outcome.result()
    assert kernel.value("latency", "thp") == "never"
    again = run(kernel, verify=True)
    assert again.ok and not again.changed


def test_verify_fails_with_what_the_host_still_differs_in(tmp_path: Path) -> None:
    kernel = ForgetfulKernel(tmp_path / "host", HostSpec())
    outcome = run(kernel, verify=True)
    result = outcome.result()
    assert not outcome.ok
    assert result["verify_remaining"] == [
        {"op": "set_policy", "group": "latency", "key": "thp", "before": "inherit", "after": "never"}]
    assert "after applying, 1 change(s) are still planned" in result["msg"]
    assert "latency: thp inherit -> never" in result["msg"]
    # what was applied is reported as such: the run changed the host
    assert outcome.changed and sorted(op.key for op in outcome.applied if op.op == "set_policy") == [
        "oom_score_adj", "thp"]


def test_without_verify_the_same_host_is_reported_as_applied(tmp_path: Path) -> None:
    kernel = ForgetfulKernel(tmp_path / "host", HostSpec())
    outcome = run(kernel)
    assert outcome.ok and "verify_remaining" not in outcome.result()


def test_check_mode_does_not_verify(tmp_path: Path) -> None:
    kernel = ForgetfulKernel(tmp_path / "host", HostSpec())
    outcome = run(kernel, check_mode=True, verify=True)
    assert outcome.ok and kernel.writes == []
    assert "verify_remaining" not in outcome.result()
