# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Raw incoming messages as stored in the rejected log: identity and size cap.

* ``digest``: what makes two fetched messages "the same mail" (the bytes,
  not the Message-Id anybody can reuse).
* ``truncate``: a message over the size cap keeps its headers and its first
  MIME part (the text, usually), with a header noting the original size.
"""

import hashlib
import re
from email.parser import BytesHeaderParser

DEFAULT_MAX_MB = 10
TRUNCATED_HEADER = "X-Mail-Reliability-Truncated"


def digest(raw):
    """SHA-256 of the raw bytes, hexadecimal."""
    return hashlib.sha256(bytes(raw or b"")).hexdigest()


def parse_max_mb(value):
    """The size cap in bytes from a parameter in MB (unset: the default; ``0`` or
    less: no cap).  Raises ``ValueError`` for anything that is not a number."""
    if value in (None, False) or not str(value).strip():
        megabytes = DEFAULT_MAX_MB
    else:
        megabytes = float(str(value).strip())
        if megabytes != megabytes or abs(megabytes) == float("inf"):
            raise ValueError(f"not a number of MB: {value!r}")
    return int(megabytes * 1024 * 1024) if megabytes > 0 else 0


def _split_headers(raw):
    """``(header block, separator, body)``; no blank line: everything is headers."""
    match = re.search(rb"\r?\n\r?\n", raw)
    if not match:
        return raw, b"", b""
    return raw[: match.start()], raw[match.start() : match.end()], raw[match.end() :]


def _cut_at_line(data, limit):
    if len(data) <= limit:
        return data
    cut = data.rfind(b"\n", 0, limit)
    return data[: cut + 1] if cut > 0 else data[:limit]


def _first_part_end(body, boundary):
    """Offset in ``body`` where the second MIME part starts (or ``None``)."""
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary.encode("ascii", "replace")))
    matches = delimiter.finditer(body)
    first = next(matches, None)
    second = next(matches, None) if first else None
    return second.start() if second else None


def truncate(raw, limit):
    """``(stored bytes, truncated?)``: ``raw`` itself when within ``limit`` (0: no cap)."""
    raw = bytes(raw or b"")
    if not limit or len(raw) <= limit:
        return raw, False
    headers, separator, body = _split_headers(raw)
    newline = b"\r\n" if b"\r\n" in headers[:2000] else b"\n"
    note = (
        f"{TRUNCATED_HEADER}: original size {len(raw)} bytes, "
        f"stored the headers and the first part up to {limit} bytes"
    ).encode() + newline
    headers = _cut_at_line(headers, max(limit - len(note), 0))
    budget = max(limit - len(note) - len(headers) - len(separator), 0)
    boundary = None
    try:
        parsed = BytesHeaderParser().parsebytes(headers + newline + newline)
        if parsed.get_content_maintype() == "multipart":
            boundary = parsed.get_boundary()
    except Exception:  # unreadable headers: cut the body by size only
        boundary = None
    kept = body[:budget]
    closing = b""
    if boundary:
        end = _first_part_end(body, boundary)
        if end is not None and end <= budget:
            kept = body[:end]
        closing = newline + b"--" + boundary.encode("ascii", "replace") + b"--" + newline
    return note + headers + separator + kept + closing, True
