# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class MailDeliveryStats(models.Model):
    _inherit = "mail.delivery.stats"

    mailing_id = fields.Many2one(
        "mailing.mailing", "Campaign", readonly=True, ondelete="set null", index="btree_not_null"
    )

    @api.model
    def _mr_dimensions(self):
        return (*super()._mr_dimensions(), "mailing_id")
