# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from .mail_notification import RETRYING_TYPE


class MailMessage(models.Model):
    _inherit = "mail.message"

    def _to_store(self, store, /, **kwargs):
        self._mr_prefetch_retry_info()
        return super()._to_store(store, **kwargs)

    def _mr_prefetch_retry_info(self):
        """Read the deferred mails of all these messages at once.

        Notifications are formatted one message at a time; without this, showing
        "Retrying — next attempt at ..." would cost one query per message.
        """
        if not self.env.user._is_internal():
            return
        retrying = self.notification_ids.filtered(
            lambda n: n.notification_status == "process" and n.failure_type == RETRYING_TYPE
        )
        if retrying:
            retrying.mail_mail_id.sudo().fetch(["scheduled_date", "retry_count", "state"])
