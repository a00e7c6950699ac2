# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Retention days: parsing and cut-off (no database needed)."""

from datetime import datetime, timedelta

from odoo.tests import BaseCase, tagged

from ..tools.retention import cutoff, parse_days

NOW = datetime(2026, 3, 2, 8, 0, 0)


@tagged("mail_reliability", "post_install", "-at_install")
class TestRetention(BaseCase):
    def test_parse_days_accepts_whole_numbers(self):
        for raw, expected in [
            (30, 30),
            ("30", 30),
            (" 90 ", 90),
            ("0", 0),
            ("-1", -1),
            ("+7", 7),
            (400.0, 400),
            (-3, -3),
        ]:
            with self.subTest(raw=raw):
                self.assertEqual(parse_days(raw), expected)

    def test_parse_days_refuses_the_rest(self):
        for raw in ["", "  ", "abc", "30 days", "1.5", "3e2", "1,5", 1.5, None, True, False, []]:
            with self.subTest(raw=raw), self.assertRaises(ValueError) as caught:
                parse_days(raw)
            self.assertIn("whole number of days", str(caught.exception))

    def test_cutoff(self):
        for days, expected in [
            (30, NOW - timedelta(days=30)),
            (1, NOW - timedelta(days=1)),
            (400, NOW - timedelta(days=400)),
            (0, None),
            (-5, None),
        ]:
            with self.subTest(days=days):
                self.assertEqual(cutoff(NOW, days), expected)
