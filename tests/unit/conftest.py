"""Make the collection importable as ``ansible_collections.policygroups.core`` for plain pytest.

``scripts/setup-venv.sh`` links ``.cache/collections/ansible_collections/policygroups/core`` to the
repository root; this hook creates that link too when it is missing, so a bare ``pytest tests/unit`` works.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_ROOT = REPO_ROOT / ".cache" / "collections"


def _ensure_collection_link() -> None:
    link = COLLECTIONS_ROOT / "ansible_collections" / "policygroups" / "core"
    if link.is_symlink() or link.exists():
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(REPO_ROOT, link)


def _running_inside_collection_tree() -> bool:
    # Under ansible-test (or a checkout at .../ansible_collections/policygroups/core) the package is
    # importable already; adding the link would shadow it with a second copy.
    parts = REPO_ROOT.parts
    return len(parts) >= 3 and parts[-3:] == ("ansible_collections", "policygroups", "core")


if not _running_inside_collection_tree():
    _ensure_collection_link()
    if str(COLLECTIONS_ROOT) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS_ROOT))
else:
    collections_root = str(REPO_ROOT.parents[2])
    if collections_root not in sys.path:
        sys.path.insert(0, collections_root)
