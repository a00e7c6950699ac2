# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestBridgeAutoInstall(TransactionCase):
    def test_bridge_installed_with_both_dependencies(self):
        modules = self.env["ir.module.module"].search(
            [("name", "in", ["mail_reliability", "mass_mailing", "mail_reliability_mass_mailing"])]
        )
        self.assertEqual(set(modules.mapped("state")), {"installed"})
        bridge = modules.filtered(lambda m: m.name == "mail_reliability_mass_mailing")
        self.assertTrue(bridge.auto_install)
