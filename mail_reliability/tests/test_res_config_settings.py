# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Settings: queue interval on the real cron, retention days as system parameters."""

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailReliabilitySettings(TransactionCase):
    def setUp(self):
        super().setUp()
        self.queue_cron = self.env.ref("mail.ir_cron_mail_scheduler_action")
        self.params = self.env["ir.config_parameter"].sudo()

    def _interval(self):
        return self.queue_cron.interval_number, self.queue_cron.interval_type

    def _save(self, **values):
        settings = self.env["res.config.settings"].create(values)
        settings.execute()
        return settings

    def test_defaults_and_saving_unrelated_settings_changes_nothing(self):
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.mail_queue_interval_minutes, 60)
        self.assertEqual(settings.mail_queue_interval_recommended, 15)
        # sent mail kept on purpose (auto_delete off): no retention unless opted in
        self.assertEqual(settings.mail_reliability_vacuum_sent_days, 0)
        self.assertEqual(settings.mail_reliability_vacuum_cancel_days, 30)
        self.assertEqual(settings.mail_reliability_vacuum_exception_days, 90)
        settings.execute()
        self.assertEqual(
            (self.queue_cron.interval_number, self.queue_cron.interval_type), (1, "hours")
        )
        self.assertEqual(self.params.get_param("mail_reliability.vacuum_sent_days"), "0")

    def test_queue_interval_is_written_to_the_cron(self):
        self._save(mail_queue_interval_minutes=15)
        self.assertEqual(
            (self.queue_cron.interval_number, self.queue_cron.interval_type), (15, "minutes")
        )
        self._save(mail_queue_interval_minutes=5)
        self.assertEqual(
            (self.queue_cron.interval_number, self.queue_cron.interval_type), (5, "minutes")
        )
        self._save(mail_queue_interval_minutes=120)
        self.assertEqual(
            (self.queue_cron.interval_number, self.queue_cron.interval_type), (2, "hours")
        )
        self.assertEqual(
            self.env["res.config.settings"].create({}).mail_queue_interval_minutes, 120
        )

    def test_queue_interval_below_five_minutes_is_refused(self):
        for minutes in (4, 1, 0):
            with self.subTest(minutes=minutes), self.assertRaises(ValidationError) as caught:
                self._save(mail_queue_interval_minutes=minutes)
            self.assertIn("5 minutes", str(caught.exception))
            self.assertIn("15 minutes", str(caught.exception))
        self.assertEqual(
            (self.queue_cron.interval_number, self.queue_cron.interval_type), (1, "hours")
        )

    def test_retention_days_are_saved_including_zero_and_negative(self):
        self._save(
            mail_reliability_vacuum_sent_days=7,
            mail_reliability_vacuum_cancel_days=0,
            mail_reliability_vacuum_exception_days=-1,
        )
        self.assertEqual(self.params.get_param("mail_reliability.vacuum_sent_days"), "7")
        self.assertEqual(self.params.get_param("mail_reliability.vacuum_cancel_days"), "0")
        self.assertEqual(self.params.get_param("mail_reliability.vacuum_exception_days"), "-1")
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.mail_reliability_vacuum_cancel_days, 0)
        self.assertEqual(settings.mail_reliability_vacuum_exception_days, -1)
        self._save(mail_reliability_vacuum_sent_days="45")
        self.assertEqual(self.params.get_param("mail_reliability.vacuum_sent_days"), "45")

    def test_non_integers_give_a_clear_error(self):
        for bad in ("thirty", "1.5", 1.5, "30 days"):
            with self.subTest(bad=bad), self.assertRaises(ValidationError) as caught:
                self.env["res.config.settings"].create({"mail_reliability_vacuum_sent_days": bad})
            self.assertIn("Keep Sent Emails (days)", str(caught.exception))
            self.assertIn("whole number", str(caught.exception))
        settings = self.env["res.config.settings"].create({})
        with self.assertRaises(ValidationError):
            settings.write({"mail_queue_interval_minutes": "every 15"})
        self.assertEqual(self.params.get_param("mail_reliability.vacuum_sent_days"), "0")

    def test_settings_view_shows_the_fields(self):
        arch = self.env["res.config.settings"].get_view(view_type="form")["arch"]
        for fname in (
            "mail_queue_interval_minutes",
            "mail_reliability_vacuum_sent_days",
            "mail_reliability_vacuum_cancel_days",
            "mail_reliability_vacuum_exception_days",
        ):
            self.assertIn(f'name="{fname}"', arch)
