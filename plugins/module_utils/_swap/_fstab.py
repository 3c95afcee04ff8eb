# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swap lines of /etc/fstab: find a device's line, set its ``pri=``, add or remove it (stdlib only).

Text in, text out: every other line (comments, blank lines, file systems, other devices) is kept byte for byte,
and a line that is edited keeps its spec, its other options and its fields' order; only ``pri=`` changes.
Which lines belong to a device is decided by the caller's ``matches(spec)``, which resolves ``UUID=``,
``LABEL=`` and paths on the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

FSTAB = "/etc/fstab"


@dataclass(frozen=True)
class SwapLine:
    """One swap line of fstab: its index among the file's lines, its spec and its options."""

    index: int
    spec: str
    options: tuple[str, ...]
    text: str

    @property
    def priority(self) -> int | None:
        for option in self.options:
            key, sep, value = option.partition("=")
            if key == "pri" and sep:
                try:
                    return int(value)
                except ValueError:
                    return None
        return None


def unescape(field: str) -> str:
    """fstab's octal escapes (``\\040`` for a space) resolved."""
    out, i = [], 0
    while i < len(field):
        octal = field[i + 1:i + 4]
        if field[i] == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(chr(int(octal, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def escape(field: str) -> str:
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in field)


def swap_lines(text: str) -> list[SwapLine]:
    """Every uncommented line whose type (third field) is ``swap``."""
    found = []
    for index, line in enumerate(text.splitlines()):
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith("#") or fields[2] != "swap":
            continue
        options = tuple(fields[3].split(",")) if len(fields) > 3 else ()
        found.append(SwapLine(index, unescape(fields[0]), options, line))
    return found


def with_priority(options: tuple[str, ...], priority: int) -> tuple[str, ...]:
    """The options with ``pri=`` set to ``priority`` (where it was, else last); ``defaults`` kept."""
    out, done = [], False
    for option in options:
        if option.partition("=")[0] == "pri":
            if not done:
                out.append(f"pri={priority}")
                done = True
            continue
        out.append(option)
    if not done:
        out.append(f"pri={priority}")
    return tuple(out)


def render_line(spec: str, options: tuple[str, ...]) -> str:
    return f"{escape(spec)} none swap {','.join(options)} 0 0"


def _edit_fields(line: str, options: tuple[str, ...]) -> str:
    """``line`` with its fourth field replaced, the white space between fields kept."""
    parts: list[str] = []
    field, i = 0, 0
    while i < len(line):
        j = i
        while j < len(line) and line[j] in " \t":
            j += 1
        parts.append(line[i:j])
        k = j
        while k < len(line) and line[k] not in " \t":
            k += 1
        parts.append(",".join(options) if field == 3 else line[j:k])
        field += 1
        i = k
    if field <= 3:  # no options field: add one, and the dump and pass fields
        return line.rstrip() + f" {','.join(options)} 0 0"
    return "".join(parts)


def set_entry(text: str, spec: str, priority: int, matches: Callable[[str], bool],
              new_options: tuple[str, ...] = ("sw",)) -> str:
    """``text`` with the device's swap line(s) at ``pri=priority``, or a new line for ``spec`` (with
    ``new_options`` and ``pri=``) appended."""
    lines = text.splitlines()
    mine = [s for s in swap_lines(text) if matches(s.spec)]
    if not mine:
        head = text if not text or text.endswith("\n") else text + "\n"
        return head + render_line(spec, (*new_options, f"pri={priority}")) + "\n"
    for entry in mine:
        wanted = with_priority(entry.options or ("sw",), priority)
        if wanted != entry.options:
            lines[entry.index] = _edit_fields(entry.text, wanted)
    return "\n".join(lines) + ("\n" if text.endswith("\n") or not text else "")


def remove_entry(text: str, matches: Callable[[str], bool]) -> str:
    """``text`` without the device's swap line(s)."""
    drop = {s.index for s in swap_lines(text) if matches(s.spec)}
    if not drop:
        return text
    kept = [line for index, line in enumerate(text.splitlines()) if index not in drop]
    return "\n".join(kept) + ("\n" if kept and text.endswith("\n") else "")
