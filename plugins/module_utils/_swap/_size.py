# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes as people write them (``512M``, ``2G``, ``1048576``): parse to bytes and show (stdlib only).

Suffixes are binary, as ``zramctl --size`` and ``fallocate -l`` read them: K, M, G, T (also KiB, MiB, ...).
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE_RE = re.compile(r"([0-9]+)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)


def parse_size(value: str | int) -> int:
    """Bytes of ``value``; ValueError (naming the value) for anything but a positive whole size."""
    if isinstance(value, bool):
        raise ValueError(f"size {value!r} is not a size")
    if isinstance(value, int):
        number = value
    else:
        match = _SIZE_RE.fullmatch(str(value).strip())
        if match is None:
            raise ValueError(f"size {value!r} is not a size: a whole number of bytes, or with K, M, G or T (binary)")
        number = int(match.group(1)) * _UNITS[match.group(2).upper()]
    if number <= 0:
        raise ValueError(f"size {value!r} must be more than 0 bytes")
    return number


def format_size(size: int) -> str:
    """The largest exact binary unit: ``format_size(512 << 20) == '512M'``; plain bytes otherwise."""
    for suffix in ("T", "G", "M", "K"):
        unit = _UNITS[suffix]
        if size >= unit and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)
