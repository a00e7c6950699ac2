# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Delivery statistics: what an outcome counts, and the rows it adds to."""

from datetime import date

from odoo.tests import BaseCase, TransactionCase, tagged
from odoo.tools import mute_logger

from ..tools import send_run
from ..tools.delivery_stats import (
    DeliveryCounts,
    bounce_rates,
    domain_of,
    outcome_counters,
    worst,
)
from ..tools.smtp_status import SmtpVerdict
from .common import SmtpSinkCase


def verdict(failure_type, permanent):
    return SmtpVerdict(failure_type, 550 if permanent else 450, None, permanent, "")


HARD = verdict("mail_smtp_recipient", True)
POLICY = verdict("mail_smtp_policy", True)
LATER = verdict("mail_smtp_temporary", False)
QUOTA = verdict("mail_quota", False)


@tagged("mail_reliability", "post_install", "-at_install")
class TestDeliveryCounters(BaseCase):
    def test_domain_of(self):
        self.assertEqual(domain_of("Ann@Example.COM"), "example.com")
        self.assertEqual(domain_of("<bob@b.org>"), "b.org")
        self.assertEqual(domain_of("no-at-sign"), "")
        self.assertEqual(domain_of(None), "")

    def test_success_counts_what_the_server_accepted(self):
        self.assertEqual(
            outcome_counters(["a@x.com", "b@y.com"], delivered={"a@x.com", "b@y.com"}),
            [("attempted", ["a@x.com", "b@y.com"]), ("sent", ["a@x.com", "b@y.com"])],
        )

    def test_success_without_transport_detail_counts_every_recipient(self):
        self.assertEqual(
            outcome_counters(["A@x.com"]),
            [("attempted", ["a@x.com"]), ("sent", ["a@x.com"])],
        )

    def test_partial_refusal(self):
        counted = outcome_counters(
            ["a@x.com", "b@y.com", "c@z.com"],
            delivered={"a@x.com"},
            refused={"b@y.com": HARD, "c@z.com": LATER},
        )
        self.assertEqual(
            counted,
            [
                ("attempted", ["a@x.com", "b@y.com", "c@z.com"]),
                ("sent", ["a@x.com"]),
                ("hard_bounced", ["b@y.com"]),
                ("deferred", ["c@z.com"]),
            ],
        )

    def test_whole_mail_failures(self):
        self.assertEqual(
            outcome_counters(["a@x.com"], verdict=POLICY),
            [("attempted", ["a@x.com"]), ("failed", ["a@x.com"])],
        )
        self.assertEqual(
            outcome_counters(["a@x.com"], verdict=LATER),
            [("attempted", ["a@x.com"]), ("deferred", ["a@x.com"])],
        )
        self.assertEqual(
            outcome_counters(["a@x.com"], verdict=HARD),
            [("attempted", ["a@x.com"]), ("hard_bounced", ["a@x.com"])],
        )

    def test_every_recipient_refused_counts_each_once(self):
        counted = outcome_counters(
            ["a@x.com", "b@x.com"], refused={"a@x.com": HARD, "b@x.com": HARD}, verdict=HARD
        )
        self.assertEqual(
            counted,
            [
                ("attempted", ["a@x.com", "b@x.com"]),
                ("hard_bounced", ["a@x.com"]),
                ("hard_bounced", ["b@x.com"]),
            ],
        )

    def test_quota_hold_is_not_an_attempt(self):
        self.assertEqual(outcome_counters(["a@x.com"], verdict=QUOTA), [])

    def test_counts_sum_per_domain(self):
        counts = DeliveryCounts()
        counts.add(["a@x.com", "b@x.com", "c@y.com"], "sent", mail_server_id=3)
        counts.add(["d@x.com"], "sent", mail_server_id=3)
        counts.add(["e@x.com"], "sent", mail_server_id=4)
        rows = {(d["mail_server_id"], d["recipient_domain"]): c["sent"] for d, c in counts.rows()}
        self.assertEqual(rows, {(3, "x.com"): 3, (3, "y.com"): 1, (4, "x.com"): 1})
        with self.assertRaises(ValueError):
            counts.add(["a@x.com"], "opened")


@tagged("mail_reliability", "post_install", "-at_install")
class TestDeliveryStatsRows(TransactionCase):
    def test_counts_add_to_the_same_row(self):
        Stats = self.env["mail.delivery.stats"]
        server = self.env["ir.mail_server"].create({"name": "stats", "smtp_host": "localhost"})
        day = date(2026, 1, 5)
        counts = DeliveryCounts()
        counts.add(["a@stats-x.test", "b@stats-x.test"], "attempted", mail_server_id=server.id)
        counts.add(["a@stats-x.test"], "sent", mail_server_id=server.id)
        counts.add(["b@stats-x.test"], "hard_bounced", mail_server_id=server.id)
        Stats._mr_write_counts(counts, day=day)
        Stats._mr_write_counts(counts, day=day)
        row = Stats.search([("mail_server_id", "=", server.id), ("date", "=", day)])
        self.assertEqual(len(row), 1)
        self.assertEqual(row.recipient_domain, "stats-x.test")
        self.assertEqual(
            (row.attempted, row.sent, row.hard_bounced, row.soft_bounced, row.failed),
            (4, 2, 2, 0, 0),
        )
        # Another day is another row; a server deleted later leaves its counts.
        Stats._mr_write_counts(counts, day=date(2026, 1, 6))
        self.assertEqual(Stats.search_count([("recipient_domain", "=", "stats-x.test")]), 2)
        server.unlink()
        self.assertEqual(
            sum(Stats.search([("recipient_domain", "=", "stats-x.test")]).mapped("sent")), 3
        )


@tagged("mail_reliability", "post_install", "-at_install")
class TestBounceRates(BaseCase):
    ROWS = [
        (
            {"mail_server_id": 1, "recipient_domain": "a.test", "mailing_id": 7},
            {"attempted": 100, "hard_bounced": 12},
        ),
        (
            {"mail_server_id": 1, "recipient_domain": "b.test", "mailing_id": False},
            {"attempted": 100, "hard_bounced": 2},
        ),
        (
            {"mail_server_id": 2, "recipient_domain": "a.test", "mailing_id": False},
            {"attempted": 10, "hard_bounced": 5},
        ),
    ]

    def test_rate_per_server_above_the_minimum_volume(self):
        self.assertEqual(bounce_rates(self.ROWS, "mail_server_id", 50), [(1, 200, 14, 7.0)])
        self.assertEqual(
            bounce_rates(self.ROWS, "mail_server_id", 1),
            [(2, 10, 5, 50.0), (1, 200, 14, 7.0)],
        )

    def test_worst_domains_and_campaigns(self):
        self.assertEqual(
            worst(self.ROWS, "recipient_domain", {"mail_server_id": 1}),
            [("a.test", 12), ("b.test", 2)],
        )
        self.assertEqual(worst(self.ROWS, "mailing_id"), [(7, 12)])


@tagged("mail_reliability", "post_install", "-at_install")
class TestDeliveryStatsRecorded(SmtpSinkCase):
    """Outcomes at the real SMTP sink end up in the statistics, per domain."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.record = cls.env["res.partner"].create({"name": "Stats thread"})
        cls.partners = cls.env["res.partner"].create(
            [
                {"name": "Alice", "email": "alice@stats-a.test"},
                {"name": "Bob", "email": "bob@stats-a.test"},
                {"name": "Carl", "email": "unknown-carl@stats-b.test"},
                {"name": "Dan", "email": "greylisted-dan@stats-b.test"},
            ]
        )

    def setUp(self):
        super().setUp()
        # Counts written after commit use a cursor of their own: in this test it
        # works inside the test's transaction (rolled back at the end).
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)

    def _rows(self):
        rows = self.env["mail.delivery.stats"].search(
            [("recipient_domain", "in", ("stats-a.test", "stats-b.test"))]
        )
        return {
            row.recipient_domain: (
                row.attempted,
                row.sent,
                row.hard_bounced,
                row.deferred,
                row.failed,
            )
            for row in rows
        }

    def _post(self):
        return self.record.with_context(mail_notify_force_send=False).message_post(
            body="<p>Stats</p>",
            partner_ids=self.partners.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            email_from="news@stats-sender.test",
        )

    def test_counted_after_commit_outside_the_queue_cron(self):
        self._post()
        with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            self.env["mail.mail"].process_email_queue()
        # Nothing is written before the transaction commits...
        self.assertEqual(self._rows(), {})
        self.env.cr.postcommit.run()
        self.assertEqual(
            self._rows(),
            {"stats-a.test": (2, 2, 0, 0, 0), "stats-b.test": (2, 0, 1, 1, 0)},
        )
        row = self.env["mail.delivery.stats"].search([("recipient_domain", "=", "stats-a.test")])
        self.assertEqual(row.mail_server_id, self.mail_server)
        self.assertEqual(row.sender_domain, "stats-sender.test")

    def test_counted_by_the_batch_when_each_mail_commits(self):
        self._post()
        mails = self.env["mail.mail"].search([("state", "=", "outgoing")])
        with (
            self.real_smtp(),
            mute_logger("odoo.addons.mail.models.mail_mail"),
            send_run.opened(self.env, each_mail_committed=True),
        ):
            mails.send()
        self.assertEqual(
            self._rows(),
            {"stats-a.test": (2, 2, 0, 0, 0), "stats-b.test": (2, 0, 1, 1, 0)},
        )
        self.assertFalse(self.env.cr.postcommit.data.get("mail_reliability.delivery_counts"))

    def test_sender_refused_counts_as_failed(self):
        self.create_outgoing_mail("eve@stats-a.test", email_from="unverified@stats-sender.test")
        with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            self.env["mail.mail"].process_email_queue()
        self.env.cr.postcommit.run()
        # The sender was refused at DATA: a permanent failure that is not the recipient's.
        self.assertEqual(self._rows(), {"stats-a.test": (1, 0, 0, 0, 1)})


@tagged("mail_reliability", "post_install", "-at_install")
class TestBounceRateCheck(TransactionCase):
    """The health check reads the statistics: per server and sending domain."""

    def setUp(self):
        super().setUp()
        self.Stats = self.env["mail.delivery.stats"]
        self.server = self.env["ir.mail_server"].create(
            {"name": "Rate server", "smtp_host": "localhost"}
        )

    def _count(self, domain, attempted, hard, sender="rates.test"):
        counts = DeliveryCounts()
        dims = {"mail_server_id": self.server.id, "sender_domain": sender}
        counts.add([f"x{i}@{domain}" for i in range(attempted)], "attempted", **dims)
        counts.add([f"x{i}@{domain}" for i in range(hard)], "hard_bounced", **dims)
        self.Stats._mr_write_counts(counts)

    def _check(self):
        rows = self.env["mail.health.check"]._bounce_rate_rows(30)
        others = [row for row in rows if row[0]["mail_server_id"] != self.server.id]
        self.assertFalse(others, "the test database already has statistics")
        return self.env["mail.health.check"]._check_bounce_rate({})

    def test_rate_above_the_volume_names_server_domains(self):
        self._count("bad-rcpt.test", 60, 12)
        self._count("good-rcpt.test", 140, 2)
        finding = self._check()
        self.assertEqual(finding.status, "warning")  # 14 / 200 = 7 %
        self.assertIn("Rate server 7.0% (14/200)", finding.finding)
        self.assertIn("rates.test 7.0%", finding.finding)
        self.assertIn("bad-rcpt.test (12)", finding.finding)
        self._count("bad-rcpt.test", 0, 10)
        self.assertEqual(self._check().status, "error")  # 24 / 200 = 12 %

    def test_thresholds_and_minimum_volume_are_parameters(self):
        self._count("bad-rcpt.test", 50, 10)
        finding = self._check()
        self.assertEqual(finding.status, "ok")  # 50 < 100 recipients: too few to judge
        self.assertIn("too few", finding.finding)
        ICP = self.env["ir.config_parameter"].sudo()
        ICP.set_param("mail_reliability.bounce_rate_min_volume", "20")
        self.assertEqual(self._check().status, "error")  # 20 %
        ICP.set_param("mail_reliability.bounce_rate_error", "25")
        self.assertEqual(self._check().status, "warning")
