# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validation error type and the rendering of document paths such as ``policy_groups[3].swap.tiers[1]``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Union

PathElement = Union[str, int]
DOCUMENT = "(document)"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, order=True)
class ValidationError:
    """One problem in a fleet document: where (``path``) and what was expected (``message``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return "%s: %s" % (self.path, self.message)

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def render_path(elements: Iterable[PathElement]) -> str:
    """``['policy_groups', 3, 'swap', 'tiers', 1]`` -> ``policy_groups[3].swap.tiers[1]``."""
    out = ""
    for element in elements:
        if isinstance(element, int) and not isinstance(element, bool):
            out += "[%d]" % element
        elif _IDENTIFIER.match(str(element)):
            out += ("." if out else "") + str(element)
        else:
            out += "[%r]" % str(element)
    return out or DOCUMENT


def sort_key(elements: Iterable[PathElement]) -> tuple[tuple[int, int, str], ...]:
    """Order paths by document position: list indices numerically, keys by name."""
    return tuple((0, e, "") if isinstance(e, int) and not isinstance(e, bool) else (1, 0, str(e)) for e in elements)
