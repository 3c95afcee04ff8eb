"""bench/swapout/per_case.awk: the per-case median, min and max of one boot, in MiB/s and instructions per page."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PER_CASE = REPO / "bench" / "swapout" / "per_case.awk"


def roundlog(case: str, kept: int, mib: float, mib_per_s: float, n: int = 1) -> str:
    return (f"roundlog case={case} kept={kept} kernel=6.12.118-policy round={n} mib={mib:.1f} seconds=1.0000 "
            f"mib_per_s={mib_per_s:.1f}\n")


def per_case(tmp_path: Path, rounds: str, metric: str, marks: str | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "rounds.txt").write_text(rounds)
    args = ["awk", "-v", "variant=patched", "-v", "boot=2", "-v", f"metric={metric}"]
    if marks is not None:
        (tmp_path / "marks.txt").write_text(marks)
        args += ["-v", f"marks={tmp_path / 'marks.txt'}"]
    return subprocess.run([*args, "-f", str(PER_CASE), str(tmp_path / "rounds.txt")], capture_output=True,
                          text=True, check=False)


# A B B A, three rounds per segment, the first of each dropped: nogroup keeps 80, 90 | 60, 70; group 40, 50 | 30, 20
ROUNDS = "".join([
    roundlog("nogroup", 0, 128, 1.0), roundlog("nogroup", 1, 128, 80.0), roundlog("nogroup", 1, 128, 90.0),
    roundlog("group", 0, 128, 1.0), roundlog("group", 1, 128, 40.0), roundlog("group", 1, 128, 50.0),
    roundlog("group", 0, 128, 1.0), roundlog("group", 1, 128, 30.0), roundlog("group", 1, 128, 20.0),
    roundlog("nogroup", 0, 128, 1.0), roundlog("nogroup", 1, 128, 60.0), roundlog("nogroup", 1, 128, 70.0),
])


def test_mib_per_s_median_of_the_kept_rounds_per_case(tmp_path: Path) -> None:
    result = per_case(tmp_path, ROUNDS, "mib_per_s")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [
        "variant=patched case=group boot=2 kernel=6.12.118-policy runs=4 median_mib_per_s=35.0 min=20.0 max=50.0",
        "variant=patched case=nogroup boot=2 kernel=6.12.118-policy runs=4 median_mib_per_s=75.0 min=60.0 max=90.0",
    ]


def test_the_second_segment_of_a_kernel_without_groups_counts_for_its_case(tmp_path: Path) -> None:
    rounds = ROUNDS.replace("case=group", "case=nogroup_b")
    lines = per_case(tmp_path, rounds, "mib_per_s").stdout.splitlines()
    assert lines == [
        "variant=patched case=nogroup boot=2 kernel=6.12.118-policy runs=8 median_mib_per_s=55.0 min=20.0 max=90.0"
    ]


def test_instructions_per_page_pair_two_marks_with_each_round_in_order(tmp_path: Path) -> None:
    rounds = roundlog("nogroup", 0, 128, 1.0) + roundlog("nogroup", 1, 128, 80.0) + roundlog("nogroup", 1, 64, 80.0)
    pages = 128 * 256
    counts = (0, 999, 1000, 1000 + 20000 * pages, 2000000000, 2000000000 + 30000 * pages // 2)
    marks = "".join(f"mark vcpu=0 insns={x}\n" for x in counts)
    result = per_case(tmp_path, rounds, "insns_per_page", marks)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "variant=patched case=nogroup boot=2 kernel=6.12.118-policy runs=2 median_insns_per_page=25000 "
        "min=20000 max=30000"
    ]


def test_marks_that_do_not_pair_with_the_rounds_are_not_counted(tmp_path: Path) -> None:
    result = per_case(tmp_path, ROUNDS, "insns_per_page", "mark vcpu=0 insns=1\nmark vcpu=0 insns=2\n")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "boot 2 of patched: 2 marks for 12 rounds, not counted" in result.stderr


def test_an_unknown_metric_is_refused(tmp_path: Path) -> None:
    result = per_case(tmp_path, ROUNDS, "seconds")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "metric is mib_per_s or insns_per_page" in result.stderr
