# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Daily log rotation at 05:00 UTC, named the way Odoo.sh names its logs.

* ``odoo.log`` is today's log, ``odoo.log.1`` yesterday's;
* older days are gzipped as ``odoo.log.YYYY-MM-DD.gz`` (the date the log
  day started, a log day running from 05:00 UTC to 05:00 UTC the next day),
  so ``grep`` searches the two recent files and ``zgrep`` the older ones.

Two ways to enable it:

1. Odoo configuration file (``odoo.conf``), with ``logfile`` set::

       [options]
       logfile = /var/log/odoo/odoo.log
       server_wide_modules = base,web,mail_reliability

       [mail_reliability]
       log_rotation = True
       ; optional: hour (UTC) of the daily rotation, and days of .gz kept
       log_rotation_hour = 5
       log_keep_days = 30

   :func:`install_from_config` (the addon's ``post_load`` hook) then
   replaces the ``WatchedFileHandler`` Odoo opened on ``logfile``.  With
   ``server_wide_modules`` it is active as soon as the server starts;
   otherwise once a database with the addon is loaded.

2. Any ``logging`` configuration (``logging.config.dictConfig``)::

       "class": "odoo.addons.mail_reliability.logging_handler.DailyRotatingFileHandler",
       "filename": "/var/log/odoo/odoo.log",

Several Odoo workers may share one file: the rotation takes an exclusive
``flock`` on ``<logfile>.lock`` and a worker that finds the file already
rotated by another one just reopens it.

The file must have one rotator.  Debian's ``odoo`` package ships
``/etc/logrotate.d/odoo`` (``/var/log/odoo/*.log { copytruncate ... }``): when
a logrotate configuration (``/etc/logrotate.conf``, ``/etc/logrotate.d/*``)
names the log file, directly or by a glob, this handler does not rotate and
says so once in the log; :func:`install_from_config` then keeps Odoo's own
handler, which follows logrotate's renames.
"""

import contextlib
import fcntl
import fnmatch
import glob
import gzip
import logging
import math
import os
import re
import shlex
import shutil
import time
from datetime import datetime, timedelta, timezone

DEFAULT_ROLLOVER_HOUR = 5
DEFAULT_KEEP_DAYS = 30
_DATED = re.compile(r"\.(\d{4}-\d{2}-\d{2})\.gz$")

# Where logrotate reads its configuration (files, or directories of files).
LOGROTATE_CONFIGS = ("/etc/logrotate.conf", "/etc/logrotate.d")
# Files logrotate itself skips in an included directory (its default tabooext).
_LOGROTATE_TABOO = (
    *(".rpmsave", ".rpmorig", ".rpmnew", ".rhn-cfg-tmp-*", "~", ".disabled", ".swp"),
    *(".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-bak", ".dpkg-del"),
    *(".cfsaved", ".ucf-old", ".ucf-dist", ".ucf-new"),
)
_LOGROTATE_SCRIPTS = {"prerotate", "postrotate", "firstaction", "lastaction", "preremove"}
_MAX_CONFIG_BYTES = 1_000_000
_logger = logging.getLogger(__name__)
_warned = set()  # log files whose "logrotate rotates it" was already logged by this process


def log_day(timestamp, hour=DEFAULT_ROLLOVER_HOUR):
    """The date of the log day holding ``timestamp`` (a day starts at ``hour`` UTC)."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc) - timedelta(hours=hour)
    return moment.date()


def next_rollover(timestamp, hour=DEFAULT_ROLLOVER_HOUR):
    """Timestamp of the first rotation time strictly after ``timestamp``."""
    day = log_day(timestamp, hour)
    start = datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)
    return (start + timedelta(days=1)).timestamp()


def _logrotate_files(configs):
    for entry in configs:
        if os.path.isdir(entry):
            try:
                names = sorted(os.listdir(entry))
            except OSError:
                continue
            for name in names:
                path = os.path.join(entry, name)
                if name.startswith(".") or not os.path.isfile(path):
                    continue
                if any(fnmatch.fnmatchcase(name, "*" + taboo) for taboo in _LOGROTATE_TABOO):
                    continue
                yield path
        elif os.path.isfile(entry):
            yield entry


def logrotate_patterns(text):
    """The log file names and globs of the blocks of a logrotate configuration text."""
    patterns, pending, in_block, in_script = [], [], False, False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if in_script:  # shell code between postrotate and endscript may hold anything
            in_script = line.split()[0] != "endscript"
            continue
        if in_block:
            if line.split()[0] in _LOGROTATE_SCRIPTS:
                in_script = True
            elif line.startswith("}"):
                in_block = False
            continue
        head, brace, rest = line.partition("{")
        try:
            tokens = shlex.split(head, comments=True)
        except ValueError:  # unbalanced quote
            tokens = head.split()
        if tokens and not tokens[0].startswith(("/", "~")):
            pending = []  # a global directive (weekly, include ..., su ...)
            continue
        pending += tokens
        if brace:
            patterns += pending
            pending = []
            in_block = "}" not in rest
    return patterns


def _glob_matches(pattern, path):
    """glob(3) semantics: ``*`` and ``?`` never match a ``/``."""
    wanted = os.path.expanduser(pattern).split("/")
    parts = path.split("/")
    return len(wanted) == len(parts) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=False)
    )


def logrotate_config_for(path, configs=None):
    """The logrotate configuration file that rotates ``path``, or ``None``."""
    configs = LOGROTATE_CONFIGS if configs is None else configs
    names = {os.path.abspath(path), os.path.realpath(path)}
    for config in _logrotate_files(configs):
        try:
            with open(config, encoding="utf-8", errors="replace") as fh:
                text = fh.read(_MAX_CONFIG_BYTES)
        except OSError:
            continue
        for pattern in logrotate_patterns(text):
            if any(_glob_matches(pattern, name) for name in names):
                return config
    return None


def _warn_logrotate_once(path, config):
    if path in _warned:
        return
    _warned.add(path)
    _logger.warning(
        "[mail_reliability] %s is rotated by logrotate (%s): the daily rotation of "
        "mail_reliability is off for it. To use it instead, remove this file from %s.",
        path,
        config,
        config,
    )


class DailyRotatingFileHandler(logging.FileHandler):
    """A file handler rotating once a day at ``rollover_hour`` UTC.

    ``clock`` returns the current time as a timestamp; tests pass a fake one.
    When a logrotate configuration (``logrotate_configs``, default
    :data:`LOGROTATE_CONFIGS`) names the file, the handler never rotates it
    (``rotated_by`` holds that configuration's path) and reopens the file
    when logrotate has moved it away.
    """

    def __init__(
        self,
        filename,
        rollover_hour=DEFAULT_ROLLOVER_HOUR,
        keep_days=DEFAULT_KEEP_DAYS,
        encoding="utf-8",
        delay=False,
        clock=time.time,
        logrotate_configs=None,
    ):
        self.rollover_hour = int(rollover_hour)
        if not 0 <= self.rollover_hour <= 23:
            raise ValueError(f"rollover_hour must be 0..23, not {rollover_hour!r}")
        self.keep_days = int(keep_days)
        self.clock = clock
        super().__init__(filename, mode="a", encoding=encoding, delay=delay)
        # A file left by a previous run belongs to the day of its last write.
        started = self.clock()
        if os.path.exists(self.baseFilename) and os.path.getsize(self.baseFilename):
            started = min(started, os.path.getmtime(self.baseFilename))
        self.rollover_at = next_rollover(started, self.rollover_hour)
        self.last_write = started
        self.rotated_by = logrotate_config_for(self.baseFilename, logrotate_configs)
        if self.rotated_by:
            self.rollover_at = math.inf
            _warn_logrotate_once(self.baseFilename, self.rotated_by)

    # ------------------------------------------------------------------
    def emit(self, record):
        try:
            now = self.clock()
            if self.rotated_by:
                self._reopen_if_moved()
            elif now >= self.rollover_at:
                self.do_rollover(now)
            self.last_write = now
        except Exception:  # pylint: disable=broad-except
            self.handleError(record)
            return
        super().emit(record)

    def _stream_inode(self):
        if not self.stream:
            return None
        try:
            return os.fstat(self.stream.fileno()).st_ino
        except (OSError, ValueError):
            return None

    def _reopen_if_moved(self):
        """logrotate renamed or removed the file (its default, without copytruncate)."""
        mine = self._stream_inode()
        try:
            current = os.stat(self.baseFilename).st_ino
        except OSError:
            current = None
        if mine is not None and current != mine:
            self.stream.close()
            self.stream = self._open()

    def do_rollover(self, now=None):
        now = self.clock() if now is None else now
        base = self.baseFilename
        with open(base + ".lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                current_inode = os.stat(base).st_ino if os.path.exists(base) else None
                mine = self._stream_inode()
                rotated_by_other = mine is not None and current_inode != mine
                if not rotated_by_other and os.path.exists(base):
                    self._rotate(base)
                if self.stream:
                    self.stream.close()
                    self.stream = None
                self.stream = self._open()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self.rollover_at = next_rollover(now, self.rollover_hour)
        self._purge(now)

    def _rotate(self, base):
        previous = base + ".1"
        if os.path.exists(previous):
            day = log_day(os.path.getmtime(previous), self.rollover_hour)
            self._compress(previous, f"{base}.{day.isoformat()}.gz")
        if self.stream:
            self.stream.flush()
        os.replace(base, previous)
        # The day of odoo.log.1 is the day of its last line (also under a fake clock).
        os.utime(previous, (self.last_write, self.last_write))

    @staticmethod
    def _compress(source, target):
        # "ab": a second rotation on the same day adds a gzip member, which
        # gzip, zcat and zgrep read as one file.
        with open(source, "rb") as src, gzip.open(target, "ab") as dst:
            shutil.copyfileobj(src, dst)
        os.remove(source)

    def _purge(self, now):
        if self.keep_days <= 0:
            return
        oldest = log_day(now, self.rollover_hour) - timedelta(days=self.keep_days + 1)
        for path in glob.glob(glob.escape(self.baseFilename) + ".*.gz"):
            match = _DATED.search(path)
            if match and match.group(1) < oldest.isoformat():
                with contextlib.suppress(OSError):  # already removed by another worker
                    os.remove(path)


def _truthy(value):
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def install_from_config():
    """Swap Odoo's file handler for :class:`DailyRotatingFileHandler` (``post_load``)."""
    from odoo.tools import config

    if not _truthy(config.get_misc("mail_reliability", "log_rotation")):
        return None
    logfile = config.get("logfile")
    if not logfile:
        _logger.warning("[mail_reliability] log_rotation is on but no logfile is configured")
        return None
    root = logging.getLogger()
    path = os.path.abspath(logfile)
    for handler in root.handlers:
        if isinstance(handler, DailyRotatingFileHandler) and handler.baseFilename == path:
            return handler  # already installed (post_load runs once per registry)
    rotated_by = logrotate_config_for(path)
    if rotated_by:
        _warn_logrotate_once(path, rotated_by)
        return None  # Odoo's WatchedFileHandler stays: it follows logrotate's renames
    new = DailyRotatingFileHandler(
        path,
        rollover_hour=config.get_misc(
            "mail_reliability", "log_rotation_hour", DEFAULT_ROLLOVER_HOUR
        ),
        keep_days=config.get_misc("mail_reliability", "log_keep_days", DEFAULT_KEEP_DAYS),
    )
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler) and handler.baseFilename == path:
            new.setFormatter(handler.formatter)
            for log_filter in handler.filters:
                new.addFilter(log_filter)
            root.removeHandler(handler)
            handler.close()
    root.addHandler(new)
    _logger.info("[mail_reliability] %s rotates daily at %02d:00 UTC", path, new.rollover_hour)
    return new
