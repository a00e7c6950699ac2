# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Delivery counters gathered in memory before they are written.

Plain Python: ``DeliveryCounts`` sums outcomes per row key (day, server,
recipient domain and whatever further dimension the caller gives, such as the
campaign) so that a whole sending batch costs one database statement.
"""

from collections import Counter

from .constants import HARD_FAILURE_TYPES, QUOTA

COUNTERS = ("attempted", "sent", "hard_bounced", "soft_bounced", "deferred", "failed")


def domain_of(address):
    """The lower-cased domain of an address; '' for anything without one."""
    address = (address or "").strip().lower().rstrip(">")
    if "@" not in address:
        return ""
    return address.rpartition("@")[2][:255]


class DeliveryCounts:
    """{row dimensions: Counter(counter -> n)}; dimensions are a sorted tuple of items."""

    def __init__(self):
        self._rows = {}

    def __bool__(self):
        return bool(self._rows)

    def __len__(self):
        return len(self._rows)

    def add(self, recipients, counter, **dims):
        """Add 1 to ``counter`` for each address, on the row of its domain."""
        if counter not in COUNTERS:
            raise ValueError(f"unknown delivery counter {counter!r}")
        for address in recipients:
            key = tuple(sorted({**dims, "recipient_domain": domain_of(address)}.items()))
            self._rows.setdefault(key, Counter())[counter] += 1

    def merge(self, other):
        for key, counts in other._rows.items():
            self._rows.setdefault(key, Counter()).update(counts)

    def rows(self):
        """[(dims dict, {counter: n})] in a stable order (ordered upserts avoid deadlocks)."""
        return [
            (dict(key), {name: counts.get(name, 0) for name in COUNTERS})
            for key, counts in sorted(self._rows.items(), key=lambda item: repr(item[0]))
        ]

    def clear(self):
        self._rows.clear()


def outcome_counters(recipients, delivered=(), refused=None, verdict=None):
    """What one attempt on one email adds: [(counter, [addresses])].

    ``recipients``: the email's addresses; ``delivered``: the addresses the server
    accepted (empty when the transport does not say, then a success counts every
    recipient as sent); ``refused``: {address: verdict} refused one by one;
    ``verdict``: a failure of the whole email (``failure_type``, ``permanent``).
    A mail held back by the daily limit was not attempted and counts nothing.
    """
    refused = refused or {}
    if verdict is not None and verdict.failure_type == QUOTA:
        return []
    recipients = [a.lower() for a in recipients if a]
    delivered = {a.lower() for a in delivered}
    refused = {a.lower(): v for a, v in refused.items()}
    result = []
    if verdict is not None and not delivered:
        rest = [a for a in recipients if a not in refused] or ([] if refused else recipients)
        outcome = [(_failure_counter(verdict), rest)]
        attempted = sorted(set(rest) | set(refused))
    else:
        sent = sorted(delivered) if delivered else [a for a in recipients if a not in refused]
        outcome = [("sent", sent)]
        attempted = sorted(set(sent) | set(refused))
    result.append(("attempted", attempted))
    result.extend(outcome)
    for address, refusal in sorted(refused.items()):
        result.append((_failure_counter(refusal), [address]))
    return [(counter, addresses) for counter, addresses in result if addresses]


def _failure_counter(verdict):
    if not verdict.permanent:
        return "deferred"
    return "hard_bounced" if verdict.failure_type in HARD_FAILURE_TYPES else "failed"


def bounce_rates(rows, by, min_volume):
    """Hard-bounce rate per value of the dimension ``by`` over statistics rows.

    ``rows``: [(dims, counts)] as read from the statistics; returns
    [(value, attempted, hard_bounced, rate_percent)] for the values with at least
    ``min_volume`` attempted recipients (below that a rate says nothing, as SES
    evaluates only a representative volume), worst rate first.
    """
    totals = {}
    for dims, counts in rows:
        attempted, hard = totals.get(dims.get(by), (0, 0))
        totals[dims.get(by)] = (
            attempted + counts.get("attempted", 0),
            hard + counts.get("hard_bounced", 0),
        )
    rated = [
        (value, attempted, hard, 100.0 * hard / attempted)
        for value, (attempted, hard) in totals.items()
        if attempted and attempted >= min_volume
    ]
    return sorted(rated, key=lambda item: (-item[3], -item[1], str(item[0])))


def worst(rows, by, where=None, limit=3):
    """The ``limit`` values of ``by`` with the most hard bounces (among rows matching
    ``where``: {dimension: value}): [(value, hard_bounced)]."""
    where = where or {}
    totals = Counter()
    for dims, counts in rows:
        if all(dims.get(name) == value for name, value in where.items()) and dims.get(by):
            totals[dims[by]] += counts.get("hard_bounced", 0)
    return [(value, hard) for value, hard in totals.most_common() if hard][:limit]
