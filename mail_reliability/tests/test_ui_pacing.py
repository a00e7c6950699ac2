# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The throughput screens in a real (headless Chromium) browser (issue #17): an outgoing
server's Pacing group with a slow-down, Settings > Emails' Queue Lanes and Sending Pace."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestUiPacing(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.env["ir.mail_server"].create(
            {
                "name": "Tour paced relay",
                "smtp_host": "127.0.0.1",
                "smtp_port": 2599,
                "sequence": 90,
                "rate_per_minute": 30,
                "max_connections": 3,
            }
        )

    def test_pacing_group_of_a_slowed_server(self):
        # What a throttling reply leaves on the server (tests/test_pacing.py covers how).
        self.server.write(
            {
                "slowed_until": fields.Datetime.now() + timedelta(minutes=10),
                "slow_level": 1,
                "slowed_reason": "421 4.7.0 Too many messages from your IP, try again later",
            }
        )
        self.start_tour(
            f"/odoo/ir.mail_server/{self.server.id}",
            "mail_reliability_pacing_server",
            login="admin",
        )

    def test_settings_explain_lanes_and_pacing(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_reliability.queue_lanes", "2")
        self.start_tour("/odoo/settings", "mail_reliability_settings_lanes_pacing", login="admin")
