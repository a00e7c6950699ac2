# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The log search reads Odoo's own log file and its rotated copies, nothing else."""

import os
import tempfile
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import BaseCase, TransactionCase, tagged
from odoo.tools import config

from ..tools import log_search

SECRET_LINE = "root:x:0:0:planted-secret-line:/root:/bin/bash\n"


class _Files:
    """A log folder with odoo.log, a rotated copy and a file that is not a log."""

    def setUp(self):
        super().setUp()
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.folder = os.path.join(tmp.name, "log")
        os.mkdir(self.folder)
        self.logfile = os.path.join(self.folder, "odoo.log")
        with open(self.logfile, "w", encoding="utf-8") as fh:
            fh.write("today <abc@corp.test>\n")
        with open(self.logfile + ".1", "w", encoding="utf-8") as fh:
            fh.write("yesterday <abc@corp.test>\n")
        self.outside = os.path.join(tmp.name, "passwd")
        with open(self.outside, "w", encoding="utf-8") as fh:
            fh.write(SECRET_LINE)
        self.conf = os.path.join(tmp.name, "odoo.conf")
        with open(self.conf, "w", encoding="utf-8") as fh:
            fh.write("[options]\nadmin_passwd = planted-secret-line\n")


@tagged("mail_reliability", "post_install", "-at_install")
class TestResolveLogfile(_Files, BaseCase):
    def test_only_the_configured_file(self):
        self.assertEqual(log_search.resolve_logfile(self.logfile), os.path.realpath(self.logfile))
        self.assertEqual(
            log_search.resolve_logfile(self.logfile, self.logfile), os.path.realpath(self.logfile)
        )
        self.assertIsNone(log_search.resolve_logfile(None))
        link_to_log = os.path.join(self.folder, "current.log")
        os.symlink(self.logfile, link_to_log)
        self.assertEqual(
            log_search.resolve_logfile(self.logfile, link_to_log), os.path.realpath(self.logfile)
        )
        link_out = os.path.join(self.folder, "odoo.log.evil")
        os.symlink(self.outside, link_out)
        for requested in (
            "/etc/passwd",
            self.conf,
            self.outside,
            os.path.join(self.folder, "..", "passwd"),
            os.path.join(self.folder, "..", "log", "..", "odoo.conf"),
            link_out,
            "odoo.log",  # relative: depends on the server's working directory
            self.logfile + ".1",
        ):
            with self.subTest(requested=requested):
                with self.assertRaises(log_search.LogPathRefused) as caught:
                    log_search.resolve_logfile(self.logfile, requested)
                self.assertIn("not Odoo's log file", str(caught.exception))
        with self.assertRaises(log_search.LogPathRefused):
            log_search.resolve_logfile(None, "/etc/passwd")

    def test_symlinked_sibling_is_not_read(self):
        os.symlink(self.outside, self.logfile + ".2")
        os.symlink(self.outside, self.logfile + ".2026-01-01.gz")
        files = log_search.log_files(log_search.resolve_logfile(self.logfile))
        self.assertEqual(
            [os.path.basename(f) for f in files], ["odoo.log", "odoo.log.1"], "no symlink read"
        )
        found = log_search.search_logs(files, "planted-secret-line")
        self.assertEqual(found.matches, [])


@tagged("mail_reliability", "post_install", "-at_install")
class TestLogSearchWizardPaths(_Files, TransactionCase):
    def setUp(self):
        super().setUp()
        patcher = patch.dict(config.options, {"logfile": self.logfile})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.params = self.env["ir.config_parameter"].sudo()

    def test_parameter_elsewhere_is_refused_and_reads_nothing(self):
        opened = []
        real_open = log_search._open

        def spy(path):
            opened.append(path)
            return real_open(path)

        for target in ("/etc/passwd", self.conf, self.outside, self.folder + "/../passwd"):
            with self.subTest(target=target):
                self.params.set_param("mail_reliability.log_file", target)
                search = self.env["mail.log.search"].create({"query": "planted-secret-line"})
                with patch.object(log_search, "_open", spy), self.assertRaises(UserError) as caught:
                    search.action_search()
                self.assertIn("reads only Odoo's own log file", str(caught.exception))
                self.assertIn("mail_reliability.log_file", str(caught.exception))
                self.assertFalse(search.result)
        self.assertEqual(opened, [], "no file was opened")

    def test_parameter_naming_the_log_file_and_rotated_copies(self):
        self.params.set_param("mail_reliability.log_file", self.logfile)
        search = self.env["mail.log.search"].create({"query": "abc@corp.test"})
        search.action_search()
        self.assertEqual(search.match_count, 2)
        self.assertEqual(search.files_searched.split(), ["odoo.log", "odoo.log.1"])

    def test_support_bundle_does_not_read_elsewhere(self):
        self.params.set_param("mail_reliability.log_file", self.outside)
        lines = self.env["mail.support.bundle"]._report_log_lines(["<planted-secret-line>"])
        text = "\n".join(lines)
        self.assertIn("not searched", text)
        self.assertNotIn("root:x:0:0", text)
