# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools.constants import TEMPORARY
from ..tools.dsn import COMPLAINT_FAILURE_TYPE
from ..tools.smtp_status import FAILURE_TYPES, QUOTA_FAILURE_TYPE, explain_failure

RETRYING_TYPE = TEMPORARY


class MailNotification(models.Model):
    _inherit = "mail.notification"

    failure_type = fields.Selection(
        selection_add=[*FAILURE_TYPES.items(), QUOTA_FAILURE_TYPE, COMPLAINT_FAILURE_TYPE]
    )
    # Failure details are for internal users only: portal users may read notifications.
    failure_reason = fields.Text(groups="base.group_user")
    smtp_code = fields.Integer("SMTP Code", readonly=True, copy=False, groups="base.group_user")
    smtp_status = fields.Char(
        "SMTP Status",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="Enhanced status code (RFC 3463), e.g. 5.1.1",
    )
    failure_explanation = fields.Text(
        compute="_compute_failure_explanation", groups="base.group_user"
    )
    # "Did it leave Odoo?": what the relay answered when it accepted the mail.
    smtp_reply = fields.Char(
        "Relay Reply",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="The outgoing server's reply when it accepted the email for this recipient",
    )
    smtp_queue_id = fields.Char(
        "Relay Queue ID",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_user",
        help="The id the outgoing server gave the email (e.g. Postfix's 'queued as ...'): "
        "search the provider's logs with it",
    )
    bounce_report_id = fields.Many2one(
        "mail.bounce.report",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
        groups="base.group_system",
        help="The delivery or feedback report that failed this recipient, with its raw .eml.",
    )

    @api.depends("failure_type", "smtp_code", "smtp_status", "failure_reason")
    def _compute_failure_explanation(self):
        for notification in self:
            notification.failure_explanation = explain_failure(
                notification.failure_type,
                notification.smtp_code,
                notification.smtp_status,
                notification.failure_reason,
                lang=self.env.lang,
            )

    # Delayed delivery reported by a DSN (Action: delayed): a warning, not a failure.
    # A remote server's diagnostic, like failure_reason: internal users only.
    delivery_warning = fields.Char(readonly=True, copy=False, groups="base.group_user")
    delivery_warning_date = fields.Datetime(readonly=True, copy=False, groups="base.group_user")

    def _to_store(self, store, /):
        result = super()._to_store(store)
        self._mr_store_retry_info(store)
        return result

    def _mr_store_retry_info(self, store):
        """Deferred mail is "retrying", not failed: send when and which attempt comes next.

        The chatter formats notifications one message at a time:
        ``mail.message._mr_prefetch_retry_info`` reads the deferred mails of the
        whole page first (one query, none when nothing is deferred). Internal
        users only.
        """
        if not self.env.user._is_internal():
            return
        retrying = self.filtered(
            lambda n: n.notification_status == "process"
            and n.failure_type == RETRYING_TYPE
            and n.mail_mail_id
        )
        if not retrying:
            return
        mails = retrying.mail_mail_id.sudo()
        for notification in retrying:
            mail = notification.mail_mail_id.sudo().with_prefetch(mails._ids)
            if mail.state != "outgoing":
                continue
            store.add(
                notification,
                {
                    "mr_next_attempt": mail.scheduled_date,
                    "mr_attempt": mail.retry_count + 1,
                },
            )
