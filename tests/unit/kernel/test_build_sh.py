"""kernel/build.sh: the series it applies, checks and keys its cache on never includes the cover letter."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BUILD_SH = REPO / "kernel" / "build.sh"


def list_patches(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILD_SH), *args, "--list-patches"], capture_output=True, text=True, check=False)


def series(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).write_text(f"Subject: [PATCH] {name}\n")
    return tmp_path


def test_cover_letter_is_not_part_of_the_series(tmp_path: Path) -> None:
    patch_dir = series(tmp_path, "0000-cover-letter.patch", "0001-a.patch", "0002-b.patch", "notes.txt")
    result = list_patches("--patches", str(patch_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0001-a.patch", "0002-b.patch"]


def test_series_is_applied_in_name_order(tmp_path: Path) -> None:
    patch_dir = series(tmp_path, "0010-late.patch", "0002-early.patch", "0007-middle.patch")
    result = list_patches("--patches", str(patch_dir))
    assert result.stdout.splitlines() == ["0002-early.patch", "0007-middle.patch", "0010-late.patch"]


def test_a_series_of_only_a_cover_letter_is_empty(tmp_path: Path) -> None:
    result = list_patches("--patches", str(series(tmp_path, "0000-cover-letter.patch")))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_unpatched_build_has_no_series(tmp_path: Path) -> None:
    result = list_patches("--unpatched", "--patches", str(series(tmp_path, "0001-a.patch")))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_project_series_excludes_its_cover_letter() -> None:
    listed = list_patches().stdout.splitlines()
    on_disk = sorted(p.name for p in (REPO / "kernel" / "patches").glob("*.patch"))
    assert listed == [name for name in on_disk if not name.startswith("0000-")]
    assert listed and all(not name.startswith("0000-") for name in listed)
