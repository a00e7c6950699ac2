# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Translatable texts of the pure tools (no database, no environment needed).

A tool marks its user-facing texts with ``_lt = LazyTranslate(__name__)``
(``odoo.tools.translate``): they are extracted into ``i18n/mail_reliability.pot``
with the module's other terms, and translated when shown. The tools themselves
return English (the source text), so their results stay plain strings that
tests and logs can compare; the code that shows a text to a user passes the
user's language to :func:`render` (``lang=self.env.lang``).
"""

from odoo.tools.translate import LazyGettext, LazyTranslate

__all__ = ["LazyTranslate", "TextError", "error_text", "render"]


def render(text, lang=None):
    """``text`` in ``lang`` (English when ``lang`` is empty).

    A lazy text (``_lt(...)``) is translated with the terms loaded for ``lang``;
    anything else (a plain string, ``""``) is returned as it is.
    """
    if isinstance(text, LazyGettext):
        # what env._(lazy_text) does, with the language given instead of an env
        return text._translate(lang or "en_US")
    return text


class TextError(ValueError):
    """A ``ValueError`` whose message is meant for users.

    ``str(exc)`` is the English message (logs, tests); :func:`error_text` gives
    it in the reader's language.
    """

    def __init__(self, text):
        super().__init__(render(text))
        self.text = text


def error_text(exc, lang=None):
    """The message of ``exc`` in ``lang``: translated when a tool raised a
    :class:`TextError`, ``str(exc)`` otherwise."""
    if isinstance(exc, TextError):
        return render(exc.text, lang)
    return str(exc)
