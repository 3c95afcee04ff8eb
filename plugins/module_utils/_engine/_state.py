# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Actual state of one host as a backend reads it (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ._model import TierSpec


@dataclass(frozen=True)
class Capabilities:
    """What the host's kernel offers, as found by a backend's probe."""

    backend: str
    available: bool
    reason: str | None = None
    abi_version: int | None = None
    features: tuple[str, ...] = ()
    kernel_release: str | None = None
    tiers_supported: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "available": self.available,
            "reason": self.reason,
            "abi_version": self.abi_version,
            "features": list(self.features),
            "kernel_release": self.kernel_release,
            "tiers_supported": self.tiers_supported,
        }


@dataclass(frozen=True)
class GroupState:
    """One group on the host: own policy values (``inherit`` when unset), bindings and member PIDs."""

    path: str
    policies: Mapping[str, str] = field(default_factory=dict)
    bindings: tuple[str, ...] = ()
    pids: tuple[int, ...] = ()
    effective: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def parent_path(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def depth(self) -> int:
        return self.path.count("/") + 1


@dataclass(frozen=True)
class SwapDevice:
    """One line of /proc/swaps, with the tier its priority falls into."""

    path: str
    type: str
    size_kb: int
    used_kb: int
    priority: int
    tier: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "priority": self.priority,
            "size_kb": self.size_kb,
            "used_kb": self.used_kb,
            "tier": self.tier,
        }


@dataclass(frozen=True)
class HostState:
    """Everything the planner needs: capabilities, tier table (None when unsupported), groups by path."""

    capabilities: Capabilities
    tiers: tuple[TierSpec, ...] | None = None
    groups: Mapping[str, GroupState] = field(default_factory=dict)
    swap_devices: tuple[SwapDevice, ...] = ()
    online_nodes: tuple[int, ...] | None = None

    def paths_by_name(self) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {}
        for path in sorted(self.groups):
            names.setdefault(path.rpartition("/")[2], []).append(path)
        return names
