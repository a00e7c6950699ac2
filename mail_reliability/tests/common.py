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
from unittest.mock import patch

from odoo.modules import module as odoo_module
from odoo.tests import common
from odoo.tools import mute_logger

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
