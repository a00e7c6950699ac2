# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The ledger's own connection never waits for ever on the sending transaction.

The transaction that sends a mail waits for the ledger's statements (daily limit,
pacing, slow-down) on a second connection. A row lock held by the sending
transaction itself would make both wait for ever, a deadlock PostgreSQL cannot
see. Real connections: the outgoing servers are committed before the test
transaction starts (so that it sees them) and deleted when the class ends; the
sending transaction is the test's own. Each call runs in a thread with a join
timeout, so that a regression fails the test instead of hanging the suite.
"""

import threading
import time
from unittest.mock import patch

from odoo import api
from odoo.modules.registry import Registry
from odoo.tests import TransactionCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from ..models import mail_quota_usage
from ..tools.constants import QUEUE_CRON_XMLID, TEMPORARY
from ..tools.smtp_status import classify_smtp_error
from .common import real_smtp
from .peers import SmtpSink

QUIET = (
    "odoo.addons.mail.models.mail_mail",
    "odoo.addons.mail_reliability.models.ir_mail_server",
    "odoo.addons.mail_reliability.models.mail_mail",
    "odoo.addons.mail_reliability.models.mail_quota_usage",
    "odoo.sql_db",  # the statement the lock timeout cancelled
)
LOCK_TIMEOUT = 1  # seconds: the ledger's lock timeout in these tests
STUCK = 30  # seconds after which a call counts as waiting for ever


@tagged("mail_reliability", "post_install", "-at_install")
class TestLedgerLocks(TransactionCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink().start()
        cls.addClassCleanup(cls.sink.stop)
        registry = Registry(get_db_name())
        # Committed before the test transaction takes its snapshot: it sees them.
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            servers = env["ir.mail_server"].create(
                [
                    {
                        "name": f"ledger lock test {purpose}",
                        "smtp_host": cls.sink.host,
                        "smtp_port": cls.sink.port,
                        "smtp_encryption": "none",
                        "use_database_quota": False,
                        "rate_per_minute": 600 if purpose != "quota" else 0,
                    }
                    for purpose in ("throttle", "pace", "quota")
                ]
            )
            cls.server_ids = dict(zip(("throttle", "pace", "quota"), servers.ids, strict=True))
        # Registered first, so it runs after the test transaction has ended.
        cls.addClassCleanup(cls._delete_servers, registry, servers.ids)
        super().setUpClass()

    @classmethod
    def _delete_servers(cls, registry, ids):
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            # Their ledger, pacing and statistics rows go with them (cascade).
            cr.execute("DELETE FROM mail_delivery_stats WHERE mail_server_id = ANY(%s)", [ids])
            env["ir.mail_server"].browse(ids).unlink()

    def setUp(self):
        super().setUp()
        self.sink.reset()
        self.env["ir.config_parameter"].set_param("mail_reliability.daily_limit", "0")
        timeout = patch.object(mail_quota_usage, "LEDGER_LOCK_TIMEOUT", LOCK_TIMEOUT)
        timeout.start()
        self.addCleanup(timeout.stop)

    def _mail(self, server_id, email_to):
        mail = self.env["mail.mail"].create(
            {
                "subject": "Ledger lock",
                "body_html": "<p>Hello</p>",
                "email_from": "sender@example.com",
                "email_to": email_to,
                "mail_server_id": server_id,
                "auto_delete": False,
            }
        )
        self.env.flush_all()  # inserted: KEY SHARE on the server's row until the end
        return mail

    def _lock_server(self, server_id):
        """The sending transaction holds the server's row FOR UPDATE."""
        self.env.cr.execute("SELECT id FROM ir_mail_server WHERE id = %s FOR UPDATE", [server_id])

    def _committed(self, query, args):
        with self.registry.cursor() as cr:
            cr.execute(query, args)
            return cr.fetchone()

    def _within_the_sending_transaction(self, work, savepoint):
        """Run ``work()`` as the sending transaction does, waiting for it (in a
        thread, whose ledger is a real second connection). Fails if it is still
        waiting after :data:`STUCK` seconds: then the sending transaction's locks
        are dropped (``savepoint`` rolled back) so that it ends.

        :return: the seconds it took
        """
        outcome = {}

        def run():
            try:
                outcome["result"] = work()
            except Exception as exc:  # re-raised in the test thread
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="mr-ledger-lock")
        started = time.monotonic()
        with mute_logger(*QUIET):
            thread.start()
            thread.join(STUCK)
            stuck = thread.is_alive()
            if stuck:
                savepoint.close(rollback=True)
                thread.join(STUCK)
        if stuck:
            self.fail("the ledger waited for a lock of the sending transaction")
        if "error" in outcome:
            raise outcome["error"]
        return time.monotonic() - started

    def _queue_triggers(self):
        cron = self.env.ref(QUEUE_CRON_XMLID)
        return self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])

    def test_throttling_reply_is_recorded_while_the_sender_references_the_server(self):
        """A template with its own server sent at once (force_send): the mail the
        transaction inserted holds KEY SHARE on the server's row; the throttling
        reply's slow-down is still written, without waiting."""
        server_id = self.server_ids["throttle"]
        savepoint = self.env.cr.savepoint(flush=False)
        self._mail(server_id, "throttled@example.com")
        verdict = classify_smtp_error(421, "4.7.0 Try again later, closing connection.")
        self.assertTrue(verdict.throttled)
        Server = self.env["ir.mail_server"]
        self._within_the_sending_transaction(
            lambda: Server._mr_note_throttle(server_id, verdict), savepoint
        )
        slowed_until, level, reason = self._committed(
            "SELECT slowed_until, slow_level, slowed_reason FROM ir_mail_server WHERE id = %s",
            [server_id],
        )
        self.assertTrue(slowed_until, "the slow-down was recorded")
        self.assertEqual(level, 1)
        self.assertIn("4.7.0", reason)
        savepoint.close(rollback=True)

    def test_pace_not_counted_leaves_the_mail_queued(self):
        """The pacing count of a server whose row the sending transaction locked
        gives up after the lock timeout: the mail stays queued, untouched, and goes
        once the lock is gone."""
        server_id = self.server_ids["pace"]
        mail = self._mail(server_id, "paced@example.com")
        triggers = self._queue_triggers()
        savepoint = self.env.cr.savepoint(flush=False)
        self._lock_server(server_id)
        with real_smtp():
            took = self._within_the_sending_transaction(mail.send, savepoint)
        self.assertLess(took, STUCK)
        self.assertEqual(self.sink.deliveries, [])
        self.assertRecordValues(
            mail, [{"state": "outgoing", "retry_count": 0, "failure_type": False}]
        )
        self.assertTrue(self._queue_triggers() - triggers, "the queue tries again later")
        savepoint.close(rollback=True)  # the sending transaction's lock is gone
        self.env.invalidate_all()
        with real_smtp():
            self._within_the_sending_transaction(mail.send, savepoint)
        self.assertEqual(len(self.sink.deliveries_to("paced@example.com")), 1)
        self.assertEqual(mail.state, "sent")

    def test_daily_limit_not_counted_defers_the_mail(self):
        """The daily-limit unit of a server whose row the sending transaction locked
        (its ledger row is new: the ledger's insert checks the server) cannot be
        taken: after the lock timeout the mail is deferred, not failed and not sent
        uncounted, and the rest of the batch waits queued."""
        server_id = self.server_ids["quota"]
        self.env["ir.mail_server"].browse(server_id).daily_limit = 100
        mails = self._mail(server_id, "quota1@example.com") | self._mail(
            server_id, "quota2@example.com"
        )
        triggers = self._queue_triggers()
        savepoint = self.env.cr.savepoint(flush=False)
        self._lock_server(server_id)
        with real_smtp():
            took = self._within_the_sending_transaction(mails.send, savepoint)
        self.assertLess(took, STUCK)
        self.assertEqual(self.sink.deliveries, [], "nothing sent without its unit")
        deferred = mails.filtered("retry_count")
        self.assertEqual(len(deferred), 1, "one mail tried, deferred")
        self.assertRecordValues(
            deferred, [{"state": "outgoing", "retry_count": 1, "failure_type": TEMPORARY}]
        )
        self.assertGreater(deferred.scheduled_date, deferred.create_date)
        self.assertIn("daily limit could not be counted", deferred.failure_reason)
        self.assertRecordValues(
            mails - deferred, [{"state": "outgoing", "retry_count": 0, "failure_type": False}]
        )
        self.assertTrue(self._queue_triggers() - triggers, "the queue tries again later")
        self.assertIsNone(
            self._committed(
                "SELECT used FROM mail_quota_usage WHERE scope = %s", [f"server_{server_id}"]
            ),
            "nothing counted",
        )
        savepoint.close(rollback=True)  # the sending transaction's lock is gone
        self.env.invalidate_all()
        with real_smtp():
            self._within_the_sending_transaction(mails.send, savepoint)
        self.assertEqual(len(self.sink.deliveries), 2, "each mail sent once")
        self.assertEqual(set(mails.mapped("state")), {"sent"})
        self.assertEqual(
            self._committed(
                "SELECT used FROM mail_quota_usage WHERE scope = %s", [f"server_{server_id}"]
            ),
            (2,),
        )
