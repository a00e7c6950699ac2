# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.constants import HARD_FAILURE_TYPES

PREVIEW_SIZE = 80


class MailMailRetryWizard(models.TransientModel):
    """Requeue failed mail chosen by failure type, recipient domain and date range."""

    _name = "mail.mail.retry.wizard"
    _description = "Retry failed emails by criteria"

    failure_type = fields.Selection(
        selection="_selection_failure_type", help="Leave empty for every failure type"
    )
    recipient_domain = fields.Char(help="e.g. gmail.com; leave empty for every domain")
    date_from = fields.Datetime("Failed from")
    date_to = fields.Datetime("Failed until")
    confirm_recipient_failures = fields.Boolean(
        "Also retry rejected addresses",
        help="Mail refused because the address does not exist will most likely fail again "
        "and hurts the sender reputation. Tick only after correcting the addresses.",
    )
    mail_ids = fields.Many2many(
        "mail.mail",
        compute="_compute_mail_ids",
        string="Emails",
        help="The most recent matching emails (a preview: at most 80 are shown)",
    )
    mail_count = fields.Integer(compute="_compute_mail_ids")
    recipient_failure_count = fields.Integer(compute="_compute_mail_ids")

    @api.model
    def _selection_failure_type(self):
        return self.env["mail.mail"]._fields["failure_type"]._description_selection(self.env)

    @api.depends("failure_type", "recipient_domain", "date_from", "date_to")
    def _compute_mail_ids(self):
        # Counted in SQL: the failed queue can hold many thousand mails, never read whole.
        Mail = self.env["mail.mail"]
        for wizard in self:
            domain = wizard._domain()
            wizard.mail_ids = Mail.search(
                domain, limit=PREVIEW_SIZE, order="create_date desc, id desc"
            )
            wizard.mail_count = Mail.search_count(domain)
            wizard.recipient_failure_count = Mail.search_count(
                [*domain, ("failure_type", "in", HARD_FAILURE_TYPES)]
            )

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for wizard in self:
            if wizard.date_from and wizard.date_to and wizard.date_from > wizard.date_to:
                raise UserError(_("The start of the date range is after its end."))

    def _domain(self):
        self.ensure_one()
        domain = [("state", "=", "exception")]
        if self.failure_type:
            domain.append(("failure_type", "=", self.failure_type))
        if self.recipient_domain:
            domain.append(("recipient_domain", "=ilike", self.recipient_domain.strip().lstrip("@")))
        if self.date_from:
            domain.append(("create_date", ">=", self.date_from))
        if self.date_to:
            domain.append(("create_date", "<=", self.date_to))
        return domain

    def action_retry(self):
        self.ensure_one()
        return self._action_retry()

    def _action_retry(self):
        Mail = self.env["mail.mail"]
        domain = self._domain()
        rejected = Mail.search_count([*domain, ("failure_type", "in", HARD_FAILURE_TYPES)])
        if rejected and not self.confirm_recipient_failures:
            raise UserError(
                _(
                    "%(count)s of these emails were refused because the recipient address does "
                    "not exist. Retrying them will fail again and hurts your sender reputation. "
                    "Correct the addresses, or tick 'Also retry rejected addresses' to confirm.",
                    count=rejected,
                )
            )
        mails = Mail.search(domain)
        if not mails:
            raise UserError(_("No failed email matches these criteria."))
        mails.action_retry()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "%(count)s email(s) put back in the queue; the next run of the "
                    "email queue sends them.",
                    count=len(mails),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
