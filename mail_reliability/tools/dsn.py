# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Read bounces (delivery status notifications) per recipient, and spot auto-replies.

Pure Python, no Odoo import.

* :func:`parse_bounce` reads an RFC 3464 report (``multipart/report;
  report-type=delivery-status``) with the stdlib :mod:`email` parser: one
  :class:`RecipientReport` per recipient block (``Final-Recipient``, ``Action``,
  ``Status``, ``Diagnostic-Code``, ``Remote-MTA``).  Bounces that are not RFC 3464
  (qmail, old Exchange, Yahoo...) go to ``flufl.bounce``'s detectors when that
  library is installed, then to ``X-Failed-Recipients``.  Each recipient is
  classified with :func:`..smtp_status.classify_smtp_error`, exactly like an SMTP
  reply, and gets a *kind*: ``hard`` (the address is bad), ``soft`` (failed for
  another reason: policy, size, sender authentication...), ``delayed`` (a warning,
  the remote server keeps trying) or ``none`` (delivered, relayed, expanded).
* :func:`auto_message_reason` says why a message must never be answered
  automatically (a bounce, an auto-reply, a list...), or ``None``.
"""

import email
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses

from .smtp_status import (
    RECIPIENT,
    classify_smtp_error,
    parse_basic_code,
    parse_enhanced_status,
)

try:  # optional: detectors for bounces that are not RFC 3464
    from flufl.bounce import _scan as flufl_scan
except ImportError:  # pragma: no cover - exercised when the library is absent
    flufl_scan = None

_logger = logging.getLogger(__name__)

HARD, SOFT, DELAYED, NONE = "hard", "soft", "delayed", "none"
KINDS = (HARD, SOFT, DELAYED, NONE)
# Sender-side statuses in the 5.1.x range: bad *sender* address, not the recipient's.
SENDER_STATUSES = {"1.7", "1.8"}
REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status")
ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/global")
MSGID_RE = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MSGID_HEADER_RE = re.compile(
    r"^(?:message-id|x-microsoft-original-message-id):\s*(<[^<>\s]+@[^<>\s]+>)",
    re.IGNORECASE | re.MULTILINE,
)
_ADDRESS_PREFIX_RE = re.compile(r"^<?[^<>\s@]+@[^<>\s]+>?:\s*")
_LOOSE_CODE_RE = re.compile(r"^([245]\d\d):?\s")
DAEMON_LOCALPARTS = {"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster", "mail-daemon"}


@dataclass(frozen=True)
class RecipientReport:
    recipient: str
    action: str
    status: str | None
    diagnostic: str = ""
    remote_mta: str = ""
    smtp_code: int | None = None
    failure_type: str = ""
    permanent: bool = False
    explanation: str = ""
    kind: str = NONE

    @property
    def reason(self):
        """One line for humans: what the remote server said."""
        parts = [self.diagnostic or self.status or self.action]
        if self.remote_mta:
            parts.append(f"(remote server {self.remote_mta})")
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class BounceReport:
    source: str  # "rfc3464", "flufl", "x-failed-recipients" or "" (nothing understood)
    recipients: tuple = ()
    original_message_ids: tuple = ()
    reporting_mta: str = ""
    errors: tuple = field(default_factory=tuple)

    @property
    def is_dsn(self):
        return self.source == "rfc3464"


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def _unfold(value):
    return " ".join(str(value or "").split())


def _typed_value(value):
    """``rfc822; user@example.com`` -> ``user@example.com`` (the address type dropped)."""
    value = _unfold(value)
    if ";" in value:
        value = value.split(";", 1)[1]
    return value.strip()


def normalize_address(value):
    """Lower-cased bare address, or ``""``."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    value = _typed_value(value).strip().strip("<>").strip()
    addresses = [addr for _name, addr in getaddresses([value]) if "@" in addr]
    return (addresses[0] if addresses else (value if "@" in value else "")).lower()


def _status(value):
    match = _STATUS_RE.search(_unfold(value))
    return "{}.{}.{}".format(*match.groups()) if match else None


def _as_message(message):
    if isinstance(message, Message):
        return message
    if isinstance(message, str):
        message = message.encode("utf-8", "surrogateescape")
    return email.message_from_bytes(bytes(message), policy=email.policy.SMTP)


def _part_text(part):
    """Decoded text of a non-multipart part, never raising."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding
        payload = None
    if payload is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # unknown charset name
        return payload.decode("utf-8", "replace")


def _blocks(part):
    """Header blocks of a delivery-status part (the stdlib parses them as messages)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = _part_text(part).replace("\r\n", "\n")
    return [
        email.message_from_string(chunk.strip() + "\n", policy=email.policy.compat32)
        for chunk in re.split(r"\n[ \t]*\n", text)
        if chunk.strip()
    ]


def _header(block, name):
    try:
        value = block.get(name)
    except Exception:  # undecodable header
        value = None
    return _unfold(value) if value is not None else ""


# ---------------------------------------------------------------------------------------------
# Classification of one recipient
# ---------------------------------------------------------------------------------------------
def is_hard_status(status):
    """x.1.x (bad address) except the sender-side 1.7/1.8, and x.2.1 (mailbox disabled)."""
    if not status or status[0] not in "45":
        return False
    subject_detail = status.split(".", 1)[1]
    if subject_detail in SENDER_STATUSES:
        return False
    return subject_detail.startswith("1.") or subject_detail == "2.1"


def classify_recipient(recipient, action, status, diagnostic="", remote_mta=""):
    """One :class:`RecipientReport` from the fields of a DSN recipient block."""
    diagnostic = _typed_value(diagnostic) if diagnostic else ""
    action = (action or "").split()[0].lower() if action and action.split() else ""
    diag_status = parse_enhanced_status(diagnostic) if diagnostic else None
    if diag_status and diag_status[0] not in "45":
        diag_status = None
    # The more specific of Status and the status quoted in the diagnostic wins.
    if not status or (status.endswith(".0.0") and diag_status and diag_status[0] == status[0]):
        status = diag_status or status
    if not action:
        action = {"5": "failed", "4": "delayed", "2": "delivered"}.get((status or "?")[0], "")
    if action == "failed" and not status:
        status = "5.0.0"
    code = _code(diagnostic) if diagnostic else None
    kind, failure_type, permanent, explanation = NONE, "", False, ""
    if action in ("failed", "delayed"):
        verdict = classify_smtp_error(code, f"{status or ''} {diagnostic}".strip())
        failure_type, permanent, explanation = (
            verdict.failure_type,
            verdict.permanent,
            verdict.explanation,
        )
        if action == "delayed":
            kind = DELAYED
        elif is_hard_status(status) or (
            (status or "").endswith(".0.0") and permanent and failure_type == RECIPIENT
        ):
            kind = HARD
        else:
            kind = SOFT
    return RecipientReport(
        recipient=normalize_address(recipient),
        action=action,
        status=status,
        diagnostic=diagnostic,
        remote_mta=_typed_value(remote_mta),
        smtp_code=code,
        failure_type=failure_type,
        permanent=permanent,
        explanation=explanation,
        kind=kind,
    )


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------
def original_message_ids(message):
    """Message-Ids of the bounced message: quoted part first, then any quoted header."""
    ids = []
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                for name in ("Message-Id", "X-Microsoft-Original-Message-ID"):
                    ids.extend(MSGID_RE.findall(_header(inner, name)))
        elif ctype == "text/rfc822-headers" or ctype.startswith("text/"):
            ids.extend(_MSGID_HEADER_RE.findall(_part_text(part)))
    seen = set()
    return tuple(i for i in ids if not (i in seen or seen.add(i)))


def _first_text(message):
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return _part_text(part)
    for part in message.walk():
        if part.get_content_maintype() == "text":
            return _part_text(part)
    return ""


def _diagnostic_for(text, address):
    """The line(s) of a free-text bounce that explain the failure of ``address``."""
    lines = [line.strip() for line in text.splitlines()]
    candidates = [i for i, line in enumerate(lines) if address and address in line.lower()]
    candidates += [
        i
        for i, line in enumerate(lines)
        if parse_enhanced_status(line) or re.match(r"^[245]\d\d[\s-]", line)
    ]
    windows = []
    for index in candidates:
        window = []
        for line in lines[index : index + 3]:
            if not line or line.startswith("---"):  # end of the paragraph / the copy
                break
            window.append(line)
        window = _ADDRESS_PREFIX_RE.sub("", " ".join(window))
        if parse_enhanced_status(window) or _code(window):
            return _unfold(window)[:500]
        windows.append(window)
    return _unfold(windows[0])[:500] if windows else ""


def _code(diagnostic):
    """Basic reply code of a diagnostic, including the ``554: ...`` of some MTAs."""
    code = parse_basic_code(diagnostic)
    if code is None:
        match = _LOOSE_CODE_RE.match(diagnostic)
        code = int(match.group(1)) if match else None
    return code


def _flufl_failures(message):
    """(temporary, permanent) address sets found by flufl.bounce, or empty sets."""
    if flufl_scan is None:
        return set(), set()
    try:
        # flufl's detectors expect the classic API (compat32); re-parse a copy.
        legacy = email.message_from_bytes(message.as_bytes(policy=email.policy.compat32))
    except Exception:  # unserialisable message
        return set(), set()
    flufl_logger = logging.getLogger("flufl.bounce")
    level = flufl_logger.level
    flufl_logger.setLevel(logging.WARNING)  # it logs every detector it runs at INFO
    try:
        for detector in flufl_scan._DETECTORS:
            try:
                temporary, permanent = detector().process(legacy)
            except Exception:  # one broken detector must not stop us
                continue
            temporary = {normalize_address(a) for a in temporary} - {""}
            permanent = {normalize_address(a) for a in permanent} - {""}
            if temporary or permanent:
                return temporary, permanent
    finally:
        flufl_logger.setLevel(level)
    return set(), set()


def parse_bounce(message, fallback_recipient=None):
    """Read a bounce into a :class:`BounceReport` (never raises on bad input).

    ``fallback_recipient`` names the recipient of a report whose one recipient block
    lost its ``Final-Recipient`` / ``Original-Recipient`` (old or broken servers),
    e.g. the only recipient of the bounced message: the block's Action, Status and
    Diagnostic-Code still say how delivery failed.
    """
    try:
        message = _as_message(message)
    except Exception as exc:
        return BounceReport(source="", errors=(f"unparsable message: {exc}",))
    errors = []
    try:
        ids = original_message_ids(message)
    except Exception as exc:
        ids, errors = (), [f"original message not readable: {exc}"]
    try:
        report = _parse_rfc3464(message, fallback_recipient)
    except Exception as exc:
        report, errors = None, [*errors, f"delivery-status part not readable: {exc}"]
    if report is not None and report[1]:
        reporting_mta, recipients = report
        return BounceReport("rfc3464", tuple(recipients), ids, reporting_mta, tuple(errors))
    try:
        recipients, source = _parse_nonstandard(message)
    except Exception as exc:
        recipients, source = [], ""
        errors.append(f"bounce text not readable: {exc}")
    return BounceReport(source, tuple(recipients), ids, "", tuple(errors))


def _parse_rfc3464(message, fallback_recipient=None):
    part = next((p for p in message.walk() if p.get_content_type() in REPORT_TYPES), None)
    if part is None:
        return None
    reporting_mta, recipients, unnamed = "", [], []
    for block in _blocks(part):
        if not reporting_mta:
            reporting_mta = _typed_value(_header(block, "Reporting-MTA"))
        recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
        if not recipient:
            if _header(block, "Action") or _header(block, "Status"):
                unnamed.append(block)  # a recipient block whose address got lost
            continue
        recipients.append(_classify_block(recipient, block))
    recipients = [r for r in recipients if r.recipient]
    fallback = normalize_address(fallback_recipient) if fallback_recipient else ""
    if not recipients and len(unnamed) == 1 and fallback:
        recipients = [_classify_block(fallback, unnamed[0])]
    return reporting_mta, recipients


def _classify_block(recipient, block):
    return classify_recipient(
        recipient,
        _header(block, "Action"),
        _status(_header(block, "Status")),
        _header(block, "Diagnostic-Code"),
        _header(block, "Remote-MTA"),
    )


def _parse_nonstandard(message):
    temporary, permanent = _flufl_failures(message)
    source = "flufl" if temporary or permanent else ""
    if not source:
        failed = _header(message, "X-Failed-Recipients")
        permanent = {addr.lower() for _n, addr in getaddresses([failed]) if "@" in addr}
        source = "x-failed-recipients" if permanent else ""
    text = _first_text(message)
    recipients = []
    for address, action in [
        *((a, "failed") for a in sorted(permanent)),
        *((a, "delayed") for a in sorted(temporary - permanent)),
    ]:
        diagnostic = _diagnostic_for(text, address)
        status = parse_enhanced_status(diagnostic) if diagnostic else None
        if action == "failed" and status and status[0] == "4":
            status = None  # a retry hint quoted in a permanent failure
        recipients.append(classify_recipient(address, action, status, diagnostic))
    return recipients, source


# ---------------------------------------------------------------------------------------------
# Loop safety
# ---------------------------------------------------------------------------------------------
def auto_message_reason(message):
    """Why ``message`` must not get an automatic answer (RFC 3834), or ``None``."""
    message = _as_message(message)
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    return_path = _header(message, "Return-Path")
    if return_path.replace(" ", "") in ("<>", "<<>>"):
        return "null Return-Path (the message is itself a bounce)"
    if message.get_content_type() == "multipart/report":
        return "delivery or disposition report"
    if _header(message, "X-Failed-Recipients"):
        return "bounce (X-Failed-Recipients)"
    sender = normalize_address(_header(message, "From")) or normalize_address(return_path)
    if sender.split("@", 1)[0] in DAEMON_LOCALPARTS:
        return f"sent by a mail system ({sender})"
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id"):
        if _header(message, name):
            return f"{name} header"
    return None


# ---------------------------------------------------------------------------------------------
# Bounce rate
# ---------------------------------------------------------------------------------------------
# Amazon SES: a bounce rate of 5% puts an account under review, 10% may pause sending.
RATE_WARNING = 5.0
RATE_CRITICAL = 10.0


def bounce_rate_level(sent, bounced, warning=RATE_WARNING, critical=RATE_CRITICAL):
    """``(rate in %, "ok" | "warning" | "critical")`` for ``bounced`` out of ``sent``."""
    sent, bounced = max(int(sent or 0), 0), max(int(bounced or 0), 0)
    if not sent:
        return 0.0, "ok"
    rate = round(100.0 * min(bounced, sent) / sent, 2)
    if rate >= critical:
        return rate, "critical"
    if rate >= warning:
        return rate, "warning"
    return rate, "ok"
