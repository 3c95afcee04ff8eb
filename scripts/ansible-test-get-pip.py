"""Local stand-in for the pip bootstrap script that ansible-test downloads from its own file host.

ansible-test creates its sanity-test virtualenvs without pip and then runs a cached ``get-pip`` script
with pip's install arguments (for example ``--disable-pip-version-check pip==25.2 --no-setuptools``).
That host is not a package index and may be unreachable, so scripts/test-static.sh places this file in
ansible-test's cache instead, with the wheel of the pip release ansible-test pins next to it (downloaded
from the package index once). Like the real script, it runs pip from that wheel to install the packages
requested: one pip run per virtualenv, from the wheel alone when pip is all that is asked for. Without the
wheel it bootstraps pip from the interpreter's bundled ``ensurepip`` and then installs the packages requested,
two pip runs and an uninstall (about 6 s against 3.5 s per virtualenv; a sanity run creates about twenty).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def pip_wheel(args: list[str], cache: Path) -> Path | None:
    """The wheel of the pip release that ``args`` pin (``pip==X.Y``) in ``cache``, if it is there."""
    for arg in args:
        match = re.fullmatch(r"pip==([0-9][0-9A-Za-z.]*)", arg)
        if match:
            wheel = cache / f"pip-{match.group(1)}-py3-none-any.whl"
            return wheel if wheel.is_file() else None
    return None


def main(argv: list[str]) -> int:
    args = [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]
    cache = Path(__file__).resolve().parent
    wheel = pip_wheel(args, cache)
    if wheel is not None:
        # pip runs from its own wheel (a zip on sys.path), as get-pip.py runs the pip it embeds; the index is asked
        # only for other packages than pip
        requested = [arg for arg in args if not arg.startswith("-")]
        index = ["--no-index"] if all(arg.startswith("pip==") for arg in requested) else []
        return subprocess.run([sys.executable, str(wheel / "pip"), "install", *index, "--find-links", str(cache),
                               *args], check=False).returncode
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True,
                   stdout=subprocess.DEVNULL)
    return subprocess.run([sys.executable, "-m", "pip", "install", *args], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
