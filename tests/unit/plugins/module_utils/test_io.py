"""HostIO: host paths re-rooted under ``root``; one write per value, never creating files."""

from __future__ import annotations

import errno as E
from pathlib import Path

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._engine._io import FlatKeyed, HostIO, parse_flat_keyed


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


# -- nothing written under a root follows a symbolic link ------------------------------------------------------
@pytest.fixture
def planted(tmp_path: Path) -> tuple[HostIO, Path]:
    """A host root whose policy directory holds a link to a directory outside it, and a link to a file."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sys/fs/cgroup/policy").mkdir(parents=True)
    outside.mkdir()
    (outside / "policy.thp").write_text("inherit\n")
    (root / "sys/fs/cgroup/policy/evil").symlink_to(outside)
    (root / "sys/fs/cgroup/policy/file").symlink_to(outside / "policy.thp")
    return HostIO(str(root)), outside


def test_write_mkdir_rmdir_unlink_never_follow_a_link(planted: tuple[HostIO, Path]) -> None:
    io, outside = planted
    for call in (lambda: io.write("/sys/fs/cgroup/policy/evil/policy.thp", "never"),
                 lambda: io.write("/sys/fs/cgroup/policy/file", "never"),
                 lambda: io.mkdir("/sys/fs/cgroup/policy/evil/g"),
                 lambda: io.rmdir("/sys/fs/cgroup/policy/evil/g"),
                 lambda: io.unlink("/sys/fs/cgroup/policy/evil/policy.thp")):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno in (E.ELOOP, E.ENOTDIR)
    assert (outside / "policy.thp").read_text() == "inherit\n" and sorted(p.name for p in outside.iterdir()) == ["policy.thp"]


def test_a_link_in_the_root_itself_is_the_callers_choice(tmp_path: Path) -> None:
    (tmp_path / "real/sys").mkdir(parents=True)
    (tmp_path / "real/sys/f").write_text("a")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    HostIO(str(tmp_path / "link")).write("/sys/f", "b")
    assert (tmp_path / "real/sys/f").read_text() == "b"


def test_replace_nofollow_refuses_a_link_at_the_file_and_on_the_way(tmp_path: Path) -> None:
    from ansible_collections.policygroups.core.plugins.module_utils._engine._io import replace_nofollow

    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "etc").mkdir(parents=True)
    outside.mkdir()
    (root / "etc" / "fstab").symlink_to(outside / "fstab")
    (root / "linked").symlink_to(outside)
    for path in ("/etc/fstab", "/linked/rules.d/x.rules"):
        with pytest.raises(OSError) as raised:
            replace_nofollow(str(root), path, b"x\n")
        assert raised.value.errno in (E.ELOOP, E.ENOTDIR)
    assert list(outside.iterdir()) == [] and (root / "etc" / "fstab").is_symlink()
    replace_nofollow(str(root), "/etc/udev/rules.d/80-x.rules", b"rule\n")
    made = root / "etc" / "udev" / "rules.d" / "80-x.rules"
    assert made.read_text() == "rule\n" and made.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in made.parent.iterdir()] == ["80-x.rules"]  # no temporary file left


def test_flat_keyed_files_keep_every_key_and_leave_out_what_is_not_a_count() -> None:
    text = "members 3\n\nnew_key 0\nratio 0.5\nbad\nextra 1 2\nnegative -4\nmembers 9\nbig 18446744073709551615\n"
    parsed = parse_flat_keyed(text, "/p/policy.stat")
    assert parsed.values == {"members": 3, "new_key": 0, "big": 18446744073709551615}
    assert list(parsed.values) == ["members", "new_key", "big"]
    assert parsed.left_out == (
        "/p/policy.stat, line 4 left out: 'ratio 0.5' is not a key and a non-negative integer",
        "/p/policy.stat, line 5 left out: 'bad' is not a key and a non-negative integer",
        "/p/policy.stat, line 6 left out: 'extra 1 2' is not a key and a non-negative integer",
        "/p/policy.stat, line 7 left out: 'negative -4' is not a key and a non-negative integer",
        "/p/policy.stat, line 8 left out: key 'members' was already read (3)",
    )
    assert parse_flat_keyed("") == FlatKeyed({}, ())


def test_flat_keyed_files_are_read_without_following_links(tmp_path: Path) -> None:
    io = HostIO(str(tmp_path / "root"))
    (tmp_path / "root" / "g").mkdir(parents=True)
    (tmp_path / "root" / "g" / "policy.stat").write_text("members 1\n")
    assert io.read_flat_keyed("/g/policy.stat") == FlatKeyed({"members": 1}, ())
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "policy.stat").write_text("members 99\n")
    (tmp_path / "root" / "link").symlink_to(tmp_path / "outside")
    (tmp_path / "root" / "g" / "other.stat").symlink_to(tmp_path / "outside" / "policy.stat")
    for path in ("/link/policy.stat", "/g/other.stat", "/g/../link/policy.stat"):
        with pytest.raises(OSError) as info:
            io.read_flat_keyed(path)
        assert info.value.errno in (E.ELOOP, E.ENOTDIR, E.EINVAL), path
