# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Retention periods of the housekeeping rules (no database needed).

A retention is a whole number of days. Zero or less switches the rule off;
anything that is not a whole number is refused with a clear message.
"""

import re
from datetime import timedelta

from .i18n import LazyTranslate, TextError

_lt = LazyTranslate(__name__)
_INTEGER = re.compile(r"^[+-]?\d+$")


def _not_days(value):
    return _lt("%(value)s is not a whole number of days", value=repr(value))


def parse_days(value):
    """Return ``value`` as a whole number of days, or raise ``ValueError``.

    Accepts ints and strings such as ``"30"``, ``" 90 "``, ``"-1"`` and
    integral floats (``30.0``). Refuses booleans, blanks, ``"30 days"``,
    ``"1.5"`` and ``1.5``.
    """
    if isinstance(value, bool) or value is None:
        raise TextError(_not_days(value))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise TextError(_not_days(value))
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    raise TextError(_not_days(value))


def cutoff(now, days):
    """Rows dated strictly before the returned moment are past retention.

    ``None`` means the rule is disabled (``days`` <= 0).
    """
    if days <= 0:
        return None
    return now - timedelta(days=days)
