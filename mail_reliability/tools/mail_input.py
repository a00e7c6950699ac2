# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bad input on outgoing mail: header injection and text PostgreSQL cannot store.

Pure Python, no Odoo import. :func:`repair_storable_text` logs a warning per
repaired field (logger ``odoo.addons.mail_reliability.tools.mail_input``).
"""

import logging
import re

_logger = logging.getLogger(__name__)

# A line break followed by something shaped like a header ("Bcc:", "X-Foo :").
# A line break alone (a template that renders one address per line) is harmless;
# one that starts a new header is an injection attempt.
_INJECTION = re.compile(r"[\r\n]+[ \t]*([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:")
# NUL cannot be stored by PostgreSQL; lone surrogates (from a ``surrogateescape``
# decode of non-UTF-8 bytes) cannot be encoded to UTF-8 at all.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def header_injection(value):
    """The header name an address value tries to inject (``"Bcc"``), or None."""
    if not isinstance(value, str):
        return None
    match = _INJECTION.search(value.strip())
    return match.group(1) if match else None


def storable_text(value):
    """``(text, count)``: NUL removed and lone surrogates replaced by U+FFFD.

    A ``str`` subclass (``Markup``) keeps its type. Anything that is not a
    ``str`` is returned unchanged with a count of 0.
    """
    if not isinstance(value, str):
        return value, 0
    count = 0

    def replace(match):
        nonlocal count
        count += 1
        return "" if match.group(0) == "\x00" else REPLACEMENT

    text = _UNSTORABLE.sub(replace, value)
    if count and type(value) is not str:
        text = type(value)(text)  # re.sub returns a plain str
    return text, count


def repair_storable_text(model_name, vals, fnames):
    """Make the text values of ``vals`` storable in place (NUL removed, lone
    surrogates replaced by U+FFFD), with a warning per repaired field."""
    for fname in fnames:
        text, count = storable_text(vals.get(fname))
        if not count:
            continue
        vals[fname] = text
        _logger.warning(
            "%s %s: %s unstorable character(s) (NUL, lone surrogates) "
            "removed or replaced by U+FFFD",
            model_name,
            fname,
            count,
        )
    return vals
