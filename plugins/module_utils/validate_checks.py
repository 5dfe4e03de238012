# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of the validate phase's checks: the case shape the report reads, percentiles, the OpenAPI
walk (operations, example inputs, latency groups), HLS playlist rules, segment sniffing, Stripe's webhook
signature, cache-status classification and redaction.

Why apart from the modules: every verdict the checks give comes from one of these functions, so each rule is
unit-tested on plain data, without a server; the modules only gather the data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import json
import math
import re

try:
    import yaml
except ImportError:  # ansible-core depends on PyYAML; JSON documents need nothing
    yaml = None
from urllib.parse import quote, urlsplit, urlunsplit

SUITES = ("infrastructure", "endpoints", "payments", "streaming", "performance", "integrations", "security",
          "business")
STATUSES = ("pass", "fail", "not_run")
READ_ONLY_METHODS = ("GET", "HEAD", "OPTIONS")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_CRITERION = re.compile(r"^(?:[1-9]|10)\.[1-5]$")
REDACTED = "********"


def case(case_id, suite, criterion, name, status, measured=None, threshold=None, unit=None, critical=False,
         message="", evidence=None):
    """One case as the report reads it (docs/validate.md); a wrong suite, criterion or status is a bug here, so it
    raises rather than producing a case the report would misfile."""
    if suite not in SUITES:
        raise ValueError("suite %r is not one of %s" % (suite, ", ".join(SUITES)))
    if status not in STATUSES:
        raise ValueError("status %r is not one of %s" % (status, ", ".join(STATUSES)))
    if not _CRITERION.match(str(criterion)):
        raise ValueError("criterion %r is not one of 1.1 ... 10.5" % (criterion,))
    if unit not in (None, "ms", "%"):
        raise ValueError("unit %r is not ms, %% or None" % (unit,))
    return {"id": str(case_id), "suite": suite, "criterion": str(criterion), "name": name, "status": status,
            "measured": measured, "threshold": threshold, "unit": unit, "critical": bool(critical),
            "message": "" if status == "pass" else (message or status), "evidence": evidence or {}}


def unique_ids(cases):
    """``cases`` with repeated ids suffixed " (2)", " (3)"... (ids must be unique within a module's result)."""
    seen = {}
    out = []
    for c in cases:
        n = seen.get(c["id"], 0) + 1
        seen[c["id"]] = n
        out.append(c if n == 1 else dict(c, id="%s (%d)" % (c["id"], n)))
    return out


def redact(value, secrets):
    """``value`` with every occurrence of each secret string replaced, at any depth (evidence never carries
    a key, even one echoed back by a server)."""
    secrets = [s for s in (secrets or []) if s]
    if not secrets:
        return value
    if isinstance(value, str):
        for s in secrets:
            value = value.replace(s, REDACTED)
        return value
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v, secrets) for v in value)
    if isinstance(value, dict):
        return dict((redact(k, secrets), redact(v, secrets)) for k, v in value.items())
    return value


def truncate(text, limit=300):
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit] + "... (%d more characters)" % (len(text) - limit)


# --- percentiles -----------------------------------------------------------------------------------------------

def percentile(values, p):
    """The ``p``-th percentile (0-100) by linear interpolation between closest ranks (numpy's default);
    None for no values."""
    data = sorted(float(v) for v in values)
    if not data:
        return None
    if not 0 <= p <= 100:
        raise ValueError("percentile %r is not between 0 and 100" % (p,))
    rank = (len(data) - 1) * p / 100.0
    low, high = int(math.floor(rank)), int(math.ceil(rank))
    return data[low] + (data[high] - data[low]) * (rank - low)


def latency_summary(samples_ms):
    """p50/p95/p99 in ms, rounded to 0.1 ms."""
    out = {}
    for p in (50, 95, 99):
        v = percentile(samples_ms, p)
        out["p%d_ms" % p] = None if v is None else round(v, 1)
    return out


def latency_case(group, samples_ms, errors, rate, threshold_ms=200.0, max_error_rate=0.01, error_samples=None,
                 duration=None):
    """The 5.5 case of one endpoint group: p95 under ``threshold_ms`` and errors at most ``max_error_rate``."""
    summary = latency_summary(samples_ms)
    requests = len(samples_ms)
    evidence = dict({"group": group, "requests": requests, "errors": errors, "rate": rate}, **summary)
    if duration is not None:
        evidence["duration_s"] = duration
    if error_samples:
        evidence["error_samples"] = list(error_samples)[:5]
    problems = []
    if not requests:
        problems.append("no request was made")
    elif summary["p95_ms"] >= threshold_ms:
        problems.append("p95 %.1f ms is not under %g ms" % (summary["p95_ms"], threshold_ms))
    if requests and errors > max_error_rate * requests:
        problems.append("%d of %d requests failed (%s)" % (errors, requests, "; ".join(
            dict.fromkeys(error_samples or [])) or "errors"))
    return case("latency %s" % group, "performance", "5.5", "p95 latency of the %s endpoints under %g req/s"
                % (group, rate), "fail" if problems else "pass", measured=summary["p95_ms"],
                threshold=threshold_ms, unit="ms", message="; ".join(problems), evidence=evidence)


def schedule(rate, duration):
    """Send offsets (s) of an open-loop fixed-rate run: ``rate`` per second for ``duration`` seconds."""
    count = int(round(rate * duration))
    return [i / float(rate) for i in range(count)]


# --- OpenAPI ---------------------------------------------------------------------------------------------------

def _resolve_ref(doc, obj):
    seen = 0
    while isinstance(obj, dict) and "$ref" in obj and seen < 20:
        ref = obj["$ref"]
        if not ref.startswith("#/"):
            return obj
        target = doc
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        obj, seen = target, seen + 1
    return obj


def operations(doc):
    """Every operation as {"method", "path", "id" ("METHOD path"), "operation", "parameters"} in document
    order; path-level parameters merged under the operation's own."""
    out = []
    for path, item in (doc.get("paths") or {}).items():
        item = _resolve_ref(doc, item) or {}
        shared = [_resolve_ref(doc, p) for p in item.get("parameters") or []]
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            own = [_resolve_ref(doc, p) for p in op.get("parameters") or []]
            names = set((p.get("name"), p.get("in")) for p in own)
            params = own + [p for p in shared if (p.get("name"), p.get("in")) not in names]
            out.append({"method": method.upper(), "path": path, "id": "%s %s" % (method.upper(), path),
                        "operation": op, "parameters": params})
    return out


def example_value(doc, param):
    """The documented example of a parameter (``example``, the first of ``examples``, the schema's
    ``example``/``default``/first ``enum``/``const``), or None when it has none."""
    if "example" in param:
        return param["example"]
    examples = param.get("examples")
    if isinstance(examples, dict) and examples:
        first = _resolve_ref(doc, next(iter(examples.values())))
        if isinstance(first, dict) and "value" in first:
            return first["value"]
    schema = _resolve_ref(doc, param.get("schema") or {})
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    return None


def example_request(doc, op):
    """(path with examples substituted, query dict) for a read-only latency probe; ValueError naming the
    required parameter that has no example."""
    path = op["path"]
    query = {}
    for param in op["parameters"]:
        where, name = param.get("in"), param.get("name")
        value = example_value(doc, param)
        if value is None:
            if param.get("required") or where == "path":
                raise ValueError("%s: required %s parameter %r has no example" % (op["id"], where, name))
            continue
        if where == "path":
            path = path.replace("{%s}" % name, quote(str(value), safe=""))
        elif where == "query":
            query[name] = value if not isinstance(value, bool) else str(value).lower()
    return path, query


def latency_groups(doc):
    """{group: [operation, ...]} of the read-only (GET/HEAD) operations carrying ``x-launch-group``."""
    groups = {}
    for op in operations(doc):
        group = op["operation"].get("x-launch-group")
        if group and op["method"] in ("GET", "HEAD"):
            groups.setdefault(str(group), []).append(op)
    return groups


def parse_document(text, where):
    """JSON or YAML text -> dict; ValueError saying which."""
    try:
        doc = json.loads(text)
    except ValueError:
        if yaml is None:
            raise ValueError("%s is not JSON (and PyYAML is missing for YAML)" % where)
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError("%s is neither JSON nor YAML: %s" % (where, exc))
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3"):
        raise ValueError("%s is not an OpenAPI 3 document (no 'openapi: 3.x' key)" % where)
    return doc


def effective_base_url(base_url, doc):
    """base_url with the document's server path appended when it has none; the document's server otherwise."""
    servers = doc.get("servers") or []
    server = str(servers[0].get("url", "")) if servers and isinstance(servers[0], dict) else ""
    if not base_url:
        return server.rstrip("/") if _absolute(server) else None
    parts = urlsplit(base_url)
    if parts.path.strip("/"):
        return base_url.rstrip("/")
    server_path = urlsplit(server).path.rstrip("/") if server else ""
    return urlunsplit((parts.scheme, parts.netloc, server_path, "", "")).rstrip("/")


def _absolute(url):
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# --- streaming -------------------------------------------------------------------------------------------------

def segment_duration_problems(target_duration, durations):
    """RFC 8216 4.3.3.1: each EXTINF duration, rounded to the nearest integer, must not exceed the target
    duration. Returns one message per offending segment (index from 0)."""
    if target_duration is None:
        return ["the playlist has no EXT-X-TARGETDURATION"]
    problems = []
    for index, duration in enumerate(durations):
        if duration is None:
            problems.append("segment %d has no duration" % index)
        elif int(math.floor(float(duration) + 0.5)) > int(target_duration):
            problems.append("segment %d lasts %.3f s, over the target duration %s s" % (index, duration,
                                                                                        target_duration))
    return problems


def segment_kind(first_bytes):
    """'ts' (MPEG-TS: 0x47 sync byte at 0, and at 188 when the sample reaches it), 'fmp4' (an ISO BMFF box:
    ftyp/styp/moof/sidx/moov/emsg at offset 4), 'aac'/'id3' for packed audio, else None."""
    data = bytes(first_bytes or b"")
    if data[:1] == b"\x47" and (len(data) < 189 or data[188:189] == b"\x47"):
        return "ts"
    if len(data) >= 8 and data[4:8] in (b"ftyp", b"styp", b"moof", b"sidx", b"moov", b"emsg", b"prft"):
        return "fmp4"
    if data[:3] == b"ID3":
        return "id3"
    if len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xF6) == 0xF0:
        return "aac"
    return None


def live_advance_problem(first_sequence, second_sequence, waited):
    """'' when the live playlist's media sequence moved forward between two reads, else why not."""
    if first_sequence is None or second_sequence is None:
        return "the live playlist has no media sequence"
    if second_sequence <= first_sequence:
        return ("the live playlist's media sequence stayed at %s over %.1f s (more than a target duration): "
                "the stream is stalled" % (second_sequence, waited))
    return ""


# --- payments --------------------------------------------------------------------------------------------------

def stripe_signature(payload, secret, timestamp):
    """The ``Stripe-Signature`` header Stripe sends: ``t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">``."""
    body = payload if isinstance(payload, bytes) else payload.encode()
    mac = hmac.new(secret.encode(), str(int(timestamp)).encode() + b"." + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (int(timestamp), mac)


def webhook_endpoint_problems(endpoint, url, required_events):
    """Why a Stripe webhook endpoint object is not the one the app needs ('' list: it is)."""
    problems = []
    if endpoint.get("url") != url:
        problems.append("its URL is %s, not %s" % (endpoint.get("url"), url))
    if endpoint.get("status", "enabled") != "enabled":
        problems.append("it is %s, not enabled" % endpoint.get("status"))
    events = set(endpoint.get("enabled_events") or [])
    if "*" not in events:
        missing = [e for e in required_events if e not in events]
        if missing:
            problems.append("it does not send %s" % ", ".join(missing))
    return problems


def probe_event(kind, obj_id, created):
    """A minimal Stripe event body of type ``kind`` for the webhook probe (JSON text)."""
    return json.dumps({"id": "evt_launch_probe_%d" % int(created), "object": "event", "type": kind,
                       "created": int(created), "livemode": False, "api_version": "2024-06-20",
                       "data": {"object": {"id": obj_id, "object": kind.split(".")[0]}}},
                      sort_keys=True, separators=(",", ":"))


# --- web -------------------------------------------------------------------------------------------------------

def cache_status(value):
    """'hit', 'miss' or None from an X-Cache / X-Cache-Status / Cache-Status header value (CloudFront says
    "Hit from cloudfront", "RefreshHit from cloudfront", nginx "HIT"/"STALE"/"MISS")."""
    if not value:
        return None
    text = str(value).strip().lower()
    if text.startswith(("hit", "refreshhit", "stale", "updating", "revalidated")) or "; hit" in text \
            or text.endswith(";hit"):
        return "hit"
    if text.startswith(("miss", "expired", "bypass", "error", "dynamic", "limitexceeded", "capacityexceeded")) \
            or "fwd=" in text:
        return "miss"
    return None


def hit_rate(statuses):
    """Percent of 'hit' among ``statuses`` (None entries count as misses: no header is no proof of a hit)."""
    statuses = list(statuses)
    if not statuses:
        return None
    return round(100.0 * sum(1 for s in statuses if s == "hit") / len(statuses), 1)


def missing_phrases(text, phrases):
    """The ``phrases`` not found in ``text`` (case- and whitespace-insensitive; HTML tags ignored)."""
    plain = re.sub(r"<[^>]+>", " ", text or "")
    plain = re.sub(r"\s+", " ", plain).lower()
    return [p for p in phrases if re.sub(r"\s+", " ", p).strip().lower() not in plain]


def email_domain(address):
    """The domain of an e-mail address; ValueError when it is not one."""
    text = str(address or "").strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        raise ValueError("%r is not an e-mail address (accepted: name@domain.tld)" % (address,))
    return domain.lower().rstrip(".")
