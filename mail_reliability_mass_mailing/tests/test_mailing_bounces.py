# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Mass mailing traces follow the per-recipient reading of bounces."""

import contextlib
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.mail_reliability.tests.test_dsn import load_bounce, load_real
from odoo.addons.mail_reliability.tests.test_mail_incoming import TestIncomingCase
from odoo.addons.mail_reliability.tools import dsn
from odoo.addons.mail_reliability.tools.constants import SPAM_COMPLAINT


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailingBounces(TestIncomingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mailing = cls.env["mailing.mailing"].create(
            {
                "subject": "Newsletter",
                "body_html": "<p>News</p>",
                "email_from": "news@example.com",
                "mailing_model_id": cls.env.ref("mass_mailing.model_mailing_list").id,
            }
        )

    def make_trace(self, index):
        return self.env["mailing.trace"].create(
            {
                "mass_mailing_id": self.mailing.id,
                "model": "mailing.contact",
                "res_id": index,
                "email": "alice@remote.test",
                "message_id": f"<news-{index}@example.com>",
                "trace_status": "sent",
            }
        )

    def feed(self, fixture, trace):
        raw = load_bounce(fixture, message_id=trace.message_id, subject=f"s{trace.id}")
        self.assertFalse(self.process(raw))
        self.assertFalse(self.sink.deliveries)

    def complaint_about(self, trace):
        """A real ARF spam complaint from alice@remote.test about ``trace``'s email."""
        return (
            load_real("arf-14.eml")
            .replace(
                b"<2222222222222222-00000000-eeee-eeee-ffff-222222222222-111111@email.amazonses.com>",
                trace.message_id.encode(),
            )
            .replace(b"kijitora@y.example.com", b"alice@remote.test")
        )

    def test_delayed_and_soft_reports_leave_traces_alone(self):
        delayed, policy, auth = self.make_trace(1), self.make_trace(2), self.make_trace(3)
        self.feed("postfix_delayed.eml", delayed)
        self.feed("ses_policy.eml", policy)
        self.feed("dmarc_sender_auth.eml", auth)
        self.assertEqual((delayed | policy | auth).mapped("trace_status"), ["sent"] * 3)
        self.assertFalse(self.env["mail.blacklist"].search([("email", "=", "alice@remote.test")]))

    def test_hard_bounce_marks_the_trace(self):
        trace = self.make_trace(4)
        self.feed("postfix_dsn.eml", trace)
        self.assertEqual(trace.trace_status, "bounce")

    def test_hard_bounce_counts_on_the_campaign_row(self):
        self.registry.enter_test_mode(self.cr)  # after-commit counts run in this transaction
        self.addCleanup(self.registry.leave_test_mode)
        self.feed("postfix_dsn.eml", self.make_trace(5))
        self.env.cr.postcommit.run()
        row = self.env["mail.delivery.stats"].search([("mailing_id", "=", self.mailing.id)])
        self.assertEqual((row.recipient_domain, row.hard_bounced), ("remote.test", 1))
        self.assertEqual(row.sender_domain, "example.com")

    @contextlib.contextmanager
    def count_parses(self):
        """Yield a function giving ``(DSN parses, ARF parses)`` so far."""
        with (
            patch.object(dsn, "parse_bounce", wraps=dsn.parse_bounce) as bounce,
            patch.object(dsn, "parse_feedback_report", wraps=dsn.parse_feedback_report) as arf,
        ):
            yield lambda: (bounce.call_count, arf.call_count)

    def test_each_report_is_parsed_once(self):
        """The bridge and mail_reliability both read a report: it is parsed once."""
        trace = self.make_trace(8)
        with self.count_parses() as parses:
            self.feed("postfix_dsn.eml", trace)
        self.assertEqual(trace.trace_status, "bounce")
        self.assertEqual(parses(), (1, 1))

        complained = self.make_trace(9)
        raw = self.complaint_about(complained)
        with self.count_parses() as parses:
            self.process(raw)
        self.assertEqual(complained.failure_type, SPAM_COMPLAINT)
        self.assertEqual(parses(), (0, 1))

    def test_bounce_parsed_by_the_caller_keeps_stock_behaviour(self):
        """``_routing_handle_bounce(False, values)``: no message to read, the values rule."""
        contact = self.env["mailing.contact"].create(
            {"name": "Alice", "email": "alice@remote.test"}
        )
        trace = self.make_trace(contact.id)
        values = {
            "email_from": "mailer-daemon@remote.test",
            "to": "bounce@example.com",
            "message_id": "<caller-parsed@remote.test>",
            "bounced_email": "alice@remote.test",
            "bounced_partner": self.env["res.partner"],
            "bounced_message": self.env["mail.message"],
            "bounced_msg_ids": [trace.message_id],
            "body": "This is the bounce email",
        }
        with self.assertNoLogs("odoo.addons.mail_reliability.models.mail_thread", "WARNING"):
            self.env["mail.thread"]._routing_handle_bounce(False, values)
        self.assertEqual(trace.trace_status, "bounce")
        self.assertEqual(contact.message_bounce, 1)

    def test_forged_report_leaves_traces_and_contacts_alone(self):
        """Issue #18 item 5: a report naming someone the mailing never went to."""
        victim = self.env["mailing.contact"].create({"name": "V", "email": "victim@other.test"})
        trace = self.make_trace(5)
        raw = load_bounce(
            "postfix_dsn.eml", recipient="victim@other.test", message_id=trace.message_id
        )
        self.process(raw)
        self.assertEqual(trace.trace_status, "sent")
        self.assertEqual(victim.message_bounce, 0)
        self.assertFalse(self.env["mail.blacklist"].search([("email", "=", "victim@other.test")]))

    def test_spam_complaint_marks_the_trace_and_blacklists(self):
        trace = self.make_trace(6)
        raw = self.complaint_about(trace)
        self.process(raw)
        self.assertEqual(trace.failure_type, SPAM_COMPLAINT)
        self.assertTrue(self.env["mail.blacklist"].search([("email", "=", "alice@remote.test")]))
        report = self.env["mail.bounce.report"].search([("email", "=", "alice@remote.test")])
        self.assertEqual(report.kind, "complaint")
        report.action_reset()
        self.assertFalse(self.env["mail.blacklist"].search([("email", "=", "alice@remote.test")]))

    def test_trace_links_to_its_bounce_report(self):
        trace = self.make_trace(7)
        self.feed("postfix_dsn.eml", trace)
        report = trace.bounce_report_id
        self.assertEqual((report.email, report.kind), ("alice@remote.test", "hard"))
        self.assertIn(b"Final-Recipient", report.attachment_id.raw)
