# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.mail_reliability.tests.common import SmtpSinkCase


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailingTraceFailures(SmtpSinkCase):
    def test_traces_follow_the_classified_outcome(self):
        contacts = self.env["mailing.contact"].create(
            [
                {"name": "Ok", "email": "ok-reader@example.com"},
                {"name": "Gone", "email": "unknown-reader@example.com"},
                {"name": "Grey", "email": "greylisted-reader@example.com"},
            ]
        )
        mlist = self.env["mailing.list"].create(
            {"name": "Readers", "contact_ids": [(6, 0, contacts.ids)]}
        )
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": "Newsletter",
                "body_html": "<p>News</p>",
                "email_from": "news@example.com",
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(6, 0, mlist.ids)],
            }
        )
        mailing.action_launch()
        with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            mailing._process_mass_mailing_queue()
            self.env["mail.mail"].process_email_queue()
        traces = {t.email: t for t in mailing.mailing_trace_ids}
        self.assertEqual(traces["ok-reader@example.com"].trace_status, "sent")
        # "Did it leave Odoo?": the relay's queue id stays on the trace (the mail is deleted).
        (delivery,) = self.sink.deliveries_to("ok-reader@example.com")
        self.assertEqual(traces["ok-reader@example.com"].smtp_queue_id, delivery.queue_id)
        self.assertIn(delivery.queue_id, traces["ok-reader@example.com"].smtp_reply)
        self.assertFalse(traces["unknown-reader@example.com"].smtp_queue_id)
        gone = traces["unknown-reader@example.com"]
        self.assertEqual((gone.trace_status, gone.failure_type), ("error", "mail_smtp_recipient"))
        self.assertIn("5.1.1", gone.failure_reason)
        grey = traces["greylisted-reader@example.com"]
        self.assertEqual((grey.trace_status, grey.failure_type), ("process", "mail_smtp_temporary"))
