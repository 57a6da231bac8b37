"""The body of ``POST /v1/chat/completions``, OpenAI's: any OpenAI client library works
unchanged with a Parley token as its API key. Calls through this API carry their own history,
as OpenAI's do: nothing is stored but the usage event.

Beyond text: ``tools`` with ``tool_choice`` and ``parallel_tool_calls`` (and the legacy
``functions``/``function_call``, mapped onto them), assistant messages that called tools and
``tool`` messages with the results anywhere in the history (the last message may be one),
``image_url`` content parts, and ``response_format`` (``json_object``, or ``json_schema``,
whose schema must itself be valid)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.bounds import MAX_SAFE_INTEGER
from parley.chat.edge.response_format import ResponseFormat  # noqa: TC001 (pydantic reads it)
from parley.chat.edge.stream_request import LOCALE_PATTERN
from parley.chat.images import image_part
from parley.errors import ValidationFailed
from parley.providers.base import ChatMessage, ImagePart, ToolCall, ToolChoice, ToolSpec
from parley.routing.output_check import schema_problem

__all__ = ["VIRTUAL_MODELS", "ChatCompletionRequest", "CompletionConversation"]

# Model names that choose a model by mode instead of naming one.
VIRTUAL_MODELS = ("auto", "cheap", "smart")
# OpenAI's rule for a function's name.
FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImageUrl(BaseModel):
    url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] = "auto"


class ImageUrlPart(BaseModel):
    type: Literal["image_url"]
    image_url: ImageUrl


ContentPart = Annotated[TextPart | ImageUrlPart, Field(discriminator="type")]


class FunctionCall(BaseModel):
    name: str = Field(pattern=FUNCTION_NAME)
    arguments: str = Field(default="{}", max_length=100_000)


class ToolCallIn(BaseModel):
    # Long enough for a Gemini call id carrying its thought signature (providers.gemini).
    id: str = Field(min_length=1, max_length=16_000)
    type: Literal["function"] = "function"
    function: FunctionCall


class CompletionMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCallIn] | None = Field(default=None, max_length=128)
    function_call: FunctionCall | None = None  # legacy: an assistant's one call
    tool_call_id: str | None = Field(default=None, max_length=16_000)
    name: str | None = Field(default=None, max_length=64)  # legacy function message: its name

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content if isinstance(part, TextPart))
        return self.content or ""

    def images(self, index: int) -> tuple[ImagePart, ...]:
        if not isinstance(self.content, list):
            return ()
        return tuple(
            image_part(
                part.image_url.url,
                part.image_url.detail,
                where=f"messages[{index}].content[{number}].image_url",
            )
            for number, part in enumerate(self.content)
            if isinstance(part, ImageUrlPart)
        )


class FunctionDefinition(BaseModel):
    name: str = Field(pattern=FUNCTION_NAME)
    description: str | None = Field(default=None, max_length=10_000)
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(BaseModel):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: str = Field(pattern=FUNCTION_NAME)


class NamedToolChoice(BaseModel):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(BaseModel):
    include_usage: bool = False


class CompletionConversation(BaseModel):
    """The request's messages in Parley's terms: the system prompt, the turns before the
    last user message, that message's text and images, and what followed it (the
    assistant's tool calls and their results, when the client is answering them)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    system: str | None
    history: tuple[ChatMessage, ...]
    message: str
    images: tuple[ImagePart, ...]
    followups: tuple[ChatMessage, ...]


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
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # The legacy form of tools: answered in its own form (``function_call``).
    functions: list[FunctionDefinition] | None = Field(default=None, max_length=128)
    function_call: Literal["auto", "none"] | NamedFunction | None = None
    response_format: ResponseFormat | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> ChatCompletionRequest:
        if self.messages[-1].role not in ("user", "tool", "function"):
            raise ValueError("the last message must be the user's or a tool's result")
        if not any(m.role == "user" for m in self.messages):
            raise ValueError("the messages need a user message")
        chosen = self.chosen_function
        if chosen is not None and chosen not in {tool.name for tool in self.tool_specs}:
            raise ValueError(f"tool_choice names {chosen!r}, which is not one of the tools")
        for number, spec in enumerate(self.tool_specs):
            problem = schema_problem(spec.parameters) if spec.parameters is not None else None
            if problem is not None:
                raise ValueError(f"tools[{number}].function.parameters: {problem}")
        return self

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    @property
    def legacy_functions(self) -> bool:
        """The request used ``functions``: its answer says ``function_call``, not tool calls."""
        return bool(self.functions) and not self.tools

    @property
    def tool_specs(self) -> tuple[ToolSpec, ...]:
        definitions = [tool.function for tool in self.tools or ()] or list(self.functions or ())
        return tuple(
            ToolSpec(d.name, d.description, d.parameters, bool(d.strict)) for d in definitions
        )

    @property
    def chosen_function(self) -> str | None:
        if isinstance(self.tool_choice, NamedToolChoice):
            return self.tool_choice.function.name
        if isinstance(self.function_call, NamedFunction):
            return self.function_call.name
        return None

    @property
    def choice(self) -> ToolChoice | None:
        """How the model may use the tools; None: the provider's default."""
        chosen = self.chosen_function
        if chosen is not None:
            return ToolChoice("function", chosen)
        mode = self.tool_choice if isinstance(self.tool_choice, str) else None
        if mode is None and isinstance(self.function_call, str):
            mode = self.function_call
        return None if mode is None else ToolChoice(mode)

    def conversation(self) -> CompletionConversation:
        """The messages in Parley's terms (``CompletionConversation``)."""
        system = "\n\n".join(m.text for m in self.messages if m.role in ("system", "developer"))
        last_user = max(i for i, m in enumerate(self.messages) if m.role == "user")
        turns = _turns(self.messages)
        history = tuple(turn for index, turn in turns if index < last_user)
        followups = tuple(turn for index, turn in turns if index > last_user)
        user = self.messages[last_user]
        message, images = user.text, user.images(last_user)
        if not message and not images:
            raise ValidationFailed("messages: the last user message is empty")
        return CompletionConversation(
            system=system or None,
            history=history,
            message=message,
            images=images,
            followups=followups,
        )


def _turns(messages: list[CompletionMessage]) -> list[tuple[int, ChatMessage]]:
    """Each user, assistant and tool message with its index, in Parley's terms. A legacy
    ``function_call`` gets an id (``call_fn<index>``) that the ``function`` message after it
    answers, since the other providers pair calls and results by id."""
    turns: list[tuple[int, ChatMessage]] = []
    legacy_call: str | None = None
    for index, message in enumerate(messages):
        if message.role == "user":
            turns.append((index, ChatMessage("user", message.text, message.images(index))))
        elif message.role == "assistant":
            calls = [
                ToolCall(call.id, call.function.name, call.function.arguments or "{}")
                for call in message.tool_calls or ()
            ]
            if message.function_call is not None:
                legacy_call = f"call_fn{index}"
                function = message.function_call
                calls.append(ToolCall(legacy_call, function.name, function.arguments or "{}"))
            turns.append((index, ChatMessage("assistant", message.text, tool_calls=tuple(calls))))
        elif message.role == "tool":
            if not message.tool_call_id:
                raise ValidationFailed(f"messages[{index}]: a tool message needs tool_call_id")
            turns.append(
                (index, ChatMessage("tool", message.text, tool_call_id=message.tool_call_id))
            )
        elif message.role == "function":
            if legacy_call is None:
                raise ValidationFailed(
                    f"messages[{index}]: a function message must follow the assistant's "
                    "function_call"
                )
            result = ChatMessage(
                "tool", message.text, tool_call_id=legacy_call, name=message.name or None
            )
            turns.append((index, result))
    return _paired(turns)


def _paired(turns: list[tuple[int, ChatMessage]]) -> list[tuple[int, ChatMessage]]:
    """The turns with each tool result named after the function it answers (Gemini pairs
    them by name), after checking that every result answers a call an earlier assistant
    message made: every provider refuses one that does not, after the call was paid for."""
    called: dict[str, str] = {}
    paired: list[tuple[int, ChatMessage]] = []
    for index, turn in turns:
        for call in turn.tool_calls:
            called[call.id] = call.name
        if turn.role != "tool":
            paired.append((index, turn))
            continue
        name = called.get(turn.tool_call_id or "")
        if name is None:
            raise ValidationFailed(
                f"messages[{index}]: tool_call_id {turn.tool_call_id!r} answers no tool "
                "call of an earlier assistant message"
            )
        paired.append((index, dataclasses.replace(turn, name=name)))
    return paired
