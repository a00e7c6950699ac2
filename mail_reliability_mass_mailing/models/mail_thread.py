# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from odoo.addons.mail_reliability.tools import dsn


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    @api.model
    def _routing_handle_bounce(self, email_message, message_dict):
        """mass_mailing marks traces bounced and may blacklist on any bounce.

        Let it see only what counts: a hard address failure keeps the stock
        behaviour (for the failing address); a delayed or soft (policy, sender
        authentication, size...) report leaves traces and the blacklist alone;
        a bounce nobody can read marks traces but never feeds the blacklist.
        The per-recipient handling itself is in mail_reliability.
        """
        if not email_message:  # parsed by the caller: nothing more to read, stock behaviour
            return super()._routing_handle_bounce(email_message, message_dict)
        report = dsn.parse_bounce(
            email_message, fallback_recipient=message_dict.get("bounced_email")
        )
        partners = self.env["res.partner"].sudo()
        hard = [r for r in report.recipients if r.kind == dsn.HARD]
        if hard:
            message_dict = dict(
                message_dict,
                bounced_email=hard[0].recipient,
                bounced_partner=partners.search([("email_normalized", "=", hard[0].recipient)]),
            )
        elif report.recipients:
            message_dict = dict(
                message_dict, bounced_email=False, bounced_partner=partners, bounced_msg_ids=False
            )
        else:
            message_dict = dict(message_dict, bounced_email=False, bounced_partner=partners)
        return super()._routing_handle_bounce(email_message, message_dict)
