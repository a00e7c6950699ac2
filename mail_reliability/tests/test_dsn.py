# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Per-recipient reading of real-world bounces (no database needed)."""

import os
from unittest.mock import patch

from odoo.tests import BaseCase, tagged

from ..tools import dsn

DATA_DIR = os.path.join(os.path.dirname(__file__), "data", "bounces")
ORIGINAL_ID = "<orig-42.1731234567@example.com>"
RCPT = "mail_smtp_recipient"


def load_bounce(name, recipient="alice@remote.test", message_id=ORIGINAL_ID, **extra):
    """A fixture bounce with its placeholders filled in (bytes)."""
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as handle:
        text = handle.read()
    values = {
        "recipient": recipient,
        "recipient2": "bob@remote.test",
        "recipient3": "carol@slow.test",
        "message_id": message_id,
        "subject": "Quotation S00042",
        **extra,
    }
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text.encode()


# fixture -> (source, [(recipient, action, status, smtp_code, failure_type, kind)])
# fmt: off
BOUNCES = {
    "postfix_dsn.eml": ("rfc3464", [
        ("alice@remote.test", "failed", "5.1.1", 550, RCPT, "hard")]),
    "gmail_dsn.eml": ("rfc3464", [
        ("alice@remote.test", "failed", "5.1.1", 550, RCPT, "hard")]),
    "exchange_ndr.eml": ("rfc3464", [
        ("alice@remote.test", "failed", "5.1.10", 550, RCPT, "hard")]),
    "postfix_delayed.eml": ("rfc3464", [
        ("alice@remote.test", "delayed", "4.7.1", 451, "mail_smtp_temporary", "delayed")]),
    "ses_policy.eml": ("rfc3464", [
        ("alice@remote.test", "failed", "5.7.1", 554, "mail_smtp_policy", "soft")]),
    "dmarc_sender_auth.eml": ("rfc3464", [
        ("alice@remote.test", "failed", "5.7.26", 550, "mail_smtp_sender", "soft")]),
    "multi_recipient.eml": ("rfc3464", [
        ("alice@remote.test", "failed", "5.1.1", 550, RCPT, "hard"),
        ("bob@remote.test", "failed", "5.2.2", 552, "mail_smtp_temporary", "soft"),
        ("carol@slow.test", "delayed", "4.4.1", None, "mail_smtp_temporary", "delayed")]),
    "qmail_nonstandard.eml": ("flufl", [
        ("alice@remote.test", "failed", "5.1.1", None, RCPT, "hard")]),
    "exim_nonstandard.eml": ("flufl", [
        ("alice@remote.test", "failed", "5.1.1", 550, RCPT, "hard")]),
    "yahoo_nonstandard.eml": ("flufl", [
        ("alice@remote.test", "failed", "5.0.0", 554, RCPT, "hard")]),
}
# fmt: on


@tagged("mail_reliability", "post_install", "-at_install")
class TestDsnParsing(BaseCase):
    def test_real_world_bounces(self):
        for name, (source, expected) in BOUNCES.items():
            with self.subTest(bounce=name):
                report = dsn.parse_bounce(load_bounce(name))
                self.assertEqual(report.source, source)
                self.assertEqual(report.errors, ())
                self.assertEqual(report.original_message_ids, (ORIGINAL_ID,))
                got = [
                    (r.recipient, r.action, r.status, r.smtp_code, r.failure_type, r.kind)
                    for r in report.recipients
                ]
                self.assertEqual(got, expected)

    def test_diagnostic_and_remote_mta(self):
        report = dsn.parse_bounce(load_bounce("postfix_dsn.eml"))
        (recipient,) = report.recipients
        self.assertEqual(report.reporting_mta, "mail.example.com")
        self.assertEqual(recipient.remote_mta, "mx.remote.test")
        self.assertEqual(
            recipient.diagnostic,
            "550 5.1.1 <alice@remote.test>: Recipient address rejected: "
            "User unknown in virtual mailbox table",
        )
        self.assertIn("(remote server mx.remote.test)", recipient.reason)
        self.assertTrue(recipient.permanent)
        self.assertIn("does not exist", recipient.explanation)

    def test_nonstandard_diagnostic_is_the_explaining_line(self):
        report = dsn.parse_bounce(load_bounce("qmail_nonstandard.eml"))
        self.assertEqual(
            report.recipients[0].diagnostic, "Sorry, no mailbox here by that name. (#5.1.1)"
        )

    def test_without_flufl_x_failed_recipients_still_works(self):
        with patch.object(dsn, "flufl_scan", None):
            exim = dsn.parse_bounce(load_bounce("exim_nonstandard.eml"))
            qmail = dsn.parse_bounce(load_bounce("qmail_nonstandard.eml"))
            postfix = dsn.parse_bounce(load_bounce("postfix_dsn.eml"))
        self.assertEqual(exim.source, "x-failed-recipients")
        self.assertEqual(
            [(r.recipient, r.status, r.kind) for r in exim.recipients],
            [("alice@remote.test", "5.1.1", "hard")],
        )
        self.assertEqual(qmail.recipients, ())  # no header, no library: nothing to guess
        self.assertEqual(postfix.source, "rfc3464")  # RFC 3464 never needs the library

    def test_lost_final_recipient_uses_the_fallback(self):
        """A recipient block without its address: the only recipient of the original."""
        raw = (
            load_bounce("postfix_dsn.eml")
            .replace(b"Final-Recipient:", b"X-Lost:")
            .replace(b"Original-Recipient:", b"X-Lost-Too:")
        )
        self.assertEqual(dsn.parse_bounce(raw).recipients, (), "no address, no guess")
        report = dsn.parse_bounce(raw, fallback_recipient='"Alice" <Alice@Remote.test>')
        self.assertEqual(report.source, "rfc3464")
        self.assertEqual(
            [(r.recipient, r.status, r.kind) for r in report.recipients],
            [("alice@remote.test", "5.1.1", "hard")],
        )
        # A named recipient is never replaced, and two unnamed blocks are not guessed.
        named = dsn.parse_bounce(load_bounce("postfix_dsn.eml"), fallback_recipient="x@y.test")
        self.assertEqual([r.recipient for r in named.recipients], ["alice@remote.test"])
        multi = (
            load_bounce("multi_recipient.eml")
            .replace(b"Final-Recipient:", b"X-Lost:")
            .replace(b"Original-Recipient:", b"X-Lost-Too:")
        )
        guessed = dsn.parse_bounce(multi, fallback_recipient="x@y.test").recipients
        self.assertNotIn("x@y.test", [r.recipient for r in guessed])

    def test_not_a_bounce(self):
        report = dsn.parse_bounce(
            b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nHello\r\n"
        )
        self.assertEqual((report.source, report.recipients), ("", ()))

    def test_malformed_input_never_raises(self):
        truncated = load_bounce("postfix_dsn.eml")[:1500]
        bad_charset = load_bounce("postfix_dsn.eml").replace(
            b"charset=us-ascii", b"charset=x-no-such-charset"
        )
        for raw in (truncated, bad_charset, b"", b"\x00\xff\xfe garbage", "h\u00e9llo"):
            with self.subTest(raw=raw[:30]):
                report = dsn.parse_bounce(raw)
                self.assertIsInstance(report, dsn.BounceReport)
        self.assertEqual(dsn.parse_bounce(bad_charset).recipients[0].kind, "hard")

    def test_status_selection(self):
        # fmt: off
        rows = [
            # (action, Status, Diagnostic-Code, status, kind)
            ("failed", "5.0.0", "smtp; 550 5.1.1 user unknown", "5.1.1", "hard"),
            ("failed", "5.0.0", "smtp; 550 No such user here", "5.0.0", "hard"),
            # Postfix relaying a remote 550 (Odoo's own test bounce, test_mail MAIL_BOUNCE)
            ("failed", "5.0.0", "smtp; 550 No such person at this address.", "5.0.0", "hard"),
            ("failed", "5.0.0", "smtp; 550 Message rejected as spam", "5.0.0", "soft"),
            ("failed", None, "smtp; 550 5.2.1 mailbox disabled", "5.2.1", "hard"),
            ("failed", "5.1.7", "smtp; 553 5.1.7 bad sender address syntax", "5.1.7", "soft"),
            ("failed", "5.1.8", "smtp; 553 5.1.8 sender domain does not exist", "5.1.8", "soft"),
            ("failed", "5.3.4", "smtp; 552 5.3.4 message too big", "5.3.4", "soft"),
            ("failed", "4.4.7", "X-Postfix; delivery time expired", "4.4.7", "soft"),
            ("failed", None, "", "5.0.0", "soft"),
            ("", "5.1.1", "", "5.1.1", "hard"),
            ("", "4.2.2", "", "4.2.2", "delayed"),
            ("delivered", "2.0.0", "smtp; 250 2.0.0 OK", "2.0.0", "none"),
            ("relayed", "2.0.0", "", "2.0.0", "none"),
        ]
        # fmt: on
        for action, status, diagnostic, want_status, kind in rows:
            with self.subTest(action=action, status=status, diagnostic=diagnostic):
                report = dsn.classify_recipient("x@remote.test", action, status, diagnostic)
                self.assertEqual((report.status, report.kind), (want_status, kind))

    def test_hard_statuses(self):
        for status, hard in [
            ("5.1.1", True),
            ("5.1.10", True),
            ("5.1.2", True),
            ("5.1.6", True),
            ("5.2.1", True),
            ("4.1.1", True),
            ("5.1.7", False),
            ("5.1.8", False),
            ("5.2.2", False),
            ("5.7.1", False),
            ("5.7.26", False),
            ("5.0.0", False),
            ("2.1.5", False),
            (None, False),
        ]:
            with self.subTest(status=status):
                self.assertEqual(dsn.is_hard_status(status), hard)

    def test_auto_message_reason(self):
        human = "From: Alice <alice@remote.test>\r\nTo: sales@example.com\r\nSubject: hi\r\n"
        rows = [
            (human, None),
            (human + "Auto-Submitted: no\r\n", None),
            (human + "Auto-Submitted: auto-replied\r\n", "Auto-Submitted"),
            (human + "Return-Path: <>\r\n", "null Return-Path"),
            (human + "Precedence: bulk\r\n", "Precedence"),
            (human + "List-Id: <news.remote.test>\r\n", "List-Id"),
            (human + "X-Failed-Recipients: x@y.test\r\n", "X-Failed-Recipients"),
            (human.replace("alice@", "MAILER-DAEMON@"), "mail system"),
            (human.replace("alice@", "postmaster@"), "mail system"),
            (
                human + "Content-Type: multipart/report; report-type=delivery-status; "
                'boundary="b"\r\n',
                "report",
            ),
        ]
        for headers, expected in rows:
            with self.subTest(headers=headers[-60:]):
                reason = dsn.auto_message_reason((headers + "\r\nBody\r\n").encode())
                if expected is None:
                    self.assertIsNone(reason)
                else:
                    self.assertIn(expected, reason)

    def test_bounce_rate_level(self):
        for sent, bounced, rate, level in [
            (0, 0, 0.0, "ok"),
            (0, 3, 0.0, "ok"),
            (100, 4, 4.0, "ok"),
            (100, 5, 5.0, "warning"),
            (1000, 99, 9.9, "warning"),
            (100, 10, 10.0, "critical"),
            (3, 1, 33.33, "critical"),
            (10, 20, 100.0, "critical"),
        ]:
            with self.subTest(sent=sent, bounced=bounced):
                self.assertEqual(dsn.bounce_rate_level(sent, bounced), (rate, level))
