# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models, tools

from odoo.addons.mail_reliability.tools import delivery_stats, dsn
from odoo.addons.mail_reliability.tools.constants import SPAM_COMPLAINT


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    @api.model
    def _routing_handle_bounce(self, email_message, message_dict):
        """mass_mailing marks traces bounced and may blacklist on any bounce.

        Let it see only what counts: a hard address failure of a recipient of the
        bounced message keeps the stock behaviour (for that address); a delayed or
        soft (policy, sender authentication, size...) report, an auto-reply, a spam
        complaint or a report naming only strangers leaves traces and the blacklist
        alone; a bounce nobody can read marks traces but never feeds the blacklist.
        The per-recipient handling itself is in mail_reliability.
        """
        if not email_message:  # parsed by the caller: nothing more to read, stock behaviour
            return super()._routing_handle_bounce(email_message, message_dict)
        partners = self.env["res.partner"].sudo()
        # Parsed here once; mail_reliability reuses it from message_dict.
        feedback = self._mr_parsed_report(email_message, message_dict).feedback
        if feedback is not None:
            super()._routing_handle_bounce(
                email_message,
                dict(
                    message_dict,
                    bounced_email=False,
                    bounced_partner=partners,
                    bounced_msg_ids=False,
                ),
            )
            _message, complainers, _ignored = self._mr_feedback_complainers(message_dict, feedback)
            if feedback.is_complaint and complainers and feedback.original_message_ids:
                self.env["mailing.trace"].sudo().search(
                    [
                        ("message_id", "in", list(feedback.original_message_ids)),
                        ("email", "in", list(complainers)),
                    ]
                ).write({"failure_type": SPAM_COMPLAINT})
            return complainers
        report, _message, _msg_ids, ignored = self._mr_read_bounce(email_message, message_dict)
        hard = [r for r in report.recipients if r.kind == dsn.HARD]
        if hard:
            message_dict = dict(
                message_dict,
                bounced_email=hard[0].recipient,
                bounced_partner=partners.search([("email_normalized", "=", hard[0].recipient)]),
            )
        elif report.recipients or ignored or dsn.is_auto_reply(email_message):
            message_dict = dict(
                message_dict, bounced_email=False, bounced_partner=partners, bounced_msg_ids=False
            )
        else:
            message_dict = dict(message_dict, bounced_email=False, bounced_partner=partners)
        return super()._routing_handle_bounce(email_message, message_dict)

    @api.model
    def _mr_bounce_allowed_addresses(self, bounced_message, msg_ids):
        """Campaign mail: the traces of the bounced Message-IDs name the recipients."""
        allowed = super()._mr_bounce_allowed_addresses(bounced_message, msg_ids)
        if msg_ids:
            traces = (
                self.env["mailing.trace"].sudo().search([("message_id", "in", list(msg_ids)[:32])])
            )
            allowed |= {dsn.normalize_address(e) for e in traces.mapped("email") if e} - {""}
        return allowed

    @api.model
    def _mr_bounce_delivery_dims(self, bounced_message, msg_ids, address):
        """A campaign bounce counts on its campaign's row. Campaign mail keeps no
        message once sent: the trace names the campaign, its server and sender."""
        dims = super()._mr_bounce_delivery_dims(bounced_message, msg_ids, address)
        trace = self.env["mailing.trace"]
        if msg_ids:
            trace = (
                self.env["mailing.trace"]
                .sudo()
                .search(
                    [("message_id", "in", list(msg_ids)[:32]), ("email", "=", address.lower())],
                    limit=1,
                )
            )
        mailing = trace.mass_mailing_id
        if not mailing:
            return dims
        dims["mailing_id"] = mailing.id
        if not bounced_message:
            dims["mail_server_id"] = mailing.mail_server_id.id or False
            dims["sender_domain"] = delivery_stats.domain_of(
                tools.email_normalize(mailing.email_from or "")
            )
        return dims
