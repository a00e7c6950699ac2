# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The send run: what one sending batch shares, from ``mail.mail.send()`` to the outcome.

Follow one batch through the code:

1. ``mail.mail.send()`` opens the run: ``with send_run.opened(env) as run``.
   ``run.connect_verdict`` is cleared; stock ``send()`` connects per server.
2. ``ir.mail_server.connect()``: a failure to connect is classified and kept in
   ``run.connect_verdict`` (stock only passes ``failure_type="mail_smtp"`` on).
3. ``mail.mail._send()`` (joins the same run) locks each mail, then calls stock
   ``_send`` for it with ``mail_reliability_marketing`` in the context
   (:data:`MARKETING_CONTEXT_KEY`); ``ir.mail_server`` inherits that context.
4. ``ir.mail_server.send_email()`` takes a daily-limit unit
   (``mail.quota.usage._reserve``: from the run's leases, ``run.leases``), sends,
   and records what the server said in ``run.outcome(message_id)``: a verdict
   for the whole email, the recipients refused one by one, those delivered, and
   the relay's reply.
5. Stock calls ``mail.mail._postprocess_sent_message()``, which takes the
   mail's :class:`Outcome` (``run.pop_outcome``) and the connect verdict, and
   ``mail.mail._mr_apply_outcome()`` turns them into a state: sent, deferred,
   held by the daily limit or failed, per recipient. Chatter (bus) updates of
   a failed batch are collected in ``run.bus_updates`` and sent once per
   message (``mail.message._mr_batch_notification_updates``).
6. When the run ends, the closers registered on it run: the quota ledger gives
   back the units its leases did not use and releases its connection
   (``mail.quota.usage._close_send_run``).

Why a ``contextvars.ContextVar`` (see :class:`CursorLocal`) and not a key on
the cursor's cache or a global: the run is bound to the cursor that opened it and to
the ``with`` block, visibly. Each thread (HTTP worker, cron thread, a test's
rival sender) starts with an empty context, so two workers never see each
other's run; a second cursor in the same thread (``registry.cursor()``) sees
none of the first cursor's run; a nested ``send()`` on the same cursor (e.g.
"Send Now" from inside a batch) joins the run already open; and when the block
ends the run is gone, whatever happened inside.

Plain Python, no Odoo import.
"""

import contextlib
import contextvars
import dataclasses
import logging

_logger = logging.getLogger(__name__)

# Context key set by mail.mail._send for each mail (read by ir.mail_server.send_email):
# bulk marketing mail yields to the daily limit's transactional reserve.
MARKETING_CONTEXT_KEY = "mail_reliability_marketing"


class CursorLocal:
    """A value bound to one database cursor for the length of a ``with`` block.

    The bindings are a stack held in a :class:`contextvars.ContextVar`: private
    to the thread (or task) that made them, innermost first, and undone when
    their block ends even if it raised.
    """

    def __init__(self, name):
        self._stack = contextvars.ContextVar(name, default=())

    def get(self, cr):
        """The innermost value bound to ``cr`` in this thread, or None."""
        for bound_cr, value in reversed(self._stack.get()):
            if bound_cr is cr:
                return value
        return None

    def push(self, cr, value):
        """Bind ``value`` to ``cr``; returns the token :meth:`pop` takes."""
        return self._stack.set((*self._stack.get(), (cr, value)))

    def pop(self, token):
        """Undo the :meth:`push` that returned ``token``."""
        self._stack.reset(token)

    @contextlib.contextmanager
    def bound(self, cr, value):
        token = self.push(cr, value)
        try:
            yield value
        finally:
            self.pop(token)


@dataclasses.dataclass(eq=False)
class Outcome:
    """What the SMTP server said about one email (keyed by its Message-Id)."""

    verdict: object = None  # SmtpVerdict for the whole email, if it failed
    refused: dict = dataclasses.field(default_factory=dict)  # {address: SmtpVerdict}
    delivered: set = dataclasses.field(default_factory=set)  # addresses accepted
    # {address: reply}: the relay's reply to DATA ("250 2.0.0 Ok: queued as 4F2A1B3C9D")
    replies: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(eq=False)
class SendRun:
    """The state one sending batch shares between models; see the module docstring."""

    # The caller commits each mail right after sending it (the queue cron).
    each_mail_committed: bool = False
    # ir.mail_server -> mail.mail
    outcomes: dict = dataclasses.field(default_factory=dict)  # {Message-Id: Outcome}
    connect_verdict: object = None  # SmtpVerdict of the last failed connect()
    # mail.quota.usage: the daily limit
    ledger_cursor: object = None  # the ledger's own autocommit connection, once opened
    leases: dict = dataclasses.field(default_factory=dict)  # {Reservation: Lease}
    expected: int = 1  # emails still to come in this batch (sizes the next lease)
    # a ledger statement ran into its lock timeout: the rest of the batch waits queued
    ledger_busy: bool = False
    quota_settings: tuple | None = None  # (daily_limit, timezone, reserve), read once
    server_quota: dict = dataclasses.field(default_factory=dict)  # {server id: settings}
    servers: dict = dataclasses.field(default_factory=dict)  # {server id: ir.mail_server}
    # normalized addresses of the internal users notified by email, read once
    internal_recipients: frozenset | None = None
    # ir.mail_server: each server's pace (tools/pacing.py), read once per run
    pacing: dict = dataclasses.field(default_factory=dict)  # {server id: Pace}
    # ir.mail_server: default bounce / from addresses per user and companies
    defaults: dict = dataclasses.field(default_factory=dict)
    # mail.mail (Email Marketing bridge): a campaign's attachment contents, each
    # base64-encoded once per run ({content: SharedContent}, its tools/attachment_parts.py)
    shared_attachments: dict = dataclasses.field(default_factory=dict)
    # mail.message: ids whose chatter update waits for the end of a failed batch
    # ({id: None}, in the order they came); None: not collecting
    bus_updates: dict | None = None
    # mail.delivery.stats: counts of a batch that commits each mail, written by the
    # stats model every few mails and when the run ends (see _mr_count_in_run)
    delivery_counts: object = None  # DeliveryCounts, once something was counted
    delivery_pending: int = 0  # mails counted since the last write
    _closers: dict = dataclasses.field(default_factory=dict, repr=False)  # {key: callable}

    def outcome(self, message_id):
        """The :class:`Outcome` of the email ``message_id``, created on first use."""
        return self.outcomes.setdefault((message_id or "").strip(), Outcome())

    def pop_outcome(self, message_id):
        """Take the :class:`Outcome` of ``message_id`` (None if nothing was recorded)."""
        return self.outcomes.pop((message_id or "").strip(), None)

    def on_close(self, key, closer):
        """Call ``closer()`` when the run ends, once per ``key`` (the first one
        registered under it); the last key registered is closed first."""
        if self._closers is not None:  # None: the run is closing
            self._closers.setdefault(key, closer)

    def _close(self):
        closers, self._closers = self._closers, None
        for closer in reversed(closers.values()):
            try:
                closer()
            except Exception:  # never hide what made the batch end, nor skip a closer
                _logger.exception("send run: closing step %r failed", closer)


_RUNS = CursorLocal("mail_reliability_send_run")


def current(env):
    """THE accessor: the send run open on ``env.cr`` in this thread, or None."""
    return _RUNS.get(env.cr)


@contextlib.contextmanager
def opened(env, each_mail_committed=False):
    """Open a send run on ``env.cr``, or join the one already open there."""
    run = current(env)
    if run is not None:
        yield run
        return
    with _RUNS.bound(env.cr, SendRun(each_mail_committed=each_mail_committed)) as run:
        try:
            yield run
        finally:
            run._close()
