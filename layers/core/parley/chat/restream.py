"""Streaming a stored answer again (a cache hit, an Idempotency-Key retry): in pieces of a few
words, so a client reads it exactly as it reads a live answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["pieces"]

_WORDS_PER_PIECE = 8


def pieces(text: str) -> Iterator[str]:
    """The text cut after every few spaces; joined, the pieces are the text exactly."""
    start = 0
    spaces = 0
    for index, char in enumerate(text):
        if char == " ":
            spaces += 1
            if spaces == _WORDS_PER_PIECE:
                yield text[start : index + 1]
                start, spaces = index + 1, 0
    if start < len(text):
        yield text[start:]
