"""moto's change count (sandbox/moto_server.py) and the followers' use of it (sandbox/changes.py): which requests
count, and when a follower reads moto again. The count on a real moto server: tests/integration/test_sandbox.py."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox import moto_server
from sandbox.changes import MotoChanges


def environ(method="POST", path="/", query="", target=None, form=None):
    body = form.encode() if form is not None else b""
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": io.BytesIO(body),
           "CONTENT_LENGTH": str(len(body))}
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
        env["CONTENT_TYPE"] = "application/x-amz-json-1.1"
    if form is not None:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
    return env


@pytest.mark.parametrize("env, changes", [
    (environ(target="AmazonEC2ContainerServiceV20141113.DescribeServices"), False),   # JSON protocol, a read
    (environ(target="AmazonEC2ContainerServiceV20141113.RunTask"), True),
    (environ(target="secretsmanager.GetSecretValue"), False),
    (environ(target="secretsmanager.PutSecretValue"), True),
    (environ(form="Action=DescribeDBInstances&Version=2014-10-31"), False),              # query protocol, in the body
    (environ(form="Action=CreateDBSnapshot&Version=2014-10-31"), True),
    (environ(method="GET", query="Action=ListTopics"), False),                           # query protocol, in the URL
    (environ(method="GET", path="/2013-04-01/hostedzone"), False),                        # REST: the method decides
    (environ(method="POST", path="/2013-04-01/hostedzone/Z1/rrset"), True),
    (environ(method="PUT", path="/bucket/key"), True),
    (environ(method="DELETE", path="/bucket/key"), True),
    (environ(method="HEAD", path="/bucket"), False),
    (environ(path="/moto-api/reset"), True),                                               # a reset changes everything
    (environ(target="Logs_20140328.Getaway"), True),   # "Get" must start a word: an unknown verb counts
])
def test_a_request_counts_unless_it_is_a_read(env, changes):
    assert moto_server.may_change(env) is changes


def test_the_query_body_is_put_back_for_moto():
    env = environ(form="Action=CreateDBSnapshot&DBSnapshotIdentifier=s1")
    assert moto_server.may_change(env) is True
    assert env["wsgi.input"].read() == b"Action=CreateDBSnapshot&DBSnapshotIdentifier=s1"


class Counter:
    """A stand-in for moto's /__sandbox/changes: the count the test sets, or 500 when it says so."""

    def __init__(self):
        self.body = {"started": 1.0, "changes": 0}
        self.fail = False
        self.asked = 0
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                counter.asked += 1
                status, data = (500, b"{}") if counter.fail else (200, json.dumps(counter.body).encode())
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_port


@pytest.fixture()
def counter():
    c = Counter()
    yield c
    c.server.shutdown()
    c.server.server_close()


def test_a_follower_reads_when_the_count_moves_and_not_otherwise(counter):
    watch = MotoChanges(counter.url, refresh=3600)
    assert watch.due()                      # never read yet
    watch.seen()
    assert not watch.due() and not watch.due()
    counter.body["changes"] = 1
    assert watch.due()
    assert watch.due()                      # still due: the round was not marked seen (it failed, say)
    watch.seen()
    assert not watch.due()
    counter.body["started"] = 2.0           # moto restarted: its count starts again
    assert watch.due()
    assert counter.asked == 7                # one look per due(), nothing more


def test_a_change_made_while_a_round_reads_is_seen_by_the_next_round(counter):
    watch = MotoChanges(counter.url, refresh=3600)
    assert watch.due()
    counter.body["changes"] = 5              # a write lands while the follower reads moto
    watch.seen()                              # the round saw the count from before it
    assert watch.due()


def test_without_a_count_a_follower_reads_every_round_and_after_refresh_anyway(counter):
    watch = MotoChanges(counter.url, refresh=3600)
    counter.fail = True                      # a plain moto_server (no count), or moto restarting
    assert watch.due()
    watch.seen()
    assert watch.due()
    counter.fail = False
    watch.seen()
    assert watch.due()                       # the count is back: different from "none"
    watch.seen()
    assert not watch.due()
    watch.refresh = 0
    assert watch.due()                       # the safety net: moto moves some resources along on reads
