# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Read bounces (delivery status notifications) per recipient, and spot auto-replies.

Pure Python, no database: the texts shown to users are ``_lt`` terms
(``tools/i18n.py``), answered in English unless the caller passes the
reader's language (``lang=``).

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
* :func:`auto_reply_reason` says why a message is an auto-reply (out of office,
  vacation, challenge-response: RFC 3834) and not a bounce, or ``None``.
* :func:`parse_feedback_report` reads an ARF spam complaint (RFC 5965) into a
  :class:`FeedbackReport`, or ``None``.

What counts as *hard* (the address is bad): a 5.x.x status of the address
classes (5.1.x except the sender-side 5.1.7/5.1.8, 5.2.1 mailbox disabled), or a
permanent failure whose text says so unmistakably ("user unknown", "no such
user", "mailbox unavailable", "address rejected", and their German, French and
Spanish wordings).  A 4.x.x status, a delay warning ("still undelivered after N
hours", "will continue to try", "this is only a warning"...) or unclear text is
never hard.
"""

import email
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses

from .constants import SPAM_COMPLAINT
from .i18n import LazyTranslate, render
from .smtp_status import (
    RECIPIENT,
    classify_smtp_error,
    parse_basic_code,
    parse_enhanced_status,
)

try:  # detectors for bounces that are not RFC 3464 (public API: all_failures)
    import flufl.bounce as flufl_scan
except ImportError:  # pragma: no cover - exercised when the library is absent
    flufl_scan = None

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

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
_DIAG_TYPE_RE = re.compile(r"^[A-Za-z][\w.-]{0,30}\s*;\s*")
_LOOSE_CODE_RE = re.compile(r"^([245]\d\d):?\s")
# At most this many recipients are read from one report (a forged report naming
# thousands of addresses costs no more than this).
MAX_RECIPIENTS = 100
# The remote server keeps trying: a warning, never a failure (EN, DE, FR, ES, IT, NL).
DELAY_RE = re.compile(
    r"still (?:undelivered|not (?:been )?delivered|being retried)|(?:will"
    r"|shall) (?:continue to|keep"
    r"(?:ing)? on|keep) try|will (?:be )?retr(?:y|ied)|will try (?:again|to deliver)"
    r"|(?:this|it) is (?:only|just) a warning|\bdelivery (?:has been |is )?delayed|delayed delivery"
    r"|delivery status notification \(delay\)|has not (?:yet )?been delivered"
    r"|not yet (?:been )?delivered"
    r"|nur eine warnung|wird (?:weiterhin|weiter|erneut) versucht|noch nicht zugestellt"
    r"|zustellung (?:verz\u00f6gert|verzoegert)|seulement un avertissement|simple avertissement"
    r"|pas encore (?:\u00e9t\u00e9 )?(?:remis|distribu)|nouvelles? tentatives?"
    r"|remise (?:retard\u00e9e|diff\u00e9r\u00e9e)"
    r"|s[o\u00f3]lo es un aviso|seguir[a\u00e1] intentando|se(?:guir| volver)[a\u00e1]n? a intentar"
    r"|todav[i\u00ed]a no (?:ha sido|se ha) entregado|entrega retrasada|retrasad[oa]"
    r"|solo un avviso|ancora in corso|nog niet afgeleverd|alleen een waarschuwing",
    re.IGNORECASE,
)
# Unmistakably the address: a permanent failure with this wording is hard.
PERMANENT_ADDRESS_RE = re.compile(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient|address|account|person)"
    r"|mailbox unavailable|address rejected|recipient not found|user not found|mailbox not found"
    r"|unknown (?:recipient|mailbox|address)|invalid (?:recipient|mailbox)|addressee unknown"
    r"|(?:mailbox|account|address) does not exist|user doesn't have a"
    r"|does not have an? (?:account|mailbox)"
    r"|benutzer unbekannt|unbekannte?r? (?:empf\u00e4nger|benutzer|adresse)"
    r"|empf\u00e4nger unbekannt"
    r"|(?:postfach|mailbox|adresse|benutzer) (?:existiert nicht|ist nicht vorhanden|nicht gefunden)"
    r"|utilisateur inconnu|destinataire inconnu|adresse (?:inconnue|invalide|inexistante)"
    r"|(?:bo\u00eete|compte|adresse|utilisateur) (?:aux lettres )?(?:n'existe pas|inexistante?)"
    r"|usuario (?:desconocido|no existe)|destinatario (?:desconocido|no existe)"
    r"|(?:buz\u00f3n|cuenta|direcci\u00f3n) (?:de correo )?(?:no existe|inexistente|no disponible)"
    r"|utente sconosciuto|destinatario sconosciuto|onbekende gebruiker"
    r"|recipient name is not recognized|invalid final delivery userid|user not exist"
    r"|destinataire invalide|host unknown|no such domain|domain (?:name )?not found"
    r"|domain does not exist|unrouteable address|no such user here|not a known user"
    r"|not listed in (?:the )?(?:domino directory|public name|name & address)"
    r"|couldn't find a mail exchanger|no mail exchanger|domain is not reachable",
    re.IGNORECASE,
)
# Where the copy of the original message starts in a plain-text bounce.
_ORIGINAL_MARK_RE = re.compile(
    r"^[-\s]*(?:original message|this is a copy of|below this line is a copy"
    r"|copy of (?:the )?(?:original )?message|the (?:original|returned) message"
    r"|message (?:text|headers) follow"
    r"|unsent message below|returned mail|headers of the original|original message headers"
    r"|copie du message|nachricht folgt|urspr\u00fcngliche nachricht|kopie der nachricht"
    r"|mensaje original|messaggio originale)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{"
    r"|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_HEADERISH_RE = re.compile(
    r"^\s*(?:from|return-path|sender|reply-to|message-id|in-reply-to|references|received|by|id|"
    r"envelope-from|x-[\w-]+|dkim-signature|list-[\w-]+)\s*[:=]",
    re.IGNORECASE,
)
# Typical subjects of out-of-office, vacation and challenge-response mail.
AUTO_REPLY_SUBJECT_RE = re.compile(
    r"^\s*(?:auto(?:matic|matische|matique)?[\s_-]*(?:reply|response|respons|antwort"
    r"|r\u00e9ponse|reponse|respuesta|risposta)"
    r"|autoreply|auto:|out of (?:the )?office|away from (?:the |my )?office|on vacation|vacation"
    r"|abwesenheit|abwesend|automatische antwort|r\u00e9ponse automatique|absence|absent"
    r"|fuera de la oficina|respuesta autom\u00e1tica|ausente|risposta automatica|fuori ufficio"
    r"|automatisch antwoord|afwezig|please confirm your (?:e-?mail|message)"
    r"|verify your (?:e-?mail|message))",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|delivery (?:status|failure|has failed|notification)|failure notice|returned mail"
    r"|mail delivery failed|nondeliverable|non remis|unzustellbar|nicht zustellbar"
    r"|no se puede entregar",
    re.IGNORECASE,
)
DAEMON_LOCALPARTS = {"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster", "mail-daemon"}


@dataclass(frozen=True)
class RecipientReport:
    """One recipient of a report.

    ``recipient`` is the address we sent to, as far as the report tells:
    ``Original-Recipient`` when present, else ``Final-Recipient`` (forwarding and
    alias expansion change the latter).  Both stay in ``original_recipient`` /
    ``final_recipient``.
    """

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
    final_recipient: str = ""
    original_recipient: str = ""

    @property
    def addresses(self):
        """The addresses this block may stand for, most reliable first (no duplicates)."""
        found = [self.original_recipient, self.recipient, self.final_recipient]
        return tuple(dict.fromkeys(a for a in found if a))

    @property
    def reason(self):
        """One line for humans: what the remote server said (English labels)."""
        return self.reason_text()

    def reason_text(self, lang=None):
        """:attr:`reason` with its label in ``lang`` (the server's words stay as they are)."""
        parts = [self.diagnostic or self.status or self.action]
        if self.remote_mta:
            parts.append(render(_lt("(remote server %(server)s)", server=self.remote_mta), lang))
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class BounceReport:
    source: str  # "rfc3464", "flufl", "x-failed-recipients", "text" (prose) or "" (nothing)
    recipients: tuple = ()
    original_message_ids: tuple = ()
    reporting_mta: str = ""
    errors: tuple = field(default_factory=tuple)
    # To/Cc of the quoted original message (normalised), when the report has it
    original_recipients: tuple = ()

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
    """5.1.x (bad address) except the sender-side 5.1.7/5.1.8, and 5.2.1 (mailbox disabled).

    A 4.x.x status is never hard: the remote server may still deliver.
    """
    if not status or status[0] != "5":
        return False
    subject_detail = status.split(".", 1)[1]
    if subject_detail in SENDER_STATUSES:
        return False
    return subject_detail.startswith("1.") or subject_detail == "2.1"


def classify_recipient(
    recipient,
    action,
    status,
    diagnostic="",
    remote_mta="",
    final_recipient="",
    original_recipient="",
):
    """One :class:`RecipientReport` from the fields of a DSN recipient block."""
    # "smtp; 550 ..." -> "550 ...": only a leading type token is dropped
    diagnostic = _DIAG_TYPE_RE.sub("", _unfold(diagnostic)) if diagnostic else ""
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
        # statuses that do not say what failed: the wording decides
        generic = (
            not status or status.endswith(".0.0") or status[:4] in ("5.0.", "5.3.", "5.4.", "5.5.")
        )
        if action == "delayed":
            kind = DELAYED
        elif (status or "").startswith("4"):
            kind = SOFT  # gave up on a temporary failure: never hard
        elif is_hard_status(status):
            kind = HARD
        elif (
            generic and PERMANENT_ADDRESS_RE.search(diagnostic) and not DELAY_RE.search(diagnostic)
        ):
            kind, failure_type, permanent = HARD, RECIPIENT, True
        else:
            kind = SOFT
    final = normalize_address(final_recipient or recipient)
    original = normalize_address(original_recipient) if original_recipient else ""
    return RecipientReport(
        recipient=original or final,
        final_recipient=final,
        original_recipient=original,
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


def _original_headers(message):
    """Header blocks of the quoted original message (``message/rfc822`` or headers only)."""
    found = []
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                found.append(inner)
        elif ctype == "text/rfc822-headers":
            text = _part_text(part).replace("\r\n", "\n").split("\n\n", 1)[0]
            found.append(email.message_from_string(text + "\n", policy=email.policy.compat32))
    return found


def original_recipients(message):
    """Normalised To/Cc addresses of the quoted original message, in order."""
    message = _as_message(message)
    found = []
    for headers in _original_headers(message):
        for name in ("To", "Cc"):
            found.extend(a for _n, a in getaddresses([_header(headers, name)]) if "@" in a)
    if not found:
        # plain-text bounces quote the original headers in the body
        text = _report_text(message, cut=False)
        for match in re.finditer(r"^(?:to|cc):\s*(.+)$", text, re.IGNORECASE | re.MULTILINE):
            found.extend(a for _n, a in getaddresses([match.group(1)]) if "@" in a)
    return tuple(dict.fromkeys(normalize_address(a) for a in found if normalize_address(a)))[
        :MAX_RECIPIENTS
    ]


def _report_text(message, cut=True):
    """The human-readable text of a report; with ``cut``, without the quoted original."""
    text = _first_text(message).replace("\r\n", "\n")
    if message.get_content_type() != "multipart/report" and not message.is_multipart():
        text = text or ""
    if cut:
        match = _ORIGINAL_MARK_RE.search(text)
        if match and match.start() > 0:
            text = text[: match.start()]
    return text[:200_000]


def _first_text(message):
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return _part_text(part)
    for part in message.walk():
        if part.get_content_maintype() == "text":
            return _part_text(part)
    payload = message.get_payload()
    # a multipart whose boundary is wrong stays one unparsed text
    return payload if isinstance(payload, str) else ""


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
    flufl_logger.setLevel(logging.CRITICAL)  # it logs every detector it runs, and their crashes
    try:
        temporary, permanent = flufl_scan.all_failures(legacy)
    except Exception:  # a detector crashed on this message: the other readers still run
        return set(), set()
    finally:
        flufl_logger.setLevel(level)
    temporary = {normalize_address(a) for a in temporary} - {""}
    permanent = {normalize_address(a) for a in permanent} - {""}
    return temporary, permanent


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
    try:
        originals = original_recipients(message)
    except Exception as exc:
        originals, errors = (), [*errors, f"original recipients not readable: {exc}"]
    if report is not None and report[1]:
        reporting_mta, recipients = report
        source = "rfc3464"
    else:
        reporting_mta = ""
        try:
            recipients, source = _parse_nonstandard(message, originals, prose=report is None)
        except Exception as exc:
            recipients, source = [], ""
            errors.append(f"bounce text not readable: {exc}")
    if len(recipients) > MAX_RECIPIENTS:
        errors.append(
            f"{len(recipients)} recipients in one report, only the first {MAX_RECIPIENTS} read"
        )
        recipients = recipients[:MAX_RECIPIENTS]
    return BounceReport(source, tuple(recipients), ids, reporting_mta, tuple(errors), originals)


def _parse_rfc3464(message, fallback_recipient=None):
    part = next((p for p in message.walk() if p.get_content_type() in REPORT_TYPES), None)
    if part is None:
        # some MTAs put the delivery-status fields into a plain-text part
        part = next(
            (
                p
                for p in message.walk()
                if (
                    p.get_content_type() == "text/plain"
                    # a multipart whose boundary is wrong stays one unparsed text
                    or (
                        p.get_content_maintype() == "multipart" and isinstance(p.get_payload(), str)
                    )
                )
                and re.search(r"^Final-Recipient:", _part_text(p), re.IGNORECASE | re.MULTILINE)
            ),
            None,
        )
        if part is None:
            return None
    reporting_mta, recipients, unnamed = "", [], []
    for block in _blocks(part)[: MAX_RECIPIENTS * 2]:
        if not reporting_mta:
            reporting_mta = _typed_value(_header(block, "Reporting-MTA"))
        recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
        if not recipient:
            if _header(block, "Action") or _header(block, "Status"):
                unnamed.append(block)  # a recipient block whose address got lost
            continue
        recipients.append(_classify_block(recipient, block))
    recipients = [r for r in recipients if r.recipient]
    if len(recipients) == 1 and not recipients[0].diagnostic and recipients[0].action == "failed":
        # no Diagnostic-Code: the human-readable part explains the failure
        only = recipients[0]
        human = _report_text(message)
        explained = _diagnostic_for(human, only.final_recipient)
        if not PERMANENT_ADDRESS_RE.search(explained) and PERMANENT_ADDRESS_RE.search(human):
            explained = _unfold(f"{explained} {human}")[:500]
        explained = f"x-text; {explained}" if explained else ""  # typed, as Diagnostic-Code
        if explained:
            recipients = [
                classify_recipient(
                    only.final_recipient,
                    only.action,
                    only.status,
                    explained,
                    only.remote_mta,
                    original_recipient=only.original_recipient,
                )
            ]
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
        original_recipient=_header(block, "Original-Recipient"),
    )


def _own_addresses(message):
    """Addresses of the report itself (its sender, us), never the failed recipient."""
    own = set()
    for name in ("From", "To", "Cc", "Return-Path", "Sender", "Reply-To", "Delivered-To"):
        own.update(normalize_address(a) for _n, a in getaddresses([_header(message, name)]))
    return own - {""}


def _prose_addresses(message, text, originals):
    """Failed addresses named in the prose of a bounce that has no machine-readable part."""
    own = _own_addresses(message)
    found = []
    for line in text.splitlines():
        if _HEADERISH_RE.match(line) or "message-id" in line.lower():
            continue
        for raw_address in _EMAIL_RE.findall(line):
            address = raw_address.strip(".").lower()
            local = address.split("@", 1)[0]
            if address in own or local in DAEMON_LOCALPARTS or local in ("postmaster", "abuse"):
                continue
            found.append(address)
    found = list(dict.fromkeys(found))
    if originals:
        ours = [a for a in found if a in originals]
        if ours:
            return ours
        if not found and len(originals) == 1:
            return list(originals)
    return found[:MAX_RECIPIENTS]


def _parse_nonstandard(message, originals=(), prose=True):
    temporary, permanent = _flufl_failures(message)
    source = "flufl" if temporary or permanent else ""
    if not source:
        failed = _header(message, "X-Failed-Recipients")
        permanent = {normalize_address(a) for _n, a in getaddresses([failed]) if "@" in a} - {""}
        source = "x-failed-recipients" if permanent else ""
    text = _first_text(message)
    report_text = _report_text(message)
    if not source and prose:
        permanent = set(_prose_addresses(message, report_text, originals))
        source = "text" if permanent else ""
    # "still undelivered after 4 hours", "will continue to try": a warning, never a failure
    delayed = bool(DELAY_RE.search(_unfold(report_text)))
    recipients = []
    for address, found_action in [
        *((a, "failed") for a in sorted(permanent)),
        *((a, "delayed") for a in sorted(temporary - permanent)),
    ]:
        action = found_action
        diagnostic = _diagnostic_for(text, address)
        if (
            len(permanent) == 1
            and not _code(diagnostic)
            and not parse_enhanced_status(diagnostic)
            and not PERMANENT_ADDRESS_RE.search(diagnostic)
        ):
            # the one failed address of a prose report: the report's own words explain it
            diagnostic = "x-text; " + _unfold(f"{diagnostic} {report_text}")[:500]
        status = parse_enhanced_status(diagnostic) if diagnostic else None
        if action == "failed" and delayed and not (status or "").startswith("5"):
            action = "delayed"
        if action == "failed" and status and status[0] == "4":
            status = None  # a retry hint quoted in a permanent failure
        recipients.append(classify_recipient(address, action, status, diagnostic))
    return recipients, source


# ---------------------------------------------------------------------------------------------
# Loop safety
# ---------------------------------------------------------------------------------------------
def auto_message_reason(message, lang=None):
    """Why ``message`` must not get an automatic answer (RFC 3834), or ``None``;
    in ``lang`` (English when empty), header names and values as they are."""
    message = _as_message(message)
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    return_path = _header(message, "Return-Path")
    if return_path.replace(" ", "") in ("<>", "<<>>"):
        return render(_lt("null Return-Path (the message is itself a bounce)"), lang)
    if message.get_content_type() == "multipart/report":
        return render(_lt("delivery or disposition report"), lang)
    if _header(message, "X-Failed-Recipients"):
        return render(_lt("bounce (X-Failed-Recipients)"), lang)
    sender = normalize_address(_header(message, "From")) or normalize_address(return_path)
    if sender.split("@", 1)[0] in DAEMON_LOCALPARTS:
        return render(_lt("sent by a mail system (%(sender)s)", sender=sender), lang)
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id"):
        if _header(message, name):
            return render(_lt("%(header)s header", header=name), lang)
    return None


# ---------------------------------------------------------------------------------------------
# Auto-replies (RFC 3834) and spam complaints (ARF, RFC 5965)
# ---------------------------------------------------------------------------------------------
def auto_reply_reason(message):
    """Why ``message`` is an auto-reply (out of office, vacation, challenge-response), or ``None``.

    A delivery report, a feedback report or a bounce with ``X-Failed-Recipients`` is
    never an auto-reply here, even when it carries ``Auto-Submitted: auto-replied``
    (Exim and qmail bounces do).
    """
    try:
        message = _as_message(message)
    except Exception:  # unreadable: not ours to judge
        return None
    if message.get_content_type() == "multipart/report" or _header(message, "X-Failed-Recipients"):
        return None
    subject = _header(message, "Subject")
    sender = normalize_address(_header(message, "From"))
    if sender.split("@", 1)[0] in DAEMON_LOCALPARTS or _BOUNCE_SUBJECT_RE.search(subject):
        return None
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted.startswith("auto-replied"):
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Apple-Action"):
        value = _header(message, name).lower()
        if value and value not in ("no", "false", "0"):
            return f"{name}: {value}"
    if _header(message, "Precedence").lower() == "auto_reply":
        return "Precedence: auto_reply"
    if _header(message, "X-Auto-Response-Suppress") and auto_submitted.startswith("auto-"):
        return f"Auto-Submitted: {auto_submitted}"
    if AUTO_REPLY_SUBJECT_RE.search(subject):
        return f"subject: {subject[:80]}"
    return None


def is_auto_reply(message):
    """:func:`auto_reply_reason`, and nothing in it reads as a bounce."""
    reason = auto_reply_reason(message)
    if not reason:
        return False
    report = parse_bounce(message)
    # an out-of-office text names addresses too: only a machine-readable bounce wins
    return not report.recipients or report.source == "text"


@dataclass(frozen=True)
class FeedbackReport:
    """An ARF spam complaint: who complained about which message."""

    feedback_type: str  # abuse, fraud, opt-out, not-spam, auth-failure, virus, other
    recipients: tuple = ()  # normalised addresses of the complaining recipients
    original_message_ids: tuple = ()
    user_agent: str = ""
    source_ip: str = ""
    reported_domain: str = ""

    @property
    def is_complaint(self):
        """A recipient said "spam" (or unsubscribed through the provider)."""
        return self.feedback_type in ("abuse", "fraud", "opt-out", "virus", "other", "")


def parse_feedback_report(message):
    """Read an ARF report (``multipart/report; report-type=feedback-report``), or ``None``.

    The complaining recipients are the ``Original-Rcpt-To`` fields, else the ``To``
    of the quoted original message (often redacted by the provider: then empty).
    Never raises on bad input.
    """
    try:
        message = _as_message(message)
        part = next(
            (p for p in message.walk() if p.get_content_type() == "message/feedback-report"), None
        )
        if part is None:
            return None
        blocks = _blocks(part)
        fields_ = blocks[0] if blocks else Message()
        rcpts = []
        for block in blocks:
            for value in block.get_all("Original-Rcpt-To") or ():
                rcpts.append(normalize_address(value))
        if not rcpts:
            rcpts = list(original_recipients(message))
        rcpts = [a for a in dict.fromkeys(rcpts) if a and "redacted" not in a][:MAX_RECIPIENTS]
        return FeedbackReport(
            feedback_type=_header(fields_, "Feedback-Type").lower(),
            recipients=tuple(rcpts),
            original_message_ids=original_message_ids(message),
            user_agent=_header(fields_, "User-Agent"),
            source_ip=_header(fields_, "Source-IP"),
            reported_domain=_header(fields_, "Reported-Domain"),
        )
    except Exception:  # a broken report is not a complaint
        return None


COMPLAINT_FAILURE_TYPE = (SPAM_COMPLAINT, "Marked as spam by the recipient")
# Amazon SES: a complaint rate of 0.1% puts an account under review, 0.5% may pause it.
COMPLAINT_WARNING = 0.1
COMPLAINT_CRITICAL = 0.5


def complaint_rate_level(sent, complained):
    """``(rate in %, "ok" | "warning" | "critical")`` with the SES complaint thresholds."""
    sent, complained = max(int(sent or 0), 0), max(int(complained or 0), 0)
    if not sent:
        return 0.0, "ok"
    rate = round(100.0 * min(complained, sent) / sent, 3)
    if rate >= COMPLAINT_CRITICAL:
        return rate, "critical"
    if rate >= COMPLAINT_WARNING:
        return rate, "warning"
    return rate, "ok"
