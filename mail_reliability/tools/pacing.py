# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Per-server pacing: how fast one outgoing server may be fed, and when again.

Pure Python, no database needed; every datetime is naive UTC, like Odoo's. The
caller passes the time: ``ir.mail_server`` passes the database's clock, so that
Odoo servers sharing a database agree on it whatever their own clocks say.

* **Rate**: at most ``rate`` emails through one server in any 60 seconds, for
  every process sharing the database (``ir.mail_server.rate_per_minute``; 0:
  no limit). Each email is counted in the second it is taken in; the
  :class:`Window` of a server (``mail.pacing.window``, one row per server)
  keeps the counts of its last :data:`SPAN` (61) seconds. An email may be
  taken at second ``s`` only if the seconds ``s - 60`` to ``s`` hold fewer
  than ``rate`` (:meth:`Window.take`); mail beyond it waits in the queue until
  :meth:`Window.resume_at`, the first second at which enough of the oldest
  counts have aged out. ``ir.mail_server`` does the same in one SQL statement
  per email (``TAKE_SEND_SLOT``), which locks the row so that senders in any
  process count one after the other.

  Bound: *any* 60 seconds ``[a, a + 60 s)`` hold at most ``rate`` emails, also
  across a minute boundary. Take the last email of such an interval, counted
  at second ``L``: ``L < a + 60 s``, so ``L - 60 s`` is at or before the
  second ``a`` falls in, and the seconds it was checked against held every
  earlier email of the interval, fewer than ``rate``. Seconds never go
  backwards on a row (a clock stepped back counts in the newest second). The
  price of whole seconds: a unit is free again 60 to 61 seconds after it was
  taken (when the 61st second after its own starts), never later, so the
  window allows at least 60/61 of the rate over time. The count is taken just
  before the email is handed over: what the server sees is shifted by the
  time each SMTP transaction takes.
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
# Seconds a server's window keeps: the 60 before the current one, and the current one.
SPAN = 61
SECOND = timedelta(seconds=1)
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


def second_of(now):
    """The second ``now`` falls in."""
    return now.replace(microsecond=0)


@dataclasses.dataclass(frozen=True)
class Window:
    """Emails taken through one server in the :data:`SPAN` seconds up to
    ``last_second`` (``sends``: one count per second, oldest first, the last
    one for ``last_second``). The empty window counts nothing."""

    last_second: object = None  # naive UTC datetime, or None: nothing counted yet
    sends: tuple = (0,) * SPAN

    def __post_init__(self):
        # As read from the database (a list, in theory of another length): SPAN counts.
        sends = tuple(self.sends or ())[-SPAN:]
        object.__setattr__(self, "sends", (0,) * (SPAN - len(sends)) + sends)

    def at(self, now):
        """This window as seen at ``now``: moved on to ``now``'s second, the
        counts older than :data:`SPAN` seconds dropped. A ``now`` before
        ``last_second`` (a clock stepped back) changes nothing."""
        second = second_of(now)
        if self.last_second is None:
            return Window(second)
        if second <= self.last_second:
            return self
        shift = min(SPAN, int((second - self.last_second) / SECOND))
        return Window(second, tuple(self.sends[shift:]) + (0,) * shift)

    def used(self, now):
        """Emails counted in the 60 seconds before ``now``'s second and in it."""
        return sum(self.at(now).sends)

    def take(self, now, rate):
        """The window with one more email at ``now``, or None when ``rate``
        are counted already (``rate`` > 0)."""
        window = self.at(now)
        if sum(window.sends) >= rate:
            return None
        return Window(window.last_second, window.sends[:-1] + (window.sends[-1] + 1,))

    def resume_at(self, now, rate):
        """The earliest moment after ``now`` at which :meth:`take` counts one
        more email at ``rate`` (the start of a second), given what is counted."""
        window = self.at(now)
        sends = window.sends
        for ahead in range(1, SPAN + 1):
            if sum(sends[ahead:]) < rate:
                break
        return window.last_second + ahead * SECOND


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
