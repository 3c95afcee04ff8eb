# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safety rules for the names and paths in a fleet document, with explanations.

Standard library only: the controller-side validator uses these to explain schema pattern failures,
and code running on a host can use them as a last line of defence before touching the filesystem.
Each ``*_problem`` function returns ``None`` for an acceptable value, else a message saying what is
wrong and what is expected. Patterns are matched whole (``fullmatch``): Python's ``$`` also matches before a
trailing newline, which would let ``"name\n"`` through.
"""

from __future__ import annotations

import re

GROUP_NAME_MAX = 63
TIER_NAME_MAX = 15
UNIT_NAME_MAX = 255
CGROUP_PATH_MAX = 4095

GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
TIER_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
UNIT_NAME_RE = re.compile(r"^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]+)?\.(service|scope|slice|socket|mount|swap)$")
NODE_LIST_RE = re.compile(r"^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$")

# Words of policy.swap.tiers and policy.effective: the kernel refuses them as tier names.
RESERVED_TIER_NAMES = frozenset({"none", "inherit", "default"})
# cgroup v1 core files present in every group of the policy hierarchy: mkdir of these names fails.
RESERVED_GROUP_NAMES = frozenset({"tasks", "notify_on_release", "release_agent"})
UNIT_TYPES_WITH_CGROUP = ("service", "scope", "slice", "socket", "mount", "swap")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WHITE_SPACE = re.compile(r"\s")
_TEMPLATE_WITHOUT_INSTANCE = re.compile(r"@\.(%s)\Z" % "|".join(UNIT_TYPES_WITH_CGROUP))


def _escape_problem(value: str, what: str) -> str | None:
    """Problems that would let a name escape or confuse the policy root, most serious first."""
    if value == "":
        return "must not be empty"
    if "\x00" in value:
        return "contains a NUL byte, which ends a path early in the kernel"
    if ".." in value:
        return "contains '..', which could escape the policy root"
    if "/" in value:
        return ("contains '/': a %s is a single path component; nest groups with 'parent' instead" % what)
    if value.startswith("."):
        return "starts with '.', which makes a hidden entry and is reserved for '.' and '..'"
    return None


def group_name_problem(name: str) -> str | None:
    """Why ``name`` is not a safe policy group name, or ``None``."""
    problem = _escape_problem(name, "group name")
    if problem:
        return problem
    if len(name) > GROUP_NAME_MAX:
        return "is %d characters long; at most %d are allowed" % (len(name), GROUP_NAME_MAX)
    if not GROUP_NAME_RE.fullmatch(name):
        return ("may contain only letters, digits, '_' and '-', and must start with a letter or digit; got %r" % name)
    if name in RESERVED_GROUP_NAMES:
        return "is a reserved name: the kernel has a file of that name in every policy group"
    return None


def tier_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid swap tier name, or ``None``."""
    if name == "":
        return "must not be empty"
    if len(name) > TIER_NAME_MAX:
        return "is %d characters long; swap tier names have at most %d" % (len(name), TIER_NAME_MAX)
    if not TIER_NAME_RE.fullmatch(name):
        return "may contain only letters, digits and '_' (the kernel's swap tier syntax); got %r" % name
    if name in RESERVED_TIER_NAMES:
        return "is a reserved word (%s are values of policy.swap.tiers, not tier names)" % ", ".join(
            sorted(RESERVED_TIER_NAMES))
    return None


def cgroup_path_problem(path: str) -> str | None:
    """Why ``path`` is not an absolute, normalised cgroup v2 path, or ``None``."""
    if path == "":
        return "must not be empty"
    if not path.startswith("/"):
        return "must be absolute (start with '/', relative to the cgroup2 mount), did you mean %r?" % ("/" + path)
    if path == "/":
        return "is the root cgroup: binding it would move every task on the host into the group"
    if _CONTROL.search(path):
        return "contains a control character (NUL or newline), which the kernel's bind file cannot carry"
    if _WHITE_SPACE.search(path):
        return "contains white space, which the kernel's bind file cannot carry (it separates paths)"
    if "//" in path:
        return "contains '//'; write the normalised path %r" % _normalised(path)
    if path.endswith("/"):
        return "has a trailing '/'; write %r" % path.rstrip("/")
    components = path.split("/")[1:]
    if ".." in components:
        return "contains a '..' component, which could escape the cgroup it names"
    if "." in components:
        return "contains a '.' component; write the normalised path %r" % _normalised(path)
    if len(path) > CGROUP_PATH_MAX:
        return "is %d characters long; at most %d are allowed" % (len(path), CGROUP_PATH_MAX)
    return None


def _normalised(path: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


def unit_name_problem(name: str) -> str | None:
    """Why ``name`` is not a systemd unit name that has a cgroup, or ``None``."""
    if name == "":
        return "must not be empty"
    if len(name) > UNIT_NAME_MAX:
        return "is %d characters long; systemd unit names have at most %d" % (len(name), UNIT_NAME_MAX)
    if "/" in name:
        return "contains '/': give the unit name (e.g. api.service), or use members.cgroups for a cgroup path"
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if suffix not in UNIT_TYPES_WITH_CGROUP:
        return ("must end in a unit type that has a cgroup (.%s); got %r" % (", .".join(UNIT_TYPES_WITH_CGROUP), name))
    if _TEMPLATE_WITHOUT_INSTANCE.search(name):
        return "is a template without an instance (%r); name an instance such as %r" % (
            name, name.replace("@.", "@1.", 1))
    if not UNIT_NAME_RE.fullmatch(name):
        return "may contain only letters, digits and ':_.\\-' with at most one '@'; got %r" % name
    return None


def node_list_problem(nodes: str) -> str | None:
    """Why ``nodes`` is not a NUMA node list ('0', '0-1', '0,2-3'), or ``None``."""
    if not NODE_LIST_RE.fullmatch(nodes):
        return "must be a node list such as '0', '0-1' or '0,2-3' (digits, ',' and '-', no spaces); got %r" % nodes
    for part in nodes.split(","):
        if "-" in part:
            low, high = (int(x) for x in part.split("-"))
            if low > high:
                return "range %r is descending; write %d-%d" % (part, high, low)
    return None
