"""A loopback pooler lab of real daemons: PostgreSQL with TLS and SCRAM, and PgBouncer run by the pooler's own
start script (roles/rds_pgbouncer/files/pgbouncer-start.sh) with the configuration the role renders.

Why real daemons: what the pooler promises - SCRAM passed through to the server, TLS verified toward the
database, transaction pooling, prepared statements that do or do not survive a change of server connection - is
behaviour of PgBouncer and PostgreSQL themselves, which no stand-in would reproduce honestly.

Both refuse to run as root, so when the tests run as root (CI) the daemons run as the `postgres` user that the
Debian package creates, in a private directory it owns. Everything listens on 127.0.0.1 at free ports.

Usage::

    with PgLab(base) as pg:                       # initdb, TLS (a lab CA), scram-sha-256, hostssl only
        pg.run_sql_file(sql, env, user="rdsmaster")
        with Bouncer(base / "b1", ini, userlist, pg.ca_pem, port) as bouncer:
            ...
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# the PostgreSQL plumbing the sandbox's RDS stand-in has too: one copy, there
from sandbox.rds_standin import own, pg_bindir, run_as

ROOT = Path(__file__).resolve().parents[2]
START_SCRIPT = ROOT / "roles" / "rds_pgbouncer" / "files" / "pgbouncer-start.sh"
APP_ROLE_SQL = ROOT / "roles" / "rds_pgbouncer" / "files" / "app_role.sql"


class PgLabError(RuntimeError):
    pass


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer") if os.access(p, os.X_OK)), None)


def missing_programs() -> list[str]:
    missing = []
    bindir = pg_bindir()
    for prog in ("initdb", "pg_ctl", "postgres", "psql", "pg_isready"):
        if bindir is None or not (bindir / prog).exists():
            missing.append(prog)
    if find_pgbouncer() is None:
        missing.append("pgbouncer")
    if shutil.which("openssl") is None:
        missing.append("openssl")
    return missing


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise PgLabError("exited with %s before listening on %d:\n%s"
                             % (proc.returncode, port, log.read_text() if log and log.exists() else ""))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise PgLabError("nothing listening on 127.0.0.1:%d after %.0f s" % (port, timeout))


def make_base() -> Path:
    """A private directory the run user can reach (pytest's tmp_path is root's 0700 tree)."""
    base = Path(tempfile.mkdtemp(prefix="pglab-"))
    base.chmod(0o755)
    own(base)
    return base


class LabCA:
    """A throw-away certificate authority (EC P-256), and leaf certificates it signs."""

    def __init__(self, name: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, names: list[str]) -> tuple[str, str]:
        """(certificate PEM, key PEM) for a server answering on these DNS names / IP addresses."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.key, hashes.SHA256()))
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


class PgLab:
    """A private PostgreSQL: TLS on with a lab CA, password_encryption scram-sha-256, TCP only over hostssl +
    scram-sha-256; the lab's own superuser reaches it over a Unix socket in the private directory."""

    def __init__(self, base: Path, max_connections: int = 60):
        self.base = base
        self.port = free_port()
        self.max_connections = max_connections
        self.bindir = pg_bindir()
        self.data = base / "data"
        self.socket_dir = base / "socket"
        self.log = base / "postgres.log"
        self.ca = LabCA("pglab test CA")
        self.started = False

    @property
    def ca_pem(self) -> str:
        return self.ca.pem

    def __enter__(self) -> "PgLab":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _prog(self, name: str) -> str:
        if self.bindir is None:
            raise PgLabError("PostgreSQL server programs not found: run tools/install_system_deps.sh (as root)")
        return str(self.bindir / name)

    def start(self) -> None:
        self.socket_dir.mkdir()
        cert, key = self.ca.issue(["localhost", "127.0.0.1"])
        (self.base / "server.crt").write_text(cert)
        (self.base / "server.key").write_text(key)
        (self.base / "server.key").chmod(0o600)
        own(self.base)
        subprocess.run([self._prog("initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                        "--auth-host=reject", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, **run_as())
        (self.data / "postgresql.auto.conf").write_text("\n".join([
            # a second address the certificate does not name, for the verify-full test
            "listen_addresses = '127.0.0.1,127.0.0.2'",
            "port = %d" % self.port,
            "unix_socket_directories = '%s'" % self.socket_dir,
            "max_connections = %d" % self.max_connections,
            "superuser_reserved_connections = 3",
            "ssl = on",
            "ssl_cert_file = '%s'" % (self.base / "server.crt"),
            "ssl_key_file = '%s'" % (self.base / "server.key"),
            "ssl_min_protocol_version = 'TLSv1.2'",
            "password_encryption = 'scram-sha-256'",
            "fsync = off",
            "synchronous_commit = off",
            "shared_buffers = '32MB'",
            "log_connections = on",
            # as RDS with the launch's parameter group: pg_stat_statements preloaded
            "shared_preload_libraries = 'pg_stat_statements'",
            "",
        ]))
        # the only TCP door is TLS + SCRAM; the lab's superuser administers over the private socket
        (self.data / "pg_hba.conf").write_text(
            "local all postgres trust\n"
            "local all rdsmaster trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all 127.0.0.2/32 scram-sha-256\n")
        own(self.data)
        subprocess.run([self._prog("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start"],
                       check=True, capture_output=True, **run_as())
        self.started = True
        # RDS lets its master (no superuser) CREATE EXTENSION pg_stat_statements; vanilla PostgreSQL does not, so the
        # lab has it in template1 already and the master's CREATE EXTENSION IF NOT EXISTS finds it
        subprocess.run([self._prog("psql"), "-X", "-q", "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                        "-d", "template1", "-c", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"],
                       check=True, capture_output=True, **run_as())

    def stop(self) -> None:
        if self.started:
            subprocess.run([self._prog("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                           capture_output=True, check=False, **run_as())
            self.started = False

    def version(self) -> str:
        return subprocess.run([self._prog("postgres"), "--version"], check=True, capture_output=True,
                              text=True).stdout.strip()

    def admin_conninfo(self, user: str = "postgres", dbname: str = "postgres") -> str:
        return "host=%s port=%d user=%s dbname=%s" % (self.socket_dir, self.port, user, dbname)

    def psql_file(self, sql_file: Path, env: dict[str, str], user: str = "postgres") -> subprocess.CompletedProcess:
        """Run a psql script as the one-off ECS task would (variables from the environment)."""
        run_env = dict(os.environ, PGHOST=str(self.socket_dir), PGPORT=str(self.port), PGUSER=user,
                       PGDATABASE="postgres", **env)
        return subprocess.run([self._prog("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(sql_file)],
                              env=run_env, capture_output=True, text=True, check=False, **run_as())


class Bouncer:
    """PgBouncer started the way the Fargate task starts it: the start script with the rendered configuration in
    its environment; stopped with SIGTERM, which the script turns into PgBouncer's safe shutdown."""

    def __init__(self, config_dir: Path, ini: str, userlist: str, server_ca_pem: str, port: int):
        self.config_dir = config_dir
        self.port = port
        self.log = config_dir.parent / ("%s.log" % config_dir.name)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin",
            "PGBOUNCER_INI": ini,
            "PGBOUNCER_USERLIST": userlist,
            "PGBOUNCER_SERVER_CA": server_ca_pem,
            "PGBOUNCER_CONFIG_DIR": str(config_dir),
            "PGBOUNCER_TLS_NAME": "pgbouncer.lab",
            "PGBOUNCER_BIN": find_pgbouncer() or "pgbouncer",
        }
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    def __enter__(self) -> "Bouncer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(["/bin/sh", str(START_SCRIPT)], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True, **run_as())
        try:
            wait_for_port(self.port, self.proc, 15, self.log)
        except BaseException:
            self.stop()
            raise

    def terminate(self) -> None:
        """What ECS does to stop a task: SIGTERM to the container's main process (the script)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 10) -> int | None:
        if self.proc is None:
            return self.returncode
        self.terminate()
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.returncode = self.proc.wait(5)
        self.proc = None
        return self.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
