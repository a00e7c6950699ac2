# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from odoo.addons.mail_reliability.tools import dsn
from odoo.addons.mail_reliability.tools.dsn import COMPLAINT_FAILURE_TYPE
from odoo.addons.mail_reliability.tools.smtp_status import FAILURE_TYPES, QUOTA_FAILURE_TYPE


class MailingTrace(models.Model):
    _inherit = "mailing.trace"

    failure_type = fields.Selection(
        selection_add=[*FAILURE_TYPES.items(), QUOTA_FAILURE_TYPE, COMPLAINT_FAILURE_TYPE]
    )
    # The remote server's reply: internal users only, as on mail.notification.
    failure_reason = fields.Text(groups="base.group_user")
    smtp_reply = fields.Char(
        "Relay Reply",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="The outgoing server's reply when it accepted this email",
    )
    smtp_queue_id = fields.Char(
        "Relay Queue ID",
        readonly=True,
        copy=False,
        groups="base.group_user",
        index="btree_not_null",
        help="The id the outgoing server gave this email (e.g. Postfix's 'queued as ...'): "
        "search the provider's logs with it",
    )
    bounce_report_id = fields.Many2one(
        "mail.bounce.report",
        compute="_compute_bounce_report_id",
        groups="base.group_system",
        help="The bounce or complaint report about this email, with its raw .eml.",
    )

    @api.depends("message_id", "email")
    def _compute_bounce_report_id(self):
        Report = self.env["mail.bounce.report"].sudo()
        for trace in self:
            email = dsn.normalize_address(trace.email or "")
            trace.bounce_report_id = (
                Report.search(
                    [("original_message_id", "=", trace.message_id), ("email", "=", email)],
                    limit=1,
                )
                if trace.message_id and email
                else Report
            )
