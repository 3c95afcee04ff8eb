# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot-time restore of the memory policy groups persisted by the policygroups.core.policy_groups role.

This file is the entry point (``__main__.py``) of one runnable zip, ``policygroups-restore.pyz``, which the role
packs on the controller (``pack-restore.py``) and installs in ``policy_groups_restore_dir``; the same zip holds
the collection's engine as the package ``policygroups_engine`` (standard library only), so the host needs only
a Python 3 interpreter::

    python3 policygroups-restore.pyz --document /etc/policygroups/policy.json [--check]

Run by ``policygroups-restore.service`` before ``sysinit.target``, i.e. before the services it binds start. It
reads the persisted document and reconciles the host to it with that engine, both under the host lock: swap
tiers first, then groups, policies and bindings. Services that have not started yet have no cgroup: their cgroup is derived from the
unit's slice and created, so the binding is in place before the first task enters it (systemd adopts an
existing cgroup directory when it starts the unit).

The whole document is validated, strictly typed, before anything is done (no cgroup is created from a
document that is not valid in full). Exit status: 0 restored (or nothing to do), 1 something could not be
restored (details on stderr, in the journal), 2 bad usage, or an unreadable or invalid document.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any, Callable, Sequence

# Run from the zip, HERE is the zip itself, which Python has put on sys.path already; run as a plain file, it
# is this file's directory, where a ``policygroups_engine`` package may sit beside it.
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

SUPPORTED_FORMATS = (1,)
CGROUP2_ROOT = "/sys/fs/cgroup"


def log(message: str) -> None:
    print(f"policygroups-restore: {message}", file=sys.stderr, flush=True)


def systemctl_show(unit: str) -> dict[str, str]:
    """The properties ``unit_cgroup`` needs, in one ``systemctl show`` (empty when systemctl cannot answer)."""
    from policygroups_engine._engine._systemctl import parse_show
    from policygroups_engine._engine._unit_cgroup import UNIT_PROPERTIES

    try:
        out = subprocess.run(["systemctl", "show", *(f"--property={p}" for p in UNIT_PROPERTIES), "--", unit],
                             check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    blocks = parse_show(out.stdout) if out.returncode == 0 else []
    return blocks[0] if blocks else {}


def make_unit_resolver(root: str, cgroup_root: str, create: bool,
                       show: Callable[[str], dict[str, str]] | None = None) -> Callable[[str], str | None]:
    """A unit's cgroup by the engine's rule (``_unit_cgroup.unit_cgroup``, the same as at run time): the running
    unit's ControlGroup, else ``<slice path>/<unit>``, created when asked."""
    from policygroups_engine._engine._unit_cgroup import unit_cgroup

    def resolve(unit: str) -> str | None:
        props = (show or systemctl_show)(unit)
        if not props:
            return None  # systemctl gave no answer: skipped and logged, never guessed
        path = unit_cgroup(unit, props)
        if path is None or not create or path == props.get("ControlGroup", "").strip():
            return path  # unknown, asked not to create, or running (its cgroup exists)
        from policygroups_engine._engine._io import makedirs_nofollow

        try:
            makedirs_nofollow(root, f"{cgroup_root.rstrip('/')}{path}")  # no link is followed on the way
        except OSError as exc:
            log(f"cannot create cgroup {path} for {unit}: {exc}")
            return None
        return path

    return resolve


DOCUMENT_KEYS = ("format", "policy_root", "purge", "tiers_purge", "policy_swap_tiers", "policy_groups")


class BadDocument(ValueError):
    """The persisted policy is not one this restore can act on; nothing was done."""


def load_document(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    if not isinstance(doc, dict) or doc.get("format") not in SUPPORTED_FORMATS:
        raise BadDocument(f"{path}: not a persisted policy of a supported format {SUPPORTED_FORMATS}")
    return doc


class Restore:
    """The persisted policy, validated whole and typed: nothing is acted on before all of it is."""

    def __init__(self, policy_root: str, purge: bool, tiers_purge: bool, policy: Any) -> None:
        self.policy_root = policy_root
        self.purge = purge
        self.tiers_purge = tiers_purge
        self.policy = policy  # the engine's HostPolicy

    def desired(self, actual: Any) -> Any:
        """The policy to reach from ``actual``: with ``tiers_purge: false`` the host's other tiers stay."""
        from policygroups_engine._engine._model import HostPolicy, normalize_tiers

        if self.tiers_purge or self.policy.tiers is None or not actual.tiers:
            return self.policy
        named = {t.name for t in self.policy.tiers}
        items = [t.to_dict() for t in self.policy.tiers] + [t.to_dict() for t in actual.tiers if t.name not in named]
        return HostPolicy(groups=self.policy.groups, tiers=normalize_tiers(items, "policy_swap_tiers"))


def validate(doc: dict[str, Any]) -> Restore:
    """Every key of the document checked, strictly typed (``"false"`` is not a boolean); raises BadDocument."""
    from policygroups_engine._engine._errors import ModelError
    from policygroups_engine._engine._model import normalize

    unknown = sorted(set(doc) - set(DOCUMENT_KEYS))
    if unknown:
        raise BadDocument(f"unknown key(s) {', '.join(map(str, unknown))}")
    flags = {}
    for key in ("purge", "tiers_purge"):
        value = doc.get(key, key == "tiers_purge")
        if not isinstance(value, bool):
            raise BadDocument(f"{key}: expected true or false, got {value!r}")
        flags[key] = value
    policy_root = doc.get("policy_root", "/sys/fs/cgroup/policy")
    if not isinstance(policy_root, str) or not policy_root.startswith("/") or "\0" in policy_root:
        raise BadDocument(f"policy_root: expected an absolute path, got {policy_root!r}")
    wanted = {"policy_groups": doc.get("policy_groups", [])}
    if doc.get("policy_swap_tiers") is not None:
        wanted["policy_swap_tiers"] = doc["policy_swap_tiers"]
    try:
        policy = normalize(wanted)
    except ModelError as exc:
        raise BadDocument(str(exc)) from exc
    return Restore(policy_root, flags["purge"], flags["tiers_purge"], policy)


def ensure_cgroups(policy: Any, root: str, cgroup_root: str) -> None:
    """Create bound cgroup v2 paths that do not exist yet (their services start later); the paths are the
    validated ones (absolute, normalised, no '..')."""
    from policygroups_engine._engine._io import makedirs_nofollow

    for group in policy.groups:
        for path in group.members.cgroups if group.present else ():
            try:
                makedirs_nofollow(root, f"{cgroup_root.rstrip('/')}{path}")  # no link is followed on the way
            except OSError as exc:
                log(f"cannot create cgroup {path}: {exc}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="policygroups-restore", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--document", default="/etc/policygroups/policy.json", help="persisted policy (JSON)")
    parser.add_argument("--root", default="/", help="prefix for every host path (tests)")
    parser.add_argument("--policy-root", default=None, help="policy hierarchy mount (default: the document's)")
    parser.add_argument("--cgroup-root", default=CGROUP2_ROOT, help="cgroup v2 mount")
    parser.add_argument("--lock", default=None, help="host lock file (default: the engine's)")
    parser.add_argument("--check", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--no-create-cgroups", action="store_true",
                        help="do not create the cgroups of bound paths and units that do not exist yet")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)

    from policygroups_engine._engine._errors import PolicyGroupsError
    from policygroups_engine._engine._lock import DEFAULT_LOCK_PATH, HostLock

    # The document is read under the lock the reconcile takes again (nested): read before it, it could be the one
    # a converge run replaced, and applied, while this waited for the lock; applying it would undo that run.
    lock = args.lock or os.path.join(args.root, DEFAULT_LOCK_PATH.lstrip("/"))
    try:
        with HostLock(lock, shared=args.check):
            return restore_host(args, lock)
    except PolicyGroupsError as exc:  # the lock's own
        log(f"not restored: {exc}")
        return 1


def restore_host(args: argparse.Namespace, lock: str) -> int:
    """Read the persisted document and reconcile the host to it; the exit status."""
    try:
        restore = validate(load_document(os.path.join(args.root, args.document.lstrip("/"))))
    except (OSError, ValueError) as exc:
        log(f"cannot use the persisted policy, nothing was done: {exc}")
        return 2

    from policygroups_engine._engine._backend import make_backend
    from policygroups_engine._engine._errors import PolicyGroupsError
    from policygroups_engine._engine._reconcile import reconcile

    policy_root = args.policy_root or restore.policy_root
    create = not args.no_create_cgroups and not args.check
    if create:
        ensure_cgroups(restore.policy, args.root, args.cgroup_root)
    desired = restore.policy
    try:
        backend = make_backend("auto", root=args.root, policy_root=policy_root)
        outcome = reconcile(backend, restore.desired, purge=restore.purge, check_mode=args.check,
                            lock_path=lock, resolve_unit=make_unit_resolver(args.root, args.cgroup_root, create),
                            missing="skip")
    except PolicyGroupsError as exc:
        log(f"not restored: {exc}")
        return 1
    result = outcome.result()
    for change in result["changes"]:
        log(f"{'would ' if args.check else ''}{change['op']} {change.get('group') or ''} {change.get('key') or ''}"
            f" {change.get('before')!r} -> {change.get('after')!r}".rstrip())
    for problem in result.get("skipped_members", []):
        log(f"skipped: {problem}")
    if outcome.failed is not None:
        log(f"stopped at {outcome.failed.to_dict()}: {outcome.error}")
        return 1
    log(f"{'would apply' if args.check else 'applied'} {len(result['changes'])} operation(s); "
        f"{len(desired.groups)} group(s) in the persisted policy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
