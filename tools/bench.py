"""`make bench`: figures printed beside the anchor measured in the same run, as ratios.

1. The sandbox launch, `site.yml --tags preflight,dns_zone`: first run and re-run (wall s, tasks, changed).
2. Importing 50 records into Route 53 on the same moto server: our batched module in one task versus
   `amazon.aws.route53` looped over the records (the anchor: what a user of amazon.aws writes).
3. The network phase (VPC, subnets, NAT, routes, four security groups, load balancer, four target groups,
   listeners, host rules): `vpc_network` + `load_balancer` (two tasks) versus the same with amazon.aws /
   community.aws modules (tools/bench/network_anchor.yml, 13 tasks), each on its own fresh moto; first run
   and re-run. Also the whole sandbox `site.yml`, first run and re-run.
4. The database: `rds_postgres` (one task) versus amazon.aws's rds_subnet_group + rds_instance_param_group +
   rds_instance (tools/bench/rds_anchor.yml, 3 tasks), each on a fresh moto; first run and re-run.
5. The long creates overlap: the whole `site.yml` behind the "slow AWS" proxy (sandbox/aws_proxy.py), which keeps
   the RDS instance, the replication group and the distribution in their creating states for N seconds after each
   create; N=0 against N=20. Overlapped, the second run takes about N longer; in sequence it would take 3N longer.
4. The propagation matrix: 20 resolvers (2 of them never answer) x 5 names x 3 types, plus the parent and
   authoritative checks, against real nsd/unbound on loopback (tests/dnslab): `dns_propagation`'s check
   versus the same queries asked one after another with `dig` (the anchor: what a person scripts).
Each import runs against its own fresh hosted zone; every figure is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3

from sandbox.aws_proxy import SlowAws

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def playbook(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), *args], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True)
    took = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("bench: ansible-playbook %s failed:\n%s" % (" ".join(args), proc.stdout[-3000:] + proc.stderr[-2000:]))
    return took, proc.stdout


def recap(out: str) -> tuple[int, int]:
    m = re.search(r"ok=(\d+)\s+changed=(\d+)", out)
    return int(m.group(1)), int(m.group(2))


IMPORT_PLAY = """
- name: Import records
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
    bench_records: {records}
  # no `region` in module_defaults: amazon.aws.route53 has its own `region` option (latency routing),
  # which a group default would set; the region comes from AWS_DEFAULT_REGION instead.
  environment: {{AWS_DEFAULT_REGION: us-east-1}}
  module_defaults:
    group/amazon.aws.aws: &d {{endpoint_url: "{endpoint}", access_key: testing, secret_key: "{secret}"}}
    group/directfanz.launch.aws: *d
  tasks:
{task}
"""

BATCHED = """    - name: Write all records in one batched change
      directfanz.launch.route53_records:
        hosted_zone_id: "{zone_id}"
        records: "{{{{ bench_records }}}}"
"""

LOOPED = """    - name: Write each record with amazon.aws.route53
      amazon.aws.route53:
        state: present
        hosted_zone_id: "{zone_id}"
        record: "{{{{ item.name }}}}"
        type: "{{{{ item.type }}}}"
        ttl: "{{{{ item.ttl }}}}"
        value: "{{{{ item['values'] }}}}"
      loop: "{{{{ bench_records }}}}"
"""


def import_once(kind: str, info: dict, env: dict[str, str], tmp: Path, n: int, run_id: int) -> float:
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=info["aws_endpoint_url"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    zone_name = "bench-%s-%d.example.com" % (kind, run_id)
    zone_id = r53.create_hosted_zone(Name=zone_name, CallerReference="%s-%d-%f" % (kind, run_id, time.time()))[
        "HostedZone"]["Id"].split("/")[-1]
    records = [{"name": "h%02d.%s." % (i, zone_name), "type": "A", "ttl": 300, "values": ["192.0.2.%d" % (i + 1)]}
               for i in range(n)]
    task = (BATCHED if kind == "batched" else LOOPED).format(zone_id=zone_id)
    play = IMPORT_PLAY.format(records=json.dumps(records), endpoint=info["aws_endpoint_url"],
                              secret=info["aws_secret_key"], task=task)
    path = tmp / ("import-%s-%d.yml" % (kind, run_id))
    path.write_text(play)
    took, out = playbook([str(path), "-i", "localhost,"], env)
    got = [r for r in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Type"] == "A"]
    assert len(got) == n, "bench: %s import wrote %d of %d records" % (kind, len(got), n)
    return took


def dig(server: dict, name: str, rtype: str, recurse: bool, timeout: int) -> None:
    subprocess.run(["dig", "@" + server["address"], "-p", str(server["port"]), name, rtype, "+time=%d" % timeout,
                    "+tries=1", "+norecurse" if not recurse else "+recurse"], check=False, capture_output=True)


def propagation_bench(repeat: int) -> None:
    sys.path.insert(0, str(ROOT / ".cache" / "collections"))
    from ansible_collections.directfanz.launch.plugins.module_utils.propagation import check

    from tests.dnslab.lab import DnsLab

    names = ["@", "www", "_dmarc", "_launch-canary", "api"]
    types = ["A", "TXT", "MX"]
    with tempfile.TemporaryDirectory(prefix="launch-dnsbench-") as work, \
            DnsLab(work, domain="directfanz.io", resolvers=20) as lab:
        lab.delegate_to(lab.new_nameservers)
        lab.make_dead(18)
        lab.make_dead(19)
        records = [{"name": ("%s.directfanz.io." % n) if n != "@" else "directfanz.io.", "type": t, "value": None}
                   for n in names for t in types]

        def once() -> tuple[float, dict]:
            start = time.monotonic()
            out = check("directfanz.io", lab.new_nameservers, lab.parent_servers, lab.resolvers, records, 1.0,
                        1.0, {n: lab.addresses[n] for n in lab.new_nameservers})
            return time.monotonic() - start, out

        runs = [once() for attempt in range(repeat)]
        ours, result = [r[0] for r in runs], runs[-1][1]
        assert result["counts"]["timeout"] == 2 and result["counts"]["new"] == 18, result["counts"]
        queries = [(p, "directfanz.io.", t, False) for p in lab.parent_servers for t in ("NS", "DS")]
        auth = [{"address": lab.addresses[n], "port": 53} for n in lab.new_nameservers]
        questions = [("directfanz.io.", "NS")] + [(r["name"], r["type"]) for r in records]
        queries += [(a, q, t, False) for a in auth for q, t in questions]
        queries += [(r, q, t, True) for r in lab.resolvers for q, t in questions]
        start = time.monotonic()
        for server, name, rtype, recurse in queries:
            dig(server, name, rtype, recurse, 1)
        sequential = time.monotonic() - start
    b = statistics.median(ours)
    print("== propagation matrix: 20 resolvers (2 never answer) x 5 names x 3 types + parent + 4 authoritative,"
          " query_timeout 1 s, real nsd/unbound on loopback (%d queries)" % len(queries))
    print("  dns_propagation check, concurrent:   %6.2f s  (runs: %s)" % (b, ", ".join("%.2f" % x for x in ours)))
    print("  the same queries with dig, one by one: %6.2f s  <- anchor" % sequential)
    print("  ratio anchor/ours: %.1fx faster" % (sequential / b))


def anchor_bench(info: dict, env: dict[str, str], title: str, books: tuple[str, str], setup) -> None:
    """Ours and the anchor (two playbooks), each from an empty moto (reset before each, then ``setup(client)``
    makes what both take as input and returns their extra variables), first run then re-run."""
    print(title)
    figures = {}
    for label, book in zip(("ours", "anchor"), books, strict=True):
        reset = urllib.request.Request(info["aws_endpoint_url"] + "/moto-api/reset", method="POST", data=b"{}")
        urllib.request.urlopen(reset, timeout=10).close()

        def client(service):
            return boto3.client(service, region_name="us-east-1", endpoint_url=info["aws_endpoint_url"],
                                aws_access_key_id="testing", aws_secret_access_key="testing")
        extra = ["-e", json.dumps(dict(setup(client), bench_endpoint=info["aws_endpoint_url"],
                                       bench_secret=info["aws_secret_key"]))]
        runs = [playbook([book, "-i", "localhost,", *extra], env) for run in ("first run", "re-run")]
        figures[label] = [run[0] for run in runs]
        marker = "  <- anchor" if label == "anchor" else ""
        for name, (took, out) in zip(("first run", "re-run"), runs, strict=True):
            tasks, changed = recap(out)
            print("  %-6s %-9s %6.2f s  tasks=%d changed=%d%s" % (label, name, took, tasks, changed, marker))
    for i, name in enumerate(("first run", "re-run")):
        print("  ratio anchor/ours, %s: %.1fx faster" % (name, figures["anchor"][i] / figures["ours"][i]))


def network_inputs(client) -> dict:
    cert = client("acm").request_certificate(DomainName="*.example.com", ValidationMethod="DNS")["CertificateArn"]
    return {"bench_cert_arn": cert}


def rds_inputs(client) -> dict:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.%d.0/24" % i, AvailabilityZone="us-east-1" + az)[
        "Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]
    return {"bench_subnets": subnets,
            "bench_security_group": ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"],
            "bench_kms_key_arn": client("kms").create_key(Description="bench")["KeyMetadata"]["Arn"],
            "bench_monitoring_role_arn": "arn:aws:iam::123456789012:role/bench-monitoring"}


SITE = ["site.yml", "-i", "inventories/sandbox", "--vault-password-file", str(ROOT / "sandbox/seed/vault-password.txt")]


def slow_aws_bench(info: dict, env: dict[str, str], delay: int) -> None:
    """The whole site run on an empty moto, behind the slow-AWS proxy at 0 and at ``delay`` seconds."""
    print("== long creates overlap: the whole site.yml on an empty moto behind the slow-AWS proxy (RDS instance,"
          " replication group and distribution kept creating for N s)")
    took = {}
    for n in (0, delay):
        for url in (info["aws_endpoint_url"] + "/moto-api/reset", info["hostinger_api_url"] + "/__sim/reset"):
            urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b"{}"), timeout=10).close()
        proxy = SlowAws(info["aws_endpoint_url"], delay=n)
        with tempfile.TemporaryDirectory(prefix="launch-slow-") as state:
            (Path(state) / "endpoints.json").write_text(json.dumps(dict(info, aws_endpoint_url=proxy.url)))
            try:
                took[n], out = playbook(SITE + ["-e", "long_creates_poll_interval=2"],
                                        dict(env, LAUNCH_SANDBOX_DIR=state))
            finally:
                proxy.close()
        tasks, changed = recap(out)
        print("  N=%-3d %6.2f s  tasks=%d changed=%d" % (n, took[n], tasks, changed))
        path = re.search(r"Report the critical path of the long creates.*?msg:\n(.*?)\n\n", out, re.S)
        for line in (path.group(1).splitlines() if path else []):
            print("        " + line.strip())
    extra = took[delay] - took[0]
    if extra < 1.0:
        # the two runs differ by less than their noise (a loaded machine): no ratio can be honestly computed
        print("  N=%d adds %.1f s: within the runs' noise, so no ratio (in sequence the creates would add %d s); "
              "the critical path above shows what was waited for" % (delay, extra, 3 * delay))
    else:
        print("  N=%d adds %.1f s: the three creates overlap (in sequence they would add %d s; ratio %.1fx)"
              % (delay, extra, 3 * delay, 3 * delay / extra))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--records", type=int, default=50)
    p.add_argument("--only", choices=["launch", "propagation", "slow", "validate"], help="run one part")
    p.add_argument("--slow-delay", type=int, default=20, help="seconds the slow-AWS proxy keeps a long create creating")
    args = p.parse_args()
    if args.only in (None, "validate"):
        # the endpoint sweep and the latency client beside wrk on the same target (tools/bench_validate.py)
        print("== the validate checks against the stand-in platform, beside wrk")
        subprocess.run([sys.executable, str(ROOT / "tools" / "bench_validate.py")], cwd=ROOT, check=False)
        if args.only == "validate":
            return 0
    if args.only in (None, "propagation"):
        propagation_bench(args.repeat)
        if args.only == "propagation":
            return 0
    with tempfile.TemporaryDirectory(prefix="launch-bench-") as state:
        tmp = Path(state)
        env = dict(os.environ, LAUNCH_SANDBOX_DIR=state, PYTHONPATH=str(ROOT), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
        env = {k: v for k, v in env.items() if not k.startswith(("AWS_", "HOSTINGER_"))}
        subprocess.run([sys.executable, "-m", "sandbox.manage", "up"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        try:
            info = json.loads((tmp / "endpoints.json").read_text())
            if args.only == "slow":
                slow_aws_bench(info, env, args.slow_delay)
                return 0
            print("== site.yml --tags preflight,dns_zone against the sandbox (moto server + Hostinger simulator)")
            first, out1 = playbook(["site.yml", "-i", "inventories/sandbox", "--tags", "preflight,dns_zone"], env)
            again, out2 = playbook(["site.yml", "-i", "inventories/sandbox", "--tags", "preflight,dns_zone"], env)
            for label, took, out in (("first run", first, out1), ("re-run", again, out2)):
                tasks, changed = recap(out)
                print("  %-9s %6.2f s  tasks=%d changed=%d" % (label, took, tasks, changed))

            print("== importing %d records into Route 53 (same moto server, fresh zone each, median of %d)"
                  % (args.records, args.repeat))
            batched = [import_once("batched", info, env, tmp, args.records, i) for i in range(args.repeat)]
            looped = [import_once("looped", info, env, tmp, args.records, i) for i in range(args.repeat)]
            b, loop = statistics.median(batched), statistics.median(looped)
            print("  directfanz.launch.route53_records, one task:   %6.2f s  (runs: %s)"
                  % (b, ", ".join("%.2f" % x for x in batched)))
            print("  amazon.aws.route53 looped over the records:    %6.2f s  (runs: %s)  <- anchor"
                  % (loop, ", ".join("%.2f" % x for x in looped)))
            print("  ratio anchor/ours: %.1fx faster" % (loop / b))

            anchor_bench(info, env, "== the network phase: directfanz.launch (2 tasks) vs amazon.aws/community.aws"
                         " (13 tasks), fresh moto each", ("tools/bench/network_ours.yml",
                                                          "tools/bench/network_anchor.yml"), network_inputs)

            anchor_bench(info, env, "== the database: directfanz.launch.rds_postgres (1 task) vs amazon.aws (3 tasks),"
                         " fresh moto each", ("tools/bench/rds_ours.yml", "tools/bench/rds_anchor.yml"), rds_inputs)

            print("== the whole site.yml against the sandbox (every phase: certificates, network, edge, data, compute,"
                  " config, dns_records)")
            for url in (info["aws_endpoint_url"] + "/moto-api/reset", info["hostinger_api_url"] + "/__sim/reset"):
                urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b"{}"), timeout=10).close()
            first, out1 = playbook(SITE + ["--skip-tags", "validate"], env)
            again, out2 = playbook(SITE + ["--skip-tags", "validate"], env)
            for label, took, out in (("first run", first, out1), ("re-run", again, out2)):
                tasks, changed = recap(out)
                print("  %-9s %6.2f s  tasks=%d changed=%d" % (label, took, tasks, changed))
            print("== the validate phase on that launch (--tags validate: every check through the stand-in edge, and the"
                  " launch report)")
            took, out = playbook(SITE + ["--tags", "validate"], env)
            tasks, changed = recap(out)
            verdict = re.search(r"(NO-GO|GO) \((pre|post)-cutover\)", out)
            print("  %6.2f s  tasks=%d  verdict %s" % (took, tasks, verdict.group(0) if verdict else "not printed"))

            slow_aws_bench(info, env, args.slow_delay)
        finally:
            subprocess.run([sys.executable, "-m", "sandbox.manage", "down"], check=False, cwd=ROOT, env=env,
                           capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
