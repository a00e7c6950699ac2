# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Retry schedule of temporarily refused mail (no database needed)."""

from datetime import datetime, timedelta

from odoo.tests import BaseCase, tagged

from ..tools.retry_policy import (
    DEFAULT_DELAYS,
    DEFAULT_MAX_HOURS,
    next_attempt,
    parse_delays,
    parse_max_hours,
)

T0 = datetime(2026, 3, 2, 8, 0, 0)


def minutes(n):
    return timedelta(minutes=n)


@tagged("mail_reliability", "post_install", "-at_install")
class TestRetryPolicy(BaseCase):
    def test_defaults(self):
        self.assertEqual(DEFAULT_DELAYS, (5, 15, 60, 240, 720))
        self.assertEqual(DEFAULT_MAX_HOURS, 72)

    def test_parse_delays_good(self):
        for text, expected in (
            ("5,15,60,240,720", (5, 15, 60, 240, 720)),
            (" 5, 15 ,60 ,  240,720 ", (5, 15, 60, 240, 720)),
            ("10", (10,)),
            ("60,5", (60, 5)),  # any order is accepted
            ("007", (7,)),
            (None, DEFAULT_DELAYS),
            ("", DEFAULT_DELAYS),
            ("   ", DEFAULT_DELAYS),
            (False, DEFAULT_DELAYS),  # an unset ir.config_parameter
        ):
            with self.subTest(text=text):
                self.assertEqual(parse_delays(text), expected)
        self.assertIsInstance(parse_delays("1,2"), tuple)

    def test_parse_delays_bad(self):
        for text, named in (
            ("abc", "'abc'"),
            ("5,abc,60", "'abc'"),
            ("-5", "'-5'"),
            ("5,-5", "'-5'"),
            ("0", "'0'"),
            ("5,0", "'0'"),
            ("1.5", "'1.5'"),
            ("5;15", "'5;15'"),
            ("5 15", "'5 15'"),
            ("5,,15", "empty"),
            ("5,15,", "empty"),
            ("٣", "'٣'"),  # a non-ASCII digit is not a number of minutes here
        ):
            with self.subTest(text=text), self.assertRaises(ValueError) as caught:
                parse_delays(text)
            self.assertIn(named, str(caught.exception))
            self.assertIn("minutes", str(caught.exception))

    def test_parse_max_hours(self):
        for text, expected in (
            ("72", 72.0),
            (" 24 ", 24.0),
            ("1.5", 1.5),
            ("0.25", 0.25),
            (None, 72.0),
            ("", 72.0),
            (False, 72.0),
            (48, 48.0),
        ):
            with self.subTest(text=text):
                self.assertEqual(parse_max_hours(text), expected)
        for text in ("abc", "0", "-1", "nan", "inf", "72h", "1,5", True):
            with self.subTest(text=text), self.assertRaises(ValueError) as caught:
                parse_max_hours(text)
            self.assertIn(repr(text), str(caught.exception))
            self.assertIn("hours", str(caught.exception))

    def test_first_failure(self):
        self.assertEqual(next_attempt(T0, T0, 0), T0 + minutes(5))
        # No first attempt recorded yet: it is now.
        self.assertEqual(next_attempt(None, T0, 0), T0 + minutes(5))

    def test_progression_then_last_delay_repeats(self):
        now, schedule = T0, []
        for retry_count in range(8):
            now = next_attempt(T0, now, retry_count)
            schedule.append(now)
        expected, moment = [], T0
        for delay in (5, 15, 60, 240, 720, 720, 720, 720):
            moment += minutes(delay)
            expected.append(moment)
        self.assertEqual(schedule, expected)
        # The delay counts from the failure being handled, not from the first one.
        late = T0 + minutes(100)
        self.assertEqual(next_attempt(T0, late, 2), late + minutes(60))
        self.assertEqual(next_attempt(T0, T0, 99), T0 + minutes(720))

    def test_custom_delays(self):
        delays = parse_delays("1, 2")
        self.assertEqual(next_attempt(T0, T0, 0, delays=delays), T0 + minutes(1))
        self.assertEqual(next_attempt(T0, T0, 1, delays=delays), T0 + minutes(2))
        self.assertEqual(next_attempt(T0, T0, 5, delays=delays), T0 + minutes(2))

    def test_capped_at_the_deadline(self):
        deadline = T0 + timedelta(hours=72)
        # 12 h delay but only 1 h left: the last attempt is exactly at the deadline.
        now = deadline - timedelta(hours=1)
        self.assertEqual(next_attempt(T0, now, 4), deadline)
        self.assertEqual(next_attempt(T0, deadline - timedelta(seconds=1), 0), deadline)
        # Short window.
        self.assertEqual(
            next_attempt(T0, T0, 3, max_hours=parse_max_hours("1.5")),
            T0 + timedelta(hours=1.5),
        )

    def test_gives_up_at_or_after_the_deadline(self):
        deadline = T0 + timedelta(hours=72)
        self.assertIsNone(next_attempt(T0, deadline, 5))
        self.assertIsNone(next_attempt(T0, deadline + timedelta(days=3), 5))
        self.assertIsNone(next_attempt(T0, T0 + timedelta(hours=2), 1, max_hours=2))
        self.assertIsNotNone(next_attempt(T0, T0 + timedelta(hours=2), 1, max_hours=2.01))

    def test_whole_run_ends_with_an_attempt_at_the_deadline(self):
        """Simulate Postfix-like retries until the window closes."""
        now, retry_count, attempts = T0, 0, [T0]
        while True:
            now = next_attempt(T0, now, retry_count, max_hours=24)
            if now is None:
                break
            attempts.append(now)
            retry_count += 1
        self.assertEqual(attempts[-1], T0 + timedelta(hours=24))
        self.assertEqual(len(attempts), 7)  # +5m, +15m, +1h, +4h, +12h, then the deadline
        self.assertEqual(attempts, sorted(attempts))

    def test_huge_values_do_not_overflow(self):
        self.assertEqual(next_attempt(T0, T0, 0, delays=(10**12,), max_hours=10**12), datetime.max)
