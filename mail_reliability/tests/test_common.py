# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The shared test helpers of ``tests/common.py`` catch what they claim to."""

from unittest.mock import patch

from odoo.tests import tagged

from .common import SmtpSinkCase


@tagged("mail_reliability", "post_install", "-at_install")
class TestSharedHelpers(SmtpSinkCase):
    def test_run_queue_reports_a_crashed_run(self):
        """Stock logs a crashed queue run and carries on; ``check_crash`` sees it
        even with the queue logger muted (mute_logger replaces its handlers)."""
        mail = self.create_outgoing_mail("crash@example.com", auto_delete=False)
        with patch.object(
            self.registry["mail.mail"], "send", side_effect=RuntimeError("boom"), autospec=True
        ):
            self._run_queue()  # muted, not checked: passes
            with self.assertRaises(AssertionError):
                self._run_queue(check_crash=True)
        self._run_queue(check_crash=True)
        self.assertEqual(mail.state, "sent")
        self.assertEqual(len(self.sink.deliveries_to("crash@example.com")), 1)
