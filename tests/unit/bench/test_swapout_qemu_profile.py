"""bench/swapout/qemu_profile.py: host samples per MiB, per shared object and symbol, stripped addresses named."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qemu_profile", REPO / "bench" / "swapout" / "qemu_profile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BASE = """\
# Samples: 151K of event 'cpu-clock:pppH'
#
    50.68%         76899  [JIT] tid 15250          [.] 0x00007f0250000000
     5.87%          8909  qemu-system-x86_64       [.] qht_lookup_custom
     3.71%          5624  qemu-system-x86_64       [.] 0x00000000007d8661
     1.17%          1772  [kernel.kallsyms]        [k] finish_task_switch.isra.0
     0.50%           760  libc.so.6                [.] 0x0000000000098765
"""
THIS = """\
    50.23%         79364  [JIT] tid 15778          [.] 0x00007ffa80000000
     0.10%           100  [JIT] tid 15779          [.] 0x00007ffa80001000
     7.05%         11146  qemu-system-x86_64       [.] qht_lookup_custom
     3.34%          5278  qemu-system-x86_64       [.] 0x00000000007d8661
"""
NM = """\
00000000007d8550 T curr_cflags
00000000007d87c0 T cpu_exec_step_atomic
                 U malloc
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_report_without_sample_lines_counts_nothing() -> None:
    module = load()
    by_dso, by_symbol = module.samples(Path("/dev/null"), ([], []))
    assert not by_dso and not by_symbol


def test_jit_threads_are_one_object_and_addresses_take_the_nearest_export(tmp_path: Path) -> None:
    module = load()
    symbols = module.exported(write(tmp_path, "nm.txt", NM))
    by_dso, by_symbol = module.samples(write(tmp_path, "this.txt", THIS), symbols)
    assert by_dso == {"[JIT]": 79464, "qemu-system-x86_64": 16424}
    assert by_symbol["qemu-system-x86_64: curr_cflags+0x111"] == 5278
    assert by_symbol["[JIT]: (translated guest code)"] == 79464


def test_the_comparison_is_per_mib_largest_difference_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = load()
    base, this, nm = write(tmp_path, "b.txt", BASE), write(tmp_path, "t.txt", THIS), write(tmp_path, "nm.txt", NM)
    args = ["--mib", "2", "--base", str(base), "--base-mib", "1", "--symbols", str(nm), "--freq", "1000"]
    assert module.main([str(this), *args]) == 0
    out = capsys.readouterr().out
    symbol_rows = out.split("\nsymbol")[1].splitlines()[1:]
    # ms per MiB at 1000 Hz: JIT 76899 -> 39732 (-37167), qht 8909 -> 5573 (-3336), curr_cflags+0x111 5624 -> 2639
    assert symbol_rows[0].startswith("[JIT]: (translated guest code)")
    assert "-37167.00" in symbol_rows[0]
    assert symbol_rows[1].startswith("qemu-system-x86_64: qht_lookup_custom")
    assert "libc.so.6: (unnamed)" in out
    assert "(ratio 0.5102)" in out


def test_an_empty_report_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = load()
    empty, this = write(tmp_path, "e.txt", "# nothing\n"), write(tmp_path, "t.txt", THIS)
    assert module.main([str(this), "--mib", "1", "--base", str(empty), "--base-mib", "1"]) == 1
    assert "no samples" in capsys.readouterr().err
