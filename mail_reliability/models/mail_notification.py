# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools.smtp_status import FAILURE_TYPES, QUOTA_FAILURE_TYPE, explain_failure


class MailNotification(models.Model):
    _inherit = "mail.notification"

    failure_type = fields.Selection(selection_add=[*FAILURE_TYPES.items(), QUOTA_FAILURE_TYPE])
    smtp_code = fields.Integer("SMTP Code", readonly=True, copy=False)
    smtp_status = fields.Char(
        "SMTP Status", readonly=True, copy=False, help="Enhanced status code (RFC 3463), e.g. 5.1.1"
    )
    failure_explanation = fields.Text(compute="_compute_failure_explanation")

    @api.depends("failure_type", "smtp_code", "smtp_status", "failure_reason")
    def _compute_failure_explanation(self):
        for notification in self:
            notification.failure_explanation = explain_failure(
                notification.failure_type,
                notification.smtp_code,
                notification.smtp_status,
                notification.failure_reason,
            )

    # Delayed delivery reported by a DSN (Action: delayed): a warning, not a failure.
    delivery_warning = fields.Char(readonly=True, copy=False)
    delivery_warning_date = fields.Datetime(readonly=True, copy=False)
