# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestCronIntervalGuard(TransactionCase):
    def setUp(self):
        super().setUp()
        self.queue_cron = self.env.ref("mail.ir_cron_mail_scheduler_action")

    def test_four_minutes_refused_five_and_fifteen_accepted(self):
        with self.assertRaises(ValidationError) as caught:
            self.queue_cron.write({"interval_number": 4, "interval_type": "minutes"})
        self.assertIn("5 minutes", str(caught.exception))
        self.assertIn("15 minutes", str(caught.exception))
        for minutes in (5, 15):
            self.queue_cron.write({"interval_number": minutes, "interval_type": "minutes"})
            self.assertEqual(self.queue_cron.interval_number, minutes)

    def test_unit_change_is_guarded_too(self):
        self.queue_cron.write({"interval_number": 1, "interval_type": "hours"})
        with self.assertRaises(ValidationError):
            self.queue_cron.write({"interval_type": "minutes"})

    def test_other_crons_are_not_guarded(self):
        cron = self.env["ir.cron"].create(
            {
                "name": "Unrelated every minute",
                "model_id": self.env.ref("base.model_res_partner").id,
                "state": "code",
                "code": "pass",
                "interval_number": 1,
                "interval_type": "minutes",
            }
        )
        self.assertEqual(cron.interval_number, 1)
