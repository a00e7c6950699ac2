# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Queue lanes: the settings and names of the parallel email queue (no database needed).

``mail_reliability.queue_lanes`` = N runs the email queue as N cron jobs: lane 1
is stock's "Mail: Email Queue Manager", lanes 2..N are cron jobs the addon
creates (xml ids :func:`lane_xmlid`). With more than one lane, each lane claims
the head of the due queue, at most :data:`CLAIM_SIZE` mails at a time, in one
statement that skips rows another lane holds; a claim expires after the claim
timeout (``mail_reliability.queue_lane_claim_seconds``), so the mails of a
killed lane are taken over.
"""

import re

from .i18n import LazyTranslate, TextError

_lt = LazyTranslate(__name__)

LANES_PARAM = "mail_reliability.queue_lanes"
CLAIM_SECONDS_PARAM = "mail_reliability.queue_lane_claim_seconds"
DEFAULT_LANES = 1
MAX_LANES = 16
DEFAULT_CLAIM_SECONDS = 300
MIN_CLAIM_SECONDS = 10
# Mails a lane claims at a time: small enough that lanes share a short queue evenly,
# large enough that the claim statement (and stock's SMTP connect per send()) is
# paid once per many mails.
CLAIM_SIZE = 100
# ir.model.data names of lanes 2..N (module mail_reliability), created with noupdate.
LANE_XMLID_PREFIX = "ir_cron_mail_reliability_queue_lane_"
_INTEGER = re.compile(r"^\+?\d+$")


def _whole_number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    return None


def parse_lanes(value):
    """The number of queue lanes in ``value``, or ``ValueError``.

    Empty or unset means the default, 1. Accepts whole numbers from 1 to
    :data:`MAX_LANES` (``"2"``, ``" 4 "``, ``4``); refuses ``"0"``, ``"-1"``,
    ``"17"``, ``"2.5"``, ``"two"``.
    """
    if value is None or value is False or value == "":
        return DEFAULT_LANES
    lanes = _whole_number(value)
    if lanes is None or not 1 <= lanes <= MAX_LANES:
        raise TextError(
            _lt(
                "%(value)s is not a number of queue lanes: a whole number from 1 to %(max)s",
                value=repr(value),
                max=MAX_LANES,
            )
        )
    return lanes


def parse_claim_seconds(value):
    """The claim timeout in seconds in ``value`` (at least :data:`MIN_CLAIM_SECONDS`),
    or ``ValueError``; empty or unset means :data:`DEFAULT_CLAIM_SECONDS`."""
    if value is None or value is False or value == "":
        return DEFAULT_CLAIM_SECONDS
    seconds = _whole_number(value)
    if seconds is None or seconds < MIN_CLAIM_SECONDS:
        raise TextError(
            _lt(
                "%(value)s is not a claim timeout: a whole number of seconds, at least %(min)s",
                value=repr(value),
                min=MIN_CLAIM_SECONDS,
            )
        )
    return seconds


def lane_xmlid(lane, module="mail_reliability"):
    """The external id of lane ``lane`` (2 or more; lane 1 is stock's queue cron)."""
    if lane < 2:
        raise ValueError("lane 1 is the stock Email Queue Manager")
    return f"{module}.{LANE_XMLID_PREFIX}{lane}"


def lane_of_xmlid_name(name):
    """The lane number of an ir.model.data ``name`` created by :func:`lane_xmlid`, or None."""
    if not name or not name.startswith(LANE_XMLID_PREFIX):
        return None
    lane = _whole_number(name[len(LANE_XMLID_PREFIX) :])
    return lane if lane and lane >= 2 else None


def claim_sizes(batch_size, claim_size=None):
    """How many mails each successive claim of one lane run asks for.

    ``batch_size`` bounds the run (stock's ``mail.mail.queue.batch.size``); 0 or
    less means no bound. Yields forever when unbounded: the caller stops at the
    first claim that comes back short. ``claim_size``: :data:`CLAIM_SIZE`.
    """
    claim_size = claim_size or CLAIM_SIZE
    if batch_size is None or batch_size <= 0:
        while True:
            yield claim_size
    left = batch_size
    while left > 0:
        size = min(claim_size, left)
        yield size
        left -= size
