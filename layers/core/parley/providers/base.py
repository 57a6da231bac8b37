"""The provider contract: a stream of text deltas that ends with usage and a finish reason.

Every adapter (OpenAI, Anthropic, Gemini, any OpenAI-compatible server, the offline ``local``
model) turns Parley's provider-neutral request into its SDK's call and the SDK's stream back
into these events, and translates the SDK's failures into ``parley.providers.errors``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from parley.providers.usage import Usage
from parley.text import is_valid_text, repair_text

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Sequence

    from parley.providers.catalog import ModelSpec

__all__ = [
    "ChatMessage",
    "Finish",
    "GenerationRequest",
    "Provider",
    "StreamEvent",
    "TextDelta",
    "Usage",
]

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "content_filter", "other"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """What to generate. ``messages`` holds the conversation, oldest first, without the
    system prompt; adapters place ``system`` where their API wants it."""

    messages: Sequence[ChatMessage]
    system: str | None = None
    max_tokens: int = 1024
    temperature: float | None = None
    # Ask for one JSON object (the guardrail's classifier): the provider's JSON mode where it
    # has one (OpenAI's response_format, Gemini's response MIME type); the prompt says the rest.
    json_object: bool = False

    def with_valid_text(self) -> GenerationRequest:
        """This request, with any text that is not valid Unicode repaired (U+FFFD), so that
        every SDK can encode it. Requests refuse such text where it comes in; this covers
        what comes from elsewhere: a stored history, a configured system prompt (the
        environment decodes stray bytes into surrogates), an earlier model's words."""
        texts = [message.content for message in self.messages]
        if self.system is not None:
            texts.append(self.system)
        if all(is_valid_text(text) for text in texts):
            return self
        return dataclasses.replace(
            self,
            messages=[ChatMessage(m.role, repair_text(m.content)) for m in self.messages],
            system=None if self.system is None else repair_text(self.system),
        )


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The last event of every successful stream."""

    finish_reason: FinishReason
    usage: Usage


StreamEvent = TextDelta | Finish


class Provider(ABC):
    """One configured client of one provider. Built once per process and key, reused."""

    name: str

    @abstractmethod
    def stream(
        self, spec: ModelSpec, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        """Text deltas as they arrive, then exactly one ``Finish``. Failures raise
        ``ProviderError``; closing the iterator early cancels the upstream call."""

    async def aclose(self) -> None:  # noqa: B027 (optional hook)
        """Release the client's connections."""
