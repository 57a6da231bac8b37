"""The OpenAI-compatible API: ``POST /v1/chat/completions`` requests become chat turns, and
chat events become ``chat.completion.chunk``s (or one ``chat.completion``), so any OpenAI
client library works unchanged with a Parley token as its API key.

Calls through this API carry their own history, as OpenAI's do: nothing is stored but the
usage event.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.bounds import MAX_SAFE_INTEGER
from parley.chat.events import ChatEvent, Done, Failed, Meta, Switched, Token
from parley.chat.sse import PING
from parley.errors import ValidationFailed
from parley.ids import new_id
from parley.providers.base import ChatMessage

__all__ = [
    "VIRTUAL_MODELS",
    "ChatCompletionRequest",
    "CompletionChunkEncoder",
    "completion_body",
]

# Model names that choose a model by mode instead of naming one.
VIRTUAL_MODELS = ("auto", "cheap", "smart")
_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class CompletionMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    # OpenAI clients send many optional tuning fields; those Parley does not use are ignored.
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=100)
    messages: list[CompletionMessage] = Field(min_length=1, max_length=1000)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    # Bounded only by what a number may be: a model's own output limit caps the budget.
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_SAFE_INTEGER)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_SAFE_INTEGER)
    n: int = Field(default=1, ge=1, le=1, description="Parley returns one choice.")
    # Parley's own (an OpenAI client sends it with extra_body): serve and store this answer
    # in the response cache even though its temperature is not 0.
    cache: bool = False
    # Parley does not call tools, but a request that offers them is function-calling work,
    # which routing takes into account.
    tools: list[Any] | None = Field(default=None, max_length=128)
    functions: list[Any] | None = Field(default=None, max_length=128)

    @model_validator(mode="after")
    def _ends_with_the_user(self) -> ChatCompletionRequest:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must be the user's")
        return self

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def conversation(self) -> tuple[str | None, tuple[ChatMessage, ...], str]:
        """(system prompt, earlier turns, the new user message)."""
        system = "\n\n".join(m.text for m in self.messages if m.role in ("system", "developer"))
        turns = tuple(
            ChatMessage(m.role, m.text)
            for m in self.messages[:-1]
            if m.role in ("user", "assistant")
        )
        message = self.messages[-1].text
        if not message:
            raise ValidationFailed("messages: the last user message is empty")
        return system or None, turns, message


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

    def encode(self, event: ChatEvent) -> bytes:
        if isinstance(event, Token):
            return self._data(self._choice({"content": event.text}, None))
        if isinstance(event, Meta):
            self._id, self._created = _completion_id(event), _completion_created(event)
            self._model = str(event.route["model"])
            return self._data(self._choice({"role": "assistant", "content": ""}, None))
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


def completion_body(meta: Meta, text: str, done: Done) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` for a finished answer."""
    return {
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
