"""``local``: an offline model that streams a deterministic, readable answer.

It needs no key and no network, so ``make dev`` and the tests exercise the whole pipeline
anywhere. The answer quotes the question and says how much conversation it was given, so a
developer can see context and memory at work.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from parley.providers.base import Finish, GenerationRequest, Provider, TextDelta
from parley.providers.tokens import estimated_usage

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from parley.providers.base import StreamEvent
    from parley.providers.catalog import ModelSpec

__all__ = ["LocalProvider", "compose_answer"]

_QUOTE_LIMIT = 160
_WORDS = re.compile(r"\S+\s*")


def compose_answer(request: GenerationRequest) -> str:
    user_turns = [m.content for m in request.messages if m.role == "user"]
    question = " ".join((user_turns[-1] if user_turns else "").split())
    if len(question) > _QUOTE_LIMIT:
        question = question[: _QUOTE_LIMIT - 1] + "…"
    earlier = len(request.messages) - 1
    memory = (
        f"I can see the {earlier} earlier message{'s' if earlier != 1 else ''} of this "
        "conversation."
        if earlier > 0
        else "This is the start of the conversation."
    )
    return (
        f"You asked: “{question}”. I am Parley's offline model, so this answer is the same "
        f"every time and costs nothing. {memory} Set OPENAI_API_KEY, ANTHROPIC_API_KEY or "
        "GEMINI_API_KEY to talk to a real model."
    )


class LocalProvider(Provider):
    name = "local"

    def __init__(self, *, token_delay_seconds: float = 0.0) -> None:
        self._delay = token_delay_seconds

    async def stream(
        self, spec: ModelSpec, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        words = _WORDS.findall(compose_answer(request))
        # One word is about one token: stop at the budget like a real model would.
        truncated = len(words) > request.max_tokens
        produced = words[: request.max_tokens]
        for word in produced:
            if self._delay:
                await asyncio.sleep(self._delay)
            yield TextDelta(word)
        yield Finish("length" if truncated else "stop", estimated_usage(request, produced))
