"""The sandbox's data plane beside the edge: real PgBouncer and real Redis following what the launch built in moto,
and the names the VPC's resolver would answer for them.

Why: moto keeps a replication group and a Fargate service as records only, so "the app reaches its database through
the pooler and its cache with TLS and AUTH" could not be checked against moto alone. sandbox/edge.py polls this
every second:

- PgBouncer: the pgbouncer service's task definition in moto (the container whose environment has PGBOUNCER_INI)
  is run as its container would run it: its command (the role's start script) with PGBOUNCER_INI,
  PGBOUNCER_SERVER_CA and PGBOUNCER_TLS_NAME from the environment and PGBOUNCER_USERLIST read from the Secrets
  Manager secret the task definition names. What must differ on loopback (docs/standin-edge.md): ``listen_addr``
  becomes the pooler's loopback address, the config directory is a private one, PgBouncer runs as ``postgres``
  (it refuses root) in a mount namespace whose /etc/hosts maps the RDS endpoint names to the RDS stand-in's
  addresses (sandbox/rds_standin.py's state file), so ``server_tls_sslmode = verify-full`` checks the real
  endpoint name;
- Redis: each replication group gets a redis-server on its own loopback address at the group's port, with TLS
  (a sandbox-CA certificate for every endpoint name of the group) when transit encryption is on, and
  ``requirepass`` set to the AUTH token in the group's secret (``<name>/redis/auth-token``, roles/elasticache);
- names: the pooler's Cloud Map name(s), every endpoint name of the replication groups and the RDS endpoints, in
  the dict the edge's VPC DNS server answers from.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

REDIS = "/usr/bin/redis-server"
PGBOUNCER = "/usr/sbin/pgbouncer"
RUN_USER = "postgres"
POOLER_HOST = 41
REDIS_HOSTS = range(51, 61)


def bindable(address: str, port: int) -> bool:
    """Whether a TCP listener could bind address:port now."""
    with socket.socket() as sock:
        try:
            sock.bind((address, port))
            return True
        except OSError:
            return False


def answers(address: str, port: int) -> bool:
    """Whether something accepts TCP connections at address:port."""
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def own(path: Path) -> None:
    """Give a directory tree to the run user (PgBouncer refuses to run as root)."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(RUN_USER)
    for root, _dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class Child:
    """A daemon run as a child in its own session, stopped with its process group."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None):
        out = open(log, "ab")
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env=env)
        out.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class DataPlane:
    """PgBouncer and Redis following moto; names for the VPC resolver."""

    def __init__(self, workdir: Path, endpoint: str, region: str, ca_dir: Path, prefix: str,
                 names: dict[str, dict[str, list[str]]]):
        kw = dict(region_name=region, endpoint_url=endpoint, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        self.elasticache = boto3.client("elasticache", **kw)
        self.secrets = boto3.client("secretsmanager", **kw)
        self.ecs = boto3.client("ecs", **kw)
        self.discovery = boto3.client("servicediscovery", **kw)
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_dir = ca_dir
        self.prefix = prefix
        self.names = names
        self.redis: dict[str, dict[str, Any]] = {}
        self.redis_children: dict[str, Child] = {}
        self.pooler: dict[str, Any] = {}
        self.pooler_child: Child | None = None
        self.pooler_key = ""
        # PgBouncer runs as postgres: its files live in a private directory that user can reach
        self.private = Path(tempfile.mkdtemp(prefix="edge-pgbouncer-"))
        self.private.chmod(0o755)
        self.hosts = self.private / "hosts"
        self.hosts.write_text("127.0.0.1 localhost\n")
        self.hosts.chmod(0o644)
        self.unread: set[str] = set()
        self.errors: list[str] = []

    # ------------------------------------------------------------------ redis

    def token(self, group_id: str) -> str | None:
        """The replication group's AUTH token: the secret roles/elasticache names ``<name>/redis/auth-token`` for a
        group ``<name>-redis``, else the only secret whose name ends so."""
        candidates = []
        if group_id.endswith("-redis"):
            candidates.append("%s/redis/auth-token" % group_id[:-len("-redis")])
        listed = [s["Name"] for page in self.secrets.get_paginator("list_secrets").paginate()
                  for s in page["SecretList"] if s["Name"].endswith("/redis/auth-token")]
        candidates += [n for n in listed if n not in candidates] if len(listed) == 1 else []
        for name in candidates:
            try:
                value = self.secrets.get_secret_value(SecretId=name)["SecretString"]
            except Exception:
                continue
            try:
                parsed = json.loads(value)
            except ValueError:
                return value
            if isinstance(parsed, dict) and len(parsed) == 1:
                return str(next(iter(parsed.values())))
            return value
        self.unread.add("AUTH token of %s (no secret %s)" % (group_id, " or ".join(candidates) or
                                                             "named */redis/auth-token"))
        return None

    def redis_groups(self) -> list[dict[str, Any]]:
        groups = []
        for page in self.elasticache.get_paginator("describe_replication_groups").paginate():
            for rg in page["ReplicationGroups"]:
                names: list[str] = []
                port = 6379
                for node_group in rg.get("NodeGroups") or []:
                    for key in ("PrimaryEndpoint", "ReaderEndpoint"):
                        if node_group.get(key):
                            names.append(node_group[key]["Address"])
                            port = int(node_group[key].get("Port") or port)
                    for member in node_group.get("NodeGroupMembers") or []:
                        if member.get("ReadEndpoint"):
                            names.append(member["ReadEndpoint"]["Address"])
                if rg.get("ConfigurationEndpoint"):
                    names.append(rg["ConfigurationEndpoint"]["Address"])
                    port = int(rg["ConfigurationEndpoint"].get("Port") or port)
                if not names:
                    continue
                groups.append({"id": rg["ReplicationGroupId"], "names": sorted({n.lower() for n in names}),
                               "port": port, "tls": bool(rg.get("TransitEncryptionEnabled")),
                               "auth": bool(rg.get("AuthTokenEnabled"))})
        return groups

    def redis_address(self, group_id: str, port: int) -> str:
        if group_id in self.redis:
            return self.redis[group_id]["address"]
        used = {r["address"] for r in self.redis.values()}
        for host in REDIS_HOSTS:
            address = "%s.%d" % (self.prefix, host)
            if address not in used and bindable(address, port):
                return address
        raise RuntimeError("no address left for replication group %s" % group_id)

    def start_redis(self, group: dict[str, Any], token: str | None) -> None:
        from sandbox.edge import Issuer

        gid = group["id"]
        base = self.dir / "redis" / gid
        base.mkdir(parents=True, exist_ok=True)
        address = self.redis_address(gid, group["port"])
        lines = ["bind %s" % address, "daemonize no", "dir %s" % base, 'save ""', "appendonly no",
                 "protected-mode no", "logfile %s" % (base / "redis.log"), "databases 16"]
        if group["tls"]:
            cert, key = Issuer(self.ca_dir, base).pair(group["names"])
            lines += ["port 0", "tls-port %d" % group["port"], "tls-cert-file %s" % cert, "tls-key-file %s" % key,
                      "tls-ca-cert-file %s" % (self.ca_dir / "ca.pem"), "tls-auth-clients no",
                      "tls-protocols \"TLSv1.2 TLSv1.3\""]
        else:
            lines += ["port %d" % group["port"]]
        if token:
            lines += ["requirepass %s" % token]
        conf = base / "redis.conf"
        conf.touch(mode=0o600)
        conf.write_text("\n".join(lines) + "\n")
        self.redis_children[gid] = Child([REDIS, str(conf)], base / "redis.out")
        self.redis[gid] = {"replication_group": gid, "address": address, "port": group["port"],
                           "names": group["names"], "tls": group["tls"], "auth": bool(token),
                           "key": digest(json.dumps(group, sort_keys=True), token or ""), "state": "starting"}

    def redis_ready(self, entry: dict[str, Any]) -> bool:
        """A TLS handshake (against the sandbox CA) or a TCP connection at the server's address."""
        if not entry["tls"]:
            return answers(entry["address"], entry["port"])
        context = ssl.create_default_context(cafile=str(self.ca_dir / "ca.pem"))
        try:
            with socket.create_connection((entry["address"], entry["port"]), timeout=0.5) as raw:
                with context.wrap_socket(raw, server_hostname=entry["names"][0]):
                    return True
        except OSError:
            return False

    def poll_redis(self) -> None:
        live = {g["id"]: g for g in self.redis_groups()}
        for gid in set(self.redis) - set(live):
            self.redis_children.pop(gid).stop()
            self.redis.pop(gid)
        for gid, group in live.items():
            token = self.token(gid) if group["auth"] else None
            if group["auth"] and token is None:
                continue  # AUTH without its token: nothing the app could log in to
            key = digest(json.dumps(group, sort_keys=True), token or "")
            entry = self.redis.get(gid)
            if entry and (entry["key"] != key or not self.redis_children[gid].alive()):
                self.redis_children.pop(gid).stop()
                self.redis.pop(gid)
                entry = None
            if entry is None:
                self.start_redis(group, token)
                entry = self.redis[gid]
            if entry["state"] != "ready" and self.redis_ready(entry):
                entry["state"] = "ready"

    # ------------------------------------------------------------------ pgbouncer

    def secret_value(self, value_from: str) -> str:
        """An ECS secret's valueFrom: ``<secret arn>[:json-key:version-stage:version-id]``."""
        parts = value_from.split(":")
        arn, rest = ":".join(parts[:7]), parts[7:] + ["", "", ""]
        kwargs: dict[str, str] = {"SecretId": arn}
        if rest[2]:
            kwargs["VersionId"] = rest[2]
        elif rest[1]:
            kwargs["VersionStage"] = rest[1]
        text = self.secrets.get_secret_value(**kwargs)["SecretString"]
        return str(json.loads(text)[rest[0]]) if rest[0] else text

    def pooler_definition(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The latest active task definition with a PGBOUNCER_INI container, and that container."""
        families = [f for page in self.ecs.get_paginator("list_task_definition_families").paginate(status="ACTIVE")
                    for f in page["families"]]
        for family in sorted(families):
            try:
                definition = self.ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
            except Exception:
                continue
            for container in definition.get("containerDefinitions") or []:
                env = {e["name"]: e["value"] for e in container.get("environment") or []}
                if env.get("PGBOUNCER_INI"):
                    return definition, container
        return None

    def cloud_map_names(self, family: str) -> list[str]:
        """The Cloud Map names of the ECS services that run ``family`` (the pooler's rds_pgbouncer_host)."""
        names = []
        for cluster in self.ecs.list_clusters().get("clusterArns", []):
            arns = self.ecs.list_services(cluster=cluster).get("serviceArns", [])
            for i in range(0, len(arns), 10):
                for service in self.ecs.describe_services(cluster=cluster, services=arns[i:i + 10])["services"]:
                    if service.get("taskDefinition", "").split("/")[-1].split(":")[0] != family:
                        continue
                    for registry in service.get("serviceRegistries") or []:
                        try:
                            sd = self.discovery.get_service(Id=registry["registryArn"].split("/")[-1])["Service"]
                            ns = self.discovery.get_namespace(Id=sd["NamespaceId"])["Namespace"]
                            names.append("%s.%s" % (sd["Name"], ns["Name"]))
                        except Exception as exc:
                            self.unread.add("Cloud Map service %s (%s)" % (registry.get("registryArn"),
                                                                           exc.__class__.__name__))
        return names

    def rendered_ini(self, ini: str, config_dir: str, address: str) -> tuple[str, list[str]]:
        """The launch's pgbouncer.ini with what must differ on loopback changed - and each change said."""
        changes, out = [], []
        for line in ini.splitlines():
            key = line.split("=", 1)[0].strip()
            if key == "listen_addr":
                new = "listen_addr = %s" % address
                changes.append("%s -> %s (the pooler's loopback address)" % (line.strip(), new))
                line = new
            elif config_dir and (config_dir + "/") in line:
                new = line.replace(config_dir + "/", str(self.private / "config") + "/")
                changes.append("%s -> %s (a private directory for the task-local volume)" % (line.strip(),
                                                                                             new.strip()))
                line = new
            out.append(line)
        return "\n".join(out), changes

    def write_hosts(self, rds_state: dict[str, Any]) -> dict[str, str]:
        """/etc/hosts of PgBouncer's mount namespace: the RDS endpoints at the RDS stand-in's addresses. Rewritten in
        place (a bind mount follows the inode, not the name)."""
        endpoints = {i["endpoint"].lower(): i["address"] for i in (rds_state.get("instances") or {}).values()
                     if i.get("state") == "ready" and i.get("endpoint") and i.get("address")}
        text = "127.0.0.1 localhost\n" + "".join("%s %s\n" % (a, n) for n, a in sorted(endpoints.items()))
        if self.hosts.read_text() != text:
            with open(self.hosts, "r+") as handle:
                handle.truncate(0)
                handle.write(text)
        return endpoints

    def poll_pooler(self, rds_state: dict[str, Any]) -> None:
        self.write_hosts(rds_state)
        found = self.pooler_definition()
        if found is None:
            self.stop_pooler()
            return
        definition, container = found
        env = {e["name"]: e["value"] for e in container.get("environment") or []}
        values = {}
        for secret in container.get("secrets") or []:
            try:
                values[secret["name"]] = self.secret_value(secret["valueFrom"])
            except Exception as exc:
                self.unread.add("secret %s of %s (%s)" % (secret["name"], definition["family"],
                                                          exc.__class__.__name__))
        if "PGBOUNCER_USERLIST" not in values:
            self.unread.add("PGBOUNCER_USERLIST of %s: the pooler is not started" % definition["family"])
            self.stop_pooler()
            return
        address = "%s.%d" % (self.prefix, POOLER_HOST)
        ini, changes = self.rendered_ini(env["PGBOUNCER_INI"], env.get("PGBOUNCER_CONFIG_DIR", "/run/pgbouncer"),
                                         address)
        port = next((int(line.split("=", 1)[1]) for line in ini.splitlines()
                     if line.split("=", 1)[0].strip() == "listen_port"), 6432)
        command = (container.get("entryPoint") or []) + (container.get("command") or [])
        key = digest(ini, values["PGBOUNCER_USERLIST"], env.get("PGBOUNCER_SERVER_CA", ""), json.dumps(command))
        names = sorted({n.lower() for n in [env.get("PGBOUNCER_TLS_NAME", "")] + self.cloud_map_names(
            definition["family"]) if n})
        if key != self.pooler_key or self.pooler_child is None or not self.pooler_child.alive():
            self.stop_pooler()
            self.start_pooler(ini, env, values, command, changes, address, port, names, definition)
            self.pooler_key = key
        self.pooler["names"] = names
        if self.pooler.get("state") != "listening" and answers(address, port):
            self.pooler["state"] = "listening"

    def start_pooler(self, ini: str, env: dict[str, str], values: dict[str, str], command: list[str],
                     changes: list[str], address: str, port: int, names: list[str],
                     definition: dict[str, Any]) -> None:
        config = self.private / "config"
        shutil.rmtree(config, ignore_errors=True)
        config.mkdir(mode=0o700)
        own(config)
        run_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.private),
                   **{k: v for k, v in env.items() if k.startswith("PGBOUNCER_")}, **values,
                   "PGBOUNCER_INI": ini, "PGBOUNCER_CONFIG_DIR": str(config), "PGBOUNCER_BIN": PGBOUNCER}
        if not command:
            command = [PGBOUNCER, str(config / "pgbouncer.ini")]
        argv = command
        if os.geteuid() == 0:
            # PgBouncer refuses root; its own /etc/hosts names the RDS endpoints (only inside its mount namespace)
            argv = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    'mount --bind "$0" /etc/hosts && exec setpriv --reuid=%s --regid=%s --init-groups -- "$@"'
                    % (RUN_USER, RUN_USER), str(self.hosts), *command]
        changes = changes + ["runs as %s in a mount namespace whose /etc/hosts maps the RDS endpoints to the RDS "
                             "stand-in" % RUN_USER] if os.geteuid() == 0 else changes
        self.pooler_child = Child(argv, self.dir / "pgbouncer.out", env=run_env)
        self.pooler = {"address": address, "port": port, "names": names, "task_definition":
                       definition["taskDefinitionArn"], "ini_changes": changes,
                       "ini": str(config / "pgbouncer.ini"), "log": str(self.dir / "pgbouncer.out"),
                       "state": "starting", "started": time.time()}

    def stop_pooler(self) -> None:
        if self.pooler_child is not None:
            # SIGINT: PgBouncer's safe shutdown (the start script turns TERM into INT too)
            self.pooler_child.stop(signal.SIGTERM)
            self.pooler_child = None
        self.pooler, self.pooler_key = {}, ""

    # ------------------------------------------------------------------ names and life cycle

    def poll(self, rds_state_file: Path | None) -> bool:
        """One round; False when a part of it failed or a server is still starting (the caller polls again next
        round)."""
        self.unread = set()
        ok = True
        rds_state: dict[str, Any] = {}
        if rds_state_file is not None:
            try:
                rds_state = json.loads(rds_state_file.read_text())
            except (OSError, ValueError):
                rds_state = {}
        for part in (self.poll_redis, lambda: self.poll_pooler(rds_state)):
            try:
                part()
            except Exception as exc:  # one part failing leaves the other running
                ok = False
                self.errors = (self.errors + ["%s: %s" % (exc.__class__.__name__, exc)])[-10:]
        names: dict[str, dict[str, list[str]]] = {}
        for entry in self.redis.values():
            for name in entry["names"]:
                names[name.rstrip(".") + "."] = {"A": [entry["address"]]}
        if self.pooler.get("address"):
            for name in self.pooler.get("names", []):
                names[name.rstrip(".") + "."] = {"A": [self.pooler["address"]]}
        for instance in (rds_state.get("instances") or {}).values():
            if instance.get("state") == "ready":
                names.setdefault(instance["endpoint"].lower().rstrip(".") + ".", {"A": [instance["address"]]})
        if names != self.names:
            self.names.clear()
            self.names.update(names)
        # a Redis or PgBouncer still starting is a step no moto change announces: not settled until it answers
        starting = [e for e in self.redis.values() if e["state"] != "ready"]
        starting += [self.pooler] if self.pooler and self.pooler.get("state") != "listening" else []
        return ok and not starting

    def state(self) -> dict[str, Any]:
        redis = sorted(self.redis.values(), key=lambda r: r["replication_group"])
        first = {k: v for k, v in redis[0].items() if k != "key"} if redis else {}
        return {
            "pooler": dict(self.pooler),
            "redis": dict(first, groups=[{k: v for k, v in r.items() if k != "key"} for r in redis]) if first else {},
            "unread": sorted(self.unread), "errors": list(self.errors),
            "children": {"redis": sorted(c.proc.pid for c in self.redis_children.values()),
                         "pooler": self.pooler_child.proc.pid if self.pooler_child else None},
        }

    def close(self) -> None:
        self.stop_pooler()
        for child in self.redis_children.values():
            child.stop()
        self.redis_children.clear()
        shutil.rmtree(self.private, ignore_errors=True)
