# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Urgent vs queued: a chatter message leaves at once, a campaign waits for the crons."""

from odoo.tests import tagged

from odoo.addons.mail_reliability.tests.common import SmtpSinkCase


@tagged("mail_reliability", "post_install", "-at_install")
class TestUrgentVsQueued(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.partner_id.email = "sales@example.com"
        cls.customer = cls.env["res.partner"].create(
            {"name": "Customer", "email": "customer@example.com"}
        )
        contacts = cls.env["mailing.contact"].create(
            [{"name": f"Reader {n}", "email": f"reader{n}@example.com"} for n in range(3)]
        )
        cls.mailing_list = cls.env["mailing.list"].create(
            {"name": "Readers", "contact_ids": [(6, 0, contacts.ids)]}
        )

    def test_chatter_message_is_sent_at_once(self):
        with self.real_smtp():
            self.customer.message_post(
                body="<p>Your quotation is ready</p>",
                subject="Quotation",
                partner_ids=self.customer.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        # No cron ran: the person-to-person message is already on the SMTP server.
        self.assertEqual(len(self.sink.deliveries_to("customer@example.com")), 1)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("state", "=", "outgoing"), ("email_to", "ilike", "customer@")]
            )
        )

    def test_mass_mailing_waits_for_the_crons(self):
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": "Newsletter",
                "body_html": "<p>News</p>",
                "email_from": "news@example.com",
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(6, 0, self.mailing_list.ids)],
            }
        )
        with self.real_smtp():
            mailing.action_launch()
        self.assertEqual(mailing.state, "in_queue")
        self.assertFalse(self.sink.deliveries, "Send only queues the campaign")

        # Mail Marketing: Process queue generates the mails, but does not send them itself
        # (stock sends campaigns of up to 100 recipients inline): they join the email queue.
        before = self._queue_cron_triggers()
        with self.real_smtp():
            mailing._process_mass_mailing_queue()
        mails = self.env["mail.mail"].search([("mailing_id", "=", mailing.id)])
        self.assertEqual(len(mails), 3)
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        self.assertFalse(self.sink.deliveries)
        self.assertTrue(self._queue_cron_triggers() - before, "the email queue is woken at once")

        # Mail: Email Queue Manager sends them.
        self._run_queue()
        self.assertEqual(
            sorted(r for d in self.sink.deliveries for r in d.rcpt_tos),
            [f"reader{n}@example.com" for n in range(3)],
        )
        self.assertEqual(set(mailing.mailing_trace_ids.mapped("trace_status")), {"sent"})
