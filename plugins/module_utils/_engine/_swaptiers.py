# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The /sys/kernel/mm/swap/tiers table: parse, render, tier lookup and change batches (stdlib only).

Format (ABI section 4): a header line, then ``%-16s %-5d %-11d %d`` per tier, highest tier first.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from ._errors import BackendError
from ._model import PRIO_MAX, PRIO_MIN, TierSpec

HEADER = f"{'Name':<16} {'Idx':<5} {'PrioStart':<11} PrioEnd"


def parse_table(text: str) -> tuple[TierSpec, ...]:
    """Parse the tiers file; returns tiers highest start priority first."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].split()[:1] != ["Name"]:
        raise BackendError(f"unexpected swap tiers table (no header): {text[:80]!r}")
    tiers: list[TierSpec] = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) != 4:
            raise BackendError(f"unexpected swap tiers line: {line!r}")
        try:
            tiers.append(TierSpec(fields[0], int(fields[2])))
        except ValueError as exc:
            raise BackendError(f"unexpected swap tiers line: {line!r}") from exc
    return tuple(sorted(tiers, key=lambda t: -t.start_priority))


def render_table(tiers: Iterable[TierSpec], indexes: dict[str, int] | None = None) -> str:
    """Render like the kernel does; ``indexes`` gives each tier's slot (default: position)."""
    ordered = sorted(tiers, key=lambda t: -t.start_priority)
    lines = [HEADER]
    end = PRIO_MAX
    for position, tier in enumerate(ordered):
        idx = indexes[tier.name] if indexes else position
        lines.append(f"{tier.name:<16} {idx:<5} {tier.start_priority:<11} {end}")
        end = tier.start_priority - 1
    return "\n".join(lines) + "\n"


def tier_of(priority: int, tiers: Sequence[TierSpec]) -> str | None:
    """Name of the tier whose range contains ``priority`` (None when no tier covers it).

    A device swapped on without a priority gets an automatic one below -1 (-2, -3, ...); the kernel counts it
    in the lowest tier (ABI section 4), as if its priority were -1."""
    priority = max(priority, PRIO_MIN)
    for tier in sorted(tiers, key=lambda t: -t.start_priority):
        if priority >= tier.start_priority:
            return tier.name
    return None


def change_batch(before: Sequence[TierSpec], after: Sequence[TierSpec]) -> str:
    """One all-or-nothing write taking the table from ``before`` to ``after``.

    The kernel applies operations left to right and removing the lowest tier moves the next one down to -1,
    so: while the tier starting at -1 stays, removals (highest first) precede additions, and a changed start
    priority is ``-name`` then ``+name:prio`` (which keeps groups' references). When the tier at -1 itself
    goes or changes, the table is rebuilt: every tier removed, then the new ones added. Additions go highest
    first, so each new tier lands below the existing ones instead of splitting a range that holds an active
    swap device.
    """
    old = {t.name: t.start_priority for t in before}
    new = {t.name: t.start_priority for t in after}
    lowest = next((name for name, prio in old.items() if prio == -1), None)
    rebuild = lowest is not None and new.get(lowest) != -1
    removals = [
        f"-{name}" for name, prio in sorted(old.items(), key=lambda kv: -kv[1]) if rebuild or new.get(name) != prio
    ]
    additions = [
        f"+{name}:{prio}" for name, prio in sorted(new.items(), key=lambda kv: -kv[1]) if rebuild or old.get(name) != prio
    ]
    return ",".join(removals + additions)


def same_table(a: Sequence[TierSpec], b: Sequence[TierSpec]) -> bool:
    return {(t.name, t.start_priority) for t in a} == {(t.name, t.start_priority) for t in b}
