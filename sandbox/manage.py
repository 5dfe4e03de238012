"""Start, stop and describe the sandbox: moto server, the Hostinger simulator and the DNS stub, on loopback.

``python -m sandbox.manage up``    starts them on free ports and writes ``.sandbox/env`` (shell exports)
                                   and ``.sandbox/endpoints.json`` (what the sandbox inventory reads);
``python -m sandbox.manage down``  stops exactly the processes ``up`` recorded (checked by command line);
``python -m sandbox.manage status``says what runs.

Everything listens on 127.0.0.1; credentials are dummies; nothing here can reach AWS or Hostinger.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("LAUNCH_SANDBOX_DIR", ROOT / ".sandbox"))
INVENTORY_VARS = ROOT / "inventories" / "sandbox" / "group_vars" / "all" / "main.yml"
DUMMY_KEY = "testing"  # moto accepts anything; real keys start with AKIA/ASIA and are refused by preflight


def sandbox_domain() -> str:
    """The domain the sandbox inventory launches (the simulator must hold that one)."""
    for line in INVENTORY_VARS.read_text().splitlines():
        if line.startswith("launch_domain:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    raise SystemExit(f"launch_domain is not set in {INVENTORY_VARS}")


def sandbox_region() -> str:
    """The region the sandbox inventory launches in (the stand-ins read moto there)."""
    for line in INVENTORY_VARS.read_text().splitlines():
        if line.startswith("launch_aws_region:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    return "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def load_state() -> dict[str, Any] | None:
    path = STATE_DIR / "endpoints.json"
    return json.loads(path.read_text()) if path.exists() else None


def running(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The recorded processes that still run the command we started (a reused pid does not count)."""
    if not state:
        return []
    return [p for p in state.get("processes", []) if alive(p["pid"]) and p["marker"] in cmdline(p["pid"])]


def wait_until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.1)
    raise SystemExit(f"sandbox: {what} did not come up within {timeout:.0f}s ({last})")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback only
        return r.status == 200


def start(name: str, argv: list[str], marker: str, log: Path, **extra_env: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=DUMMY_KEY, AWS_SECRET_ACCESS_KEY=DUMMY_KEY, PYTHONPATH=str(ROOT),
               AWS_EC2_METADATA_DISABLED="true", **extra_env)
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=ROOT, env=env, start_new_session=True)
    return {"name": name, "pid": proc.pid, "marker": marker, "log": str(log)}


def up(args: argparse.Namespace) -> int:
    state = load_state()
    if running(state):
        pids = ", ".join(f"{p['name']}={p['pid']}" for p in running(state))
        print(f"sandbox: already running ({pids}, started {state['started']}); `make sandbox-down` stops it.")
        return 1
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    domain = (args.domain or sandbox_domain()).lower()
    token = secrets.token_hex(16)
    # A dummy, but a distinctive one, so the tests can prove it never shows in output at -vvv.
    secret_key = "sandbox-secret-" + secrets.token_hex(8)
    procs = []

    moto_port = free_port()
    # moto's server, less its bucket-policy condition gap (sandbox/moto_server.py says why)
    procs.append(start("moto", [sys.executable, "-m", "sandbox.moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
                       f"-p {moto_port}", STATE_DIR / "moto.log",
                       # moto "issues" a DNS-validated certificate this many seconds after the request (it never
                       # looks at DNS); 5 s keeps the certificates phase's wait real but short.
                       MOTO_ACM_VALIDATION_WAIT=os.environ.get("MOTO_ACM_VALIDATION_WAIT", "5"),
                       # AWS managed IAM policies (the RDS enhanced monitoring role attaches one) exist in moto only
                       # when it loads them
                       MOTO_IAM_LOAD_MANAGED_POLICIES="true"))
    sim_port_file = STATE_DIR / "hostinger.port"
    sim_port_file.unlink(missing_ok=True)
    procs.append(start("hostinger", [sys.executable, "-m", "sandbox.hostinger_sim", "--domain", domain,
                                     "--token", token, "--port-file", str(sim_port_file)],
                       "sandbox.hostinger_sim", STATE_DIR / "hostinger.log"))
    dns_port_file = STATE_DIR / "dns.port"
    dns_port_file.unlink(missing_ok=True)
    procs.append(start("dns", [sys.executable, "-m", "sandbox.dns_stub", "--domain", domain,
                               "--port-file", str(dns_port_file)], "sandbox.dns_stub", STATE_DIR / "dns.log"))
    # Record the processes first, so `down` can stop them even if a readiness wait fails.
    state = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "domain": domain, "processes": procs}
    (STATE_DIR / "endpoints.json").write_text(json.dumps(state, indent=2))

    aws_url = f"http://127.0.0.1:{moto_port}"
    wait_until(lambda: http_ok(aws_url + "/moto-api/"), "moto server")
    wait_until(lambda: sim_port_file.exists() and sim_port_file.read_text(), "Hostinger simulator")
    sim_url = f"http://127.0.0.1:{sim_port_file.read_text()}"
    wait_until(lambda: http_ok(sim_url + "/__sim/state"), "Hostinger simulator")
    wait_until(lambda: dns_port_file.exists() and dns_port_file.read_text(), "DNS stub")
    dns_server = f"127.0.0.1:{dns_port_file.read_text()}"

    # The DNS world (real nsd + unbound following moto and the simulator) for the cutover rehearsal; it needs the
    # Debian packages and port 53 on loopback (root). Without them the sandbox still serves everything else.
    from sandbox import dnsd

    world_file = STATE_DIR / "dns_world.json"
    world_file.unlink(missing_ok=True)
    missing = dnsd.missing_programs(())
    world = None
    if not missing and os.geteuid() == 0:
        procs.append(start("dns_world", [sys.executable, "-m", "sandbox.dns_world", "--domain", domain,
                                         "--aws-endpoint", aws_url, "--hostinger-url", sim_url, "--state-file",
                                         str(world_file), "--max-cache-ttl", "10",
                                         # alias records answer with the stand-in edge's addresses, once it runs
                                         "--edge-state", str(STATE_DIR / "edge.json")], "sandbox.dns_world",
                           STATE_DIR / "dns_world.log"))
        (STATE_DIR / "endpoints.json").write_text(json.dumps(state, indent=2))
        wait_until(world_file.exists, "DNS world (nsd + unbound)", timeout=60)
        full = json.loads(world_file.read_text())
        world = {k: full[k] for k in ("parent_servers", "resolvers", "old_servers", "route53_servers", "block")}
        world["resolvers"] = [{k: r[k] for k in ("address", "port", "name")} for r in world["resolvers"]]
        # the "Route 53" servers start once moto holds the zone: read them from the live state file
        world["state_file"] = str(world_file)
    else:
        why = ("missing " + ", ".join(missing)) if missing else "port 53 on loopback needs root"
        print(f"sandbox: no DNS world ({why}; `make system-deps` as root): the cutover cannot be rehearsed")

    # The sandbox CA: the launch's inventory takes its certificate for RDS's CA bundle (the pooler verifies the
    # database against it) and the stand-in platform's servers will present certificates it signs.
    from sandbox import pki

    ca_file = pki.make_ca(STATE_DIR / "pki", f"{domain} sandbox CA")
    # Real PostgreSQL following moto's RDS instances and snapshots (the restore drill checks data), when installed.
    from sandbox import rds_standin

    standin = None
    standin_file = STATE_DIR / "rds_standin.json"
    standin_file.unlink(missing_ok=True)
    # LAUNCH_SANDBOX_STANDINS=none: AWS, Hostinger and DNS only (molecule's sandbox, whose roles need no data plane)
    standins = os.environ.get("LAUNCH_SANDBOX_STANDINS", "all") != "none"
    if standins and not rds_standin.missing_programs():
        procs.append(start("rds_standin", [sys.executable, "-m", "sandbox.rds_standin", "--aws-endpoint", aws_url,
                                           "--ca-dir", str(STATE_DIR / "pki"), "--state-file", str(standin_file)],
                           "sandbox.rds_standin", STATE_DIR / "rds_standin.log"))
        (STATE_DIR / "endpoints.json").write_text(json.dumps(state, indent=2))
        wait_until(standin_file.exists, "RDS stand-in (PostgreSQL)")
        standin = {"dns_server": json.loads(standin_file.read_text())["dns_server"], "state_file": str(standin_file)}
    elif standins:
        print("sandbox: no RDS stand-in (PostgreSQL not installed; `make system-deps` as root): the restore drill"
              " cannot check data")
    # The launch's one-off ECS tasks (the application role's psql task): moto records RunTask but runs nothing; the
    # task runner runs the PostgreSQL-client ones locally against the RDS stand-in (sandbox/task_runner.py).
    from sandbox import task_runner

    runner = None
    runner_file = STATE_DIR / "task_runner.json"
    runner_file.unlink(missing_ok=True)
    if standin and not task_runner.missing_programs() and os.geteuid() == 0:
        procs.append(start("task_runner", [sys.executable, "-m", "sandbox.task_runner", "--aws-endpoint", aws_url,
                                           "--region", sandbox_region(), "--rds-state", str(standin_file), "--workdir",
                                           str(STATE_DIR / "task_runner"), "--state-file", str(runner_file),
                                           # every 2 s: a one-off task waits that long at most, and an idle sandbox
                                           # polls moto half as often
                                           "--interval", "2"],
                           "sandbox.task_runner", STATE_DIR / "task_runner.log"))
        (STATE_DIR / "endpoints.json").write_text(json.dumps(state, indent=2))
        wait_until(runner_file.exists, "one-off task runner")
        runner = {"state_file": str(runner_file)}
    elif standin:
        print("sandbox: no one-off task runner (missing %s, or not root): the application role is not made"
              % ", ".join(task_runner.missing_programs() or ["root"]))
    # The stand-in platform (sandbox/platform: the app as deployed - web, ws, stream, the Stripe and e-mail stand-ins)
    # and the stand-in edge (sandbox/edge.py: nginx with ModSecurity configured from what the launch built in moto,
    # PgBouncer and Redis as the data plane, and the VPC's DNS). Both follow moto, so they start before the launch.
    platform = edge = None
    from sandbox import edge as edge_standin
    from sandbox.platform import missing_programs as platform_missing

    platform_file, edge_file = STATE_DIR / "platform.json", STATE_DIR / "edge.json"
    for stale in (platform_file, edge_file):
        stale.unlink(missing_ok=True)
    region = sandbox_region()
    if standins and not platform_missing():
        procs.append(start("platform", [sys.executable, "-m", "sandbox.platform", "--aws-endpoint", aws_url, "--region",
                                        region, "--domain", domain, "--workdir", str(STATE_DIR / "platform"),
                                        "--state-file", str(platform_file), "--ca-file", str(ca_file), "--edge-state",
                                        str(edge_file)], "sandbox.platform", STATE_DIR / "platform.log"))
        (STATE_DIR / "endpoints.json").write_text(json.dumps(state, indent=2))
        wait_until(platform_file.exists, "stand-in platform", timeout=60)
        full = json.loads(platform_file.read_text())
        platform = {k: full.get(k) for k in ("services", "control_url", "stripe_api_base", "email_api_base",
                                             "chat_webhook_url", "openapi_file", "test_token")}
        platform["state_file"] = str(platform_file)
    elif standins:
        print("sandbox: no stand-in platform (missing %s; `make system-deps` as root)" % ", ".join(platform_missing()))
    if platform and not edge_standin.missing_programs() and os.geteuid() == 0:
        procs.append(start("edge", [sys.executable, "-m", "sandbox.edge", "--aws-endpoint", aws_url, "--region", region,
                                    "--domain", domain, "--workdir", str(STATE_DIR / "edge"), "--ca-dir",
                                    str(STATE_DIR / "pki"), "--platform-state", str(platform_file), "--rds-state",
                                    str(standin_file), "--state-file", str(edge_file), "--interval", "2"],
                           "sandbox.edge",
                           STATE_DIR / "edge.log"))
        (STATE_DIR / "endpoints.json").write_text(json.dumps(state, indent=2))
        wait_until(edge_file.exists, "stand-in edge (nginx)", timeout=60)
        edge = {"state_file": str(edge_file), "vpc_dns_server": json.loads(edge_file.read_text()).get("vpc_dns_server")}
    elif platform:
        why = ("missing " + ", ".join(edge_standin.missing_programs())) if edge_standin.missing_programs() else \
            "ports 443/80 on loopback need root"
        print(f"sandbox: no stand-in edge ({why}): the validate phase cannot reach the platform")
    state.update(rds_standin=standin, task_runner=runner, platform=platform, edge=edge, aws_endpoint_url=aws_url,
                 hostinger_api_url=sim_url, hostinger_api_token=token,
                 dns_servers=[dns_server], aws_access_key=DUMMY_KEY, aws_secret_key=secret_key, dns_world=world,
                 ca_file=str(ca_file))
    (STATE_DIR / "endpoints.json").write_text(json.dumps(state, indent=2))
    exports = {
        "AWS_ENDPOINT_URL": aws_url, "AWS_ACCESS_KEY_ID": DUMMY_KEY, "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_EC2_METADATA_DISABLED": "true", "HOSTINGER_API_URL": sim_url, "HOSTINGER_API_TOKEN": token,
        "LAUNCH_SANDBOX_DIR": str(STATE_DIR),
        # the example secrets file's vault password (sandbox only; production asks with --ask-vault-pass)
        "ANSIBLE_VAULT_PASSWORD_FILE": str(ROOT / "sandbox" / "seed" / "vault-password.txt"),
    }
    lines = ["# written by `make sandbox-up`; source it to point a shell at the sandbox",
             "unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN"]
    lines += [f"export {k}={v}" for k, v in exports.items()]
    (STATE_DIR / "env").write_text("\n".join(lines) + "\n")
    print(f"sandbox: up for {domain}: AWS (moto) {aws_url}, Hostinger simulator {sim_url}, DNS {dns_server}"
          + (f", DNS world {world['block']}" if world else ""))
    print(f"sandbox: `. {STATE_DIR / 'env'}` points a shell at it; `make sandbox-down` stops it.")
    return 0


def down(args: argparse.Namespace) -> int:
    state = load_state()
    procs = running(state)
    for p in procs:
        try:
            os.killpg(p["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p["pid"]) for p in procs):
        time.sleep(0.1)
    for p in procs:
        if alive(p["pid"]):
            os.killpg(p["pid"], signal.SIGKILL)
    for name in ("endpoints.json", "env", "hostinger.port", "dns.port", "dns_world.json", "rds_standin.json",
                 "platform.json", "edge.json", "task_runner.json"):
        (STATE_DIR / name).unlink(missing_ok=True)
    # the CA, and what the stand-ins made with it (leaf certificates, nginx and PgBouncer files): the next `up` makes a
    # new CA, and a leaf signed by this one would not verify
    for name in ("pki", "edge", "platform", "task_runner"):
        shutil.rmtree(STATE_DIR / name, ignore_errors=True)
    print(f"sandbox: stopped {len(procs)} process(es)" if procs else "sandbox: nothing was running")
    return 0


def status(args: argparse.Namespace) -> int:
    state = load_state()
    procs = running(state)
    if not procs:
        print("sandbox: not running")
        return 3
    print(json.dumps({k: v for k, v in state.items() if k not in ("hostinger_api_token", "aws_secret_key")}, indent=2))
    return 0


def age(args: argparse.Namespace) -> int:
    """Date the simulator's zone snapshots ``seconds`` earlier: the rehearsal's stand-in for the hour a lowered TTL
    needs before the cutover may switch (the cutover reads the lowering's time from the snapshots)."""
    state = load_state()
    if not running(state):
        print("sandbox: not running")
        return 3
    req = urllib.request.Request(state["hostinger_api_url"] + "/__sim/age", method="POST",
                                 data=json.dumps({"seconds": args.seconds, "ahead": args.ahead}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()
    print("sandbox: the simulator's zone history is now %d s older%s (in production the cutover waits this out)"
          % (args.seconds, ", and so is every snapshot it takes from now on" if args.ahead else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("--domain", help="domain to seed (default: launch_domain of inventories/sandbox)")
    sub.add_parser("down")
    sub.add_parser("status")
    a = sub.add_parser("age", help="date the simulator's zone snapshots earlier (a lowered TTL's wait, rehearsed)")
    a.add_argument("seconds", type=int)
    a.add_argument("--ahead", action="store_true",
                   help="date the snapshots it takes from now on that much earlier too (a one-run rehearsal)")
    args = p.parse_args(argv)
    return {"up": up, "down": down, "status": status, "age": age}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
