"""What a chat produces, independent of how it goes over the wire: the SSE protocol of
``/v1/chat/stream`` and OpenAI's chunks of ``/v1/chat/completions`` both encode these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.errors import ParleyError

__all__ = ["ChatEvent", "ClientGone", "Done", "Failed", "Meta", "Token"]


@dataclass(frozen=True, slots=True)
class Meta:
    request_id: str
    conversation_id: str | None
    message_id: str
    route: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Token:
    text: str


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
    model: str
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    error: ParleyError


ChatEvent = Meta | Token | Done | Failed


class ClientGone(Exception):
    """Raised by an emit whose client has disconnected: stop streaming, keep what was said."""
