# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
""" "Did it leave Odoo?": the relay's reply and queue id, per recipient (real SMTP sink)."""

from odoo.tests import tagged

from .common import SmtpSinkCase


@tagged("mail_reliability", "post_install", "-at_install")
class TestRelayReply(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.record = cls.env["res.partner"].create({"name": "Thread record"})
        cls.alice = cls.env["res.partner"].create({"name": "Alice", "email": "alice@example.com"})
        cls.bob = cls.env["res.partner"].create({"name": "Bob", "email": "bob@example.com"})
        cls.carl = cls.env["res.partner"].create(
            {"name": "Carl", "email": "unknown-carl@example.com"}
        )

    def test_no_query_for_a_mail_without_notifications(self):
        """The queue's common case (a mail to an address, no chatter notification) keeps
        the reply on the mail at no extra statement: the write joins the UPDATE stock
        makes anyway. Session 4's version searched notifications for every mail."""
        mail = self.env["mail.mail"].create(
            {"email_to": "dave@example.com", "subject": "Plain", "body_html": "<p>x</p>"}
        )
        self.assertFalse(mail.is_notification)
        self.env.flush_all()
        reply = "250 2.0.0 Ok: queued as 4F2A1B3C9D"
        with self.assertQueryCount(0, flush=False):
            mail._mr_record_relay_replies({"dave@example.com": reply})
        self.assertEqual(mail.smtp_queue_id, "4F2A1B3C9D")
        self.assertEqual(mail.smtp_reply, reply)

    def test_queue_id_per_recipient(self):
        message = self.record.with_context(mail_notify_force_send=False).message_post(
            body="<p>Hello</p>",
            partner_ids=(self.alice | self.bob | self.carl).ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        mail = message.notification_ids.mail_mail_id
        mail.auto_delete = False
        self._run_queue()
        notifications = {
            n.res_partner_id: n
            for n in message.notification_ids.filtered(lambda n: n.notification_type == "email")
        }
        for partner in self.alice | self.bob:
            (delivery,) = self.sink.deliveries_to(partner.email)
            notification = notifications[partner]
            self.assertEqual(notification.notification_status, "sent")
            self.assertEqual(notification.smtp_queue_id, delivery.queue_id)
            self.assertEqual(
                notification.smtp_reply, f"250 2.0.0 Ok: queued as {delivery.queue_id}"
            )
        # Odoo sends one email per partner: each recipient has its own id.
        self.assertNotEqual(
            notifications[self.alice].smtp_queue_id, notifications[self.bob].smtp_queue_id
        )
        # Refused at RCPT: it never left Odoo, no queue id.
        self.assertEqual(notifications[self.carl].notification_status, "exception")
        self.assertFalse(notifications[self.carl].smtp_queue_id)
        self.assertIn(
            mail.smtp_queue_id,
            {notifications[self.alice].smtp_queue_id, notifications[self.bob].smtp_queue_id},
        )

    def test_queue_id_on_mail_and_envelope_dialog(self):
        mail = self.create_outgoing_mail("dora@example.com", auto_delete=False)
        self._run_queue()
        self.assertEqual(mail.state, "sent")
        (delivery,) = self.sink.deliveries_to("dora@example.com")
        self.assertEqual(mail.smtp_queue_id, delivery.queue_id)
        self.assertTrue(mail.smtp_reply.startswith("250 2.0.0 Ok: queued as "))
        # A failed mail has none.
        failed = self.create_outgoing_mail("unknown-eve@example.com", auto_delete=False)
        self._run_queue()
        self.assertEqual(failed.state, "exception")
        self.assertFalse(failed.smtp_queue_id)
