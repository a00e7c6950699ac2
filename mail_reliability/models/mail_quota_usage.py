# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The daily sending quota ledger: one row per quota day and scope.

Units are taken from the day's row before an email is handed to SMTP, under
the row's lock in a short READ COMMITTED transaction of their own, and never
past the limit: two workers at the limit edge queue on the lock and the second
one reads what the first committed. Inside ``mail.mail.send()`` a worker takes
a lease of several units at once (at most what its batch will send and half of
what is left), uses it email by email without touching the database, and gives
back what it did not use when the batch ends; an email the server did not
accept gives its unit back. The cost is O(1) per email, no ``mail.mail`` row is
counted. A worker killed mid-batch leaves its unused lease counted for the day
(never more than ``LEASE_MAX`` units): the error is on the safe side.
"""

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.modules import module as odoo_module

from ..tools import quota_window

_logger = logging.getLogger(__name__)

DATABASE_SCOPE = "database"
BATCH_KEY = "mail_reliability.sending_batch"
# Most units one lease may take: bounds what a crashed worker can leave counted.
LEASE_MAX = 100


@dataclass(frozen=True)
class Reservation:
    """A unit of one scope's quota day, reserved against ``cap``."""

    scope: str
    day: object
    cap: int


@dataclass(frozen=True)
class QuotaRefusal:
    scope: str
    used: int
    limit: int
    reset: object  # naive UTC datetime
    server_name: str | None = None


class MailQuotaUsage(models.Model):
    _name = "mail.quota.usage"
    _description = "Daily email quota usage"
    _order = "day desc, scope"
    _rec_name = "scope_name"

    day = fields.Date(required=True, readonly=True, index=True, help="Quota day (local date)")
    scope = fields.Char(
        "Scope Key", required=True, readonly=True, help="'database' or 'server_<id>'"
    )
    mail_server_id = fields.Many2one("ir.mail_server", readonly=True, ondelete="cascade")
    scope_name = fields.Char("Scope", compute="_compute_scope_name")
    used = fields.Integer(readonly=True, help="Emails accepted by SMTP servers this day")
    limit_value = fields.Integer("Limit", readonly=True, help="Limit in force at the last send")
    refused = fields.Integer(
        "Held Back", readonly=True, help="Sending attempts held back because the limit was reached"
    )
    reset_at = fields.Datetime("Resets At", readonly=True)

    _sql_constraints = [
        ("day_scope_unique", "UNIQUE(day, scope)", "One ledger row per quota day and scope."),
        ("used_positive", "CHECK(used >= 0)", "Usage cannot be negative."),
    ]

    @api.depends("scope", "mail_server_id")
    def _compute_scope_name(self):
        for row in self:
            row.scope_name = (
                _("Database")
                if row.scope == DATABASE_SCOPE
                else _("Server: %(name)s", name=row.mail_server_id.name or row.scope)
            )

    # ------------------------------------------------------------------
    # Settings
    # ------------------------------------------------------------------
    @api.model
    def _settings(self):
        """(daily_limit, timezone, reserve_percent); nonsense values fall back, loudly.

        Read once per sending batch.
        """
        batch = self.env.cr.cache.get(BATCH_KEY)
        if batch is not None:
            if batch["settings"] is None:
                batch["settings"] = self._read_settings()
            return batch["settings"]
        return self._read_settings()

    @api.model
    def _read_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        values = []
        for key, parser in (
            ("mail_reliability.daily_limit", quota_window.parse_limit),
            ("mail_reliability.quota_timezone", quota_window.parse_timezone),
            ("mail_reliability.transactional_reserve", quota_window.parse_reserve),
        ):
            try:
                values.append(parser(params.get_param(key)))
            except ValueError as exc:
                _logger.warning("%s ignored: %s", key, exc)
                values.append(parser(None))
        return tuple(values)

    @api.model
    def _current_day(self):
        _limit, tz_name, _reserve = self._settings()
        return quota_window.quota_day(fields.Datetime.now(), tz_name)

    # ------------------------------------------------------------------
    # Reservation
    # ------------------------------------------------------------------
    @contextlib.contextmanager
    def _ledger_transaction(self):
        """One short READ COMMITTED transaction on the ledger, committed at once.

        In a test thread it is a savepoint in the test's own transaction, so tests
        stay isolated. Inside ``mail.mail.send()`` it runs on the batch's own
        connection; otherwise on a cursor of its own.
        """
        if self._ledger_in_test_transaction():
            with self.env.cr.savepoint(flush=False):
                yield self.env.cr
            return
        batch = self.env.cr.cache.get(BATCH_KEY)
        if batch is None:
            with self.env.registry.cursor() as cr:
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                yield cr
            return
        if batch["cursor"] is None:
            cr = batch["cursor"] = self.env.registry.cursor()
            cr.connection.autocommit = True  # transactions are opened explicitly below
        cr = batch["cursor"]
        cr.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            yield cr
        except BaseException:
            cr.execute("ROLLBACK")
            raise
        cr.execute("COMMIT")

    def _ledger_in_test_transaction(self):
        return bool(
            getattr(threading.current_thread(), "testing", False)
            or self.env.registry.in_test_mode()
        )

    @api.model
    @contextlib.contextmanager
    def _sending_batch(self):
        """Scope of one ``mail.mail.send()``.

        Within it the quota settings are read once, reservations are taken as
        leases of several units (one ledger transaction per lease instead of one
        per email) and the units not used are given back when the batch ends.
        Nested calls share the outer batch.
        """
        cache = self.env.cr.cache
        if BATCH_KEY in cache:
            yield
            return
        batch = cache[BATCH_KEY] = {
            "cursor": None,
            "servers": {},
            "existing": {},
            "settings": None,
            "leases": {},
            "expected": 1,
            "defaults": {},  # ir.mail_server default bounce / from addresses
        }
        try:
            yield
        finally:
            try:
                self._return_leases(batch["leases"])
            except Exception:
                # Never hide what made the batch end; the units stay counted (safe side).
                _logger.exception("unused daily-limit units could not be given back")
            finally:
                cache.pop(BATCH_KEY, None)
                cr = batch["cursor"]
                if cr is not None:
                    cr.connection.autocommit = False
                    cr.close()

    @api.model
    def _expect_emails(self, count):
        """Tell the current batch how many emails are still to come (lease sizing)."""
        batch = self.env.cr.cache.get(BATCH_KEY)
        if batch is not None:
            batch["expected"] = max(1, count)

    @api.model
    def _server_quota_settings(self, server):
        """(use_database_quota, daily_limit, name) of ``server``, cached for the batch."""
        batch = self.env.cr.cache.get(BATCH_KEY)
        servers = batch["servers"] if batch is not None else {}
        if server.id not in servers:
            servers[server.id] = (server.use_database_quota, server.daily_limit, server.name)
        return servers[server.id]

    @api.model
    def _scopes_for(self, server, marketing):
        """[(scope, server, cap, limit)] that one email through ``server`` must fit in."""
        db_limit, _tz, reserve = self._settings()
        use_database_quota, server_limit, _name = (
            self._server_quota_settings(server) if server else (True, 0, None)
        )
        scopes = []
        if db_limit and use_database_quota:
            cap = quota_window.effective_limit(db_limit, reserve, marketing)
            scopes.append((DATABASE_SCOPE, None, cap, db_limit))
        if server_limit > 0:
            cap = quota_window.effective_limit(server_limit, reserve, marketing)
            scopes.append((f"server_{server.id}", server, cap, server_limit))
        return scopes

    @api.model
    def _reserve(self, server=None, marketing=False):
        """Reserve one unit in every scope, or none.

        Inside a sending batch the unit comes from the batch's lease when it has
        one left; otherwise a new lease is taken from the ledger (see
        :meth:`_take_units`).

        :return: ``(reservations, refusal)``: a list to pass to :meth:`_release`, and a
            :class:`QuotaRefusal` when a limit is reached (then nothing stays reserved).
        """
        if odoo_module.current_test:
            return [], None  # test mode: nothing is handed to SMTP, nothing is counted
        scopes = self._scopes_for(server, marketing)
        if not scopes:
            return [], None
        qday = self._current_day()
        batch = self.env.cr.cache.get(BATCH_KEY)
        leases = batch["leases"] if batch is not None else None
        reservations = []
        for scope, scope_server, cap, limit in scopes:
            reservation = Reservation(scope, qday.day, cap)
            if leases and leases.get(reservation, 0) > 0:
                leases[reservation] -= 1
                reservations.append(reservation)
                continue
            want = min(batch["expected"], LEASE_MAX) if batch is not None else 1
            granted, used = self._take_units(qday, scope, scope_server, cap, limit, want)
            if granted:
                if leases is not None:
                    leases[reservation] = leases.get(reservation, 0) + granted - 1
                reservations.append(reservation)
                continue
            self._release(reservations)
            return [], QuotaRefusal(
                scope=scope,
                used=used,
                limit=cap if cap < limit else limit,
                reset=qday.reset,
                server_name=(
                    self._server_quota_settings(scope_server)[2] if scope_server else None
                ),
            )
        return reservations, None

    @api.model
    def _take_units(self, qday, scope, scope_server, cap, limit, want=1):
        """Take up to ``want`` units of the day's row in one transaction.

        The row is locked (``SELECT ... FOR UPDATE`` in READ COMMITTED, so a worker
        waiting for the lock reads the count its rival committed) and never taken
        past ``cap``. A lease is at most half of what is left, so other workers
        always find units while this one still holds some; near the edge it is one
        unit at a time.

        :return: ``(granted, used)``: the units granted (0 when the limit is
            reached, then the attempt is counted as held back) and the count used.
        """
        with self._ledger_transaction() as cr:
            for _attempt in range(2):
                cr.execute(
                    "SELECT used FROM mail_quota_usage WHERE day = %s AND scope = %s FOR UPDATE",
                    [qday.day, scope],
                )
                row = cr.fetchone()
                if row:
                    break
                self._ensure_row(cr, qday, scope, scope_server, limit)
            else:
                raise RuntimeError(
                    f"quota ledger row for {scope} on {qday.day} could not be created"
                )
            used = row[0]
            granted = quota_window.lease_size(used, cap, want)
            if granted:
                cr.execute(
                    """UPDATE mail_quota_usage
                          SET used = used + %s, limit_value = %s,
                              write_date = now() at time zone 'UTC'
                        WHERE day = %s AND scope = %s""",
                    [granted, limit, qday.day, scope],
                )
            else:
                cr.execute(
                    """UPDATE mail_quota_usage SET refused = refused + 1, limit_value = %s
                        WHERE day = %s AND scope = %s""",
                    [limit, qday.day, scope],
                )
        return granted, used

    @api.model
    def _ensure_row(self, cr, qday, scope, scope_server, limit):
        cr.execute(
            """INSERT INTO mail_quota_usage
                      (day, scope, mail_server_id, used, refused, limit_value, reset_at,
                       create_uid, write_uid, create_date, write_date)
               VALUES (%s, %s, %s, 0, 0, %s, %s, %s, %s, now() at time zone 'UTC',
                       now() at time zone 'UTC')
          ON CONFLICT (day, scope) DO NOTHING""",
            [
                qday.day,
                scope,
                scope_server and scope_server.id,
                limit,
                qday.reset,
                self.env.uid,
                self.env.uid,
            ],
        )

    @api.model
    def _release(self, reservations):
        """Give back units whose email the server did not accept.

        Inside a sending batch they go back to the batch's lease (the next email
        uses them; the batch returns what is left at its end).
        """
        if not reservations:
            return
        batch = self.env.cr.cache.get(BATCH_KEY)
        if batch is not None:
            for reservation in reservations:
                batch["leases"][reservation] = batch["leases"].get(reservation, 0) + 1
            return
        self._return_units({reservation: 1 for reservation in reservations})

    @api.model
    def _return_leases(self, leases):
        unused = {reservation: units for reservation, units in leases.items() if units > 0}
        leases.clear()
        if unused:
            self._return_units(unused)

    @api.model
    def _return_units(self, units_by_reservation):
        with self._ledger_transaction() as cr:
            for reservation, units in units_by_reservation.items():
                cr.execute(
                    """UPDATE mail_quota_usage SET used = GREATEST(used - %s, 0)
                        WHERE day = %s AND scope = %s""",
                    [units, reservation.day, reservation.scope],
                )

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------
    @api.model
    def _usage_today(self, server=None):
        """(used, limit, reset) of the database scope, or of ``server``'s own scope."""
        qday = self._current_day()
        scope = f"server_{server.id}" if server else DATABASE_SCOPE
        self.env.cr.execute(
            "SELECT used FROM mail_quota_usage WHERE day = %s AND scope = %s", [qday.day, scope]
        )
        row = self.env.cr.fetchone()
        limit = server.daily_limit if server else self._settings()[0]
        return (row[0] if row else 0), limit, qday.reset

    @api.model
    def _health_summary(self, days=7):
        """For the Email Health dashboard: today's usage and the days the limit was hit."""
        used, limit, reset = self._usage_today()
        since = self._current_day().day - timedelta(days=days - 1)
        rows = self.search([("scope", "=", DATABASE_SCOPE), ("day", ">=", since)], order="day")
        hit = [row for row in rows if row.refused]
        details = [
            f"{row.day}: {row.used}/{row.limit_value or '-'}"
            + (_(" (limit reached, %(n)s held back)", n=row.refused) if row.refused else "")
            for row in rows
        ]
        if not limit:
            return {
                "status": "ok",
                "finding": _("No database daily limit (%(used)s sent today).", used=used),
                "fix": "",
                "details": details,
            }
        finding = _(
            "Today: %(used)s/%(limit)s emails, resets at %(reset)s UTC.",
            used=used,
            limit=limit,
            reset=reset,
        )
        if hit:
            return {
                "status": "warning",
                "finding": finding
                + " "
                + _("Limit reached on %(n)s of the last %(d)s days.", n=len(hit), d=days),
                "fix": _(
                    "Raise the daily limit in Settings > Emails (use 'Facts for a limit "
                    "increase' when asking your provider), or send bulk mail through an "
                    "external server that does not count toward the database limit."
                ),
                "details": details,
            }
        return {"status": "ok", "finding": finding, "fix": "", "details": details}

    # ------------------------------------------------------------------
    # Cron: requeue mail held back by the limit
    # ------------------------------------------------------------------
    @api.model
    def _cron_requeue_quota_held(self, batch_size=1000):
        """At the reset, put mail held back by the limit back in the queue, oldest first."""
        Mail = self.env["mail.mail"].sudo()
        domain = [
            ("state", "=", "exception"),
            ("failure_type", "=", "mail_quota"),
            "|",
            ("scheduled_date", "=", False),
            ("scheduled_date", "<=", fields.Datetime.now()),
        ]
        mails = Mail.search(domain, order="create_date, id", limit=batch_size)
        if not mails:
            return 0
        mails._mr_requeue_after_quota()
        remaining = Mail.search_count(domain)
        self.env["ir.cron"]._notify_progress(done=len(mails), remaining=remaining)
        _logger.info("daily limit reset: %s email(s) put back in the queue", len(mails))
        return len(mails)
