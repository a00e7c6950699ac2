# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Delivery problems of one contact or one domain, wherever they were recorded.

A read-only SQL view over the places a problem is kept: recipients whose email
failed or bounced (``mail.notification``), mail refused at the door
(``mail.incoming.rejection``, matched to contacts by the sender's address), and,
with Email Marketing, failed or bounced campaign traces (the bridge adds them
through ``_mr_issue_queries``). It answers the troubleshooting question "is it
one customer or everyone?": per contact (``res.partner.mail_delivery_issue_count``)
and per recipient domain (grouped list).
"""

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError
from odoo.tools import SQL

# id = source id * ID_STRIDE + source number: unique across sources.
ID_STRIDE = 8
ISSUE_DAYS = 90


class MailDeliveryIssue(models.Model):
    _name = "mail.delivery.issue"
    _description = "Email Delivery Problem"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "email"

    date = fields.Datetime(readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    email = fields.Char(readonly=True)
    domain = fields.Char(readonly=True)
    source = fields.Selection(
        [
            ("notification", "Email to the contact"),
            ("rejection", "Incoming mail refused"),
            ("trace", "Campaign email"),
        ],
        readonly=True,
    )
    status = fields.Char(readonly=True)
    failure_type = fields.Char(readonly=True)
    reason = fields.Text(readonly=True)
    subject = fields.Char(readonly=True)
    res_model = fields.Char("Recorded On", readonly=True)
    res_id = fields.Integer("Record ID", readonly=True)

    @api.model
    def _mr_issue_queries(self):
        """SELECTs giving the view's columns, one per source (the bridge adds one)."""
        return [
            SQL(
                """
                SELECT n.id * %(stride)s + 1 AS id,
                       m.date AS date,
                       n.res_partner_id AS partner_id,
                       p.email_normalized AS email,
                       split_part(p.email_normalized, '@', 2) AS domain,
                       'notification' AS source,
                       n.notification_status AS status,
                       n.failure_type AS failure_type,
                       n.failure_reason AS reason,
                       m.subject AS subject,
                       'mail.message' AS res_model,
                       m.id AS res_id
                  FROM mail_notification n
                  JOIN mail_message m ON m.id = n.mail_message_id
                  JOIN res_partner p ON p.id = n.res_partner_id
                 WHERE n.notification_type = 'email'
                   AND n.notification_status IN ('exception', 'bounce')
                """,
                stride=ID_STRIDE,
            ),
            SQL(
                """
                SELECT r.id * %(stride)s + 2 AS id,
                       r.create_date AS date,
                       p.id AS partner_id,
                       r.email_from_normalized AS email,
                       split_part(r.email_from_normalized, '@', 2) AS domain,
                       'rejection' AS source,
                       r.reason AS status,
                       NULL AS failure_type,
                       r.reason_detail AS reason,
                       r.subject AS subject,
                       'mail.incoming.rejection' AS res_model,
                       r.id AS res_id
                  FROM mail_incoming_rejection r
             LEFT JOIN LATERAL (
                        SELECT id FROM res_partner
                         WHERE email_normalized = r.email_from_normalized
                         ORDER BY active DESC, id LIMIT 1
                       ) p ON TRUE
                 WHERE r.email_from_normalized IS NOT NULL
                """,
                stride=ID_STRIDE,
            ),
        ]

    def init(self):
        if not self.env.su:  # the registry builds the view; nobody calls it remotely
            raise AccessError(self.env._("Only the registry rebuilds this view."))
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                SQL(" UNION ALL ").join(self._mr_issue_queries()),
            )
        )

    def action_open_source(self):
        """Open the record the problem was recorded on."""
        self.check_access("read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "target": "current",
        }
