# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from odoo.addons.mail_reliability.tools.smtp_status import FAILURE_TYPES, QUOTA_FAILURE_TYPE


class MailingTrace(models.Model):
    _inherit = "mailing.trace"

    failure_type = fields.Selection(selection_add=[*FAILURE_TYPES.items(), QUOTA_FAILURE_TYPE])
    # The remote server's reply: internal users only, as on mail.notification.
    failure_reason = fields.Text(groups="base.group_user")
