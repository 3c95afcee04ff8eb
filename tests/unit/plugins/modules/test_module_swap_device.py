"""The swap_device module: its arguments, results, check and diff mode, and failures, on the simulated host."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fakeswap import FakeSwap, SwapSpec  # noqa: E402

from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.policygroups.core.plugins.modules import swap_device  # noqa: E402

Run = Callable[..., "dict[str, Any]"]


@pytest.fixture
def fake(tmp_path: Path) -> FakeSwap:
    return FakeSwap(tmp_path / "host", SwapSpec(tiers=(("fast", 100), ("slow", -1))))


@pytest.fixture
def run(fake: FakeSwap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    monkeypatch.setattr(swap_device, "make_host", lambda module: fake.host())
    monkeypatch.setattr(swap_device, "DEFAULT_LOCK_PATH", str(tmp_path / "policygroups.lock"))

    def call(args: dict[str, Any], check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
        with patch_module_args({**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}), \
                pytest.raises(SystemExit) as exit_info:
            swap_device.main()
        result: dict[str, Any] = json.loads(capsys.readouterr().out)
        result["rc_exit"] = exit_info.value.code
        return result

    return call


ZRAM = {"path": "/dev/zram0", "type": "zram", "size": "256M", "tier": "fast"}


def test_check_apply_noop(fake: FakeSwap, run: Run) -> None:
    checked = run(ZRAM, check_mode=True, diff=True)
    assert checked["changed"] and fake.active() == {} and checked["rc_exit"] == 0
    assert checked["diff"]["before"]["active"] is False and checked["diff"]["after"]["priority"] == 100
    assert checked["device"] == checked["diff"]["after"]
    applied = run(ZRAM)
    assert applied["changed"] and applied["changes"] == checked["changes"] and fake.active()["/dev/zram0"][2] == 100
    again = run(ZRAM)
    assert not again["changed"] and again["changes"] == [] and again["device"]["tier"] == "fast"


def test_priority_and_tier_are_exclusive(run: Run) -> None:
    result = run({**ZRAM, "priority": 5})
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_refusal_before_any_change(fake: FakeSwap, run: Run) -> None:
    result = run({**ZRAM, "size": "lots"})
    assert result["failed"] and not result["changed"] and "size 'lots' is not a size" in result["msg"]
    assert result["changes"] == [] and result["applied"] == [] and fake.commands == []


def test_failure_while_applying_names_the_operation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(zram_module="missing"))
    monkeypatch.setattr(swap_device, "make_host", lambda module: fake.host())
    monkeypatch.setattr(swap_device, "DEFAULT_LOCK_PATH", str(tmp_path / "policygroups.lock"))
    with patch_module_args({"path": "/dev/zram0", "type": "zram", "size": "1M", "priority": 100}), \
            pytest.raises(SystemExit):
        swap_device.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and "Module zram not found" in result["msg"]
    assert result["failed_operation"]["op"] == "load_module" and result["applied"] == []
    assert [c["op"] for c in result["changes"]][:2] == ["load_module", "add_zram"]


def test_warnings_reach_the_user(fake: FakeSwap, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    # recorded at module.warn: how ansible-core delivers them depends on what else this process imported
    warned: list[str] = []
    monkeypatch.setattr(swap_device.AnsibleModule, "warn", lambda self, msg: warned.append(msg))
    fake.path("/swapfile").write_bytes(bytes(1 << 20))
    fake.path("/swapfile").chmod(0o600)
    fake.mkswap("/swapfile")
    result = run({"path": "/swapfile", "type": "file", "size": "2M", "priority": 1})
    assert result["changed"] and len(warned) == 1 and "not resized" in warned[0]


def test_command_runner_looks_in_sbin() -> None:
    seen: list[Any] = []

    class Module:
        def get_bin_path(self, name: str, opt_dirs: list[str]) -> str | None:
            seen.append((name, opt_dirs))
            return None if name == "modprobe" else f"/usr/sbin/{name}"

        def run_command(self, argv: list[str]) -> tuple[int, str, str]:
            seen.append(argv)
            return 0, "out", ""

    runner = swap_device.command_runner(Module())
    assert runner(["swapon", "-p", "5", "/dev/vda5"]) == (0, "out", "")
    assert seen == [("swapon", ["/sbin", "/usr/sbin"]), ["/usr/sbin/swapon", "-p", "5", "/dev/vda5"]]
    assert runner(["modprobe", "zram"]) == (127, "", "modprobe is not installed")


def test_verify_passes_on_a_device_that_took_its_priority(fake: FakeSwap, run: Run) -> None:
    applied = run({**ZRAM, "verify": True})
    assert applied["changed"] and applied["rc_exit"] == 0 and "verify_remaining" not in applied
    assert fake.active()["/dev/zram0"][2] == 100


def test_verify_fails_when_the_host_did_not_keep_the_priority(fake: FakeSwap, run: Run,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    swapon = fake.run

    def clamped(argv: Any) -> tuple[int, str, str]:  # a swapon that ignores -p, as if something reset it
        if argv[0] == "swapon":
            argv = [a if a != "100" else "-2" for a in argv]
        return swapon(argv)

    monkeypatch.setattr(fake, "run", clamped)
    result = run({**ZRAM, "verify": True})
    assert result["failed"] and result["changed"]
    assert "after applying, the device still differs" in result["msg"]
    assert [c["op"] for c in result["verify_remaining"]][-1] == "swapon"
    unverified = run({**ZRAM, "path": "/dev/zram0"})  # without verify the same drift is just planned again
    assert unverified["changed"] and "verify_remaining" not in unverified
