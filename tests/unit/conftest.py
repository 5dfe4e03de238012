"""Fixtures the unit tests share."""

import threading

import pytest

from sandbox import hostinger_sim

SIM_DOMAIN, SIM_TOKEN = "example.com", "unit-test-token"


@pytest.fixture()
def sim():
    """The Hostinger simulator in a thread on a free loopback port, seeded for example.com; its URL."""
    server = hostinger_sim.serve(SIM_DOMAIN, SIM_TOKEN)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()
