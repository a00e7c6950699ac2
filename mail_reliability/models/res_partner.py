# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..tools import mail_input


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._mr_check_email_storable(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._mr_check_email_storable(vals)
        return super().write(vals)

    @api.model
    def _mr_check_email_storable(self, vals):
        """NUL or lone surrogates would crash the INSERT with a database error."""
        email = vals.get("email")
        if isinstance(email, str) and mail_input.storable_text(email)[1]:
            raise ValidationError(
                _(
                    "The email %(email)s contains characters that are not allowed "
                    "(NUL or invalid Unicode).",
                    email=ascii(email),
                )
            )

    @api.constrains("email")
    def _check_email_header_injection(self):
        """A line break followed by "Bcc:" in an email would silently add a recipient."""
        for partner in self:
            header = mail_input.header_injection(partner.email)
            if header:
                raise ValidationError(
                    _(
                        "The email of %(name)s contains a line break followed by a "
                        "'%(header)s:' header. Separate several addresses with commas.",
                        name=partner.display_name or partner.name or "?",
                        header=header,
                    )
                )
