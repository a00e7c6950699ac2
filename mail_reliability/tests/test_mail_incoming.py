# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Incoming mail through the real gateway (``message_process``): unroutable mail
is kept, the sender gets exactly one bounce (none for loops), bounces are read
per recipient and only hard ones count towards blacklisting."""

import os
from datetime import timedelta
from email.message import EmailMessage
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import SmtpSinkCase, create_pop3_server
from .peers import Pop3Sink
from .test_dsn import load_bounce

THREAD_LOGGER = "odoo.addons.mail_reliability.models.mail_thread"
REJECTION_LOGGER = "odoo.addons.mail_reliability.models.mail_incoming_rejection"


def make_mail(
    to="nobody@example.com",
    sender="Alice Sender <alice@customer.test>",
    subject="Question about my order",
    msgid="<q-1@customer.test>",
    body="Hello, where is my order?",
    headers=None,
):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-Id"] = msgid
    message["Date"] = "Tue, 10 Nov 2026 09:00:00 +0000"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


@tagged("mail_reliability", "post_install", "-at_install")
class TestIncomingCase(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alias_domain = cls.env["mail.alias.domain"].search([("name", "=", "example.com")])
        if not cls.alias_domain:
            cls.alias_domain = cls.env["mail.alias.domain"].create(
                {"name": "example.com", "bounce_alias": "bounce", "catchall_alias": "catchall"}
            )
        cls.env.company.alias_domain_id = cls.alias_domain
        cls.env.company.email = "info@example.com"
        cls.bounce_address = cls.alias_domain.bounce_email
        cls.catchall_address = cls.alias_domain.catchall_email
        cls.Rejection = cls.env["mail.incoming.rejection"]
        cls.MailThread = cls.env["mail.thread"]

    def process(self, raw, model=None):
        with self.real_smtp():
            return self.MailThread.message_process(model, raw)

    def rejection_for(self, msgid):
        return self.Rejection.search([("message_id", "=", msgid)])

    def bounces_to(self, address):
        return self.sink.deliveries_to(address)

    def known_sender(self, address="alice@customer.test"):
        """Automatic answers go only to trusted senders: make ``address`` a contact."""
        return self.env["res.partner"].create({"name": address, "email": address})


@tagged("mail_reliability", "post_install", "-at_install")
class TestUnroutableCapture(TestIncomingCase):
    def test_unknown_alias_is_kept_and_bounced_once(self):
        self.known_sender()
        raw = make_mail()
        with self.assertLogs(REJECTION_LOGGER, "WARNING") as logs:
            result = self.process(raw)
        self.assertFalse(result)
        self.assertIn("rejected incoming log", logs.output[0])
        rejection = self.rejection_for("<q-1@customer.test>")
        self.assertEqual(len(rejection), 1)
        self.assertEqual(rejection.reason, "no_route")
        self.assertIn("No possible route", rejection.reason_detail)
        self.assertEqual(rejection.email_from, "Alice Sender <alice@customer.test>")
        self.assertEqual(rejection.email_from_normalized, "alice@customer.test")
        self.assertEqual(rejection.email_to, "nobody@example.com")
        self.assertEqual(rejection.subject, "Question about my order")
        self.assertEqual(rejection.date, fields.Datetime.to_datetime("2026-11-10 09:00:00"))
        # the .eml is the message exactly as received
        self.assertEqual(rejection.attachment_id.raw, raw)
        self.assertEqual(rejection.attachment_id.mimetype, "message/rfc822")
        self.assertEqual(rejection.attachment_id.name, "Question about my order.eml")
        self.assertEqual(rejection.eml_size, len(raw))
        # exactly one "550 mailbox unavailable" notice, marked as automatic
        (bounce,) = self.bounces_to("alice@customer.test")
        notice = bounce.message
        self.assertEqual(rejection.bounce_state, "sent")
        self.assertIn("MAILER-DAEMON", notice["From"])
        self.assertEqual(notice["Auto-Submitted"], "auto-replied")
        self.assertEqual(notice["Subject"], "Undeliverable: Question about my order")
        self.assertIn("<q-1@customer.test>", notice["References"])
        text = notice.get_body(("plain", "html")).get_content()
        self.assertIn("550 5.1.1 Mailbox unavailable", text)
        self.assertIn("nobody@example.com", text)

    def test_same_message_again_is_not_duplicated_nor_bounced_twice(self):
        self.known_sender()
        raw = make_mail()
        self.process(raw)
        self.process(raw)  # e.g. a POP mailbox that did not delete it
        rejection = self.rejection_for("<q-1@customer.test>")
        self.assertEqual(len(rejection), 1)
        self.assertEqual(rejection.received_count, 2)
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 1)

    def test_reply_to_deleted_thread(self):
        self.known_sender()
        partner = self.env["res.partner"].create({"name": "Gone", "email": "gone@remote.test"})
        message = partner.message_post(body="Hello", message_type="comment")
        msgid = message.message_id
        partner.unlink()  # the thread and its messages are gone
        raw = make_mail(
            to=self.catchall_address,
            subject="Re: Hello",
            msgid="<reply-1@customer.test>",
            headers={"In-Reply-To": msgid, "References": msgid},
        )
        self.assertFalse(self.process(raw))
        rejection = self.rejection_for("<reply-1@customer.test>")
        self.assertEqual(rejection.reason, "unknown_reply")
        self.assertEqual(rejection.bounce_state, "sent")
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 1)  # stock's notice

    def test_alias_refusing_the_sender(self):
        self.env["mail.alias"].create(
            {
                "alias_name": "partners-only",
                "alias_model_id": self.env["ir.model"]._get_id("res.partner"),
                "alias_contact": "partners",
                "alias_domain_id": self.alias_domain.id,
            }
        )
        # not a contact (the alias refuses it), but authenticated by our receiving host
        self.env["ir.config_parameter"].sudo().set_param(
            "mail_reliability.authserv_id", "mx.example.com"
        )
        raw = make_mail(
            to="partners-only@example.com",
            msgid="<refused-1@customer.test>",
            headers={
                "Authentication-Results": "mx.example.com; dmarc=pass header.from=customer.test"
            },
        )
        self.assertFalse(self.process(raw))
        rejection = self.rejection_for("<refused-1@customer.test>")
        self.assertEqual(rejection.reason, "alias_refused")
        self.assertIn("partners-only", rejection.reason_detail)
        self.assertEqual(rejection.bounce_state, "sent")
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 1)

    def test_routed_mail_is_not_captured(self):
        self.env["mail.alias"].create(
            {
                "alias_name": "contact",
                "alias_model_id": self.env["ir.model"]._get_id("res.partner"),
                "alias_domain_id": self.alias_domain.id,
            }
        )
        thread_id = self.process(make_mail(to="contact@example.com", subject="New lead"))
        self.assertTrue(thread_id)
        self.assertEqual(self.env["res.partner"].browse(thread_id).name, "New lead")
        self.assertFalse(self.Rejection.search([]))
        self.assertFalse(self.sink.deliveries)

    def test_reinject_after_fixing_the_alias(self):
        self.known_sender()
        raw = make_mail(to="support@example.com", subject="Printer broken")
        self.process(raw)
        rejection = self.rejection_for("<q-1@customer.test>")
        self.assertEqual(rejection.reason, "no_route")
        # still no alias: re-injecting fails again, no second bounce, same record
        with self.real_smtp():
            action = rejection.action_reinject()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual(rejection.state, "rejected")
        self.assertEqual(self.Rejection.search_count([]), 1)
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 1)
        # the administrator creates the alias, then re-injects
        self.env["mail.alias"].create(
            {
                "alias_name": "support",
                "alias_model_id": self.env["ir.model"]._get_id("res.partner"),
                "alias_domain_id": self.alias_domain.id,
            }
        )
        with self.real_smtp():
            action = rejection.action_reinject()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(rejection.state, "reinjected")
        self.assertTrue(rejection.reinject_date)
        partner = self.env["res.partner"].search([("name", "=", "Printer broken")])
        self.assertEqual(len(partner), 1)
        self.assertIn("Printer broken", partner.message_ids[0].subject)
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 1)

    def test_download_and_delete(self):
        self.process(make_mail())
        rejection = self.rejection_for("<q-1@customer.test>")
        action = rejection.action_download_eml()
        attachment = rejection.attachment_id
        self.assertEqual(action["url"], f"/web/content/{attachment.id}?download=true")
        rejection.unlink()
        self.assertFalse(attachment.exists())

    def test_admin_only(self):
        self.process(make_mail())
        rejection = self.rejection_for("<q-1@customer.test>")
        user = new_test_user(self.env, "mr_incoming_user", groups="base.group_user")
        with self.assertRaises(AccessError):
            rejection.with_user(user).read(["subject"])
        with self.assertRaises(AccessError):
            rejection.attachment_id.with_user(user).read(["raw"])
        menu = self.env.ref("mail_reliability.mail_incoming_rejection_menu")
        self.assertEqual(menu.parent_id, self.env.ref("base.menu_email"))
        self.assertEqual(menu.groups_id, self.env.ref("base.group_system"))

    def test_autovacuum(self):
        self.process(make_mail(msgid="<old@customer.test>"))
        self.process(make_mail(msgid="<new@customer.test>", sender="bob@customer.test"))
        old = self.rejection_for("<old@customer.test>")
        attachment = old.attachment_id
        self.env.cr.execute(
            "UPDATE mail_incoming_rejection SET create_date = %s WHERE id = %s",
            [fields.Datetime.now() - timedelta(days=40), old.id],
        )
        self.Rejection.invalidate_model()
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("mail_reliability.vacuum_rejection_days", "0")
        self.Rejection._gc_rejections()
        self.assertTrue(old.exists())
        params.set_param("mail_reliability.vacuum_rejection_days", "30")
        self.Rejection._gc_rejections()
        self.assertFalse(old.exists())
        self.assertFalse(attachment.exists())
        self.assertTrue(self.rejection_for("<new@customer.test>"))


@tagged("mail_reliability", "post_install", "-at_install")
class TestBounceLoopSafety(TestIncomingCase):
    def assert_kept_without_answer(self, raw, msgid, why):
        self.assertFalse(self.process(raw))
        rejection = self.rejection_for(msgid)
        self.assertEqual(len(rejection), 1)
        self.assertEqual(rejection.bounce_state, "suppressed")
        self.assertIn(why, rejection.bounce_note)
        self.assertFalse(self.sink.deliveries)

    def test_bounce_of_a_bounce(self):
        """A plain-text non-delivery notice sent to an unknown address: never answered."""
        raw = make_mail(
            sender="Mail Delivery System <postmaster@remote.test>",
            subject="Returned mail: see transcript for details",
            msgid="<ndr-1@remote.test>",
            body="The original message was undeliverable.",
        )
        self.assert_kept_without_answer(raw, "<ndr-1@remote.test>", "mail system")

    def test_dsn_to_our_bounce_notice_is_not_answered(self):
        """Our 550 notice bounced back: handled as a bounce, nothing is sent."""
        raw = load_bounce(
            "postfix_dsn.eml", recipient="ghost@nowhere.test", message_id="<gone@example.com>"
        )
        self.assertFalse(self.process(raw))
        self.assertFalse(self.sink.deliveries)

    def test_auto_submitted_and_null_sender(self):
        self.assert_kept_without_answer(
            make_mail(msgid="<auto-1@customer.test>", headers={"Auto-Submitted": "auto-replied"}),
            "<auto-1@customer.test>",
            "Auto-Submitted",
        )
        self.assert_kept_without_answer(
            make_mail(msgid="<null-1@customer.test>", headers={"Return-Path": "<>"}),
            "<null-1@customer.test>",
            "null Return-Path",
        )

    def test_own_bounce_address_is_never_answered(self):
        raw = make_mail(sender=self.bounce_address, msgid="<own-1@example.com>")
        self.assert_kept_without_answer(raw, "<own-1@example.com>", "our own addresses")

    def test_rate_limit_per_sender(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "mail_reliability.incoming_bounce_limit", "3"
        )
        self.known_sender()
        self.known_sender("carol@customer.test")
        for index in range(5):
            self.process(make_mail(msgid=f"<flood-{index}@customer.test>"))
        self.process(make_mail(msgid="<other@customer.test>", sender="carol@customer.test"))
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 3)
        self.assertEqual(len(self.bounces_to("carol@customer.test")), 1)
        flood = self.Rejection.search([("email_from_normalized", "=", "alice@customer.test")])
        self.assertEqual(len(flood), 5)  # every message is kept, answered or not
        self.assertEqual(sorted(flood.mapped("bounce_state")), ["sent"] * 3 + ["suppressed"] * 2)
        self.assertIn(
            "rate limit", flood.filtered(lambda r: r.bounce_state == "suppressed")[0].bounce_note
        )


@tagged("mail_reliability", "post_install", "-at_install")
class TestMalformedIncoming(TestIncomingCase):
    def test_truncated_mime(self):
        raw = (
            b"From: alice@customer.test\r\nTo: nobody@example.com\r\n"
            b"Subject: Truncated\r\nMessage-Id: <trunc-1@customer.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
            b"--XYZ\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
            b"--XYZ\r\nContent-Type: application/pdf; name=a.pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfs"
        )
        self.assertFalse(self.process(raw))
        rejection = self.rejection_for("<trunc-1@customer.test>")
        self.assertEqual(rejection.reason, "no_route")
        self.assertEqual(rejection.attachment_id.raw, raw)

    def test_wrong_charsets_kept_with_a_clear_logged_error(self):
        self.env["mail.alias"].create(
            {
                "alias_name": "contact",
                "alias_model_id": self.env["ir.model"]._get_id("res.partner"),
                "alias_domain_id": self.alias_domain.id,
            }
        )
        raw = (
            b"From: =?x-unknown-charset?q?Al=E9?= <alice@customer.test>\r\n"
            b"To: contact@example.com\r\nSubject: =?utf-8?b?////?=\r\n"
            b"Message-Id: <charset-1@customer.test>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9 cr\xe8me \xff\xfe\r\n"
        )
        with self.assertLogs(THREAD_LOGGER, "WARNING") as logs:
            self.assertFalse(self.process(raw))
        self.assertIn("could not be", "\n".join(logs.output))
        rejection = self.rejection_for("<charset-1@customer.test>")
        self.assertEqual(rejection.reason, "parse_error")
        self.assertIn("LookupError", rejection.reason_detail)
        self.assertEqual(rejection.attachment_id.raw, raw)
        self.assertEqual(rejection.bounce_state, "none")  # our problem, not the sender's
        self.assertFalse(self.sink.deliveries)

    def test_ten_megabyte_attachment(self):
        message = EmailMessage()
        message["From"] = "alice@customer.test"
        message["To"] = "nobody@example.com"
        message["Subject"] = "Big file"
        message["Message-Id"] = "<big-1@customer.test>"
        message.set_content("See attached")
        message.add_attachment(
            os.urandom(10 * 1024 * 1024),
            maintype="application",
            subtype="octet-stream",
            filename="big.bin",
        )
        raw = message.as_bytes()
        self.assertGreater(len(raw), 10 * 1024 * 1024)
        self.known_sender()
        self.assertFalse(self.process(raw))
        rejection = self.rejection_for("<big-1@customer.test>")
        self.assertEqual(rejection.eml_size, len(raw))
        # over the default 10 MB cap: headers and the text part are kept
        self.assertTrue(rejection.eml_truncated)
        self.assertLess(rejection.attachment_id.file_size, 10 * 1024)
        self.assertIn(b"See attached", rejection.attachment_id.raw)
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 1)


@tagged("mail_reliability", "post_install", "-at_install")
class TestBounceParsing(TestIncomingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.record = cls.env["res.partner"].create({"name": "Quotation S00042"})

    def send_to(self, *emails):
        """Post a message to partners with these emails and really send it."""
        partners = self.env["res.partner"]
        for address in emails:
            partners |= self.env["res.partner"].create({"name": address, "email": address})
        message = self.record.message_post(
            body="Your quotation",
            partner_ids=partners.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        with self.real_smtp():
            self.env["mail.mail"].search([("mail_message_id", "=", message.id)]).send()
        notifications = message.notification_ids.filtered(lambda n: n.notification_type == "email")
        self.assertEqual(set(notifications.mapped("notification_status")), {"sent"})
        self.sink.reset()
        return message, partners

    def feed(self, fixture, message, **extra):
        raw = load_bounce(fixture, message_id=message.message_id, **extra)
        self.assertFalse(self.process(raw))
        self.assertFalse(self.sink.deliveries, "a bounce is never answered")
        return raw

    def notification(self, message, partner):
        return message.notification_ids.filtered(lambda n: n.res_partner_id == partner)

    def assert_bounce(self, fixture, failure_type, status, code, counted):
        message, partner = self.send_to("alice@remote.test")
        self.feed(fixture, message)
        notification = self.notification(message, partner)
        self.assertEqual(notification.notification_status, "bounce")
        self.assertEqual(notification.failure_type, failure_type)
        self.assertEqual(notification.smtp_status, status)
        self.assertEqual(notification.smtp_code, code)
        self.assertTrue(notification.failure_reason)
        self.assertTrue(message.has_error, "the envelope turns red")
        self.assertEqual(partner.message_bounce, 1 if counted else 0)
        return notification

    def test_postfix_dsn(self):
        notification = self.assert_bounce(
            "postfix_dsn.eml", "mail_smtp_recipient", "5.1.1", 550, counted=True
        )
        self.assertIn("User unknown in virtual mailbox table", notification.failure_reason)
        self.assertIn("mx.remote.test", notification.failure_reason)
        self.assertIn("does not exist", notification.failure_explanation)

    def test_exchange_ndr(self):
        notification = self.assert_bounce(
            "exchange_ndr.eml", "mail_smtp_recipient", "5.1.10", 550, counted=True
        )
        self.assertIn("RecipientNotFound", notification.failure_reason)

    def test_gmail_bounce(self):
        self.assert_bounce("gmail_dsn.eml", "mail_smtp_recipient", "5.1.1", 550, counted=True)

    def test_nonstandard_bounce_without_multipart_report(self):
        notification = self.assert_bounce(
            "qmail_nonstandard.eml", "mail_smtp_recipient", "5.1.1", 0, counted=True
        )
        self.assertIn("no mailbox here", notification.failure_reason)

    def test_policy_bounce_does_not_count(self):
        self.assert_bounce("ses_policy.eml", "mail_smtp_policy", "5.7.1", 554, counted=False)

    def test_sender_authentication_bounce_does_not_count(self):
        self.assert_bounce(
            "dmarc_sender_auth.eml", "mail_smtp_sender", "5.7.26", 550, counted=False
        )

    def test_delayed_dsn_is_a_warning_only(self):
        message, partner = self.send_to("alice@remote.test")
        self.feed("postfix_delayed.eml", message)
        notification = self.notification(message, partner)
        self.assertEqual(notification.notification_status, "sent")
        self.assertFalse(notification.failure_type)
        self.assertIn("Greylisting", notification.delivery_warning)
        self.assertTrue(notification.delivery_warning_date)
        self.assertFalse(message.has_error, "a delay does not turn the envelope red")
        self.assertEqual(partner.message_bounce, 0)

    def test_multi_recipient_dsn(self):
        message, partners = self.send_to("alice@remote.test", "bob@remote.test", "carol@slow.test")
        alice, bob, carol = partners
        self.feed("multi_recipient.eml", message)
        self.assertEqual(self.notification(message, alice).failure_type, "mail_smtp_recipient")
        self.assertEqual(self.notification(message, bob).notification_status, "bounce")
        self.assertEqual(self.notification(message, bob).failure_type, "mail_bounce")
        self.assertEqual(self.notification(message, carol).notification_status, "sent")
        self.assertTrue(self.notification(message, carol).delivery_warning)
        self.assertEqual(
            (alice.message_bounce, bob.message_bounce, carol.message_bounce), (1, 0, 0)
        )

    def test_hard_bounces_reach_the_blacklist_counter_only(self):
        """Repeated policy bounces never grow the counter; hard ones do."""
        message, partner = self.send_to("alice@remote.test")
        for index in range(3):
            self.feed("ses_policy.eml", message, subject=f"policy {index}")
        self.assertEqual(partner.message_bounce, 0)
        self.feed("postfix_dsn.eml", message)
        self.assertEqual(partner.message_bounce, 1)

    def test_unmatched_bounce_is_logged(self):
        raw = b"""From: MAILER-DAEMON@remote.test
To: bounce@example.com
Subject: Undelivered
Message-Id: <unmatched-1@remote.test>

Something went wrong, no details.
"""
        self.assertFalse(self.process(raw))
        rejection = self.rejection_for("<unmatched-1@remote.test>")
        self.assertEqual(rejection.reason, "unmatched_bounce")
        self.assertEqual(rejection.bounce_state, "none")
        self.assertFalse(self.sink.deliveries)


@tagged("mail_reliability", "post_install", "-at_install")
class TestFetchmailNeverCrashes(TestIncomingCase):
    """Odoo's fetchmail against a real POP3 peer: every message is taken off the
    server, and what cannot be routed or read is in the rejected log."""

    def test_pop3_fetch_with_malformed_mail(self):
        pop3 = Pop3Sink().start()
        self.addCleanup(pop3.stop)
        self.env["mail.alias"].create(
            {
                "alias_name": "contact",
                "alias_model_id": self.env["ir.model"]._get_id("res.partner"),
                "alias_domain_id": self.alias_domain.id,
            }
        )
        pop3.mailbox = [
            make_mail(to="contact@example.com", subject="Good one", msgid="<ok@customer.test>"),
            make_mail(msgid="<lost@customer.test>"),
            b"From: alice@customer.test\r\nTo: contact@example.com\r\n"
            b"Message-Id: <bad-charset@customer.test>\r\n"
            b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n\xe9\xff\r\n",
            b"From: alice@customer.test\r\nTo: nobody@example.com\r\n"
            b"Message-Id: <truncated@customer.test>\r\n"
            b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: te',
        ]
        server = create_pop3_server(self.env, pop3)
        # fetchmail commits after each message; the test transaction must not.
        with patch.object(self.env.cr, "commit", lambda: None), self.real_smtp():
            server.fetch_mail()
        # fetchmail deletes a POP message only when message_process did not raise
        self.assertEqual(pop3.mailbox, [], "every message was taken off the server")
        self.assertTrue(self.env["res.partner"].search([("name", "=", "Good one")]))
        rejections = self.Rejection.search([("fetchmail_server_id", "=", server.id)])
        self.assertEqual(
            sorted(rejections.mapped("message_id")),
            ["<bad-charset@customer.test>", "<lost@customer.test>", "<truncated@customer.test>"],
        )
        self.assertEqual(
            dict(zip(rejections.mapped("message_id"), rejections.mapped("reason"), strict=True))[
                "<bad-charset@customer.test>"
            ],
            "parse_error",
        )
