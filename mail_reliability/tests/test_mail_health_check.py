# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The email health dashboard, each check with a good and a bad configuration.

DNS is answered by a real DNS server on loopback (:class:`.peers.DnsPeer`)
that the checks reach through the configurable resolver settings.
"""

import time
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools.translate import code_translations

from ..models.mail_health_check import MailHealthCheck
from ..tools.delivery_stats import DeliveryCounts
from .common import SmtpSinkCase
from .peers import BlackHoleDns, DnsPeer
from .test_dns_checks import dkim_record

DKIM_KEY = dkim_record(1024)


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailHealthCheck(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns = DnsPeer().start()
        cls.addClassCleanup(cls.dns.stop)
        cls.alias_domain = cls.env["mail.alias.domain"].create({"name": "corp-mr.net"})
        cls.env.company.alias_domain_id = cls.alias_domain
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.email = "admin@corp-mr.net"
        ICP = cls.env["ir.config_parameter"].sudo()
        ICP.set_param("mail_reliability.dns_nameserver", "127.0.0.1")
        ICP.set_param("mail_reliability.dns_port", str(cls.dns.port))
        ICP.set_param("mail_reliability.dns_timeout", "1")
        ICP.set_param("mail_reliability.dkim_selectors", "s1")
        # campaign mail's one-click unsubscribe link must be https (bulk-sender rules)
        ICP.set_param("web.base.url", "https://odoo.corp-mr.net")
        cls.Check = cls.env["mail.health.check"]

    def setUp(self):
        super().setUp()
        self.dns.reset()
        # a good zone: the sink (127.0.0.1) is authorised, DKIM and DMARC published
        self.dns.add("corp-mr.net", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
        self.dns.add("s1._domainkey.corp-mr.net", "TXT", DKIM_KEY)
        self.dns.add("_dmarc.corp-mr.net", "TXT", "v=DMARC1; p=quarantine; aspf=s")
        # only the alias domain is a sending domain, unless a test says otherwise
        self.from_addresses = []
        patcher = patch.object(
            type(self.Check), "_recent_from_addresses", lambda _self, days=30: self.from_addresses
        )
        patcher.start()
        self.addCleanup(patcher.stop)

    def run_checks(self):
        return {c.code: c for c in self.Check._action_run_checks()}

    # ------------------------------------------------------------------
    def test_all_good(self):
        checks = self.run_checks()
        for code in ("admin_email", "spf", "dkim", "dmarc", "bulk_sender", "domain_failures"):
            with self.subTest(code=code):
                self.assertEqual(checks[code].status, "ok", checks[code].finding)
        self.assertEqual(len(self.Check.search([])), 10, "one row per check, no duplicates")
        self.run_checks()
        self.assertEqual(len(self.Check.search([])), 10)
        self.assertIn("quarantine", checks["dmarc"].finding)
        self.assertIn("SPF alignment strict", checks["dmarc"].finding)

    def test_admin_email_placeholder(self):
        for email in ("admin@example.com", "admin@example.org", "root@localhost", False):
            with self.subTest(email=email):
                self.admin.email = email
                check = self.run_checks()["admin_email"]
                self.assertEqual(check.status, "error")
                self.assertIn("placeholder", check.finding)
                self.assertIn("admin@corp-mr.net", check.fix)
        action = check.action_open_fix()  # another administrator: the admin's user form
        self.assertEqual((action["res_model"], action["res_id"]), ("res.users", self.admin.id))
        self.assertEqual(action["target"], "current")
        action = check.with_user(self.admin).action_open_fix()  # the admin: Preferences
        self.assertEqual((action["res_model"], action["res_id"]), ("res.users", self.admin.id))
        self.assertEqual(action["target"], "new")
        self.admin.email = "admin@yourcompany.example.com"  # Odoo's demo placeholder
        self.assertEqual(self.run_checks()["admin_email"].status, "error")
        self.admin.email = "it@corp-mr.net"
        self.assertEqual(self.run_checks()["admin_email"].status, "ok")

    def test_sending_identity(self):
        self.assertEqual(self.run_checks()["identity"].status, "ok")
        self.mail_server.from_filter = "corp-mr.net"
        self.from_addresses = ["jane@corp-mr.net", "bob@other.test"]
        check = self.run_checks()["identity"]
        self.assertEqual(check.status, "warning")
        self.assertIn("bob@other.test", check.finding)
        self.assertNotIn("jane@corp-mr.net", check.finding)
        self.mail_server.from_filter = "corp-mr.net,other.test"
        self.assertEqual(self.run_checks()["identity"].status, "ok")
        self.env.company.alias_domain_id = False
        self.env["mail.alias.domain"].search([]).unlink()
        check = self.run_checks()["identity"]
        self.assertEqual(check.status, "error")
        self.assertIn("no alias domain", check.finding)

    def test_recent_from_addresses_are_collected(self):
        patch.stopall()
        self.create_outgoing_mail("x@dest.test", email_from='"Jane" <Jane@Other.Test>')
        self.assertIn("jane@other.test", self.Check._recent_from_addresses())

    def test_spf_bad(self):
        self.dns.reset()
        self.dns.add("corp-mr.net", "TXT", "v=spf1 ip4:203.0.113.0/24 -all")
        check = self.run_checks()["spf"]
        self.assertEqual(check.status, "error")
        self.assertIn("not authorised", check.finding)
        self.assertIn("127.0.0.1", check.details)
        self.dns.reset()
        check = self.run_checks()["spf"]
        self.assertEqual(check.status, "error")
        self.assertIn("no SPF record", check.finding)

    def test_spf_by_host_name_and_second_domain(self):
        self.mail_server.smtp_host = "smtp.corp-mr.net"
        self.dns.add("smtp.corp-mr.net", "A", "127.0.0.1")
        self.assertEqual(self.run_checks()["spf"].status, "ok")
        # a From domain in use without SPF makes the check red, naming that domain
        self.from_addresses = ["sales@shop.test"]
        check = self.run_checks()["spf"]
        self.assertEqual(check.status, "error")
        self.assertIn("shop.test", check.finding)

    def test_spf_macros(self):
        """Providers' RFC 7208 macros are evaluated (they used to give a false permerror)."""
        self.dns.reset()
        self.dns.add(
            "corp-mr.net",
            "TXT",
            "v=spf1 include:%{ir}.%{v}.%{d}.spf.has.pphosted.com "
            "exists:%{i}._spf.mta.salesforce.com -all",
        )
        self.dns.add("1.0.0.127.in-addr.corp-mr.net.spf.has.pphosted.com", "TXT", "v=spf1 -all")
        self.dns.add("127.0.0.1._spf.mta.salesforce.com", "A", "127.0.0.2")
        check = self.run_checks()["spf"]
        self.assertEqual(check.status, "ok", check.finding)
        self.assertIn("exists:%{i}._spf.mta.salesforce.com", check.details)
        self.dns.records.pop(("127.0.0.1._spf.mta.salesforce.com", "A"))
        check = self.run_checks()["spf"]
        self.assertEqual(check.status, "error")
        self.assertIn("not authorised", check.finding)

    def test_dkim_and_dmarc_bad(self):
        self.dns.reset()
        self.dns.add("corp-mr.net", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        self.dns.add("_dmarc.corp-mr.net", "TXT", "v=DMARC1; p=none")
        checks = self.run_checks()
        self.assertEqual(checks["dkim"].status, "error")
        self.assertIn("s1._domainkey.corp-mr.net", checks["dkim"].finding)
        self.assertEqual(checks["dmarc"].status, "warning")
        self.assertIn("policy none", checks["dmarc"].finding)
        self.env["ir.config_parameter"].set_param("mail_reliability.dkim_selectors", "")
        check = self.run_checks()["dkim"]
        self.assertEqual(check.status, "warning")
        self.assertIn("no usable DKIM key found (selectors tried: google, selector1", check.finding)
        self.assertIn("everlytickey1", check.details)

    def test_dkim_found_without_typing_a_selector(self):
        self.env["ir.config_parameter"].set_param("mail_reliability.dkim_selectors", "")
        self.dns.add("google._domainkey.corp-mr.net", "TXT", DKIM_KEY)
        self.dns.add("selector1._domainkey.corp-mr.net", "TXT", "v=DKIM1; k=rsa; p=")
        check = self.run_checks()["dkim"]
        self.assertEqual(check.status, "ok", check.finding)
        self.assertIn("published for google, s1", check.finding)
        self.assertIn("Revoked: selector1", check.finding)
        self.assertIn("selector1._domainkey.corp-mr.net: revoked (empty p=)", check.details)
        # a forged huge record at a common selector is judged, not fatal
        self.dns.add("k1._domainkey.corp-mr.net", "TXT", "v=DKIM1; p=" + "A" * 20000)
        check = self.run_checks()["dkim"]
        self.assertEqual(check.status, "warning")
        self.assertIn("k1._domainkey.corp-mr.net is not a valid DKIM key", check.finding)
        self.assertLess(len(check.details), 5000)

    def _gmail_volume(self, sent, days_ago=0):
        """Delivery statistics: ``sent`` recipients at gmail.com accepted ``days_ago``."""
        counts = DeliveryCounts()
        counts.add([f"u{i}@gmail.com" for i in range(sent)], "attempted")
        counts.add([f"u{i}@gmail.com" for i in range(sent)], "sent")
        self.env["mail.delivery.stats"]._mr_write_counts(
            counts, day=fields.Date.today() - timedelta(days=days_ago)
        )

    def test_bulk_sender(self):
        """OK when every rule holds; a failed rule is a warning below the Gmail bulk
        volume and an error from 5,000 a day to Gmail (delivery statistics)."""
        Stats = self.env["mail.delivery.stats"]
        Stats.search([]).unlink()  # rolled back with the test
        check = self.run_checks()["bulk_sender"]
        self.assertEqual(check.status, "ok", check.finding)
        self.assertIn("SPF, DKIM and aligned DMARC for corp-mr.net", check.finding)
        self.assertIn("Peak of 0 emails a day to Gmail", check.finding)
        self.assertIn("from 5000 a day", check.finding)
        # below the volume: a missing DMARC record is a warning
        self._gmail_volume(4999, days_ago=3)
        self._gmail_volume(100)
        self.dns.records.pop(("_dmarc.corp-mr.net", "TXT"))
        check = self.run_checks()["bulk_sender"]
        self.assertEqual(check.status, "warning", check.finding)
        self.assertIn("corp-mr.net: no valid DMARC record", check.finding)
        self.assertIn("Peak of 4999 emails a day", check.finding)
        self.assertIn("support.google.com", check.fix)
        # a day at 5,000 (gmail.com and googlemail.com together): a bulk sender
        counts = DeliveryCounts()
        counts.add(["v@googlemail.com"], "sent")
        self.env["mail.delivery.stats"]._mr_write_counts(
            counts, day=fields.Date.today() - timedelta(days=3)
        )
        check = self.run_checks()["bulk_sender"]
        self.assertEqual(check.status, "error", check.finding)
        self.assertIn("Peak of 5000 emails a day", check.finding)
        # older than 30 days does not count; other recipient domains do not count
        Stats.search([]).unlink()
        self._gmail_volume(6000, days_ago=31)
        counts = DeliveryCounts()
        counts.add([f"w{i}@corp-mr.net" for i in range(6000)], "sent")
        Stats._mr_write_counts(counts)
        self.assertEqual(self.run_checks()["bulk_sender"].status, "warning")
        # the threshold is a parameter
        self.env["ir.config_parameter"].set_param(
            "mail_reliability.bulk_sender_daily_volume", "6000"
        )
        self._gmail_volume(5999)
        self.assertEqual(self.run_checks()["bulk_sender"].status, "warning")
        self._gmail_volume(1)
        self.assertEqual(self.run_checks()["bulk_sender"].status, "error")
        # DMARC back: all rules hold, whatever the volume
        self.dns.add("_dmarc.corp-mr.net", "TXT", "v=DMARC1; p=none")
        check = self.run_checks()["bulk_sender"]
        self.assertEqual(check.status, "ok", check.finding)

    def test_bulk_sender_misaligned_from_domain(self):
        """Mail from shop-mr.net leaves with Odoo's bounce address at corp-mr.net: SPF
        passes, but for a domain not aligned with the From domain, and shop-mr.net has no
        DKIM key: DMARC cannot pass."""
        self.from_addresses = ["news@shop-mr.net"]
        self.dns.add("shop-mr.net", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
        self.dns.add("_dmarc.shop-mr.net", "TXT", "v=DMARC1; p=reject")
        self._gmail_volume(5000)
        check = self.run_checks()["bulk_sender"]
        self.assertEqual(check.status, "error", check.finding)
        self.assertIn("shop-mr.net: not aligned", check.finding)
        self.assertIn(
            "envelope domain corp-mr.net is not aligned with the From domain shop-mr.net",
            check.finding,
        )
        self.assertIn("shop-mr.net: no usable DKIM key", check.finding)
        self.assertNotIn("corp-mr.net: no", check.finding, "corp-mr.net itself is fine")
        self.assertIn("shop-mr.net (envelope sender at corp-mr.net)", check.details)
        # its own DKIM key aligns it
        self.dns.add("s1._domainkey.shop-mr.net", "TXT", DKIM_KEY)
        check = self.run_checks()["bulk_sender"]
        self.assertEqual(check.status, "ok", check.finding)
        # an outgoing server whose From filter does not let the bounce address through
        # sends with the From address as envelope: SPF of shop-mr.net itself
        self.mail_server.from_filter = "shop-mr.net"
        self.dns.records.pop(("s1._domainkey.shop-mr.net", "TXT"))
        check = self.run_checks()["bulk_sender"]
        self.assertIn("shop-mr.net (envelope sender at shop-mr.net)", check.details)
        self.assertNotIn("not aligned", check.finding)

    def test_bulk_sender_without_email_marketing(self):
        """Without Email Marketing (no bridge) there is no campaign mail: the unsubscribe
        rule is not applicable and does not fail the check. (The bridge's tests cover
        campaign mail.)"""
        passed, text = MailHealthCheck._bulk_sender_unsubscribe(self.Check)
        self.assertIsNone(passed)
        self.assertIn("not applicable", text)
        with patch.object(
            type(self.Check), "_bulk_sender_unsubscribe", MailHealthCheck._bulk_sender_unsubscribe
        ):
            self.env["ir.config_parameter"].set_param("web.base.url", "http://odoo.corp-mr.net")
            check = self.run_checks()["bulk_sender"]
        self.assertEqual(check.status, "ok", check.finding)
        self.assertIn("not applicable (Email Marketing is not installed)", check.finding)
        self.assertIn("[n/a]", check.details)

    def test_dns_findings_in_the_readers_language(self):
        """A check run by a French-speaking admin stores the DNS findings in French
        (through the module's code translations)."""
        self.env["res.lang"]._activate_lang("fr_FR")
        self.dns.records.pop(("_dmarc.corp-mr.net", "TXT"))
        french = {
            "%(domain)s: no DMARC record.": "%(domain)s : aucun enregistrement DMARC.",
            "no valid DMARC record": "aucun enregistrement DMARC valide",
        }
        with patch.dict(
            code_translations.python_translations, {("mail_reliability", "fr_FR"): french}
        ):
            checks = {c.code: c for c in self.Check.with_context(lang="fr_FR")._action_run_checks()}
            self.assertEqual(checks["dmarc"].finding, "corp-mr.net : aucun enregistrement DMARC.")
            self.assertIn(
                "corp-mr.net: aucun enregistrement DMARC valide", checks["bulk_sender"].finding
            )
            english = self.run_checks()
        self.assertEqual(english["dmarc"].finding, "corp-mr.net: no DMARC record.")

    def test_dns_timeout_is_a_warning(self):
        hole = BlackHoleDns()
        self.addCleanup(hole.stop)
        self.env["ir.config_parameter"].set_param("mail_reliability.dns_port", str(hole.port))
        self.env["ir.config_parameter"].set_param("mail_reliability.dns_timeout", "0.3")
        self.from_addresses = [f"x@d{i}.test" for i in range(8)]
        started = time.monotonic()
        checks = self.run_checks()
        # one timeout for the whole run, not one per domain and record
        self.assertLess(time.monotonic() - started, 2)
        for code in ("spf", "dkim", "dmarc", "bulk_sender"):
            with self.subTest(code=code):
                self.assertEqual(checks[code].status, "warning")
                self.assertIn("could not check", checks[code].finding.lower())
        # the other checks still ran
        self.assertEqual(checks["admin_email"].status, "ok")
        self.env["ir.config_parameter"].set_param("mail_reliability.dns_port", "not-a-port")
        self.assertEqual(self.run_checks()["spf"].status, "warning")

    def test_queue(self):
        cron = self.env.ref("mail.ir_cron_mail_scheduler_action")
        cron.write({"active": True, "interval_number": 15, "interval_type": "minutes"})
        cron.lastcall = fields.Datetime.now()
        self.env["mail.mail"].search([("state", "in", ("outgoing", "exception"))]).unlink()
        check = self.run_checks()["queue"]
        self.assertEqual(check.status, "ok", check.finding)

        cron.write({"interval_number": 2, "interval_type": "hours"})
        check = self.run_checks()["queue"]
        self.assertEqual(check.status, "warning")
        self.assertIn("120 minutes", check.finding)

        cron.write({"interval_number": 15, "interval_type": "minutes"})
        cron.lastcall = fields.Datetime.now() - timedelta(hours=3)
        self.assertIn("last ran", self.run_checks()["queue"].finding)

        cron.lastcall = fields.Datetime.now()
        failed = self.create_outgoing_mail("bob@corp-mr.net")
        failed.write({"state": "exception", "failure_type": "mail_smtp_recipient"})
        check = self.run_checks()["queue"]
        self.assertEqual(check.status, "warning")
        self.assertIn("Recipient address rejected: 1", check.finding)

        old = self.create_outgoing_mail("ann@corp-mr.net")
        self.env.cr.execute(
            "UPDATE mail_mail SET create_date = %s, scheduled_date = NULL WHERE id = %s",
            (fields.Datetime.now() - timedelta(hours=30), old.id),
        )
        self.env["mail.mail"].invalidate_model()
        check = self.run_checks()["queue"]
        self.assertEqual(check.status, "error")
        self.assertIn("30 hours", check.finding)

        cron.active = False
        check = self.run_checks()["queue"]
        self.assertEqual(check.status, "error")
        self.assertIn("archived", check.finding)

    def test_quota_not_available_without_ledger(self):
        check = self.run_checks()["quota"]
        if "mail.quota.usage" not in self.env:
            self.assertEqual(check.status, "na")
            self.assertIn("Not available", check.finding)
        else:
            self.assertIn(check.status, ("ok", "warning", "na"))

    def _notify(self, partner, status, count):
        messages = self.env["mail.message"].create(
            [
                {
                    "model": "res.partner",
                    "res_id": partner.id,
                    "body": "x",
                    "message_type": "comment",
                }
                for _i in range(count)
            ]
        )
        self.env["mail.notification"].create(
            [
                {
                    "mail_message_id": message.id,
                    "res_partner_id": partner.id,
                    "notification_type": "email",
                    "notification_status": status,
                }
                for message in messages
            ]
        )

    def test_bounce_rate(self):
        """Read from the delivery statistics, where sending and bounces count."""
        Stats = self.env["mail.delivery.stats"]
        Stats.search([]).unlink()  # rolled back with the test

        def count(attempted, hard):
            counts = DeliveryCounts()
            counts.add([f"u{i}@corp-mr.net" for i in range(attempted)], "attempted")
            counts.add([f"u{i}@corp-mr.net" for i in range(hard)], "hard_bounced")
            Stats._mr_write_counts(counts)

        self.assertEqual(self.run_checks()["bounce_rate"].status, "ok")
        count(100, 4)
        check = self.run_checks()["bounce_rate"]
        self.assertEqual(check.status, "ok")
        self.assertIn("4 of 100", check.finding)
        count(2, 2)  # 6 / 102
        check = self.run_checks()["bounce_rate"]
        self.assertEqual(check.status, "warning", check.finding)
        self.assertIn("5.9%", check.finding)
        count(6, 6)  # 12 / 108
        self.assertEqual(self.run_checks()["bounce_rate"].status, "error")

    def test_recurring_failures_by_domain(self):
        self.env["ir.config_parameter"].set_param("mail_reliability.domain_failure_threshold", "3")
        for i in range(3):
            self.create_outgoing_mail(f"u{i}@flaky.test").write(
                {"state": "exception", "failure_type": "mail_smtp_policy"}
            )
        self.create_outgoing_mail("v@flaky.test").write(
            {"state": "exception", "failure_type": "mail_smtp_recipient"}
        )
        for i in range(2):
            self.create_outgoing_mail(f"u{i}@fine.test").write(
                {"state": "exception", "failure_type": "mail_smtp_recipient"}
            )
        check = self.run_checks()["domain_failures"]
        self.assertEqual(check.status, "warning")
        self.assertIn("flaky.test", check.finding)
        self.assertNotIn("fine.test", check.finding + (check.details or ""))
        self.assertIn("flaky.test: 4 failures, mostly Blocked by recipient's policy", check.details)
        action = check.action_open_fix()
        self.assertEqual(action["res_model"], "mail.mail")
        listed = self.env["mail.mail"].search(action["domain"])
        self.assertEqual(set(listed.mapped("recipient_domain")), {"flaky.test"})
        self.assertEqual(len(listed), 4)

    def test_cron_notifies_admins_when_red(self):
        self.admin.email = "admin@corp-mr.net"
        self.Check._cron_run_checks()
        self.admin.email = "admin@example.com"
        Message = self.env["mail.message"]
        before = Message.search([], order="id desc", limit=1).id
        turned = self.Check._cron_run_checks()
        self.assertIn("admin_email", turned.mapped("code"))
        notes = Message.search([("id", ">", before), ("subject", "like", "Email health")])
        self.assertEqual(len(notes), 1)
        self.assertIn(self.admin.partner_id, notes.partner_ids)
        self.assertIn("placeholder", str(notes.body))
        # still red on the next day: no new notification
        self.assertFalse(self.Check._cron_run_checks().filtered(lambda c: c.code == "admin_email"))
        self.assertEqual(
            Message.search_count([("id", ">", before), ("subject", "like", "Email health")]), 1
        )

    def test_settings_summary_and_access(self):
        self.run_checks()
        settings = self.env["res.config.settings"].create({})
        self.assertRegex(settings.mr_health_summary, r"\d+ error\(s\), \d+ warning\(s\)")
        self.assertEqual(settings.action_mr_open_mail_health()["res_model"], "mail.health.check")
        user = new_test_user(self.env, "mr_health_user", groups="base.group_user")
        Check = self.Check.with_user(user)
        with self.assertRaises(AccessError):
            Check.action_run_checks()
        with self.assertRaises(AccessError):
            Check.action_open_dashboard()
        with self.assertRaises(AccessError):
            Check.search([])

    def test_fix_actions_open(self):
        checks = self.run_checks()
        for code in ("identity", "spf", "dkim"):
            with self.subTest(code=code):
                self.assertEqual(checks[code].action_open_fix()["res_model"], "ir.mail_server")
        action = checks["queue"].action_open_fix()
        self.assertEqual(
            (action["res_model"], action["res_id"]),
            ("ir.cron", self.env.ref("mail.ir_cron_mail_scheduler_action").id),
        )
        self.assertFalse(checks["bounce_rate"].has_fix_action)
        dashboard = self.Check.action_open_dashboard()
        self.assertEqual(dashboard["res_model"], "mail.health.check")
        self.assertEqual(self.Check.action_run_checks()["tag"], "soft_reload")
