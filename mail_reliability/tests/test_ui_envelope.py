# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The chatter envelope in a real (headless Chromium) browser, against the real SMTP sink."""

import contextlib
from unittest.mock import patch

from odoo.sql_db import TestCursor
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import real_smtp
from .peers import SmtpSink
from .test_dsn import load_bounce
from .test_resend_wizard import POLICY_REPLY


@contextlib.contextmanager
def bus_delivers_on_commit():
    """Let the bus NOTIFY on each request's commit, as in production.

    Test cursors drop post-commit hooks, so the web client would never hear of
    a change made by a request.  Bus rows live in the test transaction, which
    the websocket reads through the same test cursor.
    """
    commit = TestCursor.commit

    def commit_and_notify(cr):
        cr.flush()
        cr.postcommit.run()
        return commit(cr)

    with patch.object(TestCursor, "commit", commit_and_notify):
        yield


@tagged("mail_reliability", "post_install", "-at_install")
class TestUiEnvelope(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = SmtpSink().start()
        cls.addClassCleanup(cls.sink.stop)
        cls.sink.add_rule(r"blocked", "rcpt", POLICY_REPLY, times=1)
        cls.env["ir.mail_server"].search([]).action_archive()
        cls.env["ir.mail_server"].create(
            {
                "name": "Loopback SMTP sink",
                "smtp_host": cls.sink.host,
                "smtp_port": cls.sink.port,
                "smtp_encryption": "none",
            }
        )
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("mail.catchall.domain", "example.com")
        # The quota ledger opens its own READ COMMITTED transaction outside test
        # threads, which a shared test cursor cannot do (HTTP requests of a tour).
        params.set_param("mail_reliability.daily_limit", "0")
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.partner_id.email = "admin@example.com"
        cls.alice = cls.env["res.partner"].create({"name": "Alice", "email": "alice@example.com"})

    def setUp(self):
        super().setUp()
        self.sink.reset()

    def _post(self, partners):
        record = self.env["res.partner"].create({"name": "Customer file"})
        with real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            message = record.with_user(self.admin).message_post(
                body="<p>Your order</p>",
                partner_ids=partners.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        return record, message

    def _failed_message(self, bob_email):
        bob = self.env["res.partner"].create({"name": "Bob", "email": bob_email})
        record, message = self._post(self.alice | bob)
        statuses = {n.res_partner_id.name: n.notification_status for n in message.notification_ids}
        self.assertEqual(statuses, {"Alice": "sent", "Bob": "exception"})
        self.assertTrue(message.has_error)
        return record, message, bob

    def _run_tour(self, record, tour):
        with (
            real_smtp(),
            bus_delivers_on_commit(),
            mute_logger("odoo.addons.mail.models.mail_mail"),
        ):
            self.start_tour(f"/odoo/res.partner/{record.id}", tour, login="admin", timeout=120)

    def test_envelope_send_and_close(self):
        record, message, bob = self._failed_message("blocked-bob@example.com")
        self._run_tour(record, "mail_reliability_envelope_resend")
        notif = message.notification_ids.filtered(lambda n: n.res_partner_id == bob)
        self.assertEqual(notif.notification_status, "sent")
        self.assertEqual(len(self.sink.deliveries_to("blocked-bob@example.com")), 1)
        self.assertEqual(len(self.sink.deliveries_to("alice@example.com")), 1, "no double send")
        self.assertFalse(message.has_error)

    def test_envelope_ignore_all(self):
        record, message, bob = self._failed_message("unknown-bob@example.com")
        self._run_tour(record, "mail_reliability_envelope_ignore")
        notif = message.notification_ids.filtered(lambda n: n.res_partner_id == bob)
        self.assertEqual(notif.notification_status, "canceled")
        self.assertEqual(len(self.sink.attempts), 1, "nothing resent")
        self.assertFalse(message.has_error)

    def test_envelope_retrying(self):
        erin = self.env["res.partner"].create(
            {"name": "Erin", "email": "greylisted-erin@example.com"}
        )
        record, message = self._post(self.alice | erin)
        notif = message.notification_ids.filtered(lambda n: n.res_partner_id == erin)
        self.assertEqual(notif.notification_status, "process")
        self.assertEqual(notif.mail_mail_id.retry_count, 1)
        self.assertFalse(message.has_error)
        self._run_tour(record, "mail_reliability_envelope_retrying")

    def test_envelope_error_details_of_a_bounce(self):
        """Accepted by the relay, bounced later: "See Error Details" shows the
        explanation and the relay's queue id, to look the mail up at the provider."""
        alias_domain = self.env["mail.alias.domain"].search([("name", "=", "example.com")])
        if not alias_domain:
            alias_domain = self.env["mail.alias.domain"].create(
                {"name": "example.com", "bounce_alias": "bounce", "catchall_alias": "catchall"}
            )
        self.env.company.alias_domain_id = alias_domain
        dora = self.env["res.partner"].create({"name": "Dora", "email": "dora@example.com"})
        record, message = self._post(self.alice | dora)
        (delivery,) = self.sink.deliveries_to("dora@example.com")
        notif = message.notification_ids.filtered(lambda n: n.res_partner_id == dora)
        self.assertEqual(notif.smtp_queue_id, delivery.queue_id)
        raw = load_bounce(
            "postfix_dsn.eml", recipient="dora@example.com", message_id=message.message_id
        )
        self.env["mail.thread"].message_process(None, raw)
        self.assertEqual(notif.notification_status, "bounce")
        self._run_tour(record, "mail_reliability_envelope_details")
