"""Text that can leave the process: a Python string is any sequence of code points, but only
one without surrogates (U+D800-U+DFFF) can be encoded as UTF-8, which every SDK, log line,
DynamoDB item and HTTP body needs.

JSON lets a client write a lone surrogate as the escape ``"\\ud800"`` and Python's ``json``
decodes it into such a string, which then fails far from where it came in: an SDK cannot send
it, a log handler cannot write it, a stream cannot encode it. Input is refused where it is
parsed (``parley.http.body``); text from elsewhere (a model's stream, a stored history) is
repaired with ``repair_text``.
"""

from __future__ import annotations

import re

__all__ = ["REPLACEMENT", "is_valid_text", "repair_text"]

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_valid_text(text: str) -> bool:
    """True when ``text`` encodes as UTF-8 (it holds no surrogate code point)."""
    # ASCII needs no search, and is most text; the search is in C either way.
    return text.isascii() or _SURROGATE.search(text) is None


def repair_text(text: str) -> str:
    """``text`` with each surrogate code point replaced by U+FFFD, as a UTF-8 decoder does."""
    if is_valid_text(text):
        return text
    return _SURROGATE.sub(REPLACEMENT, text)
