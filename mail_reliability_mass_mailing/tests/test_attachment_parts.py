# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A shared attachment content builds the part stock builds (no database needed)."""

import email.contentmanager
import email.policy
import random
from email.message import EmailMessage
from unittest.mock import patch

from odoo.tests import BaseCase, tagged

from ..tools import attachment_parts
from ..tools.attachment_parts import SharedContent, shared


def part_of(content, mimetype="application/pdf", filename="catalogue.pdf", **kwargs):
    """The attachment part of a message built as ``ir.mail_server.build_email`` does."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = "Autumn"
    msg.add_alternative("Hello", subtype="plain", charset="utf-8")
    msg.add_alternative("<p>Hello</p>", subtype="html", charset="utf-8")
    maintype, subtype = mimetype.split("/")
    msg.add_attachment(content, maintype, subtype, filename=filename, **kwargs)
    (part,) = list(msg.iter_attachments())
    return part


def flat(part):
    return part.as_bytes(policy=email.policy.SMTP)


@tagged("mail_reliability", "post_install", "-at_install")
class TestAttachmentParts(BaseCase):
    def setUp(self):
        super().setUp()
        rng = random.Random(7)
        # Sizes around the base64 line (57 bytes a line) and a file of 500 kB.
        self.contents = [rng.randbytes(size) for size in (8192, 8193, 57 * 300, 500 * 1024)]

    def test_same_part_as_plain_bytes(self):
        """First and later uses build byte for byte the part the stdlib builds."""
        for content in self.contents:
            one = SharedContent(content)
            expected = flat(part_of(content))
            self.assertEqual(flat(part_of(one)), expected)
            self.assertTrue(one.encoded)
            self.assertEqual(flat(part_of(one)), expected)
            self.assertEqual(part_of(one).get_content(), content)
            # Another name or type on the same content: headers follow the call.
            self.assertEqual(
                flat(part_of(one, "image/png", "photo.png")),
                flat(part_of(content, "image/png", "photo.png")),
            )

    def test_other_transfer_encodings_untouched(self):
        text = b"plain ascii text\n" * 1000
        for cte in ("quoted-printable", "7bit"):
            one = SharedContent(text)
            self.assertEqual(flat(part_of(one, cte=cte)), flat(part_of(text, cte=cte)))
            self.assertFalse(one.encoded)

    def test_encoded_once_per_content(self):
        content = self.contents[-1]
        memo = {}
        calls = []
        encode = email.contentmanager._encode_base64

        def counting(data, max_line_length):
            calls.append(len(data))
            return encode(data, max_line_length)

        with patch.object(email.contentmanager, "_encode_base64", counting):
            for _ in range(5):
                part_of(shared(memo, bytes(content)))
        self.assertEqual(calls.count(len(content)), 1)
        # Without the shared content, as in stock: once per email.
        calls.clear()
        with patch.object(email.contentmanager, "_encode_base64", counting):
            for _ in range(3):
                part_of(bytes(content))
        self.assertEqual(calls.count(len(content)), 3)

    def test_memo_bounds(self):
        memo = {}
        small = b"x" * (attachment_parts.MIN_BYTES - 1)
        self.assertIs(shared(memo, small), small)
        self.assertEqual(memo, {})
        first = shared(memo, self.contents[0])
        self.assertIsInstance(first, SharedContent)
        self.assertIs(shared(memo, bytes(self.contents[0])), first)
        with patch.object(attachment_parts, "MAX_RUN_BYTES", len(self.contents[0]) + 100):
            other = shared(memo, self.contents[1])
        self.assertNotIsInstance(other, SharedContent)
        self.assertEqual(len(memo), 1)
        self.assertIs(shared(memo, None), None)
