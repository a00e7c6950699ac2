# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The delivery-insight screens in a real (headless Chromium) browser (issue #15)."""

from odoo.tests import HttpCase, tagged

from ..tools.delivery_stats import DeliveryCounts


@tagged("mail_reliability", "post_install", "-at_install")
class TestUiInsight(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("mail_reliability.daily_limit", "200")
        cls.pia = cls.env["res.partner"].create(
            {"name": "Pia Problem", "email": "pia@tour-problems.test"}
        )
        message = cls.pia.message_post(body="hello", subject="Tour problem")
        cls.env["mail.notification"].create(
            {
                "mail_message_id": message.id,
                "res_partner_id": cls.pia.id,
                "notification_type": "email",
                "notification_status": "exception",
                "failure_type": "mail_smtp_recipient",
                "failure_reason": "550 5.1.1 user unknown",
            }
        )

    def test_health_dashboard_and_quota_saver(self):
        # Only this colleague is an internal user notified by email.
        Users = self.env["res.users"]
        Users.search(Users._mr_email_notified_internal_domain()).notification_type = "inbox"
        quinn = Users.create(
            {
                "name": "Quinn Saver",
                "login": "quinn-tour",
                "email": "quinn@corp-mr.net",
                "notification_type": "email",
            }
        )
        self.env["mail.health.check"]._ensure_rows()
        self.start_tour(
            "/odoo/action-mail_reliability.mail_health_check_action",
            "mail_reliability_health_dashboard",
            login="admin",
        )
        self.assertEqual(quinn.notification_type, "email", "cancelled: nothing changed")

    def test_delivery_statistics_views(self):
        counts = DeliveryCounts()
        addresses = [f"r{n}@tour-stats.test" for n in range(5)]
        counts.add(addresses, "attempted")
        counts.add(addresses[:2], "sent")
        counts.add(addresses[2:], "hard_bounced")
        self.env["mail.delivery.stats"]._mr_write_counts(counts)
        self.start_tour(
            "/odoo/action-mail_reliability.mail_delivery_stats_action",
            "mail_reliability_delivery_stats",
            login="admin",
        )

    def test_problems_by_domain_and_contact_button(self):
        self.start_tour(
            "/odoo/action-mail_reliability.mail_delivery_issue_action_by_domain",
            "mail_reliability_problems_by_domain",
            login="admin",
        )
        self.start_tour(
            f"/odoo/res.partner/{self.pia.id}",
            "mail_reliability_contact_problems",
            login="admin",
        )
