# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Which users' chatter notifications leave as email (they count against the daily limit)."""

from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model
    def _mr_email_notified_internal_domain(self):
        """Active internal users whose notifications are sent by email ("Handle by
        Emails"): each of their notifications is an email, counted by the daily
        limit; "Handle in Odoo" shows them in Discuss instead."""
        return [("share", "=", False), ("notification_type", "=", "email")]
