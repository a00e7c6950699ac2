# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Per-server pacing: how fast one outgoing server may be fed, and when again.

Pure Python, no database needed; every datetime is naive UTC, like Odoo's.

* **Rate**: at most ``rate`` emails per clock minute through one server, for
  every process sharing the database (``ir.mail_server.rate_per_minute``; 0:
  no limit). The count of a minute lives in ``mail.pacing.window``; mail
  beyond it waits in the queue until :func:`next_window`.
* **Slow-down**: a throttling reply from the server (``SmtpVerdict.throttled``)
  slows it for :data:`SLOW_DOWN` (:func:`after_throttle`). Each further
  throttling reply during a slow-down slows it one level more; after
  :data:`SLOW_DOWN` without one it is back at full pace. Level ``n`` sends
  ``rate / 2**n`` a minute (at least 1). A server without a rate is not
  slowed (installing changes nothing): the reply is recorded and shown, and
  setting a rate makes it count.
"""

import dataclasses
from datetime import timedelta

WINDOW = timedelta(minutes=1)
SLOW_DOWN = timedelta(minutes=15)
MAX_LEVEL = 5  # at most rate / 32
# How long a sender that found every connection slot of a server taken waits.
CONNECTION_RETRY = timedelta(minutes=1)
# Most connections one server may be given (keys of the advisory locks).
MAX_CONNECTIONS = 100


@dataclasses.dataclass(frozen=True)
class Pace:
    """What one server allows, as read from its ``ir.mail_server`` row."""

    rate: int = 0  # emails per minute; 0: no limit
    max_connections: int = 0  # SMTP sessions at once; 0: no limit
    slowed_until: object = None  # naive UTC datetime, or None
    level: int = 0  # slow-down level (halvings of the rate)

    @property
    def is_off(self):
        """Nothing to enforce: no rate and no connection cap (the default)."""
        return not (self.rate > 0 or self.max_connections > 0)

    def slowed(self, now):
        """The slow-down level recorded for ``now`` (0: none); it only changes the
        pace of a server with a rate (:func:`effective_rate`)."""
        if self.slowed_until and now < self.slowed_until and self.level > 0:
            return min(self.level, MAX_LEVEL)
        return 0


def window_start(now):
    """The clock minute ``now`` falls in."""
    return now.replace(second=0, microsecond=0)


def next_window(now):
    """When the next clock minute starts (the rate's count starts again)."""
    return window_start(now) + WINDOW


def effective_rate(pace, now):
    """Emails per minute allowed at ``now``: the rate, halved per slow-down level
    (at least 1); 0 means no limit."""
    if pace.rate <= 0:
        return 0
    return max(1, pace.rate >> pace.slowed(now))


def after_throttle(pace, now):
    """``(slowed_until, level)`` after a throttling reply at ``now``: one level
    slower than the slow-down in force (if any), for :data:`SLOW_DOWN` from now.

    Replies within :data:`WINDOW` of the one that set the level are the same
    burst (several emails or lanes in flight when the server said it): they
    change nothing, so that one burst costs one level, not one per email.
    """
    level = pace.slowed(now)
    if level and now < pace.slowed_until - SLOW_DOWN + WINDOW:
        return pace.slowed_until, level
    return now + SLOW_DOWN, min(level + 1, MAX_LEVEL)


def slot_key(server_id, slot):
    """Second key of the advisory lock held for connection ``slot`` (1-based) of a server."""
    if not 1 <= slot <= MAX_CONNECTIONS:
        raise ValueError(f"connection slot {slot} out of 1..{MAX_CONNECTIONS}")
    return server_id * (MAX_CONNECTIONS + 1) + slot
