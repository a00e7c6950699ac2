# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Incoming mail: nothing unroutable is lost, bounces are read per recipient.

* ``message_process`` runs stock's gateway inside a savepoint.  Whatever it
  cannot route (no alias, unknown reply, refused by an alias, broken message,
  crash while processing) is kept in ``mail.incoming.rejection`` with its
  ``.eml``, and the call returns ``False`` instead of raising, so fetchmail
  goes on with the next message.  Database concurrency errors (serialization
  failure, deadlock, lock not available) are not routing failures: they
  propagate, so the caller retries the message (fetchmail leaves it on the
  server).
* Every automatic answer goes through ``_routing_create_bounce_email``, where
  loop safety applies: no answer to bounces, auto-replies, mailer-daemons,
  lists or our own addresses; only to trusted senders (a known contact or
  user, or a sender our receiving host authenticated: DMARC or aligned SPF in
  its ``Authentication-Results``), so a forged sender never gets backscatter;
  at most N answers per sender and M in all per hour.
* ``_routing_handle_bounce`` reads the DSN per recipient (``tools/dsn.py``):
  a failed recipient's notification becomes ``bounce`` with the same
  classification as an SMTP reply, a delayed one gets a warning only, and only
  hard address failures reach stock's bounce counter (and blacklisting).
  The report is parsed once per incoming message (``_mr_parsed_report``); the
  Email Marketing bridge, which reads it first, leaves the result in
  ``message_dict`` for this module.
"""

import contextlib
import dataclasses
import email
import email.policy
import logging
import xmlrpc.client
from datetime import timedelta
from typing import NamedTuple

import psycopg2
import psycopg2.errors

from odoo import _, api, fields, models, tools
from odoo.osv import expression
from odoo.tools import SQL
from odoo.tools.mail import decode_message_header, mail_header_msgid_re

from ..tools import auth_results, delivery_stats, dsn, raw_mail
from ..tools.constants import SPAM_COMPLAINT
from ..tools.send_run import CursorLocal

_logger = logging.getLogger(__name__)

# The incoming mail message_process is working on, per cursor (innermost first):
# {"stage", "raw", "reason", "detail", ...}, read by the gateway's hooks below and by
# mail.alias. Explicit and scoped to the call, like the send run (tools/send_run.py).
INCOMING_FRAMES = CursorLocal("mail_reliability_incoming_frame")
BOUNCE_LIMIT_PARAM = "mail_reliability.incoming_bounce_limit"
BOUNCE_LIMIT_DEFAULT = 5  # automatic answers per sender and hour
GLOBAL_BOUNCE_LIMIT_PARAM = "mail_reliability.incoming_bounce_global_limit"
GLOBAL_BOUNCE_LIMIT_DEFAULT = 50  # automatic answers per hour, all senders
AUTHSERV_ID_PARAM = "mail_reliability.authserv_id"
# As odoo.service.model.PG_CONCURRENCY_EXCEPTIONS_TO_RETRY, plus the rest of SQLSTATE
# class 40 (transaction rollback): the same mail succeeds when tried again.
TRANSIENT_DB_ERRORS = (
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.TransactionRollbackError,
)
BOUNCING_REASONS = ("no_route", "unknown_reply")


def _frame(env):
    """The frame of the incoming mail being processed on ``env.cr``, or None."""
    return INCOMING_FRAMES.get(env.cr)


def _is_transient_db_error(exc):
    """A concurrency error (or a lost connection) the caller must retry, not a bad mail."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, TRANSIENT_DB_ERRORS):
            return True
        if isinstance(exc, psycopg2.Error) and (exc.pgcode or "").startswith("40"):
            return True
        if isinstance(exc, psycopg2.InterfaceError) or (
            isinstance(exc, psycopg2.OperationalError) and not exc.pgcode
        ):
            return True  # connection lost: nothing can be stored now either
        # raised while handling one (e.g. SQL on the aborted transaction)
        exc = exc.__cause__ or exc.__context__
    return False


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


# ``message_dict`` key of the report an incoming bounce carries, parsed once.
PARSED_REPORT_KEY = "mr_parsed_report"


class ParsedReport(NamedTuple):
    """An incoming bounce read once: an ARF complaint, else a DSN (see ``tools/dsn.py``)."""

    feedback: dsn.FeedbackReport | None
    bounce: dsn.BounceReport | None


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
        frame = {"stage": "parse", "raw": raw}  # hashed only if an answer is considered
        frame_token = INCOMING_FRAMES.push(self.env.cr, frame)
        try:
            try:
                with self._mr_gateway_savepoint():
                    result = super().message_process(
                        model,
                        raw,
                        custom_values=custom_values,
                        save_original=save_original,
                        strip_attachments=strip_attachments,
                        thread_id=thread_id,
                    )
            except Exception as exc:  # the mail is kept, fetchmail goes on
                if _is_transient_db_error(exc):
                    _logger.info(
                        "Incoming mail hit a database concurrency error, left for a retry: %s",
                        exc,
                    )
                    raise
                self._mr_reject_failed(raw, frame, exc)
                return False
            if frame.get("reason"):
                self._mr_capture(raw, frame)
                return False
            return result
        finally:
            INCOMING_FRAMES.pop(frame_token)

    @contextlib.contextmanager
    def _mr_gateway_savepoint(self):
        """A savepoint around stock's gateway that flushes the ORM but not the precommit
        hooks on release: tracking (and the template mail it may send) is finalized
        when the caller flushes or commits, as in stock, not inside message_process."""
        cr = self.env.cr
        cr.flush()  # earlier pending work and hooks, as a flushing savepoint does
        savepoint = cr.savepoint(flush=False)
        try:
            yield
            self.env.flush_all()
        except Exception:
            cr.clear()  # the cache and the hooks of the work rolled back
            savepoint.close(rollback=True)
            raise
        savepoint.close(rollback=False)

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
                if _is_transient_db_error(bounce_exc):
                    raise
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
            auto = dsn.auto_message_reason(message, lang=self.env.lang)
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
        frame = _frame(self.env) or {}
        same = [[("message_id", "=", message_id)]] if message_id else []
        if frame.get("raw") is not None:
            same.append([("raw_sha256", "=", raw_mail.digest(frame["raw"]))])
        if same and Rejection.search_count(
            expression.AND([[("bounce_state", "=", "sent")], expression.OR(same)]), limit=1
        ):
            return _("this message was already answered")
        untrusted = self._mr_untrusted_sender(message, email_from, recipient)
        if untrusted:
            return untrusted
        sender = tools.email_normalize(email_from or "") or recipient
        limit = self._mr_int_param(BOUNCE_LIMIT_PARAM, BOUNCE_LIMIT_DEFAULT)
        sent = Rejection._mr_recent_bounces(sender)
        if limit >= 0 and sent >= limit:
            return _(
                "rate limit: %(count)s answers to %(sender)s in the last hour",
                count=sent,
                sender=sender,
            )
        limit = self._mr_int_param(GLOBAL_BOUNCE_LIMIT_PARAM, GLOBAL_BOUNCE_LIMIT_DEFAULT)
        sent = Rejection._mr_recent_bounces(None)
        if limit >= 0 and sent >= limit:
            return _(
                "global rate limit: %(count)s automatic answers in the last hour (%(param)s)",
                count=sent,
                param=GLOBAL_BOUNCE_LIMIT_PARAM,
            )
        return ""

    @api.model
    def _mr_int_param(self, key, default):
        value = self.env["ir.config_parameter"].sudo().get_param(key)
        if value in (None, False, ""):
            return default
        try:
            return int(str(value).strip())
        except ValueError:
            _logger.warning("Ignoring %s=%r: not a whole number, using %s", key, value, default)
            return default

    @api.model
    def _mr_untrusted_sender(self, message, email_from, recipient):
        """Why ``recipient`` (who the answer would go to) is not trusted, or ``""``.

        Trusted: a contact or user with that address, or a sender our receiving
        host authenticated (``Authentication-Results`` of the configured
        authserv-id showing DMARC pass, or SPF pass aligned with the From domain,
        and the answer going to that domain).  Nobody else gets an automatic
        answer: the From of unsolicited mail is usually forged (backscatter).
        """
        if (
            self.env["res.partner"]
            .sudo()
            .search_count([("email_normalized", "=", recipient)], limit=1)
        ):
            return ""
        authserv_ids = [
            part.strip()
            for part in (
                self.env["ir.config_parameter"].sudo().get_param(AUTHSERV_ID_PARAM) or ""
            ).split(",")
            if part.strip()
        ]
        if not authserv_ids:
            return _(
                "the sender %(address)s is not a known contact and no receiving host is "
                "configured to authenticate senders (%(param)s)",
                address=recipient,
                param=AUTHSERV_ID_PARAM,
            )
        from_address = tools.email_normalize(email_from or "") or ""
        try:
            values = [str(v) for v in message.get_all("Authentication-Results") or ()]
        except Exception:  # undecodable header: not authenticated
            values = []
        trusted, why = auth_results.sender_verdict(
            values, authserv_ids, from_address, lang=self.env.lang
        )
        if not trusted:
            return _(
                "the sender %(address)s is not a known contact and was not authenticated "
                "(%(why)s)",
                address=recipient,
                why=why,
            )
        if not auth_results.aligned(recipient, from_address):
            return _(
                "the answer would go to %(address)s, outside the authenticated domain of "
                "%(sender)s",
                address=recipient,
                sender=from_address,
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
    def _mr_parsed_report(self, email_message, message_dict):
        """The report ``email_message`` carries, parsed once per incoming message.

        A :class:`ParsedReport`: ``feedback`` is the ARF spam complaint
        (``dsn.parse_feedback_report``), else None and ``bounce`` is the DSN
        (``dsn.parse_bounce``). The first layer that reads the bounce (the Email
        Marketing bridge, or this module) parses it and leaves the result in
        ``message_dict`` under ``PARSED_REPORT_KEY``; the copies of ``message_dict``
        passed down to ``_routing_handle_bounce`` carry it, so the next layer reuses
        it. ``message_dict`` is built by the gateway, never from the mail's own keys.
        """
        parsed = message_dict.get(PARSED_REPORT_KEY)
        if isinstance(parsed, ParsedReport):
            return parsed
        feedback = dsn.parse_feedback_report(email_message)
        bounce = None
        if feedback is None:
            # Stock's guess (the bounced message's only recipient) names a report whose
            # recipient block lost its Final-Recipient.
            bounce = dsn.parse_bounce(
                email_message, fallback_recipient=message_dict.get("bounced_email")
            )
            for error in bounce.errors:
                _logger.warning(
                    "Bounce %s: %s (kept what could be read)",
                    message_dict.get("message_id"),
                    error,
                )
        parsed = ParsedReport(feedback, bounce)
        message_dict[PARSED_REPORT_KEY] = parsed
        return parsed

    @api.model
    def _mr_read_bounce(self, email_message, message_dict):
        """``(report, bounced_message, msg_ids)``: the report with only the recipients
        of the original message it refers to (matched by Message-ID / References).

        Each recipient is matched on ``Original-Recipient`` first, then
        ``Final-Recipient``, then (a one-recipient report) the quoted original's
        To/Cc; the matched address becomes ``recipient``.  Any other address of a
        forged or sloppy report is ignored and logged: no contact, blacklist entry
        or counter changes for it.
        """
        report = self._mr_parsed_report(email_message, message_dict).bounce
        bounced_message = self._mr_referenced_message(message_dict, report.original_message_ids)
        msg_ids = message_dict.get("bounced_msg_ids") or list(report.original_message_ids)
        allowed = self._mr_bounce_allowed_addresses(bounced_message, msg_ids)
        kept, ignored = [], []
        for recipient in report.recipients:
            match = next((a for a in recipient.addresses if a in allowed), "")
            if not match and len(report.recipients) == 1:
                # forwarded / expanded: the quoted original names the address we sent to
                quoted = [a for a in report.original_recipients if a in allowed]
                if len(quoted) == 1:
                    match = quoted[0]
            if match:
                kept.append(dataclasses.replace(recipient, recipient=match))
            else:
                ignored.append(recipient.recipient)
        if ignored:
            _logger.warning(
                "Bounce %s names %s, not recipients of the message it refers to (%s): ignored",
                message_dict.get("message_id"),
                ", ".join(ignored[:10]),
                bounced_message.message_id or msg_ids or _("none found"),
            )
        return (
            dataclasses.replace(report, recipients=tuple(kept)),
            bounced_message,
            msg_ids,
            ignored,
        )

    @api.model
    def _mr_bounce_allowed_addresses(self, bounced_message, msg_ids):
        """Normalised addresses the bounced message was sent to (extended by the bridge)."""
        if not bounced_message:
            return set()
        notifications = (
            self.env["mail.notification"]
            .sudo()
            .search([("mail_message_id", "in", bounced_message.ids)])
        )
        partners = notifications.res_partner_id | bounced_message.sudo().partner_ids
        return {e for e in partners.mapped("email_normalized") if e}

    @api.model
    def _routing_handle_bounce(self, email_message, message_dict):
        if not email_message:
            # Nothing to read: the caller parsed the bounce itself (stock reads only the
            # parsed values), so its values are all there is. Stock behaviour.
            return super()._routing_handle_bounce(email_message, message_dict)
        feedback = self._mr_parsed_report(email_message, message_dict).feedback
        if feedback is not None:
            return self._mr_handle_feedback(email_message, message_dict, feedback)
        report, bounced_message, msg_ids, ignored = self._mr_read_bounce(
            email_message, message_dict
        )
        if not report.recipients and not ignored:
            auto = dsn.auto_reply_reason(email_message)
            if auto:
                # an out-of-office / vacation answer to our bounce address: not a bounce
                _logger.debug(
                    "Auto-reply %s from %s ignored (%s)",
                    message_dict.get("message_id"),
                    message_dict.get("email_from"),
                    auto,
                )
                return
        partners = self.env["res.partner"].sudo()
        if not report.recipients and ignored:
            frame = _frame(self.env)
            if frame is not None and not frame.get("reason"):
                frame["reason"] = "unmatched_bounce"
                frame["detail"] = _(
                    "Bounce for %(recipients)s matches no recipient of a message sent "
                    "from this database",
                    recipients=", ".join(ignored[:10]),
                )
            return
        if not report.recipients:
            self._mr_handle_unparsed_bounce(email_message, message_dict, bounced_message, msg_ids)
            return
        hard = [r for r in report.recipients if r.kind == dsn.HARD]
        blacklist = self.env["mail.blacklist"].sudo()
        blacklisted = set()
        for recipient in hard:
            listed = bool(blacklist.search_count([("email", "=", recipient.recipient)], limit=1))
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
            if not listed and blacklist.search_count(
                [("email", "=", recipient.recipient)], limit=1
            ):
                blacklisted.add(recipient.recipient)
        stored = []
        Stats = self.env["mail.delivery.stats"].sudo()
        for recipient in report.recipients:
            if recipient.kind in (dsn.HARD, dsn.SOFT):
                notifications = self._mr_apply_dsn_failure(bounced_message, recipient)
                Stats._mr_count_after_commit(
                    [recipient.recipient],
                    "hard_bounced" if recipient.kind == dsn.HARD else "soft_bounced",
                    **self._mr_bounce_delivery_dims(bounced_message, msg_ids, recipient.recipient),
                )
            elif recipient.kind == dsn.DELAYED:
                notifications = self._mr_apply_dsn_delay(bounced_message, recipient)
            else:
                continue
            stored.append((recipient, notifications))
        self._mr_store_reports(
            email_message, message_dict, bounced_message, stored, blacklisted, msg_ids
        )
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
    def _mr_bounce_delivery_dims(self, bounced_message, msg_ids, address):
        """The delivery statistics row a bounce of ``address`` adds to (the day it
        arrived): the server and sending domain of the bounced message (the Email
        Marketing bridge adds the campaign)."""
        server = bounced_message.mail_server_id
        if bounced_message and not server:
            # The server mail.mail.send() picks for this sender (the same rule).
            server, _email_from = (
                self.env["ir.mail_server"].sudo()._find_mail_server(bounced_message.email_from)
            )
        return {
            "mail_server_id": server.id if server else False,
            "sender_domain": delivery_stats.domain_of(
                tools.email_normalize(bounced_message.email_from or "")
            ),
        }

    @api.model
    def _mr_store_reports(
        self, email_message, message_dict, bounced_message, stored, blacklisted=(), msg_ids=()
    ):
        """Keep the raw report next to each recipient it counted for (``mail.bounce.report``)."""
        if not stored:
            return self.env["mail.bounce.report"]
        try:
            raw = email_message.as_bytes()
        except Exception:  # a message the serializer chokes on: keep its text
            raw = str(email_message).encode("utf-8", "replace")
        reports = self.env["mail.bounce.report"]._mr_store(
            raw,
            message_dict.get("message_id") or "",
            bounced_message,
            [
                {
                    "email": recipient.recipient,
                    "final_recipient": recipient.final_recipient or False,
                    "original_recipient": recipient.original_recipient or False,
                    "kind": recipient.kind,
                    "status": recipient.status or False,
                    "diagnostic": recipient.reason_text(self.env.lang)[:2000],
                    "counted": recipient.kind == dsn.HARD,
                    "blacklisted": recipient.recipient in blacklisted,
                }
                for recipient, _notifications in stored
            ],
            msg_ids=msg_ids or (),
        )
        for report, (_recipient, notifications) in zip(reports, stored, strict=True):
            notifications.sudo().write({"bounce_report_id": report.id})
        return reports

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
    def _mr_referenced_message(self, message_dict, original_message_ids):
        """The message a report refers to: stock's match, else the newest of ours
        whose Message-Id the report quotes."""
        bounced_message = message_dict.get("bounced_message") or self.env["mail.message"]
        if not bounced_message and original_message_ids:
            bounced_message = (
                self.env["mail.message"]
                .sudo()
                .search(
                    [("message_id", "in", list(original_message_ids))], order="id desc", limit=1
                )
            )
        return bounced_message

    @api.model
    def _mr_feedback_complainers(self, message_dict, feedback):
        """``(bounced_message, complainers, ignored)`` of an ARF report: only
        recipients of the message it refers to count."""
        bounced_message = self._mr_referenced_message(message_dict, feedback.original_message_ids)
        msg_ids = list(feedback.original_message_ids) or message_dict.get("bounced_msg_ids") or []
        allowed = self._mr_bounce_allowed_addresses(bounced_message, msg_ids)
        complainers = [a for a in feedback.recipients if a in allowed]
        if not feedback.recipients and len(allowed) == 1:
            complainers = list(allowed)  # the provider redacted the only recipient
        ignored = [a for a in feedback.recipients if a not in allowed]
        return bounced_message, complainers, ignored

    @api.model
    def _mr_handle_feedback(self, email_message, message_dict, feedback):
        """An ARF spam complaint: the complaining recipients of the message it refers
        to are marked on their notification and blacklisted; anybody else is ignored."""
        bounced_message, complainers, ignored = self._mr_feedback_complainers(
            message_dict, feedback
        )
        msg_ids = feedback.original_message_ids
        if ignored:
            _logger.warning(
                "Feedback report %s names %s, not recipients of the message it refers to: ignored",
                message_dict.get("message_id"),
                ", ".join(ignored[:10]),
            )
        if not feedback.is_complaint:
            _logger.info(
                "Feedback report %s (%s) for %s: not a complaint, nothing changed",
                message_dict.get("message_id"),
                feedback.feedback_type,
                ", ".join(complainers),
            )
            return []
        reason = _(
            "Marked as spam by the recipient (feedback report %(type)s from %(agent)s)",
            type=feedback.feedback_type or "abuse",
            agent=feedback.user_agent or message_dict.get("email_from") or "?",
        )
        blacklist = self.env["mail.blacklist"].sudo()
        stored, blacklisted = [], set()
        for address in complainers:
            notifications = self._mr_bounce_notifications(bounced_message, address)
            notifications.write({"failure_type": SPAM_COMPLAINT, "failure_reason": reason})
            if not blacklist.search_count([("email", "=", address)], limit=1):
                blacklisted.add(address)
            blacklist._add(
                address,
                message=_("Blacklisted automatically: the recipient marked an email as spam."),
            )
            stored.append((address, notifications))
        if stored:
            try:
                raw = email_message.as_bytes()
            except Exception:  # a message the serializer chokes on: keep its text
                raw = str(email_message).encode("utf-8", "replace")
            reports = self.env["mail.bounce.report"]._mr_store(
                raw,
                message_dict.get("message_id") or "",
                bounced_message,
                [
                    {
                        "email": address,
                        "kind": "complaint",
                        "diagnostic": reason,
                        "blacklisted": address in blacklisted,
                    }
                    for address, _n in stored
                ],
                msg_ids=msg_ids,
            )
            for report, (_address, notifications) in zip(reports, stored, strict=True):
                notifications.write({"bounce_report_id": report.id})
        _logger.info(
            "Spam complaint %s for %s: %s",
            message_dict.get("message_id"),
            bounced_message.message_id or msg_ids,
            ", ".join(complainers) or _("no recipient of ours"),
        )
        if not complainers:
            frame = _frame(self.env)
            if frame is not None and not frame.get("reason"):
                frame["reason"] = "unmatched_bounce"
                frame["detail"] = _(
                    "Spam complaint that matches no message sent from this database"
                )
        return complainers

    @api.model
    def _mr_apply_dsn_failure(self, bounced_message, recipient):
        """A failed recipient: red envelope, classified like an SMTP reply."""
        notifications = self._mr_bounce_notifications(bounced_message, recipient.recipient)
        notifications.write(
            {
                "notification_status": "bounce",
                "failure_type": recipient.failure_type if recipient.permanent else "mail_bounce",
                "failure_reason": recipient.reason_text(self.env.lang),
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
                    reason=recipient.reason_text(self.env.lang),
                ),
                "delivery_warning_date": fields.Datetime.now(),
                "smtp_status": recipient.status or False,
            }
        )
        return notifications

    # ------------------------------------------------------------------
    # Spam complaint rate (the bounce rate is read from mail.delivery.stats)
    # ------------------------------------------------------------------
    @api.model
    def _mr_complaint_rate(self, days=30):
        """Sent, complained, rate and level (SES: review at 0.1%, pause at 0.5%)."""
        since = fields.Datetime.now() - timedelta(days=days)
        self.env["mail.notification"].flush_model()
        self.env["mail.message"].flush_model(["date"])
        self.env.cr.execute(
            SQL(
                """
                SELECT COUNT(*),
                       COUNT(*) FILTER (WHERE notif.failure_type = %(complaint)s)
                  FROM mail_notification notif
                  JOIN mail_message msg ON msg.id = notif.mail_message_id
                 WHERE notif.notification_type = 'email'
                   AND notif.notification_status IN ('sent', 'bounce')
                   AND msg.date >= %(since)s
                """,
                complaint=SPAM_COMPLAINT,
                since=since,
            )
        )
        sent, complained = self.env.cr.fetchone()
        rate, level = dsn.complaint_rate_level(sent, complained)
        return {"days": days, "sent": sent, "complained": complained, "rate": rate, "level": level}
