# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from odoo.addons.mail_reliability.tools.dsn import COMPLAINT_FAILURE_TYPE
from odoo.addons.mail_reliability.tools.smtp_status import FAILURE_TYPES, QUOTA_FAILURE_TYPE


class MailingTrace(models.Model):
    _inherit = "mailing.trace"

    failure_type = fields.Selection(
        selection_add=[*FAILURE_TYPES.items(), QUOTA_FAILURE_TYPE, COMPLAINT_FAILURE_TYPE]
    )
