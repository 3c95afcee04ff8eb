# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few ``systemctl`` calls the systemd backend makes, through an injected runner (stdlib only).

A runner takes an argv (without the ``systemctl`` binary) and returns ``(rc, stdout, stderr)``; modules pass
one built on ``AnsibleModule.run_command`` (``module_runner``), tests pass a fake. Nothing here parses version numbers: what this
systemd supports is asked of systemd itself (``systemctl show -p NAME`` prints only the properties it knows).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ._errors import BackendError

Runner = Callable[[Sequence[str]], "tuple[int, str, str]"]


def module_runner(module: Any) -> Runner:
    """``systemctl`` through an AnsibleModule's ``run_command`` (the module is passed in, not imported)."""

    def run(argv: Sequence[str]) -> tuple[int, str, str]:
        systemctl = module.get_bin_path("systemctl")
        if not systemctl:
            return 127, "", "systemctl is not installed"
        rc, out, err = module.run_command([systemctl, *argv])
        return int(rc), str(out), str(err)

    return run


def no_runner(argv: Sequence[str]) -> tuple[int, str, str]:
    """The runner of a backend made without one: systemd cannot be asked, so the backend is unavailable."""
    return 127, "", "no way to run systemctl was given to the systemd backend"


def parse_show(text: str) -> list[dict[str, str]]:
    """``systemctl show`` output for one or more units: one ``{property: value}`` per unit, in order."""
    blocks: list[dict[str, str]] = [{}]
    for line in text.splitlines():
        if not line.strip():
            if blocks[-1]:
                blocks.append({})
            continue
        key, sep, value = line.partition("=")
        if sep:
            blocks[-1][key] = value
    return blocks if blocks[-1] else blocks[:-1]


class Systemctl:
    """Queries and commands, each raising BackendError with systemctl's own message when it fails."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def _run(self, argv: Sequence[str], what: str) -> str:
        rc, out, err = self.runner(list(argv))
        if rc != 0:
            detail = (err or out).strip() or f"exit status {rc}"
            raise BackendError(f"{what} failed: systemctl {' '.join(argv)}: {detail}")
        return out

    def version(self) -> str | None:
        """First line of ``systemctl --version`` (for reports only, never for decisions)."""
        rc, out, _err = self.runner(["--version"])
        first = out.strip().splitlines()[0] if rc == 0 and out.strip() else ""
        return first or None

    def known_properties(self, unit: str, names: Sequence[str]) -> frozenset[str]:
        """The subset of ``names`` this systemd exposes for ``unit``'s type (unknown ones print nothing)."""
        out = self._run(["show", *(f"--property={name}" for name in names), "--", unit], "probing unit properties")
        blocks = parse_show(out)
        return frozenset(blocks[0]) & frozenset(names) if blocks else frozenset()

    def show(self, units: Sequence[str], names: Sequence[str]) -> dict[str, dict[str, str]]:
        """``{unit: {property: value}}`` for every unit, in one call."""
        if not units:
            return {}
        argv = ["show", *(f"--property={name}" for name in names), "--", *units]
        blocks = parse_show(self._run(argv, "reading unit properties"))
        if len(blocks) != len(units):
            raise BackendError(f"systemctl show returned {len(blocks)} blocks for {len(units)} units")
        return dict(zip(units, blocks))

    def daemon_reload(self) -> None:
        self._run(["daemon-reload"], "reloading systemd")

    def set_runtime(self, unit: str, assignments: Mapping[str, str]) -> None:
        """``systemctl set-property --runtime UNIT K=V ...``: the live cgroup changes now, until reboot."""
        pairs = [f"{key}={value}" for key, value in sorted(assignments.items())]
        self._run(["set-property", "--runtime", "--", unit, *pairs], f"setting {', '.join(pairs)} on {unit}")

    def try_restart(self, unit: str) -> None:
        self._run(["try-restart", "--", unit], f"restarting {unit}")
