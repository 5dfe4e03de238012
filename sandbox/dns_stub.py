"""A tiny authoritative DNS answerer on loopback for the sandbox's "rest of the internet".

The only names it knows are those the seeded Hostinger zone points at outside itself (the apex ALIAS
target), so the route53_zone role can flatten an ALIAS in the sandbox exactly as it does in production
by asking a resolver. It answers UDP and TCP, AA set, NXDOMAIN for unknown names, REFUSED for opcodes
other than QUERY. It is a stand-in for resolution, not the DNS world of the propagation checks.
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import struct
import sys
import threading
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from sandbox.hostinger_sim import SEED


def build_answer(wire: bytes, names: dict[str, dict[str, list[str]]], ttl: int = 60) -> bytes:
    """Answer one query from ``names`` ({fqdn: {type: [values]}})."""
    query = dns.message.from_wire(wire)
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
        response.set_rcode(dns.rcode.REFUSED)
        return response.to_wire()
    question = query.question[0]
    qname = question.name.to_text().lower()
    entry = names.get(qname)
    if entry is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
    else:
        values = entry.get(dns.rdatatype.to_text(question.rdtype), [])
        if values:
            response.answer.append(dns.rrset.from_text_list(question.name, ttl, dns.rdataclass.IN,
                                                            question.rdtype, values))
    return response.to_wire()


def load_names(domain: str, seed_file: Path = SEED) -> dict[str, dict[str, list[str]]]:
    seed = json.loads(seed_file.read_text().replace("{domain}", domain))
    return {k.lower() if k.endswith(".") else k.lower() + ".": v for k, v in seed.get("alias_targets", {}).items()}


def serve(names: dict[str, dict[str, list[str]]], host: str = "127.0.0.1", port: int = 0) -> tuple[Any, Any]:
    """Start UDP and TCP servers on the same port; returns both (already serving in threads)."""

    class UDP(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            try:
                sock.sendto(build_answer(data, names), self.client_address)
            except Exception:  # malformed query: drop it, as real servers do
                pass

    class TCP(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            try:
                (length,) = struct.unpack("!H", self.request.recv(2))
                data = b""
                while len(data) < length:
                    chunk = self.request.recv(length - len(data))
                    if not chunk:
                        return
                    data += chunk
                answer = build_answer(data, names)
                self.request.sendall(struct.pack("!H", len(answer)) + answer)
            except Exception:
                pass

    udp = socketserver.ThreadingUDPServer((host, port), UDP)
    bound = udp.server_address[1]
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    tcp = socketserver.ThreadingTCPServer((host, bound), TCP)
    for srv in (udp, tcp):
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    return udp, tcp


def free_udp_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP (asked of the kernel, not assumed)."""
    for attempt in range(50):  # noqa: B007 - a bounded number of tries
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind((host, port))
                    return port
            except OSError:
                continue
    raise RuntimeError("no port free for both UDP and TCP on " + host)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--domain", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    args = p.parse_args(argv)
    port = args.port or free_udp_tcp_port(args.host)
    udp, dummy = serve(load_names(args.domain.lower()), args.host, port)
    if args.port_file:
        Path(args.port_file).write_text(str(udp.server_address[1]))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
