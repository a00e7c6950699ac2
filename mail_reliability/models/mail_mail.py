# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The outgoing pipeline: clean input, FIFO pick, one sender per mail, outcome -> state.

* ``create``/``write`` refuse header injection in an address field
  (``"a@b.test\\r\\nBcc: x@y.test"``, which Odoo's lenient address parsing
  would turn into a hidden recipient) and repair text PostgreSQL cannot store
  (NUL, lone surrogates: ``tools/mail_input.py``), with a warning in the log.
* ``process_email_queue`` picks the oldest due mail first (stock: newest).
  With several queue lanes (``mail_reliability.queue_lanes``), each run is a
  lane run that claims the head of the queue no other lane holds
  (``_mr_claim_queue_head``) and sends only that (``tools/queue_lanes.py``).
* ``send`` opens the send run (``tools/send_run.py``, where the whole path of a
  batch is described); ``_send`` locks each mail row (``FOR UPDATE SKIP
  LOCKED``) right before sending it, so the cron and "Send Now" never send the
  same mail twice.
* ``_mr_apply_outcome`` is the one place that turns what the SMTP server
  said into a state: sent, deferred (``outgoing`` + ``scheduled_date``,
  Postfix-style backoff) or failed (``exception``), per recipient. A mail
  without any valid recipient says so instead of stock's "Error without
  exception".
"""

import contextlib
import logging
import smtplib
import threading
from datetime import datetime, timedelta

from psycopg2 import errors as pg_errors
from psycopg2 import extensions as psycopg2_ext

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools import SQL, Query

from ..tools import delivery_stats, mail_input, queue_lanes, retry_policy, send_run
from ..tools.constants import EMAIL_MISSING, GENERIC, NO_RECIPIENT_TYPES, QUEUE_CRON_XMLID, QUOTA
from ..tools.smtp_reply import parse_queue_id
from ..tools.smtp_status import (
    FAILURE_TYPES,
    QUOTA_FAILURE_TYPE,
    SmtpVerdict,
    classify_exception,
    explain_failure,
)
from .mail_followers import FOLLOWER_STATUS_KEY

_logger = logging.getLogger(__name__)

ADDRESS_FIELDS = ("email_from", "email_to", "email_cc", "reply_to")
# mail.mail's own text columns; subject, email_from and reply_to belong to the parent
# mail.message, which repairs them itself (mail_message.py) when they are written through.
TEXT_FIELDS = ("email_to", "email_cc", "body_html", "references", "headers")
# Set by mark_outgoing for its write: a requeued mail gets a fresh retry window.
REQUEUE_CONTEXT_KEY = "mail_reliability_requeue"
REQUEUE_VALS = {"scheduled_date": False, "retry_count": 0, "first_attempt_date": False}
# When the rest of a batch left queued by a locked daily-limit ledger is tried again.
LEDGER_RETRY = timedelta(minutes=1)
# The queue's order (oldest due first; a mail scheduled for later counts from its
# schedule): the cron's search and the lanes' claim (_mr_claim_queue_head) share it.
FIFO_ORDER = SQL(
    'COALESCE("mail_mail"."scheduled_date", "mail_mail"."create_date"), "mail_mail"."id"'
)


class _LockingQuery(Query):
    """A query whose SELECT locks the rows it returns and skips rows that another
    transaction holds (used to read and lock a mail in one statement)."""

    def select(self, *args):
        return SQL("%s FOR UPDATE SKIP LOCKED", super().select(*args))


def _in_failed_transaction(cr):
    """True when a failed statement aborted the transaction open on ``cr``."""
    connection = getattr(cr, "connection", None)
    return (
        connection is not None
        and connection.info.transaction_status == psycopg2_ext.TRANSACTION_STATUS_INERROR
    )


def _opens_transaction(cr):
    """True when the next statement on ``cr`` starts a new database transaction."""
    connection = getattr(cr, "connection", None)  # test cursors have none: always inside one
    return (
        connection is not None
        and connection.info.transaction_status == psycopg2_ext.TRANSACTION_STATUS_IDLE
    )


FAILURE_SELECTION = [*FAILURE_TYPES.items(), QUOTA_FAILURE_TYPE]


class MailMail(models.Model):
    _inherit = "mail.mail"

    failure_type = fields.Selection(selection_add=FAILURE_SELECTION)
    # Remote servers' diagnostics: internal users only, as on mail.notification.
    smtp_code = fields.Integer(
        "SMTP Code",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="Basic SMTP reply code of the last failure",
    )
    smtp_status = fields.Char(
        "SMTP Status",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_user",
        help="Enhanced status code (RFC 3463) of the last failure, e.g. 5.1.1",
    )
    retry_count = fields.Integer(
        "Attempts Deferred",
        readonly=True,
        copy=False,
        help="How many times a temporary failure postponed this mail",
    )
    first_attempt_date = fields.Datetime(
        readonly=True, copy=False, help="First failed attempt; the retry window starts here"
    )
    failure_explanation = fields.Text(
        compute="_compute_failure_explanation", groups="base.group_user"
    )
    smtp_reply = fields.Char(
        "Relay Reply",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="The outgoing server's reply when it accepted this email",
    )
    smtp_queue_id = fields.Char(
        "Relay Queue ID",
        readonly=True,
        copy=False,
        groups="base.group_user",
        index="btree_not_null",
        help="The id the outgoing server gave this email (e.g. Postfix's 'queued as ...'): "
        "search the provider's logs with it",
    )
    # Filled when the mail fails (_mr_set_recipient_domain), not on every new mail:
    # a stored compute would cost two queries on each chatter post and template send.
    recipient_domain = fields.Char(
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Domain of the first recipient of a failed mail, to group failures by provider",
    )
    # Written by raw SQL only (microseconds kept: the value is also the claim's token).
    mr_queue_claim_until = fields.Datetime(
        "Claimed by a Queue Lane Until",
        readonly=True,
        copy=False,
        prefetch=False,
        help="With several queue lanes, the lane sending this mail holds it until then; "
        "after that another lane may take it over",
    )

    @api.depends("failure_type", "smtp_code", "smtp_status", "failure_reason")
    def _compute_failure_explanation(self):
        for mail in self:
            mail.failure_explanation = explain_failure(
                mail.failure_type,
                mail.smtp_code,
                mail.smtp_status,
                mail.failure_reason,
                lang=self.env.lang,
            )

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        query = super()._search(domain, offset=offset, limit=limit, order=order)
        # search() passes the default order explicitly; search_count() passes none.
        if self.env.context.get("mail_reliability_fifo") and order == self._order:
            # FIFO: oldest due first. A mail scheduled for later counts from its schedule.
            query.order = FIFO_ORDER
        return query

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            sender = vals.get("email_from")
            if isinstance(sender, str) and not sender.strip():
                del vals["email_from"]  # " " would go out as a blank From:; use the default
            self._mr_clean_input(vals)
        mails = super().create(vals_list)
        mails._mr_trigger_queue_at_schedule()
        mails.filtered(lambda m: m.failure_type)._mr_set_recipient_domain()
        return mails

    def write(self, vals):
        self._mr_clean_input(vals)
        if self.env.context.get(REQUEUE_CONTEXT_KEY) and vals.get("state") == "outgoing":
            vals = {**vals, **REQUEUE_VALS}
        res = super().write(vals)
        if vals.get("scheduled_date"):
            self._mr_trigger_queue_at_schedule()
        # Not on stock's transient 'exception' written before each send: on a failure.
        if vals.get("failure_type"):
            self._mr_set_recipient_domain()
        return res

    @api.model
    def _mr_clean_input(self, vals):
        for fname in ADDRESS_FIELDS:
            header = mail_input.header_injection(vals.get(fname))
            if header:
                raise self._mr_injection_error(fname, header)
        return mail_input.repair_storable_text(self._name, vals, TEXT_FIELDS)

    @api.model
    def _mr_injection_error(self, fname, header):
        return ValidationError(
            self.env._(
                "The %(field)s address contains a line break followed by a '%(header)s:' "
                "header. Put one address after the other, separated by commas.",
                field=self._fields[fname].string,
                header=header,
            )
        )

    def _mr_set_recipient_domain(self):
        """A failed (or deferred) mail remembers the domain of its first recipient."""
        by_domain = {}
        for mail in self.sudo():
            emails = tools.email_normalize_all(mail.email_to or "") + [
                email for email in mail.recipient_ids.mapped("email_normalized") if email
            ]
            domain = emails[0].rsplit("@", 1)[-1] if emails else False
            if domain != mail.recipient_domain:
                by_domain.setdefault(domain, []).append(mail.id)
        for domain, ids in by_domain.items():
            self.sudo().browse(ids).write({"recipient_domain": domain})

    # ------------------------------------------------------------------
    # Actions (form, list, bulk)
    # ------------------------------------------------------------------
    def action_retry(self):
        """Stock requeues failed mail; cancelled mail too, and deferred mail is due now."""
        others = self.filtered(lambda m: m.state in ("cancel", "outgoing"))
        super().action_retry()  # failed mail, through mark_outgoing below
        others.mark_outgoing()
        return True

    def mark_outgoing(self):
        """Stock's requeue, with a fresh retry window: due now, attempts counted anew
        (see ``write``); the next cron run sends it."""
        return super(MailMail, self.with_context(**{REQUEUE_CONTEXT_KEY: True})).mark_outgoing()

    def action_send_now(self):
        """Send at once, whatever the state that allows sending again."""
        mails = self.filtered(lambda m: m.state in ("outgoing", "exception", "cancel"))
        mails.mark_outgoing()
        mails.send(raise_exception=False)
        return True

    def cancel(self):
        """Stock's cancel, for mail still to send (or failed) only: sent mail stays sent."""
        to_cancel = self.filtered(lambda m: m.state in ("outgoing", "exception"))
        return super(MailMail, to_cancel).cancel()

    def action_cancel(self):
        self.cancel()
        return True

    # ------------------------------------------------------------------
    # Queue processing
    # ------------------------------------------------------------------
    @api.model
    def process_email_queue(self, ids=None, batch_size=1000):
        """Stock's queue run, oldest due mail first; with several queue lanes
        (``mail_reliability.queue_lanes``), a lane run (:meth:`_mr_process_queue_lane`)."""
        fifo = self.with_context(mail_reliability_fifo=True)
        if ids is None and "filters" not in self.env.context and fifo._mr_queue_lanes() > 1:
            return fifo._mr_process_queue_lane(batch_size)
        return super(MailMail, fifo).process_email_queue(ids=ids, batch_size=batch_size)

    @api.model
    def _cron_process_queue_lane(self):
        """The code of lanes 2..N (``ir.cron._mr_sync_queue_lanes``); lane 1 is stock's cron."""
        return self.process_email_queue()

    @api.model
    def _mr_queue_lanes(self):
        """How many queue lanes are configured (1 when the parameter is nonsense)."""
        return self._mr_lane_param(
            queue_lanes.LANES_PARAM, queue_lanes.parse_lanes, queue_lanes.DEFAULT_LANES
        )

    @api.model
    def _mr_process_queue_lane(self, batch_size):
        """One run of a queue lane, when several lanes share the queue.

        The lane claims the head of the due queue (:meth:`_mr_claim_queue_head`, at
        most ``queue_lanes.CLAIM_SIZE`` mails, skipping what other lanes hold), sends
        the claimed mails through stock's queue run restricted to them (its
        ``filters`` context: the per-mail lock, outcome, retry and quota paths are
        those of one lane), then releases what is left of the claim. It goes on up to
        the batch size (stock's ``mail.mail.queue.batch.size``) and then triggers
        itself if more may be due; on its first full claim it wakes the other lanes.
        """
        params = self.env["ir.config_parameter"].sudo()
        try:
            size = int(params.get_param("mail.mail.queue.batch.size", batch_size) or 0)
        except (TypeError, ValueError):
            size = batch_size
        # Stock's test for its auto_commit path (one commit per mail).
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        seconds = self._mr_lane_claim_seconds()
        woken = drained = False
        for want in queue_lanes.claim_sizes(size):
            claimed, until = self._mr_claim_queue_head(want, seconds, auto_commit)
            if claimed and len(claimed) == want and not woken:
                woken = True
                self._mr_wake_queue_lanes()
            if claimed:
                restricted = self.with_context(filters=[("id", "in", claimed)])
                try:
                    super(MailMail, restricted).process_email_queue(batch_size=len(claimed))
                finally:
                    self._mr_release_queue_claim(claimed, until, auto_commit)
            if len(claimed) < want:
                drained = True
                break
        if not drained:
            self._mr_trigger_own_lane()
        return True

    @api.model
    def _mr_lane_claim_seconds(self):
        return self._mr_lane_param(
            queue_lanes.CLAIM_SECONDS_PARAM,
            queue_lanes.parse_claim_seconds,
            queue_lanes.DEFAULT_CLAIM_SECONDS,
        )

    @api.model
    def _mr_lane_param(self, key, parse, default):
        """A queue-lane system parameter, parsed; ``default`` (logged) when nonsense."""
        value = self.env["ir.config_parameter"].sudo().get_param(key)
        try:
            return parse(value)
        except ValueError as exc:
            _logger.warning("%s ignored, %r used instead: %s", key, default, exc)
            return default

    @contextlib.contextmanager
    def _mr_lane_transaction(self, auto_commit):
        """One short READ COMMITTED transaction for a claim or its release.

        On the cron's auto-commit path it is its own transaction on the cron's
        cursor: what came before is committed (the per-mail commits of stock's path
        leave nothing else pending), so the next mail's row lock starts a snapshot
        that sees the claim. Elsewhere (tests, a caller's transaction) a savepoint.
        """
        cr = self.env.cr
        if not auto_commit:
            with cr.savepoint(flush=False):
                yield cr
            return
        if _in_failed_transaction(cr):
            cr.rollback()  # what the failed statement left cannot be committed anyway
        else:
            cr.commit()  # pylint: disable=invalid-commit
        # READ COMMITTED: a row another lane claimed and committed meanwhile is
        # re-checked (and skipped), where REPEATABLE READ would fail the statement.
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        yield cr
        cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _mr_claim_queue_head(self, limit, seconds, auto_commit=False):
        """Claim the first ``limit`` due mails in queue order that no lane holds.

        One statement: the head of the queue is locked ``SKIP LOCKED`` (a lane
        claiming at the same instant takes the next rows instead of waiting) and
        stamped with the claim's expiry. Returns ``(ids, until)``; ``until`` is the
        claim's token for :meth:`_mr_release_queue_claim`. An expired claim (a
        killed lane's) is taken over.
        """
        # The claim reads state and schedule in the database: what this transaction
        # changed through the ORM must be there (stock's own search flushes too).
        self.flush_model(["state", "scheduled_date"])
        with self._mr_lane_transaction(auto_commit) as cr:
            cr.execute(
                SQL(
                    """
                    UPDATE mail_mail
                       SET mr_queue_claim_until = (statement_timestamp() AT TIME ZONE 'UTC')
                                                  + make_interval(secs => %(seconds)s)
                     WHERE id IN (
                            SELECT id FROM mail_mail
                             WHERE state = 'outgoing'
                               AND (scheduled_date IS NULL OR scheduled_date <= %(now)s)
                               AND (mr_queue_claim_until IS NULL
                                    OR mr_queue_claim_until
                                       <= (statement_timestamp() AT TIME ZONE 'UTC'))
                             ORDER BY %(order)s
                             LIMIT %(limit)s
                               FOR UPDATE SKIP LOCKED)
                 RETURNING id, mr_queue_claim_until
                    """,
                    seconds=seconds,
                    now=fields.Datetime.now(),
                    order=FIFO_ORDER,
                    limit=limit,
                )
            )
            rows = cr.fetchall()
        self.invalidate_model(["mr_queue_claim_until"])
        if not rows:
            return [], None
        return sorted(row[0] for row in rows), rows[0][1]

    @api.model
    def _mr_release_queue_claim(self, ids, until, auto_commit=False):
        """Give back what is left of a claim (mail deferred, held, or not reached),
        so the next lane run may take it at once; a row someone is sending right
        now is skipped (its claim simply expires)."""
        with self._mr_lane_transaction(auto_commit) as cr:
            cr.execute(
                SQL(
                    """
                    UPDATE mail_mail SET mr_queue_claim_until = NULL
                     WHERE id IN (
                            SELECT id FROM mail_mail
                             WHERE id = ANY(%(ids)s) AND mr_queue_claim_until = %(until)s
                               FOR UPDATE SKIP LOCKED)
                    """,
                    ids=list(ids),
                    until=until,
                )
            )
        self.invalidate_model(["mr_queue_claim_until"])

    @api.model
    def _mr_wake_queue_lanes(self):
        """More mail than one claim is due: trigger the other lanes now."""
        Cron = self.env["ir.cron"]
        own = self.env.context.get("cron_id")
        for cron in Cron._mr_queue_lane_crons().values():
            if cron.id != own:
                Cron._mr_trigger_cron(cron)

    @api.model
    def _mr_trigger_own_lane(self):
        """This lane used up its batch and more may be due: run again soon."""
        Cron = self.env["ir.cron"]
        own = self.env.context.get("cron_id")
        if own:
            Cron._mr_trigger_cron(Cron.sudo().browse(own))
        else:  # not run by a cron job (a script): the Email Queue Manager
            Cron._mr_trigger(QUEUE_CRON_XMLID)

    def send(self, auto_commit=False, raise_exception=False, post_send_callback=None):
        """Stock's send, inside a send run (``tools/send_run.py``): step 1 of the path."""
        # auto_commit: the queue cron commits each mail right after sending it.
        with send_run.opened(self.env, each_mail_committed=auto_commit is True) as run:
            run.connect_verdict = None
            return super().send(
                auto_commit=auto_commit,
                raise_exception=raise_exception,
                post_send_callback=post_send_callback,
            )

    def _send(
        self,
        auto_commit=False,
        raise_exception=False,
        smtp_session=None,
        alias_domain_id=False,
        mail_server=False,
        post_send_callback=None,
    ):
        """Send mail by mail, each under a row lock taken right before sending.

        Steps 3-5 of the send path (``tools/send_run.py``).
        """
        with send_run.opened(self.env) as run:  # the run send() opened, or one of its own
            # The marketing flag is read by ir.mail_server.send_email: bulk marketing
            # yields to the daily limit's transactional reserve.
            context = {
                "mail_reliability_collect_refusals": True,
                send_run.MARKETING_CONTEXT_KEY: False,
            }
            if isinstance(mail_server, models.BaseModel):
                # send() already chose this batch's server (maybe none): the daily quota
                # needs no second lookup when there is no SMTP session (test mode).
                context["mail_reliability_batch_server"] = mail_server.id or 0
            with_unfollow_link = self.filtered(
                lambda m: m.body_html and "/mail/unfollow" in m.body_html
            )
            if with_unfollow_link:
                # Stock reads the recipients' follower status once per batch: so do we
                # (mail.followers serves it to each mail's stock _send below).
                status = self.env["mail.followers"]._get_mail_recipients_follower_status(
                    with_unfollow_link.ids
                )
                context[FOLLOWER_STATUS_KEY] = (
                    frozenset(with_unfollow_link.ids),
                    frozenset(status),
                )
            batch = self.with_context(**context)
            # Built once: an environment per mail would read the company again per mail.
            marketing_batch = batch.with_context(**{send_run.MARKETING_CONTEXT_KEY: True})
            Usage = self.env["mail.quota.usage"]
            # Mail inserted by this very transaction (a chatter post or template sent at
            # once) is invisible to every other one until commit: it needs no row lock.
            # Known before the loop (stock's unlink of a sent mail empties the cache);
            # none when committing per mail, which makes the rest visible.
            unseen = set() if auto_commit else batch._mr_created_in_this_transaction()
            for position, mail_id in enumerate(batch.ids):
                Usage._expect_emails(len(batch.ids) - position)  # sizes the quota lease
                # Prefetch this mail only, as stock does: the queue cron commits after each
                # mail, which empties the cache, and a batch-wide prefetch would then re-read
                # every remaining mail of the batch (bodies included) for each mail sent.
                mail = batch.browse(mail_id)
                if mail_id not in unseen and not mail._mr_lock_for_sending():
                    continue
                if mail._mr_pace_or_hold(mail_server, smtp_session):
                    break  # the server's pace is reached: the rest of the batch waits queued
                sender = marketing_batch.browse(mail_id) if mail._mr_is_marketing() else mail
                try:
                    super(MailMail, sender)._send(
                        auto_commit=auto_commit,
                        raise_exception=raise_exception,
                        smtp_session=smtp_session,
                        alias_domain_id=alias_domain_id,
                        mail_server=mail_server,
                        post_send_callback=post_send_callback,
                    )
                except smtplib.SMTPServerDisconnected as exc:
                    # The session is dead: defer the mail in flight with its reason, leave
                    # the rest of the batch outgoing for the next run, and keep the cron alive.
                    mail._mr_apply_outcome(success_pids=[], disconnected=exc)
                    rest = batch[position + 1 :]
                    _logger.warning(
                        "SMTP server disconnected while sending mail %s; %s mail(s) left queued",
                        mail.id,
                        len(rest),
                    )
                    if rest:
                        rest._mr_trigger_queue(fields.Datetime.now())
                    if auto_commit is True:  # core's own auto_commit path (queue cron)
                        self.env.cr.commit()  # pylint: disable=invalid-commit
                    if raise_exception:
                        raise
                    break
                if run.ledger_busy:
                    # The daily-limit ledger timed out on a lock (this mail is deferred):
                    # the rest of the batch would wait as long for it, one mail at a time.
                    run.ledger_busy = False
                    rest = batch[position + 1 :]
                    if rest:
                        rest._mr_trigger_queue(fields.Datetime.now() + LEDGER_RETRY)
                        _logger.warning(
                            "daily-limit ledger locked: %s mail(s) left queued", len(rest)
                        )
                    break
            return True

    def _mr_pace_or_hold(self, mail_server, smtp_session=None):
        """True when this mail (and the rest of its batch) must wait for the pace of
        ``mail_server`` (``tools/pacing.py``): it stays outgoing, untouched (no
        failure, no retry counted), and the queue is triggered for when the server
        may send again. Costs no query when the server has no pace (the default)."""
        resume_at = self.env["ir.mail_server"]._mr_pace_hold(mail_server, smtp_session)
        if resume_at is None:
            return False
        self._mr_trigger_queue(resume_at)
        _logger.info(
            "mail.mail %s and the rest of its batch wait for the pace of outgoing server %s "
            "until %s",
            self.id,
            getattr(mail_server, "id", None),
            resume_at,
        )
        return True

    def _mr_is_marketing(self):
        """Bulk marketing mail (mass mailing, marketing automation) yields to the reserve."""
        self.ensure_one()
        return bool("mailing_id" in self._fields and self.mailing_id)

    def _mr_lock_for_sending(self):
        """Lock this outgoing mail for the current transaction, or say it is taken.

        ``SKIP LOCKED`` makes a concurrent sender skip a mail being sent; the
        state test makes it skip a mail that another transaction already sent.
        The locking statement is also the read that stock ``_send`` would make
        next (the mail's prefetched columns), so the lock costs no round trip.
        """
        self.ensure_one()
        cr = self.env.cr
        try:
            # Flush only this mail's state: unrelated pending writes keep failing where
            # stock code expects them to, not inside our lock.
            self.flush_recordset(["state"])
            if _opens_transaction(cr):
                # The queue cron commits after each mail, so the lock is usually the
                # first statement of a new transaction: its snapshot is taken by this
                # very statement, a concurrent update cannot make it fail, and the
                # savepoint (two more round trips per mail) is not needed.
                locked = self._mr_fetch_locked()
            else:
                with cr.savepoint(flush=False):
                    locked = self._mr_fetch_locked()
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            # Updated by a transaction that committed after ours began: it is not ours.
            locked = False
        if not locked:
            _logger.info("mail.mail %s skipped: already sent or being sent elsewhere", self.id)
            self.invalidate_recordset(["state"])
        # When locked, the row is 'outgoing' in the database; a stale cached state
        # could only make stock skip the mail (sent next run), never send it twice.
        return locked

    def _mr_created_in_this_transaction(self):
        """The ids of these mails that the current transaction inserted, from the cache.

        Odoo stamps ``create_date`` with the transaction's timestamp (``cr.now()``,
        fixed for the whole transaction); a row committed by another transaction has
        its own. Nothing is read: a mail whose stamp is not at hand is not counted.
        """
        now = getattr(self.env.cr, "_now", None)  # None: cr.now() not called yet
        if now is None:
            return set()
        field = self._fields["create_date"]
        return {mail.id for mail in self if self.env.cache.get(mail, field, None) == now}

    def _mr_fetch_locked(self):
        """Read this mail's prefetch group into the cache (what reading ``state``
        would read) with ``SELECT ... FOR UPDATE SKIP LOCKED``, only if the row is
        still outgoing and not locked by another transaction. True when locked."""
        state = self._fields["state"]
        names = [state.name]
        if self.env.context.get("prefetch_fields", True):
            names += [
                name
                for name, field in self._fields.items()
                if field.prefetch == state.prefetch and field.is_accessible(self.env)
            ]
        fields_to_fetch = self._determine_fields_to_fetch(names, ignore_when_in_cache=True)
        if state not in fields_to_fetch:
            fields_to_fetch.append(state)  # the statement must read a column to lock
        query = _LockingQuery(self.env, self._table, self._table_sql)
        # Raw condition, no flush: the caller flushed this mail's state only.
        query.add_where(
            SQL(
                "%s = %s AND %s = 'outgoing'",
                SQL.identifier(self._table, "id"),
                self.id,
                SQL.identifier(self._table, "state"),
            )
        )
        return bool(self._fetch_query(query, fields_to_fetch))

    # ------------------------------------------------------------------
    # Outcome -> state (the one place)
    # ------------------------------------------------------------------
    def _postprocess_sent_message(self, success_pids, failure_reason=False, failure_type=None):
        """Step 5 of the send path (``tools/send_run.py``): the outcome becomes a state."""
        if not failure_type and not success_pids and self._mr_has_no_recipient():
            # Nothing to send to at all: stock leaves "Error without exception".
            failure_type = EMAIL_MISSING
        if failure_type in NO_RECIPIENT_TYPES and not failure_reason:
            for mail in self.filtered(lambda m: m.state == "exception"):
                reason = mail._mr_no_recipient_reason(failure_type)
                if mail.auto_delete:
                    # Stock deletes it right after; the reason still reaches its notifications.
                    # Writing the type too would split the batch's UPDATE (one query more).
                    mail.write({"failure_reason": reason})
                else:
                    mail.write({"failure_type": failure_type, "failure_reason": reason})
                if len(self) == 1:
                    failure_reason = reason
        connect_verdict = None
        if failure_type == GENERIC:  # stock could not connect: ir.mail_server.connect says why
            run = send_run.current(self.env)
            if run is not None:
                connect_verdict, run.connect_verdict = run.connect_verdict, None
        # A whole batch that failed to connect: one chatter update per message, like stock.
        updates = (
            self.env["mail.message"]._mr_batch_notification_updates()
            if len(self) > 1
            else contextlib.nullcontext()
        )
        with updates:
            for mail in self:
                mail._mr_apply_outcome(
                    success_pids,
                    failure_reason=failure_reason,
                    failure_type=failure_type,
                    verdict=connect_verdict,
                )
        return True

    def _mr_has_no_recipient(self):
        return len(self) == 1 and (
            self.state == "exception"
            and not (self.email_to or "").strip()
            and not (self.email_cc or "").strip()
            and not self.recipient_ids
        )

    def _mr_no_recipient_reason(self, failure_type):
        self.ensure_one()
        addresses = [a for a in (self.email_to, self.email_cc) if a and a.strip()]
        addresses += [
            p.email or self.env._("%(name)s (no email)", name=p.display_name)
            for p in self.recipient_ids
        ]
        if failure_type == EMAIL_MISSING and not addresses:
            return self.env._("The email has no recipient address.")
        return self.env._(
            "No valid recipient address: %(addresses)s",
            addresses=", ".join(repr(a) for a in addresses) or self.env._("(empty)"),
        )

    def _mr_failure_pending(self):
        """Whether the send run holds a failure of this mail that
        :meth:`_mr_apply_outcome` has yet to apply (a verdict for the whole mail or
        recipients refused): when not, and stock passed no failure either, the mail
        keeps the state stock gave it. Reads nothing from the database."""
        self.ensure_one()
        run = send_run.current(self.env)
        entry = run.outcomes.get((self.message_id or "").strip()) if run else None
        return bool(entry and (entry.verdict or entry.refused))

    def _mr_apply_outcome(
        self, success_pids, failure_reason=False, failure_type=None, verdict=None, disconnected=None
    ):
        """Turn the attempt on this mail into sent / deferred / failed, per recipient.

        ``verdict`` (or the one ``ir.mail_server.send_email`` recorded in the send
        run's :class:`~..tools.send_run.Outcome`) is a failure of the whole mail;
        ``refused`` holds recipients the server refused one by one.
        """
        self.ensure_one()
        run = send_run.current(self.env)
        entry = (run.pop_outcome(self.message_id) if run else None) or send_run.Outcome()
        verdict = verdict or entry.verdict
        if disconnected is not None and verdict is None:
            verdict = classify_exception(disconnected)
        refused = entry.refused
        delivered = entry.delivered
        self._mr_record_relay_replies(entry.replies)
        self._mr_count_delivery(run, delivered, refused, verdict)
        if not verdict and not refused:  # the common case: plain success, stock handles it
            self._mr_clear_old_failure()
            return super()._postprocess_sent_message(
                success_pids, failure_reason=failure_reason, failure_type=failure_type
            )
        notifications = self._mr_open_notifications()
        refused_notifications = notifications.filtered(
            lambda n: (n.res_partner_id.email_normalized or "").lower() in refused
        )
        # Stock passes partner records (ids in older code): work on one recordset.
        success_partners = (
            self.env["res.partner"].browse([getattr(pid, "id", pid) for pid in success_pids or []])
            - refused_notifications.res_partner_id
        )
        success_pids = list(success_partners)
        permanent = {email: v for email, v in refused.items() if v.permanent}
        temporary = {email: v for email, v in refused.items() if not v.permanent}
        if verdict is None and temporary:
            verdict = next(iter(temporary.values()))
        elif verdict is None and permanent and not delivered:
            verdict = next(iter(permanent.values()))

        if verdict and verdict.failure_type == QUOTA:
            self._mr_hold_for_quota(verdict, success_pids, delivered)
        elif verdict and not verdict.permanent:
            self._mr_defer(verdict, success_pids, delivered)
        elif verdict:
            # Recipients that already got it must not get it again if the mail is retried.
            _pending, vals = self._mr_forget_delivered(success_pids, delivered)
            if vals:
                self.sudo().write(vals)
            super()._postprocess_sent_message(
                success_pids,
                failure_reason=self._mr_reason(verdict),
                failure_type=verdict.failure_type,
            )
            self._mr_write_failure(verdict, state="exception")
        else:
            self._mr_clear_old_failure()
            super()._postprocess_sent_message(
                success_pids, failure_reason=failure_reason, failure_type=failure_type
            )
        if permanent:
            self._mr_record_refusals(permanent, refused_notifications)
        return True

    def _mr_count_delivery(self, run, delivered, refused, verdict):
        """Add this attempt to the delivery statistics (``mail.delivery.stats``).

        Written outside the mail's own transaction, so that concurrent senders
        never conflict on a statistics row: the queue cron (which commits each
        mail) writes the batch's counts every few mails and when the batch ends;
        other senders (a chatter post, Send Now) once their transaction commits.
        Neither runs an extra statement in the mail's transaction.
        """
        counted = delivery_stats.outcome_counters(
            self._mr_recipient_addresses(), delivered, refused, verdict
        )
        if not counted:
            return
        Stats = self.env["mail.delivery.stats"].sudo()
        dims = self._mr_delivery_dims()
        if run is not None and run.each_mail_committed:
            Stats._mr_count_in_run(run, counted, dims)
        else:
            for counter, addresses in counted:
                Stats._mr_count_after_commit(addresses, counter, **dims)

    def _mr_recipient_addresses(self):
        """The addresses this mail goes to (To, Cc and recipient partners), normalized."""
        self.ensure_one()
        addresses = tools.email_normalize_all(self.email_to or "")
        addresses += tools.email_normalize_all(self.email_cc or "")
        addresses += [p.email_normalized for p in self.recipient_ids if p.email_normalized]
        return list(dict.fromkeys(address.lower() for address in addresses))

    def _mr_delivery_dims(self):
        """The statistics row this mail counts on, besides the day and the recipient
        domain (the Email Marketing bridge adds the campaign)."""
        self.ensure_one()
        server = self.mail_server_id.id or self.env.context.get("mail_reliability_batch_server")
        return {
            "mail_server_id": server or False,
            "sender_domain": delivery_stats.domain_of(tools.email_normalize(self.email_from)),
        }

    def _mr_record_relay_replies(self, replies):
        """Keep the relay's reply and queue id per accepted recipient ({email: reply}),
        on the notifications and on the mail (before stock may delete it)."""
        if not replies:
            return
        first = next(iter(replies.values()))
        self.sudo().write({"smtp_reply": first, "smtp_queue_id": parse_queue_id(first)})
        if not self.is_notification:
            # Only notification mails have notifications (stock's own post-processing
            # searches them on the same condition): no query for the others.
            return
        for notification in self._mr_open_notifications():
            reply = replies.get((notification.res_partner_id.email_normalized or "").lower())
            if reply:
                notification.write({"smtp_reply": reply, "smtp_queue_id": parse_queue_id(reply)})

    def _mr_clear_old_failure(self):
        """A mail sent after a deferral no longer shows the error of an earlier
        attempt in the queue (``retry_count`` keeps the history). Before stock's
        post-processing, which may delete the mail."""
        if self.state == "sent" and (self.failure_type or self.smtp_code or self.smtp_status):
            self.sudo().write({"failure_type": False, "smtp_code": False, "smtp_status": False})

    def _mr_reason(self, verdict):
        return verdict.message or FAILURE_TYPES.get(verdict.failure_type, verdict.failure_type)

    def _mr_failure_vals(self, verdict):
        """The failure fields shared by mail.mail and mail.notification."""
        return {
            "failure_type": verdict.failure_type,
            "failure_reason": self._mr_reason(verdict),
            "smtp_code": verdict.smtp_code or False,
            "smtp_status": verdict.smtp_status or False,
        }

    @api.model
    def _mr_notify_chatter(self, messages):
        """Bus update so open chatters redraw the envelope of these messages."""
        messages = messages.filtered(lambda m: m.is_thread_message())
        if messages:
            messages._notify_message_notification_update()

    def _mr_write_failure(self, verdict, state):
        vals = {"state": state, **self._mr_failure_vals(verdict)}
        if self.exists():
            self.sudo().write(vals)
        notifications = self._mr_open_notifications().filtered(
            lambda n: n.notification_status in ("exception", "bounce")
            and n.failure_type == verdict.failure_type
        )
        notifications.sudo().write(
            {"smtp_code": verdict.smtp_code, "smtp_status": verdict.smtp_status}
        )

    def _mr_open_notifications(self):
        return (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("notification_type", "=", "email"),
                    ("mail_mail_id", "in", self.ids),
                    ("notification_status", "not in", ("sent", "canceled")),
                ]
            )
        )

    def _mr_forget_delivered(self, success_pids, delivered):
        """Before another attempt: whoever already got the mail must not get it twice.

        Marks the delivered partners' notifications sent and returns the still-pending
        notifications plus the ``write`` values that drop delivered recipients.
        """
        notifications = self._mr_open_notifications()
        success_ids = {getattr(pid, "id", pid) for pid in success_pids or []}
        done = notifications.filtered(lambda n: n.res_partner_id.id in success_ids)
        done.write({"notification_status": "sent", "failure_type": False, "failure_reason": False})
        vals = {}
        if success_ids:
            vals["recipient_ids"] = [(3, pid) for pid in success_ids]
        if delivered and self.email_to:
            emails = tools.email_split_and_format(self.email_to)
            remaining = [
                email
                for email in emails
                if (tools.email_normalize(email) or email).lower() not in delivered
            ]
            if len(remaining) != len(emails):
                vals["email_to"] = ", ".join(remaining)
        return notifications - done, vals

    def _mr_hold_for_quota(self, verdict, success_pids, delivered):
        """The daily limit is reached: failed (red envelope) until the reset requeues it."""
        pending, vals = self._mr_forget_delivered(success_pids, delivered)
        vals.update(
            {
                "state": "exception",
                "scheduled_date": verdict.resume_at,
                **self._mr_failure_vals(verdict),
            }
        )
        self.sudo().write(vals)
        pending.write({"notification_status": "exception", **self._mr_failure_vals(verdict)})
        self._mr_notify_chatter(pending.mail_message_id)

    def _mr_requeue_after_quota(self):
        """The limit has reset: back to the queue, envelope white again, no double count."""
        self.write({"state": "outgoing", "scheduled_date": False, "failure_type": False})
        notifications = (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("mail_mail_id", "in", self.ids),
                    ("notification_status", "=", "exception"),
                    ("failure_type", "=", QUOTA),
                ]
            )
        )
        notifications.write(
            {"notification_status": "ready", "failure_type": False, "failure_reason": False}
        )
        self._mr_notify_chatter(notifications.mail_message_id)
        self._mr_trigger_queue(fields.Datetime.now())

    def _mr_defer(self, verdict, success_pids, delivered):
        """Postfix semantics: keep the mail outgoing and try again later, or give up."""
        params = self.env["ir.config_parameter"].sudo()
        delays, max_hours = self._mr_retry_settings(params)
        now = fields.Datetime.now()
        first = self.first_attempt_date or now
        next_attempt = retry_policy.next_attempt(
            first, now, self.retry_count, delays=delays, max_hours=max_hours
        )
        pending, vals = self._mr_forget_delivered(success_pids, delivered)
        if next_attempt is None:
            attempts = self.retry_count + 1
            gave_up = SmtpVerdict(
                failure_type=verdict.failure_type,
                smtp_code=verdict.smtp_code,
                smtp_status="4.4.7",
                permanent=True,
                explanation=verdict.explanation,
                message=self.env._(
                    "Gave up after %(attempts)s attempts over %(hours)s hours "
                    "(retry window, 4.4.7). Last error: %(error)s",
                    attempts=attempts,
                    hours=round(max_hours, 1),
                    error=verdict.message,
                ),
            )
            self.sudo().write(vals)
            super()._postprocess_sent_message(
                success_pids, failure_reason=gave_up.message, failure_type=gave_up.failure_type
            )
            self._mr_write_failure(gave_up, state="exception")
            _logger.info("mail.mail %s: %s", self.id, gave_up.message)
            return True
        vals.update(
            {
                "state": "outgoing",
                "scheduled_date": next_attempt,
                "retry_count": self.retry_count + 1,
                "first_attempt_date": first,
                **self._mr_failure_vals(verdict),
            }
        )
        self.sudo().write(vals)
        # Deferred is not failed: the envelope must not turn red.
        pending.write({"notification_status": "process", **self._mr_failure_vals(verdict)})
        self._mr_notify_chatter(pending.mail_message_id)
        _logger.info(
            "mail.mail %s deferred (attempt %s, %s): next attempt at %s",
            self.id,
            self.retry_count,
            verdict.smtp_status or verdict.smtp_code or verdict.failure_type,
            next_attempt,
        )
        return True

    def _mr_record_refusals(self, refused, notifications):
        """Fail only the recipients the server refused for good, and never retry them."""
        failed_messages = self.env["mail.message"]
        refused_partners = self.env["res.partner"]
        for notification in notifications:
            verdict = refused.get((notification.res_partner_id.email_normalized or "").lower())
            if not verdict:
                continue
            refused_partners |= notification.res_partner_id
            notification.sudo().write(
                {"notification_status": "exception", **self._mr_failure_vals(verdict)}
            )
            failed_messages |= notification.mail_message_id
        if self.exists():
            first = next(iter(refused.values()))
            vals = {
                "failure_type": first.failure_type,
                "failure_reason": "\n".join(self._mr_reason(v) for v in refused.values()),
                "smtp_code": first.smtp_code,
                "smtp_status": first.smtp_status,
            }
            if self.state == "outgoing":  # deferred for others: do not retry these
                vals["recipient_ids"] = [(3, pid) for pid in refused_partners.ids]
                if self.email_to:
                    vals["email_to"] = ", ".join(
                        email
                        for email in tools.email_split_and_format(self.email_to)
                        if (tools.email_normalize(email) or "").lower() not in refused
                    )
            self.sudo().write(vals)
        self._mr_notify_chatter(failed_messages)
        _logger.info("mail.mail %s: recipients refused: %s", self.id, ", ".join(refused))

    @api.model
    def _mr_retry_settings(self, params=None):
        """Read the retry settings; nonsense values fall back to defaults, loudly."""
        params = params or self.env["ir.config_parameter"].sudo()
        try:
            delays = retry_policy.parse_delays(params.get_param("mail_reliability.retry_delays"))
        except ValueError as exc:
            _logger.warning("mail_reliability.retry_delays ignored: %s", exc)
            delays = retry_policy.DEFAULT_DELAYS
        try:
            max_hours = retry_policy.parse_max_hours(
                params.get_param("mail_reliability.retry_max_hours")
            )
        except ValueError as exc:
            _logger.warning("mail_reliability.retry_max_hours ignored: %s", exc)
            max_hours = retry_policy.DEFAULT_MAX_HOURS
        return delays, max_hours

    # ------------------------------------------------------------------
    # Cron triggers
    # ------------------------------------------------------------------
    def _mr_trigger_queue(self, at):
        self.env["ir.cron"]._mr_trigger(QUEUE_CRON_XMLID, at)

    def _mr_trigger_queue_at_schedule(self):
        """Wake the queue when mail is scheduled for later (not for mail due now)."""
        now = fields.Datetime.now()
        dates = {
            mail.scheduled_date
            for mail in self
            if mail.state == "outgoing"
            and isinstance(mail.scheduled_date, datetime)
            and mail.scheduled_date > now
        }
        for at in sorted(dates):
            self.env["ir.cron"]._mr_trigger(QUEUE_CRON_XMLID, at)
