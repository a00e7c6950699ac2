# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Header injection and unstorable text (no database needed)."""

import logging

from markupsafe import Markup

from odoo.tests import BaseCase, TransactionCase, tagged

from ..tools import mail_input

# value -> injected header name (None: harmless)
INJECTIONS = [
    ("a@b.test", None),
    ("a@b.test, c@d.test", None),
    ("a@b.test,\nc@d.test", None),  # one address per line, as a template may render it
    ("a@b.test\n", None),
    ('"Name: Sales" <a@b.test>', None),
    ("a@b.test\r\nBcc: x@evil.test", "Bcc"),
    ("a@b.test\nTo: x@evil.test", "To"),
    ("a@b.test\rX-Injected: 1", "X-Injected"),
    ("a@b.test\r\n  Subject : hi", "Subject"),
    ("Name\r\nBcc: x@evil.test <a@b.test>", "Bcc"),
    (None, None),
    (False, None),
]

# value -> (stored value, characters replaced)
STORABLE = [
    ("Café", ("Café", 0)),
    ("NUL \x00 byte", ("NUL  byte", 1)),
    ("Caf\udce9", ("Caf\ufffd", 1)),
    ("\ud800\udfff", ("\ufffd\ufffd", 2)),
    ("\U0001f642", ("\U0001f642", 0)),
    (Markup("<p>a\x00b</p>"), (Markup("<p>ab</p>"), 1)),
    (b"bytes", (b"bytes", 0)),
    (False, (False, 0)),
]


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailInput(BaseCase):
    def test_header_injection(self):
        for value, expected in INJECTIONS:
            with self.subTest(value=value):
                self.assertEqual(mail_input.header_injection(value), expected)

    def test_storable_text(self):
        for value, expected in STORABLE:
            with self.subTest(value=value):
                self.assertEqual(mail_input.storable_text(value), expected)
                self.assertIs(type(mail_input.storable_text(value)[0]), type(expected[0]))


@tagged("mail_reliability", "post_install", "-at_install")
class TestMessagePostUnstorableText(TransactionCase):
    def test_nul_in_posted_message_is_repaired_not_a_crash(self):
        """A NUL in a posted message's subject or sender made the INSERT fail with
        a database error; it is removed, with a warning naming the field."""
        partner = self.env["res.partner"].create({"name": "Thread"})
        logger = "odoo.addons.mail_reliability.tools.mail_input"
        with self.assertLogs(logger, logging.WARNING) as logs:
            message = partner.message_post(
                subject="Quarterly\x00 report",
                body=Markup("<p>Figures\x00</p>"),
                email_from='"Ann\x00" <ann@example.com>',
            )
        self.assertEqual(message.subject, "Quarterly report")
        self.assertEqual(message.email_from, '"Ann" <ann@example.com>')
        self.assertNotIn("\x00", message.body)
        self.assertTrue(any("mail.message subject" in line for line in logs.output), logs.output)
        message.write({"subject": "Again\x00"})
        self.assertEqual(message.subject, "Again")
