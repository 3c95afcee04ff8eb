"""A simulated policy-groups kernel for unit tests, following docs/policyfs-abi.md (version 1).

``FakeKernel`` is a ``HostIO`` over a temporary tree laid out like a host (``proc/``, ``sys/kernel/mm/swap/tiers``,
``sys/fs/cgroup/...``, ``sys/fs/cgroup/policy/...``, ``run/``). The backend under test talks to it through the
same five file operations it uses on a real host; the simulator adds the kernel's side: mkdir populates a
group's files, every write is validated with the ABI's errno and changes nothing when it fails, rmdir refuses
busy groups, the tiers file parses and applies batches all-or-nothing, and ``policy.effective`` is computed.
State lives in the files themselves, so separate processes (e.g. a module run by ansible-playbook through
plain ``HostIO``) see the same host.
"""

from __future__ import annotations

import errno as E
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ansible_collections.policygroups.core.plugins.module_utils._engine._io import HostIO
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import (
    TierSpec,
    parse_nodelist,
    render_nodelist,
)
from ansible_collections.policygroups.core.plugins.module_utils._engine._swaptiers import parse_table, render_table, tier_of

POLICY_ROOT = "/sys/fs/cgroup/policy"
CGROUP2 = "/sys/fs/cgroup"
TIERS = "/sys/kernel/mm/swap/tiers"
ALL_FEATURES = ("thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "mem_priority", "stat", "bind")
FILES = {
    "thp": "policy.thp",
    "ksm": "policy.ksm",
    "oom_score_adj": "policy.oom_score_adj",
    "swap_tiers": "policy.swap.tiers",
    "zswap_writeback": "policy.zswap.writeback",
    "numa": "policy.numa",
    "mem_priority": "policy.mem_priority",
    "stat": "policy.stat",
    "bind": "policy.bind",
}
# Features that are not policies: no policy value, no line in policy.effective.
NOT_POLICIES = ("stat", "bind")
# policy.stat of a new group, in the ABI's key order (``members`` is kept equal to the group's cgroup.procs):
# numbers of a group that has been running a while, so that tests see values other than 0.
STATS = {"members": 0, "covered_bytes": 268435456, "ksm_merging_pages": 1024, "thp_fault_alloc": 37,
         "thp_fault_fallback": 2, "oom_kill": 0, "swpout_fast": 0, "swpout_slow": 4096, "swpout_refused": 3,
         "covered_reclaimed": 8192, "covered_deferred": 0}
GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
TIER_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def _oserror(code: int, path: str) -> OSError:
    return OSError(code, os.strerror(code), path)


@dataclass
class HostSpec:
    """How the simulated host looks before the test starts."""

    features: tuple[str, ...] = ALL_FEATURES
    abi_version: int = 1
    controller: bool = True  # 'policy' listed in /proc/cgroups
    mounted: bool = True  # hierarchy mounted at POLICY_ROOT
    tiers: bool = True  # /sys/kernel/mm/swap/tiers exists
    nr_tiers: int = 4
    initial_tiers: tuple[TierSpec, ...] = ()
    swaps: tuple[tuple[str, int], ...] = ()  # (device, priority), all active
    cgroups: tuple[str, ...] = ("/system.slice", "/system.slice/api.service", "/system.slice/report.service")
    pids: tuple[int, ...] = (1, 100, 101, 102, 103)
    kthreads: tuple[int, ...] = (2,)
    cgroup_pids: dict[str, tuple[int, ...]] = field(default_factory=dict)
    nodes: str = "0-1"
    release: str = "6.12.0-policy"


class FakeKernel(HostIO):
    """The simulator. ``fail_next`` injects one errno for the next write/mkdir/rmdir whose path ends with a
    given suffix (for errors the simulated semantics cannot produce, e.g. ENODEV)."""

    def __init__(self, root: str | Path, spec: HostSpec | None = None) -> None:
        super().__init__(str(root))
        self.spec = spec or HostSpec()
        self.fail_next: dict[str, int] = {}
        self.writes: list[tuple[str, str]] = []
        self.created_cgroups: list[str] = []  # cgroup v2 paths created through mkdir (not the policy hierarchy)
        self._build()

    # -- layout --------------------------------------------------------------------------------------------------
    def _put(self, path: str, text: str) -> None:
        real = Path(self.real(path))
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_text(text)
        if path.endswith("/cgroup.procs"):
            self._count_members(path)

    def _get(self, path: str) -> str:
        return Path(self.real(path)).read_text()

    def _build(self) -> None:
        spec = self.spec
        self._put("/proc/sys/kernel/osrelease", spec.release + "\n")
        lines = ["#subsys_name\thierarchy\tnum_cgroups\tenabled", "cpuset\t0\t1\t1", "memory\t0\t1\t1"]
        if spec.controller:
            lines.append("policy\t3\t1\t1")
        self._put("/proc/cgroups", "\n".join(lines) + "\n")
        swaps = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"]
        swaps += [f"{dev}\t\t\t\tpartition\t1048572\t\t0\t\t{prio}" for dev, prio in spec.swaps]
        self._put("/proc/swaps", "\n".join(swaps) + "\n")
        for pid in (*spec.pids, *spec.kthreads):
            os.makedirs(self.real(f"/proc/{pid}"), exist_ok=True)
        self._put("/sys/devices/system/node/online", spec.nodes + "\n")
        os.makedirs(self.real("/run"), exist_ok=True)
        for cgroup in spec.cgroups:
            self._put(f"{CGROUP2}{cgroup}/cgroup.procs", "".join(f"{p}\n" for p in spec.cgroup_pids.get(cgroup, ())))
        if spec.tiers:
            self._put(TIERS, render_table(spec.initial_tiers))
        if spec.mounted:
            self._put(f"{POLICY_ROOT}/policy.abi_version", f"{spec.abi_version}\n")
            self._put(f"{POLICY_ROOT}/policy.features", " ".join(spec.features) + "\n")
            self._put(f"{POLICY_ROOT}/cgroup.procs", "".join(f"{p}\n" for p in sorted(spec.pids)))
            self._put(f"{POLICY_ROOT}/policy.effective",
                      "".join(f"{f} default\n" for f in spec.features if f not in NOT_POLICIES))

    # -- helpers -------------------------------------------------------------------------------------------------
    def _group_of(self, path: str) -> tuple[str, str] | None:
        """(group path relative to the root, file name) for a file in the hierarchy."""
        if not path.startswith(POLICY_ROOT + "/"):
            return None
        rel = path[len(POLICY_ROOT) + 1:]
        group, _sep, name = rel.rpartition("/")
        return group, name

    def group_dir(self, group: str) -> str:
        return POLICY_ROOT if not group else f"{POLICY_ROOT}/{group}"

    def groups(self) -> list[str]:
        found = []
        for dirpath, dirnames, _files in os.walk(self.real(POLICY_ROOT)):
            rel = os.path.relpath(dirpath, self.real(POLICY_ROOT))
            for d in dirnames:
                found.append(d if rel == "." else f"{rel}/{d}")
        return sorted(found)

    def value(self, group: str, key: str) -> str:
        return self._get(f"{self.group_dir(group)}/{FILES[key]}").strip()

    def procs(self, group: str) -> list[int]:
        return [int(p) for p in self._get(f"{self.group_dir(group)}/cgroup.procs").split()]

    def bindings(self, group: str) -> list[str]:
        return self._get(f"{self.group_dir(group)}/policy.bind").split()

    def tiers(self) -> tuple[TierSpec, ...]:
        return parse_table(self._get(TIERS))

    def stats(self, group: str) -> str:
        """The text of ``group``'s policy.stat."""
        return self._get(f"{self.group_dir(group)}/policy.stat")

    def set_stats(self, group: str, values: dict[str, int | str] | None = None, text: str | None = None) -> None:
        """Make ``group``'s policy.stat show ``values`` (changed or added keys, in place; a value is written as
        given, so a test can write one that is not a number) or be exactly ``text``."""
        if text is None:
            lines = dict(line.split(None, 1) for line in self.stats(group).splitlines() if line.strip())
            lines.update({key: str(value) for key, value in (values or {}).items()})
            text = "".join(f"{key} {value.strip()}\n" for key, value in lines.items())
        self._put(f"{self.group_dir(group)}/policy.stat", text)

    def _count_members(self, procs_path: str) -> None:
        """The kernel computes ``members`` on read: keep it equal to the group's cgroup.procs."""
        where = self._group_of(procs_path)
        stat = procs_path.rpartition("/")[0] + "/policy.stat"
        if where is None or not where[0] or not self.exists(stat):
            return
        count = len(self._get(procs_path).split())
        text = re.sub(r"(?m)^members [0-9]+$", f"members {count}", self._get(stat))
        Path(self.real(stat)).write_text(text)

    def spawn(self, pid: int, group: str = "") -> None:
        """A new process appears (in ``group``)."""
        os.makedirs(self.real(f"/proc/{pid}"), exist_ok=True)
        path = f"{self.group_dir(group)}/cgroup.procs"
        self._put(path, "".join(f"{p}\n" for p in sorted({*self.procs(group), pid})))

    def kill(self, pid: int) -> None:
        os.rmdir(self.real(f"/proc/{pid}"))
        for group in ["", *self.groups()]:
            if pid in self.procs(group):
                path = f"{self.group_dir(group)}/cgroup.procs"
                self._put(path, "".join(f"{p}\n" for p in self.procs(group) if p != pid))

    def lay_out(self, tiers: Iterable[TierSpec], groups: Iterable[tuple[str, dict[str, str], tuple[str, ...]]]) -> None:
        """Make the host hold ``tiers`` and ``groups`` (``(path, {policy: value}, bindings)``, parents before
        children) directly, as the kernel would show them after a converge run: for large simulated hosts, where
        applying through ``write`` (whose checks scan every group) would take hours. Values are not validated."""
        self._put(TIERS, render_table(tuple(tiers)))
        made: list[str] = []
        for path, policies, bindings in groups:
            directory = self.group_dir(path)
            os.mkdir(self.real(directory))
            for feature in self.spec.features:
                self._put(f"{directory}/{FILES[feature]}", self._initial(feature, policies.get(feature, "inherit"), bindings))
            self._put(f"{directory}/cgroup.procs", "")
            made.append(path)
        for path in made:
            self._put(f"{self.group_dir(path)}/policy.effective", self._effective(path))

    @staticmethod
    def _initial(feature: str, value: str = "inherit", bindings: Iterable[str] = ()) -> str:
        """The content of a new group's file of ``feature``."""
        if feature == "bind":
            return "".join(f"{b}\n" for b in sorted(bindings))
        if feature == "stat":
            return "".join(f"{key} {number}\n" for key, number in STATS.items())
        return value + "\n"

    def _injected(self, path: str) -> None:
        for suffix, code in list(self.fail_next.items()):
            if path.endswith(suffix):
                del self.fail_next[suffix]
                raise _oserror(code, path)

    # -- file operations -----------------------------------------------------------------------------------------
    def _refresh_effective(self, group: str) -> None:
        """Rewrite policy.effective of ``group`` and its descendants (the kernel computes it on read)."""
        for path in [group, *(g for g in self.groups() if g.startswith(group + "/"))]:
            self._put(f"{self.group_dir(path)}/policy.effective", self._effective(path))

    def mkdir(self, path: str) -> None:
        self._injected(path)
        if path.startswith(CGROUP2 + "/") and not path.startswith(POLICY_ROOT + "/"):
            self._mkdir_cgroup(path)
            return
        if not path.startswith(POLICY_ROOT + "/"):
            raise _oserror(E.EPERM, path)
        parent, _sep, name = path.rpartition("/")
        if not GROUP_RE.match(name):
            raise _oserror(E.EINVAL, path)
        if not self.isdir(parent):
            raise _oserror(E.ENOENT, path)
        if self.exists(path):
            raise _oserror(E.EEXIST, path)
        os.mkdir(self.real(path))
        for feature in self.spec.features:
            self._put(f"{path}/{FILES[feature]}", self._initial(feature))
        self._put(f"{path}/cgroup.procs", "")
        self._refresh_effective(path[len(POLICY_ROOT) + 1:])

    def _mkdir_cgroup(self, path: str) -> None:
        """A cgroup v2 directory (as systemd or a unit's future cgroup): its parent must exist."""
        if not self.isdir(path.rpartition("/")[0]):
            raise _oserror(E.ENOENT, path)
        if self.exists(path):
            raise _oserror(E.EEXIST, path)
        os.mkdir(self.real(path))
        self._put(f"{path}/cgroup.procs", "")
        self.created_cgroups.append(path[len(CGROUP2):])

    def rmdir(self, path: str) -> None:
        self._injected(path)
        where = self._group_of(path + "/x")
        if not where or not where[0]:
            raise _oserror(E.EPERM, path)
        if not self.isdir(path):
            raise _oserror(E.ENOENT, path)
        group = where[0]
        if self.procs(group) or self.subdirs(path) or ("bind" in self.spec.features and self.bindings(group)):
            raise _oserror(E.EBUSY, path)
        for entry in os.listdir(self.real(path)):
            os.unlink(os.path.join(self.real(path), entry))
        os.rmdir(self.real(path))

    def write(self, path: str, data: str) -> None:
        self._injected(path)
        value = data[:-1] if data.endswith("\n") else data
        if path == TIERS:
            self._write_tiers(value)
        else:
            where = self._group_of(path)
            if where is None or not self.exists(path):
                raise _oserror(E.ENOENT, path)
            group, name = where
            if not self.isdir(self.group_dir(group)):
                raise _oserror(E.ENOENT, path)
            self._write_group_file(path, group, name, value)
        self.writes.append((path, value))

    # -- per-file semantics --------------------------------------------------------------------------------------
    def _write_group_file(self, path: str, group: str, name: str, value: str) -> None:
        if name in ("policy.abi_version", "policy.features", "policy.effective", "policy.stat"):
            raise _oserror(E.EACCES, path)
        if name == "cgroup.procs":
            self._join(path, group, value)
            return
        if not group:
            raise _oserror(E.ENOENT, path)
        if name == "policy.thp":
            if value not in ("inherit", "never", "madvise", "always"):
                raise _oserror(E.EINVAL, path)
        elif name in ("policy.ksm", "policy.zswap.writeback"):
            if value not in ("inherit", "0", "1"):
                raise _oserror(E.EINVAL, path)
        elif name == "policy.mem_priority":
            if value not in ("inherit", "low", "normal", "high"):
                raise _oserror(E.EINVAL, path)
        elif name == "policy.oom_score_adj":
            if value != "inherit":
                if not re.fullmatch(r"-?[0-9]+", value):
                    raise _oserror(E.EINVAL, path)
                if not -1000 <= int(value) <= 1000:
                    raise _oserror(E.ERANGE, path)
                value = str(int(value))
        elif name == "policy.swap.tiers":
            value = self._swap_value(path, value)
        elif name == "policy.numa":
            value = self._numa_value(path, value)
        elif name == "policy.bind":
            self._bind(path, group, value)
            return
        else:
            raise _oserror(E.EACCES, path)
        self._put(path, value + "\n")
        self._refresh_effective(group)

    def _swap_value(self, path: str, value: str) -> str:
        if value in ("inherit", "none"):
            return value
        names = [n for n in re.split(r"[,\s]+", value) if n]
        if not names or any(not TIER_RE.match(n) for n in names):
            raise _oserror(E.EINVAL, path)
        defined = {t.name: t.start_priority for t in self.tiers()}
        if any(n not in defined for n in names):
            raise _oserror(E.ENOENT, path)
        return " ".join(sorted(set(names), key=lambda n: -defined[n]))

    def _numa_value(self, path: str, value: str) -> str:
        if value in ("inherit", "default", "local"):
            return value
        mode, sep, nodes = value.partition(":")
        if mode not in ("preferred", "bind", "interleave") or not sep:
            raise _oserror(E.EINVAL, path)
        try:
            wanted = parse_nodelist(nodes)
        except ValueError:
            raise _oserror(E.EINVAL, path) from None
        if not wanted or not set(wanted) <= set(parse_nodelist(self.spec.nodes)):
            raise _oserror(E.EINVAL, path)
        return f"{mode}:{render_nodelist(wanted)}"

    def _bind(self, path: str, group: str, value: str) -> None:
        sign, target = value[:1], value[1:]
        parts = target[1:].split("/")
        if sign not in "+-" or not sign or not target.startswith("/") or target == "/" or any(p in ("", ".", "..") for p in parts):
            raise _oserror(E.EINVAL, path)
        mine = self.bindings(group)
        if sign == "-":
            if target not in mine:
                raise _oserror(E.ENOENT, path)
            self._put(path, "".join(f"{b}\n" for b in mine if b != target))
            return
        if not self.isdir(f"{CGROUP2}{target}"):
            raise _oserror(E.ENOENT, path)
        for other in self.groups():
            if other != group and target in self.bindings(other):
                raise _oserror(E.EBUSY, path)
        self._put(path, "".join(f"{b}\n" for b in sorted({*mine, target})))
        for cgroup in self.spec.cgroups:
            if cgroup == target or cgroup.startswith(target + "/"):
                for pid in self.spec.cgroup_pids.get(cgroup, ()):
                    if self.isdir(f"/proc/{pid}"):
                        self._move(pid, group)

    def _join(self, path: str, group: str, value: str) -> None:
        if not re.fullmatch(r"[0-9]+", value.strip()):
            raise _oserror(E.EINVAL, path)
        pid = int(value)
        if pid in self.spec.kthreads:
            raise _oserror(E.EINVAL, path)
        if not self.isdir(f"/proc/{pid}"):
            raise _oserror(E.ESRCH, path)
        self._move(pid, group)

    def _move(self, pid: int, group: str) -> None:
        for other in ["", *self.groups()]:
            if other != group and pid in self.procs(other):
                self._put(f"{self.group_dir(other)}/cgroup.procs", "".join(f"{p}\n" for p in self.procs(other) if p != pid))
        self._put(f"{self.group_dir(group)}/cgroup.procs", "".join(f"{p}\n" for p in sorted({*self.procs(group), pid})))

    def _effective(self, group: str) -> str:
        lines = []
        for feature in self.spec.features:
            if feature in NOT_POLICIES:
                continue
            value = "default"
            probe = group
            while probe:
                own = self.value(probe, feature)
                if own != "inherit":
                    value = own
                    break
                probe = probe.rpartition("/")[0]
            lines.append(f"{feature} {value}")
        return "".join(line + "\n" for line in lines)

    # -- tiers ---------------------------------------------------------------------------------------------------
    def _write_tiers(self, value: str) -> None:
        tokens = [t for t in re.split(r"[,\s]+", value) if t]
        if not tokens:
            raise _oserror(E.EINVAL, TIERS)
        current = self.tiers()
        table = {t.name: t.start_priority for t in current}
        active = [prio for _device, prio in self.spec.swaps]

        def layout() -> list[TierSpec]:
            return [TierSpec(n, p) for n, p in table.items()]

        for token in tokens:
            sign, body = token[0], token[1:]
            if sign == "+":
                name, sep, prio_text = body.partition(":")
                if not sep or not TIER_RE.match(name) or not re.fullmatch(r"-?[0-9]+", prio_text):
                    raise _oserror(E.EINVAL, TIERS)
                prio = int(prio_text)
                if not -1 <= prio <= 32767:
                    raise _oserror(E.EINVAL, TIERS)
                if name in table:
                    raise _oserror(E.EEXIST, TIERS)
                if prio in table.values():
                    raise _oserror(E.EBUSY, TIERS)
                if len(table) >= self.spec.nr_tiers:
                    raise _oserror(E.ENOSPC, TIERS)
                host = tier_of(prio, layout())
                if host is not None and any(tier_of(d, layout()) == host and d >= prio for d in active):
                    raise _oserror(E.EBUSY, TIERS)
                table[name] = prio
            elif sign == "-":
                if body not in table:
                    raise _oserror(E.ENOENT if TIER_RE.match(body) else E.EINVAL, TIERS)
                if any(tier_of(d, layout()) == body for d in active):
                    raise _oserror(E.EBUSY, TIERS)
                removed = table.pop(body)
                if removed == -1 and table:
                    lowest = min(table, key=lambda n: table[n])
                    table[lowest] = -1
            else:
                raise _oserror(E.EINVAL, TIERS)
        if table and min(table.values()) != -1:
            raise _oserror(E.EINVAL, TIERS)
        for group in self.groups():
            if "swap_tiers" in self.spec.features:
                named = self.value(group, "swap_tiers")
                if named not in ("inherit", "none") and not set(named.split()) <= set(table):
                    raise _oserror(E.EBUSY, TIERS)
        self._put(TIERS, render_table(TierSpec(n, p) for n, p in table.items()))


def make_host(root: str | Path, **spec: object) -> FakeKernel:
    """A fresh simulated host under ``root`` (keyword arguments are HostSpec fields)."""
    return FakeKernel(root, HostSpec(**spec))  # type: ignore[arg-type]


def tiers_of(pairs: Iterable[tuple[str, int]]) -> tuple[TierSpec, ...]:
    return tuple(TierSpec(n, p) for n, p in pairs)
