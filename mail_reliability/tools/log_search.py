# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""grep and zgrep over ``odoo.log*``, bounded, no database needed.

Files are searched newest first: ``odoo.log``, ``odoo.log.1``, then the
dated ``odoo.log.YYYY-MM-DD.gz`` files (newest date first), then any other
rotated file (``odoo.log.2``, ``odoo.log.3.gz`` from logrotate).  The search
stops after ``max_bytes`` of (uncompressed) text or ``max_matches`` lines and
says so, so a search never reads gigabytes on a web request.
"""

import glob
import gzip
import os
import re
from dataclasses import dataclass, field

from .i18n import LazyTranslate, TextError

_lt = LazyTranslate(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_MATCHES = 500
MAX_LINE_CHARS = 2000
_DATED = re.compile(r"\.(\d{4}-\d{2}-\d{2})(\.gz)?$")
_NUMBERED = re.compile(r"\.(\d+)(\.gz)?$")


@dataclass
class LogMatch:
    path: str
    lineno: int
    line: str


@dataclass
class LogSearchResult:
    matches: list = field(default_factory=list)
    files: list = field(default_factory=list)
    scanned_bytes: int = 0
    truncated: bool = False
    errors: list = field(default_factory=list)


class LogPathRefused(TextError):
    """The requested file is not Odoo's own log file."""


def resolve_logfile(configured, requested=None):
    """The log file a search may read: Odoo's own ``configured`` log file, resolved.

    ``requested`` (a system parameter, i.e. data anybody with database access can
    write) may only name that same file: ``/etc/passwd``, ``odoo.conf``, a path
    with ``..`` or a symbolic link to another file is refused with
    :class:`LogPathRefused`, and nothing is read. ``None`` when no log file is
    configured.
    """
    if not configured:
        if requested:
            raise LogPathRefused(
                _lt(
                    "%(path)s is not Odoo's log file: Odoo writes no log file "
                    "(no logfile in its configuration)",
                    path=repr(requested),
                )
            )
        return None
    base = os.path.realpath(os.path.abspath(configured))
    if requested and str(requested).strip():
        wanted = str(requested).strip()
        if not os.path.isabs(wanted) or os.path.realpath(wanted) != base:
            raise LogPathRefused(
                _lt(
                    "%(path)s is not Odoo's log file (%(logfile)s): only the log file of "
                    "the server configuration (logfile) and its rotated copies are searched",
                    path=repr(wanted),
                    logfile=configured,
                )
            )
    return base


def log_files(logfile):
    """The log files of ``logfile`` (its rotated siblings included), newest first.

    A sibling that is a symbolic link, or not a regular file, is skipped: only
    files that really are ``logfile`` or its rotated copies are read.
    """
    if not logfile:
        return []
    base = os.path.abspath(logfile)
    candidates = [
        p
        for p in glob.glob(glob.escape(base) + "*")
        if (p == base or not os.path.islink(p)) and os.path.isfile(p)
    ]

    def rank(path):
        suffix = path[len(base) :]
        if suffix == "":
            return (0, 0, "")
        numbered = _NUMBERED.fullmatch(suffix)
        if numbered and numbered.group(1) == "1":
            return (1, 0, "")
        dated = _DATED.fullmatch(suffix)
        if dated:
            # newest date first: invert the ISO date text
            return (2, 0, "".join(chr(255 - ord(c)) for c in dated.group(1)))
        if numbered:
            return (3, int(numbered.group(1)), "")
        return (9, 0, suffix)

    return sorted(
        (p for p in candidates if rank(p)[0] < 9 and not p.endswith(".lock")),
        key=rank,
    )


def _open(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def search_logs(
    paths, needle, max_bytes=DEFAULT_MAX_BYTES, max_matches=DEFAULT_MAX_MATCHES, ignore_case=True
):
    """Lines of ``paths`` holding ``needle`` (plain text, not a pattern)."""
    result = LogSearchResult()
    needle = (needle or "").strip()
    if not needle:
        raise ValueError("Nothing to search for")
    wanted = needle.lower() if ignore_case else needle
    for path in paths:
        result.files.append(path)
        try:
            with _open(path) as handle:
                for lineno, line in enumerate(handle, 1):
                    result.scanned_bytes += len(line)
                    haystack = line.lower() if ignore_case else line
                    if wanted in haystack:
                        result.matches.append(
                            LogMatch(path, lineno, line.rstrip("\n")[:MAX_LINE_CHARS])
                        )
                        if len(result.matches) >= max_matches:
                            result.truncated = True
                            return result
                    if result.scanned_bytes >= max_bytes:
                        result.truncated = True
                        return result
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            result.errors.append(f"{os.path.basename(path)}: {exc}")
    return result


def format_result(result):
    """Plain text, one ``file:line: text`` per match, as grep -n prints it."""
    lines = [f"{os.path.basename(m.path)}:{m.lineno}: {m.line}" for m in result.matches]
    return "\n".join(lines)
