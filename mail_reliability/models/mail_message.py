# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib

from odoo import api, models

from ..tools import send_run
from ..tools.mail_input import repair_storable_text
from .mail_notification import RETRYING_TYPE

# A NUL in any of these made message_post crash with a database error.
TEXT_FIELDS = ("subject", "body", "email_from", "reply_to", "record_name", "message_id")


class MailMessage(models.Model):
    _inherit = "mail.message"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            repair_storable_text(self._name, vals, TEXT_FIELDS)
        return super().create(vals_list)

    def write(self, vals):
        repair_storable_text(self._name, vals, TEXT_FIELDS)
        return super().write(vals)

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

    def _notify_message_notification_update(self):
        run = send_run.current(self.env)
        if run is not None and run.bus_updates is not None:  # sent once, at the batch's end
            run.bus_updates.update(dict.fromkeys(self.ids))
            return None
        return super()._notify_message_notification_update()

    @contextlib.contextmanager
    def _mr_batch_notification_updates(self):
        """Collect the chatter (bus) updates of a batch and send each message's once.

        Stock handles a failed batch in one go and notifies each message once; we
        decide per mail, which would notify a message once per mail. The ids wait
        in the send run (``tools/send_run.py``).
        """
        with send_run.opened(self.env) as run:
            if run.bus_updates is not None:  # nested: the outer batch sends
                yield
                return
            run.bus_updates = batch = {}
            try:
                yield
            finally:
                run.bus_updates = None
        messages = self.browse(list(batch)).exists()
        if messages:
            messages._notify_message_notification_update()
