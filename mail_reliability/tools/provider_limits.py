# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Daily sending limits of common providers: presets and outgoing host matching.

Pure Python, no Odoo import. The figures and their sources are listed in
``readme/CONFIGURE.md``; a provider may change them, so they are only offered
(Settings > Emails presets, a health check suggestion), never applied on their
own.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    code: str
    label: str
    daily_limit: int
    note: str
    source: str


PRESETS = (
    Preset(
        "gmail",
        "Gmail (personal account): 500/day",
        500,
        "500 recipients a day per account.",
        "https://support.google.com/mail/answer/22839",
    ),
    Preset(
        "google_workspace",
        "Google Workspace: 2,000/day",
        2000,
        "2,000 messages a day per user.",
        "https://support.google.com/a/answer/166852",
    ),
    Preset(
        "microsoft_365",
        "Microsoft 365 / Exchange Online: 10,000/day",
        10000,
        "10,000 recipients a day and 30 messages a minute per mailbox.",
        "https://learn.microsoft.com/office365/servicedescriptions/"
        "exchange-online-service-description/exchange-online-limits#sending-limits",
    ),
    Preset(
        "ses_sandbox",
        "Amazon SES sandbox: 200/day",
        200,
        "200 messages per 24 hours and 1 per second while the account is in the sandbox; "
        "a production account has its own quota in the SES console.",
        "https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html",
    ),
    Preset(
        "odoo_like",
        "Odoo-like: 200/day",
        200,
        "A cautious 200 a day, the order of the daily limit Odoo applies to small "
        "databases sending through its own servers.",
        "https://www.odoo.com/documentation/18.0/applications/general/email_communication.html",
    ),
)
PRESETS_BY_CODE = {preset.code: preset for preset in PRESETS}

# outgoing host (lower case, exact or pattern) -> preset codes, most likely first
_HOSTS = (
    (re.compile(r"smtp\.gmail\.com"), ("google_workspace", "gmail")),
    (re.compile(r"smtp\.googlemail\.com"), ("gmail",)),
    (re.compile(r"smtp\.office365\.com"), ("microsoft_365",)),
    (re.compile(r"smtp-mail\.outlook\.com"), ("microsoft_365",)),
    (re.compile(r"email-smtp(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com"), ("ses_sandbox",)),
)


def presets_for_host(host):
    """The presets that fit an outgoing server ``host``, or ``()`` for an unknown host."""
    name = (host or "").strip().rstrip(".").lower()
    for pattern, codes in _HOSTS:
        if pattern.fullmatch(name):
            return tuple(PRESETS_BY_CODE[code] for code in codes)
    return ()


def preset_for_limit(limit):
    """The code of the first preset with this daily limit, or ``False``."""
    return next((p.code for p in PRESETS if p.daily_limit == limit), False)
