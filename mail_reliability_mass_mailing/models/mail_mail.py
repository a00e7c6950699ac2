# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from odoo.addons.mail_reliability.tools.smtp_reply import parse_queue_id


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _postprocess_sent_message(self, success_pids, failure_reason=False, failure_type=None):
        """Align mailing traces with what mail_reliability decided.

        mass_mailing marks traces failed from the raw failure type it is given
        (stock: 'unknown'), before mail_reliability classifies the SMTP reply and
        possibly defers the mail. Once that is decided, the trace follows the mail.
        """
        mailing_mails = self.filtered("mailing_id")
        res = super()._postprocess_sent_message(
            success_pids, failure_reason=failure_reason, failure_type=failure_type
        )
        for mail in mailing_mails.exists():
            traces = mail.mailing_trace_ids
            if mail.state == "outgoing" and mail.retry_count:
                traces.write(
                    {
                        "trace_status": "process",
                        "failure_type": mail.failure_type,
                        "failure_reason": mail.failure_reason,
                    }
                )
            elif mail.state == "exception":
                traces.write(
                    {
                        "trace_status": "error",
                        "failure_type": mail.failure_type,
                        "failure_reason": mail.failure_reason,
                    }
                )
        return res

    def _mr_record_relay_replies(self, replies):
        """The campaign's trace keeps the relay's reply and queue id too."""
        res = super()._mr_record_relay_replies(replies)
        if replies and "mailing_trace_ids" in self._fields:
            for trace in self.sudo().mailing_trace_ids:
                reply = replies.get((trace.email or "").lower()) or next(iter(replies.values()))
                trace.write({"smtp_reply": reply, "smtp_queue_id": parse_queue_id(reply)})
        return res

    def _mr_delivery_dims(self):
        """Campaign mail counts on its campaign's statistics rows."""
        return {**super()._mr_delivery_dims(), "mailing_id": self.mailing_id.id or False}
