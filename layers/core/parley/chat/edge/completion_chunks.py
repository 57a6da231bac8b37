"""Chat events as OpenAI writes them: ``chat.completion.chunk`` lines ending with
``data: [DONE]`` for a stream, one ``chat.completion`` otherwise. A completion is named by its
answer (the reply's message id, when it began), so an Idempotency-Key replay keeps its id."""

from __future__ import annotations

import json
import time
from typing import Any

from parley.chat.edge.sse import PING, guardrail_payload
from parley.chat.events import ChatEvent, Done, Failed, Guarded, Meta, Switched, Token
from parley.ids import new_id

__all__ = ["CompletionChunkEncoder", "completion_body"]

_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


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

    def __init__(self, *, include_usage: bool) -> None:
        # Until a Meta names them: only an error can come first.
        self._id = f"chatcmpl-{new_id()}"
        self._created = int(time.time())
        self._model = ""
        self._include_usage = include_usage

    def encode(self, event: ChatEvent) -> bytes:  # noqa: PLR0911 (one return per event type)
        if isinstance(event, Token):
            return self._data(self._choice({"content": event.text}, None))
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
            finish = self._data(self._choice({}, _FINISH.get(event.finish_reason, "stop")))
            if not self._include_usage:
                return finish
            usage = _chunk(self._id, self._created, self._model, choices=[], usage=_usage(event))
            return finish + _sse(usage)
        assert isinstance(event, Failed)
        return _sse(_error(event))

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
    meta: Meta, text: str, done: Done, guardrail: Guarded | None = None
) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` for a finished answer; with ``guardrail``, Parley's
    ``parley.guardrail`` says why the message is a safe reply (or carries resources)."""
    body: dict[str, Any] = {
        "id": _completion_id(meta),
        "object": "chat.completion",
        "created": _completion_created(meta),
        "model": done.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": _FINISH.get(done.finish_reason, "stop"),
            }
        ],
        "usage": _usage(done),
    }
    if guardrail is not None:
        body["parley"] = {"guardrail": guardrail_payload(guardrail)}
    return body
