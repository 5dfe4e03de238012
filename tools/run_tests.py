"""`make test`: every layer, in order, none skipped; a summary line per layer and a closing count.

Layers: ruff, unit (pytest), integration (pytest against a real moto server and the Hostinger simulator),
molecule (route53_zone, acm_wildcard, cloudfront_waf, against a sandbox this runner starts and stops),
ansible-lint (production profile), changelog lint, ansible-test sanity. With CI=true a layer whose tool is
missing fails; locally too - the Makefile installs everything first, so a missing tool is a broken install
either way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("route53_zone", "acm_wildcard", "cloudfront_waf")
BIN = Path(sys.executable).parent


def run(name: str, argv: list[str], env: dict[str, str] | None = None) -> tuple[str, bool, float]:
    print(f"\n=== {name}: {' '.join(argv)}", flush=True)
    start = time.monotonic()
    ok = subprocess.run(argv, check=False, cwd=ROOT, env=env).returncode == 0
    took = time.monotonic() - start
    print(f"=== {name}: {'passed' if ok else 'FAILED'} in {took:.0f}s", flush=True)
    return name, ok, took


def endpoints(state: str) -> dict:
    return json.loads((Path(state) / "endpoints.json").read_text())


def molecule() -> tuple[str, bool, float]:
    """Molecule needs a running sandbox: a private one, fresh, stopped afterwards whatever happens."""
    with tempfile.TemporaryDirectory(prefix="launch-molecule-") as state:
        env = dict(os.environ, LAUNCH_SANDBOX_DIR=state, PYTHONPATH=str(ROOT))
        up = subprocess.run([sys.executable, "-m", "sandbox.manage", "up"], check=False, cwd=ROOT, env=env)
        if up.returncode != 0:
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
            subprocess.run([sys.executable, "-m", "sandbox.manage", "down"], check=False, cwd=ROOT, env=env)


def main() -> int:
    only = set(sys.argv[1:])
    layers = [
        ("ruff", lambda: run("ruff", [str(BIN / "ruff"), "check", "plugins", "sandbox", "tools", "tests"])),
        ("unit", lambda: run("unit", [sys.executable, "-m", "pytest", "-q", "tests/unit"])),
        ("integration", lambda: run("integration", [sys.executable, "-m", "pytest", "-q", "tests/integration"])),
        ("molecule", molecule),
        ("ansible-lint", lambda: run("ansible-lint", [str(BIN / "ansible-lint")])),
        ("changelog", lambda: run("changelog", [str(BIN / "antsibull-changelog"), "lint"])),
        ("sanity", lambda: run("sanity", ["bash", "tools/sanity.sh"])),
    ]
    results = [fn() for name, fn in layers if not only or name in only]
    print("\n=== summary")
    for name, ok, took in results:
        print(f"  {name:<13} {'passed' if ok else 'FAILED'}  {took:6.0f}s")
    passed = sum(result[1] for result in results)
    failed = len(results) - passed
    print(f"layers: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
