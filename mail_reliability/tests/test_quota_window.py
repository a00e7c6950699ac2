# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime

from odoo.tests import BaseCase, tagged

from ..tools import quota_window as qw


@tagged("mail_reliability", "post_install", "-at_install")
class TestQuotaWindow(BaseCase):
    def test_utc_day(self):
        day = qw.quota_day(datetime(2026, 3, 10, 23, 59, 59), "UTC")
        self.assertEqual(day.day, date(2026, 3, 10))
        self.assertEqual(day.start, datetime(2026, 3, 10))
        self.assertEqual(day.reset, datetime(2026, 3, 11))

    def test_timezone_shifts_the_day(self):
        # 23:30 UTC is already tomorrow in Brussels (UTC+1 in winter).
        day = qw.quota_day(datetime(2026, 1, 15, 23, 30), "Europe/Brussels")
        self.assertEqual(day.day, date(2026, 1, 16))
        self.assertEqual(day.reset, datetime(2026, 1, 16, 23, 0))
        # New York is UTC-5 in winter: 03:00 UTC is still the previous day there.
        day = qw.quota_day(datetime(2026, 1, 15, 3, 0), "America/New_York")
        self.assertEqual(day.day, date(2026, 1, 14))
        self.assertEqual(day.reset, datetime(2026, 1, 15, 5, 0))

    def test_dst_day_is_23_hours(self):
        day = qw.quota_day(datetime(2026, 3, 29, 12, 0), "Europe/Brussels")
        self.assertEqual(day.reset - day.start, datetime(2026, 1, 2) - datetime(2026, 1, 1, 1))

    def test_parse_settings(self):
        self.assertEqual(qw.parse_limit(None), 0, "no limit unless configured")
        self.assertEqual(qw.parse_limit(" 50 "), 50)
        self.assertEqual(qw.parse_limit("0"), 0)
        for bad in ("-1", "abc", "1.5"):
            with self.subTest(limit=bad), self.assertRaises(ValueError):
                qw.parse_limit(bad)
        self.assertEqual(qw.parse_reserve("20"), 20)
        self.assertEqual(qw.parse_reserve("12.5%"), 12.5)
        for bad in ("-1", "101", "lots", "nan"):
            with self.subTest(reserve=bad), self.assertRaises(ValueError):
                qw.parse_reserve(bad)
        self.assertEqual(qw.parse_timezone(""), "UTC")
        self.assertEqual(qw.parse_timezone("Europe/Brussels"), "Europe/Brussels")
        for bad in ("Mars/Olympus", "../etc/passwd", "UTC+2"):
            with self.subTest(tz=bad), self.assertRaises(ValueError) as caught:
                qw.parse_timezone(bad)
            self.assertIn("unknown timezone", str(caught.exception))

    def test_reserve(self):
        self.assertEqual(qw.reserve_units(200, 20), 40)
        self.assertEqual(qw.reserve_units(3, 20), 1)  # rounds up: never zero by accident
        self.assertEqual(qw.reserve_units(0, 20), 0)
        self.assertEqual(qw.effective_limit(200, 20, marketing=True), 160)
        self.assertEqual(qw.effective_limit(200, 20, marketing=False), 200)
        self.assertEqual(qw.effective_limit(10, 100, marketing=True), 0)

    def test_lease_size(self):
        cases = [
            # (used, cap, want) -> units granted
            ((0, 200, 150), 100),  # at most half of what is left
            ((0, 200, 30), 30),  # no more than the batch will send
            ((190, 200, 30), 5),
            ((197, 200, 30), 1),
            ((199, 200, 30), 1),  # the last unit, one at a time
            ((200, 200, 30), 0),  # limit reached
            ((250, 200, 30), 0),  # limit lowered below the day's count
            ((0, 0, 5), 0),
            ((0, 200, 0), 0),
        ]
        for (used, cap, want), granted in cases:
            with self.subTest(used=used, cap=cap, want=want):
                self.assertEqual(qw.lease_size(used, cap, want), granted)
        # Whatever the rivals take, a worker holding a lease never pushes past the cap.
        used = 0
        while (granted := qw.lease_size(used, 50, 1000)) > 0:
            used += granted
        self.assertEqual(used, 50)
