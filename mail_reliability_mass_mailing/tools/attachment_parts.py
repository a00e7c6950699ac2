# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A campaign's attachment encoded once per send run, not once per email.

Stock Odoo builds each email of a campaign with ``ir.mail_server.build_email``, whose
``EmailMessage.add_attachment(content, maintype, subtype, filename=...)`` encodes the
content in base64 (``email.contentmanager.set_bytes_content``). A file attached to the
campaign is attached, byte for byte the same, to every one of its emails, so the same
base64 text is computed for each of them: about 20 ms of CPU per email for 500 kB.

:func:`shared` hands out, for a content already seen in the send run, the same
:class:`SharedContent` (a ``bytes`` subclass, equal to the content). The set-handler
registered for that type on the standard library's ``raw_data_manager`` (the content
manager of Odoo's ``email.policy.SMTP``) lets ``set_bytes_content`` build the part as
usual (same headers, same parameters) and reuses the base64 text it produced the first
time: the part is the one stock builds, bytes on the wire included. Only
:class:`SharedContent` objects take this path; any other content is untouched.

Plain Python, no Odoo import.
"""

import email.contentmanager

# A run keeps at most this much attachment content (plus its base64 text, 4/3 of it):
# beyond, further contents are encoded per email, as in stock.
MAX_RUN_BYTES = 16 * 1024 * 1024
# Smaller contents cost little to encode: not worth keeping.
MIN_BYTES = 8 * 1024


class SharedContent(bytes):
    """Attachment content whose base64 text is kept once computed, per line length."""

    def __new__(cls, content):
        obj = super().__new__(cls, content)
        obj.encoded = {}  # {max_line_length: base64 text of the part's payload}
        return obj


def set_shared_content(msg, data, maintype, subtype, cte="base64", **kwargs):
    """``set_bytes_content`` for a :class:`SharedContent`, its base64 text computed once."""
    encoded = data.encoded.get(msg.policy.max_line_length) if cte == "base64" else None
    if encoded is None:
        email.contentmanager.set_bytes_content(msg, data, maintype, subtype, cte=cte, **kwargs)
        if cte == "base64":
            data.encoded[msg.policy.max_line_length] = msg.get_payload()
        return
    # The headers exactly as the standard library sets them (they do not depend on
    # the content), then the payload it computed for this content before.
    email.contentmanager.set_bytes_content(msg, b"", maintype, subtype, cte=cte, **kwargs)
    msg.set_payload(encoded)


email.contentmanager.raw_data_manager.add_set_handler(SharedContent, set_shared_content)


def shared(memo, content):
    """The run's :class:`SharedContent` equal to ``content``, or ``content`` itself.

    ``memo`` is the send run's ``{content: SharedContent}``; contents smaller than
    :data:`MIN_BYTES` or beyond the run's :data:`MAX_RUN_BYTES` are returned as they are.
    """
    if not isinstance(content, bytes) or len(content) < MIN_BYTES:
        return content
    found = memo.get(content)
    if found is not None:
        return found
    if sum(map(len, memo)) + len(content) > MAX_RUN_BYTES:
        return content
    memo[content] = found = SharedContent(content)
    return found
