# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``Authentication-Results`` (RFC 8601): parsing and the "may we answer" verdict.

Anybody can write an ``Authentication-Results`` header into a mail, so a header
means something only when the receiving host of this database added it: its
*authserv-id* (the first word of the header) is configured, and only the
topmost header carrying it is read.  Headers with any other authserv-id, and
lower ones with ours, are ignored.

Pure functions, no database: ``parse`` reads one header value,
``sender_verdict`` decides from all of a message's values.
"""

import re
from dataclasses import dataclass, field

from .dns_checks import organizational_domain
from .i18n import LazyTranslate, render

_lt = LazyTranslate(__name__)

_PAIR = re.compile(r'\s*([A-Za-z0-9_.\-/]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;"]+)')
MAX_HEADER_LENGTH = 16_384  # longer values are cut before parsing
MAX_HEADERS = 50  # headers read per message, from the top


@dataclass(frozen=True)
class MethodResult:
    method: str  # "dmarc", "spf", "dkim"... lower case, without "/version"
    result: str  # "pass", "fail", "none"... lower case
    reason: str = ""
    properties: dict = field(default_factory=dict)  # "header.from" -> "example.com"


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str  # lower case; "" when the header names none (Microsoft 365)
    version: int | None = None
    results: tuple = ()


def _strip_comments(text):
    """``text`` without RFC 5322 comments (nested, escapes), quoted strings kept."""
    out, depth, quoted, escaped = [], 0, False, False
    for char in text:
        if escaped:
            escaped = False
            if not depth:
                out.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if not depth:
                out.append(char)
            continue
        if quoted:
            out.append(char)
            if char == '"':
                quoted = False
            continue
        if char == "(":
            depth += 1
            if depth == 1:
                out.append(" ")
            continue
        if char == ")" and depth:
            depth -= 1
            continue
        if depth:
            continue
        if char == '"':
            quoted = True
        out.append(char)
    return "".join(out)


def _split_semicolons(text):
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _method_result(text):
    pairs = [(key.lower(), _unquote(value)) for key, value in _PAIR.findall(text)]
    if not pairs:
        return None
    (method, result), rest = pairs[0], pairs[1:]
    reason = next((value for key, value in rest if key == "reason"), "")
    properties = {}
    for key, value in rest:
        if "." in key and key not in properties:
            properties[key] = value
    return MethodResult(method.split("/", 1)[0], result.lower(), reason, properties)


def parse(value):
    """One ``Authentication-Results`` value -> :class:`AuthResults` (never raises)."""
    text = " ".join(str(value or "")[:MAX_HEADER_LENGTH].split())
    parts = _split_semicolons(_strip_comments(text))
    head, resinfos = parts[0].strip(), parts[1:]
    authserv_id, version = "", None
    if "=" in head:  # no authserv-id at all: the first part is already a result
        resinfos = [head, *resinfos]
    else:
        words = head.split()
        if words:
            authserv_id = _unquote(words[0]).lower().rstrip(".")
        if len(words) > 1 and words[1].isdigit():
            version = int(words[1])
    results = tuple(r for r in map(_method_result, resinfos) if r is not None)
    return AuthResults(authserv_id, version, results)


def domain_of(address):
    """``alice@Example.COM`` or ``example.com.`` -> ``example.com``."""
    address = str(address or "").strip().strip("<>").lower()
    return address.rsplit("@", 1)[-1].rstrip(".")


def aligned(domain_a, domain_b):
    """DMARC relaxed alignment (RFC 7489 3.1): the same organizational domain by the
    public suffix list (``bounce.example.com`` and ``example.com``, but not
    ``x.github.io`` and ``github.io``)."""
    a, b = domain_of(domain_a), domain_of(domain_b)
    if not a or not b:
        return False
    return organizational_domain(a) == organizational_domain(b)


def trusted_header(values, authserv_ids):
    """The topmost header of ``values`` (top to bottom) added by one of ``authserv_ids``."""
    ids = {str(i).strip().lower().rstrip(".") for i in authserv_ids if str(i or "").strip()}
    if not ids:
        return None
    for value in list(values or ())[:MAX_HEADERS]:
        parsed = parse(value)
        if parsed.authserv_id and parsed.authserv_id in ids:
            return parsed
    return None


def sender_verdict(values, authserv_ids, from_domain, lang=None):
    """``(True, why)`` when our receiving host vouches for ``from_domain``.

    ``values``: the message's ``Authentication-Results`` values, top to bottom.
    Only the topmost header of a configured authserv-id counts; it must show
    ``dmarc=pass`` for the From domain, or ``spf=pass`` with an ``smtp.mailfrom``
    aligned with the From domain (and no failed DMARC).  ``why`` is in ``lang``
    (English when empty); the results it quotes stay as the header wrote them.
    """
    from_domain = domain_of(from_domain)
    if not from_domain:
        return False, render(_lt("no From domain"), lang)
    header = trusted_header(values, authserv_ids)
    if header is None:
        return False, render(_lt("no Authentication-Results from the receiving host"), lang)
    dmarc = [r for r in header.results if r.method == "dmarc"]
    for result in dmarc:
        header_from = result.properties.get("header.from")
        if result.result == "pass" and (not header_from or domain_of(header_from) == from_domain):
            return True, f"{header.authserv_id}: dmarc=pass"
    if any(r.result in ("fail", "permerror") for r in dmarc):
        return False, f"{header.authserv_id}: dmarc={dmarc[0].result}"
    for result in header.results:
        if result.method != "spf" or result.result != "pass":
            continue
        mailfrom = result.properties.get("smtp.mailfrom")
        if mailfrom and aligned(mailfrom, from_domain):
            return True, f"{header.authserv_id}: spf=pass, aligned smtp.mailfrom"
    found = ", ".join(f"{r.method}={r.result}" for r in header.results) or "none"
    return False, f"{header.authserv_id}: {found}"
