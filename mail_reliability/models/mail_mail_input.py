# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Outgoing mail refuses header injection and repairs text PostgreSQL cannot store.

* An address field (To, Cc, From, Reply-To) where a line break starts a new
  header (``"a@b.test\\r\\nBcc: x@y.test"``) is refused with a clear error;
  without this, Odoo's lenient address parsing silently adds ``x@y.test`` as a
  recipient.
* NUL characters and lone surrogates (non-UTF-8 bytes decoded with
  ``surrogateescape``) would make the INSERT crash with a database error:
  they are removed / replaced by U+FFFD, with a warning in the log.
"""

import logging

from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..tools import mail_input

_logger = logging.getLogger(__name__)

ADDRESS_FIELDS = ("email_from", "email_to", "email_cc", "reply_to")
NO_RECIPIENT_TYPES = ("mail_email_invalid", "mail_email_missing")
# mail.mail's own text columns; subject, email_from and reply_to belong to the parent
# mail.message, which repairs them itself (mail_message.py) when they are written through.
TEXT_FIELDS = ("email_to", "email_cc", "body_html", "references", "headers")


def repair_storable_text(model_name, vals, fnames):
    """Make the text values of ``vals`` storable in place (NUL removed, lone
    surrogates replaced by U+FFFD), with a warning per repaired field."""
    for fname in fnames:
        text, count = mail_input.storable_text(vals.get(fname))
        if not count:
            continue
        vals[fname] = text
        _logger.warning(
            "%s %s: %s unstorable character(s) (NUL, lone surrogates) "
            "removed or replaced by U+FFFD",
            model_name,
            fname,
            count,
        )
    return vals


# pylint: disable=consider-merging-classes-inherited
class MailMail(models.Model):
    _inherit = "mail.mail"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            sender = vals.get("email_from")
            if isinstance(sender, str) and not sender.strip():
                del vals["email_from"]  # " " would go out as a blank From:; use the default
            self._mr_clean_input(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._mr_clean_input(vals)
        return super().write(vals)

    def _postprocess_sent_message(self, success_pids, failure_reason=False, failure_type=None):
        """No valid recipient: say so, instead of stock's "Error without exception"."""
        if not failure_type and not success_pids and self._mr_has_no_recipient():
            # Nothing to send to at all: stock leaves "Error without exception".
            failure_type = "mail_email_missing"
        if failure_type in NO_RECIPIENT_TYPES and not failure_reason:
            for mail in self.filtered(lambda m: m.state == "exception"):
                reason = mail._mr_no_recipient_reason(failure_type)
                if mail.auto_delete:
                    # Stock deletes it right after; the reason still reaches its notifications.
                    # Writing the type too would split the batch's UPDATE (one query more).
                    mail.write({"failure_reason": reason})
                else:
                    mail.write({"failure_type": failure_type, "failure_reason": reason})
                if len(self) == 1:
                    failure_reason = reason
        return super()._postprocess_sent_message(
            success_pids, failure_reason=failure_reason, failure_type=failure_type
        )

    def _mr_has_no_recipient(self):
        return len(self) == 1 and (
            self.state == "exception"
            and not (self.email_to or "").strip()
            and not (self.email_cc or "").strip()
            and not self.recipient_ids
        )

    def _mr_no_recipient_reason(self, failure_type):
        self.ensure_one()
        addresses = [a for a in (self.email_to, self.email_cc) if a and a.strip()]
        addresses += [
            p.email or _("%(name)s (no email)", name=p.display_name) for p in self.recipient_ids
        ]
        if failure_type == "mail_email_missing" and not addresses:
            return _("The email has no recipient address.")
        return _(
            "No valid recipient address: %(addresses)s",
            addresses=", ".join(repr(a) for a in addresses) or _("(empty)"),
        )

    @api.model
    def _mr_clean_input(self, vals):
        for fname in ADDRESS_FIELDS:
            value = vals.get(fname)
            header = mail_input.header_injection(value)
            if header:
                raise self._mr_injection_error(fname, header)
        return repair_storable_text(self._name, vals, TEXT_FIELDS)

    @api.model
    def _mr_injection_error(self, fname, header):
        return ValidationError(
            _(
                "The %(field)s address contains a line break followed by a '%(header)s:' "
                "header. Put one address after the other, separated by commas.",
                field=self._fields[fname].string,
                header=header,
            )
        )
