# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SELinux contexts for the files the engine writes whole, from a module run (ansible-core's libselinux binding).

What ``AnsibleModule.atomic_move`` gives a file it writes - the context the replaced file had, or the policy's
default for the path when there was none - without its path-based rename, which resolves the destination and its
directories through symbolic links (the engine never follows one as root, see ``_engine._io.replace_nofollow``).
A labelling failure is an ``OSError`` of that write, so the engine reports it like any other failed write instead
of the module exiting half-way. Controller and modules only: the boot-time restore does not pack this package.
"""

from __future__ import annotations

import errno
from typing import Any

from .._engine._io import Labeller


def selinux_labeller(module: Any) -> Labeller | None:
    """The labeller for ``module``'s writes when SELinux is enabled on the host, else None."""
    if not module.selinux_enabled():
        return None
    from ansible.module_utils.compat import selinux  # importable: selinux_enabled() is only true when it is

    def label(tmp: str, replaced: str, final: str) -> None:
        try:
            context = selinux.lgetfilecon_raw(replaced)[1]
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
            context = selinux.matchpathcon(final, 0)[1]
        if context:
            selinux.lsetfilecon(tmp, context)

    return label
