"""moto's server with one correction, made here and nowhere else: bucket policy statements whose conditions moto
cannot evaluate are not applied. Beside it, a count of the changes (below) and the AWS managed policies made faster.

moto evaluates an S3 bucket policy on every object request without the request's condition context (it passes no
``aws:SecureTransport``, ``aws:SourceArn``...), and a statement with any ``Condition`` then counts as an explicit Deny -
the Allow for CloudFront's origin access control as much as the launch's "deny plain HTTP" statement. AWS applies a
statement only when its conditions hold. So with the launch's policies in place (the static, content and maintenance
buckets all deny ``aws:SecureTransport=false``) moto refuses every read and write of their objects, and the stand-in
edge could serve no static file. Here such a statement is neutral - neither allows nor denies - which is what AWS does
for a request that satisfies the Deny's condition's opposite (HTTPS) and is not the distribution the Allow names; the
request is then judged as moto judges any other (signed: allowed). README "moto gaps" lists this.

The count: the stand-ins (DNS world, RDS stand-in, task runner, platform, edge) each re-read a slice of moto to follow
what the launch builds. Polled every second or two, those reads were most of an idle sandbox's CPU (measured: 13 s a
minute with a site built, 8 of them in moto). Each now asks this count first (sandbox/changes.py) and reads moto only
when it moved. A request counts unless it is a read: its action (``X-Amz-Target``'s operation, or the query protocol's
``Action``) starts with Describe/List/Get/..., or, for the REST protocols (Route 53, CloudFront, S3...), it is a GET or
HEAD. moto also moves a few resources along on reads (an ECS task's status, an RDS instance's); a follower waiting on
such a step keeps polling, and every follower re-reads after ``refresh`` seconds whatever the count says.

The managed policies: with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` (the RDS monitoring role attaches one, so the
sandbox sets it) moto builds every AWS managed policy - about 1,300, parsed from a 4 MB JSON text, each document dumped
back to a string - whenever it makes an IAM backend: after every ``/moto-api/reset`` once per loaded partition, and
again on the next request, which looks its access key up in every partition (``get_account_id_from``). Sampled with
py-spy while the integration tests ran, that was 73 % of moto's CPU, and moto about a quarter of ``make test``'s. Here
moto makes them once per account and partition, and every backend after that gets copies - objects of its own, with
what moto made (tests/unit/test_moto_managed_policies.py compares the two). One difference: a policy's id stays the
same across resets, where moto draws a new random one each time; AWS's managed policies keep theirs too.

Run: ``python -m sandbox.moto_server -H 127.0.0.1 -p PORT`` (moto_server's own options).
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import re
import sys
import time
from typing import Any
from urllib.parse import parse_qs

from moto.iam import access_control
from moto.iam import models as iam_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main as moto_main

_permitted = access_control.IAMPolicyStatement.is_action_permitted


def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):  # noqa: ANN001
    if self._statement.get("Condition") and not incoming_condition_values:
        return access_control.PermissionResult.NEUTRAL
    return _permitted(self, action, resource, principal, incoming_condition_values)


access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted

MOTO_AWS_MANAGED_POLICIES = iam_models.IAMBackend._init_aws_policies  # moto's own, for tests/unit to compare with
_MADE: dict[tuple[str, str], list[iam_models.ManagedPolicy]] = {}


def aws_managed_policies(self: iam_models.IAMBackend) -> list[iam_models.ManagedPolicy]:
    """``IAMBackend._init_aws_policies``, moto's policies made once per account and partition and copied after that
    (see the module's text): each backend gets objects of its own - the policy, its versions, its tags."""
    if not iam_models.load_iam_aws_managed_policies():
        return []  # moto's default, as moto decides it
    made = _MADE.get((self.account_id, self.region_name))
    if made is None:
        made = _MADE[(self.account_id, self.region_name)] = MOTO_AWS_MANAGED_POLICIES(self)
    policies = []
    for policy in made:
        fresh = copy.copy(policy)
        fresh.versions = [copy.copy(version) for version in policy.versions]
        fresh.tags = dict(policy.tags)
        policies.append(fresh)
    return policies


iam_models.IAMBackend._init_aws_policies = aws_managed_policies

READ_ACTION = re.compile(r"(Describe|List|Get|Head|Lookup|Search|Query|Scan|BatchGet|Select|Validate|Test)[A-Z]")
CHANGES_PATH = "/__sandbox/changes"
_changes = itertools.count(1)  # next() is atomic under the GIL: moto serves each request in a thread
_state = {"changes": 0, "started": time.time()}


def action_of(environ: dict[str, Any]) -> str | None:
    """The operation a request names (JSON protocols' X-Amz-Target, the query protocol's Action), else None."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    found = parse_qs(environ.get("QUERY_STRING") or "").get("Action")
    if found:
        return found[0]
    if (environ.get("CONTENT_TYPE") or "").startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)  # put back for moto
        found = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if found:
            return found[0]
    return None


def may_change(environ: dict[str, Any]) -> bool:
    action = action_of(environ)
    if action is not None:
        return not READ_ACTION.match(action)
    return environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD", "OPTIONS")


_dispatch = DomainDispatcherApplication.__call__


def counting_dispatch(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    if environ.get("PATH_INFO") == CHANGES_PATH and environ.get("REQUEST_METHOD") == "GET":
        body = json.dumps(_state).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    if may_change(environ):
        _state["changes"] = next(_changes)
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = counting_dispatch

if __name__ == "__main__":
    sys.exit(moto_main(sys.argv[1:]))
