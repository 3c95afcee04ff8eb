"""Local stand-in for the pip bootstrap script that ansible-test downloads from its own file host.

ansible-test creates its sanity-test virtualenvs without pip and then runs a cached ``get-pip`` script
with pip's install arguments (for example ``--disable-pip-version-check pip==25.2 --no-setuptools``).
That host is not a package index and may be unreachable, so scripts/test-static.sh places this file in
ansible-test's cache instead: it bootstraps pip from the interpreter's bundled ``ensurepip`` and then
installs the exact packages requested from the package index, as the real script would.
"""

from __future__ import annotations

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def main(argv: list[str]) -> int:
    args = [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True,
                   stdout=subprocess.DEVNULL)
    return subprocess.run([sys.executable, "-m", "pip", "install", *args], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
