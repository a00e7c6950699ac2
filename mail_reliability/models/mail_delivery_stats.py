# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Delivery statistics: counters per day x outgoing server x sending domain x
recipient domain.

Sent mail is usually deleted right after sending, so the statistics are not a
query over ``mail.mail``: each outcome adds to a counter when it happens, and a
bounce reported days later by a DSN adds to the row of the day it arrived. The
Email Marketing bridge adds the campaign as a further dimension
(``_mr_dimensions``).

Counts are summed in memory (``tools.delivery_stats.DeliveryCounts``) and
written by one ``INSERT ... ON CONFLICT DO UPDATE`` (``_mr_write_counts``) in
a short READ COMMITTED transaction of their own (``_mr_write_counts_now``):
concurrent senders on several Odoo servers add to the same row safely, and the
mail's own transaction never waits on, or conflicts over, a statistics row.
"""

import logging
import threading

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.delivery_stats import COUNTERS, DeliveryCounts

_logger = logging.getLogger(__name__)

RUN_FLUSH_MAILS = 50  # queue cron: counts written every 50 mails and at the end
AFTER_COMMIT_KEY = "mail_reliability.delivery_counts"


class MailDeliveryStats(models.Model):
    _name = "mail.delivery.stats"
    _description = "Email Delivery Statistics"
    _order = "date desc, id desc"
    _rec_name = "date"

    key = fields.Char(required=True, readonly=True)
    date = fields.Date(required=True, readonly=True, index=True)
    mail_server_id = fields.Many2one(
        "ir.mail_server", "Outgoing Server", readonly=True, ondelete="set null", index=True
    )
    sender_domain = fields.Char(
        "Sending Domain", readonly=True, index=True, help="The domain of the From address."
    )
    recipient_domain = fields.Char(readonly=True, index=True)
    attempted = fields.Integer(readonly=True, help="Recipients handed to an SMTP server.")
    sent = fields.Integer(readonly=True, help="Recipients the SMTP server accepted.")
    hard_bounced = fields.Integer(
        readonly=True,
        help="Recipients refused for good: at sending time, or reported later by a bounce.",
    )
    soft_bounced = fields.Integer(
        readonly=True,
        help="Temporary problems reported later by a bounce (mailbox full, delivery delayed).",
    )
    deferred = fields.Integer(
        readonly=True, help="Temporary failures at sending time; Odoo retries these."
    )
    failed = fields.Integer(
        readonly=True,
        help="Permanent failures at sending time that are not about one recipient "
        "(sender refused, policy block, message too large, connection).",
    )

    _sql_constraints = [
        ("key_unique", "UNIQUE(key)", "One statistics row per day, server and domain."),
    ]

    @api.model
    def _mr_dimensions(self):
        """The columns that identify a row besides the date (the bridge adds ``mailing_id``)."""
        return ("mail_server_id", "sender_domain", "recipient_domain")

    @api.model
    def _mr_write_counts(self, counts, day=None):
        """Add ``counts`` (a ``DeliveryCounts``) to the rows of ``day`` (default: today,
        UTC), in one statement on the current transaction."""
        rows = counts.rows() if counts else []
        if not rows:
            return
        day = day or fields.Date.today()
        dims = self._mr_dimensions()
        columns = ["key", "date", *dims, *COUNTERS, "create_uid", "write_uid"]
        merged = {}  # one VALUES row per key: ON CONFLICT may touch a row only once
        for row_dims, row_counts in rows:
            row = tuple(row_dims.get(name) or None for name in dims)
            key = "|".join([str(day), *(str(value or "") for value in row)])
            total = merged.setdefault(key, (row, dict.fromkeys(COUNTERS, 0)))[1]
            for name in COUNTERS:
                total[name] += row_counts[name]
        values = []
        for key, (row, row_counts) in sorted(merged.items()):
            values.append(
                SQL(
                    "(%s, now() at time zone 'UTC', now() at time zone 'UTC')",
                    SQL(", ").join(
                        SQL("%s", value)
                        for value in (
                            key,
                            day,
                            *row,
                            *(row_counts[name] for name in COUNTERS),
                            self.env.uid,
                            self.env.uid,
                        )
                    ),
                )
            )
        self.env.cr.execute(
            SQL(
                "INSERT INTO mail_delivery_stats (%s, create_date, write_date) VALUES %s"
                " ON CONFLICT (key) DO UPDATE SET %s, write_date = EXCLUDED.write_date",
                SQL(", ").join(SQL.identifier(name) for name in columns),
                SQL(", ").join(values),
                SQL(", ").join(
                    SQL("%s = mail_delivery_stats.%s + EXCLUDED.%s", *[SQL.identifier(n)] * 3)
                    for n in COUNTERS
                ),
            )
        )
        self.invalidate_model()

    @api.model
    def _mr_write_counts_now(self, counts):
        """Write ``counts`` in a short transaction of their own, READ COMMITTED:
        senders on several workers and servers add to the same rows without
        serialization failures (rows are written in key order: no deadlock).
        In a test thread, a savepoint of the test's transaction."""
        if not counts:
            return
        registry = self.env.registry
        if getattr(threading.current_thread(), "testing", False) and not registry.in_test_mode():
            with self.env.cr.savepoint(flush=False):
                self._mr_write_counts(counts)
            return
        with registry.cursor() as cr:
            if not registry.in_test_mode():
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            env = api.Environment(cr, self.env.uid, dict(self.env.context))
            env["mail.delivery.stats"].sudo()._mr_write_counts(counts)

    @api.model
    def _mr_count_in_run(self, run, counted, dims):
        """Count one mail of a send run that commits each mail (the queue cron):
        summed on the run, written every ``RUN_FLUSH_MAILS`` mails and when the
        run ends. A killed process loses at most the counts of those few mails."""
        if run.delivery_counts is None:
            run.delivery_counts = DeliveryCounts()
            run.on_close(self._name, lambda: self._mr_flush_run(run))
        for counter, addresses in counted:
            run.delivery_counts.add(addresses, counter, **self._mr_clean_dims(dims))
        run.delivery_pending += 1
        if run.delivery_pending >= RUN_FLUSH_MAILS:
            self._mr_flush_run(run)

    @api.model
    def _mr_flush_run(self, run):
        counts, run.delivery_counts = run.delivery_counts, DeliveryCounts()
        run.delivery_pending = 0
        try:
            self._mr_write_counts_now(counts)
        except Exception:  # the mails are sent; never fail the batch for a count
            _logger.exception("Delivery statistics not recorded: %s", counts.rows())

    @api.model
    def _mr_count_after_commit(self, recipients, counter, **dims):
        """Count an outcome outside a queue batch (a chatter post, a bounce that
        arrives later): written in its own short transaction once the current one
        commits, so the event and its count stand or fall together and the
        transaction that handles the event runs no extra statement."""
        data = self.env.cr.postcommit.data
        if AFTER_COMMIT_KEY not in data:
            data[AFTER_COMMIT_KEY] = DeliveryCounts()
            Stats = self.sudo()

            def write_counts():
                counts = data.pop(AFTER_COMMIT_KEY, None)
                try:
                    Stats._mr_write_counts_now(counts)
                except Exception:  # the event is committed; never fail it for a count
                    _logger.exception("Delivery statistics not recorded: %s", counts.rows())

            self.env.cr.postcommit.add(write_counts)
        data[AFTER_COMMIT_KEY].add(recipients, counter, **self._mr_clean_dims(dims))

    @api.model
    def _mr_clean_dims(self, dims):
        """Every dimension but the date and the recipient domain, as ids or False
        (unknown names dropped): equal rows get equal keys."""
        return {
            name: getattr(dims.get(name), "id", dims.get(name)) or False
            for name in self._mr_dimensions()
            if name != "recipient_domain"
        }
