# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Remove known secrets from bytes: plain, JSON-escaped, base64 and quoted-printable.

Pure Python, no Odoo import. Build one :class:`Redactor` with every secret of
the database, then pass every file of a support bundle (or a log search result)
through :meth:`Redactor.redact`.

* A secret written as is, JSON-escaped or base64-encoded on its own is replaced.
* A secret inside a base64 block (a MIME body, an attachment, a base64 line in
  a log) is found by decoding the block: a block whose decoded text holds a
  secret is replaced by the base64 of the redacted text, same line length.
* A secret inside quoted-printable text (``=3D`` escapes, ``=`` soft line
  breaks anywhere in it) is matched as such and replaced.
"""

import base64
import binascii
import json
import re

REDACTED = "[redacted]"
# System parameters whose key says they hold a secret
SECRET_KEY = re.compile(r"secret|token|key|pass", re.I)
MIN_SECRET_LENGTH = 6
# Values that are flags or settings, not secrets, whatever the key says
_NOT_SECRET = re.compile(r"(?i:true|false|none|null|[+-]?\d{1,7}(?:\.\d+)?)")
# A run of base64 text, possibly wrapped over several lines (MIME: 76 columns)
_B64_RUN = re.compile(rb"[A-Za-z0-9+/]{16,}={0,2}(?:\r?\n[A-Za-z0-9+/]{4,}={0,2})*")


def is_secret_key(key):
    """Whether a system parameter named ``key`` holds a secret (by its name)."""
    return bool(key and SECRET_KEY.search(key))


def is_secret_value(value):
    """Whether ``value`` is worth redacting: long enough, not a flag or a small number."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return len(text) >= MIN_SECRET_LENGTH and not _NOT_SECRET.fullmatch(text)


def _qp_pattern(secret):
    """A regex matching ``secret`` in quoted-printable text."""
    soft_break = rb"(?:=\r?\n)?"
    parts = []
    for byte in secret:
        literal = re.escape(bytes([byte]))
        hex_upper = f"={byte:02X}".encode()
        hex_lower = f"={byte:02x}".encode()
        parts.append(rb"(?:" + literal + rb"|" + hex_upper + rb"|" + hex_lower + rb")")
    return re.compile(soft_break.join(parts))


class Redactor:
    """The secrets of one database, ready to be removed from many files."""

    def __init__(self, secrets):
        cleaned = {s.strip() for s in secrets if isinstance(s, str) and s.strip()}
        self.secrets = sorted(cleaned, key=len, reverse=True)
        self._raw = [s.encode() for s in self.secrets]
        self._plain = []
        for secret in self.secrets:
            for form in (
                secret.encode(),
                base64.b64encode(secret.encode()),
                json.dumps(secret)[1:-1].encode(),
            ):
                if form not in self._plain:
                    self._plain.append(form)
        self._qp = [_qp_pattern(raw) for raw in self._raw]

    def __bool__(self):
        return bool(self.secrets)

    def _qp_view(self, data):
        """``data`` decoded as quoted-printable (C speed), or ``None`` if it holds no ``=``."""
        if b"=" not in data:
            return None
        try:
            return binascii.a2b_qp(data)
        except (binascii.Error, ValueError):
            return None

    def _contains(self, data):
        """Whether ``data`` holds a secret, as is or quoted-printable encoded."""
        if any(raw in data for raw in self._raw):
            return True
        view = self._qp_view(data)
        return view is not None and any(raw in view for raw in self._raw)

    def _redact_plain(self, data):
        for form in self._plain:
            data = data.replace(form, REDACTED.encode())
        view = self._qp_view(data)
        if view is not None and any(raw in view for raw in self._raw):
            # only then the (slower) per-secret quoted-printable patterns
            for pattern in self._qp:
                data = pattern.sub(REDACTED.encode(), data)
        return data

    def _redact_b64_block(self, match):
        return self._redact_b64(match.group(0))

    def _redact_b64(self, block):
        compact = block.translate(None, b" \t\r\n")
        decoded = None
        if not len(compact) % 4:
            try:
                decoded = base64.b64decode(compact, validate=True)
            except (binascii.Error, ValueError):
                decoded = None
        if decoded is None:
            # a text line glued to the end of the block: try without it
            head, newline, _last = block.rstrip(b"\r\n").rpartition(b"\n")
            if newline and len(head) >= 16:
                return self._redact_b64(head.rstrip(b"\r")) + block[len(head.rstrip(b"\r")) :]
            return block
        if not self._contains(decoded):
            return block
        encoded = base64.b64encode(self._redact_plain(decoded))
        if b"\n" in block:
            newline = b"\r\n" if b"\r\n" in block else b"\n"
            width = len(block.split(b"\n", 1)[0].rstrip(b"\r"))
            encoded = newline.join(encoded[i : i + width] for i in range(0, len(encoded), width))
        return encoded

    def redact(self, data):
        """``data`` (bytes) without any of the secrets."""
        if not self.secrets or not data:
            return data
        data = _B64_RUN.sub(self._redact_b64_block, data)
        return self._redact_plain(data)


def redact_export(fields_to_export, result, secret_fields):
    """Replace the values of ``secret_fields`` columns in an ``export_data`` result."""
    columns = [
        index
        for index, path in enumerate(fields_to_export)
        if path.replace("/", ".").split(".")[-1] in secret_fields or path in secret_fields
    ]
    if columns:
        for row in result.get("datas", []):
            for index in columns:
                if index < len(row) and row[index]:
                    row[index] = REDACTED
    return result
