"""bench/swapout: the plugin builds warning-free, and profile.py attributes instructions to the right functions."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
SWAPOUT = REPO / "bench" / "swapout"


def load_profile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("swapout_profile", SWAPOUT / "profile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KALLSYMS = """\
ffffffff81000000 T _stext
ffffffff81001000 t shrink_folio_list
ffffffff81001800 T folio_alloc_swap
ffffffff81002000 d some_data
ffffffff81003000 T __count_policy_swpout
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_blocks_are_attributed_to_the_function_they_start_in(tmp_path: Path) -> None:
    profile = write(tmp_path, "profile.txt", "\n".join([
        "ffffffff81001000 10 4",    # shrink_folio_list, its first byte: 40
        "ffffffff810017ff 5 2",     # still shrink_folio_list: 10
        "ffffffff81001800 3 10",    # folio_alloc_swap: 30
        "ffffffff81002010 2 5",     # after a data symbol: still folio_alloc_swap's text, 10
        "401000 100 1",             # user space: 100
    ]) + "\n")
    counts = load_profile().per_function(profile, write(tmp_path, "kallsyms", KALLSYMS), pages=10)
    assert counts == {"shrink_folio_list": 5.0, "folio_alloc_swap": 4.0, "(user space)": 10.0}


def test_comparison_lists_the_largest_differences_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kallsyms = write(tmp_path, "kallsyms", KALLSYMS)
    base = write(tmp_path, "base.txt", "ffffffff81001000 10 10\nffffffff81001800 10 10\n")
    this = write(tmp_path, "this.txt", "ffffffff81001000 10 11\nffffffff81001800 10 10\nffffffff81003000 30 10\n")
    assert load_profile().main([str(this), str(kallsyms), "--pages", "10", "--base", str(base), str(kallsyms)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["__count_policy_swpout", "0.0", "30.0", "+30.0"]
    assert lines[2].split() == ["shrink_folio_list", "10.0", "11.0", "+1.0"]
    assert lines[-1].split() == ["total", "20.0", "51.0", "+31.0"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler")
def test_the_plugin_and_the_benchmark_build_without_warnings(tmp_path: Path) -> None:
    for args in (["-shared", "-fPIC", str(SWAPOUT / "insn_count.c"), "-o", str(tmp_path / "plugin.so")],
                 [str(SWAPOUT / "swapout.c"), "-o", str(tmp_path / "swapout")]):
        result = subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", *args],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
    # the plugin exports what QEMU looks up when it loads it
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(tmp_path / "plugin.so")],
                             capture_output=True, text=True, check=True).stdout
    assert "qemu_plugin_install" in symbols and "qemu_plugin_version" in symbols


def test_swapout_executes_the_marker_twice_per_round(tmp_path: Path) -> None:
    if shutil.which("gcc") is None or sys.platform != "linux":
        pytest.skip("needs gcc on Linux")
    binary = tmp_path / "swapout"
    subprocess.run(["gcc", "-O2", str(SWAPOUT / "swapout.c"), "-o", str(binary)], check=True)
    disassembly = subprocess.run(["objdump", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    assert disassembly.count("66 87 db") == 2
