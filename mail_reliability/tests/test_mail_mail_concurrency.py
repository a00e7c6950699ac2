# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Two real PostgreSQL transactions race for the same mail: it is sent once.

This test commits (it needs two connections to see the same rows); it removes
what it created in ``finally``.
"""

from odoo import api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

from .common import real_smtp
from .smtp_sink import SmtpSink


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

    def test_cron_and_send_now_send_once(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            server = env["ir.mail_server"].create(
                {
                    "name": "race sink",
                    "smtp_host": self.sink.host,
                    "smtp_port": self.sink.port,
                    "smtp_encryption": "none",
                }
            )
            mail = env["mail.mail"].create(
                {
                    "subject": "Race",
                    "body_html": "<p>race</p>",
                    "email_from": "sender@example.com",
                    "email_to": "race@example.com",
                    "mail_server_id": server.id,
                    "auto_delete": False,
                }
            )
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
            cr_a.rollback()
            cr_b.rollback()
            cr_a.close()
            cr_b.close()
            with self.registry.cursor() as cr:
                env = self._env(cr)
                env["mail.mail"].browse(ids["mail"]).unlink()
                env["ir.mail_server"].browse(ids["server"]).unlink()
                # The committed send counted one unit of the daily limit: give it back.
                cr.execute("DELETE FROM mail_quota_usage")
