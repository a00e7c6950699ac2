# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The rejected incoming log: mail the gateway could not route is kept here.

Stock Odoo drops such mail (fetchmail only logs "No possible route found"): the
raw message is stored as an ``.eml`` attachment, with the reason, so that an
administrator can read it, download it, fix the alias and re-inject it.

One entry per raw message: the same bytes fetched again (a POP mailbox that did
not delete them) count on the existing entry, found by their SHA-256; two
different messages sharing a Message-Id are two entries.  A message larger
than ``mail_reliability.rejection_max_mb`` (default 10 MB) keeps its headers
and first part only, with a header noting its original size.
"""

import email
import email.policy
import email.utils
import logging
from datetime import timedelta, timezone

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError
from odoo.tools.mail import decode_message_header

from ..tools import mail_input, raw_mail
from ..tools.mail_input import repair_storable_text

_logger = logging.getLogger(__name__)

MAX_MB_PARAM = "mail_reliability.rejection_max_mb"

REASONS = [
    ("no_route", "No alias or document matches the recipients"),
    ("unknown_reply", "Reply to an unknown or deleted thread"),
    ("catchall", "Written directly to the catchall address"),
    ("alias_refused", "The alias refused the sender"),
    ("alias_invalid", "The alias is misconfigured"),
    ("loop_sender", "Sender created too many records (loop protection)"),
    ("loop_reply", "Reply to a loop-protection notice"),
    ("unmatched_bounce", "Bounce that matches no sent message"),
    ("parse_error", "The message could not be read"),
    ("processing_error", "Error while processing the message"),
]
# Read from the message's headers: a NUL in a Subject made the INSERT raise out of
# the gateway, so the mail was neither routed nor kept.
TEXT_FIELDS = (
    "email_from",
    "email_from_normalized",
    "email_to",
    "subject",
    "message_id",
    "reason_detail",
    "bounce_note",
)


def _header(message, name):
    """A decoded header of a possibly broken message, never raising, storable
    (a NUL in a Message-Id made the duplicate search raise)."""
    if message is None:
        return ""
    try:
        value = decode_message_header(message, name, separator=",") or ""
    except Exception:  # undecodable header: keep what we can
        try:
            value = str(message.get(name) or "")
        except Exception:
            value = ""
    return mail_input.storable_text(value)[0]


class MailIncomingRejection(models.Model):
    _name = "mail.incoming.rejection"
    _description = "Rejected Incoming Email"
    _order = "create_date desc, id desc"
    _rec_name = "subject"

    date = fields.Datetime(readonly=True, help="Date header of the message")
    email_from = fields.Char("From", readonly=True)
    email_from_normalized = fields.Char(readonly=True, index=True)
    email_to = fields.Char("Recipients", readonly=True)
    subject = fields.Char(readonly=True)
    message_id = fields.Char("Message-Id", readonly=True, index=True)
    reason = fields.Selection(REASONS, required=True, readonly=True)
    reason_detail = fields.Text("Details", readonly=True)
    attachment_id = fields.Many2one(
        "ir.attachment", string="Original Email", readonly=True, ondelete="set null"
    )
    eml_size = fields.Integer("Size (bytes)", readonly=True, help="Size of the message as received")
    eml_truncated = fields.Boolean(
        "Truncated",
        readonly=True,
        help="The message was larger than the stored size cap "
        "(mail_reliability.rejection_max_mb): the .eml holds its headers and first part",
    )
    raw_sha256 = fields.Char(
        "SHA-256", readonly=True, index=True, help="Hash of the raw message as received"
    )
    bounce_state = fields.Selection(
        [("none", "Not needed"), ("sent", "Sent"), ("suppressed", "Suppressed")],
        string="Bounce to Sender",
        default="none",
        readonly=True,
        copy=False,
    )
    bounce_note = fields.Char(readonly=True, help="Why no bounce was sent to the sender")
    bounce_date = fields.Datetime(readonly=True, copy=False, help="When the answer was sent")
    state = fields.Selection(
        [("rejected", "Rejected"), ("reinjected", "Re-injected")],
        default="rejected",
        required=True,
        readonly=True,
        copy=False,
    )
    received_count = fields.Integer(
        "Times Received", default=1, readonly=True, help="The same raw message came in again"
    )
    last_received_date = fields.Datetime(readonly=True)
    reinject_date = fields.Datetime(readonly=True, copy=False)
    fetchmail_server_id = fields.Many2one(
        "fetchmail.server", string="Incoming Server", readonly=True, ondelete="set null"
    )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            repair_storable_text(self._name, vals, TEXT_FIELDS)
        return super().create(vals_list)

    def write(self, vals):
        repair_storable_text(self._name, vals, TEXT_FIELDS)
        return super().write(vals)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_download_eml(self):
        self.ensure_one()
        if not self.attachment_id:
            raise UserError(_("The original email of this rejection is no longer stored."))
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.attachment_id.id}?download=true",
            "target": "self",
        }

    def action_reinject(self):
        """Feed the stored message to the mail gateway again (after fixing an alias)."""
        done, failed = self._action_reinject()
        if failed:
            message = _(
                "%(done)s message(s) re-injected; %(failed)s still rejected: %(reasons)s",
                done=len(done),
                failed=len(failed),
                reasons="; ".join(
                    f"{rec.subject or rec.message_id}: {rec.reason_detail or rec.reason}"
                    for rec in failed
                ),
            )
            kind = "warning"
        else:
            message = _("%(done)s message(s) re-injected.", done=len(done))
            kind = "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": kind,
                "sticky": bool(failed),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _action_reinject(self):
        """Re-inject each message; returns (re-injected, still rejected) recordsets."""
        done, failed = self.browse(), self.browse()
        for rejection in self.filtered(lambda r: r.state == "rejected"):
            if not rejection.attachment_id:
                raise UserError(
                    _(
                        "The original email of '%(subject)s' is no longer stored.",
                        subject=rejection.subject or rejection.message_id,
                    )
                )
            raw = rejection.attachment_id.raw
            model = rejection.fetchmail_server_id.object_id.model or None
            self.env["mail.thread"].with_context(
                mail_reliability_reinject_id=rejection.id
            ).message_process(model, raw)
            imported = rejection.message_id and self.env["mail.message"].sudo().search_count(
                [("message_id", "=", rejection.message_id)], limit=1
            )
            if imported:
                rejection.write({"state": "reinjected", "reinject_date": fields.Datetime.now()})
                done |= rejection
            else:
                failed |= rejection
        return done, failed

    # ------------------------------------------------------------------
    # Business
    # ------------------------------------------------------------------
    @api.model
    def _mr_capture(self, raw, reason, detail="", message=None, bounce_state="none", note=""):
        """Keep ``raw`` (bytes) in the log; returns the rejection record.

        The same raw message received again (a POP mailbox re-fetching it, a
        re-injection that fails again) updates the existing record; a different
        message with the same Message-Id gets its own.
        """
        if message is None:
            try:
                message = email.message_from_bytes(raw, policy=email.policy.SMTP)
            except Exception:
                message = None
        message_id = _header(message, "Message-Id").strip()
        email_from = _header(message, "From")
        subject = _header(message, "Subject")
        recipients = ", ".join(
            filter(None, (_header(message, h) for h in ("Delivered-To", "To", "Cc")))
        )
        values = {
            "reason": reason,
            "reason_detail": (detail or "")[:10000],
            "last_received_date": fields.Datetime.now(),
        }
        if bounce_state != "none":
            values.update(bounce_state=bounce_state, bounce_note=note or False)
        if bounce_state == "sent":
            values["bounce_date"] = values["last_received_date"]
        sha256 = raw_mail.digest(raw)
        reinject_id = self.env.context.get("mail_reliability_reinject_id")
        existing = self.browse(reinject_id).exists() if reinject_id else self.browse()
        if not existing:
            existing = self.search([("raw_sha256", "=", sha256)], limit=1)
        if existing:
            if not reinject_id:
                values["received_count"] = existing.received_count + 1
            existing.write(values)
            _logger.info(
                "Incoming mail %s from %s rejected again (%s): %s",
                message_id,
                email_from,
                reason,
                detail,
            )
            return existing
        server_id = self.env.context.get("default_fetchmail_server_id")
        stored, truncated = raw_mail.truncate(raw, self._mr_max_eml_bytes())
        if truncated:
            _logger.warning(
                "Incoming mail %s is %s bytes, over the stored size cap: keeping %s bytes "
                "(headers and first part)",
                message_id,
                len(raw),
                len(stored),
            )
        rejection = self.create(
            {
                **values,
                "date": self._mr_parse_date(_header(message, "Date")),
                "email_from": email_from[:512] or False,
                "email_from_normalized": tools.email_normalize(email_from) or False,
                "email_to": recipients[:2048] or False,
                "subject": subject[:1024] or False,
                "message_id": message_id[:998] or False,
                "eml_size": len(raw),
                "eml_truncated": truncated,
                "raw_sha256": sha256,
                "fetchmail_server_id": server_id
                if server_id and self.env["fetchmail.server"].browse(server_id).exists()
                else False,
            }
        )
        rejection.attachment_id = self.env["ir.attachment"].create(
            {
                "name": f"{self._mr_filename(subject or message_id or 'message')}.eml",
                "raw": stored,
                "mimetype": "message/rfc822",
                "res_model": self._name,
                "res_id": rejection.id,
            }
        )
        _logger.warning(
            "Incoming mail %s from %s to %s kept in the rejected incoming log "
            "(mail.incoming.rejection %s): %s%s",
            message_id,
            email_from,
            recipients,
            rejection.id,
            reason,
            f": {detail}" if detail else "",
        )
        return rejection

    @api.model
    def _mr_filename(self, text):
        safe = "".join(c if c.isalnum() or c in "-_ ." else "_" for c in text).strip()
        return (safe or "message")[:80]

    @api.model
    def _mr_parse_date(self, value):
        if not value:
            return False
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return False
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        return parsed

    @api.model
    def _mr_max_eml_bytes(self):
        """The stored size cap of one raw message, in bytes (0: no cap)."""
        value = self.env["ir.config_parameter"].sudo().get_param(MAX_MB_PARAM)
        try:
            return raw_mail.parse_max_mb(value)
        except ValueError:
            _logger.warning("Ignoring %s=%r: not a number of MB", MAX_MB_PARAM, value)
            return raw_mail.parse_max_mb(None)

    @api.model
    def _mr_recent_bounces(self, sender, minutes=60):
        """How many answers went to ``sender`` in the last ``minutes``; to anybody
        when ``sender`` is ``None``."""
        domain = [
            ("bounce_state", "=", "sent"),
            ("bounce_date", ">", fields.Datetime.now() - timedelta(minutes=minutes)),
        ]
        if sender is not None:
            if not sender:
                return 0
            domain.append(("email_from_normalized", "=", sender))
        return self.search_count(domain)

    def _gc_rejections(self):
        """Drop rejections past the retention (``mail_reliability.vacuum_rejection_days``).

        The daily retention clean-up (``mail.reliability.vacuum``) runs this rule with
        the others; this entry point runs it alone, one bounded batch.
        """
        Vacuum = self.env["mail.reliability.vacuum"]
        rule = next(r for r in Vacuum._vacuum_rules() if r["key"] == "incoming_rejection")
        domain = Vacuum._vacuum_rule_domain(rule)
        if domain is None:
            return 0
        deleted, _remaining = Vacuum._vacuum_batched(rule["model"], domain)
        return deleted
