# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The bulk-sender health check's one-click unsubscribe rule, with Email Marketing.

The check reads the headers stock Email Marketing prepares for a campaign mail;
these tests send a real campaign through the SMTP sink and compare."""

from datetime import datetime
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.mail_reliability.tests.peers import DnsPeer
from odoo.addons.mail_reliability.tools import dns_checks

from .test_mailing_queue import MailingQueueCase


@tagged("mail_reliability", "post_install", "-at_install")
class TestBulkSenderUnsubscribe(MailingQueueCase):
    def send_campaign(self):
        mailing = self.create_mailing("Newsletter", datetime(2026, 1, 1, 9))
        mailing.action_launch()
        self.process_queue()
        with self.real_smtp():
            self.env["mail.mail"].process_email_queue()
        self.assertEqual(len(self.sink.deliveries), 4)
        return self.sink.deliveries[0].message

    def test_rule_reads_what_campaign_mail_carries(self):
        ICP = self.env["ir.config_parameter"].sudo()
        Check = self.env["mail.health.check"]
        ICP.set_param("web.base.url", "https://news.corp-mr.net")
        passed, text = Check._bulk_sender_unsubscribe()
        self.assertIs(passed, True, text)
        self.assertIn("https://news.corp-mr.net/mailing/", text)
        self.assertNotIn("hash_token", text, "no recipient's token in the finding")
        # a campaign mail really sent carries those headers
        message = self.send_campaign()
        self.assertTrue(message["List-Unsubscribe"].startswith("<https://news.corp-mr.net/"))
        self.assertEqual(message["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        self.assertIs(dns_checks.one_click_unsubscribe(dict(message.items()))[0], True)
        # served over http: Gmail and RFC 8058 want https
        ICP.set_param("web.base.url", "http://news.corp-mr.net")
        passed, text = Check._bulk_sender_unsubscribe()
        self.assertIs(passed, False)
        self.assertIn("not https (http://news.corp-mr.net/mailing/", text)
        self.assertIn("Campaign mail:", text)

    def test_rule_fails_when_the_headers_are_gone(self):
        """If something removes stock's headers from campaign mail, the check says so."""
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "https://n.corp-mr.net")
        MailMail = type(self.env["mail.mail"])
        prepare = MailMail._prepare_outgoing_list

        def without_post(mails, *args, **kwargs):
            emails = prepare(mails, *args, **kwargs)
            for email in emails:
                email["headers"].pop("List-Unsubscribe-Post", None)
            return emails

        with patch.object(MailMail, "_prepare_outgoing_list", without_post):
            passed, text = self.env["mail.health.check"]._bulk_sender_unsubscribe()
            self.assertIs(passed, False)
            self.assertIn("no List-Unsubscribe-Post", text)
            # what a campaign mail sent that way carries agrees
            message = self.send_campaign()
        self.assertIsNone(message["List-Unsubscribe-Post"])
        self.assertIs(dns_checks.one_click_unsubscribe(dict(message.items()))[0], False)

    def test_check_row_with_campaign_mail(self):
        dns = DnsPeer().start()  # an empty zone: no SPF, DKIM or DMARC anywhere
        self.addCleanup(dns.stop)
        ICP = self.env["ir.config_parameter"].sudo()
        ICP.set_param("mail_reliability.dns_nameserver", "127.0.0.1")
        ICP.set_param("mail_reliability.dns_port", str(dns.port))
        ICP.set_param("web.base.url", "http://n.corp-mr.net")
        Check = self.env["mail.health.check"]
        with patch.object(type(Check), "_recent_from_addresses", lambda _self, days=30: []):
            finding = (
                Check._ensure_rows()
                .filtered(lambda c: c.code == "bulk_sender")
                ._run_one(Check._gather_context())
            )
        self.assertIn("Campaign mail: the one-click unsubscribe link is not https", finding.finding)
        self.assertIn(finding.status, ("warning", "error"))
