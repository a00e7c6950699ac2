# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One recipient line of the "Sending Failures" dialog (``mail.resend.partner``).

It shows the failure type, SMTP codes, the plain-language explanation and the
raw server reply of its notification; a recipient that cannot usefully be
retried (rejected for good, blacklisted) starts toggled off with the reason.
"""

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..tools.constants import HARD_FAILURE_TYPES
from ..tools.smtp_status import is_silent_failure


class MailResendPartner(models.TransientModel):
    _inherit = "mail.resend.partner"

    failure_type = fields.Selection(related="notification_id.failure_type")
    smtp_code = fields.Integer(related="notification_id.smtp_code")
    smtp_status = fields.Char(related="notification_id.smtp_status")
    smtp_queue_id = fields.Char(related="notification_id.smtp_queue_id")
    smtp_reply = fields.Char(related="notification_id.smtp_reply")
    failure_explanation = fields.Text(related="notification_id.failure_explanation")
    # The bounce/complaint report with its raw .eml and a Reset button (admins).
    bounce_report_id = fields.Many2one(
        related="notification_id.bounce_report_id", groups="base.group_system"
    )
    failed_email = fields.Char(
        "Failed Address", readonly=True, help="The address the failed attempt was sent to"
    )
    silent_failure = fields.Boolean(
        compute="_compute_silent_failure",
        help="No mail server explained the failure: the health checks (SPF, DKIM) may",
    )
    skip_reason = fields.Char(
        "Not Retried Because",
        compute="_compute_skip_reason",
        help="Why this recipient is not retried by default",
    )

    @api.depends("notification_id")
    def _compute_silent_failure(self):
        for line in self:
            notification = line.notification_id
            line.silent_failure = is_silent_failure(
                notification.failure_type,
                notification.smtp_code,
                notification.smtp_status,
                notification.failure_reason,
            )

    def action_open_email_health(self):
        """The Email Health dashboard, where SPF and DKIM are checked (administrators)."""
        return self.env["mail.health.check"].action_open_dashboard()

    @api.depends("notification_id", "email", "failed_email")
    def _compute_skip_reason(self):
        blacklisted = self._mr_blacklisted_emails()
        for line in self:
            line.skip_reason = line._mr_skip_reason(blacklisted)

    @api.onchange("email")
    def _onchange_email(self):
        if self.email and not tools.email_normalize(self.email):
            return {
                "warning": {
                    "title": _("Invalid email address"),
                    "message": _("%(email)s is not a valid email address.", email=self.email),
                }
            }
        # A corrected address is worth a new attempt.
        if self.email and self.failure_type in HARD_FAILURE_TYPES:
            self.resend = not self._mr_skip_reason(self._mr_blacklisted_emails())
        return None

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        for line in lines:
            line.failed_email = line.notification_id.res_partner_id.email
        blacklisted = lines._mr_blacklisted_emails()
        lines.filtered(lambda line: line._mr_skip_reason(blacklisted)).write({"resend": False})
        return lines

    def write(self, vals):
        # The address is written through to the contact: refuse a bad one at once.
        if vals.get("email") and not tools.email_normalize(vals["email"]):
            raise ValidationError(_("%(email)s is not a valid email address.", email=vals["email"]))
        return super().write(vals)

    def _mr_blacklisted_emails(self):
        emails = {tools.email_normalize(line.email or "") for line in self} - {False, None}
        if not emails:
            return set()
        found = (
            self.env["mail.blacklist"]
            .sudo()
            .search([("email", "in", list(emails)), ("active", "=", True)])
        )
        return set(found.mapped("email"))

    def _mr_skip_reason(self, blacklisted):
        self.ensure_one()
        email = tools.email_normalize(self.email or "")
        if email and email in blacklisted:
            return _("%(email)s is blacklisted (unsubscribed).", email=email)
        notification = self.notification_id
        if (
            notification.failure_type in HARD_FAILURE_TYPES
            and email
            and tools.email_normalize(self.failed_email or "") in (email, False)
        ):
            return _(
                "The recipient's server rejected %(email)s for good: correct the address "
                "before trying again.",
                email=email,
            )
        return False

    def _mr_check_emails(self):
        invalid = self.filtered(lambda line: not tools.email_normalize(line.email or ""))
        if invalid:
            raise UserError(
                _(
                    "Correct these addresses before resending: %(recipients)s",
                    recipients=", ".join(
                        f"{line.name or '?'} <{line.email or ''}>" for line in invalid
                    ),
                )
            )
