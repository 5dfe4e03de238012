"""Shared test set-up: the collection importable as ansible_collections.directfanz.launch, and the rule
that in CI (CI=true) a missing dependency fails instead of skipping."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINK = ROOT / ".cache" / "collections" / "ansible_collections" / "directfanz" / "launch"
if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to("../../../..")
sys.path.insert(0, str(ROOT / ".cache" / "collections"))
sys.path.insert(0, str(ROOT))


def require(condition: bool, why: str) -> None:
    """Skip locally when a dependency is missing; fail in CI, where a skipped test is a missing test."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("required in CI: " + why)
    pytest.skip(why)
