# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.tools import SQL

from odoo.addons.mail_reliability.models.mail_delivery_issue import ID_STRIDE


class MailDeliveryIssue(models.Model):
    _inherit = "mail.delivery.issue"

    @api.model
    def _mr_issue_queries(self):
        """Failed and bounced campaign emails, matched to contacts by record or address."""
        return [
            *super()._mr_issue_queries(),
            SQL(
                """
                SELECT t.id * %(stride)s + 3 AS id,
                       COALESCE(t.write_date, t.create_date) AS date,
                       COALESCE(CASE WHEN t.model = 'res.partner' THEN t.res_id END, p.id)
                           AS partner_id,
                       lower(t.email) AS email,
                       split_part(lower(t.email), '@', 2) AS domain,
                       'trace' AS source,
                       t.trace_status AS status,
                       t.failure_type AS failure_type,
                       t.failure_reason AS reason,
                       mm.subject AS subject,
                       'mailing.trace' AS res_model,
                       t.id AS res_id
                  FROM mailing_trace t
             LEFT JOIN mailing_mailing mm ON mm.id = t.mass_mailing_id
             LEFT JOIN LATERAL (
                        SELECT id FROM res_partner
                         WHERE t.model IS DISTINCT FROM 'res.partner'
                           AND email_normalized = lower(t.email)
                         ORDER BY active DESC, id LIMIT 1
                       ) p ON TRUE
                 WHERE t.trace_type = 'mail'
                   AND t.trace_status IN ('error', 'bounce')
                """,
                stride=ID_STRIDE,
            ),
        ]
