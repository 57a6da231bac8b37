"""Which preferences panel a chat message is about.

The request's ``panel`` wins when it names a known panel; otherwise the message's words are
matched against each panel's keywords (whole words, case-insensitive, a trailing plural ``s``
allowed), and the panel with the most matches wins, the earliest-defined panel on a tie. No
match: no panel. This is a cheap hint for pre-filling a form, not a classifier; it runs on the
hot path and costs microseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable

    from parley.panels import PanelRegistry

__all__ = ["BUILTIN_KEYWORDS", "Detection", "detect_panel"]

BUILTIN_KEYWORDS: dict[str, tuple[str, ...]] = {
    "pictures": (
        "image",
        "picture",
        "photo",
        "illustration",
        "illustrate",
        "draw",
        "drawing",
        "logo",
        "icon",
        "poster",
        "banner",
        "artwork",
        "render",
        "thumbnail",
    ),
    "video": ("video", "clip", "reel", "animation", "animate", "footage", "film", "movie"),
    "content": (
        "post",
        "caption",
        "tweet",
        "copy",
        "article",
        "blog",
        "newsletter",
        "headline",
        "hashtag",
        "email",
        "slogan",
        "tagline",
    ),
}
# Messages longer than this are matched on their start only: the ask is at the beginning, and
# a pasted document must not cost the hot path.
_SCANNED_CHARS = 4_000


@dataclass(frozen=True)
class Detection:
    panel: str | None
    detected_from: Literal["request", "message"] | None


def detect_panel(message: str, requested: str | None, registry: PanelRegistry) -> Detection:
    if requested and requested in registry.models:
        return Detection(requested, "request")
    text = message[:_SCANNED_CHARS]
    best: tuple[int, str] | None = None
    for panel in registry.names():
        words = (*BUILTIN_KEYWORDS.get(panel, ()), *registry.keywords.get(panel, ()))
        if not words:
            continue
        count = len(_pattern(tuple(words)).findall(text))
        if count and (best is None or count > best[0]):
            best = (count, panel)
    return Detection(best[1], "message") if best else Detection(None, None)


@lru_cache(maxsize=512)
def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(
        re.escape(word.lower()).replace(r"\ ", r"\s+")
        for word in sorted(set(words), key=len, reverse=True)
    )
    return re.compile(rf"\b(?:{alternatives})(?:e?s)?\b", re.IGNORECASE)
