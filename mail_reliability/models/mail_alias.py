# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models, tools

from .mail_thread import _frame


class MailAlias(models.Model):
    _inherit = "mail.alias"

    def _alias_bounce_incoming_email(self, message, message_dict, set_invalid=True):
        """Stock answers the sender; we also keep the refused mail in the rejected log."""
        frame = _frame(self.env)
        if frame is not None and not frame.get("reason"):
            body = (
                self._get_alias_invalid_body(message_dict)
                if set_invalid
                else (self._get_alias_bounced_body(message_dict))
            )
            frame["reason"] = "alias_invalid" if set_invalid else "alias_refused"
            frame["detail"] = f"{self.display_name}: {tools.html2plaintext(body or '').strip()}"
        return super()._alias_bounce_incoming_email(message, message_dict, set_invalid=set_invalid)
