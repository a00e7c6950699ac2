# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Classify what an SMTP server (or the network) said into an actionable verdict.

Pure Python, usable and testable without a database: the only Odoo import is the
lazy translation marker of the explanations (see ``tools/i18n.py``).

Priority: enhanced status code (RFC 3463, ``5.1.1``) > basic reply code (``550``) >
wording.  Everything is driven by the rule tables below: each rule is
``(pattern, regex or None, reason)`` and the first rule whose pattern matches the
code *and* whose regex (if any) is found in the reply text wins.  A reason gives
the failure type, whether it is permanent and a plain-language explanation.
"""

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .constants import (
    EMAIL_INVALID,
    EMAIL_MISSING,
    GENERIC,
    POLICY,
    QUOTA,
    RECIPIENT,
    SENDER,
    SIZE,
    TEMPORARY,
)
from .i18n import LazyTranslate, render

_lt = LazyTranslate(__name__)

# failure type -> selection label (translated with the field's selection)
FAILURE_TYPES = {
    TEMPORARY: "Temporary SMTP failure",
    RECIPIENT: "Recipient address rejected",
    SENDER: "Sender identity or authentication rejected",
    POLICY: "Blocked by recipient's policy (spam/blocklist)",
    SIZE: "Message too large",
}


@dataclass(frozen=True)
class SmtpVerdict:
    failure_type: str
    smtp_code: int | None
    smtp_status: str | None
    permanent: bool
    explanation: str
    message: str = ""
    # A rate limit of the outgoing server or our account: slow that server down
    # (tools/pacing.py). Not set for a limit of one recipient or one message.
    throttled: bool = False


# reason -> (failure_type, permanent, explanation)
REASONS = {
    # --- temporary: Odoo retries on its own --------------------------------------------
    "temporary": (
        TEMPORARY,
        False,
        _lt(
            "The receiving server refused the message for now (a temporary error). Odoo will "
            "retry automatically; nothing to do unless it keeps failing until the retry window "
            "ends."
        ),
    ),
    "greylisted": (
        TEMPORARY,
        False,
        _lt(
            "The receiving server uses greylisting: it turns away the first attempt from an "
            "unknown sender on purpose. Odoo will retry automatically and the next attempt "
            "normally gets through."
        ),
    ),
    "throttled": (
        TEMPORARY,
        False,
        _lt(
            "The receiving server is rate-limiting mail from our server (too many messages, "
            "unusual volume or reputation concerns). Odoo will retry automatically later and "
            "slows down sending through that outgoing server for a while; some providers "
            "answer a sending limit with a permanent (5xx) code, which is treated as temporary "
            "too because the same message is accepted once the limit resets. If it happens "
            "often, set a rate on the outgoing server, send in smaller batches or improve the "
            "sending reputation."
        ),
    ),
    "mailbox_full": (
        TEMPORARY,
        False,
        _lt(
            "The recipient's mailbox is full (over quota). Odoo will retry automatically in "
            "case space is freed; if it keeps failing, contact the recipient another way."
        ),
    ),
    "temp_auth": (
        TEMPORARY,
        False,
        _lt(
            "The receiving server deferred the message because our domain's email "
            "authentication (SPF, DKIM or DMARC) did not pass. Odoo will retry automatically, "
            "but fix the sending domain's SPF/DKIM DNS records or it will keep failing."
        ),
    ),
    "connection": (
        TEMPORARY,
        False,
        _lt(
            "The outgoing mail server could not be reached or dropped the connection. Odoo "
            "will retry automatically; if it keeps happening, check the outgoing mail "
            "server's host, port and firewall."
        ),
    ),
    "dns": (
        TEMPORARY,
        False,
        _lt(
            "The host name of the outgoing mail server could not be resolved (DNS failure), so "
            "the server could not be reached. Odoo will retry automatically; if it persists, "
            "check the host name in the outgoing mail server settings."
        ),
    ),
    "tls": (
        TEMPORARY,
        False,
        _lt(
            "The secure (SSL/TLS) connection to the outgoing mail server failed, so the "
            "server could not be reached. Odoo will retry automatically; if it persists, "
            "check the port, the encryption setting and the server's certificate."
        ),
    ),
    "expired": (
        TEMPORARY,
        True,
        _lt(
            "The receiving server kept deferring this message and Odoo gave up when the "
            "retry window ended. Check the last error; once its cause is fixed, send the "
            "message again."
        ),
    ),
    # --- recipient -------------------------------------------------------------------------
    "no_such_user": (
        RECIPIENT,
        True,
        _lt(
            "The recipient's mail server says this address does not exist. Check the address "
            "for typos or ask the contact for a current one; retrying will not help."
        ),
    ),
    "bad_domain": (
        RECIPIENT,
        True,
        _lt(
            "The recipient's domain cannot receive email (it does not exist, has no mail "
            "server or declares a null MX). Check the part after the @ for typos; retrying "
            "will not help."
        ),
    ),
    "bad_syntax": (
        RECIPIENT,
        True,
        _lt(
            "The recipient address is not a valid email address according to the server. "
            "Correct the address on the contact; retrying will not help."
        ),
    ),
    "mailbox_disabled": (
        RECIPIENT,
        True,
        _lt(
            "The recipient's mailbox exists but is disabled or no longer accepts mail. Ask "
            "the contact for another address; retrying will not help."
        ),
    ),
    "moved": (
        RECIPIENT,
        True,
        _lt(
            "The recipient's mailbox has moved and no forwarding is in place. Ask the contact "
            "for their new address; retrying will not help."
        ),
    ),
    "bad_recipient": (
        RECIPIENT,
        True,
        _lt(
            "The recipient's mail server rejected this address. Check that the address is "
            "correct and still in use; retrying will not help."
        ),
    ),
    # --- sender / our configuration ---------------------------------------------------------
    "sender_identity": (
        SENDER,
        True,
        _lt(
            "The outgoing server refused our sender address: the From address is not one it "
            "allows us to send as. Verify the From address / default From on the provider "
            "(e.g. SendGrid Sender Identity, Amazon SES verified identity) or adjust the "
            "outgoing server's from_filter."
        ),
    ),
    "sender_domain": (
        SENDER,
        True,
        _lt(
            "The receiving server could not verify our sender address or its domain (it does "
            "not resolve, has no valid mail server or does not accept replies). Send from a "
            "real, reachable address on a domain with proper DNS (MX) records, or fix the "
            "default From address."
        ),
    ),
    "auth": (
        SENDER,
        True,
        _lt(
            "The outgoing mail server rejected our login or requires authentication / "
            "encryption first. Check the username, password (or app password / OAuth) and "
            "the encryption and port settings of the outgoing mail server."
        ),
    ),
    "relay_denied": (
        SENDER,
        True,
        _lt(
            "The mail server refused to relay the message for us: it only forwards mail for "
            "authenticated users or its own domains. Configure authentication on the outgoing "
            "mail server or ask its administrator to allow Odoo's server and From domain."
        ),
    ),
    "dns_auth": (
        SENDER,
        True,
        _lt(
            "The receiving server rejected the message because our domain's email "
            "authentication failed (SPF, DKIM, DMARC or reverse DNS). Publish or fix the SPF "
            "and DKIM DNS records of the sending domain (aligned with DMARC) or send through a "
            "server authorised for that domain."
        ),
    ),
    # --- policy -------------------------------------------------------------------------------
    "blocklisted": (
        POLICY,
        True,
        _lt(
            "Our sending server's IP address or domain is on a blocklist (e.g. Spamhaus) or "
            "has a poor reputation with the recipient's provider. Check it on the blocklist's "
            "site and request delisting, or send through a reputable provider; retrying will "
            "not help until then."
        ),
    ),
    "spam": (
        POLICY,
        True,
        _lt(
            "The recipient's server refused the message as spam or against its policy. Review "
            "the content, links and attachments, and the sending domain's SPF/DKIM/DMARC; "
            "contact the recipient's postmaster if the mail is legitimate."
        ),
    ),
    "recipient_restricted": (
        POLICY,
        True,
        _lt(
            "The recipient only accepts mail from authorised senders (e.g. an internal "
            "distribution list). Ask the recipient's administrator to allow our sender "
            "address; retrying will not help."
        ),
    ),
    # --- size ---------------------------------------------------------------------------------
    "too_big": (
        SIZE,
        True,
        _lt(
            "The message is larger than the receiving server accepts. Remove or shrink "
            "attachments (or share them as links) and send again."
        ),
    ),
    # --- generic (Odoo's mail_smtp) --------------------------------------------------------
    "generic": (
        GENERIC,
        True,
        _lt(
            "The mail server rejected the message permanently without a more specific "
            "reason. Read the server's reply, fix the cause and send again; retrying as is "
            "will not help."
        ),
    ),
    "protocol": (
        GENERIC,
        True,
        _lt(
            "The conversation with the outgoing mail server failed (e.g. a feature such as "
            "AUTH or STARTTLS is not supported). Check the outgoing mail server's port, "
            "encryption and authentication settings."
        ),
    ),
    "unexpected": (
        GENERIC,
        True,
        _lt(
            "Sending failed with an unexpected error before the mail server gave a reply. "
            "Check the outgoing mail server settings and the server log for details."
        ),
    ),
}

# Explanation when only the failure type is known (or the reply text says something else).
DEFAULT_REASONS = {
    TEMPORARY: "temporary",
    RECIPIENT: "bad_recipient",
    SENDER: "sender_identity",
    POLICY: "spam",
    SIZE: "too_big",
    GENERIC: "generic",
}
# RFC 3463 "delivery time expired": what mail.mail records when it gives up retrying.
EXPIRED_STATUS = "4.4.7"

# Explanations for failure types that do not come from an SMTP reply (see explain_failure).
OTHER_EXPLANATIONS = {
    "unknown": _lt(
        "Sending failed for an unknown reason. Check the failure reason and the server log."
    ),
    "mail_bounce": _lt(
        "The message was accepted, then bounced back by the recipient's mail "
        "system. Check the recipient address and the bounce reason."
    ),
    EMAIL_INVALID: _lt(
        "The recipient's email address is not valid. Correct it on the " "contact and send again."
    ),
    EMAIL_MISSING: _lt(
        "The recipient has no email address. Add one on the contact and " "send again."
    ),
    "mail_from_invalid": _lt(
        "The sender (From) address is not valid. Fix the author's email or "
        "the default From address."
    ),
    "mail_from_missing": _lt(
        "There is no sender (From) address. Set the author's email or a " "default From address."
    ),
    "mail_bl": _lt("The address is on the email blacklist, so nothing was sent."),
    "mail_optout": _lt("The recipient opted out of this mailing list, so nothing was sent."),
    "mail_dup": _lt("The same address was already targeted by this mailing, so it was skipped."),
    QUOTA: _lt(
        "The daily sending limit was reached, so the email was held back. It is put "
        "back in the queue automatically when the limit resets; retrying before then gives the "
        "same result. Raise the limit in Settings, or send through an external server that does "
        "not count toward the database limit."
    ),
}

# No mail server said anything (the seed's "No error populated"): most often SPF or DKIM.
SILENT_EXPLANATION = _lt(
    "Sending failed without a reply from any mail server, so there is no error code to go "
    "by. Most often this is the sending domain's SPF or DKIM setup: the outgoing server "
    "drops mail it is not allowed to send for that domain. Run the SPF and DKIM checks in "
    "Email Health, and check that your notification settings fit how you use email."
)

# Not an SMTP reply: the database's own daily sending limit (see tools/quota_window.py).
QUOTA_FAILURE_TYPE = (QUOTA, "Daily limit reached")

# ---------------------------------------------------------------------------------------------
# Wording
# ---------------------------------------------------------------------------------------------
_I = re.IGNORECASE


def _words(pattern):
    return re.compile(pattern, _I)


DNS_AUTH_RE = _words(
    # "your SPF domain" / "your DKIM domain" name a domain (Gmail rate limits), not a failure
    r"\b(?:spf|dkim|dmarc)\b(?! domain)|unauthenticated (?:e-?mail|mail|message)"
    r"|sender is unauthenticated|\bit is unauthenticated|ptr record"
)
RESTRICTED_RE = _words(
    r"resolver\.rst\.|not (?:authori[sz]ed|allowed|permitted) to send (?:e-?mail |mail )?to"
    r"|only accepts? (?:mail|messages|e-?mail)|delivery not authori[sz]ed"
)
RELAY_RE = _words(
    r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed|disallowed)"
    r"|unable to relay|not permitted to relay|we do not relay|rcpthosts"
)
SENDER_RE = _words(
    r"sender identit|not (?:a )?verified|unverified|verified sender|identities failed"
    r"|sender address rejected"
    r"|not owned by|send ?as ?denied|send as this sender|not allowed to send (?:as|from|on behalf)"
    r"|sender (?:not (?:allowed|authori[sz]ed)|rejected|denied)|invalid (?:sender|from)"
)
SENDER_VERIFY_RE = _words(
    r"sender (?:verify|verification) failed|domain of sender|sender domain (?:must|does not|not)"
    r"|sender address rejected: domain not found|unverifiable sender|sender address (?:does not"
    r"|doesn't) (?:exist|resolve)"
)
AUTH_RE = _words(
    r"authenticat|credentials|password|\blog ?in\b|\blogin\b|starttls|must issue"
    r"|encryption required|smtpclientauthentication"
)
BLOCKLIST_RE = _words(
    r"block ?list|black ?list|deny ?list|spamhaus|spamcop|barracuda|sorbs|\brbl\b|dnsbl"
    r"|(?<!not )\blisted (?:in|on|at|by)\b|blocked using|permanently deferred|reputation"
    r"|ipcheck|\bbanned\b"
)
SPAM_RE = _words(
    r"spam|unsolicited|junk|phish|virus|malware|malicious|content (?:rejected|filter)"
    r"|security issue|suspicious|blocked|\bpolic(?:y|ies)\b|prohibit|\babuse\b"
)
FULL_RE = _words(
    r"mailbox (?:is )?full|full mailbox|over ?quota|quota (?:exceeded|exceeds|full)"
    r"|exceeded (?:the )?(?:storage|quota)|storage (?:quota|limit|space) (?:exceeded|full)"
    r"|insufficient (?:storage|space) (?:in|for) (?:the )?(?:mailbox|user)"
)
SIZE_RE = _words(
    r"too (?:large|big)|size (?:limit|exceed)|exceeds? (?:the |my |fixed )?(?:maximum|size|"
    r"message size|databytes|limit)|message size|databytes|message length exceeds"
)
BAD_DOMAIN_RE = _words(
    r"unrout(?:e)?able|domain (?:name )?(?:not found|does not exist|doesn't exist)"
    r"|host (?:or domain name )?not found|host unknown|null mx|no mx|domain has no"
    r"|unknown domain|nxdomain"
)
NO_SUCH_USER_RE = _words(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient|address|account|person)"
    r"|does not exist|doesn't exist|recipient not found|recipientnotfound|recipnotfound"
    r"|(?:user|mailbox|account) not found|unknown (?:recipient|mailbox|address|local part)"
    r"|invalid (?:recipient|mailbox)|no mailbox|addressee unknown|not a known user"
    r"|(?:doesn't|does not) have an? \S+ account"
)
DISABLED_RE = _words(
    r"\bdisabled\b|deactivated|\binactive\b|no longer (?:active|in use|available)"
    r"|mailbox (?:is )?(?:closed|suspended)"
)
RECIPIENT_RE = _words(
    r"address rejected|recipient (?:rejected|not (?:accepted|allowed|valid))|invalid address"
    r"|bad (?:recipient|destination)|mailbox unavailable|user not local|no longer"
)
GREYLIST_RE = _words(r"gr[ae]y ?list")
THROTTLE_RE = _words(
    r"rate.?limit|too many|throttl|unusual rate|\bvolume\b|complaints|reputation"
    r"|temporarily deferred|receiving mail at a rate"
)
# Additions for pacing (real texts in tests/test_smtp_status.py, TestThrottlingReplies):
# Exchange "Message submission rate for this client has exceeded the configured limit",
# "432 4.3.2 Concurrent connections limit exceeded", "sender thread limit exceeded".
THROTTLE_MORE_RE = _words(
    r"submission rate\b.{0,40}\bexceeded|concurrent connections? limit"
    r"|thread limit exceeded|(?:sending|rate|submission) (?:limit|quota) (?:exceeded|reached)"
)
# A permanent (5xx) reply that only says our account's sending limit is reached: Gmail
# "550 5.4.5 Daily user sending limit exceeded", Microsoft 365 "554 5.2.0 ...
# SubmissionQuotaExceededException" and "550 5.1.90 ... reached your daily limit for
# message recipients". The same email goes through once the limit resets, so it is
# deferred like a 4xx throttling reply instead of failing for good. Not Microsoft's
# "5.2.25x Sender throttled due to continuous ... errors": those need a person (send-as
# denied, mailbox full...), nor Gmail's "unusual rate of unsolicited mail" (spam).
RATE_LIMIT_5XX_RE = _words(
    r"^(?!.*(?:continuous|unsolicited))"
    r"(?=.*(?:submissionquotaexceeded|daily (?:user )?sending (?:quota|limit)"
    r"|reached your daily limit|(?:sending|submission|message) rate (?:limit )?exceeded"
    r"|sending (?:limit|quota) (?:exceeded|reached)|throttling failure))"
)
# Throttling replies that are about one recipient or one message, not about our
# server's pace: Gmail 4.2.1 "receiving mail at a rate...", 4.5.3 "too many recipients".
NOT_SERVER_THROTTLE_STATUSES = ("4.2.1", "4.5.3", "5.5.3")
CONNECTION_RE = _words(
    r"connection (?:refused|reset|timed out|closed|lost|dropped)|timed out|timeout"
    r"|unexpectedly closed|network is unreachable|no route to host|could not connect"
    r"|unable to connect|not connected|lost connection"
)
DNS_RE = _words(r"name or service not known|temporary failure in name resolution|getaddrinfo")
TEMPORARY_RE = _words(r"try (?:again|later)|retry later|temporar|(?<!permanently )\bdeferr")

# ---------------------------------------------------------------------------------------------
# Rule tables
# ---------------------------------------------------------------------------------------------
# Temporary failures, whatever the code says about class 4 (shared by both tables).
_TEMPORARY_RULES = (
    (GREYLIST_RE, "greylisted"),
    (THROTTLE_RE, "throttled"),
    (THROTTLE_MORE_RE, "throttled"),  # before quota wording: "Daily message quota exceeded" (SES)
    (FULL_RE, "mailbox_full"),
    (DNS_AUTH_RE, "temp_auth"),
    (CONNECTION_RE, "connection"),
    (None, "temporary"),
)

# Enhanced status code rules: (fnmatch pattern(s) on "C.S.D", regex or None, reason).
# A status that no rule matches falls through to the basic code table.
_SENDER_AUTH_STATUSES = tuple(f"5.7.{d}" for d in (0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 57))
_DNS_AUTH_STATUSES = tuple(f"5.7.{d}" for d in range(20, 27))
ENHANCED_RULES = (
    ("4.2.2", None, "mailbox_full"),
    ("4.4.2", THROTTLE_MORE_RE, "throttled"),  # Exchange: submission rate exceeded
    (("4.4.1", "4.4.2"), None, "connection"),
    (tuple(f"4.7.{d}" for d in range(20, 28)), None, "temp_auth"),  # SPF/DKIM/DMARC deferrals
    *(("4.*", regex, reason) for regex, reason in _TEMPORARY_RULES),
    ("5.*", RATE_LIMIT_5XX_RE, "throttled"),  # a sending limit: temporary, even as 5xx
    ("5.2.2", None, "mailbox_full"),  # full mailbox: temporary, even as 5.2.2
    ("5.1.7", None, "sender_identity"),  # bad sender mailbox address syntax
    ("5.1.8", None, "sender_domain"),  # bad sender's system address
    ("5.1.*", SENDER_VERIFY_RE, "sender_domain"),
    ("5.1.*", SENDER_RE, "sender_identity"),
    ("5.1.1", None, "no_such_user"),
    ("5.1.10", BAD_DOMAIN_RE, "bad_domain"),  # RFC 7505 null MX
    ("5.1.10", None, "no_such_user"),  # Microsoft: RESOLVER.ADR.RecipientNotFound
    ("5.1.2", None, "bad_domain"),
    ("5.1.3", None, "bad_syntax"),
    ("5.1.6", None, "moved"),
    ("5.1.*", None, "bad_recipient"),
    ("5.2.1", None, "mailbox_disabled"),
    (("5.2.3", "5.3.4"), None, "too_big"),
    (_DNS_AUTH_STATUSES, None, "dns_auth"),
    ("5.7.28", None, "spam"),  # Gmail: unusual rate of unsolicited mail
    ("5.7.*", DNS_AUTH_RE, "dns_auth"),
    ("5.7.27", None, "sender_domain"),  # RFC 7505: sender domain has a null MX
    ("5.7.*", RESTRICTED_RE, "recipient_restricted"),
    ("5.7.*", RELAY_RE, "relay_denied"),
    ("5.7.*", SENDER_VERIFY_RE, "sender_domain"),
    ("5.7.*", SENDER_RE, "sender_identity"),
    ("5.7.*", AUTH_RE, "auth"),
    ("5.7.*", BLOCKLIST_RE, "blocklisted"),
    ("5.7.*", SPAM_RE, "spam"),
    (_SENDER_AUTH_STATUSES, None, "auth"),
    ("5.7.*", None, "spam"),  # 5.7.1, 5.7.2 and the rest: refused by policy
)

# Basic code rules: (prefix(es) of the code, regex or None, reason).  "" means "no code at
# all"; a class-5 enhanced status without a matching rule above is looked up as "5".
_ANY5 = ("5", "")
BASIC_RULES = (
    *(("4", regex, reason) for regex, reason in _TEMPORARY_RULES),
    ("", DNS_RE, "dns"),
    ("", CONNECTION_RE, "connection"),
    ("", GREYLIST_RE, "greylisted"),
    ("", TEMPORARY_RE, "temporary"),
    (("530", "534", "535", "538"), None, "auth"),
    (_ANY5, RATE_LIMIT_5XX_RE, "throttled"),  # a sending limit: temporary, even as 5xx
    (_ANY5, DNS_AUTH_RE, "dns_auth"),
    (_ANY5, FULL_RE, "mailbox_full"),
    (_ANY5, RESTRICTED_RE, "recipient_restricted"),
    (_ANY5, RELAY_RE, "relay_denied"),
    (_ANY5, SENDER_VERIFY_RE, "sender_domain"),
    (_ANY5, SENDER_RE, "sender_identity"),
    (_ANY5, AUTH_RE, "auth"),
    (_ANY5, BLOCKLIST_RE, "blocklisted"),
    (_ANY5, SPAM_RE, "spam"),
    (_ANY5, BAD_DOMAIN_RE, "bad_domain"),
    (_ANY5, NO_SUCH_USER_RE, "no_such_user"),
    (_ANY5, DISABLED_RE, "mailbox_disabled"),
    (_ANY5, RECIPIENT_RE, "bad_recipient"),
    (_ANY5, SIZE_RE, "too_big"),
    ("552", None, "too_big"),
    (("551", "553"), None, "bad_recipient"),
    (_ANY5, None, "generic"),
)

# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------
# RFC 3463: class.subject.detail; subjects are 0-7, which keeps "Exim 4.94.2" out.  Not part
# of a dotted quad or version ("1.5.1.1", "4.5.1.2"), not glued to a word.
STATUS_RE = re.compile(r"(?<![\w.])([245])\.([0-7])\.(\d{1,3})(?!\w|\.\d)")
_LINE_CODE_RE = re.compile(r"^[\s#'\"]*([245]\d\d)(?=[\s-]|$)", re.MULTILINE)
_CODE_BEFORE_STATUS_RE = re.compile(r"(?<![\w.#])#?([245]\d\d)[ -]#?[245]\.[0-7]\.\d{1,3}\b")
_DSN_CODE_RE = re.compile(r"(?:smtp;|said:)\s*([245]\d\d)\b", _I)
# "550-5.1.1 " / "#5.1.1 " prefixes of the lines of a multi-line reply
_LINE_PREFIX_RE = re.compile(r"^[\s#]*(?:[245]\d\d[ -]+)?(?:#?[245]\.[0-7]\.\d{1,3}\s+)?")


def _text(message):
    if message is None:
        return ""
    if isinstance(message, bytes | bytearray):
        return bytes(message).decode("utf-8", errors="replace")
    return str(message)


def _valid_code(code):
    if isinstance(code, bool) or code is None:
        return None
    try:
        code = int(code)
    except (TypeError, ValueError, OverflowError):  # OverflowError: float("inf")
        return None
    return code if 200 <= code <= 599 else None


def parse_basic_code(text):
    """First basic reply code found at a line start, before a status, or in a DSN."""
    for regex in (_LINE_CODE_RE, _CODE_BEFORE_STATUS_RE, _DSN_CODE_RE):
        match = regex.search(text)
        if match:
            return int(match.group(1))
    return None


def parse_enhanced_status(text):
    """First RFC 3463 status of class 4 or 5 in the text (else class 2, else None)."""
    statuses = ["{}.{}.{}".format(*m.groups()) for m in STATUS_RE.finditer(text)]
    for status in statuses:
        if status[0] in "45":
            return status
    return statuses[0] if statuses else None


def _flatten(text):
    """One line of wording: multi-line prefixes dropped, so phrases can span lines."""
    return " ".join(_LINE_PREFIX_RE.sub("", line).strip() for line in text.splitlines())


def _rule_reason(rules, key, text, match):
    for pattern, regex, reason in rules:
        patterns = pattern if isinstance(pattern, tuple) else (pattern,)
        if any(match(key, p) for p in patterns) and (regex is None or regex.search(text)):
            return reason
    return None


def _prefix_match(code_key, prefix):
    return code_key == "" if prefix == "" else code_key.startswith(prefix)


def _reason_for(code, status, text):
    """The reason key for a parsed reply: enhanced status, then basic code, then wording."""
    text = _flatten(text)
    reason = None
    if status and status[0] in "45":
        reason = _rule_reason(ENHANCED_RULES, status, text, fnmatchcase)
    if reason is None:
        if code is not None:
            key = str(code)
        elif status and status[0] in "45":
            key = status[0]
        else:
            key = ""
        reason = _rule_reason(BASIC_RULES, key, text, _prefix_match)
    return reason or "generic"


def _verdict(reason, code, status, message):
    failure_type, permanent, explanation = REASONS[reason]
    throttled = (reason == "throttled" and status not in NOT_SERVER_THROTTLE_STATUSES) or (
        # Gmail's "421 4.7.0 Try again later, closing connection": the server hangs up
        # on us and asks us to come back later, which is what a throttle does.
        code == 421 and status == "4.7.0"
    )
    return SmtpVerdict(
        failure_type, code, status, permanent, render(explanation), message, throttled
    )


def classify_smtp_error(code, message):
    """Classify one SMTP reply: ``code`` (int or None) and its text (str, bytes or None)."""
    text = _text(message).strip()
    code = _valid_code(code)
    if code is None:
        code = parse_basic_code(text)
        full = text
    elif re.match(rf"[\s#'\"]*{code}(?:[\s-]|$)", text):
        full = text
    else:
        full = f"{code} {text}".strip()
    status = parse_enhanced_status(text)
    return _verdict(_reason_for(code, status, text), code, status, full)


def classify_refused_recipients(refused):
    """``{address: (code, msg)}`` from smtplib -> ``{address: SmtpVerdict}``.

    Addresses are returned stripped of ``<>`` and lower-cased, so that callers can look
    them up with a normalized email.
    """
    result = {}
    for address, reply in (refused or {}).items():
        if isinstance(reply, tuple | list) and len(reply) == 2:
            code, msg = reply
        else:
            code, msg = None, reply
        key = _text(address).strip().strip("<>").strip().lower()
        result[key] = classify_smtp_error(code, msg)
    return result


def _exception_text(exc):
    text = str(exc).strip()
    return text or exc.__class__.__name__


def _wrapped(exc):
    """The exception a wrapper (e.g. Odoo's MailDeliveryException) carries, if any."""
    if exc.__cause__ is not None:
        return exc.__cause__
    inner = next((arg for arg in exc.args if isinstance(arg, BaseException)), None)
    return inner if inner is not None else exc.__context__


def classify_exception(exc):
    """Map an exception raised while connecting or sending to a verdict."""
    seen = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        verdict = _classify_known_exception(current)
        if verdict is not None:
            return verdict
        current = _wrapped(current)
    return _verdict("unexpected", None, None, _exception_text(exc))


def _classify_known_exception(exc):
    if isinstance(exc, smtplib.SMTPResponseException):
        verdict = classify_smtp_error(exc.smtp_code, exc.smtp_error)
        if verdict.permanent and verdict.failure_type == GENERIC:
            # The exception type says more than an unspecific reply.
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                return _verdict("auth", verdict.smtp_code, verdict.smtp_status, verdict.message)
            if isinstance(exc, smtplib.SMTPSenderRefused):
                return _verdict(
                    "sender_identity", verdict.smtp_code, verdict.smtp_status, verdict.message
                )
        return verdict
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        verdicts = classify_refused_recipients(exc.recipients)
        if not verdicts:
            return _verdict("generic", None, None, _exception_text(exc))
        worst = next((v for v in verdicts.values() if v.permanent), None)
        worst = worst or next(iter(verdicts.values()))
        message = "\n".join(f"{address}: {v.message}" for address, v in verdicts.items())
        return SmtpVerdict(
            worst.failure_type,
            worst.smtp_code,
            worst.smtp_status,
            worst.permanent,
            worst.explanation,
            message,
            any(v.throttled for v in verdicts.values()),
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _verdict("connection", None, None, _exception_text(exc))
    if isinstance(exc, smtplib.SMTPException):  # SMTPNotSupportedError and friends
        return _verdict("protocol", None, None, _exception_text(exc))
    if isinstance(exc, socket.gaierror):
        return _verdict("dns", None, None, _exception_text(exc))
    if isinstance(exc, ssl.SSLError):  # before OSError: SSLError is one
        return _verdict("tls", None, None, _exception_text(exc))
    if isinstance(exc, OSError):  # refused, reset, timeout, unreachable...
        return _verdict("connection", None, None, _exception_text(exc))
    return None


def is_silent_failure(failure_type, smtp_code=None, smtp_status=None, failure_reason=None):
    """A failure no mail server explained: Odoo's generic or unknown type with no
    SMTP reply code or enhanced status in the stored fields or the reason."""
    if failure_type not in (GENERIC, "unknown"):
        return False
    text = _text(failure_reason or "")
    code = _valid_code(smtp_code) or parse_basic_code(text)
    status = smtp_status or parse_enhanced_status(text)
    return (
        code is None
        and not status
        and (failure_type == "unknown" or _reason_for(None, None, text) == "generic")
    )


def explain_failure(failure_type, smtp_code=None, smtp_status=None, failure_reason=None, lang=None):
    """Plain-language explanation for a stored failure (fields may be False/0/None),
    in ``lang`` (the reader's language; English when empty)."""
    if not failure_type:
        return ""
    if is_silent_failure(failure_type, smtp_code, smtp_status, failure_reason):
        return render(SILENT_EXPLANATION, lang)
    if failure_type not in FAILURE_TYPES and failure_type != GENERIC:
        return render(OTHER_EXPLANATIONS.get(failure_type, OTHER_EXPLANATIONS["unknown"]), lang)
    text = _text(failure_reason or "")
    code = _valid_code(smtp_code) or parse_basic_code(text)
    status = smtp_status or parse_enhanced_status(text)
    if status == EXPIRED_STATUS:
        return render(REASONS["expired"][2], lang)
    reason = _reason_for(code, status, text)
    if REASONS[reason][0] != failure_type:
        # Stored type and text disagree (e.g. stock Odoo's mail_smtp): explain the type.
        reason = DEFAULT_REASONS[failure_type]
    return render(REASONS[reason][2], lang)
