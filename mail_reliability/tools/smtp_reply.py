# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The relay's answer to an accepted mail: its reply text and its queue id.

Pure Python, no Odoo import. When a relay accepts a mail it answers the DATA
command with a 250 reply that usually names the mail in its own logs (the
"queue id"). Support staff look the mail up with that id in the provider's
logs or tools ("did it leave Odoo?"). :func:`parse_queue_id` finds it in the
reply formats of the common MTAs and providers:

>>> parse_queue_id("250 2.0.0 Ok: queued as 4F2A1B3C9D")
'4F2A1B3C9D'
>>> parse_queue_id("250 OK id=1qXyZ-000abc-De")
'1qXyZ-000abc-De'
>>> parse_queue_id("250 2.0.0 Ok: queued") is None
True
"""

import re

# Longest reply we keep (a reply is one or a few lines; this bounds hostile input).
MAX_REPLY = 1000
MAX_ID = 128

_CODE_RE = re.compile(r"^\s*(?:250[ -])?(?:2\.\d{1,3}\.\d{1,3}\s+)?", re.IGNORECASE)
_ID = r"<?([A-Za-z0-9][A-Za-z0-9._@=+/-]{2,127}?)>?"
# (name, pattern): first match wins; group 1 is the id.
_PATTERNS = [
    # Postfix, SendGrid, Brevo, Mailjet: "Ok: queued as 4F2A1B3C9D"
    ("queued as", re.compile(r"\bqueued as\s+" + _ID + r"(?=[\s;,)]|$)", re.IGNORECASE)),
    # Exim: "OK id=1qXyZ-000abc-De"
    ("id=", re.compile(r"(?:^|\s)id=" + _ID + r"(?=[\s;,)]|$)", re.IGNORECASE)),
    # Exchange / Microsoft 365: "<...> [InternalId=12345, Hostname=...] Queued mail for delivery"
    ("InternalId", re.compile(r"\[InternalId=([0-9]+)", re.IGNORECASE)),
    # Gmail: "OK  1700000000 a1-20020a17090a...  - gsmtp"
    ("gsmtp", re.compile(r"^ok\s+\d+\s+(\S+?)\s*(?:-\s*)?gsmtp\s*$", re.IGNORECASE)),
    # qmail: "ok 1700000000 qp 12345" (qmail-queue's pid, as in its log "qp 12345")
    ("qmail", re.compile(r"^ok\s+\d+\s+(qp\s+\d+)\s*$", re.IGNORECASE)),
    # Amazon SES: "Ok 0100018c1d2e3f4a-...-000000"
    ("ses", re.compile(r"^ok\s+([0-9a-f]{16}-[0-9a-f-]{20,}-\d{6})\s*$", re.IGNORECASE)),
    # Sendmail: "3B1Hk0Ab012345 Message accepted for delivery"
    ("sendmail", re.compile(r"^([A-Za-z0-9]{8,20}) Message accepted for delivery", re.IGNORECASE)),
]


def reply_text(code, message):
    """'250 2.0.0 Ok: queued as X' from smtplib's (code, bytes) pair; '' for nothing."""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    message = " ".join((message or "").split())  # multi-line replies on one line
    text = f"{code} {message}".strip() if code else message
    return text[:MAX_REPLY]


def parse_queue_id(reply):
    """The relay's queue id in an accepting reply (str), or None when it names none."""
    if not reply:
        return None
    text = _CODE_RE.sub("", " ".join(str(reply)[:MAX_REPLY].split()), count=1)
    for _name, pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            return " ".join(match.group(1).split())[:MAX_ID]
    return None
