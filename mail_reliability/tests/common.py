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
from unittest.mock import patch

from odoo.modules import module as odoo_module
from odoo.tests import common

from .peers import SmtpSink


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

    def create_outgoing_mail(self, email_to, **values):
        values = {
            "subject": "Reliability test",
            "body_html": "<p>Hello</p>",
            "email_from": "sender@example.com",
            "email_to": email_to,
            **values,
        }
        return self.env["mail.mail"].create(values)
