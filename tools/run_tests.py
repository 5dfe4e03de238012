"""`make test`: every layer, none skipped; a summary line per layer and a closing count.

Layers: ruff, unit (pytest), integration (pytest against a real moto server and the Hostinger simulator),
molecule (against a sandbox this runner starts and stops), ansible-lint (production profile), changelog lint,
ansible-test sanity, docs (antsibull-docs lint and render; the filters' doc files current). ruff and unit run
first (seconds, and a failure there is cheap to see); the rest run side by side: the integration tests split into
shards by file, each shard a pytest process with its own private sandbox (its own moto, simulator and DNS world on
free loopback addresses), beside molecule's sandbox and the linters.
A parallel layer's output is printed whole when it ends, so layers never interleave. LAUNCH_TEST_WORKERS (default
3) bounds how many run at once and LAUNCH_TEST_SHARDS (default 2) how many integration shards there are.
With CI=true a layer whose tool is missing fails; locally too - the Makefile installs everything first, so a
missing tool is a broken install either way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("route53_zone", "acm_wildcard", "network", "cloudfront_waf", "dns_records", "rds_pgbouncer", "elasticache",
             "ecs_services", "backups", "alarms", "security_baseline")
BIN = Path(sys.executable).parent


def run(name: str, argv: list[str], env: dict[str, str] | None = None) -> tuple[str, bool, float]:
    """One layer (or a step of one), its output captured and printed whole when it ends."""
    start = time.monotonic()
    proc = subprocess.run(argv, check=False, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    took = time.monotonic() - start
    ok = proc.returncode == 0
    print(f"\n=== {name}: {' '.join(argv)}\n{proc.stdout}=== {name}: {'passed' if ok else 'FAILED'} in {took:.0f}s",
          flush=True)
    return name, ok, took


# The DNS lab (tests/dnslab) binds fixed addresses in 127.53.0.0/16: the files that use it share one shard.
LAB_FILES = ("test_dnslab.py", "test_dns_propagation.py", "test_dns_zone_compare.py")
# The operations roles' tests share one site.yml build (conftest's site_without_operations) while they run one after
# the other: one shard, this order (the tests that reset the sandbox come last within each file).
SITE_FILES = ("test_security_baseline_role.py", "test_launch_policies_lint.py", "test_backup_role.py",
              "test_alarms_role.py")
# The files that share the whole launch (conftest's whole_launch): one shard, this order - test_site_phases.py builds
# it from empty and runs it again (its tests that reset come before), the validate phase runs on it, then the cutover's
# tests on it (the refusals, which reset, last).
LAUNCH_FILES = ("test_site_phases.py", "test_validate_phase.py", "test_cutover.py")


# Seconds measured on this 2-core machine under CI load for files whose size says little about their run time (a few
# whole-launch builds in a short file); any other file weighs its size / 250 (bytes per second: the CI run of
# 2026-12-03, its shards' times less these files' over the other files' sizes). Each integration shard ends with
# "seconds per file: {...}" (tests/integration/conftest.py), what to read when these drift.
SECONDS = {"test_site_phases.py": 620, "test_launch.py": 1000, "test_cutover.py": 230, "test_validate_phase.py": 230,
           "test_validate_modules.py": 200, "test_edge_standin.py": 80, "test_platform_standin.py": 60,
           "test_task_runner.py": 40, "test_launch_report_html.py": 40}


def weight(f: Path) -> float:
    return SECONDS.get(f.name, f.stat().st_size / 250)


def shards(count: int) -> list[list[str]]:
    """The integration test files dealt into ``count`` shards of about equal run time (``weight``); the DNS lab's
    files stay together, and so do the files that share one build (the operations roles', the whole launch's)."""
    files = sorted((ROOT / "tests" / "integration").glob("test_*.py"))
    grouped = LAB_FILES + SITE_FILES + LAUNCH_FILES
    units = [[f] for f in files if f.name not in grouped] + [[f for f in files if f.name in LAB_FILES]]
    for group in (SITE_FILES, LAUNCH_FILES):
        units.append(sorted((f for f in files if f.name in group), key=lambda f: group.index(f.name)))
    units = sorted((u for u in units if u), key=lambda u: -sum(weight(f) for f in u))
    out: list[list[str]] = [[] for unused in range(max(1, count))]
    load = [0.0] * len(out)
    for unit in units:
        i = load.index(min(load))
        out[i].extend(str(f.relative_to(ROOT)) for f in unit)
        load[i] += sum(weight(f) for f in unit)
    return [shard for shard in out if shard]


def endpoints(state: str) -> dict:
    return json.loads((Path(state) / "endpoints.json").read_text())


def molecule() -> tuple[str, bool, float]:
    """Molecule needs a running sandbox: a private one, fresh, stopped afterwards whatever happens."""
    with tempfile.TemporaryDirectory(prefix="launch-molecule-") as state:
        # the scenarios' roles need no data plane: no RDS stand-in, task runner, platform or edge (their CPU goes to
        # the integration shards beside)
        env = dict(os.environ, LAUNCH_SANDBOX_DIR=state, PYTHONPATH=str(ROOT), LAUNCH_SANDBOX_STANDINS="none")
        up = subprocess.run([sys.executable, "-m", "sandbox.manage", "up"], check=False, cwd=ROOT, env=env,
                            capture_output=True, text=True)
        if up.returncode != 0:
            print("=== molecule: the sandbox did not start\n" + up.stdout + up.stderr, flush=True)
            return "molecule", False, 0.0
        try:
            started, ok = time.monotonic(), True
            for scenario in SCENARIOS:
                # each scenario starts from an empty moto and the simulator's seed
                for url in (endpoints(state)["aws_endpoint_url"] + "/moto-api/reset",
                            endpoints(state)["hostinger_api_url"] + "/__sim/reset"):
                    urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b"{}"), timeout=10).close()
                # molecule keeps "prepared"/"converged" in ~/.ansible/tmp between runs of the same checkout path;
                # a stale "prepared" would skip the prepare playbook against this empty sandbox
                subprocess.run([str(BIN / "molecule"), "reset", "-s", scenario], check=False, cwd=ROOT, env=env,
                               capture_output=True)
                ok &= run("molecule " + scenario, [str(BIN / "molecule"), "test", "-s", scenario], env)[1]
            return "molecule", ok, time.monotonic() - started
        finally:
            subprocess.run([sys.executable, "-m", "sandbox.manage", "down"], check=False, cwd=ROOT, env=env,
                           capture_output=True)


def main() -> int:
    only = set(sys.argv[1:])
    workers = int(os.environ.get("LAUNCH_TEST_WORKERS", "3"))
    first = [
        ("ruff", lambda: run("ruff", [str(BIN / "ruff"), "check", "plugins", "sandbox", "tools", "tests"])),
        ("unit", lambda: run("unit", [sys.executable, "-m", "pytest", "-q", "tests/unit"])),
    ]
    parallel = [("integration", lambda files=files, i=i: run("integration %d" % i, [
        sys.executable, "-m", "pytest", "-q", "--durations=25", *files])) for i, files in
        enumerate(shards(int(os.environ.get("LAUNCH_TEST_SHARDS", "2"))), 1)]
    parallel += [
        ("molecule", molecule),
        ("ansible-lint", lambda: run("ansible-lint", [str(BIN / "ansible-lint")])),
        ("changelog", lambda: run("changelog", [str(BIN / "antsibull-changelog"), "lint"])),
        ("sanity", lambda: run("sanity", ["bash", "tools/sanity.sh"])),
        ("docs", lambda: run("docs", ["bash", "tools/docs.sh", "--check"])),
    ]
    started = time.monotonic()
    results = [fn() for name, fn in first if not only or name in only]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(fn) for name, fn in parallel if not only or name in only]
        results += [f.result() for f in futures]
    print("\n=== summary")
    for name, ok, took in results:
        print(f"  {name:<15} {'passed' if ok else 'FAILED'}  {took:6.0f}s")
    passed = sum(result[1] for result in results)
    failed = len(results) - passed
    print(f"  wall clock      {time.monotonic() - started:6.0f}s")
    print(f"layers: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
