# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Per-server pacing: rate, connection slots, slow-down on throttling replies.

The pure rules (``tools/pacing.py``, throttling replies of ``tools/smtp_status.py``)
are tested without a database; the rest against the real SMTP sink.
"""

import threading
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

from ..models.ir_mail_server import CONNECTION_LOCK_SPACE, TAKE_SEND_SLOT, IrMailServer
from ..models.mail_mail import MailMail
from ..tools import pacing, send_run
from ..tools.constants import QUEUE_CRON_XMLID
from ..tools.smtp_status import classify_smtp_error
from .common import SmtpSinkCase, real_smtp
from .peers import SmtpSink

QUIET = (
    "odoo.addons.mail.models.mail_mail",
    "odoo.addons.mail_reliability.models.ir_mail_server",
    "odoo.addons.mail_reliability.models.mail_mail",
)
NOW = datetime(2026, 3, 10, 15, 0, 20)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
DELETE_OWN_TRIGGERS = """DELETE FROM ir_cron_trigger
                           WHERE cron_id = %s AND id > %s AND call_at BETWEEN %s AND %s"""


@tagged("mail_reliability", "at_install")
class TestPacingRules(BaseCase):
    """tools/pacing.py: windows, effective rate, pauses, slow-down levels."""

    def test_window_counts_the_last_61_seconds(self):
        window = pacing.Window()
        self.assertEqual(window.used(NOW), 0)
        for _n in range(3):
            window = window.take(NOW + timedelta(microseconds=400000), 5)
        self.assertEqual(window.last_second, NOW)
        self.assertEqual(window.sends[-1], 3)
        self.assertEqual(window.used(NOW + 60 * SECOND), 3, "60 seconds later: still counted")
        self.assertEqual(window.used(NOW + 61 * SECOND), 0, "61 seconds later: aged out")
        later = window.take(NOW + 20 * SECOND, 5)
        self.assertEqual(later.last_second, NOW + 20 * SECOND)
        self.assertEqual(later.sends[-21:], (3,) + (0,) * 19 + (1,))
        self.assertIsNone(later.take(NOW + 21 * SECOND, 4), "4 counted, rate 4: full")
        # Counts as read from the database: a list, padded to SPAN on the old side.
        self.assertEqual(pacing.Window(NOW, [2, 1]).sends, (0,) * 59 + (2, 1))

    def test_burst_across_a_minute_boundary_stays_within_the_rate(self):
        """Rate 60: 60 emails at 12:00:59, then a sender trying again and again from
        12:01:00 on. Clock-minute windows let 60 more go at 12:01:00 (120 in two
        seconds); the window lets the next ones go only once the first have aged out."""
        rate, window, sent = 60, pacing.Window(), []
        start = datetime(2026, 3, 10, 12, 0, 59, 500000)
        for step in range(4 * 60 * 10):  # every 0.1 s for 4 minutes
            now = start + step * timedelta(milliseconds=100)
            while (taken := window.take(now, rate)) is not None:
                window = taken
                sent.append(now)
        self.assertEqual(sent[:rate], [start] * rate)
        self.assertEqual(sent[rate], datetime(2026, 3, 10, 12, 2), "61 s after 12:00:59")
        for first in sent:
            in_a_minute = [t for t in sent if first <= t < first + MINUTE]
            self.assertLessEqual(len(in_a_minute), rate, f"60 s from {first}")
        # And the rate is used: 60 every 61 seconds at least.
        self.assertGreaterEqual(len(sent), rate * (4 * 60 // 61))

    def test_any_60_seconds_hold_at_most_the_rate(self):
        """Uneven attempts (bursts, gaps, several a second) at rate 7."""
        rate, window, sent = 7, pacing.Window(), []
        now = NOW
        for step in range(2000):
            now += timedelta(milliseconds=(step * 7919) % 2300)
            taken = window.take(now, rate)
            if taken is not None:
                window = taken
                sent.append(now)
        self.assertGreater(len(sent), 100)
        for first in sent:
            in_a_minute = [t for t in sent if first <= t < first + MINUTE]
            self.assertLessEqual(len(in_a_minute), rate, f"60 s from {first}")

    def test_resume_at_is_the_earliest_moment(self):
        # Rate 5: 2 emails at 15:00:10, 3 at 15:00:40; full at 15:00:45.
        window = pacing.Window().take(NOW.replace(second=10), 5).take(NOW.replace(second=10), 5)
        for _n in range(3):
            window = window.take(NOW.replace(second=40), 5)
        now = NOW.replace(second=45, microsecond=300)
        self.assertIsNone(window.take(now, 5))
        resume = window.resume_at(now, 5)
        self.assertEqual(resume, datetime(2026, 3, 10, 15, 1, 11), "15:00:10 aged out")
        self.assertIsNone(window.take(resume - timedelta(microseconds=1), 5))
        self.assertIsNotNone(window.take(resume, 5))
        # Slowed down to 2: the 3 of 15:00:40 must age out as well.
        self.assertEqual(window.resume_at(now, 2), datetime(2026, 3, 10, 15, 1, 41))
        self.assertIsNone(window.take(datetime(2026, 3, 10, 15, 1, 40, 999999), 2))
        # Free already (e.g. counted by another sender since): the next second.
        self.assertEqual(window.resume_at(now, 50), datetime(2026, 3, 10, 15, 0, 46))

    def test_a_clock_stepped_back_counts_in_the_newest_second(self):
        window = pacing.Window().take(NOW, 5)
        earlier = window.take(NOW - 30 * SECOND, 5)
        self.assertEqual(earlier.last_second, NOW)
        self.assertEqual(earlier.sends[-1], 2)
        self.assertEqual(earlier.resume_at(NOW - 30 * SECOND, 2), NOW + 61 * SECOND)

    def test_off_by_default(self):
        self.assertTrue(pacing.Pace().is_off)
        self.assertFalse(pacing.Pace(rate=5).is_off)
        self.assertFalse(pacing.Pace(max_connections=2).is_off)
        self.assertEqual(pacing.effective_rate(pacing.Pace(), NOW), 0)

    def test_slow_down_halves_then_recovers(self):
        pace = pacing.Pace(rate=30)
        self.assertEqual(pacing.effective_rate(pace, NOW), 30)
        until, level = pacing.after_throttle(pace, NOW)
        self.assertEqual((until, level), (NOW + pacing.SLOW_DOWN, 1))
        slowed = pacing.Pace(rate=30, slowed_until=until, level=level)
        self.assertEqual(pacing.effective_rate(slowed, NOW + MINUTE), 15)
        # The same burst (within a minute) costs no second level.
        self.assertEqual(pacing.after_throttle(slowed, NOW + timedelta(seconds=30)), (until, 1))
        later = NOW + 2 * MINUTE
        until2, level2 = pacing.after_throttle(slowed, later)
        self.assertEqual((until2, level2), (later + pacing.SLOW_DOWN, 2))
        slower = pacing.Pace(rate=30, slowed_until=until2, level=level2)
        self.assertEqual(pacing.effective_rate(slower, later), 7)
        # Never below one a minute, never more levels than MAX_LEVEL.
        floor = pacing.Pace(rate=3, slowed_until=until2, level=40)
        self.assertEqual(pacing.effective_rate(floor, later), 1)
        self.assertEqual(pacing.after_throttle(floor, until2 - MINUTE)[1], pacing.MAX_LEVEL)
        # Back to full pace once the slow-down is over.
        self.assertEqual(pacing.effective_rate(slower, until2), 30)
        self.assertEqual(pacing.after_throttle(slower, until2)[1], 1)

    def test_server_without_rate_is_not_slowed(self):
        pace = pacing.Pace()
        until, level = pacing.after_throttle(pace, NOW)
        recorded = pacing.Pace(slowed_until=until, level=level)
        self.assertTrue(recorded.is_off, "installing changes nothing: no pace, no hold")
        self.assertEqual(recorded.slowed(NOW), 1, "the reply is recorded (and shown)")
        self.assertEqual(pacing.effective_rate(recorded, NOW), 0)

    def test_slot_keys(self):
        keys = {pacing.slot_key(server, slot) for server in (1, 2, 3) for slot in (1, 50, 100)}
        self.assertEqual(len(keys), 9, "no two servers share a lock")
        with self.assertRaises(ValueError):
            pacing.slot_key(1, 0)
        with self.assertRaises(ValueError):
            pacing.slot_key(1, pacing.MAX_CONNECTIONS + 1)


# (code argument, reply as smtplib keeps it or whole, permanent, slows the server down)
# fmt: off
THROTTLING_REPLIES = [
    # Gmail: the server hangs up and asks to come back later
    (421, "4.7.0 Try again later, closing connection. (EHLO) gsmtp", False, True),
    (None, "421-4.7.0 Try again later, closing connection. (MAIL) "
           "d2e1a72fcca58-7b0f1e5c2f4si123456b3a.123 - gsmtp", False, True),
    # Gmail's daily limit, said permanently: temporary here (accepted after the reset)
    (550, "5.4.5 Daily user sending limit exceeded. For more information on Gmail sending "
          "limits go to https://support.google.com/a/answer/166852 - gsmtp", False, True),
    (None, "550-5.4.5 Daily user sending quota exceeded.\n"
           "550 5.4.5 https://support.google.com/mail/?p=DailyLimitExceeded", False, True),
    # Yahoo
    (None, "421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to "
           "unexpected volume or user complaints - 4.16.55.1; see "
           "https://postmaster.yahooinc.com/error-codes", False, True),
    # Amazon SES
    (454, "Throttling failure: Maximum sending rate exceeded.", False, True),
    (454, "Throttling failure: Daily message quota exceeded.", False, True),
    # Microsoft 365 / Exchange
    (432, "4.3.2 Concurrent connections limit exceeded.", False, True),
    (None, "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded", False, True),
    (554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to "
          "process message due to a permanent exception with message Cannot submit "
          "message.", False, True),
    (550, "5.1.90 Your message can't be sent because you've reached your daily limit for "
          "message recipients", False, True),
    (421, "4.4.2 Message submission rate for this client has exceeded the configured limit",
     False, True),
    # Postfix-style policy servers
    (None, "451 4.7.1 <a@example.com>: Recipient address rejected: too many messages from "
           "203.0.113.7, try again later", False, True),
]
NOT_THROTTLING = [
    # Microsoft's send-as refusal and its "continuous errors" throttle need a person
    (554, "5.2.252 SendAsDenied; sender@example.com not allowed to send as "
          "other@example.com; STOREDRV.Submission.Exception:SendAsDeniedException."
          "MapiExceptionSendAsDenied", True),
    (550, "5.2.252 Sender throttled due to continuous send as denied errors.", True),
    # Gmail: unsolicited mail is spam, not a pace
    (550, "5.7.28 [203.0.113.7] Our system has detected an unusual rate of unsolicited mail "
          "originating from your IP address. To protect our users from spam, mail sent from "
          "your IP address has been blocked.", True),
    # About one recipient or one message, not the server's pace
    (450, "4.2.1 The user you are trying to contact is receiving mail at a rate that "
          "prevents additional messages from being delivered.", False),
    (452, "4.5.3 Too many recipients", False),
    (None, "451 4.7.1 <ann@example.com>: Recipient address rejected: Greylisted, please try "
           "again later", False),
    (None, "452 4.2.2 <dan@example.com>: Mailbox full, quota exceeded", False),
    (None, "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown", True),
]
# fmt: on


@tagged("mail_reliability", "at_install")
class TestThrottlingReplies(BaseCase):
    def test_throttling_replies_slow_the_server_down(self):
        for code, reply, permanent, throttled in THROTTLING_REPLIES:
            with self.subTest(reply=reply[:60]):
                verdict = classify_smtp_error(code, reply)
                self.assertEqual(verdict.permanent, permanent)
                self.assertEqual(verdict.failure_type, "mail_smtp_temporary")
                self.assertIs(verdict.throttled, throttled)

    def test_other_replies_do_not(self):
        for code, reply, permanent in NOT_THROTTLING:
            with self.subTest(reply=reply[:60]):
                verdict = classify_smtp_error(code, reply)
                self.assertEqual(verdict.permanent, permanent)
                self.assertFalse(verdict.throttled)

    def test_explanation_says_why_a_5xx_limit_is_retried(self):
        verdict = classify_smtp_error(550, THROTTLING_REPLIES[2][1])
        self.assertIn("rate-limiting", verdict.explanation)
        self.assertIn("permanent (5xx)", verdict.explanation)


class PacingCase(SmtpSinkCase):
    def setUp(self):
        super().setUp()
        self.queue_cron = self.env.ref(QUEUE_CRON_XMLID)

    def _mails(self, count, prefix="pace", **values):
        return self.env["mail.mail"].browse(
            [
                self.create_outgoing_mail(
                    f"{prefix}{n}@example.com", auto_delete=False, **values
                ).id
                for n in range(count)
            ]
        )

    def _run_queue(self, mails):
        with self.real_smtp(), mute_logger(*QUIET):
            self.env["mail.mail"].process_email_queue(ids=mails.ids)

    def _queue_triggers(self):
        return self.env["ir.cron.trigger"].search([("cron_id", "=", self.queue_cron.id)])

    def _db_second(self):
        """The database clock's current second (what the window counts by)."""
        self.env.cr.execute("SELECT date_trunc('second', clock_timestamp() AT TIME ZONE 'UTC')")
        return self.env.cr.fetchone()[0]

    def _window(self, server=None):
        """``(Window, used)`` of the server's row, or None."""
        self.env.cr.execute(
            "SELECT last_second, sends, used FROM mail_pacing_window WHERE mail_server_id = %s",
            [(server or self.mail_server).id],
        )
        row = self.env.cr.fetchone()
        return row and (pacing.Window(row[0], row[1]), row[2])

    def _seed_window(self, last_second, sends, server=None):
        """The server's window as if ``sends`` (per second, up to ``last_second``) were sent."""
        self.env.cr.execute(
            """INSERT INTO mail_pacing_window (mail_server_id, last_second, used, sends)
               VALUES (%(server)s, %(last)s, %(used)s, %(sends)s)
               ON CONFLICT (mail_server_id) DO UPDATE
                  SET last_second = %(last)s, used = %(used)s, sends = %(sends)s""",
            {
                "server": (server or self.mail_server).id,
                "last": last_second,
                "used": sum(sends),
                "sends": list(sends),
            },
        )

    def _age_window(self, seconds=pacing.SPAN):
        """As if ``seconds`` had passed on the database's clock since the last email
        counted (the window's seconds moved back)."""
        self.env.cr.execute(
            "UPDATE mail_pacing_window SET last_second = last_second - %s"
            " WHERE mail_server_id = %s",
            [timedelta(seconds=seconds), self.mail_server.id],
        )

    def _oldest_counted(self):
        window, _used = self._window()
        age = next(i for i, count in enumerate(window.sends) if count)
        return window.last_second - (pacing.SPAN - 1 - age) * SECOND


@tagged("mail_reliability", "post_install", "-at_install")
class TestPacingRate(PacingCase):
    def test_rate_holds_the_rest_in_the_queue_until_the_window_allows(self):
        self.mail_server.rate_per_minute = 5
        mails = self._mails(12)
        triggers_before = self._queue_triggers()
        self._run_queue(mails)
        sent = mails.filtered(lambda m: m.state == "sent")
        waiting = mails - sent
        self.assertEqual(len(sent), 5)
        self.assertEqual(len(self.sink.deliveries), 5)
        self.assertEqual(sent, mails[:5], "FIFO: the oldest go first")
        self.assertEqual(set(waiting.mapped("state")), {"outgoing"})
        self.assertEqual(set(waiting.mapped("failure_type")), {False})
        self.assertEqual(set(waiting.mapped("retry_count")), {0})
        self.assertEqual(set(waiting.mapped("scheduled_date")), {False})
        # Woken when the first email counted has aged out (61 s after its second).
        new = self._queue_triggers() - triggers_before
        self.assertEqual(new.mapped("call_at"), [self._oldest_counted() + 61 * SECOND])
        # Again at once: nothing more goes out, no second trigger.
        self._run_queue(waiting)
        self.assertEqual(len(self.sink.deliveries), 5)
        self.assertEqual(len(self._queue_triggers() - triggers_before), 1)
        self._age_window()
        self._run_queue(waiting)
        self.assertEqual(len(self.sink.deliveries), 10)
        self.assertEqual(mails.filtered(lambda m: m.state == "sent"), mails[:10])
        self._age_window()
        self._run_queue(waiting)
        self.assertEqual(set(mails.mapped("state")), {"sent"})
        self.assertEqual(len(self.sink.deliveries), 12, "each mail delivered once")
        self.assertEqual(set(mails.mapped("retry_count")), {0})
        window, used = self._window()
        self.assertEqual((sum(window.sends), used), (2, 2), "one row, the last 61 seconds")

    def test_burst_across_a_minute_boundary_stays_within_the_rate(self):
        """5 emails at 15:00:59 and the queue run again at 15:01:00 by the Odoo process's
        clock: counted per clock minute, 5 more would go (10 in a second). The window
        counts by the database's clock, over the last 60 seconds: nothing more goes."""
        self.mail_server.rate_per_minute = 5
        mails = self._mails(10)
        with freeze_time(datetime(2026, 3, 10, 15, 0, 59, 500000)):
            self._run_queue(mails)
        with freeze_time(datetime(2026, 3, 10, 15, 1, 0, 200000)):
            self._run_queue(mails.filtered(lambda m: m.state == "outgoing"))
        self.assertEqual(len(self.sink.deliveries), 5)
        self.assertEqual(len(mails.filtered(lambda m: m.state == "outgoing")), 5)
        # The same burst by the database's clock: 5 in the second before this one.
        self._seed_window(self._db_second() - SECOND, [0] * (pacing.SPAN - 1) + [5])
        self._run_queue(mails)
        self.assertEqual(len(self.sink.deliveries), 5)

    def test_the_database_clock_decides(self):
        """An Odoo process whose clock is years off counts in the database's second."""
        self.mail_server.rate_per_minute = 2
        mails = self._mails(3)
        before = self._db_second()
        with freeze_time(datetime(2031, 6, 1, 12, 0, 59)):
            triggers_before = self._queue_triggers()
            self._run_queue(mails)
            new = self._queue_triggers() - triggers_before
        after = self._db_second()
        self.assertEqual(len(new), 1)
        self.assertTrue(before + 60 * SECOND <= new.call_at <= after + 61 * SECOND, new.call_at)
        window, used = self._window()
        self.assertEqual(used, 2)
        self.assertTrue(before <= window.last_second <= after, window.last_second)

    def test_hold_time_is_the_earliest_allowed_moment(self):
        self.mail_server.rate_per_minute = 5
        mails = self._mails(2)
        now = self._db_second()
        # 2 emails 50 seconds ago, 3 emails 20 seconds ago: full until the 2 age out.
        sends = [0] * pacing.SPAN
        sends[-51], sends[-21] = 2, 3
        self._seed_window(now, sends)
        triggers_before = self._queue_triggers()
        self._run_queue(mails)
        self.assertEqual(len(self.sink.deliveries), 0)
        calls = (self._queue_triggers() - triggers_before).mapped("call_at")
        self.assertEqual(calls, [now + 11 * SECOND], "61 s after the second of the 2")
        # 4 emails 20 seconds ago: one more goes, the next when the 4 age out.
        sends[-51], sends[-21] = 0, 4
        self._seed_window(now, sends)
        triggers_before = self._queue_triggers()
        self._run_queue(mails)
        self.assertEqual(len(self.sink.deliveries), 1)
        calls = (self._queue_triggers() - triggers_before).mapped("call_at")
        self.assertEqual(calls, [now + 41 * SECOND])

    def test_statement_counts_as_the_window_rules_say(self):
        """The one statement (``TAKE_SEND_SLOT``) against ``tools.pacing.Window.take``
        at the database second it read, on windows seeded around it."""
        full_in_oldest = [5] + [0] * (pacing.SPAN - 1)
        cases = [
            ("new row", None, None, 5),
            ("same second", 0, [0] * (pacing.SPAN - 3) + [1, 0, 2], 5),
            ("full", 0, [0] * 40 + [5] + [0] * 20, 5),
            ("full in the oldest second", 0, full_in_oldest, 5),
            ("the oldest aged out", 1, full_in_oldest, 5),
            ("all aged out", 70, [1] * pacing.SPAN, 5),
            ("a rate of 1", 30, [0] * (pacing.SPAN - 1) + [1], 1),
            ("clock stepped back", -30, [0] * (pacing.SPAN - 1) + [1], 5),
        ]
        for name, age, sends, rate in cases:
            with self.subTest(name):
                self.env.cr.execute(
                    "DELETE FROM mail_pacing_window WHERE mail_server_id = %s",
                    [self.mail_server.id],
                )
                seeded = pacing.Window()
                if sends is not None:
                    seeded = pacing.Window(self._db_second() - age * SECOND, sends)
                    self._seed_window(seeded.last_second, sends)
                self.env.cr.execute(TAKE_SEND_SLOT, {"server": self.mail_server.id, "rate": rate})
                counted, _last, _sends, now = self.env.cr.fetchone()[:4]
                expected = seeded.take(now, rate)
                self.assertEqual(counted, expected is not None)
                window, used = self._window() or (pacing.Window(), 0)
                if expected is not None:
                    self.assertEqual(window, expected)
                    self.assertEqual(used, expected.used(now))
                else:
                    self.assertEqual(window, seeded, "nothing written when not counted")
                    resume = seeded.resume_at(now, rate)
                    self.assertTrue(now < resume <= now + pacing.SPAN * SECOND)

    def test_gc_keeps_the_window(self):
        other = self.mail_server.copy({"name": "Idle server"})
        now = self._db_second()
        sends = [0] * (pacing.SPAN - 1) + [3]
        self._seed_window(now - 30 * SECOND, sends)
        self._seed_window(now - timedelta(days=2), sends, server=other)
        self.env["mail.pacing.window"]._gc_pacing_windows()
        self.assertEqual(self._window()[1], 3, "a window in use is kept")
        self.assertIsNone(self._window(other), "a server idle for two days has none left")

    def test_negative_or_huge_values_are_refused(self):
        with self.assertRaises(ValidationError):
            self.mail_server.rate_per_minute = -1
        with self.assertRaises(ValidationError):
            self.mail_server.max_connections = pacing.MAX_CONNECTIONS + 1

    def test_form_shows_the_pace(self):
        self.assertEqual(self.mail_server.pace_summary, "No limit")
        self.mail_server.rate_per_minute = 30
        self.assertEqual(self.mail_server.pace_summary, "30 emails per minute")


@tagged("mail_reliability", "post_install", "-at_install")
class TestPacingSlowDown(PacingCase):
    def test_throttling_reply_halves_the_rate_and_is_shown(self):
        self.mail_server.rate_per_minute = 10
        throttled = self._mails(1, prefix="throttled1-")
        others = self._mails(8, prefix="after")
        with freeze_time(NOW):
            self._run_queue(throttled + others)
            # The throttled mail itself is deferred as any temporary failure.
            self.assertEqual(throttled.state, "outgoing")
            self.assertEqual(throttled.retry_count, 1)
            self.assertIn("421", throttled.failure_reason)
            server = self.mail_server.with_context(tz="UTC")
            self.assertEqual(server.slowed_until, NOW.replace(microsecond=0) + pacing.SLOW_DOWN)
            self.assertEqual(server.slow_level, 1)
            self.assertIn("421 4.7.0 Too many messages", server.slowed_reason)
            self.assertIn("5 emails per minute", server.pace_summary)
            self.assertIn("slowed down until 15:15 because:", server.pace_summary)
            self.assertIn("421 4.7.0", server.pace_summary)
            # The server hung up on the 421: the rest waits for the next session, untouched.
            self.assertEqual(set(others.mapped("state")), {"outgoing"})
            self.assertEqual(set(others.mapped("retry_count")), {0})
            self.assertEqual(set(others.mapped("failure_type")), {False})
        self._age_window()  # the throttled email's unit aged out
        with freeze_time(NOW + MINUTE):
            self._run_queue(others)
            self.assertEqual(len(others.filtered(lambda m: m.state == "sent")), 5, "half of 10")
        self._age_window()
        with freeze_time(NOW + pacing.SLOW_DOWN + MINUTE):
            self.mail_server.invalidate_recordset(["pace_summary"])  # computed for "now"
            self.assertEqual(self.mail_server.pace_summary, "10 emails per minute")
            self._run_queue(others)
            self.assertEqual(set(others.mapped("state")), {"sent"})

    def test_server_without_rate_records_the_reply_but_is_not_slowed(self):
        throttled = self._mails(1, prefix="throttled1-")
        others = self._mails(3, prefix="after")
        with freeze_time(NOW):
            self._run_queue(throttled + others)
            server = self.mail_server.with_context(tz="UTC")
            self.assertEqual(server.slow_level, 1)
            self.assertEqual(
                server.pace_summary,
                f"No limit; the server asked to slow down ({server.slowed_reason}): set "
                "Emails per Minute to let Odoo slow down for it until 15:15",
            )
            self._run_queue(others.filtered(lambda m: m.state == "outgoing"))
            # Only what the dropped session deferred (as before pacing) waits; nothing is held.
            held = others.filtered(lambda m: m.state == "outgoing" and not m.retry_count)
            self.assertFalse(held)
            self.assertTrue(others.filtered(lambda m: m.state == "sent"))

    def test_5xx_sending_limit_is_deferred_not_failed(self):
        self.sink.add_rule(
            r"dailylimit",
            "rcpt",
            "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail "
            "sending limits go to https://support.google.com/a/answer/166852 - gsmtp",
            times=1,
        )
        mail = self._mails(1, prefix="dailylimit-")
        with freeze_time(NOW):
            self._run_queue(mail)
        self.assertEqual(mail.state, "outgoing")
        self.assertEqual(mail.failure_type, "mail_smtp_temporary")
        self.assertEqual(mail.retry_count, 1)
        self.assertEqual(self.mail_server.slow_level, 1)


@tagged("mail_reliability", "post_install", "-at_install")
class TestPacingCost(PacingCase):
    def _count_send(self, count, prefix):
        mails = self._mails(count, prefix=prefix)
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        self._run_queue(mails)
        self.env.flush_all()
        self.assertEqual(set(mails.mapped("state")), {"sent"})
        return self.env.cr.sql_log_count - before

    def test_pacing_off_costs_no_query(self):
        """The same send counted with the pacing hook in place and with it cut out."""
        self._count_send(3, "warm")
        with patch.object(IrMailServer, "_mr_pace_hold", lambda *args: None):
            without = self._count_send(3, "without")
        with_hook = self._count_send(3, "with")
        self.assertEqual(with_hook, without)
        # The counter does see pacing when it is on: one statement more per mail at least.
        self.mail_server.rate_per_minute = 1000
        self.env.flush_all()
        paced = self._count_send(3, "paced")
        self.assertGreaterEqual(paced, without + 3)


@tagged("mail_reliability", "post_install", "-at_install")
class TestConnectionSlots(PacingCase):
    def _hold_slot_elsewhere(self, slot=1):
        """Another process's open session: a session advisory lock on another connection."""
        cr = self.registry.cursor()
        self.addCleanup(cr.close)
        key = pacing.slot_key(self.mail_server.id, slot)
        cr.execute("SELECT pg_advisory_lock(%s, %s)", [CONNECTION_LOCK_SPACE, key])
        return cr, key

    def _slot_free(self, slot=1):
        with self.registry.cursor() as cr:
            key = pacing.slot_key(self.mail_server.id, slot)
            cr.execute("SELECT pg_try_advisory_lock(%s, %s)", [CONNECTION_LOCK_SPACE, key])
            free = cr.fetchone()[0]
            if free:
                cr.execute("SELECT pg_advisory_unlock(%s, %s)", [CONNECTION_LOCK_SPACE, key])
        return free

    def test_a_sender_finding_every_slot_taken_waits(self):
        self.mail_server.max_connections = 1
        self.env.flush_all()
        mails = self._mails(3)
        other, key = self._hold_slot_elsewhere()
        with freeze_time(NOW):
            triggers_before = self._queue_triggers()
            self._run_queue(mails)
            self.assertEqual(len(self.sink.deliveries), 0)
            self.assertEqual(set(mails.mapped("state")), {"outgoing"})
            self.assertEqual(set(mails.mapped("retry_count")), {0})
            self.assertEqual(set(mails.mapped("failure_type")), {False})
            calls = (self._queue_triggers() - triggers_before).mapped("call_at")
            self.assertEqual(calls, [NOW.replace(microsecond=0) + pacing.CONNECTION_RETRY])
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [CONNECTION_LOCK_SPACE, key])
        self._run_queue(mails)
        self.assertEqual(set(mails.mapped("state")), {"sent"})
        self.assertTrue(self._slot_free(), "released when the session quit")

    def test_session_holds_its_slot_until_it_quits(self):
        """Slots are per connection to PostgreSQL (one per sending batch): other
        processes' sessions are stood for by locks on connections of their own."""
        self.mail_server.max_connections = 2
        self.env.flush_all()
        Server = self.env["ir.mail_server"]
        self._hold_slot_elsewhere(1)
        with real_smtp(), send_run.opened(self.env):
            session = Server.connect(mail_server_id=self.mail_server.id)
            self.assertFalse(getattr(session, "_mr_no_slot", False))
            self.assertFalse(self._slot_free(2), "the free slot is held for the session")
            session.quit()
            self.assertTrue(self._slot_free(2), "and released when it quits")
            self._hold_slot_elsewhere(2)
            session = Server.connect(mail_server_id=self.mail_server.id)
            self.assertTrue(getattr(session, "_mr_no_slot", False), "no third session")
            session.quit()
        # Outside a sending batch (e.g. "Test Connection") there is no cap.
        with real_smtp():
            session = Server.connect(mail_server_id=self.mail_server.id)
            self.assertFalse(getattr(session, "_mr_no_slot", False))
            session.quit()


@tagged("mail_reliability", "post_install", "-at_install")
class TestPacingAcrossSenders(BaseCase):
    """Two senders, each in a thread with its own cursors (as two queue lanes or two
    Odoo processes), do not exceed the rate together. Commits its own server and
    mails and deletes them (with their pacing rows and the queue triggers it added)."""

    RATE = 5

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.sink = SmtpSink().start()
        cls.addClassCleanup(cls.sink.stop)

    def setUp(self):
        super().setUp()
        self.sink.reset()

    def _as_sender(self, mail_ids, barrier, outcome):
        def run():
            try:
                with self.registry.cursor() as cr:
                    cr.transaction = Transaction(self.registry)
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    barrier.wait(30)
                    # Muted by the test thread around both senders: mute_logger in two
                    # threads at once can leave a logger muted for every later test.
                    env["mail.mail"].process_email_queue(ids=mail_ids)
            except Exception as exc:  # re-raised in the test thread
                outcome.append(exc)

        return threading.Thread(target=run, name="mr-pacing-sender")

    def _committed_server_and_mails(self, name, count, **server_values):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            server = env["ir.mail_server"].create(
                {
                    "name": name,
                    "smtp_host": self.sink.host,
                    "smtp_port": self.sink.port,
                    "smtp_encryption": "none",
                    "use_database_quota": False,  # nothing to count or clean in the ledger
                    **server_values,
                }
            )
            mails = env["mail.mail"].create(
                [
                    {
                        "subject": f"{name} {n}",
                        "body_html": "<p>race</p>",
                        "email_from": "sender@example.com",
                        "email_to": f"{name.replace(' ', '-')}{n}@example.com",
                        "mail_server_id": server.id,
                        "auto_delete": False,
                    }
                    for n in range(count)
                ]
            )
            return server.id, mails.ids

    def _delete(self, server_id, mail_ids):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["mail.mail"].browse(mail_ids).unlink()
            # The statistics rows these sends added (in this test's own server's name).
            cr.execute("DELETE FROM mail_delivery_stats WHERE mail_server_id = %s", [server_id])
            env["ir.mail_server"].browse(server_id).unlink()  # its pacing rows cascade

    def test_pacing_off_costs_no_query_on_the_cron_path(self):
        """The queue cron's own path (``send(auto_commit=True)``: a commit after each
        mail, which empties the ORM cache), on a real cursor: the statements of a
        batch are the same with the pacing hook in place and with it cut out."""
        server_id, mail_ids = self._committed_server_and_mails("cost", 15)
        counts = {}

        def count(key, ids):
            with self.registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                before = cr.sql_log_count
                with mute_logger(*QUIET):
                    env["mail.mail"].browse(ids).send(auto_commit=True)
                counts[key] = cr.sql_log_count - before

        try:
            with real_smtp():
                count("warm-up", mail_ids[:5])
                with patch.object(IrMailServer, "_mr_pace_hold", lambda *args: None):
                    count("without", mail_ids[5:10])
                count("with", mail_ids[10:])
            self.assertEqual(len(self.sink.deliveries_to("cost14@example.com")), 1)
            self.assertEqual(counts["with"], counts["without"], counts)
        finally:
            self._delete(server_id, mail_ids)

    def test_two_senders_share_the_rate(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            cron_id = env.ref(QUEUE_CRON_XMLID).id
            cr.execute(
                "SELECT COALESCE(MAX(id), 0), clock_timestamp() AT TIME ZONE 'UTC'"
                " FROM ir_cron_trigger"
            )
            last_trigger, started = cr.fetchone()
        server_id, mail_ids = self._committed_server_and_mails(
            "race", 12, rate_per_minute=self.RATE
        )
        threads = []
        try:
            barrier, outcome = threading.Barrier(2), []
            # Each sender gets its own mails: both are entitled to send, the rate says no.
            threads = [
                self._as_sender(mail_ids[:6], barrier, outcome),
                self._as_sender(mail_ids[6:], barrier, outcome),
            ]
            # Statistics are not what this covers, and their writer opens an environment
            # on a cursor of its own, which needs the registry lock the test runner holds.
            no_stats = patch.object(MailMail, "_mr_count_delivery", lambda *args: None)
            with real_smtp(), no_stats, mute_logger(*QUIET):
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
            self.assertFalse(any(t.is_alive() for t in threads), "sender stuck")
            if outcome:
                raise outcome[0]
            self.assertEqual(len(self.sink.deliveries), self.RATE)
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT state, COUNT(*), COALESCE(MAX(retry_count), 0) FROM mail_mail"
                    " WHERE id = ANY(%s)"
                    " GROUP BY state",
                    [mail_ids],
                )
                states = {state: (count, retries) for state, count, retries in cr.fetchall()}
                cr.execute(
                    "SELECT used, sends FROM mail_pacing_window WHERE mail_server_id = %s",
                    [server_id],
                )
                [(used, sends)] = cr.fetchall()
                self.assertEqual((used, sum(sends)), (self.RATE, self.RATE))
            self.assertEqual(states, {"sent": (self.RATE, 0), "outgoing": (12 - self.RATE, 0)})
        finally:
            # A stuck sender holds its rows: cleaning up would wait for it forever.
            if not any(t.is_alive() for t in threads):
                self._delete(server_id, mail_ids)
                with self.registry.cursor() as cr:
                    cr.execute(
                        DELETE_OWN_TRIGGERS,
                        [cron_id, last_trigger, started, started + 5 * MINUTE],
                    )
