"""The tiers table: parse/render as the kernel prints it, and change batches the kernel accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakekernel import FakeKernel, HostSpec, tiers_of

from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import BackendError
from ansible_collections.policygroups.core.plugins.module_utils._engine._swaptiers import (
    change_batch,
    parse_table,
    render_table,
    tier_of,
)

KERNEL_TEXT = (
    "Name             Idx   PrioStart   PrioEnd\n"
    "HDD              0     50          32767\n"
    "NET              1     -1          49\n"
)


def test_parse_and_render_match_the_kernel_format() -> None:
    tiers = parse_table(KERNEL_TEXT)
    assert tiers == tiers_of([("HDD", 50), ("NET", -1)])
    assert render_table(tiers) == KERNEL_TEXT
    assert parse_table("Name             Idx   PrioStart   PrioEnd\n") == ()


@pytest.mark.parametrize("text", ["", "garbage\n", "Name Idx PrioStart PrioEnd\nfast 0 x 1\n"])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(BackendError):
        parse_table(text)


def test_tier_of() -> None:
    tiers = tiers_of([("fast", 100), ("slow", -1)])
    assert tier_of(100, tiers) == "fast" and tier_of(99, tiers) == "slow" and tier_of(-1, tiers) == "slow"
    assert tier_of(5, ()) is None


def test_tier_of_an_automatic_priority_is_the_lowest_tier() -> None:
    # swapon without -p (Debian's fstab lines without pri=) gives -2, -3, ...: the kernel clamps them to -1
    tiers = tiers_of([("fast", 100), ("slow", -1)])
    assert tier_of(-2, tiers) == "slow" and tier_of(-7, tiers) == "slow"
    assert tier_of(-2, tiers_of([("fast", 100), ("disk", 0), ("net", -1)])) == "net"


@pytest.mark.parametrize(
    ("before", "after", "batch"),
    [
        ([], [("fast", 100), ("slow", -1)], "+fast:100,+slow:-1"),
        ([("fast", 100), ("slow", -1)], [("slow", -1)], "-fast"),
        ([("fast", 100), ("slow", -1)], [("fast", 200), ("slow", -1)], "-fast,+fast:200"),
        ([("fast", 100), ("slow", -1)], [("fast", 100), ("mid", 50), ("slow", -1)], "+mid:50"),
        ([("fast", 100), ("slow", -1)], [("fast", 100), ("hdd", -1)], "-fast,-slow,+fast:100,+hdd:-1"),
        ([("fast", 100), ("slow", -1)], [], "-fast,-slow"),
    ],
)
def test_change_batches_apply_in_the_simulated_kernel(tmp_path: Path, before: list, after: list, batch: str) -> None:
    assert change_batch(tiers_of(before), tiers_of(after)) == batch
    kernel = FakeKernel(tmp_path, HostSpec(initial_tiers=tiers_of(before)))
    kernel.write("/sys/kernel/mm/swap/tiers", batch)
    assert set(kernel.tiers()) == set(tiers_of(after))


def test_adding_tiers_highest_first_keeps_an_active_device_where_it_lands(tmp_path: Path) -> None:
    kernel = FakeKernel(tmp_path, HostSpec(swaps=(("/dev/zram0", 200),)))
    kernel.write("/sys/kernel/mm/swap/tiers", change_batch((), tiers_of([("fast", 100), ("slow", -1)])))
    assert kernel.tiers() == tiers_of([("fast", 100), ("slow", -1)])
