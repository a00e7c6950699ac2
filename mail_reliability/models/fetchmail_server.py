# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..tools.redaction import redact_export


class FetchmailServer(models.Model):
    _inherit = "fetchmail.server"

    password = fields.Char(exportable=False)

    def export_data(self, fields_to_export):
        result = super().export_data(fields_to_export)
        return redact_export(fields_to_export, result, {"password"})
