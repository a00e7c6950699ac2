# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Pure decisions of the email health dashboard (no database needed).

The status vocabulary of every health finding lives here: the DNS checks
(``dns_checks``), the dashboard model and the settings summary import it.
"""

import re

# --- status vocabulary -------------------------------------------------------------
OK = "ok"
WARNING = "warning"
ERROR = "error"
NOT_AVAILABLE = "na"  # the check cannot run here (e.g. a model not installed)
STATUS_ORDER = {OK: 0, WARNING: 1, ERROR: 2}  # severity of the statuses a check can combine
# selection of ``mail.health.check.status`` (labels translated with the field)
STATUS_SELECTION = [
    (OK, "OK"),
    (WARNING, "Warning"),
    (ERROR, "Error"),
    (NOT_AVAILABLE, "Not available"),
]


def worst(statuses):
    """The most severe of a list of statuses (``ok`` when empty)."""
    return max(statuses, key=STATUS_ORDER.get, default=OK)


BOUNCE_WARNING_RATE = 5.0  # percent: Amazon SES puts an account under review
BOUNCE_ERROR_RATE = 10.0  # percent: sending is paused
MIN_QUEUE_INTERVAL = 5  # minutes
MAX_QUEUE_INTERVAL = 60  # minutes

# Names reserved for documentation and tests (RFC 2606, RFC 6761: example.com/.net/.org
# and their subdomains, the example, test, invalid and localhost top-level domains),
# mDNS/host-local names, and single labels (no dot: "odoo", "localhost").
_PLACEHOLDER_DOMAINS = re.compile(
    r"^([^.]+|example(\.[a-z0-9-]+)+"
    r"|(.+\.)?(example\.(com|net|org)|example|test|invalid|localhost|local|localdomain))$"
)


def is_placeholder_email(email):
    """True for an empty or made-up address: ``admin@example.com``, ``x@localhost``..."""
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        return True
    local, _sep, domain = email.rpartition("@")
    if not local or not domain:
        return True
    return bool(_PLACEHOLDER_DOMAINS.match(domain))


def suggested_admin_email(alias_domain):
    """``admin@<alias domain>``, unless that would be a placeholder too (False)."""
    suggestion = f"admin@{alias_domain}" if alias_domain else False
    return suggestion if suggestion and not is_placeholder_email(suggestion) else False


def queue_interval_status(minutes):
    """Status of the queue cron interval in minutes (5 .. 60 is fine, 15 recommended)."""
    if minutes < MIN_QUEUE_INTERVAL:
        return ERROR
    if minutes > MAX_QUEUE_INTERVAL:
        return WARNING
    return OK


def bounce_rate_status(rate, warning=BOUNCE_WARNING_RATE, error=BOUNCE_ERROR_RATE):
    """Bounce rate in percent -> status (by default 5% warning, 10% error)."""
    if rate is None:
        return OK
    if rate >= error:
        return ERROR
    if rate >= warning:
        return WARNING
    return OK


def from_filter_covers(from_filter, email):
    """Same rule as ``ir.mail_server._match_from_filter``: empty, a domain or an address."""
    if not from_filter:
        return True
    email = (email or "").strip().lower()
    domain = email.rpartition("@")[2]
    for part in (p.strip().lower() for p in from_filter.split(",")):
        if not part:
            continue
        if "@" in part and part == email:
            return True
        if "@" not in part and part == domain:
            return True
    return False


def uncovered_from_addresses(from_filters, emails):
    """Addresses that no server's ``from_filter`` covers (empty list of filters: none)."""
    if not from_filters:
        return sorted(set(emails))
    return sorted(
        {email for email in emails if not any(from_filter_covers(f, email) for f in from_filters)}
    )
