# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Daily sending limit arithmetic: quota days in a timezone, settings, the reserve.

Pure Python (stdlib ``zoneinfo``), no database needed; the messages of invalid
settings are marked for translation (``tools/i18n.py``).
"""

import functools
import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .i18n import LazyTranslate, TextError

_lt = LazyTranslate(__name__)

DEFAULT_DAILY_LIMIT = 0  # no limit unless the administrator sets one
DEFAULT_TIMEZONE = "UTC"
DEFAULT_RESERVE_PERCENT = 20


@dataclass(frozen=True)
class QuotaDay:
    """One quota day: its local date, and its start and reset as naive UTC datetimes."""

    day: object  # datetime.date
    start: datetime
    reset: datetime


def _blank(value):
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def parse_limit(value, default=DEFAULT_DAILY_LIMIT):
    """A daily limit: an integer >= 0 (0 = no limit)."""
    if _blank(value):
        return default
    text = str(value).strip()
    try:
        limit = int(text)
    except ValueError:
        raise TextError(
            _lt("the daily limit must be a whole number, not %(value)s", value=repr(text))
        ) from None
    if limit < 0:
        raise TextError(
            _lt("the daily limit cannot be negative (%(limit)s); use 0 for no limit", limit=limit)
        )
    return limit


def parse_reserve(value, default=DEFAULT_RESERVE_PERCENT):
    """The transactional reserve: a percentage between 0 and 100."""
    if _blank(value):
        return default
    text = str(value).strip().rstrip("%").strip()
    try:
        percent = float(text)
    except ValueError:
        raise TextError(
            _lt("the transactional reserve must be a percentage, not %(value)s", value=repr(value))
        ) from None
    if not 0 <= percent <= 100 or math.isnan(percent):
        raise TextError(
            _lt("the transactional reserve must be between 0 and 100, not %(value)s", value=text)
        )
    return percent


def _unknown_timezone(name):
    return _lt("unknown timezone %(name)s (use an IANA name such as 'UTC')", name=repr(name))


def parse_timezone(value, default=DEFAULT_TIMEZONE):
    """An IANA timezone name such as 'Europe/Brussels'."""
    if _blank(value):
        return default
    name = str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TextError(_unknown_timezone(name)) from None
    if name not in _known_timezones() and name != "UTC":
        raise TextError(_unknown_timezone(name))
    return name


@functools.lru_cache(maxsize=1)
def _known_timezones():
    # available_timezones() walks the tz database on disk: once per process is enough.
    return frozenset(available_timezones())


def quota_day(now, tz_name=DEFAULT_TIMEZONE):
    """The quota day containing ``now`` (naive UTC): midnight to midnight in ``tz_name``."""
    zone = ZoneInfo(tz_name)
    local = now.replace(tzinfo=timezone.utc).astimezone(zone)
    day = local.date()
    start_local = datetime.combine(day, time.min, tzinfo=zone)
    reset_local = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)

    def to_utc(moment):
        return moment.astimezone(timezone.utc).replace(tzinfo=None)

    return QuotaDay(day=day, start=to_utc(start_local), reset=to_utc(reset_local))


def reserve_units(limit, reserve_percent):
    """Units of the day's limit kept for person-to-person and transactional mail."""
    if limit <= 0:
        return 0
    return min(limit, math.ceil(limit * reserve_percent / 100))


def effective_limit(limit, reserve_percent, marketing):
    """The count a sender may reach: marketing stops ``reserve_units`` early."""
    if limit <= 0:
        return 0
    return limit - reserve_units(limit, reserve_percent) if marketing else limit


def lease_size(used, cap, want):
    """Units one worker may take at once from a day's count.

    ``used`` of ``cap`` are taken. The answer is at most ``want``, at most half of
    what is left (so other workers sending at the same time still find units while
    this one holds a lease) and at least one while anything is left; 0 means the
    limit is reached.
    """
    left = cap - used
    if left <= 0 or want <= 0:
        return 0
    return max(1, min(want, left // 2))
