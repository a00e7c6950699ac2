# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Email Marketing mail always goes through the email queue.

Stock Odoo sends a campaign of up to ``mail.mail.force.send.limit`` (100)
recipients inline, from the marketing cron, and queues bigger ones. Here every
campaign is queued like newsletters should be, so person-to-person mail keeps
priority on the SMTP server, and the queue cron is woken at once, so the
campaign still leaves as soon as possible.
"""

from odoo import api, models

from odoo.addons.mail_reliability.tools.constants import QUEUE_CRON_XMLID


class MailComposeMessage(models.TransientModel):
    _inherit = "mail.compose.message"

    @api.depends("mass_mailing_id")
    def _compute_force_send(self):
        res = super()._compute_force_send()
        self.filtered("mass_mailing_id").force_send = False
        return res

    def _action_send_mail_mass_mail(self, res_ids, auto_commit=False):
        mails = super()._action_send_mail_mass_mail(res_ids, auto_commit=auto_commit)
        if self.mass_mailing_id and mails:
            self.env["ir.cron"]._mr_trigger(QUEUE_CRON_XMLID, once=False)
        return mails
