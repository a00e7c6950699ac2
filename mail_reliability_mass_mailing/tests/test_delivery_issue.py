# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Failed and bounced campaign emails count among a contact's email problems."""

from odoo.tests import TransactionCase, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestCampaignDeliveryIssues(TransactionCase):
    def test_failed_and_bounced_traces_count_for_the_contact(self):
        partner = self.env["res.partner"].create({"name": "Cleo", "email": "cleo@issues-c.test"})
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": "Issue newsletter",
                "body_html": "<p>News</p>",
                "mailing_model_id": self.env.ref("base.model_res_partner").id,
            }
        )
        contact = self.env["mailing.contact"].create({"name": "C", "email": "CLEO@issues-c.test"})
        Trace = self.env["mailing.trace"]
        base = {"mass_mailing_id": mailing.id}
        Trace.create(
            {
                **base,
                "model": "res.partner",
                "res_id": partner.id,
                "email": "cleo@issues-c.test",
                "trace_status": "bounce",
            }
        )
        Trace.create(
            {
                **base,
                "model": "mailing.contact",
                "res_id": contact.id,
                "email": "CLEO@issues-c.test",
                "trace_status": "error",
                "failure_type": "mail_smtp_recipient",
            }
        )
        Trace.create(
            {
                **base,
                "model": "res.partner",
                "res_id": partner.id,
                "email": "cleo@issues-c.test",
                "trace_status": "sent",
            }
        )
        self.env.flush_all()
        self.assertEqual(partner.mail_delivery_issue_count, 2)
        issues = self.env["mail.delivery.issue"].search([("partner_id", "=", partner.id)])
        self.assertEqual(issues.mapped("source"), ["trace", "trace"])
        self.assertEqual(set(issues.mapped("subject")), {"Issue newsletter"})
        self.assertEqual(set(issues.mapped("domain")), {"issues-c.test"})
