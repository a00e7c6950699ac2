# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The bulk-sender health check's unsubscribe rule, for campaign mail."""

from odoo import _, api, models

from odoo.addons.mail_reliability.tools import dns_checks


class MailHealthCheck(models.Model):
    _inherit = "mail.health.check"

    @api.model
    def _bulk_sender_unsubscribe(self):
        """Read what stock Email Marketing puts on a campaign mail: prepare one
        (in memory, nothing is written or sent) through ``mail.mail``'s
        ``_prepare_outgoing_list`` and look at its List-Unsubscribe headers."""
        partner = self.env.user.partner_id
        mailing = (
            self.env["mailing.mailing"]
            .sudo()
            .new(
                {
                    "subject": "bulk-sender check",
                    "mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
                    "body_html": "<p>bulk-sender check</p>",
                }
            )
        )
        mail = (
            self.env["mail.mail"]
            .sudo()
            .new(
                {
                    "mailing_id": mailing,
                    "model": "res.partner",
                    "res_id": partner.id,
                    "email_to": "bulk-sender-check@gmail.com",
                    "email_from": self.env.company.email_formatted or "check@localhost",
                    "subject": "bulk-sender check",
                    "body_html": "<p>bulk-sender check</p>",
                }
            )
        )
        headers = {}
        for email in mail._prepare_outgoing_list():
            headers.update(email.get("headers") or {})
        passed, text = dns_checks.one_click_unsubscribe(headers, lang=self.env.lang)
        return passed, _("Campaign mail: %(rule)s", rule=text)
