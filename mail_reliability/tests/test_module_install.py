# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestModuleInstall(TransactionCase):
    def test_core_addon_installed(self):
        module = self.env["ir.module.module"].search([("name", "=", "mail_reliability")])
        self.assertEqual(module.state, "installed")
        self.assertEqual(module.latest_version, "18.0.1.0.0")
