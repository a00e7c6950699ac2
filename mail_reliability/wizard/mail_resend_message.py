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

from odoo import Command, _, api, models
from odoo.exceptions import AccessError


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
