# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The quota saver: switch internal users' notifications from email to "Handle in Odoo".

Every chatter notification an internal user receives by email is an email,
counted by the daily sending limit. With "Handle in Odoo" the user sees it in
Discuss instead and no email is sent. Admin only, and nothing changes before
the administrator has reviewed the selection and confirmed it.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class MailQuotaSaverWizard(models.TransientModel):
    _name = "mail.quota.saver.wizard"
    _description = "Switch internal users to Handle in Odoo notifications"

    state = fields.Selection(
        [("select", "Choose"), ("confirm", "Confirm")], default="select", readonly=True
    )
    line_ids = fields.One2many("mail.quota.saver.wizard.line", "wizard_id", "Users")
    used_today = fields.Integer("Counted Today", readonly=True)
    internal_today = fields.Integer("To Internal Users Today", readonly=True)
    daily_limit = fields.Integer(readonly=True)
    selected_count = fields.Integer(compute="_compute_confirm_text")
    confirm_text = fields.Text(compute="_compute_confirm_text")

    @api.depends("line_ids.selected")
    def _compute_confirm_text(self):
        for wizard in self:
            users = wizard.line_ids.filtered("selected").user_id
            wizard.selected_count = len(users)
            wizard.confirm_text = _(
                "%(count)s user(s) will be switched to 'Handle in Odoo': %(names)s.\n\n"
                "From now on they see their notifications (messages on followed documents, "
                "mentions, activities) in Odoo, in Discuss > Inbox, and no longer receive "
                "them by email. Emails to customers and other external contacts do not "
                "change. Each user can switch back in their Preferences (Notification: "
                "Handle by Emails).",
                count=len(users),
                names=", ".join(users.mapped("name")),
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    @api.model
    def action_open(self):
        self._check_admin()
        Usage = self.env["mail.quota.usage"].sudo()
        figures = Usage._today_figures()
        Users = self.env["res.users"]
        users = Users.search(Users._mr_email_notified_internal_domain(), order="name")
        received = self._notification_emails_today(users)
        wizard = self.create(
            {
                "used_today": figures["used"],
                "internal_today": figures["internal"],
                "daily_limit": figures["limit"],
                "line_ids": [
                    fields.Command.create(
                        {
                            "user_id": user.id,
                            "selected": True,
                            "emails_today": received.get(user.partner_id.id, 0),
                        }
                    )
                    for user in users
                ],
            }
        )
        return wizard._reopen()

    def action_review(self):
        self.ensure_one()
        self._check_admin()
        if not self.line_ids.filtered("selected"):
            raise UserError(_("Select at least one user to switch."))
        self.state = "confirm"
        return self._reopen()

    def action_back(self):
        self.ensure_one()
        self._check_admin()
        self.state = "select"
        return self._reopen()

    def action_switch(self):
        self.ensure_one()
        switched = self._action_switch()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "%(count)s user(s) now handle their notifications in Odoo.",
                    count=len(switched),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _action_switch(self):
        """Set 'Handle in Odoo' on the selected users, once confirmed.

        :return: the users switched (those still internal and notified by email)
        """
        self._check_admin()
        if self.state != "confirm":
            raise UserError(_("Review the selection and confirm it first."))
        Users = self.env["res.users"]
        users = self.line_ids.filtered("selected").user_id.filtered_domain(
            Users._mr_email_notified_internal_domain()
        )
        users.write({"notification_type": "inbox"})
        return users

    def _check_admin(self):
        """Administrators only: the wizard's access rights decide (base.group_system)."""
        self.env[self._name].check_access("write")

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Save daily quota: notifications in Odoo"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.model
    def _notification_emails_today(self, users):
        """{partner id: notification emails sent to it today} from ``mail.notification``
        (kept when the sent mail is deleted); messages dated in today's quota day."""
        qday = self.env["mail.quota.usage"].sudo()._current_day()
        groups = (
            self.env["mail.notification"]
            .sudo()
            ._read_group(
                [
                    ("res_partner_id", "in", users.partner_id.ids),
                    ("notification_type", "=", "email"),
                    ("notification_status", "in", ("sent", "bounce")),
                    ("mail_message_id.date", ">=", qday.start),
                    ("mail_message_id.date", "<", qday.reset),
                ],
                ["res_partner_id"],
                ["__count"],
            )
        )
        return {partner.id: count for partner, count in groups}


class MailQuotaSaverWizardLine(models.TransientModel):
    _name = "mail.quota.saver.wizard.line"
    _description = "Internal user notified by email"
    _order = "emails_today desc, id"

    wizard_id = fields.Many2one(
        "mail.quota.saver.wizard", required=True, ondelete="cascade", index=True
    )
    user_id = fields.Many2one("res.users", "User", required=True, readonly=True)
    email = fields.Char(related="user_id.email")
    selected = fields.Boolean("Switch")
    emails_today = fields.Integer(
        "Notification Emails Today",
        readonly=True,
        help="Notification emails sent to this user today (from the notification "
        "records, which stay when sent mail is deleted)",
    )
