"""Anthropic through the official ``anthropic`` SDK (Messages API, named stream events).

The conversation goes as alternating turns (``turns_of``). A turn of plain text is one
string, as it always was; a turn with images, tool calls or tool results is a list of
content blocks. A user turn opens with its ``tool_result`` blocks, since the API wants the
results of the previous turn's ``tool_use`` blocks first, then its text, then its images
(``base64`` or ``url`` sources). An assistant turn is its text, then one ``tool_use`` block
per call, whose ``input`` is the call's arguments parsed: arguments that are not a JSON object
(an earlier model's answer cut short) go as ``{}``, because the call must still be there for
its ``tool_result`` to pair with, and the result says what came of it.

Tools are ``{"name", "description", "input_schema"}`` (``strict`` when asked); ``tool_choice``
is ``auto``, ``any`` (required), ``tool`` (a named function) or ``none``, and asking for at
most one call is ``disable_parallel_tool_use`` inside it (with ``auto`` when no choice was
given). Both are sent only with tools, as the API takes a choice only among tools.

A response schema uses structured outputs, the native mechanism of the Messages API:
``output_config: {"format": {"type": "json_schema", "schema": ...}}`` (the SDK 2.x
``OutputConfigParam`` / ``JSONOutputFormatParam`` of ``messages.create``, generally available,
no beta header). The answer is then ordinary text that follows the schema, so it streams as
text; the older workaround, a forced tool whose input is relayed as the answer, is not
needed. The schema goes as the client wrote it: the SDK's ``transform_schema`` is meant for
the schemas it generates from types, and a constraint the API does not support is its 400,
the client's to fix.

In the stream each ``tool_use`` content block is one call, numbered in order of arrival (a
block's index counts the text blocks too): its ``content_block_start`` gives the call's id and
name, its ``input_json_delta`` events pieces of the arguments' JSON text, and a call whose
input never came gets ``{}`` at its ``content_block_stop`` so that its arguments parse.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anthropic
import httpx2

from parley.providers.base import (
    Finish,
    GenerationRequest,
    Provider,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from parley.providers.messages import turns_of
from parley.providers.sdk_errors import stainless_failures, translate_stainless_error
from parley.providers.tokens import estimated_usage
from parley.providers.wire import MalformedStream, a_count, an_object, optional_text, required_text

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Iterator

    from parley.providers.base import (
        ChatMessage,
        FinishReason,
        ImagePart,
        StreamEvent,
        ToolCall,
    )
    from parley.providers.catalog import ModelSpec
    from parley.providers.messages import Turn
    from parley.providers.timeouts import ProviderTimeouts

__all__ = ["AnthropicProvider"]

_FAILURES = stainless_failures(anthropic)

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}

_CHOICES = {"auto": "auto", "required": "any", "function": "tool", "none": "none"}

_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None, timeouts: ProviderTimeouts) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=httpx2.Timeout(timeouts.read_seconds, connect=timeouts.connect_seconds),
        )

    async def stream(
        self, spec: ModelSpec, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        try:
            # The SDK's generic request with events left as dicts (see the OpenAI adapter).
            stream = await self._client.post(
                "/v1/messages",
                cast_to=object,
                body=_arguments(spec, request),
                stream=True,
                stream_cls=anthropic.AsyncStream[object],
            )
        except _FAILURES as exc:
            raise translate_stainless_error(
                exc, anthropic, provider=self.name, model=spec.name
            ) from exc
        answer = _Answer()
        try:
            async with stream:
                async for raw in stream:
                    for event in answer.read(an_object(raw, "an event")):
                        yield event
        except _FAILURES as exc:
            raise translate_stainless_error(
                exc, anthropic, provider=self.name, model=spec.name
            ) from exc
        yield answer.finish(request)

    async def aclose(self) -> None:
        await self._client.close()


class _Answer:
    """What one stream has said so far: text, tool calls, usage and the stop reason."""

    def __init__(self) -> None:
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.stop_reason: str | None = None
        self.produced: list[str] = []
        self._calls: dict[int, int] = {}  # a tool_use block's index -> its call's index
        self._awaiting_input: set[int] = set()  # tool_use blocks with no arguments sent yet

    def read(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = an_object(event.get("delta") or {}, "a delta")
            part = delta.get("type")
            if part == "text_delta":
                text = optional_text(delta.get("text"), "text")
                if text:
                    self.produced.append(text)
                    yield TextDelta(text)
            elif part == "input_json_delta":
                yield from self._arguments_fragment(_block_index(event), delta)
        elif kind == "content_block_start":
            block = an_object(event.get("content_block"), "a content block")
            if block.get("type") == "tool_use":
                yield self._call_started(_block_index(event), block)
        elif kind == "content_block_stop":
            yield from self._block_stopped(_block_index(event))
        elif kind == "message_start":
            message = an_object(event.get("message") or {}, "a message")
            self.input_tokens = _input_tokens(message.get("usage"))
        elif kind == "message_delta":
            self._message_delta(event)

    def finish(self, request: GenerationRequest) -> Finish:
        if self.input_tokens is None or self.output_tokens is None:
            usage = estimated_usage(request, self.produced)
        else:
            usage = Usage(self.input_tokens, self.output_tokens)
        return Finish(_FINISH.get(self.stop_reason or "end_turn", "other"), usage)

    def _call_started(self, block_index: int, block: dict[str, Any]) -> ToolCallDelta:
        call = len(self._calls)
        self._calls[block_index] = call
        # The API starts a streamed block with an empty input; one given whole is sent whole.
        given = an_object(block.get("input") or {}, "a tool_use input")
        if not given:
            self._awaiting_input.add(block_index)
        return ToolCallDelta(
            call,
            id=required_text(block.get("id"), "a tool_use id"),
            name=required_text(block.get("name"), "a tool_use name"),
            arguments=json.dumps(given) if given else "",
        )

    def _arguments_fragment(
        self, block_index: int, delta: dict[str, Any]
    ) -> Iterator[ToolCallDelta]:
        call = self._calls.get(block_index)
        if call is None:
            raise MalformedStream("an input_json_delta outside a tool_use block")
        fragment = optional_text(delta.get("partial_json"), "partial_json")
        if fragment:  # the API opens each call's input with an empty fragment
            self._awaiting_input.discard(block_index)
            self.produced.append(fragment)
            yield ToolCallDelta(call, arguments=fragment)

    def _block_stopped(self, block_index: int) -> Iterator[ToolCallDelta]:
        if block_index in self._awaiting_input:
            self._awaiting_input.discard(block_index)
            yield ToolCallDelta(self._calls[block_index], arguments="{}")

    def _message_delta(self, event: dict[str, Any]) -> None:
        delta = an_object(event.get("delta") or {}, "a delta")
        reason = optional_text(delta.get("stop_reason"), "stop_reason")
        self.stop_reason = reason or self.stop_reason
        reported = an_object(event.get("usage") or {}, "usage")
        if reported.get("output_tokens") is not None:
            self.output_tokens = a_count(reported["output_tokens"], "output_tokens")


def _block_index(event: dict[str, Any]) -> int:
    if event.get("index") is None:
        raise MalformedStream("a content block event without its index")
    return a_count(event["index"], "index")


def _arguments(spec: ModelSpec, request: GenerationRequest) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "model": spec.model,
        "max_tokens": request.max_tokens,  # required by the Messages API
        "messages": [_turn(turn) for turn in turns_of(request.messages)],
        "stream": True,
    }
    if request.system:
        arguments["system"] = request.system
    # No temperature: the current Messages API (SDK 2.x) no longer takes sampling parameters.
    if request.tools:
        arguments["tools"] = [_tool(tool) for tool in request.tools]
        choice = _tool_choice(request)
        if choice is not None:
            arguments["tool_choice"] = choice
    elif called := _called_functions(request):
        # The Messages API refuses tool_use and tool_result blocks in a request that defines
        # no tools (anthropic-sdk-python#494): declare the functions the history called, and
        # allow no new call, since the client offered none.
        arguments["tools"] = [_tool(ToolSpec(name)) for name in called]
        arguments["tool_choice"] = {"type": "none"}
    if request.response_schema is not None:
        schema = request.response_schema.schema
        arguments["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    return arguments


def _called_functions(request: GenerationRequest) -> list[str]:
    """The functions the conversation's calls and results name, in order, once each."""
    names: dict[str, None] = {}
    for message in request.messages:
        for call in message.tool_calls:
            names[call.name] = None
        if message.role == "tool" and message.name:
            names[message.name] = None
    return list(names)


def _turn(turn: Turn) -> dict[str, Any]:
    if all(_is_plain_text(message) for message in turn.messages):
        return {"role": turn.role, "content": turn.text}
    if turn.role == "user":
        return {"role": "user", "content": _user_blocks(turn)}
    return {"role": "assistant", "content": _assistant_blocks(turn)}


def _is_plain_text(message: ChatMessage) -> bool:
    return message.role != "tool" and not message.images and not message.tool_calls


def _user_blocks(turn: Turn) -> list[dict[str, Any]]:
    blocks = [_tool_result(message) for message in turn.messages if message.role == "tool"]
    if turn.text:  # the API refuses an empty text block
        blocks.append({"type": "text", "text": turn.text})
    blocks.extend(_image(image) for message in turn.messages for image in message.images)
    return blocks


def _assistant_blocks(turn: Turn) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if turn.text:
        blocks.append({"type": "text", "text": turn.text})
    blocks.extend(_tool_use(call) for message in turn.messages for call in message.tool_calls)
    return blocks


def _tool_result(message: ChatMessage) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
    if message.content:  # optional in the API; an empty result is just the block
        block["content"] = message.content
    return block


def _image(image: ImagePart) -> dict[str, Any]:
    if image.url is not None:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    source = {"type": "base64", "media_type": image.media_type, "data": image.data}
    return {"type": "image", "source": source}


def _tool_use(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": _call_input(call)}


def _call_input(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as the object the API wants; ``{}`` for ones that are not."""
    try:
        parsed = json.loads(call.arguments)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _tool(tool: ToolSpec) -> dict[str, Any]:
    declared: dict[str, Any] = {"name": tool.name}
    if tool.description:
        declared["description"] = tool.description
    declared["input_schema"] = tool.parameters if tool.parameters is not None else _EMPTY_SCHEMA
    if tool.strict:
        declared["strict"] = True
    return declared


def _tool_choice(request: GenerationRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    one_call = request.parallel_tool_calls is False
    if choice is None and not one_call:
        return None
    mode = "auto" if choice is None else choice.mode
    native: dict[str, Any] = {"type": _CHOICES[mode]}
    if choice is not None and choice.mode == "function":
        native["name"] = choice.name
    # ``none`` has no such field (ToolChoiceNoneParam): no call at all is at most one.
    if one_call and mode != "none":
        native["disable_parallel_tool_use"] = True
    return native


def _input_tokens(reported: Any) -> int | None:
    if not reported:
        return None
    usage = an_object(reported, "usage")
    if usage.get("input_tokens") is None:
        return None
    # Cached prompt tokens are billed too, apart from input_tokens.
    return sum(
        a_count(usage.get(name), name)
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
