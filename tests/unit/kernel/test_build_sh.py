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


SERIES_STAT = REPO / "kernel" / "series-stat.sh"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.invalid", *args],
                          cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_series_stat_prints_the_cover_letter_tail_without_the_cover_letter(tmp_path: Path) -> None:
    source, work, patch_dir = tmp_path / "src", tmp_path / "work", tmp_path / "patches"
    source.mkdir()
    (source / "mm").mkdir()
    (source / "mm" / "swap.c").write_text("one\n")
    git(tmp_path, "init", "-q", str(work))
    (work / "mm").mkdir()
    (work / "mm" / "swap.c").write_text("one\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "base")
    (work / "mm" / "swap.c").write_text("one\ntwo\n")
    git(work, "commit", "-qam", "mm: add a line")
    (work / "mm" / "tier.c").write_text("new\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "mm: add a file")
    git(work, "format-patch", "-q", "--cover-letter", "-o", str(patch_dir), "HEAD~2")
    assert sorted(p.name for p in patch_dir.iterdir())[0] == "0000-cover-letter.patch"

    result = subprocess.run([str(SERIES_STAT), "--patches", str(patch_dir), "--source", str(source)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Dev (2):\n  mm: add a line\n  mm: add a file\n" in result.stdout
    assert "2 files changed, 2 insertions(+)" in result.stdout
    assert "create mode 100644 mm/tier.c" in result.stdout


def test_series_stat_names_the_patch_that_does_not_apply(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("something else\n")
    patch_dir = tmp_path / "patches"
    patch_dir.mkdir()
    (patch_dir / "0001-change-a.patch").write_text(
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
        "From: Dev <dev@example.invalid>\nDate: Wed, 25 Nov 2026 12:00:00 +0000\nSubject: [PATCH] change a\n\n"
        "---\n a.txt | 2 +-\n\ndiff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n")
    result = subprocess.run([str(SERIES_STAT), "--patches", str(patch_dir), "--source", str(source)],
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "0001-change-a.patch does not apply" in result.stderr
