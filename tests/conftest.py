"""Shared test set-up: the collection importable as ansible_collections.directfanz.launch.

No test here skips: every dependency is installed by `make test`, so a missing one is an error."""

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


def pytest_sessionfinish(session, exitstatus):
    """In CI (CI=true) a skipped test is a test that does not exist: fail the run."""
    import os

    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        print("\nCI=true: %d test(s) skipped, which CI counts as failures: %s"
              % (len(skipped), ", ".join(r.nodeid for r in skipped)))
        session.exitstatus = 1


SIM_DOMAIN, SIM_TOKEN = "example.com", "unit-test-token"


@pytest.fixture()
def sim():
    """The Hostinger simulator in a thread on a free loopback port, seeded for example.com; its URL."""
    import threading

    from sandbox import hostinger_sim

    server = hostinger_sim.serve(SIM_DOMAIN, SIM_TOKEN)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()
