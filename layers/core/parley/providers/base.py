"""The provider contract: a stream of text deltas (and tool-call fragments) that ends with
usage and a finish reason.

Every adapter (OpenAI, Anthropic, Gemini, any OpenAI-compatible server, the offline ``local``
model) turns Parley's provider-neutral request into its SDK's call and the SDK's stream back
into these events, and translates the SDK's failures into ``parley.providers.errors``.

The request is OpenAI's shape in provider-neutral words, since that is what most clients
send: messages with images, assistant messages that called tools and ``tool`` messages with
their results; the tools offered, how the model may choose among them, and the JSON schema
its answer must follow. Each adapter maps these onto its own wire format.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from parley.providers.usage import Usage
from parley.text import is_valid_text, repair_text

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Sequence

    from parley.providers.catalog import ModelSpec

__all__ = [
    "ChatMessage",
    "Finish",
    "GenerationRequest",
    "ImagePart",
    "Provider",
    "ResponseSchema",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolChoice",
    "ToolSpec",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other"]
ImageDetail = Literal["auto", "low", "high"]


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image in a user's message: an ``https`` URL the provider fetches itself, or the
    bytes of a ``data:`` URL, base64 as they came (never decoded and re-encoded)."""

    media_type: str  # image/png, image/jpeg...; for a URL, what its name says (or image/jpeg)
    url: str | None = None
    data: str | None = None  # base64
    detail: ImageDetail = "auto"

    @property
    def as_url(self) -> str:
        """The image as OpenAI takes it: the URL, or the bytes as a data: URL."""
        if self.url is not None:
            return self.url
        return f"data:{self.media_type};base64,{self.data}"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function the model asked the client to call; ``arguments`` is JSON text (an
    object), as OpenAI carries it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str
    images: tuple[ImagePart, ...] = ()  # a user's message
    tool_calls: tuple[ToolCall, ...] = ()  # an assistant's message that called tools
    tool_call_id: str | None = None  # a tool's message: which call it answers
    name: str | None = None  # a tool's message: the function's name (Gemini wants it)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call: its name, what it does, its parameters' JSON schema."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool = False


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """How the model may use the tools: ``auto`` (its choice), ``none``, ``required`` (at
    least one call), or ``function`` (that one, named)."""

    mode: Literal["auto", "none", "required", "function"]
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseSchema:
    """The JSON schema the answer's text must follow (OpenAI's ``json_schema`` format)."""

    name: str
    schema: dict[str, Any]
    strict: bool = False
    description: str | None = None


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """What to generate. ``messages`` holds the conversation, oldest first, without the
    system prompt; adapters place ``system`` where their API wants it."""

    messages: Sequence[ChatMessage]
    system: str | None = None
    max_tokens: int = 1024
    temperature: float | None = None
    # Ask for one JSON object (the guardrail's classifier, ``response_format: json_object``):
    # the provider's JSON mode where it has one (OpenAI's response_format, Gemini's response
    # MIME type); the prompt says the rest.
    json_object: bool = False
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None  # None: the provider's default (auto)
    parallel_tool_calls: bool | None = None  # None: the provider's default
    response_schema: ResponseSchema | None = None

    @property
    def image_count(self) -> int:
        return sum(len(message.images) for message in self.messages)

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
            messages=[
                dataclasses.replace(m, content=repair_text(m.content)) for m in self.messages
            ],
            system=None if self.system is None else repair_text(self.system),
        )


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call, as OpenAI streams them: the call's ``index`` in the answer,
    its ``id`` and ``name`` on its first fragment, and a piece of its JSON ``arguments``. A
    provider that sends a whole call at once (Gemini) sends it as one fragment."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Finish:
    """The last event of every successful stream."""

    finish_reason: FinishReason
    usage: Usage


StreamEvent = TextDelta | ToolCallDelta | Finish


class Provider(ABC):
    """One configured client of one provider. Built once per process and key, reused."""

    name: str

    @abstractmethod
    def stream(
        self, spec: ModelSpec, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        """Text deltas and tool-call fragments as they arrive, then exactly one ``Finish``
        (``tool_calls`` when the model called tools). Failures raise
        ``ProviderError``; closing the iterator early cancels the upstream call."""

    async def aclose(self) -> None:  # noqa: B027 (optional hook)
        """Release the client's connections."""
