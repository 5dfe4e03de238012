"""Injected faults and the request log, shared by every service of the stand-in platform (one process).

Tests and the validate checks' fault runs steer the platform through ``POST /__sim/faults``; a fault is what a
broken deployment would look like from outside (an operation answering 500 or off-schema, a slow group, a service
down or slow, a live playlist that stopped advancing, a proxy that drops the WebSocket upgrade, a payment provider
that lets a declined card through), so each check can be shown to fail on it.
"""

from __future__ import annotations

import collections
import time
from typing import Any

SERVICES = ("web", "ws", "stream")
# every key a fault may carry, and what it means
TARGET_KEYS = {"operation": "an operationId of the OpenAPI document", "group": "an x-launch-group (auth, users...)",
               "service": "one of " + ", ".join(SERVICES)}
EFFECT_KEYS = {"status": "an HTTP status 100-599 answered instead",
               "schema_violation": "true: an answer off its schema",
               "latency_ms": "milliseconds added (0-60000)", "down": "true: the service answers 503",
               "slow_ms": "milliseconds added to every answer of the service (0-60000)"}
FLAGS = {"live_stalled": "true: the live playlist stops advancing",
         "ws_drop_upgrade": "true: the ws service answers the handshake without 101",
         "stripe": "'decline_succeeds': a declined test card succeeds"}


class FaultError(ValueError):
    """A fault the platform does not understand (the message says what is accepted)."""


def _ms(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 60000:
        raise FaultError("%s %r is not accepted; accepted: a number of milliseconds 0-60000" % (key, value))
    return float(value)


class Faults:
    """The faults in force, the flags, and the last requests every service answered."""

    def __init__(self, operations: dict[str, str]):
        self.operations = operations  # operationId -> group
        self.groups = set(operations.values())
        self.items: list[dict[str, Any]] = []
        self.flags: dict[str, Any] = {}
        self.stalled_at: float | None = None
        self.requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=5000)

    def add(self, spec: Any) -> dict[str, Any]:
        """Validate one fault and keep it; returns it as kept."""
        if not isinstance(spec, dict) or not spec:
            raise FaultError("a fault is a JSON object; accepted keys: %s" % ", ".join(
                list(TARGET_KEYS) + list(EFFECT_KEYS) + list(FLAGS)))
        unknown = set(spec) - set(TARGET_KEYS) - set(EFFECT_KEYS) - set(FLAGS)
        if unknown:
            raise FaultError("unknown fault keys %s; accepted: %s" % (sorted(unknown), ", ".join(
                list(TARGET_KEYS) + list(EFFECT_KEYS) + list(FLAGS))))
        flags = {k: spec[k] for k in FLAGS if k in spec}
        if flags:
            if set(spec) - set(FLAGS):
                raise FaultError("%s is a flag of its own; give it without %s" % (
                    ", ".join(flags), ", ".join(sorted(set(spec) - set(FLAGS)))))
            for key, value in flags.items():
                if key == "stripe":
                    if value not in ("decline_succeeds", None, False):
                        raise FaultError("stripe %r is not accepted; accepted: 'decline_succeeds'" % value)
                elif not isinstance(value, bool):
                    raise FaultError("%s %r is not accepted; accepted: true or false" % (key, value))
                if key == "live_stalled":
                    self.stalled_at = time.time() if value else None
                if value:
                    self.flags[key] = value
                else:
                    self.flags.pop(key, None)
            return flags
        targets = [k for k in TARGET_KEYS if k in spec]
        if len(targets) != 1:
            raise FaultError("a fault names exactly one of operation, group or service; it named %s"
                             % (targets or "none"))
        target = targets[0]
        value = spec[target]
        if target == "operation" and value not in self.operations:
            raise FaultError("operation %r is not an operationId of the document (GET /api/openapi.json)" % value)
        if target == "group" and value not in self.groups:
            raise FaultError("group %r is not known; accepted: %s" % (value, ", ".join(sorted(self.groups))))
        if target == "service" and value not in SERVICES:
            raise FaultError("service %r is not known; accepted: %s" % (value, ", ".join(SERVICES)))
        effects = {k: spec[k] for k in EFFECT_KEYS if k in spec}
        if not effects:
            raise FaultError("the fault has no effect; accepted: %s" % ", ".join(
                "%s (%s)" % kv for kv in EFFECT_KEYS.items()))
        if target == "service" and set(effects) - {"down", "slow_ms"}:
            raise FaultError("a service fault takes down and/or slow_ms, not %s" % sorted(set(effects) - {
                "down", "slow_ms"}))
        if target != "service" and set(effects) & {"down", "slow_ms"}:
            raise FaultError("down and slow_ms are service faults; an operation or group takes status, "
                             "schema_violation and/or latency_ms")
        if "status" in effects and (isinstance(effects["status"], bool) or not isinstance(effects["status"], int)
                                    or not 100 <= effects["status"] <= 599):
            raise FaultError("status %r is not accepted; accepted: an HTTP status 100-599" % effects["status"])
        for key in ("schema_violation", "down"):
            if key in effects and not isinstance(effects[key], bool):
                raise FaultError("%s %r is not accepted; accepted: true or false" % (key, effects[key]))
        for key in ("latency_ms", "slow_ms"):
            if key in effects:
                effects[key] = _ms(effects[key], key)
        fault = {target: value, **effects}
        self.items.append(fault)
        return fault

    def clear(self) -> None:
        self.items.clear()
        self.flags.clear()
        self.stalled_at = None

    def for_operation(self, operation: str) -> dict[str, Any]:
        """The effects on one operation: its own faults and its group's, merged (latencies add up)."""
        group = self.operations.get(operation)
        out: dict[str, Any] = {}
        for fault in self.items:
            if fault.get("operation") == operation or (group and fault.get("group") == group):
                for key, value in fault.items():
                    if key in ("operation", "group"):
                        continue
                    out[key] = out.get(key, 0) + value if key == "latency_ms" else value
        return out

    def for_service(self, service: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for fault in self.items:
            if fault.get("service") == service:
                for key, value in fault.items():
                    if key != "service":
                        out[key] = out.get(key, 0) + value if key == "slow_ms" else value
        return out

    def flag(self, name: str) -> Any:
        return self.flags.get(name)

    def note(self, service: str, method: str, path: str, status: int, started: float,
             operation: str | None = None) -> None:
        self.requests.append({"service": service, "method": method, "path": path, "operation": operation,
                              "status": status, "ms": round((time.monotonic() - started) * 1000, 2),
                              "time": time.time()})

    def view(self) -> dict[str, Any]:
        return {"faults": list(self.items), "flags": dict(self.flags), "live_stalled_at": self.stalled_at}
