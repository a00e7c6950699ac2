# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Two real PostgreSQL transactions race for the same mail: it is sent once.

This test commits (it needs two connections to see the same rows); it removes
what it created in ``finally``.
"""

from unittest.mock import patch

from odoo import api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

from ..models import mail_mail as mail_mail_module
from .common import real_smtp
from .peers import SmtpSink


@tagged("mail_reliability", "post_install", "-at_install")
class TestSendNowRace(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.sink = SmtpSink().start()
        cls.addClassCleanup(cls.sink.stop)

    def _env(self, cr):
        return api.Environment(cr, api.SUPERUSER_ID, {})

    def _clean_up(self, cursors, mail_ids, server_id):
        for cr in cursors:
            cr.rollback()
            cr.close()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["mail.mail"].browse(mail_ids).unlink()
            env["ir.mail_server"].browse(server_id).unlink()

    def _server_and_mails(self, env, name, recipients):
        server = env["ir.mail_server"].create(
            {
                "name": name,
                "smtp_host": self.sink.host,
                "smtp_port": self.sink.port,
                "smtp_encryption": "none",
                # counts toward no daily limit: the committed sends leave the
                # database's quota ledger as it was (nothing to clean up there)
                "use_database_quota": False,
            }
        )
        mails = env["mail.mail"].create(
            [
                {
                    "subject": f"{name} {recipient}",
                    "body_html": "<p>race</p>",
                    "email_from": "sender@example.com",
                    "email_to": recipient,
                    "mail_server_id": server.id,
                    "auto_delete": False,
                }
                for recipient in recipients
            ]
        )
        return server, mails

    def test_cron_and_send_now_send_once(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            server, mail = self._server_and_mails(env, "race sink", ["race@example.com"])
            ids = {"server": server.id, "mail": mail.id}
        cr_a = self.registry.cursor()
        cr_b = self.registry.cursor()
        try:
            with real_smtp():
                # A: "Send Now" sends, holds the row lock, has not committed yet.
                env_a = self._env(cr_a)
                env_a["mail.mail"].browse(ids["mail"]).action_send_now()
                self.assertEqual(len(self.sink.deliveries_to("race@example.com")), 1)
                # B: the cron runs meanwhile. It must skip the locked row, not wait or resend.
                cr_b.execute("SET LOCAL lock_timeout = '5s'")
                env_b = self._env(cr_b)
                env_b["mail.mail"].process_email_queue(ids=[ids["mail"]])
                cr_b.rollback()
                cr_a.commit()
                # B again, after A committed: the mail is sent, nothing to do.
                env_b = self._env(cr_b)
                env_b["mail.mail"].process_email_queue(ids=[ids["mail"]])
                cr_b.commit()
            self.assertEqual(len(self.sink.deliveries_to("race@example.com")), 1)
            env_b = self._env(cr_b)
            self.assertEqual(env_b["mail.mail"].browse(ids["mail"]).state, "sent")
        finally:
            self._clean_up([cr_a, cr_b], [ids["mail"]], ids["server"])

    def test_cron_commit_path_locks_without_savepoint_and_skips_locked(self):
        """After each commit, the lock is the first statement of its transaction.

        The queue cron sends with ``auto_commit=True``: from the second mail on, the
        row lock runs without a savepoint. A row another transaction holds is still
        skipped (not waited for, not sent twice) and the rest of the batch goes out.
        """
        with self.registry.cursor() as cr:
            env = self._env(cr)
            server, mails = self._server_and_mails(
                env, "commit path sink", [f"commit{n}@example.com" for n in range(3)]
            )
            server_id, mail_ids = server.id, mails.ids
        cr_a = self.registry.cursor()
        cr_b = self.registry.cursor()
        opened = []
        opens_transaction = mail_mail_module._opens_transaction

        def spy(cr):
            result = opens_transaction(cr)
            opened.append(result)
            return result

        try:
            # A holds the second mail (as a concurrent "Send Now" would).
            cr_a.execute("SELECT id FROM mail_mail WHERE id = %s FOR UPDATE", [mail_ids[1]])
            with real_smtp(), patch.object(mail_mail_module, "_opens_transaction", spy):
                self._env(cr_b)["mail.mail"].browse(mail_ids).send(auto_commit=True)
            # 1st mail: the batch search opened the transaction (savepoint); 2nd: first
            # statement after the commit (no savepoint), skipped without a commit; 3rd:
            # same transaction as the skip, so under a savepoint again.
            self.assertEqual(opened, [False, True, False])
            for n, delivered in ((0, 1), (1, 0), (2, 1)):
                self.assertEqual(
                    len(self.sink.deliveries_to(f"commit{n}@example.com")), delivered, n
                )
            cr_a.rollback()
            with real_smtp():
                self._env(cr_b)["mail.mail"].browse(mail_ids).send(auto_commit=True)
            for n in range(3):
                self.assertEqual(len(self.sink.deliveries_to(f"commit{n}@example.com")), 1, n)
            states = self._env(cr_b)["mail.mail"].browse(mail_ids).mapped("state")
            self.assertEqual(states, ["sent"] * 3)
        finally:
            self._clean_up([cr_a, cr_b], mail_ids, server_id)
