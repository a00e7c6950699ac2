# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import importlib.metadata
import os

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from odoo.modules.module import get_manifest, get_module_path
from odoo.tests import TransactionCase, tagged


@tagged("mail_reliability", "post_install", "-at_install")
class TestModuleInstall(TransactionCase):
    def test_core_addon_installed(self):
        module = self.env["ir.module.module"].search([("name", "=", "mail_reliability")])
        self.assertEqual(module.state, "installed")
        # the manifest's version, in the 18.0.x.y.z form (a bump runs migrations/<version>/)
        version = get_manifest("mail_reliability")["version"]
        self.assertRegex(version, r"^18\.0\.\d+\.\d+\.\d+$")
        self.assertEqual(module.latest_version, version)

    def test_external_dependencies_pinned_and_installed(self):
        """Each manifest's Python dependency is pinned in requirements.txt (which bin/test
        installs) and installed at that version, so a fresh machine gets the same libraries."""
        repository = os.path.dirname(get_module_path("mail_reliability"))
        requirements = os.path.join(repository, "requirements.txt")
        if not os.path.exists(requirements):
            self.skipTest("not run from the repository (no requirements.txt beside the addons)")
        pins = {}
        with open(requirements, encoding="utf-8") as fh:
            for line in fh:
                spec = line.split("#", 1)[0].strip()
                if spec:
                    req = Requirement(spec)
                    pins[canonicalize_name(req.name)] = req.specifier
        declared = []
        for name in ("mail_reliability", "mail_reliability_mass_mailing"):
            manifest = get_manifest(name)
            declared += manifest.get("external_dependencies", {}).get("python", [])
        self.assertIn("pyspf", declared)
        self.assertIn("publicsuffixlist", declared)
        for dependency in declared:
            with self.subTest(dependency=dependency):
                key = canonicalize_name(dependency)
                self.assertIn(key, pins, f"{dependency} is not pinned in requirements.txt")
                self.assertIn(importlib.metadata.version(dependency), pins[key])
