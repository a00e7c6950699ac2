# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The chatter's "Sending Failures" dialog (red envelope), made diagnosable.

Each failed recipient shows its failure type, SMTP codes, the plain-language
explanation and, behind "See Error Details", the raw server reply.  Addresses
that cannot usefully be retried (permanently rejected, blacklisted) start
toggled off with the reason shown.  Resending goes through stock
``action_resend`` -> ``_notify_thread_by_email(resend_existing=True)`` ->
``mail.mail._send``, so a second failure is classified like the first.
"""

from odoo import Command, _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError

NOT_RETRYABLE_TYPES = ("mail_smtp_recipient",)


class MailResendMessage(models.TransientModel):
    _inherit = "mail.resend.message"

    @api.model
    def default_get(self, fields_list):
        message_id = self.env.context.get("mail_message_to_resend")
        if message_id:
            self._mr_check_message_access(self.env["mail.message"].browse(message_id))
        return super().default_get(fields_list)

    def resend_mail_action(self):
        for wizard in self:
            wizard._mr_check_message_access(wizard.mail_message_id)
            to_send = wizard.partner_ids.filtered("resend")
            to_send._mr_check_emails()
            # The previous attempt's codes must not stick to the new attempt.
            to_send.notification_id.sudo().write({"smtp_code": False, "smtp_status": False})
            wizard._mr_detach_failed_mails(wizard.partner_ids.notification_id)
        return super().resend_mail_action()

    def cancel_mail_action(self):
        for wizard in self:
            wizard._mr_check_message_access(wizard.mail_message_id)
            wizard._mr_detach_failed_mails(wizard.notification_ids)
        return super().cancel_mail_action()

    def _mr_detach_failed_mails(self, notifications):
        """Take resent and ignored recipients off the failed mail they came from.

        The failed ``mail.mail`` may still be sent later (daily limit reset,
        "Retry failed emails"): it must not reach anyone a second time (resent
        or already delivered), nor anyone whose failure was ignored. Emptied
        mails are cancelled.
        """
        notifications = notifications.sudo().filtered(
            lambda n: n.notification_type == "email"
            and n.notification_status in ("exception", "bounce")
            and n.mail_mail_id.state == "exception"
        )
        delivered = (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("mail_mail_id", "in", notifications.mail_mail_id.ids),
                    ("notification_status", "in", ("sent", "pending")),
                ]
            )
        )
        for mail in notifications.mail_mail_id:
            partners = (
                (notifications | delivered)
                .filtered(lambda n, m=mail: n.mail_mail_id == m)
                .res_partner_id
            )
            remaining = mail.recipient_ids - partners
            vals = {"recipient_ids": [Command.unlink(p.id) for p in partners]}
            if not remaining and not mail.email_to:
                vals["state"] = "cancel"
            mail.write(vals)

    @api.model
    def _mr_check_message_access(self, message):
        """Only internal users who may read the message act on its failures."""
        if self.env.su:
            return
        if not self.env.user._is_internal():
            raise AccessError(_("Only internal users can see or resend failed emails."))
        message.check_access("read")


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
    skip_reason = fields.Char(
        "Not Retried Because",
        compute="_compute_skip_reason",
        help="Why this recipient is not retried by default",
    )

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
        if self.email and self.failure_type in NOT_RETRYABLE_TYPES:
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
            notification.failure_type in NOT_RETRYABLE_TYPES
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
