"""Parley's SSE protocol: every message is ``id: <seq>`` and ``data: <json>`` with a ``type``,
so ``EventSource.onmessage`` and fetch-based readers both see every event; ``: ping``
comments keep idle connections alive."""

from __future__ import annotations

import json
from typing import Any

from parley.chat.events import (
    ChatEvent,
    Done,
    Failed,
    Guarded,
    Meta,
    Partial,
    Switched,
    Token,
    ToolCalled,
)

__all__ = ["PING", "SseEncoder", "event_payload", "guardrail_payload"]

PING = b": ping\n\n"


def guardrail_payload(event: Guarded) -> dict[str, Any]:
    """What a client is told of a guardrail's action (both endpoints say the same)."""
    return {
        "kind": event.kind,
        "action": event.action,
        "category": event.category,
        "confidence": event.confidence,
        "stage": event.stage,
        "language": event.language,
        "resources": list(event.resources),
    }


def event_payload(event: ChatEvent) -> dict[str, Any]:  # noqa: PLR0911 (one per event type)
    if isinstance(event, Token):
        return {"type": "token", "text": event.text}
    if isinstance(event, Partial):
        return {"type": "partial", "object": event.value}
    if isinstance(event, ToolCalled):
        call = event.call
        return {
            "type": "tool_call",
            "index": event.index,
            "id": call.id,
            "name": call.name,
            "arguments": call.arguments,
        }
    if isinstance(event, Guarded):
        return {"type": "guardrail", **guardrail_payload(event)}
    if isinstance(event, Meta):
        return {
            "type": "meta",
            "request_id": event.request_id,
            "conversation_id": event.conversation_id,
            "message_id": event.message_id,
            "route": event.route,
            "smart_defaults": event.smart_defaults,
            "context": event.context,
        }
    if isinstance(event, Switched):
        return {
            "type": "provider_switched",
            "from": event.source,
            "to": event.target,
            "reason": event.reason,
            "after_tokens": event.after_tokens,
        }
    if isinstance(event, Done):
        return {
            "type": "done",
            "finish_reason": event.finish_reason,
            "message_id": event.message_id,
            "provider": event.provider,
            "model": event.model,
            "usage": {
                "input_tokens": event.input_tokens,
                "output_tokens": event.output_tokens,
                "estimated": event.usage_estimated,
            },
            "cost_usd": event.cost_usd,
            "latency_ms": event.latency_ms,
            "ttft_ms": event.ttft_ms,
            "cached": event.cached,
            "replayed": event.replayed,
        }
    assert isinstance(event, Failed)
    return {"type": "error", **event.error.body()["error"]}


class SseEncoder:
    """Numbers the messages of one stream."""

    media_type = "text/event-stream"

    def __init__(self) -> None:
        self._sequence = 0

    def encode(self, event: ChatEvent) -> bytes:
        self._sequence += 1
        data = json.dumps(event_payload(event), ensure_ascii=False, separators=(",", ":"))
        return f"id: {self._sequence}\ndata: {data}\n\n".encode()

    def ping(self) -> bytes:
        return PING

    def end(self, completed: bool) -> bytes:
        return b""
