# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Verify a DKIM signature (RFC 6376) of a received message against DNS.

Pure Python, no Odoo import; the RSA check uses ``cryptography`` (an Odoo
requirement). :func:`verify_dkim` answers the question "is the mail that
reached the mailbox really signed with the key my DNS publishes?": it reads
the first ``DKIM-Signature`` header, recomputes the body hash and checks the
signature with the public key found at ``<s>._domainkey.<d>`` by ``txt_lookup``
(a callable returning the TXT strings of a name, e.g. the health checks'
resolver). Supports ``rsa-sha256`` with ``simple`` or ``relaxed``
canonicalization, which is what OpenDKIM, Google, Microsoft and the common
providers send.
"""

import base64
import hashlib
import re

from .dns_checks import parse_tags

_WSP_RE = re.compile(rb"[ \t]+")
_FOLD_RE = re.compile(rb"\r\n(?=[ \t])")


def _split(raw):
    raw = re.sub(rb"\r?\n", b"\r\n", raw)
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, body = raw, b""
    # One entry per header field, folded lines kept: (lower-case name, raw field with CRLF).
    fields = []
    for line in (head + b"\r\n").split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + line + b"\r\n")
        elif b":" in line:
            fields.append((line.split(b":", 1)[0].strip().lower(), line + b"\r\n"))
    return fields, body


def _canon_header(field, relaxed):
    if not relaxed:
        return field
    name, _sep, value = field.partition(b":")
    value = _WSP_RE.sub(b" ", _FOLD_RE.sub(b"", value).replace(b"\r\n", b"")).strip()
    return name.strip().lower() + b":" + value + b"\r\n"


def _canon_body(body, relaxed):
    if relaxed:
        lines = [_WSP_RE.sub(b" ", line).rstrip(b" ") for line in body.split(b"\r\n")]
        body = b"\r\n".join(lines)
    body = body.rstrip(b"\r\n")
    if body or not relaxed:
        body += b"\r\n"
    return body


def verify_dkim(raw, txt_lookup):
    """(ok, reason) for the first DKIM-Signature of ``raw`` (bytes of the message)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    fields, body = _split(raw)
    signatures = [field for name, field in fields if name == b"dkim-signature"]
    if not signatures:
        return False, "no DKIM-Signature header"
    signature_field = signatures[0]
    tags = parse_tags(signature_field.split(b":", 1)[1].decode("ascii", "replace"))
    tags = {key: re.sub(r"\s+", "", value) for key, value in tags.items()}
    if tags.get("a") != "rsa-sha256":
        return False, f"unsupported algorithm {tags.get('a')!r}"
    header_c, _sep, body_c = tags.get("c", "simple/simple").partition("/")
    body_c = body_c or "simple"
    domain, selector = tags.get("d"), tags.get("s")
    if not domain or not selector or "b" not in tags or "bh" not in tags:
        return False, "incomplete DKIM-Signature (d=, s=, b= and bh= are required)"
    canon_body = _canon_body(body, body_c == "relaxed")
    if "l" in tags:
        canon_body = canon_body[: int(tags["l"])]
    body_hash = base64.b64encode(hashlib.sha256(canon_body).digest()).decode()
    if body_hash != tags["bh"]:
        return False, "body hash mismatch: the body changed after signing"
    relaxed = header_c == "relaxed"
    remaining = list(fields)
    signed = b""
    for name in tags.get("h", "").lower().split(":"):
        for index in range(len(remaining) - 1, -1, -1):  # the last instance first
            if remaining[index][0] == name.encode():
                signed += _canon_header(remaining.pop(index)[1], relaxed)
                break
    # Empty the b= tag (not bh=) of the signature header itself.
    unsigned_sig = re.sub(rb"((?:^|;)\s*b\s*=)[^;]*", rb"\1", signature_field, count=1)
    signed += _canon_header(unsigned_sig, relaxed).rstrip(b"\r\n")
    name = f"{selector}._domainkey.{domain}"
    records = [r for r in txt_lookup(name) if "p=" in r.replace(" ", "")]
    if not records:
        return False, f"no DKIM key published at {name}"
    key_tags = {k: re.sub(r"\s+", "", v) for k, v in parse_tags(records[0]).items()}
    if not key_tags.get("p"):
        return False, f"the key at {name} is revoked (empty p=)"
    try:
        public_key = serialization.load_der_public_key(base64.b64decode(key_tags["p"]))
        public_key.verify(base64.b64decode(tags["b"]), signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False, f"signature does not verify with the key at {name}"
    except ValueError as exc:
        return False, f"unusable key at {name}: {exc}"
    return True, f"valid signature by d={domain}, s={selector}"
