"""Bench of the validate phase's load-bearing checks against the sandbox's stand-in platform (prints only).

Starts moto and `python -m sandbox.platform` on free loopback ports in a private temporary directory, then:
1. the endpoint sweep (validate_endpoints, every operation, the test token): the module's own time and the
   wall time of the `ansible -m` run;
2. validate_latency on one operation (a one-operation copy of the document, group "bench") at --rate req/s for
   --duration s, beside wrk on the same URL in the same run: wrk -c1 (one connection, so no queueing) paced to the
   same rate by its Lua `delay` hook (wrk waits that long after each response: the interval less our p50), with a
   `done` hook printing its p50/p95; the ratio ours / wrk's is printed - once as fast as the stand-in answers
   (about a millisecond: the client's own cost, a fraction of a millisecond, is then a large share), once with
   --server-ms added by the stand-in (a fault on that operation), the way a real API answers. Unpaced, wrk would
   measure the server saturated - one Python process at 100 % - against ours at a light rate: two different servers.

    .venv/bin/python tools/bench_validate.py [--rate 50] [--duration 10] [--server-ms 20]

No number here is asserted anywhere; the bench is for a person comparing the client with wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOMAIN = "bench-validate.example"
WRK_LUA = """delay = function()
  return @DELAY_MS@
end
done = function(summary, latency, requests)
  io.write(string.format("WRK p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f requests=%d\\n", latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.requests))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict | None, method: str) -> None:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()


def module(name: str, args: dict) -> tuple[float, dict]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-e",
                           "ansible_python_interpreter=%s" % sys.executable, "-m", "directfanz.launch." + name,
                           "-a", json.dumps(args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    wall = time.monotonic() - started
    document = proc.stdout[proc.stdout.index("{\n"):] if "{\n" in proc.stdout else proc.stdout
    try:
        return wall, json.loads(document)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise SystemExit("%s failed:\n%s%s" % (name, proc.stdout[-3000:], proc.stderr[-3000:]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--server-ms", type=int, default=20,
                   help="the second comparison's latency added by the stand-in (a fault on the operation)")
    args = p.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    procs = []
    try:
        moto_port = free_port()
        procs.append(subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                                      stdout=(work / "moto.log").open("wb"), stderr=subprocess.STDOUT))
        time.sleep(1.5)
        state_file = work / "platform.json"
        procs.append(subprocess.Popen([sys.executable, "-m", "sandbox.platform", "--aws-endpoint",
                                       "http://127.0.0.1:%d" % moto_port, "--domain", DOMAIN, "--workdir",
                                       str(work / "platform"), "--state-file", str(state_file)], cwd=ROOT,
                                      env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                      stdout=(work / "platform.log").open("wb"), stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 90
        while not state_file.exists():
            if time.monotonic() > deadline or any(pr.poll() is not None for pr in procs):
                raise SystemExit("the stand-in did not start; see %s" % work)
            time.sleep(0.2)
        state = json.loads(state_file.read_text())
        web = state["services"]["web"]
        base = "http://%s" % web
        doc = json.loads(Path(state["openapi_file"]).read_text())

        wall, sweep = module("validate_endpoints", {"openapi_file": state["openapi_file"], "base_url": base,
                                                    "token": state["test_token"], "read_only": False,
                                                    "total_timeout": 300})
        s = sweep["summary"]
        print("sweep: %d operations (%d pass, %d fail, %d not run) in %.2f s (module), %.2f s wall"
              % (s["total"], s["pass"], s["fail"], s["not_run"], sweep["elapsed"], wall))

        path, item = next((pth, it) for pth, it in doc["paths"].items() if "get" in it and "{" not in pth)
        op = dict(item["get"], **{"x-launch-group": "bench"})
        one = dict(doc, paths={path: {"get": op}})
        one_file = work / "one.json"
        one_file.write_text(json.dumps(one))
        lua = work / "p95.lua"
        control = state["control_url"] + "/faults"
        for added in (0, args.server_ms):
            post(control, None, "DELETE")
            if added:  # a server that takes a realistic time: the client's own cost is then a share of it
                post(control, {"operation": op["operationId"], "latency_ms": added}, "POST")
            wall, lat = module("validate_latency", {"openapi_file": str(one_file), "base_url": base,
                                                    "token": state["test_token"], "rate": args.rate,
                                                    "duration": args.duration})
            ours = lat["cases"][0]["evidence"]
            # wrk waits `delay` after each response: the interval less the answer's time keeps it at our rate
            lua.write_text(WRK_LUA.replace("@DELAY_MS@", "%d" % max(0, round(1000.0 / args.rate - ours["p50_ms"]))))
            wrk = subprocess.run(["wrk", "-t1", "-c1", "-d%ds" % int(args.duration), "-s", str(lua), "-H",
                                  "Authorization: Bearer %s" % state["test_token"], base + path], capture_output=True,
                                 text=True, timeout=args.duration + 60, check=False)
            line = [ln for ln in wrk.stdout.splitlines() if ln.startswith("WRK ")]
            if not line:
                raise SystemExit("wrk gave no result:\n" + wrk.stdout + wrk.stderr)
            theirs = dict(kv.split("=") for kv in line[0].split()[1:])
            print("latency GET %s, %s: ours p50 %.2f ms p95 %.2f ms (%d requests at %g req/s, open loop); wrk -c1 "
                  "p50 %.2f ms p95 %.2f ms (%s requests, paced to the rate)" % (
                      path, "%d ms added by the server" % added if added else "as fast as the stand-in answers",
                      ours["p50_ms"], ours["p95_ms"], ours["requests"], args.rate, float(theirs["p50_ms"]),
                      float(theirs["p95_ms"]), theirs["requests"]))
            print("ratio ours/wrk: p50 %.2f, p95 %.2f (ours - wrk: p50 %+.2f ms, p95 %+.2f ms)" % (
                ours["p50_ms"] / float(theirs["p50_ms"]), ours["p95_ms"] / float(theirs["p95_ms"]),
                ours["p50_ms"] - float(theirs["p50_ms"]), ours["p95_ms"] - float(theirs["p95_ms"])))
        post(control, None, "DELETE")
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
