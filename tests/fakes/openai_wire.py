"""OpenAI's Chat Completions wire format, as ``openai.AsyncOpenAI`` reads it.

A stream is unnamed SSE events, each ``data: <chat.completion.chunk>``: a first chunk with the
assistant role and empty content, one chunk per text delta, a chunk with an empty delta and
the finish reason, then (only when ``stream_options.include_usage`` was asked for) a chunk with
no choices and the usage, and ``data: [DONE]``. With ``include_usage`` every chunk carries
``"usage": null`` until the last, as the real API does. An in-band error is an event whose JSON
has an ``error`` key; the SDK raises ``openai.APIError`` for it, and the stream ends without
``[DONE]``.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from tests.fakes.scripts import Reply, data_event

if TYPE_CHECKING:
    from tests.fakes.scripts import Script

# status -> (error.type, error.code), as the real API words them.
_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


class OpenAIReply(Reply):
    provider = "openai"
    finish_reasons: ClassVar = {
        "stop": "stop",
        "length": "length",
        "content_filter": "content_filter",
    }

    def __init__(self, model: str, body: Any, script: Script) -> None:
        super().__init__(model, body, script)
        self._id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self._created = int(time.time())
        options = body.get("stream_options") if isinstance(body, dict) else None
        self._include_usage = isinstance(options, dict) and bool(options.get("include_usage"))

    def head(self) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": "", "refusal": None}, None)]

    def delta(self, text: str) -> bytes:
        return self._chunk({"content": text}, None)

    def tail(self) -> list[bytes]:
        events = [self._chunk({}, self.finish_reason)]
        if self._include_usage and self.script.usage is not None:
            events.append(data_event({**self._envelope(), "choices": [], "usage": self._usage()}))
        events.append(b"data: [DONE]\n\n")
        return events

    def in_band_error(self) -> bytes:
        error = {"message": "The server had an error while processing your request."}
        return data_event({"error": {**error, "type": "server_error", "param": None, "code": None}})

    def malformed(self) -> bytes:
        return b"data: {not json\n\n"

    def misshapen(self) -> bytes:
        return data_event({**self._envelope(), "choices": [{"index": 0, "delta": "text"}]})

    def whole(self) -> dict[str, Any]:
        message = {"role": "assistant", "content": self.script.text, "refusal": None}
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": self.finish_reason,
        }
        answer: dict[str, Any] = {**self._envelope(), "object": "chat.completion"}
        answer["choices"] = [choice]
        if self.script.usage is not None:
            answer["usage"] = self._usage()
        return answer

    def error(self, status: int) -> dict[str, Any]:
        kind, code = _ERRORS.get(status, ("server_error", None))
        if status == 429:
            message = f"Rate limit reached for {self.model} on requests per min (RPM)."
        elif status >= 500:
            message = "The server had an error while processing your request."
        else:
            message = f"The request was refused with status {status}."
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def _envelope(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk: dict[str, Any] = {**self._envelope(), "choices": [choice]}
        if self._include_usage:
            chunk["usage"] = None
        return data_event(chunk)

    def _usage(self) -> dict[str, int]:
        assert self.script.usage is not None
        prompt, completion = self.script.usage
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
