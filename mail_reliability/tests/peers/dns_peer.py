# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A real DNS server on loopback (dnslib), answering from a zone held in memory.

Tests point dnspython at it (``mail_reliability.dns_nameserver`` /
``dns_port``), so the health checks do genuine DNS over UDP, and nothing
leaves the machine.  :class:`BlackHoleDns` is a UDP socket that never
answers: the client times out, exactly like an unreachable resolver.

    peer = DnsPeer().start()
    peer.add("example.test", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    peer.add("smtp.example.test", "A", "127.0.0.1")
    ...
    peer.stop()

``python -m peers.dns_peer --zone FILE --state FILE`` serves a zone from a JSON
file (``[[name, type, value], ...]``) until SIGTERM/SIGINT and writes its port
to the state file (JSON); ``bin/run`` uses it for the demo's health checks.
"""

import socket
import threading
from collections import defaultdict

from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer


def _rdata(rtype, value):
    if rtype == "A":
        return A(value)
    if rtype == "AAAA":
        return AAAA(value)
    if rtype == "MX":
        preference, host = value if isinstance(value, tuple) else (10, value)
        return MX(host, preference)
    if rtype == "TXT":
        # Long TXT values are split in 255-byte strings, as real zones do.
        data = value.encode()
        return TXT([data[i : i + 255] for i in range(0, len(data), 255)] or [b""])
    raise ValueError(f"unsupported record type {rtype}")


class _ZoneResolver(BaseResolver):
    def __init__(self, peer):
        self.peer = peer

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).lower().rstrip(".")
        qtype = QTYPE[request.q.qtype]
        self.peer.queries.append((qname, qtype))
        if qname in self.peer.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        records = self.peer.records.get((qname, qtype), [])
        for value in records:
            reply.add_answer(
                RR(DNSLabel(qname), QTYPE.reverse[qtype], rdata=_rdata(qtype, value), ttl=60)
            )
        if not records and not any(name == qname for name, _t in self.peer.records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class _QuietLogger(DNSLogger):
    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)


class DnsPeer:
    """Authoritative-looking DNS server on 127.0.0.1, UDP, random port."""

    host = "127.0.0.1"

    def __init__(self):
        self.records = defaultdict(list)
        self.servfail = set()
        self.queries = []
        self.port = None
        self._server = None

    def add(self, name, rtype, value):
        self.records[(name.lower().rstrip("."), rtype)].append(value)
        return self

    def reset(self):
        self.records.clear()
        self.servfail.clear()
        self.queries.clear()

    def start(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((self.host, 0))
            self.port = probe.getsockname()[1]
        self._server = DNSServer(
            _ZoneResolver(self), address=self.host, port=self.port, logger=_QuietLogger()
        )
        self._server.start_thread()
        return self

    def stop(self):
        if self._server:
            self._server.stop()
            self._server.server.server_close()
            self._server = None


class BlackHoleDns:
    """A UDP port that receives DNS queries and never answers them."""

    host = "127.0.0.1"

    def __init__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self.host, 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()

    def stop(self):
        self._sock.close()


def main(argv=None):
    """``python -m peers.dns_peer --zone FILE --state FILE``: serve the zone of FILE
    (a JSON list of ``[name, type, value]``) until SIGTERM/SIGINT; the state FILE
    gets the port (JSON). Used by ``bin/run`` for the demo's Email Health checks."""
    import argparse
    import contextlib
    import json
    import os
    import signal
    import time

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--zone", required=True, help="JSON file: [[name, type, value], ...]")
    parser.add_argument("--state", required=True, help="JSON file to write the port to")
    options = parser.parse_args(argv)
    with open(options.zone) as handle:
        zone = json.load(handle)
    peer = DnsPeer()
    for name, rtype, value in zone:
        peer.add(name, rtype, tuple(value) if isinstance(value, list) else value)
    stopping = []
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.append(True))
    signal.signal(signal.SIGINT, lambda _signum, _frame: stopping.append(True))
    peer.start()
    try:
        with open(options.state, "w") as handle:
            json.dump({"host": peer.host, "port": peer.port}, handle)
        while not stopping:
            time.sleep(0.5)
    finally:
        peer.stop()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(options.state)


if __name__ == "__main__":
    main()
