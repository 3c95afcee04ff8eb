# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions raised by the policy-group engine (stdlib only)."""

from __future__ import annotations


class PolicyGroupsError(Exception):
    """Base class: every engine error carries a message meant for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ModelError(PolicyGroupsError):
    """The desired-state document cannot be normalised (unsafe name, unknown parent, cycle ...)."""


class NotAvailableError(PolicyGroupsError):
    """The host has no usable policy-group backend."""


class UnsupportedError(PolicyGroupsError):
    """The host's kernel cannot express what was asked (unknown ABI version, missing feature)."""


class PlanError(PolicyGroupsError):
    """The desired state cannot be reached safely from the actual state; nothing was written."""


class BackendError(PolicyGroupsError):
    """A kernel operation failed; ``errno`` is the failing system call's errno when there is one."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class ProcessGoneError(BackendError):
    """A process named by PID no longer exists."""

    def __init__(self, message: str, pid: int, errno: int | None = None) -> None:
        super().__init__(message, errno)
        self.pid = pid


class LockTimeoutError(PolicyGroupsError):
    """Another run holds the host lock for longer than the timeout."""
