"""HostIO: host paths re-rooted under ``root``; one write per value, never creating files."""

from __future__ import annotations

import errno as E
from pathlib import Path

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._io import HostIO


def test_paths_are_rerooted(tmp_path: Path) -> None:
    io = HostIO(str(tmp_path))
    assert io.real("/sys/x") == str(tmp_path / "sys" / "x")
    assert HostIO("/").real("/sys/x") == "/sys/x"
    with pytest.raises(ValueError, match="absolute"):
        io.real("sys/x")


def test_write_replaces_the_whole_value_and_never_creates(tmp_path: Path) -> None:
    io = HostIO(str(tmp_path))
    (tmp_path / "f").write_text("inherit\n")
    io.write("/f", "never")
    assert io.read("/f") == "never"
    with pytest.raises(OSError) as info:
        io.write("/missing", "x")
    assert info.value.errno == E.ENOENT and not (tmp_path / "missing").exists()


def test_directories(tmp_path: Path) -> None:
    io = HostIO(str(tmp_path))
    io.mkdir("/a")
    io.mkdir("/a/b")
    (tmp_path / "a" / "file").write_text("")
    assert io.subdirs("/a") == ["b"] and io.isdir("/a/b") and io.exists("/a/file")
    io.rmdir("/a/b")
    assert io.subdirs("/a") == []
