# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""End to end against a real mail system: Odoo -> Postfix (+ OpenDKIM) -> Dovecot.

Nothing here is the SMTP sink: every reply, DSN and delay warning is written
by Postfix itself, every mailbox is served by Dovecot over POP3/IMAP, and the
DKIM signature is OpenDKIM's (:mod:`.peers.mta_kit`). The tests skip, with the
reason, only where the kit cannot run (not root, packages missing) and
``MR_REQUIRE_MTA`` is unset; ``bin/test`` installs the packages and sets it,
so there a missing kit fails the run instead of skipping it.
"""

import os
import smtplib
import unittest
import uuid
from unittest.mock import patch

from odoo import tools
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..tools.dkim_verify import verify_dkim
from .common import real_smtp
from .peers import MAILGATE, DnsPeer, mta_kit


@tagged("mail_reliability", "mail_reliability_mta", "post_install", "-at_install")
class TestPostfixEndToEnd(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reason = mta_kit.missing()
        if reason:
            if os.environ.get("MR_REQUIRE_MTA"):
                raise mta_kit.MtaKitError(f"MR_REQUIRE_MTA is set but {reason}")
            raise unittest.SkipTest(reason)
        cls.dns = DnsPeer().start()
        cls.addClassCleanup(cls.dns.stop)
        gate_args = [
            "-d",
            cls.env.cr.dbname,
            "-u",
            str(cls.env.ref("base.user_admin").id),
            "-p",
            "admin",
            "--host",
            "127.0.0.1",
            "--port",
            str(cls.http_port()),
        ]
        cls.kit = mta_kit.MtaKit(gate_script=MAILGATE, gate_args=gate_args).start()
        cls.addClassCleanup(cls.kit.stop)
        cls.dns.add(cls.kit.dkim_name, "TXT", cls.kit.dkim_record)
        cls.dns.add(cls.kit.ODOO_DOMAIN, "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("mail_reliability.dns_nameserver", "127.0.0.1")
        params.set_param("mail_reliability.dns_port", str(cls.dns.port))
        params.set_param("mail_reliability.dns_timeout", "1")
        params.set_param("mail_reliability.dkim_selectors", cls.kit.DKIM_SELECTOR)
        cls.env["ir.mail_server"].search([]).action_archive()
        cls.mail_server = cls.env["ir.mail_server"].create(
            {
                "name": "Postfix (loopback)",
                "smtp_host": "127.0.0.1",
                "smtp_port": cls.kit.smtp_port,
                "smtp_encryption": "none",
                "sequence": 1,
            }
        )
        domain = cls.env["mail.alias.domain"].create(
            {
                "name": cls.kit.ODOO_DOMAIN,
                "bounce_alias": "bounce",
                "catchall_alias": "catchall",
                "default_from": "notifications",
            }
        )
        cls.env.company.alias_domain_id = domain
        cls.env.company.email = f"info@{cls.kit.ODOO_DOMAIN}"
        cls.env.ref("base.user_admin").email = f"admin@{cls.kit.ODOO_DOMAIN}"
        cls.record = cls.env["res.partner"].create({"name": "Order S00042"})
        cls.fetchmail = {
            kind: cls.env["fetchmail.server"].create(
                {
                    "name": f"Dovecot {kind}",
                    "server_type": kind,
                    "server": "127.0.0.1",
                    "port": cls.kit.pop3_port if kind == "pop" else cls.kit.imap_port,
                    "is_ssl": False,
                    "user": cls.kit.ODOO_MAILBOX,
                    "password": cls.kit.PASSWORD,
                    "state": "done",
                }
            )
            for kind in ("pop", "imap")
        }

    def setUp(self):
        super().setUp()
        self.kit.clear(self.kit.ODOO_MAILBOX)

    # ------------------------------------------------------------------
    def partner(self, email):
        return self.env["res.partner"].create({"name": email.split("@")[0], "email": email})

    def post_and_send(self, *partners):
        """Post to these partners and run the real queue through Postfix."""
        message = self.record.with_context(mail_notify_force_send=False).message_post(
            body="<p>Your order</p>",
            subject="Order S00042",
            partner_ids=[p.id for p in partners],
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        with real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            self.env["mail.mail"].process_email_queue()
        return message

    def notification(self, message, partner):
        return message.notification_ids.filtered(
            lambda n: n.res_partner_id == partner and n.notification_type == "email"
        )

    def fetch(self, kind):
        """Odoo's own fetchmail, on the catchall mailbox Postfix delivers to."""
        # fetchmail commits after each message; the test transaction must not.
        with patch.object(self.env.cr, "commit", lambda: None), real_smtp():
            self.fetchmail[kind].fetch_mail()

    def wait_report(self, message, subject):
        """Postfix's report about ``message`` in Odoo's catchall mailbox."""
        return self.kit.wait_for(
            self.kit.ODOO_MAILBOX,
            lambda m: subject in (m["Subject"] or "") and message.message_id in m.raw.decode(),
        )

    # ------------------------------------------------------------------
    def test_outgoing_queue_id_delivery_and_dkim(self):
        alice = self.partner("alice@example.test")
        message = self.post_and_send(alice)
        notification = self.notification(message, alice)
        self.assertEqual(notification.notification_status, "sent")
        # Postfix's own reply, kept per recipient; its log names the same queue id.
        self.assertRegex(notification.smtp_reply, r"^250 2\.0\.0 Ok: queued as [0-9A-F]+$")
        queue_id = notification.smtp_queue_id
        self.assertEqual(notification.smtp_reply, f"250 2.0.0 Ok: queued as {queue_id}")
        self.kit.wait_log(rf"{queue_id}: to=<alice@example\.test>.*status=sent")
        # Delivered by Postfix to Dovecot, signed by OpenDKIM.
        delivered = self.kit.wait_for(
            "alice@example.test", lambda m: (m["Message-Id"] or "").strip() == message.message_id
        )
        self.assertIn(f"with ESMTP id {queue_id}", delivered.raw.decode())
        self.assertIn("d=odoo.test", delivered["DKIM-Signature"])
        # The health check's DKIM test, on the domain this mail was sent from, finds the
        # key the DNS peer publishes; with that resolver the signature verifies.
        Check = self.env["mail.health.check"]
        sender = tools.email_normalize(delivered["From"])
        self.assertEqual(sender.rpartition("@")[2], "odoo.test")
        # (other tests' mail in this database would add their own From domains)
        with patch.object(type(Check), "_recent_from_addresses", lambda _self, days=30: [sender]):
            checks = {c.code: c for c in Check._action_run_checks()}
        self.assertEqual(checks["dkim"].status, "ok", checks["dkim"].finding)
        resolver = Check._resolver()
        self.assertEqual(
            verify_dkim(delivered.raw, resolver.txt),
            (True, "valid signature by d=odoo.test, s=mrtest"),
        )
        # and it really checks: a changed body or signed header does not verify.
        self.assertFalse(verify_dkim(delivered.raw + b"P.S. changed\n", resolver.txt)[0])
        self.assertIn(b"Subject: Order S00042", delivered.raw)
        tampered = delivered.raw.replace(b"Subject: Order S00042", b"Subject: Order S00043")
        self.assertEqual(
            verify_dkim(tampered, resolver.txt),
            (False, "signature does not verify with the key at mrtest._domainkey.odoo.test"),
        )

    def _assert_unknown_user_bounce(self, kind):
        nobody = self.partner(f"nobody-{kind}@example.test")
        message = self.post_and_send(nobody)
        notification = self.notification(message, nobody)
        # Postfix accepted it (it does not know Dovecot's users): it left Odoo.
        self.assertEqual(notification.notification_status, "sent")
        queue_id = notification.smtp_queue_id
        self.assertTrue(queue_id)
        dsn = self.wait_report(message, "Undelivered Mail Returned to Sender")
        self.assertIn(f"X-Postfix-Queue-ID: {queue_id}", dsn.raw.decode())
        self.fetch(kind)
        self.assertEqual(notification.notification_status, "bounce")
        self.assertEqual(notification.failure_type, "mail_smtp_recipient")
        self.assertEqual((notification.smtp_code, notification.smtp_status), (550, "5.1.1"))
        self.assertIn("User doesn't exist", notification.failure_reason)
        self.assertTrue(message.has_error, "the envelope turns red")
        self.assertEqual(nobody.message_bounce, 1)
        self.assertEqual(notification.smtp_queue_id, queue_id, "support still finds it")

    def test_unknown_user_bounce_read_over_pop3(self):
        self._assert_unknown_user_bounce("pop")
        self.assertFalse(self.kit.messages(self.kit.ODOO_MAILBOX), "POP3 took it off the server")

    def test_unknown_user_bounce_read_over_imap(self):
        self._assert_unknown_user_bounce("imap")

    def test_unreachable_destination_delay_warning_stays_a_warning(self):
        slow = self.partner("carol@slow.test")
        message = self.post_and_send(slow)
        notification = self.notification(message, slow)
        self.assertEqual(notification.notification_status, "sent")
        queue_id = notification.smtp_queue_id
        self.kit.wait_log(rf"{queue_id}: to=<carol@slow\.test>.*status=deferred")
        self.wait_report(message, "Delayed Mail (still being retried)")
        self.kit.purge()  # Postfix would retry for an hour
        self.fetch("imap")
        self.assertEqual(notification.notification_status, "sent", "a warning, not a failure")
        self.assertFalse(message.has_error)
        self.assertEqual(notification.smtp_status, "4.4.1")
        self.assertIn("Connection refused", notification.delivery_warning)

    def _unknown_alias_mail(self, domain):
        msgid = f"<{uuid.uuid4().hex}@customer.example.test>"
        raw = (
            f"From: Alice <alice@example.test>\r\nTo: no-such-alias@{domain}\r\n"
            f"Subject: Where does this go?\r\nMessage-Id: {msgid}\r\n\r\nHello\r\n"
        ).encode()
        with smtplib.SMTP("127.0.0.1", self.kit.smtp_port, timeout=10) as smtp:
            smtp.sendmail("alice@example.test", [f"no-such-alias@{domain}"], raw)
        return msgid

    def test_unknown_alias_via_fetchmail_is_kept(self):
        msgid = self._unknown_alias_mail(self.kit.ODOO_DOMAIN)
        self.kit.wait_for(self.kit.ODOO_MAILBOX, lambda m: m["Message-Id"] == msgid)
        with mute_logger("odoo.addons.mail_reliability.models.mail_thread"):
            self.fetch("pop")
        rejection = self.env["mail.incoming.rejection"].search([("message_id", "=", msgid)])
        self.assertEqual(len(rejection), 1, "nothing lost")
        self.assertEqual(rejection.fetchmail_server_id, self.fetchmail["pop"])
        self.assertEqual(rejection.reason, "no_route")
        self.assertFalse(self.kit.messages(self.kit.ODOO_MAILBOX))

    def test_unknown_alias_via_mail_gateway_is_kept(self):
        msgid = self._unknown_alias_mail(self.kit.GATE_DOMAIN)
        # Postfix pipes it into the gateway script, which calls message_process over XML-RPC.
        with mute_logger("odoo.addons.mail_reliability.models.mail_thread"):
            self.kit.wait_log(r"to=<no-such-alias@gate\.test>, relay=odoogate.*status=sent")
        self.env.invalidate_all()
        rejection = self.env["mail.incoming.rejection"].search([("message_id", "=", msgid)])
        self.assertEqual(len(rejection), 1, "nothing lost")
        self.assertEqual(rejection.reason, "no_route")
        self.assertFalse(rejection.fetchmail_server_id)

    def test_kit_reports_what_is_missing(self):
        with patch.object(mta_kit.shutil, "which", lambda binary, path=None: None):
            reason = mta_kit.missing()
        self.assertIn("apt-get install -y postfix", reason)
        self.assertIn("opendkim-tools", reason)
        # and a kit that cannot start says which daemon and shows its log
        kit = mta_kit.MtaKit()
        with (
            patch.object(mta_kit, "missing", lambda: ""),
            patch.object(mta_kit.MtaKit, "_start_postfix", side_effect=mta_kit.MtaKitError("x")),
            self.assertRaises(mta_kit.MtaKitError),
        ):
            kit.start()
        self.assertIsNone(kit.root, "a failed start cleans up after itself")
