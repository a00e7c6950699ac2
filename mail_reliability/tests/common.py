# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared test helpers.

Real-peer tests: Odoo's test mode (``odoo.modules.module.current_test``)
makes ``ir.mail_server.connect`` and ``send_email`` skip SMTP entirely.
:meth:`SmtpSinkCase.real_smtp` switches that block off *on purpose* and only
for the duration of a ``with`` block, while an ``ir.mail_server`` points at a
:class:`~.peers.SmtpSink` on loopback.  Nothing ever leaves the machine.
"""

import contextlib
import logging
import os
import pathlib
import subprocess
import sys
import tempfile
from unittest.mock import patch

import odoo
from odoo.modules import module as odoo_module
from odoo.tests import common
from odoo.tests.common import get_db_name
from odoo.tools import config, mute_logger

from ..tools.constants import QUEUE_CRON_XMLID
from .peers import SmtpSink

# stock's queue logger: it logs "Failed processing mail queue" when a run crashes
QUEUE_LOGGER = "odoo.addons.mail.models.mail_mail"


def create_pop3_server(env, pop3, **values):
    """A plain POP3 ``fetchmail.server`` reading the loopback ``pop3`` peer
    (:class:`~.peers.Pop3Sink`)."""
    return env["fetchmail.server"].create(
        {
            "name": "Loopback POP3",
            "server_type": "pop",
            "server": pop3.host,
            "port": pop3.port,
            "user": "odoo",
            "password": "secret",
            "state": "done",
            **values,
        }
    )


# The start of every worker of :func:`run_odoo_workers`: this test database's registry
# loaded, "ready" printed, then a wait for the go file.
_WORKER_START = """
import json, os, sys, time
import odoo
from odoo.modules.registry import Registry
rcfile, db, go, deadline = sys.argv[1], sys.argv[2], sys.argv[3], time.time() + float(sys.argv[4])
ids = [int(i) for i in sys.argv[5].split(",")]
odoo.tools.config.parse_config(["-c", rcfile, "-d", db, "--log-level=warn", "--max-cron-threads=0"])
registry = Registry(db)
print("ready", flush=True)
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.01)
"""


def run_odoo_workers(testcase, body, ids, processes=2, timeout=240):
    """Run ``body`` in ``processes`` real Odoo processes released at the same moment;
    return their standard outputs.

    Each process loads this test database (``registry``), prints "ready" and waits
    until all are ready; then ``body`` runs, with ``registry``, ``ids`` (the record
    ids given here), ``deadline`` (``timeout`` seconds from the start), ``odoo``,
    ``json``, ``os``, ``sys`` and ``time`` in scope. The test fails if a process does
    not start or exits non-zero (with the end of its stderr); none is left running.
    What the workers commit is the test's to remove.
    """
    script = _WORKER_START + body
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(odoo.__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        go = pathlib.Path(tmp, "go")
        args = [config.rcfile, get_db_name(), str(go), str(timeout), ",".join(map(str, ids))]
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", script, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _n in range(processes)
        ]
        try:
            for worker in workers:
                if worker.stdout.readline().strip() != "ready":
                    worker.wait(timeout=60)
                    testcase.fail(f"Odoo worker did not start: {worker.stderr.read()[-2000:]}")
            go.touch()
            outputs = []
            for worker in workers:
                out, err = worker.communicate(timeout=timeout + 60)
                testcase.assertEqual(worker.returncode, 0, err[-2000:])
                outputs.append(out)
            return outputs
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()


class _RecordList(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@contextlib.contextmanager
def real_smtp():
    """Deliberately lift Odoo's test-mode SMTP block for this block only."""
    with patch.object(odoo_module, "current_test", False):
        yield


class SmtpSinkCase(common.TransactionCase):
    """TransactionCase with a fault-injecting SMTP sink as the only outgoing server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = SmtpSink().start()
        cls.addClassCleanup(cls.sink.stop)
        # Make the sink the one and only outgoing server of this test database.
        cls.env["ir.mail_server"].search([]).action_archive()
        cls.mail_server = cls.env["ir.mail_server"].create(
            {
                "name": "Loopback SMTP sink",
                "smtp_host": cls.sink.host,
                "smtp_port": cls.sink.port,
                "smtp_encryption": "none",
                "sequence": 1,
            }
        )
        cls.env["ir.config_parameter"].sudo().set_param("mail.catchall.domain", "example.com")

    def setUp(self):
        super().setUp()
        self.sink.reset()
        if not self.sink.running:
            self.sink.accept_connections()

    @contextlib.contextmanager
    def real_smtp(self):
        """Deliberately lift Odoo's test-mode SMTP block for this block only."""
        with real_smtp():
            yield self.sink

    def _run_queue(self, *muted, check_crash=False):
        """Run the email queue as its cron does, through the sink.

        ``muted``: the loggers to silence (default: stock's queue logger). With
        ``check_crash``, a run that crashed ("Failed processing mail queue", logged
        even when muted) fails the test.
        """
        handler = _RecordList()
        with self.real_smtp(), mute_logger(*(muted or (QUEUE_LOGGER,))):
            # after mute_logger, which replaces the handlers of the loggers it mutes
            queue_logger = logging.getLogger(QUEUE_LOGGER)
            queue_logger.addHandler(handler)
            try:
                self.env["mail.mail"].process_email_queue()
            finally:
                queue_logger.removeHandler(handler)
        if check_crash:
            crashed = [
                r.getMessage()
                for r in handler.records
                if "Failed processing mail queue" in r.getMessage()
            ]
            self.assertFalse(crashed, "the queue run itself never crashes")

    def _queue_cron_triggers(self):
        """The pending triggers of the email queue cron."""
        cron = self.env.ref(QUEUE_CRON_XMLID)
        return self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])

    def create_outgoing_mail(self, email_to, **values):
        values = {
            "subject": "Reliability test",
            "body_html": "<p>Hello</p>",
            "email_from": "sender@example.com",
            "email_to": email_to,
            **values,
        }
        return self.env["mail.mail"].create(values)
