# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""05:00 UTC log rotation under a simulated clock, and grep/zgrep over the result."""

import gzip
import logging
import logging.handlers
import os
import tempfile
from datetime import datetime, timezone
from unittest.mock import patch

from odoo.tests import BaseCase, tagged

from .. import logging_handler
from ..logging_handler import DailyRotatingFileHandler, log_day, next_rollover
from ..tools import log_search


def ts(*args):
    return datetime(*args, tzinfo=timezone.utc).timestamp()


class FakeClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@tagged("mail_reliability", "post_install", "-at_install")
class TestLoggingHandler(BaseCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.path = os.path.join(self.tmp.name, "odoo.log")

    def _handler(self, clock, **kwargs):
        kwargs.setdefault("logrotate_configs", ())  # this host's /etc/logrotate.d stays out
        handler = DailyRotatingFileHandler(self.path, clock=clock, **kwargs)
        handler.setFormatter(logging.Formatter("%(message)s"))
        self.addCleanup(handler.close)
        return handler

    def _log(self, handler, text):
        handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, text, None, None))

    def _names(self):
        return sorted(n for n in os.listdir(self.tmp.name) if not n.endswith(".lock"))

    def test_day_boundaries(self):
        self.assertEqual(str(log_day(ts(2026, 3, 2, 4, 59, 59))), "2026-03-01")
        self.assertEqual(str(log_day(ts(2026, 3, 2, 5, 0, 0))), "2026-03-02")
        self.assertEqual(next_rollover(ts(2026, 3, 2, 4, 0)), ts(2026, 3, 2, 5, 0))
        self.assertEqual(next_rollover(ts(2026, 3, 2, 5, 0)), ts(2026, 3, 3, 5, 0))
        self.assertEqual(next_rollover(ts(2026, 3, 2, 23, 0)), ts(2026, 3, 3, 5, 0))

    def test_rotation_names_and_zgrep(self):
        clock = FakeClock(ts(2026, 3, 1, 12, 0))
        handler = self._handler(clock, keep_days=0)
        self._log(handler, "day1 <msg-1@corp.test> sent")
        clock.now = ts(2026, 3, 2, 4, 59, 59)  # still 1 March's log day
        self._log(handler, "day1 late")
        self.assertEqual(self._names(), ["odoo.log"])

        clock.now = ts(2026, 3, 2, 5, 0, 1)
        self._log(handler, "day2 <msg-2@corp.test>")
        self.assertEqual(self._names(), ["odoo.log", "odoo.log.1"])

        clock.now = ts(2026, 3, 3, 6, 0)
        self._log(handler, "day3 <msg-3@corp.test>")
        self.assertEqual(self._names(), ["odoo.log", "odoo.log.1", "odoo.log.2026-03-01.gz"])

        clock.now = ts(2026, 3, 4, 5, 30)
        self._log(handler, "day4")
        self.assertEqual(
            self._names(),
            ["odoo.log", "odoo.log.1", "odoo.log.2026-03-01.gz", "odoo.log.2026-03-02.gz"],
        )
        with open(self.path, encoding="utf-8") as fh:
            self.assertEqual(fh.read(), "day4\n")
        with open(self.path + ".1", encoding="utf-8") as fh:
            self.assertEqual(fh.read(), "day3 <msg-3@corp.test>\n")
        with gzip.open(self.path + ".2026-03-01.gz", "rt") as fh:
            self.assertEqual(fh.read(), "day1 <msg-1@corp.test> sent\nday1 late\n")

        files = log_search.log_files(self.path)
        self.assertEqual(
            [os.path.basename(p) for p in files],
            ["odoo.log", "odoo.log.1", "odoo.log.2026-03-02.gz", "odoo.log.2026-03-01.gz"],
        )
        found = log_search.search_logs(files, "MSG-1@corp.test")
        self.assertEqual(
            [(os.path.basename(m.path), m.lineno) for m in found.matches],
            [("odoo.log.2026-03-01.gz", 1)],
        )
        self.assertIn("sent", found.matches[0].line)
        found = log_search.search_logs(files, "@corp.test")
        self.assertEqual(len(found.matches), 3)
        self.assertFalse(found.truncated)
        # bounded: stop after a few bytes
        small = log_search.search_logs(files, "day", max_bytes=10)
        self.assertTrue(small.truncated)
        capped = log_search.search_logs(files, "day", max_matches=2)
        self.assertEqual(len(capped.matches), 2)
        self.assertTrue(capped.truncated)
        with self.assertRaises(ValueError):
            log_search.search_logs(files, "  ")

    def test_restart_after_a_quiet_day_and_purge(self):
        clock = FakeClock(ts(2026, 3, 1, 12, 0))
        handler = self._handler(clock, keep_days=2)
        self._log(handler, "day1")
        handler.close()
        # Odoo restarts two days later: the old file belongs to 1 March.
        clock.now = ts(2026, 3, 3, 8, 0)
        os.utime(self.path, (ts(2026, 3, 1, 12, 0), ts(2026, 3, 1, 12, 0)))
        handler = self._handler(clock, keep_days=2)
        self._log(handler, "day3")
        self.assertEqual(self._names(), ["odoo.log", "odoo.log.1"])
        for day in (4, 5, 6):
            clock.now = ts(2026, 3, day, 9, 0)
            self._log(handler, f"day{day}")
        # keep 2 days of .gz: 3 and 4 March (dated by their log day), 1 March is gone
        self.assertEqual(
            self._names(),
            ["odoo.log", "odoo.log.1", "odoo.log.2026-03-03.gz", "odoo.log.2026-03-04.gz"],
        )

    def test_rotated_by_another_worker(self):
        clock = FakeClock(ts(2026, 3, 1, 12, 0))
        first = self._handler(clock, keep_days=0)
        second = self._handler(clock, keep_days=0)
        self._log(first, "a")
        self._log(second, "b")
        clock.now = ts(2026, 3, 2, 6, 0)
        self._log(first, "c")
        self._log(second, "d")  # must not rotate odoo.log ("c") away again
        self.assertEqual(self._names(), ["odoo.log", "odoo.log.1"])
        with open(self.path, encoding="utf-8") as fh:
            self.assertEqual(fh.read(), "c\nd\n")
        with open(self.path + ".1", encoding="utf-8") as fh:
            self.assertEqual(fh.read(), "a\nb\n")

    def test_bad_hour(self):
        with self.assertRaises(ValueError):
            DailyRotatingFileHandler(self.path, rollover_hour=24, logrotate_configs=())


DEBIAN_LOGROTATE = """/var/log/odoo/*.log {
    copytruncate
    missingok
    notifempty
}
"""


@tagged("mail_reliability", "post_install", "-at_install")
class TestLoggingHandlerLogrotate(BaseCase):
    """One rotator per file: a logrotate configuration naming the log file wins."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.logdir = os.path.join(self.tmp.name, "log")
        os.mkdir(self.logdir)
        self.path = os.path.join(self.logdir, "odoo.log")
        self.confdir = os.path.join(self.tmp.name, "logrotate.d")
        os.mkdir(self.confdir)
        patcher = patch.object(logging_handler, "_warned", set())
        patcher.start()
        self.addCleanup(patcher.stop)

    def _write_conf(self, name, text):
        path = os.path.join(self.confdir, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text.replace("/var/log/odoo", self.logdir))
        return path

    def test_patterns_of_a_configuration(self):
        text = """# comment /var/log/commented.log {
weekly
include /etc/logrotate.d
"/var/log/a b.log" /var/log/c.log {
    rotate 4
    postrotate
        /usr/bin/killall -HUP x || true; echo "/var/log/in-script.log {"
        }
    endscript
}
/var/log/next/*.log
/var/log/more.log
{
    daily
}
/var/log/one.log { rotate 1 }
"""
        self.assertEqual(
            logging_handler.logrotate_patterns(text),
            [
                "/var/log/a b.log",
                "/var/log/c.log",
                "/var/log/next/*.log",
                "/var/log/more.log",
                "/var/log/one.log",
            ],
        )

    def test_which_configuration_names_the_file(self):
        confs = [self.confdir]
        self.assertIsNone(logging_handler.logrotate_config_for(self.path, confs))
        self._write_conf("nginx", "/var/log/nginx/*.log {\n daily\n}\n")
        self._write_conf("sub", "/var/log/odoo/*/odoo.log {\n daily\n}\n")  # * is one level
        self._write_conf("odoo.dpkg-old", DEBIAN_LOGROTATE)  # logrotate skips these
        self.assertIsNone(logging_handler.logrotate_config_for(self.path, confs))
        debian = self._write_conf("odoo", DEBIAN_LOGROTATE)
        self.assertEqual(logging_handler.logrotate_config_for(self.path, confs), debian)
        # a configuration file given directly, naming the file itself
        single = os.path.join(self.tmp.name, "logrotate.conf")
        with open(single, "w", encoding="utf-8") as fh:
            fh.write(f"{self.path} {{\n  weekly\n}}\n")
        self.assertEqual(logging_handler.logrotate_config_for(self.path, [single]), single)
        # unreadable or missing configurations are skipped
        self.assertIsNone(logging_handler.logrotate_config_for(self.path, ["/nonexistent"]))

    def test_handler_leaves_rotation_to_logrotate(self):
        config = self._write_conf("odoo", DEBIAN_LOGROTATE)
        clock = FakeClock(ts(2026, 3, 1, 12, 0))
        with self.assertLogs("odoo.addons.mail_reliability.logging_handler", "WARNING") as logs:
            handler = DailyRotatingFileHandler(
                self.path, clock=clock, logrotate_configs=[self.confdir]
            )
            DailyRotatingFileHandler(
                self.path, clock=clock, logrotate_configs=[self.confdir], delay=True
            ).close()
        self.addCleanup(handler.close)
        handler.setFormatter(logging.Formatter("%(message)s"))
        self.assertEqual(handler.rotated_by, config)
        self.assertEqual(len(logs.output), 1, "said once")
        self.assertIn(config, logs.output[0])
        self.assertIn("logrotate", logs.output[0])

        def log(text):
            handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, text, None, None))

        log("day1")
        clock.now = ts(2026, 3, 3, 6, 0)  # two 05:00 UTC boundaries later
        log("day3")
        self.assertEqual(os.listdir(self.logdir), ["odoo.log"], "no rotation by the handler")
        # logrotate without copytruncate renames the file: the handler follows
        os.rename(self.path, self.path + ".1")
        log("after logrotate")
        with open(self.path, encoding="utf-8") as fh:
            self.assertEqual(fh.read(), "after logrotate\n")
        with open(self.path + ".1", encoding="utf-8") as fh:
            self.assertEqual(fh.read(), "day1\nday3\n")


@tagged("mail_reliability", "post_install", "-at_install")
class TestLoggingHandlerConfig(BaseCase):
    """post_load: the [mail_reliability] section of odoo.conf swaps Odoo's file handler."""

    def test_install_from_config(self):
        from odoo.tools import config

        from ..logging_handler import install_from_config

        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "odoo.log")
        root = logging.getLogger()
        watched = logging.handlers.WatchedFileHandler(path)
        watched.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        root.addHandler(watched)
        self.addCleanup(root.removeHandler, watched)

        with (
            patch.dict(config.options, {"logfile": path}),
            patch.dict(config.misc, {}, clear=False),
            patch.object(logging_handler, "LOGROTATE_CONFIGS", ()),
        ):
            config.misc.pop("mail_reliability", None)
            self.assertIsNone(install_from_config(), "off unless asked")
            self.assertIn(watched, root.handlers)
            config.misc["mail_reliability"] = {"log_rotation": "True", "log_rotation_hour": "6"}
            installed = install_from_config()
            self.addCleanup(installed.close)
            self.addCleanup(root.removeHandler, installed)
            self.assertIsInstance(installed, DailyRotatingFileHandler)
            self.assertEqual(installed.rollover_hour, 6)
            self.assertNotIn(watched, root.handlers)
            self.assertIn(installed, root.handlers)
            self.assertIs(installed.formatter, watched.formatter)
            self.assertIs(install_from_config(), installed, "idempotent")

    def test_install_from_config_yields_to_logrotate(self):
        from odoo.tools import config

        from ..logging_handler import install_from_config

        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "odoo.log")
        rotate = os.path.join(tmp.name, "odoo.logrotate")
        with open(rotate, "w", encoding="utf-8") as fh:
            fh.write(DEBIAN_LOGROTATE.replace("/var/log/odoo", tmp.name))
        root = logging.getLogger()
        watched = logging.handlers.WatchedFileHandler(path)
        root.addHandler(watched)
        self.addCleanup(watched.close)
        self.addCleanup(root.removeHandler, watched)
        with (
            patch.dict(config.options, {"logfile": path}),
            patch.dict(config.misc, {"mail_reliability": {"log_rotation": "True"}}),
            patch.object(logging_handler, "LOGROTATE_CONFIGS", (rotate,)),
            patch.object(logging_handler, "_warned", set()),
            self.assertLogs("odoo.addons.mail_reliability.logging_handler", "WARNING") as logs,
        ):
            self.assertIsNone(install_from_config())
            self.assertIsNone(install_from_config())
        self.assertIn(watched, root.handlers, "Odoo's handler stays")
        self.assertFalse(
            [h for h in root.handlers if isinstance(h, DailyRotatingFileHandler)],
        )
        self.assertEqual(len(logs.output), 1, "said once")
        self.assertIn(rotate, logs.output[0])
