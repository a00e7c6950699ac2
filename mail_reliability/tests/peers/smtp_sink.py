# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A real SMTP peer on loopback that records deliveries and injects faults.

Used by the tests (in-process, :class:`SmtpSink`) and by ``bin/run``
(``python -m peers.smtp_sink --port 2525 --spool DIR``).  It speaks real SMTP
(aiosmtpd), so Odoo's ``smtplib`` client sees genuine replies, refusals and
dropped connections.

Faults are chosen by the *local part* of the recipient (or of the sender),
so a test or a demo only has to pick an address.  A number right after the
keyword sets how many attempts fail before the address is accepted
(``throttled3@x`` fails three times, then accepts):

================  =======  ===============================================
local part        stage    reply
================  =======  ===============================================
``unknown*``      RCPT     ``550 5.1.1`` unknown user (Postfix wording)
``toobig*``       DATA     ``552 5.3.4`` message too big
``full*``         RCPT     ``452 4.2.2`` mailbox full
``throttled*``    RCPT     ``421 4.7.0`` throttling, first N (default 2)
``greylisted*``   RCPT     ``451 4.7.1`` greylisting, first N (default 1)
``dropdata*``     DATA     connection dropped mid-DATA, first N (default: always)
sender
``unverified*``   DATA     ``550 5.7.1`` "does not match a verified Sender Identity"
================  =======  ===============================================

Anything else is accepted.  :meth:`SmtpSink.refuse_connections` closes the
listening socket so that clients get "connection refused";
:meth:`SmtpSink.accept_connections` opens it again on the same port.
Extra rules can be added at run time with :meth:`SmtpSink.add_rule`.
"""

import argparse
import email
import email.policy
import json
import logging
import os
import re
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

_logger = logging.getLogger(__name__)
# aiosmtpd logs every SMTP command at INFO on "mail.log": keep test and run logs readable.
logging.getLogger("mail.log").setLevel(logging.WARNING)

DROP = "drop"  # pseudo-reply: abort the TCP connection without answering

USER_UNKNOWN = (
    "550 5.1.1 <{addr}>: Recipient address rejected: User unknown in virtual mailbox table"
)
TOO_BIG = "552 5.3.4 Error: message file too big"
MAILBOX_FULL = "452 4.2.2 <{addr}>: Mailbox full, quota exceeded"
THROTTLED = "421 4.7.0 Too many messages from your IP, try again later"
GREYLISTED = "451 4.7.1 <{addr}>: Recipient address rejected: Greylisted, please try again later"
SENDER_IDENTITY = (
    "550 5.7.1 The from address does not match a verified Sender Identity. "
    "Mail cannot be sent until this error is resolved."
)


@dataclass
class Rule:
    """One fault: when ``pattern`` matches the address at ``stage``, answer ``reply``.

    ``on`` is ``"rcpt"`` (match each recipient) or ``"sender"``; ``stage`` is
    the SMTP command that gets the reply (``"mail"``, ``"rcpt"`` or ``"data"``).
    ``times`` limits the fault to the first N attempts per address (``None``:
    always); a number right after the keyword in the address overrides it.
    """

    pattern: str
    stage: str
    reply: str
    on: str = "rcpt"
    times: int | None = None

    def match(self, address):
        """Return ``(matched, times)`` for ``address``."""
        local = address.rsplit("@", 1)[0].lower()
        found = re.match(self.pattern, local)
        if not found:
            return False, None
        count = re.match(r"\d+", local[found.end() :])
        return True, int(count.group()) if count else self.times


DEFAULT_RULES = (
    Rule(r"unknown", "rcpt", USER_UNKNOWN),
    Rule(r"toobig", "data", TOO_BIG),
    Rule(r"full", "rcpt", MAILBOX_FULL),
    Rule(r"throttled", "rcpt", THROTTLED, times=2),
    Rule(r"greylisted", "rcpt", GREYLISTED, times=1),
    Rule(r"dropdata", "data", DROP),
    Rule(r"unverified", "data", SENDER_IDENTITY, on="sender"),
)


@dataclass
class Delivery:
    """A message the sink accepted (answered 250 to DATA)."""

    mail_from: str
    rcpt_tos: list
    data: bytes
    received_at: float = field(default_factory=time.time)
    # The id in the sink's reply ("queued as <queue_id>"), like Postfix's.
    queue_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10].upper())

    @property
    def message(self):
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def message_id(self):
        return (self.message["Message-Id"] or "").strip()

    @property
    def subject(self):
        return str(self.message["Subject"] or "")


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.sink._fault("mail", address, None)
        if reply:
            return self.sink._answer(server, reply)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.sink._fault("rcpt", envelope.mail_from, address)
        if reply:
            return self.sink._answer(server, reply)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            reply = self.sink._fault("data", envelope.mail_from, rcpt)
            if reply:
                return self.sink._answer(server, reply)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        delivery = Delivery(envelope.mail_from, list(envelope.rcpt_tos), data)
        self.sink._record(delivery)
        return f"250 2.0.0 Ok: queued as {delivery.queue_id}"


class SmtpSink:
    """Fault-injecting SMTP server on loopback, usable as a context manager.

    >>> with SmtpSink() as sink:
    ...     # point an ir.mail_server at sink.host / sink.port, send, then:
    ...     sink.deliveries_to("someone@example.com")

    ``handler_class`` is the aiosmtpd handler; a subclass may replace it (the
    reliability harness slows replies down and watches DATA with it).
    """

    handler_class = _Handler

    def __init__(self, host="127.0.0.1", port=0, spool_dir=None, rules=DEFAULT_RULES):
        self.host = host
        self.port = port or self._free_port(host)
        self.spool_dir = spool_dir
        self.rules = list(rules)
        self.deliveries = []
        self.attempts = []  # (stage, sender, recipient, reply) for every fault answered
        self._counts = {}
        self._lock = threading.Lock()
        self._controller = None

    # -- lifecycle --------------------------------------------------------
    @staticmethod
    def _free_port(host):
        with socket.socket() as sock:
            sock.bind((host, 0))
            return sock.getsockname()[1]

    def start(self):
        if self._controller is None:
            self._controller = Controller(
                self.handler_class(self),
                hostname=self.host,
                port=self.port,
                enable_SMTPUTF8=True,
                ready_timeout=10,
            )
            self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse_connections(self):
        """Close the listening socket: clients get ECONNREFUSED."""
        self.stop()

    def accept_connections(self):
        self.start()

    @property
    def running(self):
        return self._controller is not None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- configuration ----------------------------------------------------
    def add_rule(self, pattern, stage, reply, on="rcpt", times=None):
        """Add a fault in front of the defaults (it wins over them)."""
        self.rules.insert(0, Rule(pattern, stage, reply, on=on, times=times))

    def reset(self):
        with self._lock:
            self.deliveries.clear()
            self.attempts.clear()
            self._counts.clear()

    # -- inspection -------------------------------------------------------
    def deliveries_to(self, address):
        address = address.lower()
        with self._lock:
            return [d for d in self.deliveries if address in (r.lower() for r in d.rcpt_tos)]

    def count_message_id(self, message_id):
        with self._lock:
            return sum(1 for d in self.deliveries if d.message_id == message_id)

    # -- internals --------------------------------------------------------
    def _fault(self, stage, sender, recipient):
        for rule in self.rules:
            if rule.stage != stage:
                continue
            address = sender if rule.on == "sender" else recipient
            if not address:
                continue
            matched, times = rule.match(address)
            if not matched:
                continue
            key = (rule.pattern, rule.stage, address.lower())
            with self._lock:
                seen = self._counts.get(key, 0)
                if times is not None and seen >= times:
                    continue
                self._counts[key] = seen + 1
                reply = rule.reply.format(addr=address)
                self.attempts.append((stage, sender, recipient, reply))
            return reply
        return None

    def _answer(self, server, reply):
        if reply == DROP:
            server.transport.abort()
            return "421 4.4.2 connection dropped"  # never reaches the client
        return reply

    def _record(self, delivery):
        with self._lock:
            self.deliveries.append(delivery)
            index = len(self.deliveries)
        if self.spool_dir:
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(delivery.received_at))
            name = f"{stamp}-{index:05d}.eml"
            with open(os.path.join(self.spool_dir, name), "wb") as fh:
                fh.write(delivery.data)
            with open(os.path.join(self.spool_dir, "deliveries.jsonl"), "a") as fh:
                fh.write(
                    json.dumps(
                        {
                            "file": name,
                            "from": delivery.mail_from,
                            "to": delivery.rcpt_tos,
                            "subject": delivery.subject,
                            "message_id": delivery.message_id,
                        }
                    )
                    + "\n"
                )
        _logger.info("smtp sink: accepted %s -> %s", delivery.mail_from, delivery.rcpt_tos)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--spool", help="directory to store accepted messages as .eml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s smtp-sink %(message)s")
    if args.spool:
        os.makedirs(args.spool, exist_ok=True)
    sink = SmtpSink(args.host, args.port, spool_dir=args.spool)
    try:
        sink.start()
    except (OSError, RuntimeError) as exc:
        parser.exit(2, f"smtp sink: cannot listen on {args.host}:{args.port}: {exc}\n")
    _logger.info("listening on %s:%s", args.host, args.port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    sink.stop()


if __name__ == "__main__":
    main()
