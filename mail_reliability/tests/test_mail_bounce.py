# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bounces, spam complaints and auto-replies through the real gateway (issue #19,
issue #18 item 5): only recipients of the original message count, the address we
sent to is matched, complaints blacklist, auto-replies are ignored, every report
keeps its .eml and can be reset."""

from unittest.mock import patch

from odoo.tests import tagged

from ..tools import dsn
from .common import create_pop3_server
from .peers import Pop3Sink
from .test_dsn import load_bounce, load_real
from .test_mail_incoming import THREAD_LOGGER, TestBounceParsing, TestIncomingCase


def arf_for(message_id, complainer):
    """A real Amazon SES feedback report (sisimai arf-14) about one of our messages."""
    raw = load_real("arf-14.eml")
    raw = raw.replace(
        b"<2222222222222222-00000000-eeee-eeee-ffff-222222222222-111111@email.amazonses.com>",
        message_id.encode(),
    )
    return raw.replace(b"kijitora@y.example.com", complainer.encode())


def auto_reply_to(address):
    """A real Outlook "Automatic reply" (sisimai rfc3834-02) sent to ``address``."""
    return load_real("rfc3834-02.eml").replace(
        b"To: Kijitora <kijitora@example.com>", f"To: <{address}>".encode()
    )


@tagged("mail_reliability", "post_install", "-at_install")
class TestBounceRecipients(TestIncomingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.record = cls.env["res.partner"].create({"name": "Quotation S00042"})

    send_to = TestBounceParsing.send_to
    feed = TestBounceParsing.feed
    notification = TestBounceParsing.notification

    def test_forged_dsn_touches_only_real_recipients(self):
        message, alice = self.send_to("alice@remote.test")
        victim = self.env["res.partner"].create({"name": "V", "email": "victim@other.test"})
        with self.assertLogs(THREAD_LOGGER, "WARNING") as logs:
            self.feed("postfix_dsn.eml", message, recipient="victim@other.test")
        self.assertIn("victim@other.test", "\n".join(logs.output))
        self.assertEqual(victim.message_bounce, 0)
        self.assertEqual(alice.message_bounce, 0)
        self.assertEqual(self.notification(message, alice).notification_status, "sent")
        self.assertFalse(self.env["mail.blacklist"].search([("email", "=", "victim@other.test")]))
        self.assertFalse(
            self.env["mail.bounce.report"].search([("email", "=", "victim@other.test")])
        )

    def test_bounces_add_to_the_delivery_statistics(self):
        self.registry.enter_test_mode(self.cr)  # after-commit counts run in this transaction
        self.addCleanup(self.registry.leave_test_mode)
        message, _partners = self.send_to("alice@remote-stats.test", "bob@remote-stats.test")
        self.feed("postfix_dsn.eml", message, recipient="alice@remote-stats.test")
        self.feed("postfix_delayed.eml", message, recipient="bob@remote-stats.test")
        victim = "victim@remote-stats.test"  # forged: not a recipient, counts nothing
        self.env["res.partner"].create({"name": "V", "email": victim})
        with self.assertLogs(THREAD_LOGGER, "WARNING"):
            self.feed("postfix_dsn.eml", message, recipient=victim)
        self.env.cr.postcommit.run()
        row = self.env["mail.delivery.stats"].search(
            [("recipient_domain", "=", "remote-stats.test")]
        )
        self.assertEqual(
            (row.attempted, row.sent, row.hard_bounced, row.soft_bounced), (2, 2, 1, 0)
        )

    def test_report_without_a_message_of_ours_counts_nobody(self):
        victim = self.env["res.partner"].create({"name": "V", "email": "victim@other.test"})
        raw = load_bounce(
            "postfix_dsn.eml", recipient="victim@other.test", message_id="<forged-1@attacker.test>"
        )
        self.assertFalse(self.process(raw))
        self.assertEqual(victim.message_bounce, 0)

    def test_original_recipient_is_matched_and_kept(self):
        message, alice = self.send_to("alice@remote.test")
        raw = load_bounce(
            "postfix_dsn.eml", message_id=message.message_id
        ).replace(
            b"Final-Recipient: rfc822; alice@remote.test\nOriginal-Recipient: rfc822;alice@remote.test",  # noqa: E501
            b"Final-Recipient: rfc822; haasm@yogi.urz.remote.test\n"
            b"Original-Recipient: rfc822;alice@remote.test",
        )
        self.assertIn(b"haasm@", raw)
        self.process(raw)
        notification = self.notification(message, alice)
        self.assertEqual(notification.failure_type, "mail_smtp_recipient")
        self.assertEqual(alice.message_bounce, 1)
        report = notification.bounce_report_id
        self.assertEqual(
            (report.email, report.final_recipient, report.original_recipient, report.kind),
            ("alice@remote.test", "haasm@yogi.urz.remote.test", "alice@remote.test", "hard"),
        )

    def test_forwarded_address_matched_through_the_quoted_original(self):
        message, alice = self.send_to("alice@remote.test")
        raw = load_bounce("postfix_dsn.eml", message_id=message.message_id).replace(
            b"Final-Recipient: rfc822; alice@remote.test\nOriginal-Recipient: rfc822;alice@remote.test",  # noqa: E501
            b"Final-Recipient: rfc822; alice.forward@elsewhere.test",
        )
        self.process(raw)
        self.assertEqual(alice.message_bounce, 1)
        self.assertEqual(self.notification(message, alice).notification_status, "bounce")

    def test_raw_report_kept_and_reset(self):
        message, alice = self.send_to("alice@remote.test")
        raw = self.feed("postfix_dsn.eml", message)
        self.assertEqual(alice.message_bounce, 1)
        notification = self.notification(message, alice)
        report = notification.bounce_report_id
        self.assertTrue(report.counted)
        self.assertIn(b"Final-Recipient: rfc822; alice@remote.test", report.attachment_id.raw)
        self.assertIn(b"User unknown", raw)
        report.action_reset()
        self.assertEqual(report.state, "reset")
        self.assertEqual(alice.message_bounce, 0)
        self.assertEqual(notification.notification_status, "sent")
        self.assertFalse(notification.failure_type)
        self.assertIn("reset", notification.failure_reason)
        report.action_reset()  # twice: nothing more
        self.assertEqual(alice.message_bounce, 0)

    def test_spam_complaint(self):
        message, alice = self.send_to("alice@remote.test")
        self.assertFalse(self.process(arf_for(message.message_id, "alice@remote.test")))
        notification = self.notification(message, alice)
        self.assertEqual(notification.failure_type, dsn.COMPLAINT_FAILURE_TYPE[0])
        self.assertEqual(alice.message_bounce, 0, "a complaint is not a bounce")
        blacklist = self.env["mail.blacklist"].search([("email", "=", "alice@remote.test")])
        self.assertTrue(blacklist.active)
        report = notification.bounce_report_id
        self.assertEqual((report.kind, report.blacklisted), ("complaint", True))
        rate = self.MailThread._mr_complaint_rate(30)
        self.assertGreaterEqual(rate["complained"], 1)
        check = self.env["mail.health.check"]._check_bounce_rate({})
        self.assertIn("complaint", check.finding)
        report.action_reset()
        self.assertFalse(blacklist.active, "the blacklist entry the complaint caused is gone")

    def test_complaint_about_a_stranger_is_ignored(self):
        message, alice = self.send_to("alice@remote.test")
        self.process(arf_for(message.message_id, "stranger@other.test"))
        self.assertFalse(
            self.env["mail.blacklist"].search(
                [("email", "in", ("stranger@other.test", "alice@remote.test"))]
            )
        )
        self.assertFalse(self.notification(message, alice).failure_type)

    def test_auto_reply_to_the_bounce_address_is_ignored(self):
        message, alice = self.send_to("alice@remote.test")
        raw = auto_reply_to(self.bounce_address).replace(
            b"Subject: Automatic reply: Nyaan",
            b"Subject: Automatic reply: Nyaan\nIn-Reply-To: " + message.message_id.encode(),
        )
        with self.assertLogs(THREAD_LOGGER, "DEBUG") as logs:
            self.assertFalse(self.process(raw))
        self.assertIn("Auto-reply", "\n".join(logs.output))
        self.assertFalse(
            self.rejection_for("<fb1b2d9ea3df46d9839a6dcb99410ebb@neko.nyaan.example.net>")
        )
        self.assertEqual(self.notification(message, alice).notification_status, "sent")
        self.assertEqual(alice.message_bounce, 0)
        self.assertFalse(self.sink.deliveries, "an auto-reply is never answered")


@tagged("mail_reliability", "post_install", "-at_install")
class TestBounceFetchmail(TestIncomingCase):
    """A DSN, an ARF report and an auto-reply through fetchmail from the real POP3 peer."""

    send_to = TestBounceParsing.send_to
    notification = TestBounceParsing.notification

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.record = cls.env["res.partner"].create({"name": "Quotation S00042"})

    def test_dsn_arf_and_auto_reply_over_pop3(self):
        message, (alice, bob, carol) = self.send_to(
            "alice@remote.test", "bob@remote.test", "carol@remote.test"
        )
        pop3 = Pop3Sink().start()
        self.addCleanup(pop3.stop)
        pop3.mailbox = [
            load_bounce("postfix_dsn.eml", message_id=message.message_id),
            arf_for(message.message_id, "bob@remote.test"),
            auto_reply_to(self.bounce_address),
        ]
        server = create_pop3_server(self.env, pop3, name="Bounce POP3", user="bounce")
        with patch.object(self.env.cr, "commit", lambda: None), self.real_smtp():
            server.fetch_mail()
        self.assertEqual(pop3.mailbox, [], "every message was taken off the server")
        self.assertEqual(self.notification(message, alice).failure_type, "mail_smtp_recipient")
        self.assertEqual(alice.message_bounce, 1)
        self.assertEqual(
            self.notification(message, bob).failure_type, dsn.COMPLAINT_FAILURE_TYPE[0]
        )
        self.assertTrue(self.env["mail.blacklist"].search([("email", "=", "bob@remote.test")]))
        self.assertEqual(self.notification(message, carol).notification_status, "sent")
        self.assertEqual(carol.message_bounce, 0)
        self.assertFalse(self.Rejection.search([("fetchmail_server_id", "=", server.id)]))
        self.assertFalse(self.sink.deliveries, "nothing was answered")
