# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""SMTP and incoming-mail passwords stay out of exports and debug logs.

* ``export_data`` (Export dialog, RPC) writes ``[redacted]`` instead of a
  password, and the Export dialog no longer offers the field. Import still
  works: a password is simply not part of an export file.
* With "Debugging" on, smtplib's session transcript goes to Odoo's log
  (``odoo.addons.base.models.ir_mail_server`` at DEBUG), AUTH command
  included: base64 of the user name and password. The transcript is paused
  for the login.
"""

import logging

from odoo import fields, models

_logger = logging.getLogger(__name__)

REDACTED = "[redacted]"


def redact_export(records, fields_to_export, result, secret_fields):
    """Replace the values of ``secret_fields`` columns in an ``export_data`` result."""
    columns = [
        index
        for index, path in enumerate(fields_to_export)
        if path.replace("/", ".").split(".")[-1] in secret_fields or path in secret_fields
    ]
    if columns:
        for row in result.get("datas", []):
            for index in columns:
                if index < len(row) and row[index]:
                    row[index] = REDACTED
    return result


# pylint: disable=consider-merging-classes-inherited
class IrMailServer(models.Model):
    _inherit = "ir.mail_server"

    smtp_pass = fields.Char(exportable=False)

    def export_data(self, fields_to_export):
        result = super().export_data(fields_to_export)
        return redact_export(self, fields_to_export, result, {"smtp_pass"})

    def _smtp_login(self, connection, smtp_user, smtp_password):
        # Odoo's SMTPConnection wraps the smtplib object without exposing debuglevel.
        debuglevel = getattr(getattr(connection, "__obj__", connection), "debuglevel", 0)
        if not isinstance(debuglevel, int):  # a test double
            debuglevel = 0
        if debuglevel:
            connection.set_debuglevel(0)
            _logger.debug("SMTP AUTH as %s (transcript hidden: it holds the password)", smtp_user)
        try:
            return super()._smtp_login(connection, smtp_user, smtp_password)
        finally:
            if debuglevel:
                connection.set_debuglevel(debuglevel)
