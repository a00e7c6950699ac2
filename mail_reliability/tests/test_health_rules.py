# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Pure decisions of the health dashboard (no database needed)."""

from odoo.tests import BaseCase, tagged

from ..tools import dns_checks
from ..tools import health_rules as hr


@tagged("mail_reliability", "post_install", "-at_install")
class TestHealthRules(BaseCase):
    def test_status_vocabulary(self):
        # one vocabulary: the DNS checks and the dashboard's selection use these values
        self.assertEqual(hr.worst([]), hr.OK)
        self.assertEqual(hr.worst([hr.OK, hr.ERROR, hr.WARNING]), hr.ERROR)
        self.assertEqual(hr.worst([hr.WARNING, hr.OK]), hr.WARNING)
        selection = dict(hr.STATUS_SELECTION)
        self.assertLessEqual(set(hr.STATUS_ORDER), set(selection))
        self.assertIn(hr.NOT_AVAILABLE, selection)
        self.assertIs(dns_checks.worst, hr.worst)

    def test_placeholder_emails(self):
        for email, placeholder in (
            ("admin@example.com", True),
            ("Admin@Example.Org", True),
            ("admin@example.co.uk", True),
            ("admin@localhost", True),
            ("root@localhost.localdomain", True),
            ("admin@odoo", True),
            ("admin@corp.local", True),
            ("", True),
            (None, True),
            (False, True),
            ("admin", True),
            ("@corp.com", True),
            ("admin@yourcompany.example.com", True),  # Odoo's own demo placeholder
            ("it@mail.example.net", True),
            ("admin@corp.test", True),
            ("admin@host.invalid", True),
            ("admin@odoo.localhost", True),
            ("admin@mail.example.company.com", False),
            ("admin@testing.com", False),
            ("admin@mycompany.com", False),
            ("admin@mycompany.odoo.com", False),
            ("jane@examples.com", False),
            ("jane@notexample.com", False),
        ):
            with self.subTest(email=email):
                self.assertEqual(hr.is_placeholder_email(email), placeholder)
        self.assertEqual(hr.suggested_admin_email("corp.com"), "admin@corp.com")
        # never suggest a placeholder (the demo's alias domain is example.com)
        self.assertFalse(hr.suggested_admin_email("example.com"))
        self.assertFalse(hr.suggested_admin_email(False))

    def test_queue_interval_and_bounce_rate(self):
        for minutes, status in (
            (1, "error"),
            (4, "error"),
            (5, "ok"),
            (15, "ok"),
            (60, "ok"),
            (61, "warning"),
            (1440, "warning"),
        ):
            with self.subTest(minutes=minutes):
                self.assertEqual(hr.queue_interval_status(minutes), status)
        for rate, status in (
            (None, "ok"),
            (0, "ok"),
            (4.99, "ok"),
            (5, "warning"),
            (9.9, "warning"),
            (10, "error"),
            (55, "error"),
        ):
            with self.subTest(rate=rate):
                self.assertEqual(hr.bounce_rate_status(rate), status)

    def test_from_filter(self):
        for from_filter, email, covered in (
            (False, "a@x.com", True),
            ("x.com", "a@x.com", True),
            ("X.com", "A@x.COM", True),
            ("y.com, x.com", "a@x.com", True),
            ("a@x.com", "a@x.com", True),
            ("a@x.com", "b@x.com", False),
            ("x.com", "a@sub.x.com", False),
            ("y.com", "a@x.com", False),
        ):
            with self.subTest(from_filter=from_filter, email=email):
                self.assertEqual(hr.from_filter_covers(from_filter, email), covered)
        self.assertEqual(
            hr.uncovered_from_addresses(
                ["x.com", "b@y.com"], ["a@x.com", "b@y.com", "c@y.com", "c@y.com"]
            ),
            ["c@y.com"],
        )
