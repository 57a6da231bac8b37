"""Chat events as OpenAI writes them: ``chat.completion.chunk`` lines ending with
``data: [DONE]`` for a stream, one ``chat.completion`` otherwise. A completion is named by its
answer (the reply's message id, when it began), so an Idempotency-Key replay keeps its id.

Tool calls go out as OpenAI streams them: per call a chunk with its index, id, type and name
(and empty arguments), then a chunk with its arguments; ``finish_reason`` is ``tool_calls``.
A request that used the legacy ``functions`` is answered in that form (``function_call``)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from parley.chat.edge.sse import PING, guardrail_payload
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
from parley.ids import new_id

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CompletionChunkEncoder", "completion_body"]

_FINISH = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
}


def _finish(done: Done, *, legacy_functions: bool) -> str:
    reason = _FINISH.get(done.finish_reason, "stop")
    return "function_call" if legacy_functions and reason == "tool_calls" else reason


def _tool_call(event: ToolCalled) -> dict[str, Any]:
    call = event.call
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _chunk(completion_id: str, created: int, model: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        **fields,
    }


def _usage(done: Done) -> dict[str, int]:
    return {
        "prompt_tokens": done.input_tokens,
        "completion_tokens": done.output_tokens,
        "total_tokens": done.input_tokens + done.output_tokens,
    }


def _error(event: Failed) -> dict[str, Any]:
    return {
        "error": {
            "message": event.error.message,
            "type": event.error.code,
            "code": event.error.code,
            "param": None,
        }
    }


def _completion_id(meta: Meta) -> str:
    """The completion's id, from the reply's message id: the same answer, replayed for an
    Idempotency-Key retry, keeps the same id."""
    return f"chatcmpl-{meta.message_id}"


def _completion_created(meta: Meta) -> int:
    return meta.created if meta.created is not None else int(time.time())


class CompletionChunkEncoder:
    """``data: <chunk>`` lines ending with ``data: [DONE]``, as OpenAI streams them. Every
    chunk carries the id and ``created`` of the answer, which its ``Meta`` (always the first
    event) gives."""

    media_type = "text/event-stream"

    def __init__(self, *, include_usage: bool, legacy_functions: bool = False) -> None:
        # Until a Meta names them: only an error can come first.
        self._id = f"chatcmpl-{new_id()}"
        self._created = int(time.time())
        self._model = ""
        self._include_usage = include_usage
        self._legacy = legacy_functions

    def encode(self, event: ChatEvent) -> bytes:  # noqa: PLR0911 (one return per event type)
        if isinstance(event, Token):
            return self._data(self._choice({"content": event.text}, None))
        if isinstance(event, ToolCalled):
            return self._tool_call(event)
        if isinstance(event, Partial):
            return b""  # the native stream's progress; OpenAI's chunks carry the text itself
        if isinstance(event, Meta):
            self._id, self._created = _completion_id(event), _completion_created(event)
            self._model = str(event.route["model"])
            return self._data(self._choice({"role": "assistant", "content": ""}, None))
        if isinstance(event, Guarded):
            # Parley's own field, on a chunk with an empty delta (docs/sse-protocol.md).
            chunk = self._choice({}, None)
            return self._data({**chunk, "parley": {"guardrail": guardrail_payload(event)}})
        if isinstance(event, Switched):
            # OpenAI's chunks have no such event; the chunks that follow name the new model.
            self._model = event.target["model"]
            return b""
        if isinstance(event, Done):
            # The model that answered: another, when one failed before its first output.
            self._model = event.model or self._model
            finish = self._data(self._choice({}, _finish(event, legacy_functions=self._legacy)))
            if not self._include_usage:
                return finish
            usage = _chunk(self._id, self._created, self._model, choices=[], usage=_usage(event))
            return finish + _sse(usage)
        assert isinstance(event, Failed)
        return _sse(_error(event))

    def _tool_call(self, event: ToolCalled) -> bytes:
        """The call's opening chunk (id, name), then its arguments, as OpenAI sends them."""
        call = _tool_call(event)
        arguments = event.call.arguments
        opening: dict[str, Any]
        rest: dict[str, Any]
        if self._legacy:
            opening = {"function_call": {"name": event.call.name, "arguments": ""}}
            rest = {"function_call": {"arguments": arguments}}
        else:
            call["function"] = {"name": event.call.name, "arguments": ""}
            opening = {"tool_calls": [{"index": event.index, **call}]}
            rest = {"tool_calls": [{"index": event.index, "function": {"arguments": arguments}}]}
        return self._data(self._choice(opening, None)) + self._data(self._choice(rest, None))

    def ping(self) -> bytes:
        return PING

    def end(self, completed: bool) -> bytes:
        return b"data: [DONE]\n\n" if completed else b""

    def _choice(self, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ]
        }
        if self._include_usage:
            fields["usage"] = None  # as OpenAI: every chunk but the last carries a null usage
        return _chunk(self._id, self._created, self._model, **fields)

    def _data(self, payload: dict[str, Any]) -> bytes:
        return _sse(payload)


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def completion_body(
    meta: Meta,
    text: str,
    done: Done,
    guardrail: Guarded | None = None,
    *,
    tool_calls: Sequence[ToolCalled] = (),
    legacy_functions: bool = False,
) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` for a finished answer; with ``guardrail``, Parley's
    ``parley.guardrail`` says why the message is a safe reply (or carries resources)."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if tool_calls:
        # As OpenAI: an answer of calls only has no content.
        message["content"] = text or None
        if legacy_functions:
            call = tool_calls[0].call
            message["function_call"] = {"name": call.name, "arguments": call.arguments}
        else:
            message["tool_calls"] = [_tool_call(event) for event in tool_calls]
    body: dict[str, Any] = {
        "id": _completion_id(meta),
        "object": "chat.completion",
        "created": _completion_created(meta),
        "model": done.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish(done, legacy_functions=legacy_functions),
            }
        ],
        "usage": _usage(done),
    }
    if guardrail is not None:
        body["parley"] = {"guardrail": guardrail_payload(guardrail)}
    return body
