"""Real PostgreSQL behind moto's RDS: the sandbox's stand-in for the data an RDS instance holds.

moto keeps RDS instances and snapshots as records only: a restore is "available" at once and holds no data, so a
restore drill against moto alone would check nothing. This process follows moto (one read of its instances and
snapshots every second) and gives each PostgreSQL instance moto holds a real PostgreSQL cluster:

- a new instance gets ``initdb``, TLS with a server certificate for the instance's endpoint name signed by the
  sandbox CA, the master user (``MasterUsername``) with the password of the instance's managed secret in moto's
  Secrets Manager, its ``DBName`` owned by that user, and its own loopback address ``127.A.B.n`` at the endpoint's
  port (5432), reachable over ``hostssl`` + SCRAM only;
- a manual snapshot, when it first appears, is a physical copy of its instance's cluster (``pg_basebackup``) taken
  at that moment;
- an instance tagged ``launch-drill-source=snapshot:<id>`` starts from that snapshot's copy; one tagged
  ``point-in-time:<instance>@<time>`` from a copy of that instance taken when the restore is seen (moto records
  neither which snapshot an instance was restored from nor a restore time, so the drill module's own tags - which
  it sets on AWS too - are what the stand-in follows); the master password is then set to the new instance's own
  secret, as RDS does for a restore with a managed master password;
- a deleted instance's cluster is stopped and removed, a deleted snapshot's copy too.

It answers DNS (UDP and TCP, ``sandbox.dns_stub``'s answerer) for the endpoint names of the clusters that are
ready - a name resolves only once its cluster accepts the master user - so a client that resolves the endpoint
through it (``restore_drill_resolvers``) and connects with ``host=<name> hostaddr=<address> sslmode=verify-full``
verifies the certificate against the real endpoint name, as against RDS.

PostgreSQL refuses to run as root: as root the clusters run as the ``postgres`` user, in a private directory it
owns. The state file (JSON) names the DNS server and, per instance, its address and state.

    python -m sandbox.rds_standin --aws-endpoint http://127.0.0.1:PORT --ca-dir .sandbox/pki --state-file F
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import ipaddress
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox.changes import MotoChanges
from sandbox.dns_stub import free_udp_tcp_port, serve

RUN_USER = "postgres"
ADMIN = "standin_admin"   # the cluster's bootstrap superuser, reachable only over the private socket
SOURCE_TAG = "launch-drill-source"
PROGRAMS = ("initdb", "pg_ctl", "postgres", "pg_basebackup")


def pg_bindir() -> Path | None:
    """Debian keeps the server programs in /usr/lib/postgresql/<major>/bin: the newest."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_programs() -> list[str]:
    bindir = pg_bindir()
    return [p for p in PROGRAMS if bindir is None or not (bindir / p).exists()]


def run_as() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    return {"user": RUN_USER, "group": RUN_USER, "extra_groups": []}


def own(path: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(RUN_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def bindable(address: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((address, port))
            return True
        except OSError:
            return False


class SandboxCA:
    """The sandbox CA (``sandbox/pki.py`` wrote it), signing server certificates for endpoint names."""

    def __init__(self, directory: Path):
        self.cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        self.key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)

    def issue(self, name: str) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder()
                # a common name holds at most 64 characters and endpoint names are longer: the SAN carries the name
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name if len(name) <= 64
                                                            else name.split(".")[0][:64])]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=7))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM),
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


class Cluster:
    """One instance's PostgreSQL: data directory, socket, certificate, address."""

    def __init__(self, base: Path, identifier: str, address: str, port: int):
        self.dir = base / "instances" / identifier
        self.data = self.dir / "data"
        self.socket = self.dir / "socket"
        self.address = address
        self.port = port
        self.log = self.dir / "postgres.log"
        self.started = False

    def prog(self, name: str) -> str:
        return str(pg_bindir() / name)

    def configure(self, endpoint: str, ca: SandboxCA, settings: dict[str, str] | None = None) -> None:
        """Settings and access rules for this instance (also over a copied data directory: a copy's are its
        source's)."""
        cert, key = ca.issue(endpoint)
        (self.dir / "server.crt").write_bytes(cert)
        (self.dir / "server.key").write_bytes(key)
        (self.dir / "server.key").chmod(0o600)
        self.socket.mkdir(exist_ok=True)
        (self.data / "postgresql.auto.conf").write_text("\n".join([
            "listen_addresses = '%s'" % self.address, "port = %d" % self.port,
            "unix_socket_directories = '%s'" % self.socket, "max_connections = 30", "ssl = on",
            "ssl_cert_file = '%s'" % (self.dir / "server.crt"), "ssl_key_file = '%s'" % (self.dir / "server.key"),
            "ssl_min_protocol_version = 'TLSv1.2'", "password_encryption = 'scram-sha-256'", "fsync = off",
            "synchronous_commit = off", "full_page_writes = off", "shared_buffers = '16MB'", "max_wal_senders = 4",
            "log_connections = on"] + ["%s = '%s'" % (k, v.replace("'", "''")) for k, v in sorted((settings or {}).items())]
            + [""]))
        # like rds.force_ssl=1: TCP only over TLS with SCRAM (clients on loopback come from 127.0.0.1 whatever
        # address they dial); the stand-in administers over the private socket
        (self.data / "pg_hba.conf").write_text(
            "local all %s trust\nlocal replication %s trust\nhostssl all all 127.0.0.0/8 scram-sha-256\n"
            % (ADMIN, ADMIN))
        for leftover in ("postmaster.pid", "standby.signal", "recovery.signal"):
            (self.data / leftover).unlink(missing_ok=True)
        own(self.dir)

    def initdb(self) -> None:
        self.dir.mkdir(parents=True)
        own(self.dir)
        subprocess.run([self.prog("initdb"), "-D", str(self.data), "-U", ADMIN, "--auth-local=trust",
                        "--auth-host=reject", "-E", "UTF8", "--no-sync"], check=True, capture_output=True, **run_as())

    def copy_from(self, data_copy: Path) -> None:
        self.dir.mkdir(parents=True)
        shutil.copytree(data_copy, self.data, symlinks=True)
        self.data.chmod(0o700)

    def start(self) -> None:
        subprocess.run([self.prog("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"],
                       check=True, capture_output=True, **run_as())
        self.started = True

    def stop(self) -> None:
        if self.started:
            subprocess.run([self.prog("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, check=False, **run_as())
            self.started = False

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket), port=self.port, user=ADMIN, dbname=dbname, autocommit=True)

    def base_backup(self, target: Path) -> None:
        """A physical copy of this running cluster into ``target`` (what the snapshot holds)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        own(target.parent)
        subprocess.run([self.prog("pg_basebackup"), "-D", str(target), "-h", str(self.socket), "-p", str(self.port),
                        "-U", ADMIN, "-X", "stream", "-c", "fast", "--no-sync"], check=True, capture_output=True,
                       **run_as())


class Standin:
    def __init__(self, aws_endpoint: str, ca_dir: Path, state_file: Path, region: str, interval: float = 1.0):
        kw = dict(region_name=region, endpoint_url=aws_endpoint, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        self.rds = boto3.client("rds", **kw)
        self.secrets = boto3.client("secretsmanager", **kw)
        self.ca = SandboxCA(ca_dir)
        self.state_file = state_file
        self.interval = interval
        self.watch = MotoChanges(aws_endpoint)
        self.base = Path(tempfile.mkdtemp(prefix="rds-standin-"))
        self.base.chmod(0o755)
        own(self.base)
        self.clusters: dict[str, Cluster] = {}
        self.info: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.failed: dict[str, str] = {}
        self.names: dict[str, dict[str, list[str]]] = {}
        self.block = self.pick_block()
        self.next_host = 1
        self.stopping = threading.Event()
        self.dns_port = free_udp_tcp_port()
        self.dns = serve(self.names, "127.0.0.1", self.dns_port)

    @staticmethod
    def pick_block() -> str:
        """A 127.A.B.0/24 nobody listens on at 5432 (each test sandbox has its own stand-in)."""
        for attempt in range(200):  # noqa: B007 - bounded
            block = "127.%d.%d" % (random.randint(100, 250), random.randint(1, 250))
            if bindable(block + ".1", 5432):
                return block
        raise SystemExit("rds_standin: no free 127.A.B.0/24 block with port 5432 free")

    def allocate(self, port: int) -> str:
        while self.next_host < 255:
            address = "%s.%d" % (self.block, self.next_host)
            self.next_host += 1
            if bindable(address, port):
                return address
        raise RuntimeError("no address left in %s.0/24" % self.block)

    def password(self, instance: dict[str, Any]) -> str | None:
        arn = (instance.get("MasterUserSecret") or {}).get("SecretArn")
        if not arn:
            return None  # moto never returns MasterUserPassword: such a master user cannot log in over TCP
        return json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]

    def source_of(self, instance: dict[str, Any]) -> str:
        tags = {t["Key"]: t["Value"] for t in instance.get("TagList") or []}
        return tags.get(SOURCE_TAG, "")

    def create(self, instance: dict[str, Any]) -> None:
        identifier = instance["DBInstanceIdentifier"]
        endpoint = instance["Endpoint"]["Address"]
        port = int(instance["Endpoint"].get("Port") or 5432)
        source = self.source_of(instance)
        kind, dummy, rest = source.partition(":")
        copy = (self.snapshots.get(rest) or {}).get("copy") if kind == "snapshot" else None
        if kind == "snapshot" and not copy:
            return  # its snapshot's copy is not there (yet): the next round tries again
        if kind == "point-in-time" and rest.split("@")[0] not in self.clusters:
            return  # its source has no cluster (yet)
        cluster = Cluster(self.base, identifier, self.allocate(port), port)
        origin = "initdb"
        if copy:
            cluster.copy_from(Path(copy))
            origin = "snapshot " + rest
        elif kind == "point-in-time":
            self.clusters[rest.split("@")[0]].base_backup(cluster.data)
            origin = "copy of %s taken %s" % (rest.split("@")[0], time.strftime("%H:%M:%SZ", time.gmtime()))
        else:
            cluster.initdb()
        cluster.configure(endpoint, self.ca, self.parameters(instance))
        self.clusters[identifier] = cluster
        self.info[identifier] = {"endpoint": endpoint, "address": cluster.address, "port": port, "origin": origin,
                                 "state": "starting"}
        cluster.start()
        master, password = instance["MasterUsername"], self.password(instance)
        if origin == "initdb":
            # RDS lets its master (no superuser) create the extensions it supports; vanilla PostgreSQL does not, so a
            # new cluster has pg_stat_statements in template1 and the master's CREATE EXTENSION IF NOT EXISTS finds it
            with cluster.admin("template1") as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        with cluster.admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (master,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(psycopg.sql.SQL(verb + " ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD {}").format(
                psycopg.sql.Identifier(master), psycopg.sql.Literal(password)))
            # RDS's master user is no superuser; it reads every table through rds_superuser's grants
            conn.execute(psycopg.sql.SQL("GRANT pg_read_all_data, pg_monitor TO {}").format(
                psycopg.sql.Identifier(master)))
            dbname = instance.get("DBName") or "postgres"
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    psycopg.sql.Identifier(dbname), psycopg.sql.Identifier(master)))
        self.info[identifier]["state"] = "ready"
        self.names[endpoint.lower().rstrip(".") + "."] = {"A": [cluster.address]}

    # The parameter group settings PostgreSQL itself understands (RDS's own rds.* settings are not PostgreSQL's).
    PARAMETERS = ("shared_preload_libraries", "pg_stat_statements.track", "pg_stat_statements.max",
                  "log_min_duration_statement", "idle_in_transaction_session_timeout", "statement_timeout")

    def parameters(self, instance: dict[str, Any]) -> dict[str, str]:
        """The instance's parameter group values for the settings in PARAMETERS (the library must exist here)."""
        out: dict[str, str] = {}
        for group in instance.get("DBParameterGroups") or []:
            name = group.get("DBParameterGroupName", "")
            if not name or name.startswith("default."):
                continue
            try:
                pages = self.rds.get_paginator("describe_db_parameters").paginate(DBParameterGroupName=name)
                for page in pages:
                    for param in page.get("Parameters") or []:
                        if param.get("ParameterName") in self.PARAMETERS and param.get("ParameterValue"):
                            out[param["ParameterName"]] = str(param["ParameterValue"])
            except Exception as e:  # noqa: BLE001 - a parameter group moto cannot describe: the cluster's defaults
                print("rds_standin: parameter group %s unreadable: %s" % (name, e), file=sys.stderr, flush=True)
        libraries = [x.strip() for x in out.get("shared_preload_libraries", "").split(",") if x.strip()]
        libdir = pg_bindir().parent / "lib" if pg_bindir() else None  # Debian: /usr/lib/postgresql/<major>/lib
        known = [x for x in libraries if libdir is None or (libdir / (x + ".so")).exists()]
        if libraries:
            out["shared_preload_libraries"] = ",".join(known)
        return out

    def remove(self, identifier: str) -> None:
        cluster = self.clusters.pop(identifier)
        info = self.info.pop(identifier)
        self.names.pop(info["endpoint"].lower().rstrip(".") + ".", None)
        cluster.stop()
        shutil.rmtree(cluster.dir, ignore_errors=True)

    def take_snapshot(self, snapshot: dict[str, Any]) -> None:
        identifier = snapshot["DBSnapshotIdentifier"]
        source = self.clusters.get(snapshot["DBInstanceIdentifier"])
        entry = {"instance": snapshot["DBInstanceIdentifier"], "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime())}
        if source is None:
            entry["copy"] = None
            entry["state"] = "no cluster to copy"
        else:
            target = self.base / "snapshots" / identifier.replace(":", "_") / "data"
            source.base_backup(target)
            entry.update(copy=str(target), state="copied")
        self.snapshots[identifier] = entry

    def poll(self) -> bool:
        """One round; False while an instance waits for a step moto takes on a later read (its endpoint)."""
        instances = [i for page in self.rds.get_paginator("describe_db_instances").paginate()
                     for i in page["DBInstances"] if i.get("Engine") == "postgres"]
        snapshots = [s for page in self.rds.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual")
                     for s in page["DBSnapshots"]]
        # snapshots first: a restore seen in the same round then finds its copy
        for snapshot in snapshots:
            if snapshot["DBSnapshotIdentifier"] not in self.snapshots:
                self.take_snapshot(snapshot)
        for identifier in set(self.snapshots) - {s["DBSnapshotIdentifier"] for s in snapshots}:
            entry = self.snapshots.pop(identifier)
            if entry.get("copy"):
                shutil.rmtree(Path(entry["copy"]).parent, ignore_errors=True)
        live = {i["DBInstanceIdentifier"]: i for i in instances}
        for identifier in set(self.clusters) - set(live):
            self.remove(identifier)
        settled = True
        for identifier, instance in sorted(live.items(), key=lambda kv: bool(self.source_of(kv[1]))):
            if identifier in self.clusters or identifier in self.failed:
                continue
            if not instance.get("Endpoint"):
                settled = False
                continue
            try:
                self.create(instance)
            except Exception as exc:  # said in the state file; the rest of the sandbox keeps going
                self.failed[identifier] = "%s: %s" % (exc.__class__.__name__, getattr(exc, "stderr", b"") or exc)
                if identifier in self.clusters:
                    self.remove(identifier)
        return settled

    def write_state(self) -> None:
        state = {"dns_server": "127.0.0.1:%d" % self.dns_port, "block": self.block + ".0/24", "base": str(self.base),
                 "instances": self.info, "snapshots": self.snapshots, "failed": self.failed,
                 "updated": time.time()}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, default=str))
        tmp.replace(self.state_file)

    def run(self) -> None:
        """Follow moto until stopped: a round when its change count moved (sandbox/changes.py) or an instance waits."""
        waiting = True
        while not self.stopping.is_set():
            if self.watch.due() or waiting:
                try:
                    waiting = not self.poll()
                    self.watch.seen()
                except Exception as exc:  # moto restarting, a transient error: try again next round
                    waiting = True
                    print("rds_standin: poll failed: %s" % exc, file=sys.stderr, flush=True)
            self.write_state()
            self.stopping.wait(self.interval)

    def close(self) -> None:
        for identifier in list(self.clusters):
            self.clusters.pop(identifier).stop()
        shutil.rmtree(self.base, ignore_errors=True)
        for server in self.dns:
            server.shutdown()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--aws-endpoint", required=True)
    p.add_argument("--ca-dir", required=True, type=Path)
    p.add_argument("--state-file", required=True, type=Path)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args(argv)
    if not ipaddress.ip_address(args.aws_endpoint.split("//")[1].split(":")[0]).is_loopback:
        raise SystemExit("rds_standin: the AWS endpoint must be on loopback (the sandbox's moto)")
    missing = missing_programs()
    if missing:
        raise SystemExit("rds_standin: missing PostgreSQL programs %s (tools/install_system_deps.sh)" % missing)
    standin = Standin(args.aws_endpoint, args.ca_dir, args.state_file, args.region, args.interval)
    signal.signal(signal.SIGTERM, lambda *a: standin.stopping.set())
    signal.signal(signal.SIGINT, lambda *a: standin.stopping.set())
    try:
        standin.run()
    finally:
        standin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
