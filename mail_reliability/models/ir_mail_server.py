# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Keep what the SMTP server really said; keep its password to itself.

Stock ``send_email`` wraps every smtplib error into a text-only
``MailDeliveryException`` naming server 'None', drops the reply code and
ignores the recipients a server refused while accepting the others.  Here
the original exception is classified (``tools.smtp_status``) and the result
is left, keyed by Message-Id, in the send run's outcomes
(``tools/send_run.py``), which ``mail.mail`` reads when it turns the attempt
into a state (:meth:`mail.mail._mr_apply_outcome`).

Pacing (``tools/pacing.py``): an optional rate (emails per minute) and number
of connections per server, shared by every process through the database;
``mail.mail._mr_pace_or_hold`` asks :meth:`IrMailServer._mr_pace_hold` before
each email. A throttling reply slows the server down on its own
(:meth:`IrMailServer._mr_note_throttle`).

Secrets:

* ``export_data`` (Export dialog, RPC) writes ``[redacted]`` instead of the
  SMTP password, and the Export dialog no longer offers the field. Import
  still works: a password is simply not part of an export file.
* With "Debugging" on, smtplib's session transcript goes to Odoo's log
  (``odoo.addons.base.models.ir_mail_server`` at DEBUG), AUTH command
  included: base64 of the user name and password. The transcript is paused
  for the login.
"""

import dataclasses
import logging
import smtplib

import pytz
from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.ir_mail_server import MailDeliveryException

from ..tools import pacing, send_run
from ..tools.constants import QUOTA, QUOTA_RESET_CRON_XMLID, TEMPORARY
from ..tools.redaction import redact_export
from ..tools.smtp_reply import reply_text
from ..tools.smtp_status import (
    SmtpVerdict,
    classify_exception,
    classify_refused_recipients,
    explain_failure,
)
from . import mail_quota_usage as quota_usage

_logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class QuotaVerdict(SmtpVerdict):
    """The daily limit held an email back until ``resume_at`` (naive UTC)."""

    resume_at: object = None


class QuotaHeld(MailDeliveryException):
    """The daily limit held an email back: an expected outcome, not a crash."""


class LedgerBusy(MailDeliveryException):
    """The daily limit's ledger timed out on a row lock: the email was not sent and
    is deferred (``send_email`` has logged why)."""


class _QuietQuotaHolds(logging.Filter):
    """Stock ``mail.mail._send`` logs a traceback for every failed mail. For mail
    held back by the daily limit that is one traceback per held mail, all alike:
    log one INFO line without traceback instead (our ``send_email`` has already
    logged why and until when)."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, QuotaHeld | LedgerBusy):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("odoo.addons.mail.models.mail_mail").addFilter(_QuietQuotaHolds())


# First key of the advisory locks held for the connection slots of servers (second key:
# tools.pacing.slot_key).
CONNECTION_LOCK_SPACE = 0x6D72434E  # "mrCN"


class _NoConnectionSlot:
    """What ``connect()`` returns instead of a session when every connection slot of
    the server is taken: ``mail.mail._mr_pace_or_hold`` leaves the batch queued.
    Should anything try to send through it, it fails like a dropped session."""

    _mr_no_slot = True
    smtp_from = None
    from_filter = False

    def send_message(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("no connection slot free for this server")

    def quit(self):
        return None

    close = quit


def _outcome(env, message_id):
    """Where to record what the server said about email ``message_id``: the send
    run's :class:`~..tools.send_run.Outcome` (a throwaway one outside a run, where
    no ``mail.mail`` waits for it)."""
    run = send_run.current(env)
    return run.outcome(message_id) if run is not None else send_run.Outcome()


# One email counted on a server's window (``tools.pacing.Window.take``) in one statement,
# by the database's clock. _SHIFT: seconds from the row's last second to the clock's
# (0 to SPAN; 0 when the clock went back: counted in the newest second). _USED: what the
# shifted window holds. The window as it was (the statement's snapshot) comes back for
# ``Window.resume_at`` when the email is not counted.
_SHIFT = (
    f"LEAST({pacing.SPAN}, GREATEST(0, COALESCE("
    f"EXTRACT(EPOCH FROM EXCLUDED.last_second - w.last_second)::int, {pacing.SPAN})))"
)
_USED = f"(SELECT COALESCE(SUM(c), 0) FROM unnest(w.sends[{_SHIFT} + 1:{pacing.SPAN}]) AS c)"
TAKE_SEND_SLOT = f"""
    WITH clock AS (
        SELECT clock_timestamp() AT TIME ZONE 'UTC' AS now
    ), counted AS (
        INSERT INTO mail_pacing_window AS w (mail_server_id, last_second, used, sends)
        SELECT %(server)s, date_trunc('second', clock.now), 1,
               array_fill(0, ARRAY[{pacing.SPAN} - 1]) || 1
          FROM clock
        ON CONFLICT (mail_server_id) DO UPDATE
           SET last_second = GREATEST(w.last_second, EXCLUDED.last_second),
               used = {_USED} + 1,
               sends = CASE WHEN {_SHIFT} = 0
                            THEN w.sends[1:{pacing.SPAN} - 1] || (w.sends[{pacing.SPAN}] + 1)
                            ELSE w.sends[{_SHIFT} + 1:{pacing.SPAN}]
                                 || array_fill(0, ARRAY[{_SHIFT} - 1]) || 1
                       END
         WHERE {_USED} < %(rate)s
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM counted), w.last_second, w.sends, clock.now,
           s.slowed_until, s.slow_level
      FROM ir_mail_server s
     CROSS JOIN clock
      LEFT JOIN mail_pacing_window w ON w.mail_server_id = s.id
     WHERE s.id = %(server)s
"""


class IrMailServer(models.Model):
    _inherit = "ir.mail_server"

    smtp_pass = fields.Char(exportable=False)
    daily_limit = fields.Integer(
        help="Emails this server may send per quota day (0: no limit of its own). "
        "Counted separately from the database's daily limit.",
    )
    use_database_quota = fields.Boolean(
        "Counts Toward Database Limit",
        default=True,
        help="Untick for an external outgoing server (your own provider): mail sent "
        "through it does not count toward the database's daily limit.",
    )

    rate_per_minute = fields.Integer(
        "Emails per Minute",
        help="Most emails handed to this server in any 60 seconds, by all Odoo processes "
        "together (0: no limit). Emails beyond it wait in the queue until the oldest of "
        "those 60 seconds are past.",
    )
    max_connections = fields.Integer(
        "Connections at Once",
        help="Most SMTP connections open to this server at the same time, by all Odoo "
        "processes together (0: no limit). A sender finding them all in use leaves its "
        "emails in the queue and tries again a minute later.",
    )
    slowed_until = fields.Datetime(
        "Slowed Down Until",
        readonly=True,
        copy=False,
        help="The server answered that we send too fast: it is sent to more slowly until then",
    )
    slow_level = fields.Integer(readonly=True, copy=False)
    slowed_reason = fields.Char("Slowed Down Because", readonly=True, copy=False)
    pace_summary = fields.Char("Current Pace", compute="_compute_pace_summary")

    @api.depends("rate_per_minute", "slowed_until", "slow_level", "slowed_reason")
    def _compute_pace_summary(self):
        now = fields.Datetime.now()
        for server in self:
            pace = server._mr_read_pace()
            rate = pacing.effective_rate(pace, now)
            if rate:
                text = self.env._("%(rate)s emails per minute", rate=rate)
            else:
                text = self.env._("No limit")
            if pace.slowed(now) and pace.rate > 0:
                text = self.env._(
                    "%(pace)s; slowed down until %(time)s because: %(reply)s",
                    pace=text,
                    time=server._mr_local_time(pace.slowed_until),
                    reply=server.slowed_reason or "",
                )
            elif pace.slowed(now):
                # tools.pacing: a server without a rate is never slowed down.
                text = self.env._(
                    "%(pace)s; the server asked to slow down (%(reply)s): set Emails per "
                    "Minute to let Odoo slow down for it until %(time)s",
                    pace=text,
                    time=server._mr_local_time(pace.slowed_until),
                    reply=server.slowed_reason or "",
                )
            server.pace_summary = text

    def _mr_local_time(self, when):
        return fields.Datetime.context_timestamp(self, when).strftime("%H:%M")

    @api.constrains("rate_per_minute", "max_connections")
    def _check_pace(self):
        for server in self:
            if server.rate_per_minute < 0:
                raise ValidationError(
                    self.env._(
                        "The emails per minute of server %(name)s cannot be negative; "
                        "use 0 for no limit.",
                        name=server.name,
                    )
                )
            if not 0 <= server.max_connections <= pacing.MAX_CONNECTIONS:
                raise ValidationError(
                    self.env._(
                        "The connections at once of server %(name)s must be between 0 "
                        "(no limit) and %(max)s.",
                        name=server.name,
                        max=pacing.MAX_CONNECTIONS,
                    )
                )

    @api.constrains("daily_limit")
    def _check_daily_limit(self):
        for server in self:
            if server.daily_limit < 0:
                raise ValidationError(
                    self.env._(
                        "The daily limit of server %(name)s cannot be negative; "
                        "use 0 for no limit of its own.",
                        name=server.name,
                    )
                )

    def connect(self, *args, **kwargs):
        slot = self._mr_take_connection_slot(kwargs.get("mail_server_id"), args)
        if slot is False:
            return _NoConnectionSlot()
        try:
            smtp = super().connect(*args, **kwargs)
        except Exception as exc:
            self._mr_release_connection_slot(slot)
            verdict = classify_exception(exc)
            run = send_run.current(self.env)
            if run is not None:  # mail.mail._postprocess_sent_message reads it
                run.connect_verdict = verdict
            if verdict.throttled:
                self._mr_note_throttle(kwargs.get("mail_server_id"), verdict)
            _logger.info("SMTP connection failed: %s (%s)", verdict.failure_type, verdict.message)
            raise
        if smtp is not None:
            self._mr_instrument_session(smtp, kwargs.get("mail_server_id"))
            self._mr_keep_slot_for_session(smtp, slot)
        else:
            self._mr_release_connection_slot(slot)
        return smtp

    def export_data(self, fields_to_export):
        result = super().export_data(fields_to_export)
        return redact_export(fields_to_export, result, {"smtp_pass"})

    def _smtp_login(self, connection, smtp_user, smtp_password):
        # Odoo's SMTPConnection wraps the smtplib object without exposing debuglevel.
        debuglevel = getattr(getattr(connection, "__obj__", connection), "debuglevel", 0)
        if not isinstance(debuglevel, int):  # a test double
            debuglevel = 0
        if debuglevel:
            connection.set_debuglevel(0)
            _logger.debug("SMTP AUTH as %s (transcript hidden: it holds the password)", smtp_user)
        try:
            return super()._smtp_login(connection, smtp_user, smtp_password)
        finally:
            if debuglevel:
                connection.set_debuglevel(debuglevel)

    @api.model
    def _get_default_bounce_address(self):
        return self._mr_batch_memo("bounce", super()._get_default_bounce_address)

    @api.model
    def _get_default_from_address(self):
        return self._mr_batch_memo("from", super()._get_default_from_address)

    def _mr_batch_memo(self, name, compute):
        """``compute()`` once per send run and company context.

        Stock computes the default bounce and from addresses for every email, and
        the queue cron commits after each mail, which empties the ORM cache: each
        email re-read the user and the company. Within one ``mail.mail.send()``
        the answer does not change, so the send run keeps it.
        """
        run = send_run.current(self.env)
        if run is None:
            return compute()
        # What env.company depends on, without reading it (that is the cost saved).
        key = (name, self.env.uid, tuple(self.env.context.get("allowed_company_ids") or ()))
        memo = run.defaults
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    def _mr_instrument_session(self, smtp, mail_server_id=None):
        """Name the session, record per-recipient refusals and the relay's reply to
        DATA (smtplib's ``send_message`` drops it), make quit() safe."""
        if getattr(smtp, "_mr_instrumented", False):
            return
        smtp._mr_label, smtp._mr_server_id = self._mr_session_label(smtp, mail_server_id)
        env = self.env
        send_message = smtp.send_message
        quit_session = smtp.quit
        # Test doubles and wrappers may have no data() (Odoo's TestingSMTPSession).
        send_data = getattr(smtp, "data", None)

        def mr_data(msg):
            code, reply = send_data(msg)
            smtp._mr_data_reply = (code, reply)
            return code, reply

        def mr_send_message(msg, from_addr=None, to_addrs=None, *args, **kwargs):
            smtp._mr_data_reply = None
            refused = send_message(msg, from_addr, to_addrs, *args, **kwargs) or {}
            entry = _outcome(env, msg["Message-Id"])
            if refused:
                server = self._mr_server_label(None, None, smtp)
                entry.refused.update(self._mr_refusals(refused, server))
            addresses = to_addrs if isinstance(to_addrs, list | tuple) else [to_addrs]
            accepted = [a.lower() for a in addresses if a and a not in refused]
            entry.delivered.update(accepted)
            if smtp._mr_data_reply:
                reply = reply_text(*smtp._mr_data_reply)
                entry.replies.update(dict.fromkeys(accepted, reply))
            return refused

        def mr_quit():
            try:
                return quit_session()
            except (smtplib.SMTPServerDisconnected, OSError):
                smtp.close()
                return None

        smtp.send_message = mr_send_message
        if send_data is not None:
            smtp.data = mr_data
        smtp.quit = mr_quit
        smtp._mr_instrumented = True

    @api.model
    def send_email(self, message, mail_server_id=None, smtp_server=None, *args, **kwargs):
        """Reserve daily quota, send, classify; release the unit if nothing was accepted."""
        message_id = (message["Message-Id"] or "").strip()
        session = kwargs.get("smtp_session")
        Usage = self.env["mail.quota.usage"]
        server = self._mr_quota_server(mail_server_id, smtp_server, session, message)
        try:
            reservations, refusal = Usage._reserve(
                server,
                marketing=bool(self.env.context.get(send_run.MARKETING_CONTEXT_KEY)),
                message=message,
            )
        except pg_errors.LockNotAvailable:
            raise self._mr_ledger_busy(message_id) from None
        if refusal:
            verdict = self._mr_quota_verdict(refusal)
            _outcome(self.env, message_id).verdict = verdict
            self.env["ir.cron"]._mr_trigger(QUOTA_RESET_CRON_XMLID, refusal.reset)
            _logger.info("email %s held back: %s", message_id, verdict.message)
            raise QuotaHeld(self.env._("Daily limit reached"), verdict.message)
        accepted = False
        try:
            result, accepted = self._mr_send_classified(
                message, message_id, mail_server_id, smtp_server, *args, **kwargs
            )
        finally:
            if not accepted:
                Usage._release(reservations, message=message)
            self._mr_slow_down_if_throttled(server, message_id)
        return result

    def _mr_ledger_busy(self, message_id):
        """The daily limit could not be counted within the ledger's lock timeout (a
        row lock held by another transaction, maybe the very one sending): the email
        is not sent, it is deferred like a temporary failure and retried later, and
        the rest of the sending batch waits queued (``run.ledger_busy``).

        :return: the :class:`LedgerBusy` to raise
        """
        seconds = quota_usage.LEDGER_LOCK_TIMEOUT
        _logger.warning(
            "email %s not sent, deferred: its daily-limit unit could not be counted, the "
            "ledger waited more than %s s for a row lock held by another transaction",
            message_id,
            seconds,
        )
        message = self.env._(
            "Not sent yet: the daily limit could not be counted, a database lock was held "
            "by another transaction for more than %(seconds)s seconds. Odoo retries "
            "automatically.",
            seconds=seconds,
        )
        _outcome(self.env, message_id).verdict = SmtpVerdict(
            failure_type=TEMPORARY,
            smtp_code=None,
            smtp_status=None,
            permanent=False,
            explanation=message,
            message=message,
        )
        run = send_run.current(self.env)
        if run is not None:
            run.ledger_busy = True
        return LedgerBusy(self.env._("Daily limit not counted"), message)

    def _mr_send_classified(self, message, message_id, mail_server_id, smtp_server, *args, **kw):
        """Stock send_email, with the SMTP outcome classified. Returns (result, accepted)."""
        session = kw.get("smtp_session")
        if smtp_server is None and session is not None:
            # With a session, stock uses smtp_server only to name the server in its
            # failure log line, which would otherwise say 'None'.
            smtp_server = getattr(session, "_mr_label", None)
        try:
            return super().send_email(message, mail_server_id, smtp_server, *args, **kw), True
        except smtplib.SMTPServerDisconnected as exc:
            _outcome(self.env, message_id).verdict = classify_exception(exc)
            raise
        except MailDeliveryException as exc:
            original = exc.__context__ or exc.__cause__
            if original is None or isinstance(original, MailDeliveryException):
                raise
            entry = _outcome(self.env, message_id)
            server = self._mr_server_label(mail_server_id, smtp_server, session)
            if isinstance(original, smtplib.SMTPRecipientsRefused) and self.env.context.get(
                "mail_reliability_collect_refusals"
            ):
                # Every recipient of this one email was refused, but the session is fine:
                # record who and why, and let mail.mail go on with its other recipients.
                entry.refused.update(self._mr_refusals(original.recipients, server))
                return message_id, False
            verdict = classify_exception(original)
            text = self.env._(
                "Mail delivery failed via SMTP server '%(server)s'.\n%(name)s: %(reply)s",
                server=server,
                name=original.__class__.__name__,
                reply=verdict.message or original,
            )
            entry.verdict = dataclasses.replace(verdict, message=text)
            raise MailDeliveryException(self.env._("Mail Delivery Failed"), text) from original

    def _mr_quota_server(self, mail_server_id, smtp_server, smtp_session, message):
        """The ir.mail_server record an email goes through (None for ad-hoc servers)."""
        if mail_server_id:
            run = send_run.current(self.env)
            known = run.servers if run is not None else {}
            if mail_server_id not in known:
                # No exists(): that is a query per server and batch, and the id comes
                # from mail.mail.mail_server_id (set null when the server is deleted).
                known[mail_server_id] = self.sudo().browse(mail_server_id)
            return known[mail_server_id]
        if smtp_session is not None:
            server_id = getattr(smtp_session, "_mr_server_id", None)
            return self.sudo().browse(server_id) if server_id else None
        if smtp_server:
            return None
        batch_server = self.env.context.get("mail_reliability_batch_server")
        if batch_server is not None:  # chosen by mail.mail.send() for this batch
            return self.sudo().browse(batch_server) if batch_server else None
        server, _smtp_from = self.sudo()._find_mail_server(message["From"])
        return server or None

    def _mr_quota_verdict(self, refusal):
        _limit, tz_name, _reserve = self.env["mail.quota.usage"]._settings()
        reset_local = pytz.utc.localize(refusal.reset).astimezone(pytz.timezone(tz_name))
        if refusal.server_name:
            text = self.env._(
                "Daily limit of server %(server)s reached (%(used)s/%(limit)s) — "
                "sending resumes at %(reset)s",
                server=refusal.server_name,
                used=refusal.used,
                limit=refusal.limit,
                reset=reset_local.strftime("%Y-%m-%d %H:%M %Z"),
            )
        else:
            text = self.env._(
                "Daily limit reached (%(used)s/%(limit)s) — sending resumes at %(reset)s",
                used=refusal.used,
                limit=refusal.limit,
                reset=reset_local.strftime("%Y-%m-%d %H:%M %Z"),
            )
        return QuotaVerdict(
            failure_type=QUOTA,
            smtp_code=None,
            smtp_status=None,
            permanent=True,
            explanation=explain_failure(QUOTA),
            message=text,
            resume_at=refusal.reset,
        )

    def _mr_refusals(self, refused, server):
        """{address: verdict} for smtplib's {address: (code, reply)}, naming the server."""
        # a comprehension has no frame odoo._() can read the language from: the env's own
        _ = self.env._
        return {
            address.lower(): dataclasses.replace(
                verdict,
                message=_(
                    "SMTP server '%(server)s' refused %(address)s: %(reply)s",
                    server=server,
                    address=address,
                    reply=verdict.message,
                ),
            )
            for address, verdict in classify_refused_recipients(refused).items()
        }

    def _mr_session_label(self, smtp, mail_server_id=None):
        """('<server name> (host:port)', server id) for a live session, as precise as we can."""
        host = getattr(smtp, "_host", None)
        try:
            port = smtp.sock.getpeername()[1] if getattr(smtp, "sock", None) else None
        except OSError:
            port = None
        address = f"{host}:{port}" if host and port else host
        # connect() has just read this server (no exists(): one query per session).
        server = self.sudo().browse(mail_server_id) if mail_server_id else None
        if not server and host:
            domain = [("smtp_host", "=", host)] + ([("smtp_port", "=", port)] if port else [])
            server = self.sudo().search(domain, limit=1)
        if server:
            return f"{server.name} ({address or server.smtp_host})", server.id
        return address, None

    def _mr_server_label(self, mail_server_id, smtp_server, smtp_session):
        """Name the server really used (stock prints 'None' when a session is passed)."""
        label = getattr(smtp_session, "_mr_label", None) if smtp_session is not None else None
        if label:
            return label
        if mail_server_id:
            server = self.sudo().browse(mail_server_id).exists()
            if server:
                return f"{server.name} ({server.smtp_host})"
        return smtp_server or self.env._("default server")

    # ------------------------------------------------------------------
    # Pacing (tools/pacing.py)
    # ------------------------------------------------------------------
    def _mr_read_pace(self):
        self.ensure_one()
        return pacing.Pace(
            rate=self.rate_per_minute,
            max_connections=self.max_connections,
            slowed_until=self.slowed_until or None,
            level=self.slow_level,
        )

    @api.model
    def _mr_pace(self, server):
        """The :class:`~..tools.pacing.Pace` of ``server``, read once per send run.

        The first read of a run comes from the columns the batch has already
        read (stock reads every server to choose one): no query of its own.
        """
        run = send_run.current(self.env)
        memo = run.pacing if run is not None else {}
        pace = memo.get(server.id)
        if pace is None:
            pace = memo[server.id] = server.sudo()._mr_read_pace()
        return pace

    @api.model
    def _mr_pace_hold(self, server, smtp_session=None):
        """None when one more email may go through ``server`` now (a unit of its
        rate is then taken), else the time the queue should try again: for the
        rate, the earliest second at which the server's last 60 seconds allow
        one more, by the database's clock (``tools.pacing.Window.resume_at``).

        With no rate, no connection cap and no slow-down (the default) this
        costs no query.
        """
        if getattr(smtp_session, "_mr_no_slot", False):  # every connection slot is taken
            return fields.Datetime.now() + pacing.CONNECTION_RETRY
        if not server:
            return None
        pace = self._mr_pace(server)
        if pace.is_off:
            return None
        now = fields.Datetime.now()
        rate = pacing.effective_rate(pace, now)
        if not rate:  # a connection cap only: connect() holds the slot
            return None
        smtp = getattr(smtp_session, "__obj__", smtp_session)
        if pace.slowed(now) and smtp is not None and getattr(smtp, "sock", True) is None:
            # The server hung up on a throttling reply: the rest waits for a new session.
            return now + pacing.CONNECTION_RETRY
        try:
            return self._mr_take_send_slot(server, rate)
        except pg_errors.LockNotAvailable:  # the ledger's lock timeout
            _logger.warning(
                "server %s: pace not counted, emails left queued: its row was locked by "
                "another transaction for more than %s s",
                server.id,
                quota_usage.LEDGER_LOCK_TIMEOUT,
            )
            return now + pacing.CONNECTION_RETRY
        except Exception:  # e.g. no database connection left: wait rather than overshoot
            _logger.warning(
                "server %s: pace not counted, emails left queued", server.id, exc_info=True
            )
            return now + pacing.CONNECTION_RETRY

    @api.model
    def _mr_take_send_slot(self, server, rate):
        """Count one email on ``server``'s window (``tools.pacing.Window.take``)
        unless its last 60 seconds hold ``rate`` already, by the database's clock.

        One upsert, committed at once on the ledger's own connection, so that
        every process and lane counts on the same row without waiting for
        another's mail transaction; ``ON CONFLICT DO UPDATE`` locks the row and
        reads it as last committed, so concurrent senders count one after the
        other. The server's slow-down, as another process may have changed it,
        and the window as it was (to tell when it allows one more) come back
        with the same statement.

        :return: None when counted, else when the window allows one more.
        """
        with self.env["mail.quota.usage"]._ledger_transaction() as cr:
            cr.execute(TAKE_SEND_SLOT, {"server": server.id, "rate": rate})
            row = cr.fetchone()
        if row is None:  # the server is gone
            return None
        counted, last_second, sends, now, slowed_until, level = row
        run = send_run.current(self.env)
        if run is not None and server.id in run.pacing:
            run.pacing[server.id] = dataclasses.replace(
                run.pacing[server.id], slowed_until=slowed_until, level=level or 0
            )
        if counted:
            return None
        return pacing.Window(last_second, sends).resume_at(now, rate)

    def _mr_slow_down_if_throttled(self, server, message_id):
        """After an email: slow ``server`` down if it answered with a throttling reply."""
        run = send_run.current(self.env)
        entry = run.outcomes.get(message_id) if run is not None else None
        if not server or entry is None or not (entry.verdict or entry.refused):
            return
        verdicts = [entry.verdict, *entry.refused.values()]
        throttle = next((v for v in verdicts if v is not None and v.throttled), None)
        if throttle is not None:
            self._mr_note_throttle(server.id, throttle)

    @api.model
    def _mr_note_throttle(self, server_id, verdict):
        """The server said we send too fast: slow it down (``tools.pacing.after_throttle``),
        for every process, in a transaction of its own. Never raises: the email's own
        outcome is being handled."""
        if not server_id:
            return
        try:
            now = fields.Datetime.now()
            reply = (verdict.message or "").strip()[:500]
            pace = self._mr_pace(self.sudo().browse(server_id))
            with self.env["mail.quota.usage"]._ledger_transaction() as cr:
                # The slow-down as every process sees it, locked until ours is written.
                # NO KEY UPDATE: the sending transaction may hold KEY SHARE on the row
                # (a mail_mail it inserted references it) while it waits for this one.
                cr.execute(
                    """SELECT slowed_until, slow_level FROM ir_mail_server
                        WHERE id = %s FOR NO KEY UPDATE""",
                    [server_id],
                )
                row = cr.fetchone()
                if row is None:
                    return
                pace = dataclasses.replace(pace, slowed_until=row[0], level=row[1] or 0)
                until, level = pacing.after_throttle(pace, now)
                cr.execute(
                    """UPDATE ir_mail_server
                          SET slowed_until = %s, slow_level = %s, slowed_reason = %s
                        WHERE id = %s""",
                    [until, level, reply, server_id],
                )
        except Exception:
            _logger.warning("server %s: throttling reply not recorded", server_id, exc_info=True)
            return
        pace = dataclasses.replace(pace, slowed_until=until, level=level)
        run = send_run.current(self.env)
        if run is not None:
            run.pacing[server_id] = pace
        self.browse(server_id).invalidate_recordset(["slowed_until", "slow_level", "slowed_reason"])
        _logger.warning(
            "outgoing server %s slowed down until %s (level %s, %s emails per minute): %s",
            server_id,
            until,
            level,
            pacing.effective_rate(pace, now) or "no rate set, not slowed",
            reply,
        )

    @api.model
    def _mr_take_connection_slot(self, server_id, args=()):
        """Lock a free connection slot of ``server_id`` for the session about to open.

        :return: None when the server has no connection cap (or outside a sending
            batch), False when every slot is taken, else ``(cursor, key)`` of the
            advisory lock held (on the ledger's connection, for its session: it
            is dropped with the connection if the process dies).
        """
        run = send_run.current(self.env)
        if run is None or args or not server_id:
            return None
        pace = self._mr_pace(self.sudo().browse(server_id))
        if pace.max_connections <= 0:
            return None
        try:
            with self.env["mail.quota.usage"]._ledger_transaction() as cr:
                for slot in range(1, pace.max_connections + 1):
                    key = pacing.slot_key(server_id, slot)
                    cr.execute("SELECT pg_try_advisory_lock(%s, %s)", [CONNECTION_LOCK_SPACE, key])
                    if cr.fetchone()[0]:
                        return cr, key
        except Exception:  # e.g. no database connection left: the emails wait, not fail
            _logger.warning("server %s: no connection slot taken", server_id, exc_info=True)
            return False
        _logger.info(
            "outgoing server %s: all %s connection slot(s) in use, emails left queued",
            server_id,
            pace.max_connections,
        )
        return False

    @staticmethod
    def _mr_release_connection_slot(slot):
        if not slot:
            return
        cr, key = slot
        if getattr(cr, "closed", False):  # its connection is gone, and the lock with it
            return
        try:
            cr.execute("SELECT pg_advisory_unlock(%s, %s)", [CONNECTION_LOCK_SPACE, key])
        except Exception:
            _logger.warning("connection slot %s not released", key, exc_info=True)

    def _mr_keep_slot_for_session(self, smtp, slot):
        """Hold ``slot`` until the session quits."""
        if not slot:
            return
        quit_session = smtp.quit

        def quit_and_release():
            try:
                return quit_session()
            finally:
                self._mr_release_connection_slot(slot)

        smtp.quit = quit_and_release
