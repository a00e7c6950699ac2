# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The test kit: real network peers on loopback, with no Odoo import.

* :class:`SmtpSink` (``smtp_sink``): an aiosmtpd SMTP server that records deliveries
  and injects faults chosen by the address;
* :class:`Pop3Sink` (``pop3_sink``): a minimal POP3 server for fetchmail;
* :class:`DnsPeer` / :class:`BlackHoleDns` (``dns_peer``): a DNS server answering from
  a zone in memory, and a resolver that never answers;
* ``mta_kit``: private Postfix + Dovecot + OpenDKIM (needs root and Debian packages);
  :data:`MAILGATE` is the mail gateway script it pipes ``gate.test`` mail into.

The addon's tests import it as ``from .peers import SmtpSink``. Scripts outside a test
run (``bin/run``, ``bench/``, ``reliability/``) import it as the top-level package
``peers`` with ``mail_reliability/tests`` on ``sys.path`` (the ``bin/`` wrappers put it
on ``PYTHONPATH``), because importing ``odoo.addons.mail_reliability.tests`` would load
every test module. Command lines: ``python -m peers.smtp_sink --port 2525 --spool DIR``
and ``python -m peers.mta_kit --smtp-port 2525 --state FILE``.
"""

import importlib
import os

MAILGATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mailgate.py")

# Classes are imported on first use (PEP 562), so that ``python -m peers.smtp_sink`` does not
# import its own module twice and a test needing one peer does not import the others.
_CLASSES = {
    "SmtpSink": "smtp_sink",
    "Pop3Sink": "pop3_sink",
    "DnsPeer": "dns_peer",
    "BlackHoleDns": "dns_peer",
}

__all__ = ["MAILGATE", "BlackHoleDns", "DnsPeer", "Pop3Sink", "SmtpSink"]


def __getattr__(name):
    if name in _CLASSES:
        return getattr(importlib.import_module(f".{_CLASSES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
