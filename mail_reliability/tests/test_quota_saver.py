# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The quota saver: today's emails to internal users, and switching them to Handle in Odoo.

Mail goes through the real SMTP sink; the ledger counts what the sink accepted.
"""

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import SmtpSinkCase

QUIET = ("odoo.addons.mail.models.mail_mail", "odoo.addons.mail_reliability.models.ir_mail_server")


@tagged("mail_reliability", "post_install", "-at_install")
class TestQuotaSaver(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.internal, cls.internal_2 = (
            new_test_user(
                cls.env,
                login=login,
                name=name,
                email=email,
                groups="base.group_user",
                notification_type="email",
            )
            for login, name, email in (
                ("qs_internal", "QS Internal", "qs.internal@example.com"),
                ("qs_internal_2", "QS Internal Two", "qs.internal2@example.com"),
            )
        )
        cls.portal = new_test_user(
            cls.env,
            login="qs_portal",
            name="QS Portal",
            email="qs.portal@example.com",
            groups="base.group_portal",
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "QS Customer", "email": "qs.customer@example.com"}
        )
        cls.thread = cls.env["res.partner"].create({"name": "QS Thread"})

    def setUp(self):
        super().setUp()
        params = self.env["ir.config_parameter"]
        params.set_param("mail_reliability.daily_limit", "100")
        params.set_param("mail_reliability.quota_timezone", "UTC")
        self.Usage = self.env["mail.quota.usage"]

    def _post(self, partners):
        """A chatter message notifying ``partners`` by email (auto-deleted once sent)."""
        return self.thread.with_context(mail_notify_force_send=False).message_post(
            body="<p>Quota saver</p>",
            partner_ids=partners.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )

    def _run_queue(self):
        with self.real_smtp(), mute_logger(*QUIET):
            self.env["mail.mail"].process_email_queue()

    def _quota_check(self):
        checks = self.env["mail.health.check"]._ensure_rows()
        return checks.filtered(lambda check: check.code == "quota")

    def test_internal_notifications_counted_even_when_auto_deleted(self):
        message = self._post(self.internal.partner_id | self.portal.partner_id | self.customer)
        mails = self.env["mail.mail"].search([("mail_message_id", "=", message.id)])
        self.assertTrue(mails and all(mails.mapped("auto_delete")))
        self._run_queue()
        delivered = {rcpt for delivery in self.sink.deliveries for rcpt in delivery.rcpt_tos}
        self.assertEqual(
            delivered,
            {"qs.internal@example.com", "qs.portal@example.com", "qs.customer@example.com"},
        )
        self.assertFalse(mails.exists(), "sent notification mail is auto-deleted")
        figures = self.Usage._today_figures()
        self.assertEqual(figures["used"], 3)
        self.assertEqual(figures["internal"], 1, "portal user and customer are not counted")

        # An email to an internal user and a customer at once is not saved by the
        # switch: counted, not as internal. A user's own address alone is.
        self.create_outgoing_mail("qs.internal2@example.com, qs.customer@example.com")
        self.create_outgoing_mail('"QS Internal Two" <qs.internal2@example.com>')
        self._run_queue()
        figures = self.Usage._today_figures()
        self.assertEqual((figures["used"], figures["internal"]), (5, 2))
        self.assertIn(
            "2 of them went to internal users as notification emails", self.Usage._today_text()
        )

    def test_outside_a_batch_and_refused_mail(self):
        """send_email called on its own counts too; a mail the relay refused gives
        back its unit and its internal count."""
        refused = new_test_user(
            self.env,
            login="qs_unknown",
            email="unknown-qs@example.com",
            groups="base.group_user",
        )
        IrMailServer = self.env["ir.mail_server"]
        message = IrMailServer.build_email(
            "sender@example.com", ["qs.internal@example.com"], "Direct", "Hello"
        )
        with self.real_smtp():
            IrMailServer.send_email(message)
        self.assertEqual(len(self.sink.deliveries), 1)
        self.assertEqual(self.Usage._today_figures()["internal"], 1)
        self._post(refused.partner_id)
        self._run_queue()
        self.assertEqual(len(self.sink.deliveries), 1, "the sink refused unknown-qs")
        figures = self.Usage._today_figures()
        self.assertEqual((figures["used"], figures["internal"]), (1, 1))

    def test_switched_user_no_longer_counted(self):
        self.internal.notification_type = "inbox"
        self._post(self.internal.partner_id | self.customer)
        self._run_queue()
        delivered = {rcpt for delivery in self.sink.deliveries for rcpt in delivery.rcpt_tos}
        self.assertEqual(delivered, {"qs.customer@example.com"})
        self.assertEqual(self.Usage._today_figures()["internal"], 0)

    def test_wizard_switches_only_the_selected_users_after_confirmation(self):
        self._post(self.internal.partner_id)
        self._run_queue()
        admin = self.env.ref("base.user_admin")
        Wizard = self.env["mail.quota.saver.wizard"].with_user(admin)
        action = Wizard.action_open()
        wizard = Wizard.browse(action["res_id"])
        lines = {line.user_id: line for line in wizard.line_ids}
        self.assertIn(self.internal, lines)
        self.assertIn(self.internal_2, lines)
        self.assertNotIn(self.portal, lines, "portal users get email, they have no Inbox")
        self.assertEqual(lines[self.internal].emails_today, 1, "known after auto-delete")
        self.assertEqual(lines[self.internal_2].emails_today, 0)
        self.assertEqual(wizard.internal_today, 1)
        for user, line in lines.items():
            line.selected = user == self.internal

        with self.assertRaises(UserError):
            wizard.action_switch()  # not confirmed yet
        self.assertEqual(self.internal.notification_type, "email", "nothing without confirmation")

        wizard.action_review()
        self.assertEqual(wizard.state, "confirm")
        self.assertIn("QS Internal", wizard.confirm_text)
        self.assertNotIn("QS Internal Two", wizard.confirm_text)
        self.assertIn("Inbox", wizard.confirm_text)
        wizard.action_back()
        self.assertEqual(wizard.state, "select")
        wizard.action_review()
        wizard.action_switch()
        self.assertEqual(self.internal.notification_type, "inbox")
        self.assertEqual(self.internal_2.notification_type, "email")
        self.assertEqual(self.portal.notification_type, "email")

    def test_wizard_needs_a_selection(self):
        admin = self.env.ref("base.user_admin")
        Wizard = self.env["mail.quota.saver.wizard"].with_user(admin)
        wizard = Wizard.browse(Wizard.action_open()["res_id"])
        wizard.line_ids.selected = False
        with self.assertRaises(UserError):
            wizard.action_review()

    def test_non_admin_cannot_open_the_wizard(self):
        for groups in ("base.group_user", "base.group_user,base.group_erp_manager"):
            user = new_test_user(
                self.env, login=f"qs_user_{len(groups)}", groups=groups, email="x@example.com"
            )
            with self.subTest(groups=groups):
                with self.assertRaises(AccessError):
                    self.env["mail.quota.saver.wizard"].with_user(user).action_open()
                with self.assertRaises(AccessError):
                    self.env["mail.quota.saver.wizard"].with_user(user).create({})
                with self.assertRaises(AccessError):
                    self._quota_check().with_user(user).action_open_quota_saver()
        self.assertEqual(self.internal.notification_type, "email")

    def test_card_and_settings_show_the_same_figure(self):
        self._post(self.internal.partner_id)
        self._run_queue()
        check = self._quota_check()
        self.env["mail.health.check"]._action_run_checks()
        # More mail after the checks ran: the card must not show the old count.
        self._post(self.internal_2.partner_id | self.customer)
        self._run_queue()
        check.invalidate_recordset()
        settings = self.env["res.config.settings"].create({})
        self.assertEqual((settings.mr_quota_used, settings.mr_quota_limit), (3, 100))
        self.assertEqual(settings.mr_quota_internal, 2)
        self.assertIn("Today: 3/100 emails", check.quota_today)
        self.assertIn("2 of them went to internal users", check.quota_today)
        self.assertNotIn("Today", check.finding, "the stored finding holds no count of today")
        self.assertGreaterEqual(check.quota_saver_count, 2)
        self.assertEqual(settings.mr_quota_saver_count, check.quota_saver_count)
        self.assertIn(f"Switch {check.quota_saver_count} internal users", check.quota_saver_label)
        action = check.with_user(self.env.ref("base.user_admin")).action_open_quota_saver()
        self.assertEqual(action["res_model"], "mail.quota.saver.wizard")
