"""The body of ``POST /v1/chat/completions``, OpenAI's: any OpenAI client library works
unchanged with a Parley token as its API key. Calls through this API carry their own history,
as OpenAI's do: nothing is stored but the usage event."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.bounds import MAX_SAFE_INTEGER
from parley.chat.edge.stream_request import LOCALE_PATTERN
from parley.errors import ValidationFailed
from parley.providers.base import ChatMessage

__all__ = ["VIRTUAL_MODELS", "ChatCompletionRequest"]

# Model names that choose a model by mode instead of naming one.
VIRTUAL_MODELS = ("auto", "cheap", "smart")


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
    # Parley's own too: the user's locale (BCP 47), whose crisis lines a safe reply gives.
    locale: str | None = Field(default=None, pattern=LOCALE_PATTERN)
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
