"""What a chat produces, independent of how it goes over the wire: the SSE protocol of
``/v1/chat/stream`` and OpenAI's chunks of ``/v1/chat/completions`` both encode these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.errors import ParleyError
    from parley.providers.base import ToolCall

__all__ = [
    "ChatEvent",
    "ClientGone",
    "Done",
    "Failed",
    "Guarded",
    "Meta",
    "Partial",
    "Switched",
    "Token",
    "ToolCalled",
]


@dataclass(frozen=True, slots=True)
class Meta:
    request_id: str
    conversation_id: str | None
    message_id: str
    route: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    # {"panel", "detected_from", "values"}; empty for endpoints that do not carry it.
    smart_defaults: dict[str, Any] = field(default_factory=dict)
    # When the answer began, in Unix seconds: a replay keeps it (OpenAI's ``created``). None
    # only in records stored before it was kept.
    created: int | None = None


@dataclass(frozen=True, slots=True)
class Token:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCalled:
    """The model asks the client to call a function: the ``index``-th call of this answer,
    whole (its arguments checked to be a JSON object)."""

    index: int
    call: ToolCall


@dataclass(frozen=True, slots=True)
class Partial:
    """A structured answer taking shape: the JSON parsed so far (the native stream's
    ``partial`` event). Progress only: the answer is the tokens that follow, once checked."""

    value: Any


@dataclass(frozen=True, slots=True)
class Guarded:
    """A guardrail acted on the user's message, before any token of the reply: ``safe_reply``
    (the tokens that follow are the safe-messaging reply, not a model's) or ``resources``
    (an ordinary answer follows, then resources for helping someone else)."""

    kind: str  # "crisis"
    action: str  # "safe_reply" or "resources"
    category: str
    confidence: float
    stage: str  # which stage decided: "model" or "offline"
    resources: tuple[dict[str, Any], ...] = ()
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Switched:
    """The stream broke after ``after_tokens`` tokens and continues on another model."""

    source: dict[str, str]  # {"provider", "model"}
    target: dict[str, str]
    reason: str
    after_tokens: int


@dataclass(frozen=True, slots=True)
class Done:
    finish_reason: str
    input_tokens: int
    output_tokens: int
    usage_estimated: bool
    cost_usd: float
    latency_ms: float
    ttft_ms: float | None
    message_id: str
    model: str  # the model that answered (the last one, after a failover)
    provider: str = ""
    cached: bool = False  # served from the response cache, no provider call
    replayed: bool = False  # an Idempotency-Key retry given the first request's result


@dataclass(frozen=True, slots=True)
class Failed:
    error: ParleyError


ChatEvent = Meta | Guarded | Token | ToolCalled | Partial | Switched | Done | Failed


class ClientGone(Exception):
    """Raised by an emit whose client has disconnected: stop streaming, keep what was said."""
