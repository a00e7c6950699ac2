# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from odoo.addons.mail_reliability.tools import send_run
from odoo.addons.mail_reliability.tools.smtp_reply import parse_queue_id

from ..tools import attachment_parts


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _prepare_outgoing_list(self, mail_server=False, recipients_follower_status=None):
        """Stock's emails; a campaign's attachments are base64-encoded once per send run.

        Every email of a campaign carries the campaign's files, the same bytes each
        time: within one send run (``tools/send_run.py``) each such content is handed
        to ``build_email`` as one shared object whose encoding is computed once and
        reused (``tools/attachment_parts.py``); the emails are byte for byte stock's.
        """
        email_list = super()._prepare_outgoing_list(
            mail_server=mail_server, recipients_follower_status=recipients_follower_status
        )
        run = send_run.current(self.env)
        if run is None or not self.mailing_id:
            return email_list
        memo = run.shared_attachments
        for email_values in email_list:
            if email_values.get("attachments"):
                email_values["attachments"] = [
                    (name, attachment_parts.shared(memo, content), mimetype)
                    for name, content, mimetype in email_values["attachments"]
                ]
        return email_list

    def _postprocess_sent_message(self, success_pids, failure_reason=False, failure_type=None):
        """Align mailing traces with what mail_reliability decided.

        mass_mailing marks traces failed from the raw failure type it is given
        (stock: 'unknown'), before mail_reliability classifies the SMTP reply and
        possibly defers the mail. Once that is decided, the trace follows the mail.
        """
        mailing_mails = self.filtered("mailing_id")
        if not failure_type:
            # Sent, and nothing failed (the common case): the mail keeps the state stock
            # gave it ("sent": nothing to align) and stock marks its traces sent. Skipped
            # without a query (stock may delete the mail: checking that would cost one).
            mailing_mails = mailing_mails.filtered(
                lambda mail: mail.state != "sent" or mail._mr_failure_pending()
            )
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
            first = next(iter(replies.values()))
            # One reply for every recipient (a campaign mail has one): the trace's address
            # would pick that same reply, so it is not read (a query per mail).
            single = len(set(replies.values())) == 1
            for trace in self.sudo().mailing_trace_ids:
                reply = first if single else replies.get((trace.email or "").lower()) or first
                trace.write({"smtp_reply": reply, "smtp_queue_id": parse_queue_id(reply)})
        return res

    def _mr_delivery_dims(self):
        """Campaign mail counts on its campaign's statistics rows."""
        return {**super()._mr_delivery_dims(), "mailing_id": self.mailing_id.id or False}
