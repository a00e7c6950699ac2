# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import smtplib

from odoo.tests import tagged

from .common import SmtpSinkCase


@tagged("mail_reliability", "post_install", "-at_install")
class TestSmtpSinkDelivery(SmtpSinkCase):
    """Odoo's own queue delivers to the real loopback SMTP peer."""

    def test_process_email_queue_delivers_exactly_once(self):
        mail = self.create_outgoing_mail("customer@example.com", subject="Exactly once")
        message_id = mail.message_id
        with self.real_smtp():
            self.env["mail.mail"].process_email_queue(ids=mail.ids)
            # A second run must not send it again.
            self.env["mail.mail"].process_email_queue(ids=mail.ids)
        deliveries = self.sink.deliveries_to("customer@example.com")
        self.assertEqual(len(deliveries), 1)
        self.assertEqual(deliveries[0].subject, "Exactly once")
        self.assertEqual(self.sink.count_message_id(message_id), 1)
        if mail.exists():  # auto_delete may have removed it
            self.assertEqual(mail.state, "sent")

    def test_without_bypass_nothing_is_sent(self):
        """Proves the bypass matters: in plain test mode the sink sees nothing."""
        mail = self.create_outgoing_mail("customer@example.com", auto_delete=False)
        self.env["mail.mail"].process_email_queue(ids=mail.ids)
        self.assertEqual(self.sink.deliveries, [])

    def test_unknown_user_fails_the_mail(self):
        mail = self.create_outgoing_mail("unknown-bob@example.com", auto_delete=False)
        with self.real_smtp():
            self.env["mail.mail"].process_email_queue(ids=mail.ids)
        self.assertEqual(mail.state, "exception")
        self.assertIn("5.1.1", mail.failure_reason)
        self.assertEqual(mail.failure_type, "mail_smtp_recipient")
        self.assertEqual(self.sink.deliveries, [])

    def test_refused_connection_defers_the_mail(self):
        mail = self.create_outgoing_mail("customer@example.com", auto_delete=False)
        self.sink.refuse_connections()
        with self.real_smtp():
            self.env["mail.mail"].process_email_queue(ids=mail.ids)
        self.assertEqual((mail.state, mail.failure_type), ("outgoing", "mail_smtp_temporary"))
        self.sink.accept_connections()
        self.assertEqual(self.sink.deliveries, [])


@tagged("mail_reliability", "post_install", "-at_install")
class TestSmtpSinkFaults(SmtpSinkCase):
    """Each fault the sink offers, seen from a plain smtplib client."""

    def _send(self, to, sender="sender@example.com"):
        with smtplib.SMTP(self.sink.host, self.sink.port, timeout=10) as smtp:
            smtp.sendmail(sender, [to], b"Subject: fault\r\n\r\nbody\r\n")

    def assertReply(self, to, exc_class, code, status, sender="sender@example.com"):
        with self.assertRaises(exc_class) as caught:
            self._send(to, sender)
        text = str(caught.exception)
        self.assertIn(str(code), text)
        self.assertIn(status, text)

    def test_unknown_user(self):
        self.assertReply("unknown@example.com", smtplib.SMTPRecipientsRefused, 550, "5.1.1")

    def test_message_too_big(self):
        self.assertReply("toobig@example.com", smtplib.SMTPDataError, 552, "5.3.4")

    def test_sender_identity(self):
        self.assertReply(
            "ok@example.com",
            smtplib.SMTPDataError,
            550,
            "verified Sender Identity",
            sender="unverified@example.com",
        )

    def test_mailbox_full(self):
        self.assertReply("full@example.com", smtplib.SMTPRecipientsRefused, 452, "4.2.2")

    def test_throttled_then_accepted(self):
        for _attempt in range(2):
            self.assertReply("throttled@example.com", smtplib.SMTPRecipientsRefused, 421, "4.7.0")
        self._send("throttled@example.com")
        self.assertEqual(len(self.sink.deliveries_to("throttled@example.com")), 1)

    def test_greylisted_count_in_address(self):
        for _attempt in range(3):
            self.assertReply("greylisted3@example.com", smtplib.SMTPRecipientsRefused, 451, "4.7.1")
        self._send("greylisted3@example.com")
        self.assertEqual(len(self.sink.deliveries_to("greylisted3@example.com")), 1)

    def test_drop_mid_data(self):
        with self.assertRaises(smtplib.SMTPServerDisconnected):
            self._send("dropdata@example.com")
        self.assertEqual(self.sink.deliveries, [])

    def test_refuse_connections(self):
        self.sink.refuse_connections()
        with self.assertRaises(ConnectionRefusedError):
            self._send("ok@example.com")
        self.sink.accept_connections()
        self._send("ok@example.com")
        self.assertEqual(len(self.sink.deliveries), 1)
