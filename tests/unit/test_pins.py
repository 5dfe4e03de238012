"""Every direct requirement is pinned exactly, and constraints.txt (what `make test` installs) agrees."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    out = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        name, sep, version = line.partition("==")
        assert sep, "%s: %r is not pinned with ==" % (path, line)
        out[normal(re.sub(r"\[.*\]", "", name))] = version
    return out


def test_requirements_are_pinned_and_match_constraints():
    constraints = pins("constraints.txt")
    for path in ("requirements.txt", "requirements-test.txt"):
        for name, version in pins(path).items():
            assert constraints.get(name) == version, "%s pins %s==%s, constraints.txt has %s" % (
                path, name, version, constraints.get(name))
