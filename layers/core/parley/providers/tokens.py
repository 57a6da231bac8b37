"""Estimating token counts when a provider reports none (marked ``estimated`` in usage)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from parley.providers.base import Usage

if TYPE_CHECKING:
    from collections.abc import Iterable

    from parley.providers.base import GenerationRequest

__all__ = ["IMAGE_TOKENS", "estimate_tokens", "estimated_usage"]

# English prose runs at about four characters per token in the GPT and Claude tokenizers;
# good enough for a cost estimate, and the usage record says it is one.
CHARS_PER_TOKEN = 4
# An image costs about this many prompt tokens: OpenAI counts a 1024x1024 image at 765 in high
# detail, Anthropic about 1,600 for 1,092x1,092, Gemini 258 per 768x768 tile. Only for
# estimates (holds, routing); the providers report what they count.
IMAGE_TOKENS = 1_000


def estimate_tokens(*texts: str | Iterable[str]) -> int:
    total = 0
    for text in texts:
        total += len(text) if isinstance(text, str) else sum(len(part) for part in text)
    return math.ceil(total / CHARS_PER_TOKEN) if total else 0


def estimated_usage(request: GenerationRequest, produced: Iterable[str]) -> Usage:
    """Usage from the text itself, marked estimated, for providers that reported none."""
    prompt = [request.system or "", *(message.content for message in request.messages)]
    prompt += [call.arguments for message in request.messages for call in message.tool_calls]
    images = IMAGE_TOKENS * request.image_count
    return Usage(estimate_tokens(prompt) + images, estimate_tokens(produced), estimated=True)
