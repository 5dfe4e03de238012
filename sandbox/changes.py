"""Whether moto may have changed since a stand-in last read it: sandbox.moto_server's count of state-changing
requests (``GET /__sandbox/changes``), asked before each round of a follower's reads.

    watch = MotoChanges(endpoint)
    if watch.due():          # the count moved, ``refresh`` seconds passed, or the count could not be read
        read_moto()
        watch.seen()         # only after a round that succeeded: a failed one is retried next time

The count is read before the round, so a change made while the round reads is seen by the next one.
"""

from __future__ import annotations

import json
import time
import urllib.request


class MotoChanges:
    def __init__(self, endpoint: str, refresh: float = 30.0):
        self.url = endpoint.rstrip("/") + "/__sandbox/changes"
        self.refresh = refresh
        self.last: tuple | None = None
        self.pending: tuple | None = None
        self.read_at = 0.0

    def count(self) -> tuple | None:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                body = json.loads(response.read())
            return body["started"], body["changes"]
        except (OSError, ValueError, KeyError):  # moto restarting, or a moto without the count: read anyway
            return None

    def due(self) -> bool:
        self.pending = self.count()
        return (self.pending is None or self.pending != self.last
                or time.monotonic() - self.read_at >= self.refresh)

    def seen(self) -> None:
        self.last, self.read_at = self.pending, time.monotonic()
