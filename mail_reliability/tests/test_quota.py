# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Daily sending limit against the real SMTP sink."""

import logging
import threading
import time
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import api
from odoo.api import Transaction
from odoo.exceptions import ValidationError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from ..tools import send_run
from .common import SmtpSinkCase, real_smtp, run_odoo_workers
from .peers import SmtpSink

QUIET = ("odoo.addons.mail.models.mail_mail", "odoo.addons.mail_reliability.models.ir_mail_server")
NOW = datetime(2026, 3, 10, 15, 0)


@tagged("mail_reliability", "post_install", "-at_install")
class TestDailyLimit(SmtpSinkCase):
    def setUp(self):
        super().setUp()
        self.params = self.env["ir.config_parameter"]
        self.params.set_param("mail_reliability.daily_limit", "3")
        self.params.set_param("mail_reliability.quota_timezone", "UTC")
        self.Usage = self.env["mail.quota.usage"]

    def _mails(self, count, prefix="q", **values):
        return self.env["mail.mail"].browse(
            [
                self.create_outgoing_mail(
                    f"{prefix}{n}@example.com", auto_delete=False, **values
                ).id
                for n in range(count)
            ]
        )

    def test_limit_holds_back_then_resumes_next_day(self):
        with freeze_time(NOW):
            mails = self._mails(5)
            self._run_queue(*QUIET)
            sent = mails.filtered(lambda m: m.state == "sent")
            held = mails - sent
            self.assertEqual(len(sent), 3)
            self.assertEqual(len(self.sink.deliveries), 3)
            self.assertEqual(set(held.mapped("state")), {"exception"})
            self.assertEqual(set(held.mapped("failure_type")), {"mail_quota"})
            reset = datetime(2026, 3, 11)
            self.assertEqual(set(held.mapped("scheduled_date")), {reset})
            self.assertIn("Daily limit reached (3/3)", held[0].failure_reason)
            self.assertIn("2026-03-11 00:00", held[0].failure_reason)
            self.assertEqual(self.Usage._usage_today()[0], 3)
            cron = self.env.ref("mail_reliability.ir_cron_mail_reliability_quota_reset")
            triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
            self.assertEqual(
                triggers.mapped("call_at").count(reset), 1, "one wake-up for two held mails"
            )
            # Retry before the reset: the same result, not a send.
            held[0].action_retry()
            self._run_queue(*QUIET)
            self.assertEqual(held[0].failure_type, "mail_quota")
            self.assertEqual(len(self.sink.deliveries), 3)
            # The reset cron does nothing before the reset.
            self.assertEqual(self.Usage._cron_requeue_quota_held(), 0)
        with freeze_time(NOW + timedelta(days=1)):
            self.assertEqual(self.Usage._cron_requeue_quota_held(), 2)
            self.assertEqual(set(held.mapped("state")), {"outgoing"})
            self._run_queue(*QUIET)
            self.assertEqual(set(held.mapped("state")), {"sent"})
            self.assertEqual(len(self.sink.deliveries), 5, "every mail delivered exactly once")
            self.assertEqual(self.Usage._usage_today()[0], 2)
            health = self.Usage._health_summary(days=7)
            self.assertEqual(health["status"], "warning")
            self.assertIn("Limit reached on 1 of the last 7 days", health["finding"])
            self.assertNotIn("Today", health["finding"], "no snapshot of today's count")
            self.assertIn("Today: 2/3", self.Usage._today_text())
        rows = self.Usage.search([("scope", "=", "database")])
        self.assertEqual(sorted(rows.mapped("used")), [2, 3])

    def test_chatter_notification_turns_red_when_held(self):
        self.params.set_param("mail_reliability.daily_limit", "1")
        record = self.env["res.partner"].create({"name": "Thread"})
        partners = self.env["res.partner"].create(
            [{"name": f"P{n}", "email": f"p{n}@example.com"} for n in range(2)]
        )
        message = record.with_context(mail_notify_force_send=False).message_post(
            body="<p>Hi</p>",
            partner_ids=partners.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self._run_queue(*QUIET)
        statuses = sorted(message.notification_ids.mapped("notification_status"))
        self.assertEqual(statuses, ["exception", "sent"])
        held = message.notification_ids.filtered(lambda n: n.notification_status == "exception")
        self.assertEqual(held.failure_type, "mail_quota")
        self.assertTrue(message.has_error)
        self.assertEqual(len(self.sink.deliveries), 1)

    def test_external_server_not_counted_and_server_limit_enforced(self):
        self.params.set_param("mail_reliability.daily_limit", "1")
        self.mail_server.write({"use_database_quota": False})
        self._mails(3, prefix="ext")
        self._run_queue(*QUIET)
        self.assertEqual(len(self.sink.deliveries), 3, "external server: database limit ignored")
        self.assertEqual(self.Usage._usage_today()[0], 0)
        self.mail_server.write({"daily_limit": 2})
        mails = self._mails(3, prefix="own")
        self._run_queue(*QUIET)
        self.assertEqual(len(self.sink.deliveries), 5)
        held = mails.filtered(lambda m: m.state == "exception")
        self.assertEqual(len(held), 1)
        self.assertIn("Daily limit of server Loopback SMTP sink reached (2/2)", held.failure_reason)
        self.assertEqual(self.Usage._usage_today(self.mail_server)[0], 2)

    def test_failed_send_releases_the_unit(self):
        self._mails(2, prefix="unknown-")
        self._run_queue(*QUIET)
        self.assertEqual(self.Usage._usage_today()[0], 0, "refused mail is not counted")
        self._mails(1, prefix="dropdata-")
        self._run_queue(*QUIET)
        self.assertEqual(self.Usage._usage_today()[0], 0)

    def test_batch_takes_a_lease_and_gives_back_the_unused_units(self):
        """One queue run touches the ledger once per lease, not once per email."""
        self.params.set_param("mail_reliability.daily_limit", "100")
        self._mails(2, prefix="unknown-")  # refused by the server: their units come back
        self._mails(4, prefix="ok-")
        Usage = type(self.Usage)
        take_units, give_back_leases = Usage._take_units, Usage._give_back_leases
        given_back = []

        def give_back(model, cr, condition):
            given_back.append(give_back_leases(model, cr, condition))
            return given_back[-1]

        with (
            patch.object(Usage, "_take_units", autospec=True, side_effect=take_units) as take,
            patch.object(Usage, "_give_back_leases", autospec=True, side_effect=give_back),
            patch.object(
                Usage, "_count_on_leases", autospec=True, side_effect=Usage._count_on_leases
            ) as count,
        ):
            self._run_queue(*QUIET)
        self.assertEqual(len(self.sink.deliveries), 4)
        self.assertEqual(take.call_count, 1, "six emails, one lease")
        self.assertEqual(take.call_args.args[6], 6, "the lease asked for the batch's size")
        self.assertEqual(
            sorted(c.args[2] for c in count.call_args_list),
            [-1, -1, 1, 1, 1, 1, 1, 1],
            "each email counted on the lease before it went out, the refused ones given back",
        )
        self.assertEqual(
            [sum(units.values()) for units in given_back if units],
            [2],
            "the two refused emails' units were given back when the batch ended",
        )
        self.assertFalse(
            self.env["mail.quota.lease"].search([("scope", "=", "database")]),
            "no lease outlives its batch",
        )
        self.assertEqual(self.Usage._usage_today()[0], 4, "exact count after the batch")

    def test_held_mail_is_logged_without_traceback(self):
        self.params.set_param("mail_reliability.daily_limit", "1")
        self._mails(3, prefix="log")
        with (
            self.real_smtp(),
            # Numeric level: Odoo names its level 25 "INFO" too.
            self.assertLogs("odoo.addons.mail.models.mail_mail", level=logging.INFO) as logs,
        ):
            self.env["mail.mail"].process_email_queue()
        self.assertEqual(len(self.sink.deliveries), 1)
        failed = [r for r in logs.records if r.getMessage().startswith("failed sending mail")]
        self.assertEqual(len(failed), 2, "one line per held mail")
        self.assertEqual({r.levelno for r in failed}, {logging.INFO})
        self.assertFalse([r for r in failed if r.exc_info], "no traceback for a quota hold")
        self.assertIn("Daily limit reached", failed[0].getMessage())

    def test_marketing_yields_to_the_reserve(self):
        self.params.set_param("mail_reliability.daily_limit", "10")
        self.params.set_param("mail_reliability.transactional_reserve", "20")
        with real_smtp():
            for _n in range(8):
                self.assertFalse(self.Usage._reserve(self.mail_server, marketing=True)[1])
            self.assertTrue(self.Usage._reserve(self.mail_server, marketing=True)[1])
            for _n in range(2):
                self.assertFalse(self.Usage._reserve(self.mail_server, marketing=False)[1])
            refusal = self.Usage._reserve(self.mail_server, marketing=False)[1]
        self.assertEqual((refusal.used, refusal.limit), (10, 10))

    def test_bad_settings_refused(self):
        for key, value in (
            ("mail_reliability.daily_limit", "-5"),
            ("mail_reliability.daily_limit", "many"),
            ("mail_reliability.transactional_reserve", "150"),
            ("mail_reliability.quota_timezone", "Mars/Olympus"),
        ):
            with self.subTest(key=key, value=value), self.assertRaises(ValidationError):
                self.params.set_param(key, value)
        with self.assertRaises(ValidationError):
            self.mail_server.daily_limit = -1

    def test_settings_and_facts(self):
        with freeze_time(NOW):
            self._mails(2)
            self._run_queue(*QUIET)
            settings = self.env["res.config.settings"].create({})
            self.assertEqual((settings.mr_quota_used, settings.mr_quota_limit), (2, 3))
            self.assertEqual(settings.mr_quota_reset, datetime(2026, 3, 11))
        action = settings.action_mr_quota_facts()
        facts = self.env["mail.quota.facts.wizard"].browse(action["res_id"]).facts
        self.assertIn("Internal users:", facts)
        self.assertIn("Bounce rate, last 30 days", facts)
        self.assertIn("Alias domains", facts)


# One process sending all of this test's mails in one queue run.
WORKER = """
with registry.cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    env["mail.mail"].process_email_queue(ids=ids, batch_size=len(ids))
"""


@tagged("mail_reliability", "post_install", "-at_install")
class TestDailyLimitConcurrency(BaseCase):
    """Two real Odoo processes send at the limit edge: never one mail too many.

    Commits (the workers are separate processes), so it uses a ledger of its own:
    the limit is the daily limit of a server created here, which does not count
    toward the database's limit. Cleans up in ``finally`` exactly what it created
    (its server, its mails, its server's ledger row), nothing else.
    """

    def test_two_processes_never_overshoot(self):
        registry = Registry(get_db_name())
        limit, total = 50, 200
        with SmtpSink() as sink:
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                server = env["ir.mail_server"].create(
                    {
                        "name": "concurrency sink",
                        "smtp_host": sink.host,
                        "smtp_port": sink.port,
                        "smtp_encryption": "none",
                        "sequence": 0,
                        "daily_limit": limit,
                        "use_database_quota": False,
                    }
                )
                mails = env["mail.mail"].create(
                    [
                        {
                            "subject": f"c{n}",
                            "body_html": "<p>c</p>",
                            "email_from": "s@example.com",
                            "email_to": f"c{n}@example.com",
                            "mail_server_id": server.id,
                            "auto_delete": False,
                        }
                        for n in range(total)
                    ]
                )
                ids, server_id = mails.ids, server.id
                scope = f"server_{server_id}"
                cr.execute("SELECT count(*) FROM mail_quota_usage WHERE scope = %s", [scope])
                self.assertEqual(cr.fetchone()[0], 0, "a new server starts with no ledger row")
            try:
                run_odoo_workers(self, WORKER, ids, timeout=540)  # both start at the same moment
                self.assertEqual(len(sink.deliveries), limit, "exactly the limit, no overshoot")
                message_ids = {d.message_id for d in sink.deliveries}
                self.assertEqual(len(message_ids), limit, "no mail delivered twice")
                with registry.cursor() as cr:
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    states = env["mail.mail"].browse(ids).mapped("state")
                    self.assertEqual(states.count("sent"), limit)
                    self.assertEqual(states.count("exception"), total - limit)
                    server = env["ir.mail_server"].browse(server_id)
                    self.assertEqual(env["mail.quota.usage"]._usage_today(server)[0], limit)
            finally:
                with registry.cursor() as cr:
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    env["mail.mail"].browse(ids).unlink()
                    cr.execute("DELETE FROM mail_quota_usage WHERE scope = %s", [scope])
                    env["ir.mail_server"].browse(server_id).unlink()


@tagged("mail_reliability", "post_install", "-at_install")
class TestQuotaLeaseOfDeadHolder(BaseCase):
    """A sender whose connection died gives its unused units back; a live one keeps them.

    Real connections: each sender runs in a thread of its own with its own
    cursors, outside the test transaction, as a queue worker does. The "crash"
    is ``pg_terminate_backend`` of the holder's lease connection, which is what
    PostgreSQL sees when the process holding it is killed. Commits its own
    server, ledger and lease rows (its own scope) and deletes them in ``finally``.
    """

    LIMIT = 1000

    def _as_sender(self, work):
        """Run ``work(env, Usage)`` in a thread of its own (not the test's cursor)."""
        outcome = {}

        def run():
            try:
                with self.registry.cursor() as cr:
                    # Not Registry(dbname), as Environment() would call: the test runner
                    # holds the registries' lock while it runs the tests.
                    cr.transaction = Transaction(self.registry)
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    outcome["result"] = work(env, env["mail.quota.usage"])
            except Exception as exc:  # re-raised in the test thread
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="mr-quota-sender")
        thread.start()
        return thread, outcome

    def _join(self, thread, outcome, timeout=60):
        thread.join(timeout)
        self.assertFalse(thread.is_alive(), "sender thread stuck")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")

    def _ledger(self):
        with self.registry.cursor() as cr:
            cr.execute(
                """SELECT u.used, COALESCE(SUM(l.granted), 0), COALESCE(SUM(l.used), 0),
                          COUNT(l.id)
                     FROM mail_quota_usage u
                     LEFT JOIN mail_quota_lease l ON l.usage_id = u.id
                    WHERE u.scope = %s
                 GROUP BY u.id""",
                [self.scope],
            )
            rows = cr.fetchall()
        self.assertEqual(len(rows), 1, "one ledger row for the test's scope")
        return dict(zip(("used", "granted", "lease_used", "leases"), rows[0], strict=True))

    def _take_one_and_release(self, server_id):
        """A rival batch: one unit taken (a new lease), not sent, given back."""

        def work(env, Usage):
            server = env["ir.mail_server"].browse(server_id)
            with send_run.opened(env):
                Usage._expect_emails(1)
                reservations, refusal = Usage._reserve(server)
                self.assertFalse(refusal)
                Usage._release(reservations)

        self._join(*self._as_sender(work))

    def test_dead_holder_gives_back_what_it_did_not_use(self):
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            server = env["ir.mail_server"].create(
                {
                    "name": "lease crash test",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": 9,
                    "daily_limit": self.LIMIT,  # its own scope: no other test's rows
                    "use_database_quota": False,
                }
            )
        server_id, self.scope = server.id, f"server_{server.id}"
        holding, release_holder = threading.Event(), threading.Event()

        def holder(env, Usage):
            """Takes a lease of 10 for 4 emails: 2 accepted, 1 refused, 1 in flight; 'dies'."""
            server = env["ir.mail_server"].browse(server_id)
            with send_run.opened(env, each_mail_committed=True):
                Usage._expect_emails(10)
                for email in range(4):
                    reservations, refusal = Usage._reserve(server)
                    assert not refusal, refusal
                    if email == 2:
                        Usage._release(reservations)  # the server refused this one
                holding.set()
                release_holder.wait(60)
            # Here the batch tried to give its units back on a dead connection.

        thread = None
        try:
            with real_smtp():
                thread, outcome = self._as_sender(holder)
                if not holding.wait(60):
                    self._join(thread, outcome, timeout=1)  # its error, if it has one
                    self.fail("the holder never took its lease")
                ledger = self._ledger()
                self.assertEqual(
                    (ledger["used"], ledger["granted"], ledger["lease_used"]),
                    (10, 10, 3),
                    "10 units leased, 3 counted on the lease: 2 accepted, 1 in flight",
                )
                # A live holder keeps its lease: a rival takes units of its own.
                self._take_one_and_release(server_id)
                self.assertEqual(self._ledger()["used"], 10, "a live holder keeps its units")
                # The holder's connection dies, as with kill -9 of its process.
                with self.registry.cursor() as cr:
                    cr.execute(
                        "SELECT holder_pid FROM mail_quota_lease WHERE scope = %s", [self.scope]
                    )
                    (pid,) = cr.fetchone()
                    cr.execute("SELECT pg_terminate_backend(%s)", [pid])
                    for _wait in range(100):
                        cr.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
                        if not cr.fetchone():
                            break
                        time.sleep(0.1)
                self.assertEqual(self._ledger()["used"], 10, "nothing given back by itself")
                # The next sender of that scope gives the dead holder's unused units back.
                self._take_one_and_release(server_id)
                ledger = self._ledger()
                self.assertEqual(
                    (ledger["used"], ledger["leases"]),
                    (3, 0),
                    "the dead holder's 7 unused units are back; the email in flight stays "
                    "counted (the server may have accepted it)",
                )
                # The holder process itself ends later: it gives back nothing twice.
                with mute_logger(
                    "odoo.addons.mail_reliability.models.mail_quota_usage", "odoo.sql_db"
                ):
                    release_holder.set()
                    self._join(thread, outcome)
                self.assertEqual(self._ledger()["used"], 3)
        finally:
            release_holder.set()
            if thread is not None:
                with mute_logger(
                    "odoo.addons.mail_reliability.models.mail_quota_usage", "odoo.sql_db"
                ):
                    thread.join(60)
            with self.registry.cursor() as cr:
                cr.execute("DELETE FROM mail_quota_usage WHERE scope = %s", [self.scope])
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                env["ir.mail_server"].browse(server_id).unlink()  # leases: ON DELETE CASCADE


@tagged("mail_reliability", "post_install", "-at_install")
class TestDailyLimitSettings(SmtpSinkCase):
    def test_zero_means_no_limit_and_survives_saving(self):
        settings = self.env["res.config.settings"].create(
            {"mr_daily_limit": 0, "mr_transactional_reserve": 0}
        )
        settings.execute()
        params = self.env["ir.config_parameter"]
        self.assertEqual(params.get_param("mail_reliability.daily_limit"), "0")
        self.assertEqual(params.get_param("mail_reliability.transactional_reserve"), "0")
        self.assertEqual(self.env["res.config.settings"].create({}).mr_daily_limit, 0)
        with self.assertRaises(ValidationError):
            self.env["res.config.settings"].create({"mr_daily_limit": -3}).execute()
