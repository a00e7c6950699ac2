# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

FOLLOWER_STATUS_KEY = "mail_reliability_follower_status"


class MailFollowers(models.Model):
    _inherit = "mail.followers"

    def _get_mail_recipients_follower_status(self, mail_ids):
        """Stock ``mail.mail._send`` reads this once per batch; ours sends mail by mail
        and reads it once per batch too (``mail.mail._send``), then serves it here."""
        known = self.env.context.get(FOLLOWER_STATUS_KEY)
        if known is not None and set(mail_ids) <= known[0]:
            return set(known[1])
        return super()._get_mail_recipients_follower_status(mail_ids)
