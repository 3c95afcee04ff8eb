"""_fstab (swap lines edited in place) and _size (sizes as people write them)."""

from __future__ import annotations

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._swap import _fstab
from ansible_collections.policygroups.core.plugins.module_utils._swap._size import format_size, parse_size

FSTAB = ("# <file system> <mount point> <type> <options> <dump> <pass>\n"
         "UUID=r / ext4 errors=remount-ro 0 1\n"
         "#UUID=old none swap sw 0 0\n"
         "UUID=s\tnone\tswap\tsw\t0\t0\n"
         "/swap\\040file none swap defaults,pri=3 0 0\n")


def named(*specs: str):  # type: ignore[no-untyped-def]
    return lambda spec: spec in specs


def test_swap_lines_skip_comments_and_other_types() -> None:
    lines = _fstab.swap_lines(FSTAB)
    assert [(s.spec, s.priority) for s in lines] == [("UUID=s", None), ("/swap file", 3)]


def test_set_entry_edits_only_the_options_field_keeping_tabs() -> None:
    out = _fstab.set_entry(FSTAB, "/dev/vda5", 10, named("UUID=s"))
    assert out == FSTAB.replace("UUID=s\tnone\tswap\tsw\t0", "UUID=s\tnone\tswap\tsw,pri=10\t0")
    assert _fstab.set_entry(out, "/dev/vda5", 10, named("UUID=s")) == out


def test_set_entry_replaces_pri_in_place_and_escapes_new_specs() -> None:
    out = _fstab.set_entry(FSTAB, "/swap file", 7, named("/swap file"))
    assert "/swap\\040file none swap defaults,pri=7 0 0\n" in out
    added = _fstab.set_entry("UUID=r / ext4 defaults 0 1", "/my swap", 1, named())
    assert added == "UUID=r / ext4 defaults 0 1\n/my\\040swap none swap sw,pri=1 0 0\n"
    assert _fstab.set_entry("", "/swapfile", 1, named()) == "/swapfile none swap sw,pri=1 0 0\n"


def test_a_line_without_options_gets_them() -> None:
    assert _fstab.set_entry("/dev/vdb none swap\n", "/dev/vdb", 4, named("/dev/vdb")) == "/dev/vdb none swap sw,pri=4 0 0\n"


def test_remove_entry() -> None:
    out = _fstab.remove_entry(FSTAB, named("UUID=s"))
    assert "UUID=s" not in out and "#UUID=old" in out and out.endswith("pri=3 0 0\n")
    assert _fstab.remove_entry(FSTAB, named()) == FSTAB


@pytest.mark.parametrize(("text", "size"), [("512M", 512 << 20), ("2G", 2 << 30), ("2GiB", 2 << 30),
                                            ("64k", 64 << 10), ("4096", 4096), (" 1T ", 1 << 40), (8192, 8192)])
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "1.5G", "-1G", "0", "12X", "1 G B", True])
def test_parse_size_refuses(text: str | bool) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_format_size() -> None:
    assert [format_size(n) for n in (512 << 20, 3 << 30, 1536 << 20, 1000)] == ["512M", "3G", "1536M", "1000"]
