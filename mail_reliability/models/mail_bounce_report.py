# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One parsed delivery or feedback report, per recipient it counted for.

Keeps the raw ``.eml`` (an attachment) one click away from the recipient's
failure, and what the report changed (the bounce counter, a blacklist entry), so
a wrongly counted bounce can be reset: the counter increment and the blacklist
entry it caused are undone and the notification is marked as reset.
"""

from markupsafe import Markup

from odoo import _, api, fields, models


class MailBounceReport(models.Model):
    _name = "mail.bounce.report"
    _description = "Bounce or complaint report (per recipient)"
    _order = "id desc"
    _rec_name = "email"

    email = fields.Char(required=True, readonly=True, help="The address we sent to.")
    final_recipient = fields.Char(readonly=True)
    original_recipient = fields.Char(readonly=True)
    kind = fields.Selection(
        [
            ("hard", "Hard bounce"),
            ("soft", "Soft bounce"),
            ("delayed", "Delayed"),
            ("complaint", "Spam complaint"),
        ],
        required=True,
        readonly=True,
    )
    status = fields.Char(readonly=True, help="RFC 3463 status of the report (e.g. 5.1.1).")
    diagnostic = fields.Text(readonly=True)
    report_message_id = fields.Char("Report Message-Id", readonly=True)
    original_message_id = fields.Char(
        "Bounced Message-Id",
        readonly=True,
        index="btree_not_null",
        help="Message-Id of the message the report is about (campaign traces use it).",
    )
    mail_message_id = fields.Many2one(
        "mail.message",
        "Bounced message",
        readonly=True,
        ondelete="set null",
        index="btree_not_null",
    )
    notification_ids = fields.One2many("mail.notification", "bounce_report_id", readonly=True)
    attachment_id = fields.Many2one(
        "ir.attachment", "Raw report", readonly=True, ondelete="set null"
    )
    raw_file = fields.Binary(related="attachment_id.datas", string="Raw report (.eml)")
    raw_filename = fields.Char(related="attachment_id.name")
    counted = fields.Boolean(
        readonly=True, copy=False, help="The report added one to the address's bounce counter."
    )
    blacklisted = fields.Boolean(
        readonly=True, copy=False, help="The report added the address to the blacklist."
    )
    state = fields.Selection(
        [("applied", "Applied"), ("reset", "Reset")], default="applied", readonly=True, copy=False
    )

    def action_reset(self):
        """Undo a wrongly counted bounce (button)."""
        self.check_access("write")  # administrators only (access rules)
        return self._action_reset()

    def _action_reset(self):
        for report in self.filtered(lambda r: r.state == "applied"):
            if report.counted:
                report._undo_bounce_count()
            if report.blacklisted:
                self.env["mail.blacklist"].sudo()._remove(
                    report.email,
                    message=Markup("<p>%s</p>")
                    % _("Removed: the bounce report that caused it was reset."),
                )
            report.notification_ids.sudo().write(
                {
                    "notification_status": "sent",
                    "failure_type": False,
                    "failure_reason": _("Bounce reset by %(user)s", user=self.env.user.name),
                }
            )
            report.state = "reset"
        return True

    def _undo_bounce_count(self):
        """Minus one on every record of this address that counts bounces (as stock counts)."""
        self.ensure_one()
        for model_name in self.env.registry.descendants(["mail.thread.blacklist"], "_inherit"):
            Model = self.env[model_name].sudo()
            if Model._abstract or "message_bounce" not in Model._fields:
                continue
            for record in Model.search(
                [("email_normalized", "=", self.email), ("message_bounce", ">", 0)]
            ):
                record.message_bounce -= 1

    @api.model
    def _mr_store(self, raw, report_message_id, bounced_message, values_list, msg_ids=()):
        """Records for ``values_list`` sharing one ``.eml`` attachment of ``raw``."""
        if not values_list:
            return self
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": "bounce-report.eml",
                    "raw": raw,
                    "mimetype": "message/rfc822",
                    "res_model": self._name,
                }
            )
        )
        records = self.sudo().create(
            [
                {
                    **values,
                    "report_message_id": report_message_id,
                    "mail_message_id": bounced_message.id or False,
                    "original_message_id": bounced_message.message_id
                    or (list(msg_ids)[:1] or [False])[0],
                    "attachment_id": attachment.id,
                }
                for values in values_list
            ]
        )
        attachment.res_id = records[0].id
        return records
