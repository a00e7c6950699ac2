# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The relay's queue id in real accepting replies (no database needed)."""

from odoo.tests import BaseCase, tagged

from ..tools.smtp_reply import MAX_REPLY, parse_queue_id, reply_text

# (who, reply to DATA as the server sends it, queue id a support person greps for)
# fmt: off
REPLIES = [
    ("Postfix", "250 2.0.0 Ok: queued as 4F2A1B3C9D", "4F2A1B3C9D"),
    ("Postfix, long queue ids", "250 2.0.0 Ok: queued as 4Yq1Xn0Fzbz9vX5", "4Yq1Xn0Fzbz9vX5"),
    ("Exim", "250 OK id=1qXyZ-000abc-De", "1qXyZ-000abc-De"),
    ("Exchange / Microsoft 365",
     "250 2.6.0 <CAF+abc@mail.gmail.com> [InternalId=12884901888123, "
     "Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com] 12345 bytes in 0.123, "
     "96.372 KB/sec Queued mail for delivery",
     "12884901888123"),
    ("Amazon SES", "250 Ok 0100018c1d2e3f4a-5b6c7d8e-9f01-4a2b-8c3d-4e5f6a7b8c9d-000000",
     "0100018c1d2e3f4a-5b6c7d8e-9f01-4a2b-8c3d-4e5f6a7b8c9d-000000"),
    ("Gmail", "250 2.0.0 OK  1700000000 d9443c01a7336-1dc0d2e3c0asm12345pll.12 - gsmtp",
     "d9443c01a7336-1dc0d2e3c0asm12345pll.12"),
    ("Sendmail", "250 2.0.0 3B1Hk0Ab012345 Message accepted for delivery", "3B1Hk0Ab012345"),
    ("qmail", "250 ok 1700000000 qp 12345", "qp 12345"),
    ("SendGrid", "250 Ok: queued as Ge2yTzKyRfWkJj8rV5wQ3A", "Ge2yTzKyRfWkJj8rV5wQ3A"),
    ("Brevo", "250 2.0.0 OK: queued as <20231116120000.abcdef@smtp-relay.mailin.fr>",
     "20231116120000.abcdef@smtp-relay.mailin.fr"),
    ("aiosmtpd default", "250 OK", None),
    ("our SMTP sink without id", "250 2.0.0 Ok: queued", None),
    ("Mailgun", "250 Great success", None),
    ("nothing", "", None),
]
# fmt: on


@tagged("mail_reliability", "post_install", "-at_install")
class TestSmtpReply(BaseCase):
    def test_queue_ids(self):
        for who, reply, expected in REPLIES:
            with self.subTest(who=who):
                self.assertEqual(parse_queue_id(reply), expected)

    def test_reply_text_from_smtplib(self):
        """smtplib's data() gives (code, bytes without the code), lines joined by newlines."""
        self.assertEqual(
            reply_text(250, b"2.0.0 Ok: queued as 4F2A1B3C9D"), "250 2.0.0 Ok: queued as 4F2A1B3C9D"
        )
        self.assertEqual(
            reply_text(250, b"mx.example.test\n2.0.0 Ok: queued as 77AB"),
            "250 mx.example.test 2.0.0 Ok: queued as 77AB",
        )
        self.assertEqual(parse_queue_id(reply_text(250, b"mx\n2.0.0 Ok: queued as 77AB")), "77AB")
        self.assertEqual(reply_text(None, None), "")

    def test_hostile_replies_are_bounded(self):
        long_reply = "250 Ok: queued as " + "A" * 5000
        self.assertLessEqual(len(reply_text(250, long_reply.encode())), MAX_REPLY)
        queue_id = parse_queue_id(long_reply)
        self.assertTrue(queue_id is None or len(queue_id) <= 128)
        self.assertEqual(reply_text(250, b"\xff\xfe Ok"), "250 \ufffd\ufffd Ok")
