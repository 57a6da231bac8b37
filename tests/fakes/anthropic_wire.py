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

Tool calls follow the text as ``tool_use`` content blocks: the text block (index 0) is stopped
first, then each call is ``content_block_start`` with ``{"type": "tool_use", "id", "name",
"input": {}}``, an empty ``input_json_delta`` (as the API opens every input) and the
arguments' JSON text in ``input_json_delta`` fragments, then ``content_block_stop``; the stop
reason is ``tool_use``. A script of calls without text has no text block, so its calls start
at index 0. ``request_refusal`` refuses, with the API's 400, the request shapes a wrong mapping
would produce (see ``AnthropicReply.refusal``).
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
        "tool_calls": "tool_use",
    }

    def __init__(self, model: str, body: Any, script: Script) -> None:
        super().__init__(model, body, script)
        self._id = f"msg_{uuid.uuid4().hex[:24]}"
        self._call_ids = [call.id or f"toolu_{uuid.uuid4().hex[:24]}" for call in script.tool_calls]
        # A model that only calls tools sends no text block.
        self._has_text_block = bool(script.chunks) or not script.tool_calls

    def refusal(self) -> tuple[int, dict[str, Any]] | None:
        """The API's 400 for a request it refuses (before anything is streamed), or None."""
        problem = request_refusal(self.body)
        if problem is None:
            return None
        return 400, self._error_body("invalid_request_error", problem)

    def head(self) -> list[bytes]:
        message = {**self._message([]), "stop_reason": None}
        if self.script.usage is None:
            message["usage"] = {"input_tokens": 0, "output_tokens": 0}
        else:
            message["usage"] = {"input_tokens": self.script.usage[0], "output_tokens": 1}
        events = [self._event({"type": "message_start", "message": message})]
        if self._has_text_block:
            start = {"type": "content_block_start", "index": 0}
            events.append(self._event({**start, "content_block": {"type": "text", "text": ""}}))
        events.append(self._event({"type": "ping"}))
        return events

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
        events = []
        if self._has_text_block and not self.script.tool_calls:  # else tool_events stopped it
            events.append(self._block_stop(0))
        return [*events, self._event(message_delta), self._event({"type": "message_stop"})]

    def tool_events(self, cut_after: int | None = None) -> list[bytes]:
        if not self.script.tool_calls:
            return []
        events = [self._block_stop(0)] if self._has_text_block else []
        first = 1 if self._has_text_block else 0
        for number, call in enumerate(self.script.tool_calls):
            index = first + number
            block = {"type": "tool_use", "id": self._call_ids[number], "name": call.name}
            start = {"type": "content_block_start", "index": index}
            events.append(self._event({**start, "content_block": {**block, "input": {}}}))
            fragments = ["", *call.fragments()]
            if cut_after is not None:
                fragments = fragments[: cut_after + 1]
            events.extend(self._input_delta(index, fragment) for fragment in fragments)
            if cut_after is not None:
                return events
            events.append(self._block_stop(index))
        return events

    def in_band_error(self) -> bytes:
        return self._event(self._error_body("overloaded_error", "Overloaded"))

    def malformed(self) -> bytes:
        return b"event: content_block_delta\ndata: {not json\n\n"

    def misshapen(self) -> bytes:
        return self._event({"type": "content_block_delta", "index": 0, "delta": "text"})

    def whole(self) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if self._has_text_block:
            content.append({"type": "text", "text": self.script.text})
        for call_id, call in zip(self._call_ids, self.script.tool_calls, strict=True):
            content.append(
                {"type": "tool_use", "id": call_id, "name": call.name, "input": call.arguments}
            )
        message = self._message(content)
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

    def _input_delta(self, index: int, fragment: str) -> bytes:
        delta = {"type": "input_json_delta", "partial_json": fragment}
        return self._event({"type": "content_block_delta", "index": index, "delta": delta})

    def _block_stop(self, index: int) -> bytes:
        return self._event({"type": "content_block_stop", "index": index})

    @staticmethod
    def _event(payload: dict[str, Any]) -> bytes:
        return data_event(payload, event=str(payload["type"]))


def request_refusal(body: Any) -> str | None:
    """What the Messages API would say (its 400's message) about a request body whose turns
    do not alternate from the user's, whose tool results do not answer the previous turn's
    calls first thing, or whose image or tool_use block is incomplete; None if it is fine."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return "messages: Field required"
    if _has_tool_blocks(messages) and not body.get("tools"):
        return "Requests which include `tool_use` or `tool_result` blocks must define tools."
    calls: list[str] = []  # the previous assistant turn's tool_use ids
    # Stricter than the API, which merges consecutive turns of one role (the SDK's
    # MessageCreateParams.messages): Parley's adapter sends them merged, by turns_of.
    for number, message in enumerate(messages):
        role = message.get("role")
        expected = "user" if number % 2 == 0 else "assistant"
        if role != expected:
            if number == 0:
                return 'messages: first message must use the "user" role'
            return (
                'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{role}" roles in a row'
            )
        content = message.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        problem = (
            _user_turn_problem(f"messages.{number}", blocks, calls)
            if role == "user"
            else _assistant_turn_problem(f"messages.{number}", blocks)
        )
        if problem is not None:
            return problem
        calls = (
            [b["id"] for b in blocks if b.get("type") == "tool_use"] if role == "assistant" else []
        )
    return None


def _has_tool_blocks(messages: list[Any]) -> bool:
    return any(
        isinstance(block, dict) and block.get("type") in ("tool_use", "tool_result")
        for message in messages
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for block in message["content"]
    )


def _user_turn_problem(where: str, blocks: list[Any], calls: list[str]) -> str | None:
    kinds = [block.get("type") for block in blocks]
    leading = next((i for i, kind in enumerate(kinds) if kind != "tool_result"), len(kinds))
    if "tool_result" in kinds[leading:] or leading < len(calls):
        return (
            f"{where}: Did not find {len(calls)} `tool_result` block(s) at the beginning of "
            "this message. Messages following `tool_use` blocks must begin with a matching "
            "number of `tool_result` blocks."
        )
    for position, block in enumerate(blocks):
        here = f"{where}.content.{position}"
        if block.get("type") == "tool_result" and block.get("tool_use_id") not in calls:
            return (
                f"{here}: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{block.get('tool_use_id')}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )
        if block.get("type") == "image":
            problem = _image_source_problem(here, block.get("source"))
            if problem is not None:
                return problem
    answered = {block.get("tool_use_id") for block in blocks}
    if missing := [call for call in calls if call not in answered]:
        return (
            f"{where}: `tool_use` ids were found without `tool_result` blocks immediately "
            f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
            "`tool_result` block in the next message."
        )
    return None


def _image_source_problem(where: str, source: Any) -> str | None:
    if not isinstance(source, dict):
        return f"{where}.image.source: Field required"
    kind = source.get("type")
    needed = {"base64": ("media_type", "data"), "url": ("url",)}.get(str(kind))
    if needed is None:
        return f"{where}.image.source: Input tag '{kind}' found using 'type' does not match"
    for name in needed:
        if not source.get(name):
            return f"{where}.image.source.{kind}.{name}: Field required"
    return None


def _assistant_turn_problem(where: str, blocks: list[Any]) -> str | None:
    for position, block in enumerate(blocks):
        if block.get("type") == "tool_use" and not isinstance(block.get("input"), dict):
            return f"{where}.content.{position}.tool_use.input: Input should be a valid dictionary"
    return None
