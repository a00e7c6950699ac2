# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Per-contact and per-domain delivery problems (the "same customer" question)."""

from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestDeliveryIssues(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.env["res.partner"].create({"name": "Ann", "email": "Ann@Issues-a.test"})
        cls.bob = cls.env["res.partner"].create({"name": "Bob", "email": "bob@issues-b.test"})

    def _failed_notification(self, partner, status="exception", days_ago=0):
        message = self.ann.message_post(body="hello", subject="Issue test")
        message.sudo().date = fields.Datetime.now() - timedelta(days=days_ago)
        return self.env["mail.notification"].create(
            {
                "mail_message_id": message.id,
                "res_partner_id": partner.id,
                "notification_type": "email",
                "notification_status": status,
                "failure_type": "mail_smtp_recipient",
                "failure_reason": "550 5.1.1 user unknown",
            }
        )

    def test_counts_failures_bounces_and_refused_mail_of_the_contact(self):
        self._failed_notification(self.ann)
        self._failed_notification(self.ann, status="bounce")
        self._failed_notification(self.ann, status="sent")  # not a problem
        self._failed_notification(self.ann, days_ago=120)  # too old
        self._failed_notification(self.bob)
        self.env["mail.incoming.rejection"].sudo().create(
            {
                "reason": "no_route",
                "email_from": "Ann <ann@issues-a.test>",
                "email_from_normalized": "ann@issues-a.test",
                "subject": "refused",
            }
        )
        self.env.flush_all()
        self.assertEqual(self.ann.mail_delivery_issue_count, 3)
        self.assertEqual(self.bob.mail_delivery_issue_count, 1)
        action = self.ann.action_view_mail_delivery_issues()
        issues = self.env["mail.delivery.issue"].search(action["domain"])
        self.assertEqual(
            sorted(issues.mapped("source")), ["notification", "notification", "rejection"]
        )
        self.assertEqual(set(issues.mapped("domain")), {"issues-a.test"})
        refused = issues.filtered(lambda i: i.source == "rejection")
        opened = refused.action_open_source()
        self.assertEqual(
            (opened["res_model"], opened["res_id"]),
            ("mail.incoming.rejection", refused.res_id),
        )

    def test_grouped_per_domain(self):
        self._failed_notification(self.ann)
        self._failed_notification(self.bob)
        self._failed_notification(self.bob)
        self.env.flush_all()
        groups = dict(
            self.env["mail.delivery.issue"]._read_group(
                [("domain", "in", ("issues-a.test", "issues-b.test"))], ["domain"], ["__count"]
            )
        )
        self.assertEqual(groups, {"issues-a.test": 1, "issues-b.test": 2})

    def test_only_admins_see_the_count(self):
        field = self.env["res.partner"]._fields["mail_delivery_issue_count"]
        self.assertEqual(field.groups, "base.group_system")
