# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The daily sending quota ledger: one row per quota day and scope.

Units are taken from the day's row before an email is handed to SMTP, under
the row's lock in a short READ COMMITTED transaction of their own, and never
past the limit: two workers at the limit edge queue on the lock and the second
one reads what the first committed. Inside ``mail.mail.send()`` a worker takes
a lease of several units at once (at most what its batch will send and half of
what is left) and hands them to its emails without a ledger transaction; an
email the server did not accept gives its unit back to the lease, and the batch
gives back what it did not use when it ends. The cost is O(1) per email, no
``mail.mail`` row is counted.

A crash costs no quota. Each lease is a ``mail.quota.lease`` row written on the
batch's own autocommit connection, which holds a session advisory lock on it
for as long as the batch runs. Every email is counted on that row before it is
handed to SMTP (one statement; the unit goes back if the server refuses the
email). When the holder dies (``kill -9``, out of memory, lost connection),
PostgreSQL ends its session and drops the lock; the next worker taking units of
that scope finds the lease unlocked and gives back ``granted - used`` units.
After a crash the ledger therefore counts what the server accepted plus at
most the one email that was in flight, and the limit is never exceeded.
"""

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from odoo import api, fields, models
from odoo.modules import module as odoo_module
from odoo.tools import SQL
from odoo.tools.mail import email_normalize_all

from ..tools import quota_window, send_run
from ..tools.constants import QUOTA

_logger = logging.getLogger(__name__)

DATABASE_SCOPE = "database"
# Most units one lease takes at once: what a batch holds that other workers cannot use.
LEASE_MAX = 100
# First key of the advisory locks on mail_quota_lease rows (the second is the row id).
LEASE_LOCK_SPACE = 0x6D724C51  # "mrLQ"
# Longest wait of a ledger statement for a row lock, in seconds. The transaction that
# sends waits for the ledger: a row it has locked itself would otherwise make both wait
# for ever, unseen by PostgreSQL's deadlock detection.
LEDGER_LOCK_TIMEOUT = 5


@dataclass(frozen=True)
class Reservation:
    """A unit of one scope's quota day, reserved against ``cap``."""

    scope: str
    day: object
    cap: int


@dataclass
class Lease:
    """Units one sending batch took for one :class:`Reservation` key."""

    id: int | None = None  # its mail_quota_lease row, locked by the batch's connection
    free: int = 0  # taken and not handed to an email yet


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
    internal_used = fields.Integer(
        "To Internal Users",
        readonly=True,
        default=0,
        help="Of the emails counted, those whose recipients were all internal users notified "
        "by email: switching them to 'Handle in Odoo' saves these units. A batch still "
        "sending adds its count here when it ends (Email Health and Settings include it).",
    )

    _sql_constraints = [
        ("day_scope_unique", "UNIQUE(day, scope)", "One ledger row per quota day and scope."),
        ("used_positive", "CHECK(used >= 0)", "Usage cannot be negative."),
    ]

    @api.depends("scope", "mail_server_id")
    def _compute_scope_name(self):
        for row in self:
            row.scope_name = (
                self.env._("Database")
                if row.scope == DATABASE_SCOPE
                else self.env._("Server: %(name)s", name=row.mail_server_id.name or row.scope)
            )

    # ------------------------------------------------------------------
    # Settings
    # ------------------------------------------------------------------
    @api.model
    def _settings(self):
        """(daily_limit, timezone, reserve_percent); nonsense values fall back, loudly.

        Read once per send run.
        """
        run = send_run.current(self.env)
        if run is not None:
            if run.quota_settings is None:
                run.quota_settings = self._read_settings()
            return run.quota_settings
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
        stay isolated. Inside a send run it runs on the run's own ledger
        connection; otherwise on a cursor of its own.

        On its own connection a statement waits at most :data:`LEDGER_LOCK_TIMEOUT`
        seconds for a row lock, then raises ``psycopg2.errors.LockNotAvailable``:
        the caller's transaction, waiting for this one, may hold that lock itself.
        """
        if self._ledger_in_test_transaction():
            with self.env.cr.savepoint(flush=False):
                yield self.env.cr
            return
        lock_timeout = f"{LEDGER_LOCK_TIMEOUT}s"
        run = self._send_run()
        if run is None:
            with self.env.registry.cursor() as cr:
                cr.execute(
                    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = %s",
                    [lock_timeout],
                )
                yield cr
            return
        if run.ledger_cursor is None:
            cr = run.ledger_cursor = self.env.registry.cursor()
            cr.connection.autocommit = True  # transactions are opened explicitly below
        cr = run.ledger_cursor
        cr.execute(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = %s", [lock_timeout]
        )
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
    def _send_run(self):
        """The current send run (``tools/send_run.py``), or None outside one.

        Within a run the quota settings are read once, reservations are taken as
        leases of several units (one ledger transaction per lease instead of one
        per email), and :meth:`_close_send_run` gives back the units not used
        when the run ends.
        """
        run = send_run.current(self.env)
        if run is not None:
            run.on_close(self._name, lambda: self._close_send_run(run))
        return run

    def _close_send_run(self, run):
        """At the end of a send run: give back what its leases did not use, then
        unlock them and release the run's ledger connection."""
        try:
            self._return_leases(run.leases)
        except Exception:
            # Never hide what made the batch end. The leases are unlocked below:
            # the next worker taking units gives them back.
            _logger.exception("unused daily-limit units could not be given back")
        finally:
            cr, run.ledger_cursor = run.ledger_cursor, None
            self._close_lease_cursor(cr)

    @staticmethod
    def _close_lease_cursor(cr):
        """Unlock the batch's leases and give its connection back to the pool.

        A connection that cannot be cleaned is closed: its session, and the
        advisory locks it holds, end with it.
        """
        if cr is None:
            return
        connection = cr.connection
        try:
            cr.execute("SELECT pg_advisory_unlock_all()")
            connection.autocommit = False
        except Exception:
            _logger.warning("daily-limit connection closed after an error", exc_info=True)
            connection.close()
        try:
            cr.close()
        except Exception:  # a closed connection: the pool drops it at the next borrow
            _logger.debug("daily-limit cursor already gone", exc_info=True)

    @api.model
    def _expect_emails(self, count):
        """Tell the current send run how many emails are still to come (lease sizing)."""
        run = send_run.current(self.env)
        if run is not None:
            run.expected = max(1, count)

    @api.model
    def _server_quota_settings(self, server):
        """(use_database_quota, daily_limit, name) of ``server``, cached for the send run."""
        run = send_run.current(self.env)
        servers = run.server_quota if run is not None else {}
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
    def _internal_recipient_emails(self):
        """Normalized addresses of the internal users notified by email.

        Read once per send run (one query), so telling an email to internal
        users apart costs no query per email.
        """
        run = send_run.current(self.env)
        if run is not None and run.internal_recipients is not None:
            return run.internal_recipients
        Users = self.env["res.users"].sudo()
        query = Users._search(Users._mr_email_notified_internal_domain())
        self.env.cr.execute(
            SQL(
                """SELECT email_normalized FROM res_partner
                    WHERE id IN %s AND email_normalized IS NOT NULL""",
                query.subselect(SQL.identifier(Users._table, "partner_id")),
            )
        )
        emails = frozenset(email for (email,) in self.env.cr.fetchall())
        if run is not None:
            run.internal_recipients = emails
        return emails

    @api.model
    def _to_internal_users(self, message):
        """Whether every recipient of ``message`` is an internal user notified by
        email: the emails that 'Handle in Odoo' notifications would save.

        The recipients are those stock ``mail.mail`` validated for this email
        (``send_validated_to`` in the context), else the To and Cc headers.
        """
        if message is None:
            return False
        internal = self._internal_recipient_emails()
        if not internal:
            return False
        recipients = self.env.context.get("send_validated_to")
        if not recipients:
            headers = (message.get("To"), message.get("Cc"))
            recipients = email_normalize_all(", ".join(str(h) for h in headers if h))
        return bool(recipients) and all(email in internal for email in recipients)

    @api.model
    def _reserve(self, server=None, marketing=False, message=None):
        """Reserve one unit in every scope, or none.

        Inside a sending batch the unit comes from the batch's lease when it has
        one left; otherwise a new lease is taken from the ledger (see
        :meth:`_take_units`). Either way it is counted on the lease before the
        email goes out.

        The unit of an email whose recipients are all internal users notified by
        email (:meth:`_to_internal_users`) is also counted in ``internal_used``, by
        the same statement.

        :param message: the email (``email.message.Message``), to tell whether it
            goes to internal users only
        :return: ``(reservations, refusal)``: a list to pass to :meth:`_release`
            if the server does not accept the email, and a :class:`QuotaRefusal`
            when a limit is reached (then nothing stays reserved).
        """
        if odoo_module.current_test:
            return [], None  # test mode: nothing is handed to SMTP, nothing is counted
        scopes = self._scopes_for(server, marketing)
        if not scopes:
            return [], None
        qday = self._current_day()
        run = self._send_run()
        leases = run.leases if run is not None else None
        internal = self._to_internal_users(message)
        reservations = []
        for scope, scope_server, cap, limit in scopes:
            reservation = Reservation(scope, qday.day, cap)
            lease = leases.setdefault(reservation, Lease()) if leases is not None else None
            if lease is not None and lease.free > 0:
                lease.free -= 1
                reservations.append(reservation)
                continue
            want = min(run.expected, LEASE_MAX) if run is not None else 1
            granted, used = self._take_units(
                qday, scope, scope_server, cap, limit, want, lease, internal=internal
            )
            if granted:
                if lease is not None:
                    lease.free += granted - 1
                reservations.append(reservation)
                continue
            if leases is None:
                self._release(reservations)
            else:  # not counted on their leases yet
                for taken in reservations:
                    leases[taken].free += 1
            return [], QuotaRefusal(
                scope=scope,
                used=used,
                limit=cap if cap < limit else limit,
                reset=qday.reset,
                server_name=(
                    self._server_quota_settings(scope_server)[2] if scope_server else None
                ),
            )
        if leases is not None:
            self._count_on_leases(reservations, 1, internal=internal)
        return reservations, None

    @api.model
    def _take_units(
        self, qday, scope, scope_server, cap, limit, want=1, lease=None, internal=False
    ):
        """Take up to ``want`` units of the day's row in one transaction.

        The row is locked (``SELECT ... FOR UPDATE`` in READ COMMITTED, so a worker
        waiting for the lock reads the count its rival committed) and never taken
        past ``cap``. A lease is at most half of what is left, so other workers
        always find units while this one still holds some; near the edge it is one
        unit at a time. Leases of this scope whose holder is gone are given back
        first (:meth:`_give_back_dead_leases`).

        :param lease: the batch's :class:`Lease` the units are added to (its row
            is created, and locked by this connection, on the first take), or
            ``None`` outside a batch.
        :param internal: outside a batch, the one unit goes to internal users only
            (counted in ``internal_used``; in a batch the lease counts it).
        :return: ``(granted, used)``: the units granted (0 when the limit is
            reached, then the attempt is counted as held back) and the count used.
        """
        with self._ledger_transaction() as cr:
            for _attempt in range(2):
                cr.execute(
                    """SELECT id, used FROM mail_quota_usage
                        WHERE day = %s AND scope = %s FOR UPDATE""",
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
            usage_id, used = row
            used -= self._give_back_dead_leases(cr, scope).get(usage_id, 0)
            granted = quota_window.lease_size(used, cap, want)
            if granted:
                cr.execute(
                    """UPDATE mail_quota_usage
                          SET used = used + %s, limit_value = %s,
                              internal_used = COALESCE(internal_used, 0) + %s,
                              write_date = now() at time zone 'UTC'
                        WHERE id = %s""",
                    [granted, limit, granted if internal and lease is None else 0, usage_id],
                )
                if lease is not None:
                    lease_id = self._hold_lease(cr, lease, usage_id, scope, granted)
            else:
                cr.execute(
                    """UPDATE mail_quota_usage SET refused = refused + 1, limit_value = %s
                        WHERE id = %s""",
                    [limit, usage_id],
                )
        if granted and lease is not None:
            lease.id = lease_id  # committed: the row is this batch's from now on
        return granted, used

    def _hold_lease(self, cr, lease, usage_id, scope, granted):
        """Add ``granted`` units to ``lease``'s row, or create the row and lock it.

        The lock is the connection's for its session (the batch's whole life):
        PostgreSQL drops it when the holder dies. In a test transaction it lasts
        until the test's rollback instead.
        """
        if lease.id:
            cr.execute(
                "UPDATE mail_quota_lease SET granted = granted + %s WHERE id = %s",
                [granted, lease.id],
            )
            if cr.rowcount:
                return lease.id
        lock = (
            SQL("pg_advisory_xact_lock")
            if self._ledger_in_test_transaction()
            else SQL("pg_advisory_lock")
        )
        cr.execute(
            SQL(
                """INSERT INTO mail_quota_lease
                          (usage_id, scope, granted, used, internal_used, holder_pid)
                   VALUES (%s, %s, %s, 0, 0, pg_backend_pid())
                   RETURNING id, %s(%s, id)""",
                usage_id,
                scope,
                granted,
                lock,
                LEASE_LOCK_SPACE,
            )
        )
        return cr.fetchone()[0]

    @api.model
    def _give_back_dead_leases(self, cr, scope):
        """Give back the unused units of ``scope``'s leases whose holder is gone.

        Runs with the scope's ledger row of the day locked, so two workers never
        give back the same lease. A lease whose advisory lock can be taken has no
        live holder: a batch keeps its lock until it has given its units back.

        :return: ``{usage_id: units given back}``
        """
        run = send_run.current(self.env)
        own = [lease.id for lease in run.leases.values() if lease.id] if run else []
        given = self._give_back_leases(
            cr,
            SQL(
                "scope = %s AND NOT id = ANY(%s::int[]) AND pg_try_advisory_xact_lock(%s, id)",
                scope,
                own,
                LEASE_LOCK_SPACE,
            ),
        )
        if given:
            _logger.info(
                "daily limit %s: %s unused unit(s) of a stopped sender given back",
                scope,
                sum(given.values()),
            )
        return given

    @api.model
    def _give_back_leases(self, cr, condition):
        """Delete the leases matching ``condition``, giving their unused units back
        and moving their count of emails to internal users to the ledger row.

        :return: ``{usage_id: units given back}``
        """
        cr.execute(
            SQL(
                """WITH gone AS (
                       DELETE FROM mail_quota_lease WHERE %s
                       RETURNING usage_id, GREATEST(granted - used, 0) AS unused,
                                 GREATEST(COALESCE(internal_used, 0), 0) AS internal
                   ), per_row AS (
                       SELECT usage_id, SUM(unused) AS unused, SUM(internal) AS internal
                         FROM gone GROUP BY usage_id
                   )
                   UPDATE mail_quota_usage u
                      SET used = GREATEST(u.used - per_row.unused, 0),
                          internal_used = COALESCE(u.internal_used, 0) + per_row.internal
                     FROM per_row
                    WHERE u.id = per_row.usage_id
                      AND (per_row.unused > 0 OR per_row.internal > 0)
                RETURNING u.id, per_row.unused""",
                condition,
            )
        )
        return {usage_id: unused for usage_id, unused in cr.fetchall() if unused}

    @api.model
    def _ensure_row(self, cr, qday, scope, scope_server, limit):
        cr.execute(
            """INSERT INTO mail_quota_usage
                      (day, scope, mail_server_id, used, refused, internal_used, limit_value,
                       reset_at, create_uid, write_uid, create_date, write_date)
               VALUES (%s, %s, %s, 0, 0, 0, %s, %s, %s, %s, now() at time zone 'UTC',
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
    def _release(self, reservations, message=None):
        """Give back units whose email the server did not accept.

        Inside a sending batch they go back to the batch's lease (the next email
        uses them; the batch returns what is left at its end).

        :param message: the email given to :meth:`_reserve`
        """
        if not reservations:
            return
        internal = self._to_internal_users(message)
        run = send_run.current(self.env)
        if run is None:
            try:
                self._return_units({reservation: 1 for reservation in reservations}, internal)
            except Exception:  # e.g. the ledger's lock timeout: never hide the email's failure
                _logger.warning("a refused email's daily-limit unit stays counted", exc_info=True)
            return
        leases = run.leases
        try:
            self._count_on_leases(reservations, -1, internal=internal)
        except Exception:
            # Called while the email's own failure is being handled: never hide it.
            # The unit stays counted (safe side); the lease is left as it is.
            _logger.warning("a refused email's daily-limit unit stays counted", exc_info=True)
            return
        for reservation in reservations:
            leases[reservation].free += 1

    @api.model
    def _count_on_leases(self, reservations, units, internal=False):
        """Count ``units`` more emails (or fewer, if negative) on the batch's leases,
        and in their ``internal_used`` too when the email goes to internal users only.

        One statement on the batch's connection, committed at once, so that the
        giving back of a dead holder's lease (:meth:`_give_back_dead_leases`)
        leaves the emails it sent counted. On the queue cron's path the mail's
        own commit follows at once and makes it durable (on the way it flushes
        everything written before it); the statement does not wait for the disk.
        """
        run = send_run.current(self.env)
        ids = [run.leases[reservation].id for reservation in reservations]
        if not ids:
            return
        update = SQL(
            """UPDATE mail_quota_lease
                  SET used = used + %s, internal_used = internal_used + %s
                WHERE id = ANY(%s)""",
            units,
            units if internal else 0,
            ids,
        )
        if self._ledger_in_test_transaction():
            self.env.cr.execute(update)
            return
        if run.each_mail_committed:
            run.ledger_cursor.execute(
                SQL("BEGIN; SET LOCAL synchronous_commit TO OFF; %s; COMMIT", update)
            )
        else:
            run.ledger_cursor.execute(update)

    @api.model
    def _return_leases(self, leases):
        """At the end of a batch: give back the units its leases did not use."""
        ids = [lease.id for lease in leases.values() if lease.id]
        leases.clear()
        if ids:
            with self._ledger_transaction() as cr:
                self._give_back_leases(cr, SQL("id = ANY(%s)", ids))

    @api.model
    def _return_units(self, units_by_reservation, internal=False):
        with self._ledger_transaction() as cr:
            for reservation, units in units_by_reservation.items():
                cr.execute(
                    """UPDATE mail_quota_usage
                          SET used = GREATEST(used - %s, 0),
                              internal_used = GREATEST(COALESCE(internal_used, 0) - %s, 0)
                        WHERE day = %s AND scope = %s""",
                    [units, units if internal else 0, reservation.day, reservation.scope],
                )

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------
    @api.model
    def _usage_today(self, server=None):
        """(used, limit, reset) of the database scope, or of ``server``'s own scope."""
        figures = self._today_figures(server)
        return figures["used"], figures["limit"], figures["reset"]

    @api.model
    def _today_figures(self, server=None):
        """Today's figures of the database scope, or of ``server``'s own scope: the
        one source of the Email Health quota card, its check and Settings.

        :return: dict with ``used`` (units counted today), ``internal`` (of them,
            emails to internal users notified by email, including those of
            batches still running), ``limit`` (0: none) and ``reset`` (naive UTC)
        """
        qday = self._current_day()
        scope = f"server_{server.id}" if server else DATABASE_SCOPE
        self.env.cr.execute(
            """SELECT u.used,
                      COALESCE(u.internal_used, 0)
                      + COALESCE((SELECT SUM(l.internal_used) FROM mail_quota_lease l
                                   WHERE l.usage_id = u.id), 0)
                 FROM mail_quota_usage u
                WHERE u.day = %s AND u.scope = %s""",
            [qday.day, scope],
        )
        used, internal = self.env.cr.fetchone() or (0, 0)
        limit = server.daily_limit if server else self._settings()[0]
        return {"used": used, "internal": internal, "limit": limit, "reset": qday.reset}

    @api.model
    def _today_text(self):
        """Today's database figures in one sentence, read when shown (the Email
        Health quota card); Settings shows the same :meth:`_today_figures`."""
        figures = self._today_figures()
        if not figures["limit"]:
            return self.env._("No database daily limit: emails are not counted.")
        text = self.env._(
            "Today: %(used)s/%(limit)s emails, resets at %(reset)s UTC.",
            used=figures["used"],
            limit=figures["limit"],
            reset=figures["reset"],
        )
        if figures["internal"]:
            text += " " + self.env._(
                "%(internal)s of them went to internal users as notification emails.",
                internal=figures["internal"],
            )
        return text

    @api.model
    def _health_summary(self, days=7):
        """For the Email Health dashboard: the days the limit was hit.

        The finding is stored with the check: it holds no count of today, which
        would be stale minutes later (the card shows :meth:`_today_text`, read
        live like Settings).
        """
        limit = self._settings()[0]
        since = self._current_day().day - timedelta(days=days - 1)
        rows = self.search([("scope", "=", DATABASE_SCOPE), ("day", ">=", since)], order="day")
        hit = [row for row in rows if row.refused]
        details = [
            f"{row.day}: {row.used}/{row.limit_value or '-'}"
            + (
                self.env._(" (%(n)s to internal users)", n=row.internal_used)
                if row.internal_used
                else ""
            )
            + (
                self.env._(" (limit reached, %(n)s held back)", n=row.refused)
                if row.refused
                else ""
            )
            for row in rows
        ]
        if not limit:
            return {
                "status": "ok",
                "finding": self.env._("No database daily limit."),
                "fix": "",
                "details": details,
            }
        if hit:
            return {
                "status": "warning",
                "finding": self.env._(
                    "Limit reached on %(n)s of the last %(d)s days.", n=len(hit), d=days
                ),
                "fix": self.env._(
                    "Raise the daily limit in Settings > Emails (use 'Facts for a limit "
                    "increase' when asking your provider), send bulk mail through an "
                    "external server that does not count toward the database limit, or "
                    "switch internal users to 'Handle in Odoo' notifications."
                ),
                "details": details,
            }
        return {
            "status": "ok",
            "finding": self.env._(
                "Limit of %(limit)s not reached in the last %(d)s days.", limit=limit, d=days
            ),
            "fix": "",
            "details": details,
        }

    # ------------------------------------------------------------------
    # Cron: requeue mail held back by the limit
    # ------------------------------------------------------------------
    @api.model
    def _cron_requeue_quota_held(self, batch_size=1000):
        """At the reset, put mail held back by the limit back in the queue, oldest first."""
        Mail = self.env["mail.mail"].sudo()
        domain = [
            ("state", "=", "exception"),
            ("failure_type", "=", QUOTA),
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
