"""moto's server with one correction, made here and nowhere else: bucket policy statements whose conditions moto
cannot evaluate are not applied.

moto evaluates an S3 bucket policy on every object request without the request's condition context (it passes no
``aws:SecureTransport``, ``aws:SourceArn``...), and a statement with any ``Condition`` then counts as an explicit Deny -
the Allow for CloudFront's origin access control as much as the launch's "deny plain HTTP" statement. AWS applies a
statement only when its conditions hold. So with the launch's policies in place (the static, content and maintenance
buckets all deny ``aws:SecureTransport=false``) moto refuses every read and write of their objects, and the stand-in
edge could serve no static file. Here such a statement is neutral - neither allows nor denies - which is what AWS does
for a request that satisfies the Deny's condition's opposite (HTTPS) and is not the distribution the Allow names; the
request is then judged as moto judges any other (signed: allowed). README "moto gaps" lists this.

Run: ``python -m sandbox.moto_server -H 127.0.0.1 -p PORT`` (moto_server's own options).
"""

from __future__ import annotations

import sys

from moto.iam import access_control
from moto.server import main as moto_main

_permitted = access_control.IAMPolicyStatement.is_action_permitted


def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):  # noqa: ANN001
    if self._statement.get("Condition") and not incoming_condition_values:
        return access_control.PermissionResult.NEUTRAL
    return _permitted(self, action, resource, principal, incoming_condition_values)


access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted

if __name__ == "__main__":
    sys.exit(moto_main(sys.argv[1:]))
