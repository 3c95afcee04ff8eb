"""_swapdev: one swap device at its priority, planned then applied, on the simulated host of fakeswap.py."""

from __future__ import annotations

import errno
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fakeswap import DEBIAN_13_ALGORITHMS, PAGE, VIRTUAL, FakeSwap, FakeSwapIO, SwapSpec  # noqa: E402

from ansible_collections.policygroups.core.plugins.module_utils._swap import _swapdev  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PlanError  # noqa: E402

TIERS = (("fast", 100), ("slow", -1))
DEBIAN_FSTAB = "# /etc/fstab\nUUID=root-uuid / ext4 errors=remount-ro 0 1\n# swap was on /dev/vda5\nUUID=swap-uuid none swap    sw              0       0\n"
ZRAM = {"path": "/dev/zram0", "type": "zram", "size": "256M", "algorithm": "zstd", "priority": 100}
RULE = "/etc/udev/rules.d/80-policygroups-zram0.rules"


def params(**given: Any) -> dict[str, Any]:
    return {"state": "present", "persistent": True, "priority": None, "tier": None, "tiers": None, "size": None,
            "algorithm": None, **given}


def snapshot(fake: FakeSwap) -> str:
    """Every file of the simulated host with its content: check mode must leave it as it was."""
    digest = hashlib.sha256()
    for path in sorted(fake.root.rglob("*")):
        digest.update(str(path).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            with path.open("rb") as data:  # the head only: the simulated block devices are large sparse files
                digest.update(data.read(1 << 16))
            digest.update(str(path.stat().st_mode).encode())
    return digest.hexdigest()


def converge(fake: FakeSwap, given: dict[str, Any]) -> _swapdev.Result:
    """Check mode (nothing changes), a run, and a second run that changes nothing; returns the first run."""
    fake.commands.clear()
    before = snapshot(fake)
    checked = _swapdev.run(fake.host(), given, check_mode=True)
    assert snapshot(fake) == before and fake.commands == []
    applied = _swapdev.run(fake.host(), given, check_mode=False)
    commands = list(fake.commands)
    assert applied.error is None, applied.error
    assert [c["op"] for c in applied.changes] == [c["op"] for c in checked.changes]
    assert applied.diff == checked.diff and applied.device == checked.diff["after"]
    again = _swapdev.run(fake.host(), given, check_mode=False)
    assert not again.changed and again.changes == [] and again.diff["before"] == again.diff["after"]
    assert fake.commands == commands  # the second run ran nothing
    planned = dict(applied.diff["after"])
    if given["type"] == "zram" and given["state"] == "present" and given["algorithm"] is None:
        planned["algorithm"] = again.device["algorithm"]  # the kernel's default, unknown before the device exists
    assert again.device == planned
    return applied


@pytest.fixture
def fake(tmp_path: Path) -> FakeSwap:
    return FakeSwap(tmp_path / "host", SwapSpec(tiers=TIERS, fstab=DEBIAN_FSTAB))


# --- zram ------------------------------------------------------------------------------------------------------------


def test_zram_created_in_its_tier_and_made_persistent(fake: FakeSwap) -> None:
    result = converge(fake, params(**{**ZRAM, "priority": None, "tier": "fast"}))
    assert [c["op"] for c in result.changes] == [
        "configure_zram", "mkswap", "swapon", "write_fstab", "write_file", "write_file"]
    assert fake.active()["/dev/zram0"][2] == 100 and fake.zram("zram0") == (256 << 20, "zstd")
    assert result.diff["before"]["active"] is False and result.diff["after"]["tier"] == "fast"
    assert result.diff["after"]["size"] == "256M" and result.diff["after"]["algorithm"] == "zstd"
    assert fake.path("/etc/fstab").read_text() == DEBIAN_FSTAB + "/dev/zram0 none swap sw,nofail,pri=100 0 0\n"
    rule = fake.path(RULE).read_text()
    assert 'KERNEL=="zram0"' in rule and 'ATTR{comp_algorithm}="zstd"' in rule and f'ATTR{{disksize}}="{256 << 20}"' in rule
    assert 'RUN+="/sbin/mkswap /dev/zram0"' in rule and rule.index("comp_algorithm") < rule.index("disksize")
    assert fake.path("/etc/modules-load.d/policygroups-zram.conf").read_text().endswith("\nzram\n")
    assert not fake.path("/etc/modprobe.d/policygroups-zram.conf").exists()  # zram0 is the module's default device
    assert result.diff["after"][RULE] == rule and result.diff["before"][RULE] is None


def test_zram_module_loaded_and_a_second_device_added(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(zram_module="loadable"))
    result = converge(fake, params(path="/dev/zram1", type="zram", size="64M", priority=90))
    assert [c["op"] for c in result.changes][:3] == ["load_module", "add_zram", "configure_zram"]
    assert ["modprobe", "zram"] in fake.commands and fake.active()["/dev/zram1"][2] == 90
    assert fake.path("/etc/modprobe.d/policygroups-zram.conf").read_text().endswith("options zram num_devices=2\n")


def test_missing_zram_module_is_reported_with_modprobe_s_words(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(zram_module="missing"))
    result = _swapdev.run(fake.host(), params(**ZRAM), check_mode=False)
    assert result.error is not None and "loading the zram kernel module (modprobe zram) failed" in result.error
    assert "Module zram not found" in result.error
    assert result.failed_operation is not None and result.failed_operation["op"] == "load_module"
    assert result.applied == [] and not result.changed and fake.active() == {}
    assert "/dev/zram0" not in fake.path("/etc/fstab").read_text()


def test_zram_of_another_size_is_set_up_again(fake: FakeSwap) -> None:
    fake.setup_zram("zram0", 128 << 20)
    fake.swap_on("/dev/zram0", 100, used_kb=1024)
    result = converge(fake, params(**ZRAM, persistent=False))
    assert [c["op"] for c in result.changes] == ["swapoff", "reset_zram", "configure_zram", "mkswap", "swapon"]
    assert result.changes[1]["before"] == {"size": "128M", "algorithm": "lzo-rle"}
    assert fake.zram("zram0") == (256 << 20, "zstd") and fake.active()["/dev/zram0"][2] == 100


def test_zram_algorithm_the_kernel_lacks(fake: FakeSwap) -> None:
    with pytest.raises(PlanError, match=r"'lz5' is not available in this kernel \(it has: lzo, lzo-rle, lz4, zstd\)"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "algorithm": "lz5"}), check_mode=False)


def test_zram_algorithm_checked_against_another_device_before_this_one_exists(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(algorithms=DEBIAN_13_ALGORITHMS))
    with pytest.raises(PlanError, match=r"'lzo' is not available in this kernel \(it has: lz4, lz4hc, zstd, deflate\)"):
        _swapdev.run(fake.host(), params(path="/dev/zram1", type="zram", size="64M", algorithm="lzo", priority=100), True)
    result = converge(fake, params(path="/dev/zram1", type="zram", size="64M", algorithm="zstd", priority=100))
    assert fake.zram("zram1") == (64 << 20, "zstd") and result.error is None


def test_zram_algorithm_checked_when_the_module_was_not_loaded_at_plan_time(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(zram_module="loadable", algorithms=DEBIAN_13_ALGORITHMS))
    result = _swapdev.run(fake.host(), params(**{**ZRAM, "algorithm": "lzo"}), check_mode=False)
    assert result.error is not None and "setting zram0's size and algorithm failed: zram compression algorithm " \
        "'lzo' is not available in this kernel (it has: lz4, lz4hc, zstd, deflate)" in result.error
    assert [a["op"] for a in result.applied] == ["load_module", "add_zram"] and fake.zram("zram0")[0] == 0


def test_zram_used_for_something_else_is_left_alone(fake: FakeSwap) -> None:
    fake.setup_zram("zram0", 256 << 20)  # set up, no swap signature, data stored (mm_stat): a file system, say
    fake.path(f"{VIRTUAL}/zram0/mm_stat").write_text("8192 100 4096 0 4096 0 0 0 0\n")
    before = snapshot(fake)
    with pytest.raises(PlanError, match="holds no swap area: something else"):
        _swapdev.run(fake.host(), params(**ZRAM), check_mode=False)
    assert snapshot(fake) == before and fake.commands == []


@pytest.mark.parametrize("size", ["12X", "0", "-5", "1.5G", "", "G"])
def test_bad_size(fake: FakeSwap, size: str) -> None:
    with pytest.raises(PlanError, match="size"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "size": size}), check_mode=True)


def test_zram_needs_a_size_and_a_zram_path(fake: FakeSwap) -> None:
    with pytest.raises(PlanError, match="needs size"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "size": None}), check_mode=True)
    with pytest.raises(PlanError, match="not a zram device path"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "path": "/dev/vda5"}), check_mode=True)
    with pytest.raises(PlanError, match="give type=zram"):
        _swapdev.run(fake.host(), params(path="/dev/zram0", type="partition", priority=5), check_mode=True)


def test_zram_absent_is_swapped_off_reset_and_forgotten_at_boot(fake: FakeSwap) -> None:
    converge(fake, params(**ZRAM))
    result = converge(fake, params(path="/dev/zram0", type="zram", state="absent"))
    assert [c["op"] for c in result.changes] == ["swapoff", "reset_zram", "write_fstab", "remove_file"]
    assert fake.active() == {} and fake.zram("zram0")[0] == 0 and not fake.path(RULE).exists()
    assert fake.path("/etc/fstab").read_text() == DEBIAN_FSTAB


def test_a_udev_rule_not_written_by_the_module_is_not_replaced(fake: FakeSwap) -> None:
    fake.path("/etc/udev/rules.d").mkdir(parents=True)
    fake.path(RULE).write_text('KERNEL=="zram0", ATTR{disksize}="1G"\n')
    with pytest.raises(PlanError, match="was not written by this module"):
        _swapdev.run(fake.host(), params(**ZRAM), check_mode=True)


# --- partitions ------------------------------------------------------------------------------------------------------


def test_debian_swap_partition_moves_from_its_automatic_priority_into_a_tier(fake: FakeSwap) -> None:
    fake.swap_on("/dev/vda5", -2, used_kb=2048)
    result = converge(fake, params(path="/dev/disk/by-uuid/swap-uuid", type="partition", priority=10))
    assert [c["op"] for c in result.changes] == ["swapoff", "swapon", "write_fstab"]
    assert result.changes[0]["before"] == -2 and result.changes[1]["after"] == 10
    assert result.diff["before"]["tier"] == "slow" and result.diff["before"]["priority"] == -2
    assert result.diff["after"]["priority"] == 10
    # the installer's line is edited in place: its UUID= spec, spacing and comment kept, pri= added
    assert fake.path("/etc/fstab").read_text() == DEBIAN_FSTAB.replace("sw              0", "sw,pri=10              0")
    assert result.changes[2]["before"] == ["UUID=swap-uuid none swap    sw              0       0"]
    assert fake.commands == [["swapoff", "/dev/vda5"], ["swapon", "-p", "10", "/dev/vda5"]]


def test_an_existing_pri_is_replaced(fake: FakeSwap) -> None:
    fake.path("/etc/fstab").write_text("/dev/vda5 none swap defaults,pri=5,discard 0 0\n")
    fake.swap_on("/dev/vda5", 5)
    converge(fake, params(path="/dev/vda5", type="partition", priority=20))
    assert fake.path("/etc/fstab").read_text() == "/dev/vda5 none swap defaults,pri=20,discard 0 0\n"


def test_partition_without_a_swap_area_is_never_formatted(fake: FakeSwap) -> None:
    with pytest.raises(PlanError, match="does not format partitions"):
        _swapdev.run(fake.host(), params(path="/dev/vda5", type="partition", priority=10), check_mode=False)
    assert fake.commands == []


def test_partition_that_is_not_a_block_device(fake: FakeSwap) -> None:
    fake.path("/srv").mkdir()
    fake.path("/srv/swap").write_bytes(b"")
    with pytest.raises(PlanError, match="not a block device: use type=file"):
        _swapdev.run(fake.host(), params(path="/srv/swap", type="partition", priority=10), check_mode=True)
    with pytest.raises(PlanError, match="does not exist"):
        _swapdev.run(fake.host(), params(path="/dev/vdc", type="partition", priority=10), check_mode=True)


# --- swapoff ---------------------------------------------------------------------------------------------------------


def test_swapoff_that_would_not_fit_in_memory_is_refused_before_any_change(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(mem_available_kb=100 << 10, fstab=DEBIAN_FSTAB))
    fake.swap_on("/dev/vda5", -2, used_kb=900 << 10)
    before = snapshot(fake)
    with pytest.raises(PlanError, match=r"swapoff /dev/vda5 would have to take back 900 MiB .* only 100 MiB"):
        _swapdev.run(fake.host(), params(path="/dev/vda5", type="partition", priority=10), check_mode=False)
    assert snapshot(fake) == before and fake.commands == []


def test_free_space_on_other_devices_counts_for_a_swapoff(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(mem_available_kb=100 << 10, fstab=DEBIAN_FSTAB,
                                                block_devices={"/dev/vda5": 1 << 30, "/dev/vdb": 2 << 30}))
    fake.swap_on("/dev/vda5", -2, used_kb=900 << 10)
    fake.swap_on("/dev/vdb", 5)
    assert not _swapdev.run(fake.host(), params(path="/dev/vda5", type="partition", priority=10), False).error


def test_swapoff_the_kernel_refuses_is_reported_and_the_device_stays(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(fstab=DEBIAN_FSTAB,
                                                swapoff_fails="swapoff: /dev/vda5: swapoff failed: Cannot allocate memory\n"))
    fake.swap_on("/dev/vda5", -2)
    result = _swapdev.run(fake.host(), params(path="/dev/vda5", type="partition", priority=10), check_mode=False)
    assert result.error is not None and "Cannot allocate memory" in result.error
    assert "it stays at -2" in result.error and "operations done before: none" in result.error
    assert result.failed_operation == {"op": "swapoff", "path": "/dev/vda5", "before": -2, "after": None}
    assert not result.changed and fake.active()["/dev/vda5"][2] == -2
    assert fake.path("/etc/fstab").read_text() == DEBIAN_FSTAB  # the line follows the device: not written either


# --- files -----------------------------------------------------------------------------------------------------------


def test_swap_file_created_formatted_and_persistent(fake: FakeSwap) -> None:
    fake.path("/var").mkdir()
    result = converge(fake, params(path="/var/swap/swapfile", type="file", size="1M", tier="slow"))
    assert [c["op"] for c in result.changes] == ["create_file", "swapon", "write_fstab"]
    info = fake.path("/var/swap/swapfile").stat()
    assert info.st_size == 1 << 20 and info.st_mode & 0o777 == 0o600 and fake.signature("/var/swap/swapfile")
    assert fake.active()["/var/swap/swapfile"][2] == 0  # the tier starting at -1: swapon's lowest priority, 0
    assert result.diff["after"]["mode"] == "0600" and result.diff["after"]["tier"] == "slow"


def test_swap_file_with_loose_mode_is_made_private(fake: FakeSwap) -> None:
    fake.path("/swapfile").write_bytes(bytes(1 << 20))
    fake.path("/swapfile").chmod(0o644)
    fake.mkswap("/swapfile")
    result = converge(fake, params(path="/swapfile", type="file", priority=3, persistent=False))
    assert [c["op"] for c in result.changes] == ["chmod", "swapon"]
    assert fake.path("/swapfile").stat().st_mode & 0o777 == 0o600


def test_existing_swap_file_of_another_size_is_kept_with_a_warning(fake: FakeSwap) -> None:
    fake.path("/swapfile").write_bytes(bytes(1 << 20))
    fake.path("/swapfile").chmod(0o600)
    fake.mkswap("/swapfile")
    result = _swapdev.run(fake.host(), params(path="/swapfile", type="file", size="2M", priority=3), False)
    assert result.error is None and fake.size_of("/swapfile") == 1 << 20
    assert result.warnings == ["/swapfile is 1M, not 2M: an existing swap file is not resized (swap it off, "
                               "remove it and run again to resize)"]


def test_existing_file_without_a_swap_area_is_not_formatted(fake: FakeSwap) -> None:
    fake.path("/swapfile").write_bytes(b"precious data" * 1000)
    with pytest.raises(PlanError, match="holds no swap area; the module formats only files it creates"):
        _swapdev.run(fake.host(), params(path="/swapfile", type="file", priority=3), check_mode=False)
    assert fake.path("/swapfile").read_bytes() == b"precious data" * 1000


def test_missing_file_without_size(fake: FakeSwap) -> None:
    with pytest.raises(PlanError, match="does not exist: give size"):
        _swapdev.run(fake.host(), params(path="/swapfile", type="file", priority=3), check_mode=True)


def test_swap_file_path_that_is_a_symbolic_link_is_refused(fake: FakeSwap, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    fake.path("/swapfile").symlink_to(outside / "target")
    with pytest.raises(PlanError, match="is a symbolic link, which is never followed"):
        _swapdev.run(fake.host(), params(path="/swapfile", type="file", size="1M", priority=3), check_mode=False)
    assert list(outside.iterdir()) == []


def test_swap_file_below_a_linked_directory_is_refused(fake: FakeSwap, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    fake.path("/var").symlink_to(outside)
    with pytest.raises(PlanError, match="a symbolic link is on its path"):
        _swapdev.run(fake.host(), params(path="/var/swapfile", type="file", size="1M", priority=3), check_mode=False)
    assert list(outside.iterdir()) == [] and fake.commands == []


def test_fstab_that_is_a_symbolic_link_is_never_written_through(fake: FakeSwap, tmp_path: Path) -> None:
    elsewhere = tmp_path / "fstab.elsewhere"
    elsewhere.write_text(DEBIAN_FSTAB)
    fake.path("/etc/fstab").unlink()
    fake.path("/etc/fstab").symlink_to(elsewhere)
    with pytest.raises(PlanError, match="/etc/fstab: a symbolic link"):
        _swapdev.run(fake.host(), params(path="/dev/zram0", type="zram", size="1M", priority=1), check_mode=False)
    assert elsewhere.read_text() == DEBIAN_FSTAB and fake.commands == []


def test_swap_file_absent_leaves_the_file(fake: FakeSwap) -> None:
    converge(fake, params(path="/swapfile", type="file", size="1M", priority=3))
    result = converge(fake, params(path="/swapfile", type="file", state="absent"))
    assert [c["op"] for c in result.changes] == ["swapoff", "write_fstab"]
    assert fake.active() == {} and fake.path("/swapfile").exists() and "/swapfile" not in fake.path("/etc/fstab").read_text()


def test_a_failed_mkswap_removes_the_file_it_created(fake: FakeSwap) -> None:
    result = _swapdev.run(fake.host(), params(path="/swapfile", type="file", size="4K", priority=3), False)
    assert result.error is not None and "swap area needs to be at least" in result.error
    assert not fake.path("/swapfile").exists() and result.failed_operation is not None


# --- tiers -----------------------------------------------------------------------------------------------------------


def test_tier_names_resolve_in_the_given_table_first(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(tiers=None))  # a stock kernel: no tier table
    given = [{"name": "fast", "start_priority": 100}, {"name": "mid", "start_priority": 40}, {"name": "slow", "start_priority": -1}]
    result = converge(fake, params(**{**ZRAM, "priority": None, "tier": "mid", "tiers": given}))
    assert fake.active()["/dev/zram0"][2] == 40 and result.diff["after"]["tier"] == "mid"


def test_tier_without_a_table(tmp_path: Path) -> None:
    fake = FakeSwap(tmp_path / "host", SwapSpec(tiers=None))
    with pytest.raises(PlanError, match="this kernel has no swap tiers"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "priority": None, "tier": "fast"}), check_mode=True)


def test_unknown_tier_and_a_tier_swapon_cannot_reach(fake: FakeSwap) -> None:
    with pytest.raises(PlanError, match=r"swap tier 'medium' is not defined \(tiers: fast, slow\)"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "priority": None, "tier": "medium"}), check_mode=True)
    only_minus_one = [{"name": "fast", "start_priority": 0}, {"name": "auto", "start_priority": -1}]
    with pytest.raises(PlanError, match="covers only priority -1..-1"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "priority": None, "tier": "auto", "tiers": only_minus_one}), True)


@pytest.mark.parametrize("priority", [-1, -2, 32768])
def test_priority_outside_what_swapon_sets(fake: FakeSwap, priority: int) -> None:
    with pytest.raises(PlanError, match="outside 0..32767"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "priority": priority}), check_mode=True)


def test_present_needs_a_priority_or_a_tier(fake: FakeSwap) -> None:
    with pytest.raises(PlanError, match="needs priority or tier"):
        _swapdev.run(fake.host(), params(**{**ZRAM, "priority": None}), check_mode=True)


@pytest.mark.parametrize("path", ["swapfile", "/var/../swapfile", "/var//swapfile", "/var/swapfile/"])
def test_paths_must_be_absolute_and_normalised(fake: FakeSwap, path: str) -> None:
    with pytest.raises(PlanError, match="absolute and normalised"):
        _swapdev.run(fake.host(), params(path=path, type="file", size="1M", priority=1), check_mode=True)


# --- faults and odd states a later run must handle (review of the swap modules) -----------------------------------


def test_a_zram_reset_that_fails_while_removing_is_reported_not_raised(
        fake: FakeSwap, monkeypatch: pytest.MonkeyPatch) -> None:
    # state absent: swapoff ran, then the reset fails (EBUSY: udev's blkid or another tool holds the device open);
    # the result says which operation failed after which, as every other failure does, instead of a traceback
    fake.setup_zram("zram0", 64 << 20)
    fake.swap_on("/dev/zram0", 100)
    write = FakeSwapIO.write

    def busy(self: FakeSwapIO, path: str, data: str) -> None:
        if path.endswith("/reset"):
            raise OSError(errno.EBUSY, "Device or resource busy")
        write(self, path, data)

    monkeypatch.setattr(FakeSwapIO, "write", busy)
    result = _swapdev.run(fake.host(), params(path="/dev/zram0", type="zram", state="absent", persistent=False),
                          check_mode=False)
    assert result.failed_operation is not None and result.failed_operation["op"] == "reset_zram", result
    assert "resetting zram0 failed: Device or resource busy" in (result.error or "")
    assert [a["op"] for a in result.applied] == ["swapoff"] and result.changed


def test_a_zram_size_of_no_whole_pages_is_compared_as_the_kernel_rounds_it(
        fake: FakeSwap, monkeypatch: pytest.MonkeyPatch) -> None:
    # disksize_store() rounds the size up to a whole page: compared unrounded, every run reset the device again
    write = FakeSwapIO.write

    def page_aligned(self: FakeSwapIO, path: str, data: str) -> None:
        if path.endswith("/disksize") and data.strip() != "0":
            data = str(-(-int(data) // PAGE) * PAGE)
        write(self, path, data)

    monkeypatch.setattr(FakeSwapIO, "write", page_aligned)
    given = params(path="/dev/zram0", type="zram", size="1000000", priority=100, persistent=False)
    assert _swapdev.run(fake.host(), given, check_mode=False).error is None
    again = _swapdev.run(fake.host(), given, check_mode=False)
    assert not again.changed and again.changes == [], again.changes


def test_a_zram_device_set_up_but_never_written_is_formatted(fake: FakeSwap) -> None:
    # a run killed between configure_zram and mkswap left the device set up, all zeros: nothing was ever stored in
    # it (mm_stat's orig_data_size 0), so it holds nobody's data and the next run formats it
    fake.setup_zram("zram0", 64 << 20, "zstd")
    result = _swapdev.run(fake.host(), params(path="/dev/zram0", type="zram", size="64M", algorithm="zstd",
                                              priority=100, persistent=False), check_mode=False)
    assert result.error is None and [c["op"] for c in result.changes] == ["mkswap", "swapon"], result
    assert "/dev/zram0" in fake.active()


def test_a_swap_file_is_formatted_before_it_gets_its_name(fake: FakeSwap) -> None:
    # a run killed between allocating the file and mkswap left a file of zeros at the path, which later runs refused
    # as not theirs to format: the file is made and formatted under a temporary name, then linked into place, so the
    # path holds a swap area or nothing. A temporary file a killed run left is the module's and goes.
    leftover = fake.path("/var/swap/.file0.policygroups-new")
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(bytes(PAGE))
    result = _swapdev.run(fake.host(), params(path="/var/swap/file0", type="file", size="1M", priority=3,
                                              persistent=False), check_mode=False)
    assert result.error is None, result
    assert fake.signature("/var/swap/file0") and "/var/swap/file0" in fake.active()
    assert sorted(p.name for p in leftover.parent.iterdir()) == ["file0"]
    assert mkswap_targets(fake) == ["/var/swap/.file0.policygroups-new"]


def mkswap_targets(fake: FakeSwap) -> list[str]:
    return [argv[-1] for argv in fake.commands if argv[0] == "mkswap"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_swap_file_owned_by_another_user_is_given_to_root(fake: FakeSwap, check_mode: bool) -> None:
    # whoever owns a swap file can read every process's pages swapped to it (swapon only warns): like a mode that
    # lets others read it, the owner is repaired before the file is swapped on
    fake.path("/swapfile").write_bytes(bytes(1 << 20))
    fake.path("/swapfile").chmod(0o600)
    fake.mkswap("/swapfile")
    os.chown(fake.path("/swapfile"), 1000, 1000)
    result = _swapdev.run(fake.host(), params(path="/swapfile", type="file", priority=3, persistent=False),
                          check_mode=check_mode)
    assert result.error is None, result
    assert [c["op"] for c in result.changes] == ["chown", "swapon"]
    assert result.changes[0]["before"] == "1000:1000" and result.changes[0]["after"] == "0:0"
    owner = os.stat(fake.path("/swapfile"))
    assert (owner.st_uid, owner.st_gid) == ((1000, 1000) if check_mode else (0, 0))
