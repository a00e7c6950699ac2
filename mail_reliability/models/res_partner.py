# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import mail_input
from .mail_delivery_issue import ISSUE_DAYS


class ResPartner(models.Model):
    _inherit = "res.partner"

    mail_delivery_issue_count = fields.Integer(
        "Email Problems",
        compute="_compute_mail_delivery_issue_count",
        groups="base.group_system",
        help="Emails to this contact that failed or bounced, and mail from this contact "
        "that was refused, in the last 90 days.",
    )

    def _compute_mail_delivery_issue_count(self):
        counts = {}
        if self.ids:
            groups = self.env["mail.delivery.issue"]._read_group(
                self._mr_delivery_issue_domain(), ["partner_id"], ["__count"]
            )
            counts = {partner.id: count for partner, count in groups}
        for partner in self:
            partner.mail_delivery_issue_count = counts.get(partner.id, 0)

    def _mr_delivery_issue_domain(self):
        since = fields.Datetime.now() - timedelta(days=ISSUE_DAYS)
        return [("partner_id", "in", self.ids), ("date", ">=", since)]

    def action_view_mail_delivery_issues(self):
        self.env["mail.delivery.issue"].check_access("read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "mail_reliability.mail_delivery_issue_action"
        )
        action["domain"] = self._mr_delivery_issue_domain()
        action["context"] = {"create": False}
        action["display_name"] = _("Email problems of %(name)s", name=self.display_name)
        return action

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
