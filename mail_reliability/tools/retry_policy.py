# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""When to try a temporarily refused mail again, and when to give up (Postfix-like).

Pure Python, no database needed.  All datetimes are naive UTC, like Odoo's. The
messages of invalid settings are marked for translation (``tools/i18n.py``).
"""

import math
import re
from datetime import datetime, timedelta

from .i18n import LazyTranslate, TextError

_lt = LazyTranslate(__name__)

DEFAULT_DELAYS = (5, 15, 60, 240, 720)  # minutes between attempts; the last one repeats
DEFAULT_MAX_HOURS = 72  # retry window, counted from the first failed attempt

_INTEGER_RE = re.compile(r"[0-9]+")


def _is_empty(value):
    """None, False (an unset ir.config_parameter) or a blank string."""
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def parse_delays(text):
    """``"5, 15, 60"`` -> ``(5, 15, 60)`` minutes; empty or None -> :data:`DEFAULT_DELAYS`.

    :raises ValueError: naming the first item that is not a positive whole number of minutes.
    """
    if _is_empty(text):
        return DEFAULT_DELAYS
    if isinstance(text, list | tuple):
        text = ",".join(str(item) for item in text)
    if not isinstance(text, str):
        raise TextError(
            _lt(
                "Retry delays must be a comma-separated list of minutes, not %(value)s.",
                value=repr(text),
            )
        )
    delays = []
    for position, raw in enumerate(text.split(","), start=1):
        item = raw.strip()
        if not item:
            raise TextError(
                _lt(
                    "Retry delays: item %(position)s is empty; use a comma-separated list of "
                    "minutes such as '5,15,60,240,720'.",
                    position=position,
                )
            )
        if not _INTEGER_RE.fullmatch(item) or int(item) <= 0:
            raise TextError(
                _lt(
                    "Retry delays: %(item)s (item %(position)s) is not a positive whole number "
                    "of minutes.",
                    item=repr(item),
                    position=position,
                )
            )
        delays.append(int(item))
    return tuple(delays)


def _not_positive_hours(value):
    return _lt("Retry window: %(value)s is not a positive number of hours.", value=repr(value))


def parse_max_hours(text):
    """``"72"`` or ``"1.5"`` -> hours as a float; empty or None -> :data:`DEFAULT_MAX_HOURS`.

    :raises ValueError: when the value is not a positive, finite number.
    """
    if _is_empty(text):
        return float(DEFAULT_MAX_HOURS)
    if isinstance(text, bool):
        raise TextError(_not_positive_hours(text))
    try:
        hours = float(text.strip() if isinstance(text, str) else text)
    except (TypeError, ValueError):
        raise TextError(
            _lt(
                "Retry window: %(value)s is not a number of hours (e.g. '72' or '1.5').",
                value=repr(text),
            )
        ) from None
    if not math.isfinite(hours) or hours <= 0:
        raise TextError(_not_positive_hours(text))
    return hours


def _after(moment, **duration):
    """``moment + timedelta(**duration)``, saturating at ``datetime.max``."""
    try:
        return moment + timedelta(**duration)
    except OverflowError:
        return datetime.max


def next_attempt(
    first_attempt, now, retry_count, delays=DEFAULT_DELAYS, max_hours=DEFAULT_MAX_HOURS
):
    """When to try again after a temporary failure, or None to give up.

    :param first_attempt: naive UTC datetime of the first failed attempt (None: ``now``)
    :param now: naive UTC datetime of the failure being handled
    :param retry_count: deferrals already done (0 on the first failure)
    :return: ``min(now + delay, deadline)`` where the delay is ``delays[retry_count]``
        (the last delay repeats) and the deadline is ``first_attempt + max_hours``, so the
        last attempt happens exactly at the deadline; None once ``now`` reached it.
    """
    delays = tuple(delays) or DEFAULT_DELAYS
    first_attempt = first_attempt or now
    deadline = _after(first_attempt, hours=max_hours)
    if now >= deadline:
        return None
    delay = delays[min(max(retry_count or 0, 0), len(delays) - 1)]
    return min(_after(now, minutes=delay), deadline)
