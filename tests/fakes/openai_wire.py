"""OpenAI's Chat Completions wire format, as ``openai.AsyncOpenAI`` reads it.

A stream is unnamed SSE events, each ``data: <chat.completion.chunk>``: a first chunk with the
assistant role and empty content, one chunk per text delta, a chunk with an empty delta and
the finish reason, then (only when ``stream_options.include_usage`` was asked for) a chunk with
no choices and the usage, and ``data: [DONE]``. With ``include_usage`` every chunk carries
``"usage": null`` until the last, as the real API does. An in-band error is an event whose JSON
has an ``error`` key; the SDK raises ``openai.APIError`` for it, and the stream ends without
``[DONE]``.

Tool calls follow the text: per call a chunk opening it (``index``, ``id``, ``type``, the
function's name and empty arguments), then chunks with pieces of its arguments' JSON text
(``index`` and ``function.arguments`` only); the finish reason is then ``tool_calls``.
``refusal`` answers, as the real API does with a 400, the requests whose tool messages do not
answer the calls before them, or whose image URLs are neither http(s) nor data: URLs.
"""

from __future__ import annotations

import json
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
        "tool_calls": "tool_calls",
    }

    def __init__(self, model: str, body: Any, script: Script) -> None:
        super().__init__(model, body, script)
        self._id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self._created = int(time.time())
        options = body.get("stream_options") if isinstance(body, dict) else None
        self._include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        self._call_ids = [call.id or f"call_{uuid.uuid4().hex[:24]}" for call in script.tool_calls]

    def head(self) -> list[bytes]:
        # OpenAI sends null content when the answer is only tool calls.
        content = None if self._only_calls else ""
        return [self._chunk({"role": "assistant", "content": content, "refusal": None}, None)]

    def delta(self, text: str) -> bytes:
        return self._chunk({"content": text}, None)

    def tool_events(self, cut_after: int | None = None) -> list[bytes]:
        events: list[bytes] = []
        for index, call in enumerate(self.script.tool_calls):
            opening = {
                "index": index,
                "id": self._call_ids[index],
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            events.append(self._chunk({"tool_calls": [opening]}, None))
            fragments = call.fragments()
            if cut_after is not None:
                fragments = fragments[:cut_after]
            for fragment in fragments:
                piece = {"index": index, "function": {"arguments": fragment}}
                events.append(self._chunk({"tool_calls": [piece]}, None))
            if cut_after is not None:
                break
        return events

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
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if self._only_calls else self.script.text,
            "refusal": None,
        }
        if self.script.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": json.dumps(call.arguments, separators=(",", ":")),
                    },
                }
                for call, call_id in zip(self.script.tool_calls, self._call_ids, strict=True)
            ]
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

    def refusal(self) -> tuple[int, dict[str, Any]] | None:
        """The real API's 400 for a request it would refuse, or None."""
        refused = refusal_of(self.body)
        return None if refused is None else (400, refused)

    @property
    def _only_calls(self) -> bool:
        return bool(self.script.tool_calls) and not self.script.text

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


def refusal_of(body: Any) -> dict[str, Any] | None:
    """The error body the real API answers a few malformed requests with (in its words): a
    tool message that answers no call of the assistant message before it, an assistant's
    calls not all answered by the tool messages right after it, an image URL that is neither
    http(s) nor a data: URL. None for a request it takes."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return None
    return _unanswered_calls(messages) or _unfetchable_image(messages)


def _unanswered_calls(messages: list[Any]) -> dict[str, Any] | None:
    calling: int | None = None  # the assistant message whose calls are being answered
    unanswered: list[str] = []
    for position, entry in enumerate(messages):
        message = entry if isinstance(entry, dict) else {}
        if message.get("role") == "tool":
            if calling is None or message.get("tool_call_id") not in unanswered:
                return _invalid(  # "preceeding" (sic) is the API's own spelling
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"messages.[{position}].role",
                )
            unanswered.remove(message["tool_call_id"])
            continue
        if unanswered:
            break
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        calling = position if calls else None
        unanswered = [c.get("id") for c in calls if isinstance(c, dict)] if calls else []
    if unanswered:
        return _invalid(
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(map(str, unanswered))}",
            f"messages.[{calling}].role",
        )
    return None


def _unfetchable_image(messages: list[Any]) -> dict[str, Any] | None:
    for position, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        for number, part in enumerate(content if isinstance(content, list) else []):
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            url = (part.get("image_url") or {}).get("url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://", "data:")):
                param = f"messages[{position}].content[{number}].image_url.url"
                return _invalid(
                    f"Invalid image URL: '{param}'. Expected a base64-encoded data URL with an "
                    "image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but "
                    "got a value without the 'data:' prefix.",
                    param,
                    code="invalid_value",
                )
    return None


def _invalid(message: str, param: str, *, code: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }
