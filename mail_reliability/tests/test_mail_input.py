# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Header injection and unstorable text (no database needed)."""

from odoo.tests import BaseCase, tagged

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
