# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Incoming mail: nothing unroutable is lost, bounces are read per recipient.

* ``message_process`` runs stock's gateway inside a savepoint.  Whatever it
  cannot route (no alias, unknown reply, refused by an alias, broken message,
  crash while processing) is kept in ``mail.incoming.rejection`` with its
  ``.eml``, and the call returns ``False`` instead of raising, so fetchmail
  goes on with the next message.
* Every automatic answer goes through ``_routing_create_bounce_email``, where
  loop safety applies: no answer to bounces, auto-replies, mailer-daemons,
  lists or our own addresses, and at most N answers per sender and hour.
* ``_routing_handle_bounce`` reads the DSN per recipient (``tools/dsn.py``):
  a failed recipient's notification becomes ``bounce`` with the same
  classification as an SMTP reply, a delayed one gets a warning only, and only
  hard address failures reach stock's bounce counter (and blacklisting).
"""

import email
import email.policy
import logging
import xmlrpc.client
from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.tools import SQL
from odoo.tools.mail import decode_message_header, mail_header_msgid_re

from ..tools import dsn

_logger = logging.getLogger(__name__)

FRAMES_KEY = "mail_reliability_incoming"
BOUNCE_LIMIT_PARAM = "mail_reliability.incoming_bounce_limit"
BOUNCE_LIMIT_DEFAULT = 5  # automatic answers per sender and hour
BOUNCING_REASONS = ("no_route", "unknown_reply")
HARD_FAILURE_TYPES = ("mail_smtp_recipient",)


def _frames(env):
    return env.cr.cache.setdefault(FRAMES_KEY, [])


def _frame(env):
    frames = _frames(env)
    return frames[-1] if frames else None


def _raw_bytes(message):
    if isinstance(message, xmlrpc.client.Binary):
        return bytes(message.data)
    if isinstance(message, str):
        try:
            return message.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that stands for no byte (U+D800)
            return message.encode("utf-8", "surrogatepass")
    if isinstance(message, bytes | bytearray):
        return bytes(message)
    return bytes(message.as_bytes())


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    # ------------------------------------------------------------------
    # Gateway entry point
    # ------------------------------------------------------------------
    @api.model
    def message_process(
        self,
        model,
        message,
        custom_values=None,
        save_original=False,
        strip_attachments=False,
        thread_id=None,
    ):
        raw = _raw_bytes(message)
        frame = {"stage": "parse"}
        frames = _frames(self.env)
        frames.append(frame)
        try:
            try:
                with self.env.cr.savepoint():
                    result = super().message_process(
                        model,
                        raw,
                        custom_values=custom_values,
                        save_original=save_original,
                        strip_attachments=strip_attachments,
                        thread_id=thread_id,
                    )
            except Exception as exc:  # the mail is kept, fetchmail goes on
                self._mr_reject_failed(raw, frame, exc)
                return False
            if frame.get("reason"):
                self._mr_capture(raw, frame)
                return False
            return result
        finally:
            frames.pop()

    @api.model
    def message_route(self, message, message_dict, model=None, thread_id=None, custom_values=None):
        frame = _frame(self.env)
        if frame is not None:
            frame["stage"] = "route"
        return super().message_route(
            message, message_dict, model=model, thread_id=thread_id, custom_values=custom_values
        )

    @api.model
    def _message_route_process(self, message, message_dict, routes):
        frame = _frame(self.env)
        if frame is not None:
            frame["stage"] = "process"
        return super()._message_route_process(message, message_dict, routes)

    @api.model
    def _detect_loop_headers(self, msg_dict):
        ignored = super()._detect_loop_headers(msg_dict)
        frame = _frame(self.env)
        if ignored and frame is not None and not frame.get("reason"):
            frame["reason"] = "loop_reply"
        return ignored

    # ------------------------------------------------------------------
    # Rejections
    # ------------------------------------------------------------------
    @api.model
    def _mr_reject_failed(self, raw, frame, exc):
        """The gateway raised: keep the mail, answer the sender if they can fix it."""
        stage = frame.get("stage")
        if stage == "parse":
            frame["reason"] = "parse_error"
        elif stage == "route":
            frame["reason"] = "no_route" if "No possible route" in str(exc) else "alias_invalid"
        else:
            frame["reason"] = "processing_error"
        frame["detail"] = f"{exc.__class__.__name__}: {exc}"
        _logger.warning(
            "Incoming mail could not be %s (%s); keeping it in the rejected incoming log",
            {"parse": "read", "route": "routed"}.get(stage, "processed"),
            frame["detail"],
            exc_info=stage != "route",
        )
        message = self._mr_parse_raw(raw)
        frame["reason"] = self._mr_refine_reason(frame["reason"], message)
        if frame["reason"] in BOUNCING_REASONS and message is not None:
            try:
                with self.env.cr.savepoint():
                    self._mr_bounce_unroutable(message)
            except Exception as bounce_exc:  # the log entry matters more
                _logger.warning("Could not send the bounce notice: %s", bounce_exc)
                frame.update(bounce_state="suppressed", bounce_note=str(bounce_exc)[:200])
        return self._mr_capture(raw, frame, message=message)

    @api.model
    def _mr_capture(self, raw, frame, message=None):
        message = message if message is not None else self._mr_parse_raw(raw)
        reason = self._mr_refine_reason(frame["reason"], message)
        return (
            self.env["mail.incoming.rejection"]
            .sudo()
            ._mr_capture(
                raw,
                reason,
                detail=frame.get("detail") or "",
                message=message,
                bounce_state=frame.get("bounce_state", "none"),
                note=frame.get("bounce_note") or "",
            )
        )

    @api.model
    def _mr_parse_raw(self, raw):
        try:
            return email.message_from_bytes(raw, policy=email.policy.SMTP)
        except Exception:
            return None

    @api.model
    def _mr_refine_reason(self, reason, message):
        """A reply whose references match nothing we sent: the thread is unknown or gone."""
        if reason not in ("no_route", "catchall") or message is None:
            return reason
        try:
            references = " ".join(
                decode_message_header(message, name) or "" for name in ("In-Reply-To", "References")
            )
        except Exception:
            return reason
        msg_ids = mail_header_msgid_re.findall(references)
        if msg_ids and not self.env["mail.message"].sudo().search_count(
            [("message_id", "in", msg_ids[-32:])], limit=1
        ):
            return "unknown_reply"
        return reason

    @api.model
    def _mr_bounce_unroutable(self, message):
        """The "550 mailbox unavailable" notice stock Odoo never sends."""
        header = decode_message_header
        email_from = header(message, "From")
        message_info = {
            "email_from": email_from,
            "to": header(message, "To", separator=",") or header(message, "Delivered-To"),
            "subject": header(message, "Subject"),
            "date": header(message, "Date"),
        }
        body = self.env["ir.qweb"]._render(
            "mail_reliability.mail_bounce_unroutable",
            {"message": message_info, "res_company": self.env.company},
        )
        return self._routing_create_bounce_email(
            email_from,
            body,
            message,
            subject=_(
                "Undeliverable: %(subject)s", subject=message_info["subject"] or _("(no subject)")
            ),
            references=header(message, "Message-Id"),
            reply_to=self.env.company.email or False,
        )

    # ------------------------------------------------------------------
    # Automatic answers: loop safety
    # ------------------------------------------------------------------
    def _routing_create_bounce_email(self, email_from, body_html, message, **mail_values):
        frame = _frame(self.env)
        references = str(mail_values.get("references") or "")
        if frame is not None and not frame.get("reason"):
            frame["reason"] = (
                "loop_sender" if "-loop-detection-bounce-email@" in references else "catchall"
            )
        bounce_to = decode_message_header(message, "Return-Path") or email_from
        refusal = self._mr_bounce_refusal(message, email_from, bounce_to)
        if refusal:
            _logger.info(
                "Not answering incoming mail %s from %s: %s",
                message.get("Message-Id"),
                email_from,
                refusal,
            )
            if frame is not None:
                frame.update(bounce_state="suppressed", bounce_note=refusal)
            return False
        mail_values.setdefault(
            "headers",
            repr({"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}),
        )
        result = super()._routing_create_bounce_email(email_from, body_html, message, **mail_values)
        if frame is not None:
            frame.update(bounce_state="sent", bounce_note=False)
        return result

    @api.model
    def _mr_bounce_refusal(self, message, email_from, bounce_to):
        """Why no automatic answer may go to the sender of ``message`` (or ``""``)."""
        try:
            auto = dsn.auto_message_reason(message)
        except Exception:  # a message too broken to judge gets no answer
            return _("the message headers could not be read")
        if auto:
            return _("never answer an automatic message (%(why)s)", why=auto)
        recipient = tools.email_normalize(bounce_to or "") or tools.email_normalize(
            email_from or ""
        )
        if not recipient:
            return _("no valid sender address to answer")
        if recipient.split("@", 1)[0] in dsn.DAEMON_LOCALPARTS:
            return _("the sender is a mail system (%(address)s)", address=recipient)
        if self._mr_is_own_address(recipient):
            return _("the sender is one of our own addresses (%(address)s)", address=recipient)
        Rejection = self.env["mail.incoming.rejection"].sudo()
        message_id = (message.get("Message-Id") or "").strip()
        if message_id and Rejection.search_count(
            [("message_id", "=", message_id), ("bounce_state", "=", "sent")], limit=1
        ):
            return _("this message was already answered")
        params = self.env["ir.config_parameter"].sudo()
        try:
            limit = int(params.get_param(BOUNCE_LIMIT_PARAM, BOUNCE_LIMIT_DEFAULT))
        except (TypeError, ValueError):
            limit = BOUNCE_LIMIT_DEFAULT
        sender = tools.email_normalize(email_from or "") or recipient
        sent = Rejection._mr_recent_bounces(sender)
        if limit >= 0 and sent >= limit:
            return _(
                "rate limit: %(count)s answers to %(sender)s in the last hour",
                count=sent,
                sender=sender,
            )
        return ""

    @api.model
    def _mr_is_own_address(self, address):
        domains = self.env["mail.alias.domain"].sudo().search([])
        own = set()
        for domain in domains:
            own.update({domain.bounce_email, domain.catchall_email, domain.default_from_email})
        own.update(
            tools.email_normalize(e)
            for e in self.env["res.company"].sudo().search([]).mapped("email")
        )
        if address in own - {False, None, ""}:
            return True
        return bool(
            self.env["mail.alias"].sudo().search_count([("alias_full_name", "=", address)], limit=1)
        )

    # ------------------------------------------------------------------
    # Bounces (DSN), per recipient
    # ------------------------------------------------------------------
    @api.model
    def _routing_handle_bounce(self, email_message, message_dict):
        if not email_message:
            # Nothing to read: the caller parsed the bounce itself (stock reads only the
            # parsed values), so its values are all there is. Stock behaviour.
            return super()._routing_handle_bounce(email_message, message_dict)
        # Stock's guess (the bounced message's only recipient) names a report whose
        # recipient block lost its Final-Recipient.
        report = dsn.parse_bounce(
            email_message, fallback_recipient=message_dict.get("bounced_email")
        )
        for error in report.errors:
            _logger.warning(
                "Bounce %s: %s (kept what could be read)", message_dict.get("message_id"), error
            )
        bounced_message = message_dict.get("bounced_message") or self.env["mail.message"]
        if not bounced_message and report.original_message_ids:
            bounced_message = (
                self.env["mail.message"]
                .sudo()
                .search(
                    [("message_id", "in", list(report.original_message_ids))],
                    order="id desc",
                    limit=1,
                )
            )
        msg_ids = message_dict.get("bounced_msg_ids") or list(report.original_message_ids)
        partners = self.env["res.partner"].sudo()
        if not report.recipients:
            self._mr_handle_unparsed_bounce(email_message, message_dict, bounced_message, msg_ids)
            return
        hard = [r for r in report.recipients if r.kind == dsn.HARD]
        for recipient in hard:
            # Stock (and mass_mailing) count the bounce and may blacklist: hard only.
            super()._routing_handle_bounce(
                email_message,
                dict(
                    message_dict,
                    bounced_email=recipient.recipient,
                    bounced_partner=partners.search(
                        [("email_normalized", "=", recipient.recipient)]
                    ),
                    bounced_message=bounced_message,
                    bounced_msg_ids=msg_ids,
                ),
            )
        for recipient in report.recipients:
            if recipient.kind in (dsn.HARD, dsn.SOFT):
                self._mr_apply_dsn_failure(bounced_message, recipient)
            elif recipient.kind == dsn.DELAYED:
                self._mr_apply_dsn_delay(bounced_message, recipient)
        _logger.info(
            "Bounce %s (%s) for %s: %s",
            message_dict.get("message_id"),
            report.source,
            bounced_message.message_id or msg_ids,
            ", ".join(
                f"{r.recipient} {r.kind} {r.status or ''}".strip() for r in report.recipients
            ),
        )
        if not bounced_message and not hard:
            frame = _frame(self.env)
            if frame is not None and not frame.get("reason"):
                frame["reason"] = "unmatched_bounce"
                frame["detail"] = _(
                    "Bounce for %(recipients)s matches no message sent from this database",
                    recipients=", ".join(r.recipient for r in report.recipients),
                )

    @api.model
    def _mr_handle_unparsed_bounce(self, email_message, message_dict, bounced_message, msg_ids):
        """Nothing per recipient: mark the single recipient if known, count nothing."""
        # Without bounced_email, stock only logs and mass_mailing only updates its traces.
        super()._routing_handle_bounce(
            email_message,
            dict(
                message_dict,
                bounced_email=False,
                bounced_partner=self.env["res.partner"],
                bounced_message=bounced_message,
                bounced_msg_ids=msg_ids,
            ),
        )
        notifications = self._mr_bounce_notifications(bounced_message, "")
        if notifications:
            notifications.write(
                {
                    "notification_status": "bounce",
                    "failure_type": "mail_bounce",
                    "failure_reason": tools.html2plaintext(message_dict.get("body") or "")[:2000],
                }
            )
        elif not bounced_message:
            frame = _frame(self.env)
            if frame is not None and not frame.get("reason"):
                frame["reason"] = "unmatched_bounce"
                frame["detail"] = _(
                    "Bounce without a readable recipient or original message "
                    "(sender %(sender)s)",
                    sender=message_dict.get("email_from"),
                )
        return bool(notifications)

    @api.model
    def _mr_bounce_notifications(self, bounced_message, address):
        """Email notifications of ``bounced_message`` for ``address`` (or its only one)."""
        if not bounced_message:
            return self.env["mail.notification"].sudo()
        notifications = (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("mail_message_id", "=", bounced_message.id),
                    ("notification_type", "=", "email"),
                ]
            )
        )
        matching = notifications.filtered(
            lambda n: address and (n.res_partner_id.email_normalized or "") == address
        )
        if not matching and len(notifications) == 1:
            matching = notifications  # one recipient: the address was rewritten on the way
        return matching

    @api.model
    def _mr_apply_dsn_failure(self, bounced_message, recipient):
        """A failed recipient: red envelope, classified like an SMTP reply."""
        notifications = self._mr_bounce_notifications(bounced_message, recipient.recipient)
        notifications.write(
            {
                "notification_status": "bounce",
                "failure_type": recipient.failure_type if recipient.permanent else "mail_bounce",
                "failure_reason": recipient.reason,
                "smtp_code": recipient.smtp_code or 0,
                "smtp_status": recipient.status or False,
                "delivery_warning": False,
            }
        )
        return notifications

    @api.model
    def _mr_apply_dsn_delay(self, bounced_message, recipient):
        """A delayed recipient: a warning only, the remote server keeps trying."""
        notifications = self._mr_bounce_notifications(bounced_message, recipient.recipient)
        notifications = notifications.filtered(
            lambda n: n.notification_status not in ("bounce", "exception")
        )
        notifications.write(
            {
                "delivery_warning": _(
                    "Delivery delayed, the recipient's server keeps trying: %(reason)s",
                    reason=recipient.reason,
                ),
                "delivery_warning_date": fields.Datetime.now(),
                "smtp_status": recipient.status or False,
            }
        )
        return notifications

    # ------------------------------------------------------------------
    # Bounce rate
    # ------------------------------------------------------------------
    @api.model
    def _mr_bounce_rate(self, days=7):
        """Sent, hard/soft bounced and rate over the last ``days``: overall, per
        outgoing server and per recipient domain.  Levels use the SES thresholds
        (warning at 5%, critical at 10%).

        "Sent" counts email notifications the outgoing server accepted
        (``sent`` or later ``bounce``); hard bounces are bad addresses
        (``mail_smtp_recipient``), soft bounces every other bounce.
        """
        since = fields.Datetime.now() - timedelta(days=days)
        self.env["mail.notification"].flush_model()
        self.env["mail.message"].flush_model(["date", "mail_server_id"])
        self.env["res.partner"].flush_model(["email_normalized"])
        self.env.cr.execute(
            SQL(
                """
                SELECT msg.mail_server_id,
                       COALESCE(NULLIF(split_part(partner.email_normalized, '@', 2), ''), '?'),
                       COUNT(*),
                       COUNT(*) FILTER (WHERE notif.notification_status = 'bounce'
                                          AND notif.failure_type IN %(hard)s),
                       COUNT(*) FILTER (WHERE notif.notification_status = 'bounce'
                                          AND (notif.failure_type IS NULL
                                               OR notif.failure_type NOT IN %(hard)s))
                  FROM mail_notification notif
                  JOIN mail_message msg ON msg.id = notif.mail_message_id
             LEFT JOIN res_partner partner ON partner.id = notif.res_partner_id
                 WHERE notif.notification_type = 'email'
                   AND notif.notification_status IN ('sent', 'bounce')
                   AND msg.date >= %(since)s
              GROUP BY 1, 2
                """,
                hard=HARD_FAILURE_TYPES,
                since=since,
            )
        )
        rows = self.env.cr.fetchall()
        servers = self.env["ir.mail_server"].sudo().with_context(active_test=False)

        def bucket():
            return {"sent": 0, "hard": 0, "soft": 0}

        total, per_server, per_domain = bucket(), {}, {}
        for server_id, domain, sent, hard, soft in rows:
            for counts in (
                total,
                per_server.setdefault(server_id or False, bucket()),
                per_domain.setdefault(domain, bucket()),
            ):
                counts["sent"] += sent
                counts["hard"] += hard
                counts["soft"] += soft

        def finish(counts, **extra):
            bounced = counts["hard"] + counts["soft"]
            rate, level = dsn.bounce_rate_level(counts["sent"], bounced)
            return {**extra, **counts, "bounced": bounced, "rate": rate, "level": level}

        return {
            "days": days,
            **finish(total),
            "servers": sorted(
                (
                    finish(
                        counts,
                        server_id=server_id,
                        name=servers.browse(server_id).name if server_id else _("Default"),
                    )
                    for server_id, counts in per_server.items()
                ),
                key=lambda r: (-r["rate"], -r["sent"]),
            ),
            "domains": sorted(
                (finish(counts, domain=domain) for domain, counts in per_domain.items()),
                key=lambda r: (-r["rate"], -r["sent"]),
            ),
        }

    @api.model
    def _mr_bounce_rates(self):
        """The 7 and 30 day bounce rates, for the health dashboard."""
        return {days: self._mr_bounce_rate(days) for days in (7, 30)}
