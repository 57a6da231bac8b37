"""Anthropic's Messages API wire format, as ``anthropic.AsyncAnthropic`` reads it.

A stream is named SSE events: ``message_start``, ``content_block_start``, ``ping``, one
``content_block_delta`` per text delta, ``content_block_stop``, ``message_delta`` (stop reason
and output tokens) and ``message_stop``. The SDK skips events without a name and ``ping``, so
the malformed event is named ``content_block_delta`` for the SDK to try to parse it. An in-band
error is ``event: error``; the SDK raises it as an ``APIStatusError`` whose status is the 200 of
the stream it arrived in.

``Script.usage=None`` has no faithful form here, since the real API always reports usage: the
fake sends ``message_start`` with ``{"input_tokens": 0, "output_tokens": 0}`` and leaves
``usage`` out of ``message_delta``, which the SDK's raw events read as ``usage=None``. (The
``messages.stream()`` helper cannot accumulate such a stream: it reads ``usage.output_tokens``.)
A non-streaming reply reports zeros, as ``Message.usage`` is required.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from tests.fakes.scripts import Reply, data_event

if TYPE_CHECKING:
    from tests.fakes.scripts import Script

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class AnthropicReply(Reply):
    provider = "anthropic"
    finish_reasons: ClassVar = {
        "stop": "end_turn",
        "length": "max_tokens",
        "content_filter": "refusal",
    }

    def __init__(self, model: str, body: Any, script: Script) -> None:
        super().__init__(model, body, script)
        self._id = f"msg_{uuid.uuid4().hex[:24]}"

    def head(self) -> list[bytes]:
        message = {**self._message([]), "stop_reason": None}
        if self.script.usage is None:
            message["usage"] = {"input_tokens": 0, "output_tokens": 0}
        else:
            message["usage"] = {"input_tokens": self.script.usage[0], "output_tokens": 1}
        return [
            self._event({"type": "message_start", "message": message}),
            self._event(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                }
            ),
            self._event({"type": "ping"}),
        ]

    def delta(self, text: str) -> bytes:
        return self._event(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            }
        )

    def tail(self) -> list[bytes]:
        message_delta: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": self.finish_reason, "stop_sequence": None},
        }
        if self.script.usage is not None:
            message_delta["usage"] = {"output_tokens": self.script.usage[1]}
        return [
            self._event({"type": "content_block_stop", "index": 0}),
            self._event(message_delta),
            self._event({"type": "message_stop"}),
        ]

    def in_band_error(self) -> bytes:
        return self._event(self._error_body("overloaded_error", "Overloaded"))

    def malformed(self) -> bytes:
        return b"event: content_block_delta\ndata: {not json\n\n"

    def misshapen(self) -> bytes:
        return self._event({"type": "content_block_delta", "index": 0, "delta": "text"})

    def whole(self) -> dict[str, Any]:
        message = self._message([{"type": "text", "text": self.script.text}])
        message["stop_reason"] = self.finish_reason
        input_tokens, output_tokens = self.script.usage or (0, 0)
        message["usage"] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
        return message

    def error(self, status: int) -> dict[str, Any]:
        fallback = "api_error" if status >= 500 else "invalid_request_error"
        kind = _ERROR_TYPES.get(status, fallback)
        messages = {
            "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
            "overloaded_error": "Overloaded",
            "api_error": "Internal server error",
        }
        return self._error_body(kind, messages.get(kind, f"Request refused ({status})"))

    def _message(self, content: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_sequence": None,
        }

    def _error_body(self, kind: str, message: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": f"req_{uuid.uuid4().hex[:24]}",
        }

    @staticmethod
    def _event(payload: dict[str, Any]) -> bytes:
        return data_event(payload, event=str(payload["type"]))
